#include "common/service_call.h"

#include <utility>

#include "common/grpc_status.h"
#include "common/server.h"
#include "common/status.h"

namespace qcash {

absl::StatusOr<std::string> AdmitCall(const grpc::ServerContextBase& context, bool insecure_dev,
                                      absl::FunctionRef<absl::Status(absl::string_view)> authorize,
                                      const SellerScope& scope, const std::string* seller_id) {
  auto caller = CallerIdentity(context, insecure_dev);
  if (!caller.ok()) return caller.status();
  if (absl::Status allowed = authorize(*caller); !allowed.ok()) return allowed;
  if (seller_id != nullptr) {
    if (absl::Status scoped = scope.Check(context, *caller, *seller_id); !scoped.ok()) {
      return scoped;
    }
  }
  return caller;
}

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

}  // namespace qcash
