#include "common/grpc_client.h"

#include <grpcpp/create_channel.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/status.h"

namespace qcash {

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
                                                           const TransportConfig& config) {
  auto credentials = MakeChannelCredentials(config);
  if (!credentials.ok()) return credentials.status();
  return grpc::CreateChannel(target, *credentials);
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

void PrepareContext(grpc::ClientContext* context, const RetryPolicy& policy,
                    const std::string& caller, bool insecure_dev) {
  context->set_deadline(std::chrono::system_clock::now() + policy.attempt_timeout);
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  // Development builds only (DESIGN.md section 7); a release build has no insecure mode.
  if (insecure_dev && !caller.empty()) context->AddMetadata("x-qcash-caller", caller);
#endif
}

}  // namespace qcash
