// The two steps every service's unary handler takes around its work: admit the call (who is
// calling, may it do this, and for a seller's call did the gateway forward that seller's
// token), then run the work off the gRPC threads and finish the call with its status.
#ifndef QCASH_COMMON_SERVICE_CALL_H_
#define QCASH_COMMON_SERVICE_CALL_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/seller_scope.h"
#include "common/thread_pool.h"

namespace qcash {

// The caller's identity (common/server.h CallerIdentity) once `authorize` allows it and, when
// `seller_id` is not null, `scope` accepts the seller token it forwarded for that seller.
// Errors: those of CallerIdentity, `authorize` and SellerScope::Check.
absl::StatusOr<std::string> AdmitCall(const grpc::ServerContextBase& context, bool insecure_dev,
                                      absl::FunctionRef<absl::Status(absl::string_view)> authorize,
                                      const SellerScope& scope, const std::string* seller_id);

// Runs `work` on `pool` and finishes `reactor` with its status, as `error_domain`'s ErrorInfo.
// Finishes at once with UNAVAILABLE (OVERLOADED) when the pool's queue is full.
// REQUIRES: `error_domain` lives as long as the process (the service's constant).
void FinishOnPool(ThreadPool* pool, grpc::ServerUnaryReactor* reactor,
                  absl::string_view error_domain, absl::AnyInvocable<absl::Status() &&> work);

}  // namespace qcash

#endif  // QCASH_COMMON_SERVICE_CALL_H_
