// qcash-gateway: the HTTP entry of Qcash (gateway/server.h).
//
// Configuration (environment):
//   QCASH_GATEWAY_LISTEN                    host:port for HTTP                 127.0.0.1:8080
//   QCASH_WALLET_TARGET / _PAYMENT_ / _POINTS_TARGET   the services (host:port)
//   QCASH_GATEWAY_REDIS_HOST / _PORT / _USER / _PASSWORD_FILE  the gateway's own Redis for its
//                                           rate-limit counters (common/redis.h)
//   QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE     PEM public key that verifies seller tokens (required)
//   QCASH_GATEWAY_TOKEN_ISSUER / _AUDIENCE  expected iss / aud      qoo10-login / qcash-gateway
//   QCASH_GATEWAY_CSRF_SECRET_FILE          secret for CSRF tokens, shared by replicas (required)
//   QCASH_GATEWAY_SECURE_COOKIES            Secure cookies and HSTS            true
//   QCASH_GATEWAY_RATE_LIMIT / _RATE_WINDOW_S  requests per seller per window  120 / 60
//   QCASH_GATEWAY_WEBHOOK_RATE_LIMIT        notifications per provider a minute 600
//   QCASH_GATEWAY_THREADS                   HTTP workers                       32
//   QCASH_GATEWAY_UPSTREAM_TIMEOUT_MS       deadline of each service call      5000
//   QCASH_GATEWAY_UPSTREAM_CONCURRENCY_MAX  calls in flight per service        16
//   QCASH_GATEWAY_DEV_LOGIN=1 with QCASH_GATEWAY_DEV_TOKEN_PRIVATE_KEY_FILE
//                                           the development login (never in production)
//   QCASH_METRICS_LISTEN                    host:port for /metrics (empty: off)
//   QCASH_UNREADY_DELAY_MS / QCASH_DRAIN_TIMEOUT_MS  shutdown, as for every service
//   QCASH_TLS_* / QCASH_INSECURE_DEV        transport to the services (common/server.h)
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/config.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/redis.h"
#include "common/server.h"
#include "common/status.h"
#include "gateway/server.h"

namespace {

using qcash::EnvInt;
using qcash::EnvString;

absl::StatusOr<std::string> ReadSecretFile(const std::string& variable) {
  const std::string path = EnvString(variable, "");
  if (path.empty()) return qcash::InvalidArgument("INVALID_CONFIG", variable + " is required");
  std::ifstream in(path);
  if (!in) return qcash::InvalidArgument("INVALID_CONFIG", "cannot read " + variable);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (buffer.str().empty()) return qcash::InvalidArgument("INVALID_CONFIG", variable + " is empty");
  return buffer.str();
}

absl::Status Run() {
  const std::string listen = EnvString("QCASH_GATEWAY_LISTEN", "127.0.0.1:8080");
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return qcash::InvalidArgument("INVALID_CONFIG", "QCASH_GATEWAY_LISTEN must be host:port");
  }
  const std::string host = listen.substr(0, colon);
  auto public_key = ReadSecretFile("QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE");
  if (!public_key.ok()) return public_key.status();
  auto csrf_secret = ReadSecretFile("QCASH_GATEWAY_CSRF_SECRET_FILE");
  if (!csrf_secret.ok()) return csrf_secret.status();
  auto secure = qcash::EnvBool("QCASH_GATEWAY_SECURE_COOKIES", true);
  auto dev_login = qcash::EnvBool("QCASH_GATEWAY_DEV_LOGIN", false);
  auto rate_limit = EnvInt("QCASH_GATEWAY_RATE_LIMIT", 120, 1, 1'000'000);
  auto rate_window = EnvInt("QCASH_GATEWAY_RATE_WINDOW_S", 60, 1, 3600);
  auto threads = EnvInt("QCASH_GATEWAY_THREADS", 32, 2, 1024);
  auto timeout = EnvInt("QCASH_GATEWAY_UPSTREAM_TIMEOUT_MS", 5000, 10, 120'000);
  auto concurrency = EnvInt("QCASH_GATEWAY_UPSTREAM_CONCURRENCY_MAX", 16, 1, 10'000);
  auto unready_ms = EnvInt("QCASH_UNREADY_DELAY_MS", 0, 0, 120'000);
  auto drain_ms = EnvInt("QCASH_DRAIN_TIMEOUT_MS", 10'000, 0, 600'000);
  for (const auto* v : {&rate_limit, &rate_window, &threads, &timeout, &concurrency,
                        &unready_ms, &drain_ms}) {
    if (!v->ok()) return v->status();
  }
  if (!secure.ok()) return secure.status();
  if (!dev_login.ok()) return dev_login.status();

  qcash::gateway::Gateway::Options options;
  options.threads = static_cast<int>(*threads);
  options.secure_cookies = *secure;
  options.dev_login = *dev_login;
  options.token_issuer = EnvString("QCASH_GATEWAY_TOKEN_ISSUER", "qoo10-login");
  options.token_audience = EnvString("QCASH_GATEWAY_TOKEN_AUDIENCE", "qcash-gateway");
  if (options.dev_login) {
    auto private_key = ReadSecretFile("QCASH_GATEWAY_DEV_TOKEN_PRIVATE_KEY_FILE");
    if (!private_key.ok()) return private_key.status();
    options.dev_token_private_key_pem = *private_key;
    qcash::Log(qcash::LogLevel::kWarn, "dev_login_enabled",
               {{"note", "development configuration: /dev/login issues seller tokens"}});
  }
  auto transport = qcash::TransportConfigFromEnv();
  if (!transport.ok()) return transport.status();

  qcash::gateway::Upstreams::Options upstream;
  upstream.targets = {
      {qcash::gateway::Upstream::kWallet, EnvString("QCASH_WALLET_TARGET", "127.0.0.1:50051")},
      {qcash::gateway::Upstream::kPayment, EnvString("QCASH_PAYMENT_TARGET", "")},
      {qcash::gateway::Upstream::kPoints, EnvString("QCASH_POINTS_TARGET", "")}};
  upstream.transport = *transport;
  upstream.timeout = std::chrono::milliseconds(*timeout);
  upstream.concurrency_max = static_cast<int>(*concurrency);
  auto upstreams = qcash::gateway::Upstreams::Create(upstream);
  if (!upstreams.ok()) return upstreams.status();

  // The rate limits live in a Redis of their own, never the wallet's (DESIGN.md section 7).
  auto redis_options = qcash::RedisOptionsFromEnv("QCASH_GATEWAY_REDIS");
  if (!redis_options.ok()) return redis_options.status();
  redis_options->pool_size_max = static_cast<int>(*threads);
  qcash::RedisClient redis(*redis_options);
  qcash::gateway::RateLimiter limiter(&redis, *rate_limit, absl::Seconds(*rate_window));
  auto webhook_limit = EnvInt("QCASH_GATEWAY_WEBHOOK_RATE_LIMIT", 600, 1, 1'000'000);
  if (!webhook_limit.ok()) return webhook_limit.status();
  qcash::gateway::RateLimiter webhook_limiter(&redis, *webhook_limit, absl::Seconds(60));
  qcash::gateway::Authenticator auth(
      {*public_key, options.token_issuer, options.token_audience, absl::Seconds(30)},
      *csrf_secret);

  auto metrics = qcash::metrics::MetricsServer::StartFromEnv();
  if (!metrics.ok()) return metrics.status();
  qcash::gateway::Gateway gateway(options, &auth, upstreams->get(), &limiter, &webhook_limiter);
  const int bound = gateway.Bind(host, port);
  if (bound < 0) return qcash::Unavailable("LISTEN_FAILED", "cannot listen on " + listen);
  absl::Notification served;
  std::thread serving([&gateway, &served] {
    gateway.Serve();
    served.Notify();
  });
  qcash::Log(qcash::LogLevel::kInfo, "serving", {{"address", host}, {"port", bound}});
  const std::string signal = qcash::WaitForTerminationSignal();
  qcash::Log(qcash::LogLevel::kInfo, "stopping", {{"signal", signal}});
  gateway.SetReady(false);
  std::this_thread::sleep_for(std::chrono::milliseconds(*unready_ms));
  // stop() closes the listener and lets the requests in flight finish (each bounded by the
  // upstream deadline); the drain timeout bounds them all, so the pod ends within its grace.
  gateway.Stop();
  if (!served.WaitForNotificationWithTimeout(absl::Milliseconds(*drain_ms))) {
    qcash::Log(qcash::LogLevel::kWarn, "drain_timeout",
               {{"note", "requests still in flight are cut off"}, {"drain_timeout_ms", *drain_ms}});
    std::_Exit(0);
  }
  serving.join();
  qcash::Log(qcash::LogLevel::kInfo, "stopped", {});
  return absl::OkStatus();
}

}  // namespace

int main() { return qcash::ServiceMain("gateway", Run); }
