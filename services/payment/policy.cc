#include "services/payment/policy.h"

#include <cstdint>

#include "common/policy.h"

namespace qcash::payment {
namespace {

constexpr uint32_t Bit(Permission p) { return PermissionBit(p); }

// The whole policy. The gateway is the only way in for sellers and for providers' webhooks
// (it authenticates the seller's token and passes webhooks through untouched); operators
// read and unblock paid orders, but never buy or cancel for a seller.
constexpr Grant kGrants[] = {
    {"gateway", Bit(Permission::kRead) | Bit(Permission::kSeller) | Bit(Permission::kNotify)},
    {"ops", Bit(Permission::kRead) | Bit(Permission::kOperate)},
};

absl::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kRead:
      return "read charge orders";
    case Permission::kSeller:
      return "act for a seller";
    case Permission::kNotify:
      return "deliver provider notifications";
    case Permission::kOperate:
      return "operate on stuck orders";
    default:
      return "unknown";
  }
}

}  // namespace

absl::Status Authorize(absl::string_view caller, Permission permission) {
  return AuthorizeCaller(kGrants, caller, Bit(permission), PermissionName(permission));
}

}  // namespace qcash::payment
