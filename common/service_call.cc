#include "common/service_call.h"

#include <utility>

#include "common/authorization.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace qcash {

void FinishOnPool(ThreadPool* pool, grpc::ServerUnaryReactor* reactor,
                  absl::string_view error_domain, absl::AnyInvocable<absl::Status() &&> work) {
  auto task = [reactor, error_domain, work = std::move(work)]() mutable {
    reactor->Finish(ToGrpcStatus(std::move(work)(), error_domain));
  };
  if (!pool->Post(std::move(task))) {
    reactor->Finish(ToGrpcStatus(
        Unavailable(common::v1::OVERLOADED, "too many calls queued; retry later"), error_domain));
  }
}

grpc::ServerUnaryReactor* RunAdmitted(grpc::CallbackServerContext* context, ThreadPool* pool,
                                      absl::string_view error_domain, AdmittedWork work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = AdmittedCaller(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status(), error_domain));
    return reactor;
  }
  FinishOnPool(pool, reactor, error_domain,
               [caller = std::move(*caller), work = std::move(work)]() mutable {
                 return std::move(work)(caller);
               });
  return reactor;
}

}  // namespace qcash
