// google.protobuf.Timestamp <-> absl::Time, the same in every service.
#ifndef QCASH_COMMON_PROTO_TIME_H_
#define QCASH_COMMON_PROTO_TIME_H_

#include <google/protobuf/timestamp.pb.h>

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/status.h"

namespace qcash {

// Microsecond precision (what PostgreSQL keeps); times before 1970 round down.
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);

// Leaves `out` unset for the infinite past or future (no such time).
void SetTimestampIfAny(absl::Time t, google::protobuf::Timestamp* out);

// The time of `ts`, or nullopt outside the proto3 range: 0001-01-01 .. 9999-12-31, nanos in
// 0..999999999.
std::optional<absl::Time> TimeOf(const google::protobuf::Timestamp& ts);

// As TimeOf. Errors: INVALID_ARGUMENT (`reason`, an ErrorReason value of the caller's service).
template <typename Reason>
absl::StatusOr<absl::Time> FromTimestamp(const google::protobuf::Timestamp& ts, Reason reason) {
  std::optional<absl::Time> t = TimeOf(ts);
  if (!t.has_value()) return InvalidArgument(reason, "a timestamp is out of range");
  return *t;
}

}  // namespace qcash

#endif  // QCASH_COMMON_PROTO_TIME_H_
