// VISA/MasterCard/JCB (instant, P2): the seller's browser gets a single-use token from the
// card provider's page (card numbers never reach Qcash); we charge the token and the provider
// decides at once: paid or declined.
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

class CardConnector final : public InstantConnector {
 public:
  using InstantConnector::InstantConnector;
  Method method() const override { return Method::kCard; }

 protected:
  absl::string_view product() const override { return "card_charge"; }
};

}  // namespace

std::unique_ptr<Connector> NewCardConnector(ConnectorConfig config) {
  return std::make_unique<CardConnector>(std::move(config));
}

}  // namespace qcash::payment
