// 銀行振込 (pay later at a counter, P2): the provider issues a virtual account for the order;
// the seller transfers the amount by the deadline and the provider notifies us, possibly days
// later.
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

class BankTransferConnector final : public CounterConnector {
 public:
  using CounterConnector::CounterConnector;
  Method method() const override { return Method::kBankTransfer; }

 protected:
  absl::string_view product() const override { return "bank_transfer"; }
};

}  // namespace

std::unique_ptr<Connector> NewBankTransferConnector(ConnectorConfig config) {
  return std::make_unique<BankTransferConnector>(std::move(config));
}

}  // namespace qcash::payment
