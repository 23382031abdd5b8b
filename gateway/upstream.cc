#include "gateway/upstream.h"

#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "qcash/gateway/v1/error_reason.pb.h"

namespace qcash::gateway {

absl::StatusOr<std::unique_ptr<Upstreams>> Upstreams::Create(Options options) {
  std::unique_ptr<Upstreams> upstreams(new Upstreams(std::move(options)));
  const Options& kept = upstreams->options_;
  for (const auto& [upstream, target] : kept.targets) {
    if (target.empty()) continue;
    auto channel = MakeChannel(target, kept.transport, "gateway");
    if (!channel.ok()) return channel.status();
    auto service = std::make_unique<Service>(kept.concurrency_max);
    service->stub = std::make_unique<grpc::GenericStub>(*channel);
    upstreams->services_[upstream] = std::move(service);
  }
  return upstreams;
}

absl::Status Upstreams::Enter(Service& service) {
  // Built only on refusal: the path that finds room allocates nothing.
  const auto busy = [this] {
    return WithRetryAfter(
        Unavailable(gateway::v1::UPSTREAM_BUSY, "the service is busy; retry shortly"),
        absl::FromChrono(options_.retry_after));
  };
  MutexLock lock(&service.mu);
  if (service.HasRoom()) {
    ++service.in_flight;
    return absl::OkStatus();
  }
  if (service.waiting >= options_.queue_max) return busy();
  ++service.waiting;
  const bool room = service.left.WaitFor(
      &service.mu, absl::FromChrono(options_.queue_wait),
      [&service]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(service.mu) { return service.HasRoom(); });
  --service.waiting;
  if (!room) return busy();
  ++service.in_flight;
  return absl::OkStatus();
}

void Upstreams::Leave(Service& service) {
  MutexLock lock(&service.mu);
  --service.in_flight;
  service.left.Signal();
}

absl::Status Upstreams::Call(Upstream upstream, const std::string& rpc,
                             const google::protobuf::Message& request,
                             google::protobuf::Message* response, const CallMeta& meta) {
  auto it = services_.find(upstream);
  if (it == services_.end()) {
    return Unavailable(gateway::v1::UPSTREAM_NOT_CONFIGURED, "this service is not configured");
  }
  Service& service = *it->second;
  if (absl::Status entered = Enter(service); !entered.ok()) return entered;
  struct Release {
    Service* service;
    ~Release() { Leave(*service); }
  } release{&service};

  std::string serialized;
  if (!request.SerializeToString(&serialized)) {
    return Internal(gateway::v1::SERIALIZE_FAILED, "cannot serialize the request");
  }
  grpc::Slice slice(serialized);
  grpc::ByteBuffer request_bytes(&slice, 1);
  grpc::ClientContext context;
  RetryPolicy policy;
  policy.attempt_timeout = options_.timeout;
  PrepareContext(&context, policy);
  if (!meta.request_id.empty()) context.AddMetadata("x-request-id", meta.request_id);
  if (!meta.seller_token.empty()) context.AddMetadata("x-qcash-seller-token", meta.seller_token);
  grpc::ByteBuffer response_bytes;
  std::promise<grpc::Status> done;
  std::future<grpc::Status> result = done.get_future();
  service.stub->UnaryCall(&context, rpc, grpc::StubOptions(), &request_bytes, &response_bytes,
                          [&done](grpc::Status status) { done.set_value(std::move(status)); });
  const grpc::Status status = result.get();  // the deadline bounds the wait
  if (!status.ok()) return FromGrpcStatus(status);
  std::vector<grpc::Slice> slices;
  std::string received;
  if (response_bytes.Dump(&slices).ok()) {
    for (const grpc::Slice& piece : slices) {
      received.append(reinterpret_cast<const char*>(piece.begin()), piece.size());
    }
  }
  if (!response->ParseFromString(received)) {
    return Internal(gateway::v1::DESERIALIZE_FAILED, "the service's answer could not be read");
  }
  return absl::OkStatus();
}

}  // namespace qcash::gateway
