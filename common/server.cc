#include "common/server.h"

#include <google/protobuf/message.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_interceptor.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/authorization.h"
#include "common/config.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"

namespace qcash {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

metrics::Counter* RpcHandled() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_grpc_server_handled_total", "RPCs completed, by method and status code.",
      {"method", "code"});
  return counter;
}

metrics::Histogram* RpcSeconds() {
  static auto* const histogram = metrics::Registry::Global().NewHistogram(
      "qcash_grpc_server_handling_seconds", "Time from receiving an RPC to sending its status.",
      {"method"});
  return histogram;
}

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
}

// Every RPC: its count and latency by method and code, and one structured log line with the
// request id, the caller's identity and, for Qcash's own services, the seller it concerns.
class RpcObserver final : public grpc::experimental::Interceptor {
 public:
  explicit RpcObserver(grpc::experimental::ServerRpcInfo* info)
      : info_(info), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    const std::string method = info_->method();
    // Only Qcash's services carry protobuf messages here (the built-in health service does
    // not), and every one of their requests names its seller in `seller_id`.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        method.rfind("/qcash.", 0) == 0) {
      const auto* message =
          static_cast<const google::protobuf::Message*>(methods->GetRecvMessage());
      if (message != nullptr) {
        const auto* field = message->GetDescriptor()->FindFieldByName("seller_id");
        if (field != nullptr && field->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
            !field->is_repeated()) {
          seller_id_ = message->GetReflection()->GetString(*message, field);
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
      RpcHandled()->Add({method, CodeName(status.error_code())});
      RpcSeconds()->Observe({method}, seconds);
      if (method.rfind("/grpc.health.", 0) != 0) {
        const grpc::ServerContextBase* context = info_->server_context();
        std::string request_id;
        const auto& metadata = context->client_metadata();
        if (auto it = metadata.find("x-request-id"); it != metadata.end()) {
          request_id.assign(it->second.data(), std::min<size_t>(it->second.size(), 64));
        }
        Log(status.ok() ? LogLevel::kInfo : LogLevel::kWarn, "rpc",
            {{"method", method},
             {"code", CodeName(status.error_code())},
             {"duration_ms", seconds * 1000},
             {"caller", CallerForLogs(*context)},
             {"seller_id", seller_id_},
             {"request_id", request_id}});
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  const absl::Time start_;
  std::string seller_id_;
};

class RpcObserverFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcObserver(info);
  }
};

// Leaves gRPC's server reflection out of one server. The reflection library registers its
// plugin for every ServerBuilder of the process when it is loaded, so leaving it out is an
// option of the builder rather than a call not made.
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(
        std::remove_if(plugins->begin(), plugins->end(),
                       [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
                         return dynamic_cast<grpc::reflection::ProtoServerReflectionPlugin*>(
                                    plugin.get()) != nullptr;
                       }),
        plugins->end());
  }
};

}  // namespace

absl::Status DevelopmentOnly(absl::string_view setting) {
  return InvalidArgument(common::v1::INVALID_CONFIG,
                         absl::StrCat(setting,
                                      " is a development convenience, and this is a release "
                                      "build without it (build with -DQCASH_DEVELOPMENT=ON for "
                                      "development and tests)"));
}

absl::StatusOr<TransportConfig> TransportConfigFromEnv() {
  TransportConfig config;
  auto insecure = EnvBool("QCASH_INSECURE_DEV", false);
  if (!insecure.ok()) return insecure.status();
  // Fail closed: plaintext with identities from metadata exists only in development builds.
  if (*insecure && !kDevelopmentBuild) return DevelopmentOnly("QCASH_INSECURE_DEV=1");
  config.insecure_dev = *insecure;
  config.cert_file = EnvString("QCASH_TLS_CERT", "");
  config.key_file = EnvString("QCASH_TLS_KEY", "");
  config.ca_file = EnvString("QCASH_TLS_CA", "");
  const int tls_files =
      !config.cert_file.empty() + !config.key_file.empty() + !config.ca_file.empty();
  // Some of the files but not all is a broken TLS configuration, never a reason to fall back
  // to plaintext.
  if (tls_files != 0 && tls_files != 3) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           "QCASH_TLS_CERT, QCASH_TLS_KEY and QCASH_TLS_CA go together: "
                           "one of them is empty");
  }
  const bool tls = tls_files == 3;
  if (!tls && !config.insecure_dev) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           kDevelopmentBuild
                               ? "set QCASH_TLS_CERT, QCASH_TLS_KEY and QCASH_TLS_CA, or "
                                 "QCASH_INSECURE_DEV=1 for plaintext development"
                               : "set QCASH_TLS_CERT, QCASH_TLS_KEY and QCASH_TLS_CA");
  }
  if (tls) config.insecure_dev = false;  // TLS wins when both are given
  return config;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TransportConfig& config) {
  if (config.insecure_dev) return grpc::InsecureServerCredentials();
  auto cert = ReadConfigFile(config.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadConfigFile(config.key_file);
  if (!key.ok()) return key.status();
  auto ca = ReadConfigFile(config.ca_file);
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
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  // Development only (DESIGN.md section 7): a release build has no code that takes an
  // identity from what the caller says about itself.
  if (insecure_dev) {
    const auto& metadata = context.client_metadata();
    auto it = metadata.find("x-qcash-caller");
    if (it != metadata.end() && !it->second.empty()) {
      return std::string(it->second.data(), it->second.size());
    }
  }
#endif
  return Unauthenticated(common::v1::NO_CALLER_IDENTITY, "the caller's identity is unknown");
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

absl::StatusOr<ServeOptions> ServeOptionsFromEnv(absl::string_view service_name,
                                                 const char* listen_env,
                                                 absl::string_view default_listen) {
  ServeOptions options;
  options.service_name = std::string(service_name);
  options.listen_address = EnvString(listen_env, default_listen);
  options.health_listen_address = EnvString("QCASH_HEALTH_LISTEN", "");
  auto unready_ms = EnvInt("QCASH_UNREADY_DELAY_MS", 0, 0, 120'000);
  if (!unready_ms.ok()) return unready_ms.status();
  auto drain_ms = EnvInt("QCASH_DRAIN_TIMEOUT_MS", 10'000, 0, 600'000);
  if (!drain_ms.ok()) return drain_ms.status();
  options.unready_delay = std::chrono::milliseconds(*unready_ms);
  options.drain_timeout = std::chrono::milliseconds(*drain_ms);
  auto transport = TransportConfigFromEnv();
  if (!transport.ok()) return transport.status();
  options.transport = *transport;
  // Off in production (DESIGN.md section 7); on by default only for plaintext development.
  auto reflection = EnvBool("QCASH_GRPC_REFLECTION", options.transport.insecure_dev);
  if (!reflection.ok()) return reflection.status();
  options.reflection = *reflection;
  auto credentials = MakeServerCredentials(options.transport);
  if (!credentials.ok()) return credentials.status();
  options.credentials = *credentials;
  auto scope = SellerScope::FromEnv(options.transport.insecure_dev);
  if (!scope.ok()) return scope.status();
  options.seller_scope = std::move(*scope);
  return options;
}

int ServiceMain(absl::string_view service, absl::Status (*run)()) {
  BlockTerminationSignals();
  InitProcess(service);
  absl::Status status = run();
  if (!status.ok()) {
    Log(LogLevel::kError, "exit", {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}

absl::Status Serve(const ServeOptions& options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  if (options.reflection) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  } else {
    builder.SetOption(std::make_unique<WithoutReflection>());
  }
  int bound_port = 0;
  builder.AddListeningPort(options.listen_address, options.credentials, &bound_port);
  for (grpc::Service* service : options.services) builder.RegisterService(service);
  if (options.max_receive_message_bytes > 0) {
    builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  }
  // Authorization first: every call of every service, decided before its handler runs
  // (common/authorization.h); the development identity only if the transport was chosen so.
  AuthorizationOptions authorization;
  authorization.tables = options.access_tables;
  authorization.open_prefixes = {"/grpc.health.v1.Health/", "/grpc.reflection."};
  authorization.insecure_dev = options.transport.insecure_dev;
  authorization.seller_scope = options.seller_scope.get();
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MakeAuthorizationInterceptorFactory(std::move(authorization)));
  interceptors.push_back(std::make_unique<RpcObserverFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return Unavailable(common::v1::LISTEN_FAILED,
                       absl::StrCat("cannot listen on ", options.listen_address));
  }
  // The probe port is a server of its own, so that plaintext reaches the health service and
  // nothing else: no service, no reflection (a port shared with the main server would serve
  // every registered service there).
  // Answers UNIMPLEMENTED to every method but the health service's. gRPC builds no server
  // without a service of its own (the default health service is added only as it starts).
  // Declared first, so that it outlives the server.
  grpc::CallbackGenericService unimplemented;
  std::unique_ptr<grpc::Server> probe;
  if (!options.health_listen_address.empty()) {
    grpc::ServerBuilder probe_builder;
    probe_builder.SetOption(std::make_unique<WithoutReflection>());
    probe_builder.RegisterCallbackGenericService(&unimplemented);
    int health_port = 0;
    probe_builder.AddListeningPort(options.health_listen_address, grpc::InsecureServerCredentials(),
                                   &health_port);
    probe = probe_builder.BuildAndStart();
    if (probe == nullptr || health_port == 0) {
      server->Shutdown();
      return Unavailable(common::v1::LISTEN_FAILED,
                         absl::StrCat("cannot listen on ", options.health_listen_address));
    }
  }
  std::vector<grpc::HealthCheckServiceInterface*> health = {server->GetHealthCheckService()};
  if (probe != nullptr) health.push_back(probe->GetHealthCheckService());
  const auto set_serving = [&health](const std::string& service, bool serving) {
    for (grpc::HealthCheckServiceInterface* h : health) h->SetServingStatus(service, serving);
  };
  set_serving(options.service_name, true);
  set_serving(kLivenessService, true);
  set_serving("", true);
  Log(LogLevel::kInfo, "serving",
      {{"address", options.listen_address},
       {"port", bound_port},
       {"service", options.service_name},
       {"reflection", options.reflection},
       {"probe_address", options.health_listen_address}});

  const std::string signal = WaitForTerminationSignal();
  Log(LogLevel::kInfo, "stopping", {{"signal", signal}});
  // Not ready first, so that no new calls are routed here; live all along (kLivenessService
  // stays SERVING until the process exits).
  set_serving(options.service_name, false);
  set_serving("", false);
  std::this_thread::sleep_for(options.unready_delay);
  server->Shutdown(std::chrono::system_clock::now() + options.drain_timeout);
  server->Wait();
  if (probe != nullptr) {
    probe->Shutdown();
    probe->Wait();
  }
  Log(LogLevel::kInfo, "stopped", {});
  return absl::OkStatus();
}

}  // namespace qcash
