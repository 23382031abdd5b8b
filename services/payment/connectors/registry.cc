#include "services/payment/connectors/registry.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/payment/connectors/qcash_protocol.h"

namespace qcash::payment {
namespace {

using Factory = std::unique_ptr<Connector> (*)(ConnectorConfig);

// One line per provider method (P1, P2). A new provider: its file, and its line here.
constexpr std::pair<Method, Factory> kFactories[] = {
    {Method::kCard, &NewCardConnector},
    {Method::kAtone, &NewAtoneConnector},
    {Method::kPaypal, &NewPaypalConnector},
    {Method::kPaidy, &NewPaidyConnector},
    {Method::kLinePay, &NewLinePayConnector},
    {Method::kAuEasyPayment, &NewAuEasyPaymentConnector},
    {Method::kBankTransfer, &NewBankTransferConnector},
    {Method::kConvenienceStore, &NewConvenienceStoreConnector},
    {Method::kNetBanking, &NewNetBankingConnector},
};

}  // namespace

absl::StatusOr<std::unique_ptr<ConnectorRegistry>> ConnectorRegistry::Create(
    const RegistryConfig& config) {
  auto registry = std::unique_ptr<ConnectorRegistry>(new ConnectorRegistry());
  for (const auto& [method, factory] : kFactories) {
    const std::string provider(InfoOf(method).provider);
    auto url = config.provider_urls.find(provider);
    if (url == config.provider_urls.end()) continue;  // not offered here
    if (!(absl::StartsWith(url->second, "https://") || absl::StartsWith(url->second, "http://"))) {
      return InvalidArgument(common::v1::INVALID_CONFIG,
                             absl::StrCat("provider ", provider, " has no http(s) URL"));
    }
    auto secret = config.secrets.find(provider);
    if (secret == config.secrets.end()) {
      return InvalidArgument(common::v1::INVALID_CONFIG,
                             absl::StrCat("provider ", provider, " has no secret"));
    }
    ConnectorConfig connector;
    connector.base_url = url->second;
    connector.secret = secret->second;
    connector.allow_sandbox = config.allow_sandbox;
    connector.skew = config.skew;
    connector.connect_timeout = config.connect_timeout;
    connector.read_timeout = config.read_timeout;
    registry->connectors_[method] = factory(std::move(connector));
  }
  return registry;
}

std::unique_ptr<ConnectorRegistry> ConnectorRegistry::Of(
    std::vector<std::unique_ptr<Connector>> connectors) {
  auto registry = std::unique_ptr<ConnectorRegistry>(new ConnectorRegistry());
  for (auto& connector : connectors) {
    const Method method = connector->method();
    registry->connectors_[method] = std::move(connector);
  }
  return registry;
}

Connector* ConnectorRegistry::ForMethod(Method method) const {
  auto it = connectors_.find(method);
  return it == connectors_.end() ? nullptr : it->second.get();
}

Connector* ConnectorRegistry::ForProvider(absl::string_view provider) const {
  const MethodInfo* info = FindProvider(provider);
  return info == nullptr ? nullptr : ForMethod(info->method);
}

}  // namespace qcash::payment
