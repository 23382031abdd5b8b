// あと払い(ペイディ) (redirect-and-confirm, P2): the seller confirms on Paidy's page, where
// they may also choose 3回あと払い (three instalments); Paidy pays us in full either way.
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

class PaidyConnector final : public RedirectConnector {
 public:
  using RedirectConnector::RedirectConnector;
  Method method() const override { return Method::kPaidy; }

 protected:
  absl::string_view product() const override { return "paidy_checkout"; }
};

}  // namespace

std::unique_ptr<Connector> NewPaidyConnector(ConnectorConfig config) {
  return std::make_unique<PaidyConnector>(std::move(config));
}

}  // namespace qcash::payment
