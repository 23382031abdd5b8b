// Per-caller authorization as data (DESIGN.md section 2). Each service declares one table: the
// grants (a caller identity and the permissions it holds) and, for every method it serves, the
// permission the method needs and whether it acts for the seller its request names. The
// authorization interceptor (common/authorization.h) consults it before any handler runs; no
// service scatters caller checks through its handlers.
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

// Whether a method acts for the seller its request names in `seller_id`: then the gateway must
// forward that seller's token (common/seller_scope.h).
enum class SellerScoped { kNo, kRequestSeller };

// One method of a service and what calling it takes.
struct MethodRule {
  absl::string_view method;  // gRPC's full name: "/qcash.wallet.v1.WalletService/Credit"
  int permission;            // the service's Permission enumerator
  SellerScoped scoped;
  // A method whose permission depends on what it is asked to do: when the request's enum field
  // `by_field` holds `by_value`, the call needs `by_permission` instead. Empty: no such field.
  absl::string_view by_field = {};
  int by_value = 0;
  int by_permission = 0;
};

// A service's one table.
struct AccessTable {
  absl::string_view error_domain;  // the service's ErrorInfo domain, e.g. "wallet.qcash"
  absl::Span<const Grant> grants;
  absl::Span<const MethodRule> methods;
  absl::string_view (*permission_name)(int permission);  // "read", for the refusal's message
};

// The rule of `method` in `table`; null when the table does not name it (fail closed: such a
// method is refused).
const MethodRule* FindMethodRule(const AccessTable& table, absl::string_view method);

// OK when `caller` has a grant in `grants` that includes `permission_bit`.
// Errors: PERMISSION_DENIED (CALLER_NOT_ALLOWED): "caller '<caller>' may not <what>".
absl::Status AuthorizeCaller(absl::Span<const Grant> grants, absl::string_view caller,
                             uint32_t permission_bit, absl::string_view what);

// OK when `caller` holds `permission` in `table`. Errors: as AuthorizeCaller.
absl::Status AuthorizeCaller(const AccessTable& table, absl::string_view caller, int permission);

}  // namespace qcash

#endif  // QCASH_COMMON_POLICY_H_
