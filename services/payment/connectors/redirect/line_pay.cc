// LINE Pay (redirect-and-confirm, P2): the seller approves the payment in LINE and is sent
// back to the gateway.
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

class LinePayConnector final : public RedirectConnector {
 public:
  using RedirectConnector::RedirectConnector;
  Method method() const override { return Method::kLinePay; }

 protected:
  absl::string_view product() const override { return "linepay_request"; }
};

}  // namespace

std::unique_ptr<Connector> NewLinePayConnector(ConnectorConfig config) {
  return std::make_unique<LinePayConnector>(std::move(config));
}

}  // namespace qcash::payment
