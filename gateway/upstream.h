// The gateway's calls to the services: one channel per service, the gateway's identity (its
// certificate, or x-qcash-caller in insecure development mode), the seller's token forwarded
// for the service to check, a deadline on every call, and a bulkhead per service: at most
// `concurrency_max` calls in flight to one service, so that a slow service fails fast with 503
// instead of tying up every HTTP worker and stalling requests that do not need it.
#ifndef QCASH_GATEWAY_UPSTREAM_H_
#define QCASH_GATEWAY_UPSTREAM_H_

#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
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
  };

  // Errors: INVALID_ARGUMENT when TLS files cannot be read.
  static absl::StatusOr<std::unique_ptr<Upstreams>> Create(Options options);

  // Calls `rpc` of `upstream` with `request`; fills `response`.
  // Errors: the service's status (reason and domain kept); UNAVAILABLE (UPSTREAM_BUSY) when the
  // service's bulkhead is full, (UPSTREAM_NOT_CONFIGURED) when it has no address;
  // DEADLINE_EXCEEDED when it did not answer in time.
  absl::Status Call(Upstream upstream, const std::string& rpc,
                    const google::protobuf::Message& request, google::protobuf::Message* response,
                    const CallMeta& meta);

 private:
  struct Service {
    std::unique_ptr<grpc::GenericStub> stub;
    std::atomic<int> in_flight{0};
  };
  explicit Upstreams(Options options) : options_(std::move(options)) {}

  const Options options_;
  std::map<Upstream, std::unique_ptr<Service>> services_;  // constant after Create
};

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_UPSTREAM_H_
