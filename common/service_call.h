// The steps every service's unary handler takes around its work: take the caller the
// authorization interceptor admitted (common/authorization.h: identity, the method's
// permission in the service's table, and for a seller's call the token the gateway forwarded),
// then run the work off the gRPC threads and finish the call with its status.
#ifndef QCASH_COMMON_SERVICE_CALL_H_
#define QCASH_COMMON_SERVICE_CALL_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/thread_pool.h"

namespace qcash {

// Runs `work` on `pool` and finishes `reactor` with its status, as `error_domain`'s ErrorInfo.
// Finishes at once with UNAVAILABLE (OVERLOADED) when the pool's queue is full.
// REQUIRES: `error_domain` lives as long as the process (the service's constant).
void FinishOnPool(ThreadPool* pool, grpc::ServerUnaryReactor* reactor,
                  absl::string_view error_domain, absl::AnyInvocable<absl::Status() &&> work);

using AdmittedWork = absl::AnyInvocable<absl::Status(const std::string& caller) &&>;

// The whole of a handler around its work: finishes at once with the interceptor's refusal
// (AdmittedCaller) for a refused call, or runs `work` with the admitted caller on `pool`
// (FinishOnPool). Returns the call's reactor.
grpc::ServerUnaryReactor* RunAdmitted(grpc::CallbackServerContext* context, ThreadPool* pool,
                                      absl::string_view error_domain, AdmittedWork work);

}  // namespace qcash

#endif  // QCASH_COMMON_SERVICE_CALL_H_
