#include "common/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <pthread.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/config.h"
#include "common/log.h"
#include "common/status.h"

namespace qcash {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("INVALID_CONFIG", absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

absl::StatusOr<TransportConfig> TransportConfigFromEnv() {
  TransportConfig config;
  auto insecure = EnvBool("QCASH_INSECURE_DEV", false);
  if (!insecure.ok()) return insecure.status();
  config.insecure_dev = *insecure;
  config.cert_file = EnvString("QCASH_TLS_CERT", "");
  config.key_file = EnvString("QCASH_TLS_KEY", "");
  config.ca_file = EnvString("QCASH_TLS_CA", "");
  const bool tls = !config.cert_file.empty() && !config.key_file.empty() && !config.ca_file.empty();
  if (!tls && !config.insecure_dev) {
    return InvalidArgument("INVALID_CONFIG",
                           "set QCASH_TLS_CERT, QCASH_TLS_KEY and QCASH_TLS_CA, or "
                           "QCASH_INSECURE_DEV=1 for plaintext development");
  }
  if (tls) config.insecure_dev = false;  // TLS wins when both are given
  return config;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TransportConfig& config) {
  if (config.insecure_dev) return grpc::InsecureServerCredentials();
  auto cert = ReadFile(config.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(config.key_file);
  if (!key.ok()) return key.status();
  auto ca = ReadFile(config.ca_file);
  if (!ca.ok()) return ca.status();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = *ca;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::string> CallerIdentity(const grpc::ServerContextBase& context,
                                           bool insecure_dev) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const auto& value : auth->FindPropertyValues("x509_common_name")) {
      if (!value.empty()) return std::string(value.data(), value.size());
    }
  }
  if (insecure_dev) {
    const auto& metadata = context.client_metadata();
    auto it = metadata.find("x-qcash-caller");
    if (it != metadata.end() && !it->second.empty()) {
      return std::string(it->second.data(), it->second.size());
    }
  }
  return Unauthenticated("NO_CALLER_IDENTITY", "the caller's identity is unknown");
}

void InitProcess(absl::string_view service) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  InitLog(service);
}

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal == SIGTERM ? "SIGTERM" : "SIGINT";
}

absl::Status Serve(const ServeOptions& options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(options.listen_address, options.credentials, &bound_port);
  for (grpc::Service* service : options.services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return Unavailable("LISTEN_FAILED", absl::StrCat("cannot listen on ", options.listen_address));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(options.service_name, true);
  health->SetServingStatus(true);
  Log(LogLevel::kInfo, "serving",
      {{"address", options.listen_address}, {"port", bound_port},
       {"service", options.service_name}});

  const std::string signal = WaitForTerminationSignal();
  Log(LogLevel::kInfo, "stopping", {{"signal", signal}});
  // Not ready first, so that no new calls are routed here; live all along.
  health->SetServingStatus(options.service_name, false);
  health->SetServingStatus(false);
  std::this_thread::sleep_for(options.unready_delay);
  server->Shutdown(std::chrono::system_clock::now() + options.drain_timeout);
  server->Wait();
  Log(LogLevel::kInfo, "stopped", {});
  return absl::OkStatus();
}

}  // namespace qcash
