// auかんたん決済 (redirect-and-confirm, P2): carrier billing; the seller authenticates with
// au on its page and the amount is added to their phone bill.
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

class AuEasyPaymentConnector final : public RedirectConnector {
 public:
  using RedirectConnector::RedirectConnector;
  Method method() const override { return Method::kAuEasyPayment; }

 protected:
  absl::string_view product() const override { return "au_carrier_billing"; }
};

}  // namespace

std::unique_ptr<Connector> NewAuEasyPaymentConnector(ConnectorConfig config) {
  return std::make_unique<AuEasyPaymentConnector>(std::move(config));
}

}  // namespace qcash::payment
