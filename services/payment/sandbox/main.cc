// qcash-payment-sandbox: the provider sandbox, a DEVELOPMENT TOOL (see sandbox.h). It listens
// on loopback only and is started by the local run and the integration tests, never deployed.
//
// Configuration (environment):
//   QCASH_SANDBOX_LISTEN        127.0.0.1:<port> (loopback only)        127.0.0.1:18080
//   QCASH_SANDBOX_PUBLIC_URL    how browsers reach it                   http://<listen>
//   QCASH_SANDBOX_WEBHOOK_BASE  notifications go to <base>/webhooks/<provider>  (required)
//   QCASH_PAYMENT_SECRET_<P> / QCASH_PAYMENT_SECRETS_FILE   the providers' secrets
#include <httplib.h>
#include <sodium.h>

#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/log.h"
#include "common/server.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/sandbox/sandbox.h"

namespace {

absl::Status Run() {
  if (sodium_init() < 0)
    return qcash::Internal(qcash::payment::v1::SODIUM, "libsodium failed to initialize");
  const std::string listen = qcash::EnvString("QCASH_SANDBOX_LISTEN", "127.0.0.1:18080");
  const size_t colon = listen.rfind(':');
  int port = 0;
  const std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port <= 0 || port > 65535) {
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_SANDBOX_LISTEN must be host:port");
  }
  if (host != "127.0.0.1" && host != "localhost" && host != "[::1]") {
    // A development tool that "pays" anything must never be reachable from outside.
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "the sandbox listens on loopback only");
  }
  qcash::payment::sandbox::Sandbox::Options options;
  options.public_url =
      qcash::EnvString("QCASH_SANDBOX_PUBLIC_URL", absl::StrCat("http://", listen));
  options.webhook_base = qcash::EnvString("QCASH_SANDBOX_WEBHOOK_BASE", "");
  if (options.webhook_base.empty()) {
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_SANDBOX_WEBHOOK_BASE is required");
  }
  auto secrets = qcash::payment::LoadProviderSecrets(qcash::payment::AllProviders());
  if (!secrets.ok()) return secrets.status();
  options.secrets = std::move(*secrets);

  qcash::payment::sandbox::Sandbox sandbox(options);
  httplib::Server server;
  sandbox.Register(server);
  if (!server.bind_to_port(host == "[::1]" ? "::1" : host, port)) {
    return qcash::Unavailable(qcash::common::v1::LISTEN_FAILED,
                              absl::StrCat("cannot listen on ", listen));
  }
  qcash::Log(qcash::LogLevel::kWarn, "sandbox_serving",
             {{"address", listen},
              {"webhook_base", options.webhook_base},
              {"note", "DEVELOPMENT TOOL: plays payment providers; no money moves"}});
  std::thread serving([&server] { server.listen_after_bind(); });
  const std::string signal = qcash::WaitForTerminationSignal();
  qcash::Log(qcash::LogLevel::kInfo, "stopping", {{"signal", signal}});
  server.stop();
  serving.join();
  return absl::OkStatus();
}

}  // namespace

int main() {
  qcash::BlockTerminationSignals();
  qcash::InitLog("payment-sandbox");
  absl::Status status = Run();
  if (!status.ok()) {
    qcash::Log(qcash::LogLevel::kError, "exit", {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}
