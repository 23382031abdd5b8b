// Per-caller authorization as data (DESIGN.md section 2). Each service declares one table of
// grants — a caller identity and the permissions it holds — and asks AuthorizeCaller() on every
// call; no service scatters caller checks through its handlers.
#ifndef QCASH_COMMON_POLICY_H_
#define QCASH_COMMON_POLICY_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace qcash {

// The bit of a service's Permission enumerator (at most 32 of them).
template <typename Permission>
constexpr uint32_t PermissionBit(Permission p) {
  return 1u << static_cast<int>(p);
}

struct Grant {
  absl::string_view caller;  // the common name of the caller's certificate
  uint32_t permissions;      // PermissionBit(...) | PermissionBit(...)
};

// OK when `caller` has a grant in `grants` that includes `permission_bit`.
// Errors: PERMISSION_DENIED (CALLER_NOT_ALLOWED): "caller '<caller>' may not <what>".
absl::Status AuthorizeCaller(absl::Span<const Grant> grants, absl::string_view caller,
                             uint32_t permission_bit, absl::string_view what);

}  // namespace qcash

#endif  // QCASH_COMMON_POLICY_H_
