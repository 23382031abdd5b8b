// PayPal(AMEXを含むクレジットカード、銀行) (redirect-and-confirm, P2): the seller logs in on
// PayPal's page and approves the payment; PayPal sends them back to the gateway.
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

class PaypalConnector final : public RedirectConnector {
 public:
  using RedirectConnector::RedirectConnector;
  Method method() const override { return Method::kPaypal; }

 protected:
  absl::string_view product() const override { return "paypal_checkout"; }
};

}  // namespace

std::unique_ptr<Connector> NewPaypalConnector(ConnectorConfig config) {
  return std::make_unique<PaypalConnector>(std::move(config));
}

}  // namespace qcash::payment
