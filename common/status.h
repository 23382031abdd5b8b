// Errors below the gRPC layer: absl::Status carrying a machine-readable reason.
//
// Every failure a caller can act on has a code (what to do: retry, fix the request, wait for
// the state to change) and a reason (which rule said no, e.g. INSUFFICIENT_FUNDS). The reason
// travels as a payload of the absl::Status and becomes google.rpc.ErrorInfo.reason at the
// gRPC boundary (common/grpc_status.h).
#ifndef QCASH_COMMON_STATUS_H_
#define QCASH_COMMON_STATUS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qcash {

// A status with `code`, `message` and the UPPER_SNAKE_CASE `reason`.
// REQUIRES: code != OK.
absl::Status Error(absl::StatusCode code, absl::string_view reason, absl::string_view message);

absl::Status InvalidArgument(absl::string_view reason, absl::string_view message);
absl::Status NotFound(absl::string_view reason, absl::string_view message);
absl::Status FailedPrecondition(absl::string_view reason, absl::string_view message);
absl::Status Aborted(absl::string_view reason, absl::string_view message);
absl::Status Unavailable(absl::string_view reason, absl::string_view message);
absl::Status PermissionDenied(absl::string_view reason, absl::string_view message);
absl::Status Unauthenticated(absl::string_view reason, absl::string_view message);
absl::Status Internal(absl::string_view reason, absl::string_view message);

// The reason attached by Error(), or "" when there is none (an OK status, or one produced by
// a library).
std::string ReasonOf(const absl::Status& status);

// `status` telling the caller how long to wait before it retries (UNAVAILABLE,
// RESOURCE_EXHAUSTED). It travels as the ErrorInfo metadata "retry_after_ms"
// (common/grpc_status.h), from which the gateway can set Retry-After.
absl::Status WithRetryAfter(absl::Status status, absl::Duration delay);

// The delay attached by WithRetryAfter, if any.
std::optional<absl::Duration> RetryAfterOf(const absl::Status& status);

}  // namespace qcash

#endif  // QCASH_COMMON_STATUS_H_
