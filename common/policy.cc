#include "common/policy.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qcash {

const MethodRule* FindMethodRule(const AccessTable& table, absl::string_view method) {
  for (const MethodRule& rule : table.methods) {
    if (rule.method == method) return &rule;
  }
  return nullptr;
}

absl::Status AuthorizeCaller(absl::Span<const Grant> grants, absl::string_view caller,
                             uint32_t permission_bit, absl::string_view what) {
  for (const Grant& grant : grants) {
    if (grant.caller != caller) continue;
    if ((grant.permissions & permission_bit) != 0) return absl::OkStatus();
    break;
  }
  return PermissionDenied(common::v1::CALLER_NOT_ALLOWED,
                          absl::StrCat("caller '", caller, "' may not ", what));
}

absl::Status AuthorizeCaller(const AccessTable& table, absl::string_view caller, int permission) {
  return AuthorizeCaller(table.grants, caller, 1u << permission, table.permission_name(permission));
}

}  // namespace qcash
