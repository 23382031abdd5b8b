// Atone(コンビニ翌月払い) (redirect-and-confirm, P2): the seller confirms on Atone's page and
// pays Atone at a convenience store next month; for us the payment is done once Atone says
// paid.
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

class AtoneConnector final : public RedirectConnector {
 public:
  using RedirectConnector::RedirectConnector;
  Method method() const override { return Method::kAtone; }

 protected:
  absl::string_view product() const override { return "atone_deferred"; }
};

}  // namespace

std::unique_ptr<Connector> NewAtoneConnector(ConnectorConfig config) {
  return std::make_unique<AtoneConnector>(std::move(config));
}

}  // namespace qcash::payment
