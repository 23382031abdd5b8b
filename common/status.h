// Errors below the gRPC layer: absl::Status carrying a machine-readable reason.
//
// Every failure a caller can act on has a code (what to do: retry, fix the request, wait for
// the state to change) and a reason (which rule said no, e.g. INSUFFICIENT_FUNDS). The reason
// travels as a payload of the absl::Status and becomes google.rpc.ErrorInfo.reason at the
// gRPC boundary (common/grpc_status.h).
//
// Reasons are enum values, never strings (AIP-193): each service's proto declares
// `enum ErrorReason` (proto/qcash/<service>/v1/error_reason.proto) and the shared plumbing
// qcash.common.v1.ErrorReason; on the wire a reason is its value's name. The helpers below
// accept only such values, so code cannot emit a reason its contract does not document, and
// proto/reasons_test.cc checks what the type system cannot (no string reasons, no name
// in two enums of one domain, table keys and comparisons against the enums).
#ifndef QCASH_COMMON_STATUS_H_
#define QCASH_COMMON_STATUS_H_

#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "qcash/common/v1/error_reason.pb.h"

namespace qcash {
namespace internal_status {

// Only the ErrorReason enums: ErrorReason_Name() is found by argument-dependent lookup in the
// enum's own package, and the generated function refuses (static_assert) any other enum of
// that package. An enum of a package without an ErrorReason does not match at all.
template <typename Reason>
using IfErrorReason = std::enable_if_t<std::is_enum<Reason>::value,
                                       decltype(ErrorReason_Name(std::declval<Reason>()), void())>;

absl::Status ErrorNamed(absl::StatusCode code, bool unspecified, absl::string_view reason,
                        absl::string_view message);

// `upstream` with the reason `reason` and no domain of its own; `was`, when not empty, the
// upstream's reason, is appended to the message.
absl::Status Renamed(const absl::Status& upstream, absl::string_view reason, absl::string_view was);

}  // namespace internal_status

// A status with `code`, `message` and `reason`, an ErrorReason value, written as its name.
// REQUIRES: code != OK; reason is not the enum's zero value (a zero value is written as no
// reason, which the wire shows as UNSPECIFIED).
template <typename Reason, typename = internal_status::IfErrorReason<Reason>>
absl::Status Error(absl::StatusCode code, Reason reason, absl::string_view message) {
  return internal_status::ErrorNamed(code, static_cast<int>(reason) == 0, ErrorReason_Name(reason),
                                     message);
}

#define QCASH_STATUS_HELPER(Name, Code)                                         \
  template <typename Reason, typename = internal_status::IfErrorReason<Reason>> \
  absl::Status Name(Reason reason, absl::string_view message) {                 \
    return Error(absl::StatusCode::Code, reason, message);                      \
  }
QCASH_STATUS_HELPER(InvalidArgument, kInvalidArgument)
QCASH_STATUS_HELPER(NotFound, kNotFound)
QCASH_STATUS_HELPER(FailedPrecondition, kFailedPrecondition)
QCASH_STATUS_HELPER(Aborted, kAborted)
QCASH_STATUS_HELPER(Unavailable, kUnavailable)
QCASH_STATUS_HELPER(PermissionDenied, kPermissionDenied)
QCASH_STATUS_HELPER(Unauthenticated, kUnauthenticated)
QCASH_STATUS_HELPER(ResourceExhausted, kResourceExhausted)
QCASH_STATUS_HELPER(Internal, kInternal)
#undef QCASH_STATUS_HELPER

// The reason attached by Error(), or "" when there is none (an OK status, or one produced by
// a library).
std::string ReasonOf(const absl::Status& status);

// Whether `status` carries `reason` (by name: a reason received from another service compares
// equal to the value of its enum).
template <typename Reason, typename = internal_status::IfErrorReason<Reason>>
bool ReasonIs(const absl::Status& status, Reason reason) {
  return !status.ok() && ReasonOf(status) == ErrorReason_Name(reason);
}

// A failure received from another process, rebuilt from the wire: `reason` is whatever the
// peer wrote. Only common/grpc_status.cc calls it (proto/reasons_test.cc checks); code that decides
// a failure uses Error() with an enum value, and code that passes one on uses Relay().
absl::Status ReceivedError(absl::StatusCode code, absl::string_view reason,
                           absl::string_view message);

// `status` with `message` instead of its own, keeping the code, the reason and the retry delay.
absl::Status WithMessage(const absl::Status& status, absl::string_view message);

// `upstream`, a failure another service answered, re-emitted as this service's: the code and
// message stay; the reason stays when it names a value of `Reason` (this service's enum) or of
// qcash.common.v1.ErrorReason, and otherwise becomes `fallback` with the upstream reason in
// the message. REQUIRES: !upstream.ok().
template <typename Reason, typename = internal_status::IfErrorReason<Reason>>
absl::Status Relay(const absl::Status& upstream, Reason fallback) {
  const std::string name = ReasonOf(upstream);
  Reason own{};
  common::v1::ErrorReason shared{};
  if ((ErrorReason_Parse(name, &own) && static_cast<int>(own) != 0) ||
      common::v1::ErrorReason_Parse(name, &shared)) {
    return internal_status::Renamed(upstream, name, "");
  }
  return internal_status::Renamed(upstream, ErrorReason_Name(fallback), name);
}

// `status` telling the caller how long to wait before it retries (UNAVAILABLE,
// RESOURCE_EXHAUSTED). It travels as the ErrorInfo metadata "retry_after_ms"
// (common/grpc_status.h), from which the gateway can set Retry-After.
absl::Status WithRetryAfter(absl::Status status, absl::Duration delay);

// The delay attached by WithRetryAfter, if any.
std::optional<absl::Duration> RetryAfterOf(const absl::Status& status);

// Facts a caller needs to word the failure for a person (e.g. "attempts_left",
// "locked_until"), carried as ErrorInfo metadata both ways over gRPC (common/grpc_status.h)
// and documented beside the reason in the service's error_reason.proto. Bounded, since a peer
// writes them: keys [a-z_]{1,32} (not "retry_after_ms", which WithRetryAfter owns), values
// of at most kStatusMetadataValueMax printable ASCII characters, at most kStatusMetadataMax
// entries. A pair outside these bounds, or on an OK status, is not attached.
inline constexpr size_t kStatusMetadataMax = 4;
inline constexpr size_t kStatusMetadataValueMax = 128;
absl::Status WithMetadata(absl::Status status, absl::string_view key, absl::string_view value);

// The metadata attached by WithMetadata, by key.
std::map<std::string, std::string> MetadataOf(const absl::Status& status);

}  // namespace qcash

#endif  // QCASH_COMMON_STATUS_H_
