#include "services/points/policy.h"

#include <cstdint>

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

constexpr int P(Permission p) { return static_cast<int>(p); }
constexpr SellerScoped kSeller = SellerScoped::kRequestSeller;

// Every method, what it needs, and whether it acts for the seller its request names (then the
// gateway must forward that seller's token).
const MethodRule kMethods[] = {
    // The marketplace records for many sellers at once and acts for none.
    {"/qcash.points.v1.PointsService/RecordPointEvents", P(Permission::kRecordEvents),
     SellerScoped::kNo},
    {"/qcash.points.v1.PointsService/GetMonthSummary", P(Permission::kRead), kSeller},
    {"/qcash.points.v1.PointsService/ConvertPoints", P(Permission::kConvert), kSeller},
    // The seller's past conversions: read, as GetMonthSummary shows the current one.
    {"/qcash.points.v1.PointsService/ListConversions", P(Permission::kRead), kSeller},
    {"/qcash.points.v1.PointsService/ListProductPoints", P(Permission::kRead), kSeller},
    {"/qcash.points.v1.PointsService/GetProductShippingDetail", P(Permission::kRead), kSeller},
    {"/qcash.points.v1.PointsService/ListPastServicePoints", P(Permission::kRead), kSeller},
};

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
const MethodRule kTestClockMethods[] = {
    {"/qcash.points.v1.PointsTestClock/SetTime", P(Permission::kSetTestClock), SellerScoped::kNo},
};
#endif

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

absl::string_view PermissionNameOf(int p) { return PermissionName(static_cast<Permission>(p)); }

constexpr char kDomain[] = "points.qcash";

}  // namespace

const AccessTable& AccessPolicy() {
  static const AccessTable table{kDomain, kGrants, kMethods, PermissionNameOf};
  return table;
}

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
const AccessTable& TestClockAccessPolicy() {
  static const AccessTable table{kDomain, kGrants, kTestClockMethods, PermissionNameOf};
  return table;
}
#endif

absl::Status Authorize(absl::string_view caller, Permission permission) {
  return AuthorizeCaller(kGrants, caller, Bit(permission), PermissionName(permission));
}

}  // namespace qcash::points
