// Errors at the HTTP edge: gRPC codes map to HTTP statuses the way grpc-gateway maps them, and
// the body is the proto3 JSON of google.rpc.Status with its google.rpc.ErrorInfo, e.g.
//   {"code":9,"message":"seller s1 has less than 500 yen available","details":[{"@type":
//    "type.googleapis.com/google.rpc.ErrorInfo","reason":"INSUFFICIENT_FUNDS",
//    "domain":"wallet.qcash","metadata":{}}]}
#ifndef QCASH_GATEWAY_ERRORS_H_
#define QCASH_GATEWAY_ERRORS_H_

#include <string>

#include "absl/status/status.h"

namespace qcash::gateway {

// INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE 400; UNAUTHENTICATED 401;
// PERMISSION_DENIED 403; NOT_FOUND 404; ABORTED, ALREADY_EXISTS 409; RESOURCE_EXHAUSTED 429;
// CANCELLED 499; UNIMPLEMENTED 501; UNAVAILABLE 503; DEADLINE_EXCEEDED 504; others 500.
int HttpStatusFor(absl::StatusCode code);

// The JSON body for `status` (REQUIRES: not OK). `domain` names who refused when the status
// carries no domain of its own (the gateway's own errors: "gateway.qcash").
std::string ErrorBody(const absl::Status& status, const std::string& domain);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_ERRORS_H_
