// Who may do what with service points (DESIGN.md section 2): one table, consulted for every
// call by the authorization interceptor (common/authorization.h) before any handler runs. Caller
// identities are the common names of the services' client certificates (or, in insecure development
// mode, the x-qcash-caller metadata).
#ifndef QCASH_SERVICES_POINTS_POLICY_H_
#define QCASH_SERVICES_POINTS_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/policy.h"

namespace qcash::points {

enum class Permission {
  kRecordEvents,  // RecordPointEvents
  kRead,          // GetMonthSummary, ListProductPoints, GetProductShippingDetail,
                  // ListPastServicePoints
  kConvert,       // ConvertPoints
  kSetTestClock,  // PointsTestClock.SetTime (registered only in test configurations)
};

// The one table of qcash.points.v1.PointsService: its grants and, for every method, the
// permission it needs and whether it acts for the request's seller.
const AccessTable& AccessPolicy();

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
// The table of qcash.points.v1.PointsTestClock (development builds only, served only in test
// configurations): SetTime, for operators.
const AccessTable& TestClockAccessPolicy();
#endif

// OK when `caller` holds `permission`. Errors: PERMISSION_DENIED (CALLER_NOT_ALLOWED).
absl::Status Authorize(absl::string_view caller, Permission permission);

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_POLICY_H_
