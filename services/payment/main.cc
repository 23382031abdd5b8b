// qcash-payment: the payment service process.
//
// Configuration (environment):
//   QCASH_PAYMENT_LISTEN              address to serve gRPC on              127.0.0.1:25052
//   QCASH_PAYMENT_DATABASE_URL        PostgreSQL of the payment service     (required)
//   QCASH_WALLET_TARGET               the wallet's host:port                127.0.0.1:25051
//   QCASH_PAYMENT_PROVIDER_URL_<P>    base URL of provider <P> (e.g. _PAYPAL); a provider
//                                     without one is not offered (PROVIDER_NOT_CONFIGURED)
//   QCASH_PAYMENT_SANDBOX_URL         development: every provider is the sandbox at this URL
//   QCASH_PAYMENT_DEV_SANDBOX=1       development: accept the sandbox (refused otherwise, and
//                                     always by a release build)
//   QCASH_PAYMENT_SECRET_<P> / _WEBHOOK_SECRETS_DIR / _SECRETS_FILE  provider secrets
//                                     (secrets.h), for every configured provider
//   QCASH_PAYMENT_RETURN_URL          where providers send the seller back
//                                     http://127.0.0.1:8080/charge/done
//   QCASH_PAYMENT_RETURN_ORIGINS      ad-booking origins a return link may lead to (issue 15),
//                                     comma-separated: https://ads.example.jp,
//                                     https://ads.example.jp:8443; a malformed entry stops
//                                     start-up; empty: every return_url is refused. http only
//                                     for 127.0.0.1 / localhost / [::1] in development builds
//                                     (return_link.h)                        (empty)
//   QCASH_PAYMENT_NOTIFY_SKEW_S       accepted notification clock skew      300
//   QCASH_PAYMENT_QSIGN_LOCK_S        first lock after 5 wrong Q-sign passwords  1800; each
//                                     further lockout within a day lasts twice as long
//   QCASH_PAYMENT_QSIGN_LOCK_MAX_S    longest lock                          86400
//   QCASH_PAYMENT_QSIGN_CHECKS_MAX    Q-sign sets and checks per seller per window  10
//   QCASH_PAYMENT_QSIGN_CHECKS_WINDOW_S  that window                        60
//   QCASH_PAYMENT_QSIGN_HASHES_MAX    argon2id computations at once (64 MiB each)
//                                     the number of cores
//   QCASH_PAYMENT_QSIGN_HASH_WAIT_MS  wait for a hashing slot before UNAVAILABLE  500
//   QCASH_PAYMENT_NOTIFICATION_RETENTION_DAYS  stored notifications are deleted after  90
//   QCASH_PAYMENT_RETENTION_INTERVAL_S  how often the reconciler deletes them  3600
//   QCASH_PAYMENT_REJECTED_LOG_PER_MINUTE  rejected notifications logged a minute  10
//   QCASH_PAYMENT_INSTANT_TTL_S       deadline of card orders               900
//   QCASH_PAYMENT_REDIRECT_TTL_S      deadline of redirect orders           1800
//   QCASH_PAYMENT_COUNTER_TTL_S       deadline of counter orders            259200 (3 days)
//   QCASH_PAYMENT_RECONCILE_INTERVAL_MS  reconciler period                  1000
//   QCASH_PAYMENT_POLL_INTERVAL_S     ask providers about waiting orders    300
//   QCASH_PAYMENT_RETRY_BACKOFF_MAX_MS   longest wait between retries       60000
//   QCASH_PAYMENT_WORKERS             threads for calls                     16
//   QCASH_PAYMENT_SETTLEMENT_INTERVAL_S  how often settlement reports are fetched from every
//                                     configured provider and imported, and the overdue
//                                     check runs (1..86400)                  3600
//   QCASH_PAYMENT_SETTLEMENT_LOOKBACK_DAYS  the days fetched: today (JST) and the days before
//                                     it not imported yet (1..62)            7
//   QCASH_PAYMENT_SETTLEMENT_DUE_S    a paid order must be settled this long after payment,
//                                     else NOT_SETTLED (1..30 days)          259200 (3 days)
//   QCASH_METRICS_LISTEN              host:port for /metrics (empty: off)
//   QCASH_HEALTH_LISTEN               plaintext host:port for probes, health only (empty: off)
//   QCASH_GRPC_REFLECTION             server reflection             on only with QCASH_INSECURE_DEV
//   QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE  checks the seller tokens the gateway forwards
//                                     (common/seller_scope.h); required with TLS
//   QCASH_UNREADY_DELAY_MS / QCASH_DRAIN_TIMEOUT_MS / QCASH_TLS_* / QCASH_INSECURE_DEV
//                                     see common/server.h
#include <algorithm>
#include <cstdio>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/server.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "services/payment/connectors/registry.h"
#include "services/payment/notifications.h"
#include "services/payment/operator_queries.h"
#include "services/payment/order_flow.h"
#include "services/payment/orders.h"
#include "services/payment/parts.h"
#include "services/payment/policy.h"
#include "services/payment/qsign_vault.h"
#include "services/payment/reconciler.h"
#include "services/payment/return_link.h"
#include "services/payment/secrets.h"
#include "services/payment/server.h"
#include "services/payment/settlement.h"
#include "services/payment/settlement_report.h"
#include "services/payment/settlement_scheduler.h"
#include "services/payment/wallet_adapter.h"

namespace {

using qcash::EnvInt;
using qcash::EnvString;

absl::StatusOr<qcash::payment::RegistryConfig> ProviderConfig(bool dev_sandbox) {
  qcash::payment::RegistryConfig config;
  config.allow_sandbox = dev_sandbox;
  const std::string sandbox = EnvString("QCASH_PAYMENT_SANDBOX_URL", "");
  if (!sandbox.empty() && !dev_sandbox) {
    // The sandbox plays every provider and pays without money: never in production.
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_PAYMENT_SANDBOX_URL is set but QCASH_PAYMENT_DEV_SANDBOX "
                                  "is not: the provider sandbox is a development tool");
  }
  std::vector<std::string> configured;
  for (const std::string& provider : qcash::payment::AllProviders()) {
    std::string url =
        EnvString(absl::StrCat("QCASH_PAYMENT_PROVIDER_URL_", absl::AsciiStrToUpper(provider)), "");
    if (url.empty() && !sandbox.empty()) url = absl::StrCat(sandbox, "/providers/", provider);
    if (url.empty()) {
      qcash::Log(qcash::LogLevel::kWarn, "provider_not_configured",
                 {{"provider", provider}, {"note", "its payment method is not offered"}});
      continue;
    }
    config.provider_urls[provider] = url;
    configured.push_back(provider);
  }
  auto secrets = qcash::payment::LoadProviderSecrets(configured);
  if (!secrets.ok()) return secrets.status();
  config.secrets = std::move(*secrets);
  return config;
}

absl::Status Run() {
  qcash::payment::PaymentOptions options;
  options.database_url = EnvString("QCASH_PAYMENT_DATABASE_URL", "");
  if (options.database_url.empty()) {
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_PAYMENT_DATABASE_URL is required");
  }
  options.return_url = EnvString("QCASH_PAYMENT_RETURN_URL", options.return_url);
  auto skew_s = EnvInt("QCASH_PAYMENT_NOTIFY_SKEW_S", 300, 10, 3600);
  auto lock_s = EnvInt("QCASH_PAYMENT_QSIGN_LOCK_S", 1800, 1, 86'400);
  auto lock_max_s = EnvInt("QCASH_PAYMENT_QSIGN_LOCK_MAX_S", 86'400, 1, 7 * 86'400);
  auto checks_max = EnvInt("QCASH_PAYMENT_QSIGN_CHECKS_MAX", 10, 1, 10'000);
  auto checks_window_s = EnvInt("QCASH_PAYMENT_QSIGN_CHECKS_WINDOW_S", 60, 1, 86'400);
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto hashes_max = EnvInt("QCASH_PAYMENT_QSIGN_HASHES_MAX", cores, 1, 256);
  auto hash_wait_ms = EnvInt("QCASH_PAYMENT_QSIGN_HASH_WAIT_MS", 500, 0, 10'000);
  auto retention_days = EnvInt("QCASH_PAYMENT_NOTIFICATION_RETENTION_DAYS", 90, 1, 3650);
  auto retention_interval_s = EnvInt("QCASH_PAYMENT_RETENTION_INTERVAL_S", 3600, 1, 86'400);
  auto rejected_log = EnvInt("QCASH_PAYMENT_REJECTED_LOG_PER_MINUTE", 10, 0, 10'000);
  auto instant_s = EnvInt("QCASH_PAYMENT_INSTANT_TTL_S", 900, 1, 30 * 86'400);
  auto redirect_s = EnvInt("QCASH_PAYMENT_REDIRECT_TTL_S", 1800, 1, 30 * 86'400);
  auto counter_s = EnvInt("QCASH_PAYMENT_COUNTER_TTL_S", 259'200, 1, 30 * 86'400);
  auto reconcile_ms = EnvInt("QCASH_PAYMENT_RECONCILE_INTERVAL_MS", 1000, 10, 600'000);
  auto poll_s = EnvInt("QCASH_PAYMENT_POLL_INTERVAL_S", 300, 1, 86'400);
  auto backoff_ms = EnvInt("QCASH_PAYMENT_RETRY_BACKOFF_MAX_MS", 60'000, 100, 3'600'000);
  auto workers = EnvInt("QCASH_PAYMENT_WORKERS", 16, 1, 256);
  auto settlement_interval_s = EnvInt("QCASH_PAYMENT_SETTLEMENT_INTERVAL_S", 3600, 1, 86'400);
  auto settlement_lookback = EnvInt("QCASH_PAYMENT_SETTLEMENT_LOOKBACK_DAYS", 7, 1, 62);
  auto settlement_due_s = EnvInt("QCASH_PAYMENT_SETTLEMENT_DUE_S", 259'200, 1, 30 * 86'400);
  auto dev_sandbox = qcash::EnvBool("QCASH_PAYMENT_DEV_SANDBOX", false);
  for (const auto* v :
       {&skew_s, &lock_s, &lock_max_s, &checks_max, &checks_window_s, &hashes_max, &hash_wait_ms,
        &retention_days, &retention_interval_s, &rejected_log, &instant_s, &redirect_s, &counter_s,
        &reconcile_ms, &poll_s, &backoff_ms, &workers}) {
    if (!v->ok()) return v->status();
  }
  // Issue 16: the settlement scheduler's settings, refused at start-up when out of range.
  for (const auto* v : {&settlement_interval_s, &settlement_lookback, &settlement_due_s}) {
    if (!v->ok()) return v->status();
  }
  if (!dev_sandbox.ok()) return dev_sandbox.status();
  // Fail closed (DESIGN.md section 7): the sandbox pays without money; a release build never
  // accepts it.
  if (*dev_sandbox && !qcash::kDevelopmentBuild) {
    return qcash::DevelopmentOnly("QCASH_PAYMENT_DEV_SANDBOX=1");
  }
  options.qsign_lock.first_lock = absl::Seconds(*lock_s);
  options.qsign_lock.lock_max = std::max(absl::Seconds(*lock_max_s), absl::Seconds(*lock_s));
  options.qsign_throttle.checks_max = static_cast<int>(*checks_max);
  options.qsign_throttle.window = absl::Seconds(*checks_window_s);
  options.password_hashes_max = static_cast<int>(*hashes_max);
  options.password_hash_wait = absl::Milliseconds(*hash_wait_ms);
  options.notification_retention = absl::Hours(24 * *retention_days);
  options.retention_interval = absl::Seconds(*retention_interval_s);
  options.rejected_log_per_minute = static_cast<int>(*rejected_log);
  options.instant_ttl = absl::Seconds(*instant_s);
  options.redirect_ttl = absl::Seconds(*redirect_s);
  options.counter_ttl = absl::Seconds(*counter_s);
  options.reconcile_interval = absl::Milliseconds(*reconcile_ms);
  options.poll_interval = absl::Seconds(*poll_s);
  options.retry_backoff_max = absl::Milliseconds(*backoff_ms);
  options.settlement_interval = absl::Seconds(*settlement_interval_s);
  options.settlement_lookback_days = static_cast<int>(*settlement_lookback);
  options.settlement_due = absl::Seconds(*settlement_due_s);
  // + reconciler, + settlement scheduler, + spare
  options.database_pool_size = static_cast<int>(*workers + 3);

  // Never an open redirect: only these origins; checked strictly now, not at the first link.
  auto return_origins = qcash::payment::ReturnOrigins::Parse(
      EnvString("QCASH_PAYMENT_RETURN_ORIGINS", ""), /*loopback_http=*/qcash::kDevelopmentBuild);
  if (!return_origins.ok()) return return_origins.status();

  auto providers = ProviderConfig(*dev_sandbox);
  if (!providers.ok()) return providers.status();
  providers->skew = absl::Seconds(*skew_s);
  auto connectors = qcash::payment::ConnectorRegistry::Create(*providers);
  if (!connectors.ok()) return connectors.status();

  auto serve = qcash::ServeOptionsFromEnv("qcash.payment.v1.PaymentService", "QCASH_PAYMENT_LISTEN",
                                          "127.0.0.1:25052");
  if (!serve.ok()) return serve.status();
  // A settlement report may be 4 MiB (ImportSettlementReport): its own check answers
  // SETTLEMENT_REPORT_TOO_LARGE beyond that, so the transport admits a little more.
  serve->max_receive_message_bytes =
      static_cast<int>(qcash::payment::kSettlementReportBytesMax) + 64 * 1024;
  const qcash::TransportConfig& transport = serve->transport;
  qcash::wallet::WalletClient::Options wallet_options;
  wallet_options.target = EnvString("QCASH_WALLET_TARGET", "127.0.0.1:25051");
  wallet_options.transport = transport;
  wallet_options.caller = "payment";
  auto wallet_client = qcash::wallet::WalletClient::Create(wallet_options);
  if (!wallet_client.ok()) return wallet_client.status();
  qcash::payment::WalletAdapter wallet(std::move(*wallet_client));

  qcash::Log(qcash::LogLevel::kInfo, "starting",
             {{"database", qcash::RedactUrl(options.database_url)},
              {"wallet", wallet_options.target},
              {"dev_sandbox", *dev_sandbox},
              {"return_origins", static_cast<int64_t>(return_origins->origins().size())},
              {"insecure_dev", transport.insecure_dev}});
  if (*dev_sandbox) {
    qcash::Log(qcash::LogLevel::kWarn, "dev_sandbox_enabled",
               {{"note", "answers of the provider sandbox are accepted: development only"}});
  }
  auto metrics = qcash::metrics::MetricsServer::StartFromEnv();
  if (!metrics.ok()) return metrics.status();
  // The parts of the service, over one store, one clock, the wallet and the providers.
  namespace payment = qcash::payment;
  auto db_pool = payment::OrderStore::OpenPool(options.database_url, options.database_pool_size);
  if (!db_pool.ok()) return db_pool.status();
  payment::OrderStore store(db_pool->get());
  const qcash::Clock* clock = qcash::SystemClock::Get();
  const payment::ConnectorRegistry* registry = connectors->get();
  payment::Wakeup wakeup;
  payment::OrderFlow flow(&store, &wallet, registry, clock, &wakeup, options);
  payment::QsignVault qsign(&store, clock, options);
  payment::Orders orders(&store, &flow, &qsign, &wallet, registry, clock,
                         std::move(*return_origins));
  payment::NotificationIntake notifications(&store, &flow, registry, clock, &wakeup, options);
  payment::OperatorQueries operator_queries(&store, &flow, clock);
  payment::Reconciler reconciler(&store, &flow, &notifications, registry, clock, &wakeup, options);
  reconciler.Start();
  payment::SettlementOptions settlement_options;
  settlement_options.due = options.settlement_due;
  payment::Settlement settlement(db_pool->get(), clock, settlement_options);
  payment::SettlementSchedule schedule;
  schedule.interval = options.settlement_interval;
  schedule.lookback_days = options.settlement_lookback_days;
  schedule.provider_urls = providers->provider_urls;
  schedule.secrets = providers->secrets;
  schedule.allow_sandbox = providers->allow_sandbox;
  payment::SettlementScheduler settlement_scheduler(&settlement, schedule);
  settlement_scheduler.Start();
  const payment::PaymentParts parts{&orders, &qsign, &notifications, &operator_queries,
                                    &settlement};

  qcash::ThreadPool pool(static_cast<int>(*workers), 10'000);
  qcash::payment::PaymentServer server(&parts, &pool);
  serve->services = {&server};
  serve->access_tables = {&qcash::payment::AccessPolicy()};
  absl::Status served = qcash::Serve(*serve);
  settlement_scheduler.Stop();
  reconciler.Stop();
  return served;
}

}  // namespace

int main() { return qcash::ServiceMain("payment", Run); }
