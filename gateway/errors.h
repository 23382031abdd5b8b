// Errors at the HTTP edge: gRPC codes map to HTTP statuses the way grpc-gateway maps them, and
// the body is the proto3 JSON of google.rpc.Status, e.g.
//   {"code":9,"message":"残高が足りません。チャージしてから、もう一度お試しください。",
//    "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",
//                "reason":"INSUFFICIENT_FUNDS","domain":"wallet.qcash","metadata":{}},
//               {"@type":"type.googleapis.com/google.rpc.RequestInfo",
//                "requestId":"3f2a9c01d4e5b6a7","servingData":""}]}
//
// Errors shown to sellers never carry internal text (DESIGN.md 7, issue 10): the status's own
// message is never copied into the body, because it may hold what a service or the transport
// wrote for operators (SQL and its DETAIL, "failed to connect to all addresses ...
// 127.0.0.1:50053", parser output). A seller gets instead:
//   - `message`: a Japanese sentence saying what to do, from a table keyed by the reason, or a
//     generic one for the HTTP status class when the reason is not in the table;
//   - the reason and domain (ErrorInfo), for programs and developers: fixed identifiers, the
//     safe machine-readable part of the error;
//   - the request id (RequestInfo), which support finds in the gateway's log line with the
//     full internal message.
#ifndef QCASH_GATEWAY_ERRORS_H_
#define QCASH_GATEWAY_ERRORS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace qcash::gateway {

// INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE 400; UNAUTHENTICATED 401;
// PERMISSION_DENIED 403; NOT_FOUND 404; ABORTED, ALREADY_EXISTS 409; RESOURCE_EXHAUSTED 429;
// CANCELLED 499; UNIMPLEMENTED 501; UNAVAILABLE 503; DEADLINE_EXCEEDED 504; others 500.
int HttpStatusFor(absl::StatusCode code);

// The JSON body for `status` (REQUIRES: not OK). `domain` names who refused when the status
// carries no domain of its own (the gateway's own errors: "gateway.qcash"). `request_id` is
// the X-Request-Id of the exchange; one that is not 1-64 of [A-Za-z0-9_-] is left out.
// A reason or domain that is not a plain identifier becomes UNSPECIFIED / `domain`.
std::string ErrorBody(const absl::Status& status, const std::string& domain,
                      const std::string& request_id);

// The Retry-After header (whole seconds, at least 1) for a status that says when to retry
// (common/status.h WithRetryAfter, e.g. QSIGN_BUSY, UPSTREAM_BUSY), or 0 when it says nothing.
int64_t RetryAfterSeconds(const absl::Status& status);

// The Japanese message a seller sees for `reason`, or the generic one for `code`'s class.
absl::string_view SellerMessage(absl::string_view reason, absl::StatusCode code);

// The same, completed with the facts the status carries (common/status.h MetadataOf) where a
// reason has them: how many wrong Q-sign passwords are left before the lock
// (WRONG_QSIGN_PASSWORD "attempts_left"), and until when, in Japan time, the lock lasts
// (QSIGN_LOCKED "locked_until"). A fact that is missing or malformed leaves the plain message.
std::string SellerMessageFor(const absl::Status& status, absl::string_view reason);

// The reasons SellerMessage has a message of their own for. Each is the name of an
// ErrorReason value of some service (gateway_unit_test checks against the enums).
std::vector<absl::string_view> ReasonsWithMessages();

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_ERRORS_H_
