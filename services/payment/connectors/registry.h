// The connectors of one process: one per provider method, built from configuration at
// start-up and constant afterwards (safe to use from any thread: connectors hold no mutable
// state; each call opens its own HTTP connection).
#ifndef QCASH_SERVICES_PAYMENT_CONNECTORS_REGISTRY_H_
#define QCASH_SERVICES_PAYMENT_CONNECTORS_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/payment/connectors/connector.h"
#include "services/payment/secrets.h"

namespace qcash::payment {

struct RegistryConfig {
  // provider -> base URL. A provider without one is not configured here: its method is
  // unavailable (PROVIDER_NOT_CONFIGURED) and its notifications are refused.
  std::map<std::string, std::string> provider_urls;
  ProviderSecrets secrets;  // every configured provider's
  bool allow_sandbox = false;
  absl::Duration skew = kSkewDefault;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{5000};
};

class ConnectorRegistry {
 public:
  // Errors: INVALID_ARGUMENT (INVALID_CONFIG) naming a provider whose URL is not http(s) or
  // that has no secret.
  static absl::StatusOr<std::unique_ptr<ConnectorRegistry>> Create(const RegistryConfig& config);

  // A registry of the given connectors (one per method; a later one of the same method
  // replaces an earlier): what component tests use to put a fake provider in its place.
  static std::unique_ptr<ConnectorRegistry> Of(std::vector<std::unique_ptr<Connector>> connectors);

  // The connector of a provider method; nullptr for the internal-funds methods and for
  // providers not configured here.
  Connector* ForMethod(Method method) const;
  // The connector of the provider of POST /webhooks/<provider>; nullptr when unknown.
  Connector* ForProvider(absl::string_view provider) const;

 private:
  std::map<Method, std::unique_ptr<Connector>> connectors_;  // constant after Create
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_CONNECTORS_REGISTRY_H_
