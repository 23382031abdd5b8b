#include "common/status.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"

namespace qcash {
namespace {

constexpr absl::string_view kReasonUrl = "type.qcash/reason";
constexpr absl::string_view kRetryAfterUrl = "type.qcash/retry_after_ms";

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

absl::Status WithRetryAfter(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(delay));
  status.SetPayload(kRetryAfterUrl, absl::Cord(absl::StrCat(ms)));
  return status;
}

std::optional<absl::Duration> RetryAfterOf(const absl::Status& status) {
  absl::optional<absl::Cord> text = status.GetPayload(kRetryAfterUrl);
  int64_t ms = 0;
  if (!text.has_value() || !absl::SimpleAtoi(std::string(*text), &ms) || ms <= 0) {
    return std::nullopt;
  }
  return absl::Milliseconds(ms);
}

}  // namespace qcash
