// Who may do what with service points (DESIGN.md section 2): one table, consulted for every
// call. Caller identities are the common names of the services' client certificates (or, in
// insecure development mode, the x-qcash-caller metadata).
#ifndef QCASH_SERVICES_POINTS_POLICY_H_
#define QCASH_SERVICES_POINTS_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace qcash::points {

enum class Permission {
  kRecordEvents,  // RecordPointEvents
  kRead,          // GetMonthSummary, ListProductPoints, GetProductShippingDetail,
                  // ListPastServicePoints
  kConvert,       // ConvertPoints
  kSetTestClock,  // PointsTestClock.SetTime (registered only in test configurations)
};

// OK when `caller` holds `permission`. Errors: PERMISSION_DENIED (CALLER_NOT_ALLOWED).
absl::Status Authorize(absl::string_view caller, Permission permission);

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_POLICY_H_
