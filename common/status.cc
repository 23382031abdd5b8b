#include "common/status.h"

#include "absl/types/optional.h"

#include "absl/strings/cord.h"

namespace qcash {
namespace {

constexpr absl::string_view kReasonUrl = "type.qcash/reason";

}  // namespace

absl::Status Error(absl::StatusCode code, absl::string_view reason, absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kReasonUrl, absl::Cord(reason));
  return status;
}

absl::Status InvalidArgument(absl::string_view reason, absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, reason, message);
}
absl::Status NotFound(absl::string_view reason, absl::string_view message) {
  return Error(absl::StatusCode::kNotFound, reason, message);
}
absl::Status FailedPrecondition(absl::string_view reason, absl::string_view message) {
  return Error(absl::StatusCode::kFailedPrecondition, reason, message);
}
absl::Status Aborted(absl::string_view reason, absl::string_view message) {
  return Error(absl::StatusCode::kAborted, reason, message);
}
absl::Status Unavailable(absl::string_view reason, absl::string_view message) {
  return Error(absl::StatusCode::kUnavailable, reason, message);
}
absl::Status PermissionDenied(absl::string_view reason, absl::string_view message) {
  return Error(absl::StatusCode::kPermissionDenied, reason, message);
}
absl::Status Unauthenticated(absl::string_view reason, absl::string_view message) {
  return Error(absl::StatusCode::kUnauthenticated, reason, message);
}
absl::Status Internal(absl::string_view reason, absl::string_view message) {
  return Error(absl::StatusCode::kInternal, reason, message);
}

std::string ReasonOf(const absl::Status& status) {
  absl::optional<absl::Cord> reason = status.GetPayload(kReasonUrl);
  return reason.has_value() ? std::string(*reason) : std::string();
}

}  // namespace qcash
