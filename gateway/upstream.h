// The gateway's calls to the services: one channel per service, the gateway's identity (its
// certificate, or x-qcash-caller in insecure development mode), the seller's token forwarded
// for the service to check, a deadline on every call, and a bulkhead per service: at most
// `concurrency_max` calls in flight to one service. A call beyond that waits its turn in a
// bounded queue (at most `queue_max` waiting, each at most `queue_wait`) instead of failing at
// once: a burst of genuine provider notifications (P7) or seller clicks is served in full,
// while a service that stays slow still fails fast with 503 once the queue is full or the
// wait is over, rather than tying up every HTTP worker.
#ifndef QCASH_GATEWAY_UPSTREAM_H_
#define QCASH_GATEWAY_UPSTREAM_H_

#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "common/server.h"
#include "gateway/routes.h"

namespace qcash::gateway {

struct CallMeta {
  std::string request_id;    // x-request-id, for logs end to end
  std::string seller_token;  // the token the seller sent, forwarded as x-qcash-seller-token
};

class Upstreams {
 public:
  struct Options {
    std::map<Upstream, std::string> targets;  // host:port per service
    TransportConfig transport;
    std::chrono::milliseconds timeout{5000};
    int concurrency_max = 64;
    int queue_max = 256;                          // calls waiting for a slot, per service
    std::chrono::milliseconds queue_wait{2000};   // the longest wait for a slot
    std::chrono::milliseconds retry_after{1000};  // told to callers refused as busy
  };

  // Errors: INVALID_ARGUMENT when TLS files cannot be read.
  static absl::StatusOr<std::unique_ptr<Upstreams>> Create(Options options);

  // Calls `rpc` of `upstream` with `request`; fills `response`.
  // Errors: the service's status (reason and domain kept); UNAVAILABLE (UPSTREAM_BUSY, with a
  // retry delay: RetryAfterOf) when no slot came free within the queue wait or the queue was
  // full, (UPSTREAM_NOT_CONFIGURED) when it has no address; DEADLINE_EXCEEDED when it did not
  // answer in time.
  absl::Status Call(Upstream upstream, const std::string& rpc,
                    const google::protobuf::Message& request, google::protobuf::Message* response,
                    const CallMeta& meta);

 private:
  struct Service {
    explicit Service(int concurrency_max) : concurrency_max(concurrency_max) {}
    bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return in_flight < concurrency_max; }

    const int concurrency_max;
    std::unique_ptr<grpc::GenericStub> stub;  // constant after Create
    Mutex mu;
    CondVar left;  // signalled when a call leaves its slot
    int in_flight ABSL_GUARDED_BY(mu) = 0;
    int waiting ABSL_GUARDED_BY(mu) = 0;
  };
  explicit Upstreams(Options options) : options_(std::move(options)) {}

  // Takes a slot of `service`, waiting in its bounded queue. Errors: UNAVAILABLE (UPSTREAM_BUSY).
  absl::Status Enter(Service& service) ABSL_LOCKS_EXCLUDED(service.mu);
  static void Leave(Service& service) ABSL_LOCKS_EXCLUDED(service.mu);

  const Options options_;
  std::map<Upstream, std::unique_ptr<Service>> services_;  // constant after Create
};

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_UPSTREAM_H_
