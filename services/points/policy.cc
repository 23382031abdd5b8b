#include "services/points/policy.h"

#include <cstdint>

#include "common/policy.h"

namespace qcash::points {
namespace {

constexpr uint32_t Bit(Permission p) { return PermissionBit(p); }

// The whole policy. Points enter only from the marketplace's scoring systems; only the
// gateway acts for a seller (the seller id comes from the seller's token), so only it
// converts; operators read, and in test configurations set the test clock.
constexpr Grant kGrants[] = {
    {"marketplace", Bit(Permission::kRecordEvents)},
    {"gateway", Bit(Permission::kRead) | Bit(Permission::kConvert)},
    {"ops", Bit(Permission::kRead) | Bit(Permission::kSetTestClock)},
};

absl::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kRecordEvents:
      return "record point events";
    case Permission::kRead:
      return "read service points";
    case Permission::kConvert:
      return "convert service points";
    case Permission::kSetTestClock:
      return "set the test clock";
    default:
      return "unknown";
  }
}

}  // namespace

absl::Status Authorize(absl::string_view caller, Permission permission) {
  return AuthorizeCaller(kGrants, caller, Bit(permission), PermissionName(permission));
}

}  // namespace qcash::points
