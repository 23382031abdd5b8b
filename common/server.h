// Server bootstrap shared by every service: credentials (mTLS, or an explicit insecure
// development switch), the standard gRPC health service, server reflection when asked for, a
// plaintext probe port that serves the health service and nothing else, and a graceful stop on
// SIGTERM: readiness goes NOT_SERVING first, in-flight calls drain, then the process exits
// within the grace period.
#ifndef QCASH_COMMON_SERVER_H_
#define QCASH_COMMON_SERVER_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_context.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/policy.h"
#include "common/seller_scope.h"

namespace qcash {

// True in a development build (cmake -DQCASH_DEVELOPMENT=ON, as scripts/up and scripts/test
// build): only such a binary contains the development conveniences of DESIGN.md section 7.
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
inline constexpr bool kDevelopmentBuild = true;
#else
inline constexpr bool kDevelopmentBuild = false;
#endif

// Fail closed (DESIGN.md section 7): the error a release binary returns at start-up when its
// configuration asks for a development convenience it was built without, e.g. `setting` =
// "QCASH_INSECURE_DEV=1". INVALID_ARGUMENT (INVALID_CONFIG).
absl::Status DevelopmentOnly(absl::string_view setting);

// Transport security of one process, read from the environment:
//   QCASH_TLS_CERT, QCASH_TLS_KEY, QCASH_TLS_CA  PEM files: this process's certificate and key
//                                                and the CA that signs its peers (all three)
//   QCASH_INSECURE_DEV=1                         plaintext; identity from metadata
//                                                (development builds only)
struct TransportConfig {
  bool insecure_dev = false;  // always false in a release build
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
};

// Errors: INVALID_ARGUMENT (INVALID_CONFIG) when neither TLS files nor the insecure switch are
// configured, when only some of the three TLS files are, or when a release build is asked for
// QCASH_INSECURE_DEV=1.
absl::StatusOr<TransportConfig> TransportConfigFromEnv();

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TransportConfig& config);

// The calling service's identity: the common name of its client certificate; in insecure
// development mode (development builds only) the `x-qcash-caller` metadata. Handlers do not
// call this: the authorization interceptor does (common/authorization.h AdmittedCaller).
// Errors: UNAUTHENTICATED (NO_CALLER_IDENTITY).
absl::StatusOr<std::string> CallerIdentity(const grpc::ServerContextBase& context,
                                           bool insecure_dev);

// Process-wide set-up for a binary that uses gRPC: structured logs as `service`, and Abseil's
// mutex deadlock detection off (Debian builds Abseil with it on, and gRPC's mutexes then pay
// for a lock graph on every acquisition).
void InitProcess(absl::string_view service);

// Blocks SIGTERM and SIGINT in this thread and every thread it starts afterwards.
// REQUIRES: called first thing in main(), before any thread exists.
void BlockTerminationSignals();

// Waits for SIGTERM or SIGINT; returns the signal's name.
std::string WaitForTerminationSignal();

// The health service name a liveness probe asks for: SERVING from start to exit, while the
// overall status ("") and the service's own name serve readiness and go NOT_SERVING on SIGTERM.
inline constexpr char kLivenessService[] = "liveness";

struct ServeOptions {
  std::string service_name;  // for health and logs, e.g. "qcash.wallet.v1.WalletService"
  std::string listen_address;
  TransportConfig transport;  // decides, once, where caller identities come from
  std::shared_ptr<grpc::ServerCredentials> credentials;  // made from `transport`
  std::vector<grpc::Service*> services;
  // The one table of each service in `services` (common/policy.h): the authorization
  // interceptor refuses every call of a method that none of them names.
  std::vector<const AccessTable*> access_tables;
  // Checks the seller tokens the gateway forwards for SellerScoped::kRequestSeller methods
  // (null: such methods are refused).
  std::shared_ptr<const SellerScope> seller_scope;
  // gRPC server reflection on the main port (grpcurl's convenience; it tells anyone who can
  // connect every method there is). Never on the probe port.
  bool reflection = false;
  // A second, plaintext port for Kubernetes' native gRPC probes, which cannot present a client
  // certificate. A server of its own that serves the standard health service and nothing else
  // (every other method there is UNIMPLEMENTED), with the same statuses as the main port.
  // Empty: none.
  std::string health_listen_address;
  // After SIGTERM: time with readiness NOT_SERVING before the listener closes, so that load
  // balancers stop sending new calls; then in-flight calls get `drain_timeout` to finish.
  std::chrono::milliseconds unready_delay{0};
  std::chrono::milliseconds drain_timeout{10000};
  // The largest request message the server reads (0: gRPC's default, 4 MiB). A service whose
  // own limit on a request is near 4 MiB raises it a little, so that its check, with its
  // clear reason, is what the caller meets rather than the transport's RESOURCE_EXHAUSTED.
  int max_receive_message_bytes = 0;
};

// The options every service process reads alike from the environment:
//   <listen_env>            address to serve gRPC on            `default_listen`
//   QCASH_TLS_* / QCASH_INSECURE_DEV  transport (TransportConfigFromEnv)
//   QCASH_HEALTH_LISTEN     plaintext host:port for probes      (empty: off)
//   QCASH_GRPC_REFLECTION   server reflection on the main port  on only with QCASH_INSECURE_DEV
//   QCASH_UNREADY_DELAY_MS  not-ready time before draining      0
//   QCASH_DRAIN_TIMEOUT_MS  in-flight calls' time to finish     10000
//   QCASH_SELLER_TOKEN_*    the seller scope (SellerScope::FromEnv; with TLS, required)
// `services` is left for the caller to fill. Errors: INVALID_ARGUMENT (INVALID_CONFIG).
absl::StatusOr<ServeOptions> ServeOptionsFromEnv(absl::string_view service_name,
                                                 const char* listen_env,
                                                 absl::string_view default_listen);

// The whole main() of a service binary: blocks the termination signals, sets the process up as
// `service`, runs `run` and logs its error. Returns the process's exit code.
int ServiceMain(absl::string_view service, absl::Status (*run)());

// Builds and starts the server, waits for SIGTERM/SIGINT, drains and returns.
// Errors: UNAVAILABLE when the address cannot be bound.
absl::Status Serve(const ServeOptions& options);

}  // namespace qcash

#endif  // QCASH_COMMON_SERVER_H_
