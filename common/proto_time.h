// google.protobuf.Timestamp <-> absl::Time, the same in every service.
#ifndef QCASH_COMMON_PROTO_TIME_H_
#define QCASH_COMMON_PROTO_TIME_H_

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qcash {

// Microsecond precision (what PostgreSQL keeps); times before 1970 round down.
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);

// Leaves `out` unset for the infinite past or future (no such time).
void SetTimestampIfAny(absl::Time t, google::protobuf::Timestamp* out);

// The proto3 range only: 0001-01-01 .. 9999-12-31, nanos in 0..999999999.
// Errors: INVALID_ARGUMENT (`reason`).
absl::StatusOr<absl::Time> FromTimestamp(const google::protobuf::Timestamp& ts,
                                         absl::string_view reason);

}  // namespace qcash

#endif  // QCASH_COMMON_PROTO_TIME_H_
