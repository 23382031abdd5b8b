// コンビニ、ATM、支払秘書 (Pay-easy) (pay later at a counter, P2): the provider issues a
// payment number (受付番号) and confirmation number (確認番号); the seller pays at a store
// till, an ATM or by Pay-easy, and the provider notifies us.
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

class ConvenienceStoreConnector final : public CounterConnector {
 public:
  using CounterConnector::CounterConnector;
  Method method() const override { return Method::kConvenienceStore; }

 protected:
  absl::string_view product() const override { return "konbini"; }
};

}  // namespace

std::unique_ptr<Connector> NewConvenienceStoreConnector(ConnectorConfig config) {
  return std::make_unique<ConvenienceStoreConnector>(std::move(config));
}

}  // namespace qcash::payment
