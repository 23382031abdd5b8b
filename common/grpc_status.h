// The one place where absl::Status becomes grpc::Status and back.
//
// On the wire a failure is a gRPC status code, a message, and in the
// `grpc-status-details-bin` trailer a google.rpc.Status holding a google.rpc.ErrorInfo whose
// `reason` is the reason of the absl::Status (common/status.h) and whose `domain` names the
// service, e.g. "wallet.qcash".
#ifndef QCASH_COMMON_GRPC_STATUS_H_
#define QCASH_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/rpc/status.pb.h"

namespace qcash {

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain);

// The google.rpc.Status that ToGrpcStatus sends in the trailer: code, message and the
// ErrorInfo (reason, `domain`, metadata). For the per-item results of a batch call, whose
// items fail one by one inside a call that succeeds. An OK `status` gives code 0 and nothing
// else.
google::rpc::Status ToRpcStatus(const absl::Status& status, absl::string_view domain);

// The absl::Status of a failed call, with the ErrorInfo reason restored (so that
// qcash::ReasonOf works on it) and its domain kept as the payload "type.qcash/domain".
absl::Status FromGrpcStatus(const grpc::Status& status);

// The absl::Status of a google.rpc.Status inside a response, as FromGrpcStatus does for a call's
// status: OK for code 0.
absl::Status FromRpcStatus(const google::rpc::Status& status);

}  // namespace qcash

#endif  // QCASH_COMMON_GRPC_STATUS_H_
