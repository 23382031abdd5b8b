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
//   QCASH_GATEWAY_SECURE_COOKIES            __Host- Secure cookies and HSTS    true
//   QCASH_GATEWAY_RATE_LIMIT / _RATE_WINDOW_S  requests per seller per window  120 / 60
//   QCASH_GATEWAY_WEBHOOK_RATE_LIMIT        notifications per provider a minute 600
//   QCASH_GATEWAY_WEBHOOK_ADDRESS_RATE_LIMIT  notifications per client address a minute  300
//   QCASH_GATEWAY_THREADS                   workers running API and page requests  32
//   QCASH_GATEWAY_QUEUE_MAX                 requests waiting for a worker (then 503)  256
//   QCASH_GATEWAY_IO_THREADS                threads doing the network I/O      2
//   QCASH_GATEWAY_HEADERS_MAX_BYTES         request line and headers (then 431)  16384
//   QCASH_GATEWAY_BODY_MAX_BYTES            request body, chunked decoded (then 413)  65536
//   QCASH_GATEWAY_REQUEST_TIMEOUT_MS        reading a whole request; writing its answer  10000
//   QCASH_GATEWAY_IDLE_TIMEOUT_MS           keep-alive wait for the next request  30000
//   QCASH_GATEWAY_CONNECTIONS_MAX           open connections in all            1000
//   QCASH_GATEWAY_CONNECTIONS_PER_ADDRESS_MAX  open connections from one client address  64
//   QCASH_GATEWAY_UPSTREAM_TIMEOUT_MS       deadline of each service call      5000
//   QCASH_GATEWAY_UPSTREAM_CONCURRENCY_MAX  calls in flight per service        16
//   QCASH_GATEWAY_UPSTREAM_QUEUE_MAX        calls waiting for one of those     256
//   QCASH_GATEWAY_UPSTREAM_QUEUE_WAIT_MS    the longest such wait (then 503)   2000
//   QCASH_GATEWAY_DEV_LOGIN=1 with QCASH_GATEWAY_DEV_TOKEN_PRIVATE_KEY_FILE
//                                           the development login: development builds only
//                                           (QCASH_DEVELOPMENT_BUILD); a release build refuses
//                                           to start with it
//   QCASH_GATEWAY_ISSUER_NAME / _ISSUER_ADDRESS  who issues Qcash, on receipts and invoices
//                                           (required)
//   QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER  適格請求書発行事業者登録番号, "T" + 13 digits
//                                           with a valid check digit (required)
//   QCASH_METRICS_LISTEN                    host:port for /metrics (empty: off)
//   QCASH_UNREADY_DELAY_MS / QCASH_DRAIN_TIMEOUT_MS  shutdown, as for every service
//   QCASH_TLS_* / QCASH_INSECURE_DEV        transport to the services (common/server.h)
#include <cstdlib>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/mutex.h"
#include "common/redis.h"
#include "common/server.h"
#include "common/status.h"
#include "gateway/server.h"

namespace {

using qcash::EnvInt;
using qcash::EnvString;

absl::StatusOr<std::string> ReadSecretFile(const std::string& variable) {
  const std::string path = EnvString(variable, "");
  if (path.empty())
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG, variable + " is required");
  auto text = qcash::ReadConfigFile(path);
  if (!text.ok())
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG, "cannot read " + variable);
  if (text->empty())
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG, variable + " is empty");
  return text;
}

absl::Status Run() {
  const std::string listen = EnvString("QCASH_GATEWAY_LISTEN", "127.0.0.1:8080");
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_GATEWAY_LISTEN must be host:port");
  }
  const std::string host = listen.substr(0, colon);
  // One key file, or a directory of <kid>.pem files while keys rotate; neither stops start-up.
  auto token_keys = qcash::LoadSellerTokenKeys(EnvString("QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE", ""),
                                               EnvString("QCASH_GATEWAY_TOKEN_PUBLIC_KEY_DIR", ""));
  if (!token_keys.ok()) return token_keys.status();
  auto csrf_secret = ReadSecretFile("QCASH_GATEWAY_CSRF_SECRET_FILE");
  if (!csrf_secret.ok()) return csrf_secret.status();
  auto secure = qcash::EnvBool("QCASH_GATEWAY_SECURE_COOKIES", true);
  auto dev_login = qcash::EnvBool("QCASH_GATEWAY_DEV_LOGIN", false);
  auto rate_limit = EnvInt("QCASH_GATEWAY_RATE_LIMIT", 120, 1, 1'000'000);
  auto rate_window = EnvInt("QCASH_GATEWAY_RATE_WINDOW_S", 60, 1, 3600);
  auto threads = EnvInt("QCASH_GATEWAY_THREADS", 32, 2, 1024);
  auto queue_max = EnvInt("QCASH_GATEWAY_QUEUE_MAX", 256, 1, 100'000);
  auto io_threads = EnvInt("QCASH_GATEWAY_IO_THREADS", 2, 1, 64);
  auto headers_max = EnvInt("QCASH_GATEWAY_HEADERS_MAX_BYTES", 16 * 1024, 1024, 1024 * 1024);
  auto body_max = EnvInt("QCASH_GATEWAY_BODY_MAX_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024);
  auto request_timeout = EnvInt("QCASH_GATEWAY_REQUEST_TIMEOUT_MS", 10'000, 100, 600'000);
  auto idle_timeout = EnvInt("QCASH_GATEWAY_IDLE_TIMEOUT_MS", 30'000, 100, 3'600'000);
  auto connections_max = EnvInt("QCASH_GATEWAY_CONNECTIONS_MAX", 1000, 1, 1'000'000);
  auto per_address_max = EnvInt("QCASH_GATEWAY_CONNECTIONS_PER_ADDRESS_MAX", 64, 1, 1'000'000);
  auto timeout = EnvInt("QCASH_GATEWAY_UPSTREAM_TIMEOUT_MS", 5000, 10, 120'000);
  auto concurrency = EnvInt("QCASH_GATEWAY_UPSTREAM_CONCURRENCY_MAX", 16, 1, 10'000);
  auto upstream_queue = EnvInt("QCASH_GATEWAY_UPSTREAM_QUEUE_MAX", 256, 0, 100'000);
  auto upstream_wait = EnvInt("QCASH_GATEWAY_UPSTREAM_QUEUE_WAIT_MS", 2000, 0, 60'000);
  if (!upstream_queue.ok()) return upstream_queue.status();
  if (!upstream_wait.ok()) return upstream_wait.status();
  auto unready_ms = EnvInt("QCASH_UNREADY_DELAY_MS", 0, 0, 120'000);
  auto drain_ms = EnvInt("QCASH_DRAIN_TIMEOUT_MS", 10'000, 0, 600'000);
  for (const auto* v : {&rate_limit, &rate_window, &threads, &queue_max, &io_threads, &headers_max,
                        &body_max, &request_timeout, &idle_timeout, &connections_max,
                        &per_address_max, &timeout, &concurrency, &unready_ms, &drain_ms}) {
    if (!v->ok()) return v->status();
  }
  if (!secure.ok()) return secure.status();
  if (!dev_login.ok()) return dev_login.status();

  qcash::gateway::Gateway::Options options;
  options.http.workers = static_cast<int>(*threads);
  options.http.queue_max = static_cast<int>(*queue_max);
  options.http.io_threads = static_cast<int>(*io_threads);
  options.http.header_bytes_max = static_cast<size_t>(*headers_max);
  options.http.body_bytes_max = static_cast<size_t>(*body_max);
  options.http.request_timeout = std::chrono::milliseconds(*request_timeout);
  options.http.idle_timeout = std::chrono::milliseconds(*idle_timeout);
  options.http.connections_max = static_cast<int>(*connections_max);
  options.http.connections_per_address_max = static_cast<int>(*per_address_max);
  options.secure_cookies = *secure;
  options.token_issuer = EnvString("QCASH_GATEWAY_TOKEN_ISSUER", "qoo10-login");
  options.token_audience = EnvString("QCASH_GATEWAY_TOKEN_AUDIENCE", "qcash-gateway");
  // Paperwork names the issuer; a receipt or an invoice without it is worthless, so a
  // gateway without it does not start (fail closed, like the secrets).
  options.issuer.name = EnvString("QCASH_GATEWAY_ISSUER_NAME", "");
  options.issuer.address = EnvString("QCASH_GATEWAY_ISSUER_ADDRESS", "");
  options.issuer.registration_number = EnvString("QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER", "");
  if (options.issuer.name.empty() || options.issuer.address.empty()) {
    return qcash::InvalidArgument(
        qcash::common::v1::INVALID_CONFIG,
        "QCASH_GATEWAY_ISSUER_NAME and QCASH_GATEWAY_ISSUER_ADDRESS are required");
  }
  if (!qcash::gateway::IsValidRegistrationNumber(options.issuer.registration_number)) {
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER must be T and a "
                                  "13-digit corporate number with a valid check digit");
  }
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  options.dev_login = *dev_login;
  if (options.dev_login) {
    auto private_key = ReadSecretFile("QCASH_GATEWAY_DEV_TOKEN_PRIVATE_KEY_FILE");
    if (!private_key.ok()) return private_key.status();
    options.dev_token_private_key_pem = *private_key;
    qcash::Log(qcash::LogLevel::kWarn, "dev_login_enabled",
               {{"note", "development configuration: /dev/login issues seller tokens"}});
  }
#else
  // Fail closed: a release binary has no development login, and a configuration asking for
  // one is a mistake to stop at, not to ignore.
  if (*dev_login) {
    return qcash::InvalidArgument(
        qcash::common::v1::INVALID_CONFIG,
        "QCASH_GATEWAY_DEV_LOGIN is set, but this is a release build without the development "
        "login; unset it (or build with the development option for local use)");
  }
#endif
  auto transport = qcash::TransportConfigFromEnv();
  if (!transport.ok()) return transport.status();

  qcash::gateway::Upstreams::Options upstream;
  upstream.targets = {
      {qcash::gateway::Upstream::kWallet, EnvString("QCASH_WALLET_TARGET", "127.0.0.1:25051")},
      {qcash::gateway::Upstream::kPayment, EnvString("QCASH_PAYMENT_TARGET", "")},
      {qcash::gateway::Upstream::kPoints, EnvString("QCASH_POINTS_TARGET", "")}};
  upstream.transport = *transport;
  upstream.timeout = std::chrono::milliseconds(*timeout);
  upstream.concurrency_max = static_cast<int>(*concurrency);
  upstream.queue_max = static_cast<int>(*upstream_queue);
  upstream.queue_wait = std::chrono::milliseconds(*upstream_wait);
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
  auto webhook_address_limit =
      EnvInt("QCASH_GATEWAY_WEBHOOK_ADDRESS_RATE_LIMIT", 300, 1, 1'000'000);
  if (!webhook_address_limit.ok()) return webhook_address_limit.status();
  qcash::gateway::RateLimiter webhook_address_limiter(&redis, *webhook_address_limit,
                                                      absl::Seconds(60));
  qcash::SellerTokenConfig token_config;
  token_config.issuer = options.token_issuer;
  token_config.audience = options.token_audience;
  token_config.leeway = absl::Seconds(30);
  token_config.keys = *std::move(token_keys);
  auto auth = qcash::gateway::Authenticator::Create(std::move(token_config), *csrf_secret);
  if (!auth.ok()) return auth.status();  // a CSRF secret under 32 bytes: fail closed

  auto metrics = qcash::metrics::MetricsServer::StartFromEnv();
  if (!metrics.ok()) return metrics.status();
  qcash::gateway::Gateway gateway(options, auth->get(), upstreams->get(), &limiter,
                                  &webhook_limiter, &webhook_address_limiter);
  const int bound = gateway.Bind(host, port);
  if (bound < 0)
    return qcash::Unavailable(qcash::common::v1::LISTEN_FAILED, "cannot listen on " + listen);
  qcash::Notification served;
  std::thread serving([&gateway, &served] {
    gateway.Serve();
    served.Notify();
  });
  qcash::Log(qcash::LogLevel::kInfo, "serving", {{"address", host}, {"port", bound}});
  const std::string signal = qcash::WaitForTerminationSignal();
  qcash::Log(qcash::LogLevel::kInfo, "stopping", {{"signal", signal}});
  gateway.SetReady(false);
  std::this_thread::sleep_for(std::chrono::milliseconds(*unready_ms));
  // Stop() closes the listener and idle connections and lets the requests in flight finish
  // (each bounded by the request and upstream deadlines); the drain timeout bounds them all, so
  // the pod ends within its grace.
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
