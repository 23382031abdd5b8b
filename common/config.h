// Configuration from the environment (a Kubernetes ConfigMap or Secret in deployment, the
// run script locally). Every setting has a name starting with QCASH_, a default suitable for
// local development, and bounds; a value outside its bounds stops the process at start-up
// with a message naming the variable, rather than running with a surprise.
#ifndef QCASH_COMMON_CONFIG_H_
#define QCASH_COMMON_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qcash {

// The variable's value, or `fallback` when it is unset or empty.
std::string EnvString(absl::string_view name, absl::string_view fallback);

// The variable as an integer in [min, max], or `fallback` when unset or empty.
// Errors: INVALID_ARGUMENT naming the variable when it is not an integer or out of bounds.
absl::StatusOr<int64_t> EnvInt(absl::string_view name, int64_t fallback, int64_t min, int64_t max);

// The variable as a boolean ("1", "true", "yes" / "0", "false", "no"), or `fallback`.
absl::StatusOr<bool> EnvBool(absl::string_view name, bool fallback);

// `url` with any password replaced by "***", for logs and `print config` output.
std::string RedactUrl(absl::string_view url);

// The whole contents of the configuration file at `path` (a certificate, a key, a secret).
// Errors: INVALID_ARGUMENT (INVALID_CONFIG) "cannot read <path>"; the contents never appear.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

// The contents of the secret file the variable `name` points to, without one trailing
// newline. Required: unset, unreadable, shorter than `min_bytes` or longer than `max_bytes`
// stops the process at start-up (DESIGN.md section 7). The message names the variable and the
// path, never the contents. Errors: INVALID_ARGUMENT (INVALID_CONFIG).
absl::StatusOr<std::string> EnvSecretFile(absl::string_view name, size_t min_bytes,
                                          size_t max_bytes);

}  // namespace qcash

#endif  // QCASH_COMMON_CONFIG_H_
