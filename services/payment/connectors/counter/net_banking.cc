// ネットバンキング(PAYGENT) (pay later at a counter, P2): PAYGENT issues a payment number
// and the URL of the seller's bank; the seller pays in their online banking and PAYGENT
// notifies us.
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

class NetBankingConnector final : public CounterConnector {
 public:
  using CounterConnector::CounterConnector;
  Method method() const override { return Method::kNetBanking; }

 protected:
  absl::string_view product() const override { return "paygent_netbank"; }
};

}  // namespace

std::unique_ptr<Connector> NewNetBankingConnector(ConnectorConfig config) {
  return std::make_unique<NetBankingConnector>(std::move(config));
}

}  // namespace qcash::payment
