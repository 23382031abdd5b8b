#include "common/grpc_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/client_interceptor.h>

#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/status.h"

namespace qcash {

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
namespace {

// Insecure development mode: the caller's identity as x-qcash-caller metadata on every call
// (with mTLS the certificate says who calls).
class DevelopmentCaller final : public grpc::experimental::Interceptor {
 public:
  explicit DevelopmentCaller(const std::string* caller) : caller_(caller) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("x-qcash-caller", *caller_);
    }
    methods->Proceed();
  }

 private:
  const std::string* const caller_;  // the factory's, which the channel keeps
};

class DevelopmentCallerFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit DevelopmentCallerFactory(std::string caller) : caller_(std::move(caller)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new DevelopmentCaller(&caller_);
  }

 private:
  const std::string caller_;
};

}  // namespace
#endif

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TransportConfig& config) {
  if (config.insecure_dev) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  auto ca = ReadConfigFile(config.ca_file);
  if (!ca.ok()) return ca.status();
  auto key = ReadConfigFile(config.key_file);
  if (!key.ok()) return key.status();
  auto cert = ReadConfigFile(config.cert_file);
  if (!cert.ok()) return cert.status();
  options.pem_root_certs = *ca;
  options.pem_private_key = *key;
  options.pem_cert_chain = *cert;
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                           const TransportConfig& config,
                                                           const std::string& caller) {
  auto credentials = MakeChannelCredentials(config);
  if (!credentials.ok()) return credentials.status();
  // gRPC's reconnect backoff grows to 120 s by default: a peer that restarted (a killed
  // wallet, a rescheduled pod) would be retried only minutes later while calls fail at once
  // in TRANSIENT_FAILURE. Capped at 2 s, a restarted peer is used again within about 2 s of
  // being back (the chaos run saw 16-21 s without a write after a wallet restart of ~1 s).
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  // Development builds only (DESIGN.md section 7); a release build has no insecure mode.
  if (config.insecure_dev && !caller.empty()) {
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> callers;
    callers.push_back(std::make_unique<DevelopmentCallerFactory>(caller));
    return grpc::experimental::CreateCustomChannelWithInterceptors(target, *credentials, arguments,
                                                                   std::move(callers));
  }
#endif
  return grpc::CreateCustomChannel(target, *credentials, arguments);
}

bool IsRetryable(const absl::Status& status, bool idempotent) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
      return true;
    case absl::StatusCode::kDeadlineExceeded:
      return idempotent;  // the outcome is unknown; only a keyed call may be sent again
    default:
      return false;
  }
}

std::chrono::milliseconds Backoff(const RetryPolicy& policy, int attempt) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  int64_t ceiling = policy.backoff_initial.count();
  for (int i = 1; i < attempt && ceiling < policy.backoff_max.count(); ++i) ceiling *= 2;
  ceiling = std::min<int64_t>(ceiling, policy.backoff_max.count());
  std::uniform_int_distribution<int64_t> jitter(ceiling / 2, ceiling);
  return std::chrono::milliseconds(jitter(rng));
}

void PrepareContext(grpc::ClientContext* context, const RetryPolicy& policy) {
  context->set_deadline(std::chrono::system_clock::now() + policy.attempt_timeout);
}

}  // namespace qcash
