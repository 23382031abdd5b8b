// Authorization as a gRPC server interceptor (DESIGN.md section 2): for every call, the method
// is looked up in its service's one table (common/policy.h; a method the table does not name is
// refused, fail closed), the caller's identity is established (the mTLS peer's certificate; in
// insecure development mode of a development build only, the x-qcash-caller metadata), the
// caller must hold the method's permission, and for a method that acts for the seller its
// request names, the gateway must have forwarded that seller's token (common/seller_scope.h).
//
// The decision is taken once the request message has arrived (the seller and, for some
// methods, the permission come from it), before the handler runs. gRPC C++ (1.51) lets a server
// interceptor neither answer a call nor keep its handler from running (grpc/grpc#24017), so
// the verdict reaches the handler and the wire in two ways that cannot both be forgotten:
//   - a handler obtains the caller only from AdmittedCaller(), which answers the refusal for a
//     refused call (service_call.h's helpers do this for every handler);
//   - whatever a refused call's handler answers, the interceptor replaces its status with the
//     refusal before it is sent.
#ifndef QCASH_COMMON_AUTHORIZATION_H_
#define QCASH_COMMON_AUTHORIZATION_H_

#include <google/protobuf/message.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/policy.h"
#include "common/seller_scope.h"

namespace qcash {

struct AuthorizationOptions {
  // The tables of the services of one server (a method is looked up in each).
  std::vector<const AccessTable*> tables;
  // Methods open to any caller, by prefix of their full name: gRPC's health service and server
  // reflection (which Serve() registers only when asked for). Nothing of Qcash's.
  std::vector<std::string> open_prefixes;
  // Plaintext development (common/server.h TransportConfig): identities from metadata. Decided
  // once, at start-up; honoured only in development builds.
  bool insecure_dev = false;
  // Checks the seller tokens the gateway forwards. REQUIRES: outlives the server when a table
  // has a SellerScoped::kRequestSeller method (null refuses those methods, fail closed).
  const SellerScope* seller_scope = nullptr;
};

// The interceptor that Serve() installs on every server (common/server.h).
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeAuthorizationInterceptorFactory(AuthorizationOptions options);

// The verdict on one call, given what the interceptor read from it: `method`'s full name,
// the caller's identity (or why it has none), the forwarded seller token (null: none) and the
// request (null when none has arrived). Returns the admitted caller.
// Errors: UNAUTHENTICATED (NO_CALLER_IDENTITY); PERMISSION_DENIED (CALLER_NOT_ALLOWED: an
// unknown method, or a caller without the permission; SELLER_TOKEN_MISSING,
// SELLER_TOKEN_INVALID, SELLER_MISMATCH).
absl::StatusOr<std::string> DecideCall(const AuthorizationOptions& options,
                                       absl::string_view method,
                                       const absl::StatusOr<std::string>& identity,
                                       const absl::string_view* seller_token,
                                       const google::protobuf::Message* request);

// The caller the authorization interceptor admitted for the call of `context`; the refusal of
// a refused call. Errors: those of DecideCall, and PERMISSION_DENIED (CALLER_NOT_ALLOWED) for a
// call no interceptor decided on (fail closed).
absl::StatusOr<std::string> AdmittedCaller(const grpc::ServerContextBase& context);

// The caller's identity as the interceptor established it, admitted or not, for logs;
// "unauthenticated" when it has none.
std::string CallerForLogs(const grpc::ServerContextBase& context);

}  // namespace qcash

#endif  // QCASH_COMMON_AUTHORIZATION_H_
