// The per-provider secrets that sign requests to a provider and its notifications to us (P7).
//
// Each provider's secret comes, first found wins, from
//   QCASH_PAYMENT_SECRET_<PROVIDER>      the environment, e.g. QCASH_PAYMENT_SECRET_PAYPAL;
//   QCASH_PAYMENT_WEBHOOK_SECRETS_DIR    a directory with one file per provider, named after
//                                        it (a Kubernetes Secret mounted as a volume);
//   QCASH_PAYMENT_SECRETS_FILE           one file of `provider=secret` lines, `#` comments.
// Secrets are never logged; only which providers have one.
#ifndef QCASH_SERVICES_PAYMENT_SECRETS_H_
#define QCASH_SERVICES_PAYMENT_SECRETS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qcash::payment {

inline constexpr size_t kSecretLengthMin = 16;
inline constexpr size_t kSecretLengthMax = 512;

// provider -> secret
using ProviderSecrets = std::map<std::string, std::string>;

// The secret of every provider in `providers`.
// Errors: INVALID_ARGUMENT (INVALID_CONFIG) naming the provider whose secret is missing, too
// short or too long, or the file that cannot be read or has a malformed line.
absl::StatusOr<ProviderSecrets> LoadProviderSecrets(const std::vector<std::string>& providers);

// Every provider that carries a method (catalog.h), in catalog order.
std::vector<std::string> AllProviders();

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_SECRETS_H_
