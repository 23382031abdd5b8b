#include "services/wallet/policy.h"

#include <cstdint>

#include "common/policy.h"

namespace qcash::wallet {
namespace {

constexpr uint32_t Bit(Permission p) { return PermissionBit(p); }

// The whole policy. Money enters a seller's Qcash only from payment (charges) and points
// (conversions); only the ad-booking service spends it; only settlement moves the seller's
// proceeds in or closes a shop; operators read.
constexpr Grant kGrants[] = {
    {"payment",
     Bit(Permission::kRead) | Bit(Permission::kCreditCharge) | Bit(Permission::kChargeFromFunds)},
    {"points", Bit(Permission::kRead) | Bit(Permission::kCreditConversion)},
    {"adbooking", Bit(Permission::kRead) | Bit(Permission::kAdBooking)},
    {"settlement", Bit(Permission::kRead) | Bit(Permission::kOpen) | Bit(Permission::kCreditFunds) |
                       Bit(Permission::kClose)},
    {"gateway", Bit(Permission::kRead) | Bit(Permission::kOpen)},
    {"ops", Bit(Permission::kRead) | Bit(Permission::kSweep)},
};

absl::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kRead:
      return "read";
    case Permission::kOpen:
      return "open wallets";
    case Permission::kCreditCharge:
      return "credit charges";
    case Permission::kCreditConversion:
      return "credit point conversions";
    case Permission::kAdBooking:
      return "spend, hold, capture or release";
    case Permission::kChargeFromFunds:
      return "charge from internal funds";
    case Permission::kCreditFunds:
      return "credit internal funds";
    case Permission::kClose:
      return "close wallets";
    case Permission::kSweep:
      return "release expired holds";
    default:
      return "unknown";
  }
}

}  // namespace

absl::Status Authorize(absl::string_view caller, Permission permission) {
  return AuthorizeCaller(kGrants, caller, Bit(permission), PermissionName(permission));
}

}  // namespace qcash::wallet
