// The client side of internal gRPC: channel credentials from the same transport settings as
// the servers (mTLS, or the explicit insecure development switch), the caller's identity, and
// the retry policy every Qcash client uses.
#ifndef QCASH_COMMON_GRPC_CLIENT_H_
#define QCASH_COMMON_GRPC_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/server.h"

namespace qcash {

// Channel credentials for `config`: this process's certificate and key, trusting only the CA
// (mTLS); or plaintext in insecure development mode.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TransportConfig& config);

// A channel to `target` ("host:port") with `config`'s credentials, for calls as `caller`. With
// mTLS the certificate says who calls; in insecure development mode (development builds only)
// every call on the channel carries `caller` as the x-qcash-caller metadata. Decided here, once:
// no call site knows which mode it is in.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                           const TransportConfig& config,
                                                           const std::string& caller);

// When and how a client retries a call (DESIGN.md section 5): UNAVAILABLE and ABORTED, and
// DEADLINE_EXCEEDED for calls that carry an idempotency key, are retried with the same request
// (so the same key) after an exponential backoff with jitter; anything else is final.
struct RetryPolicy {
  int attempts_max = 5;
  std::chrono::milliseconds attempt_timeout{2000};  // each attempt's deadline
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{1000};
};

// True when a failed call with this status may be tried again unchanged.
bool IsRetryable(const absl::Status& status, bool idempotent);

// The wait before attempt `attempt` (1 = the first retry): exponential with full jitter.
std::chrono::milliseconds Backoff(const RetryPolicy& policy, int attempt);

// Prepares `context` for one attempt: its deadline.
void PrepareContext(grpc::ClientContext* context, const RetryPolicy& policy);

}  // namespace qcash

#endif  // QCASH_COMMON_GRPC_CLIENT_H_
