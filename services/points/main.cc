// qcash-points: the points service process.
//
// Configuration (environment):
//   QCASH_POINTS_LISTEN                  address to serve gRPC on          127.0.0.1:25053
//   QCASH_POINTS_DATABASE_URL            PostgreSQL of the points service  (required)
//   QCASH_WALLET_TARGET                  the wallet's host:port            127.0.0.1:25051
//   QCASH_POINTS_THREADS                 worker threads for calls          16
//   QCASH_POINTS_CONVERSION_LEASE_MS     one process's turn on a conversion 30000
//   QCASH_POINTS_COMPLETER_INTERVAL_MS   background completion period      5000
//   QCASH_METRICS_LISTEN                 host:port for /metrics (empty: off)
//   QCASH_HEALTH_LISTEN                  plaintext host:port for probes, health only (empty: off)
//   QCASH_GRPC_REFLECTION                server reflection    on only with QCASH_INSECURE_DEV
//   QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE   checks the seller tokens the gateway forwards
//                                        (common/seller_scope.h); required with TLS
//   QCASH_UNREADY_DELAY_MS               not-ready time before draining    0
//   QCASH_DRAIN_TIMEOUT_MS               in-flight calls' time to finish   10000
//   QCASH_TLS_* / QCASH_INSECURE_DEV     see common/server.h
// Development and tests only; both refused unless QCASH_INSECURE_DEV=1, and a release build
// (without -DQCASH_DEVELOPMENT=ON) contains neither and refuses to start when either is set:
//   QCASH_POINTS_TEST_CLOCK=1            a settable clock and the qcash.points.v1.PointsTestClock
//                                        service to set it (absent otherwise)
//   QCASH_POINTS_FAILPOINT=exit_after_wallet_credit
//                                        _exit right after the wallet confirmed a conversion
//                                        credit, before recording it (crash-recovery test)
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/server.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "services/points/clock.h"
#include "services/points/points.h"
#include "services/points/policy.h"
#include "services/points/server.h"
#include "services/points/wallet_credit.h"

namespace {

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
constexpr absl::string_view kFailpointExitAfterCredit = "exit_after_wallet_credit";
#endif

absl::Status Run() {
  using qcash::EnvInt;
  using qcash::EnvString;
  qcash::points::Points::Options options;
  options.database_url = EnvString("QCASH_POINTS_DATABASE_URL", "");
  if (options.database_url.empty()) {
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_POINTS_DATABASE_URL is required");
  }
  const std::string wallet_target = EnvString("QCASH_WALLET_TARGET", "127.0.0.1:25051");
  auto threads = EnvInt("QCASH_POINTS_THREADS", 16, 1, 256);
  auto lease_ms = EnvInt("QCASH_POINTS_CONVERSION_LEASE_MS", 30'000, 100, 3'600'000);
  auto completer_ms = EnvInt("QCASH_POINTS_COMPLETER_INTERVAL_MS", 5'000, 10, 3'600'000);
  for (const auto* v : {&threads, &lease_ms, &completer_ms}) {
    if (!v->ok()) return v->status();
  }
  auto test_clock = qcash::EnvBool("QCASH_POINTS_TEST_CLOCK", false);
  if (!test_clock.ok()) return test_clock.status();
  const std::string failpoint = EnvString("QCASH_POINTS_FAILPOINT", "");
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  if (!failpoint.empty() && failpoint != kFailpointExitAfterCredit) {
    return qcash::InvalidArgument(
        qcash::common::v1::INVALID_CONFIG,
        absl::StrCat("QCASH_POINTS_FAILPOINT=", failpoint,
                     " is unknown (the only one: ", kFailpointExitAfterCredit, ")"));
  }
#else
  // Fail closed (DESIGN.md section 7): a release build has neither switch's code.
  if (*test_clock) return qcash::DevelopmentOnly("QCASH_POINTS_TEST_CLOCK=1");
  if (!failpoint.empty()) return qcash::DevelopmentOnly("QCASH_POINTS_FAILPOINT");
#endif

  auto serve = qcash::ServeOptionsFromEnv("qcash.points.v1.PointsService", "QCASH_POINTS_LISTEN",
                                          "127.0.0.1:25053");
  if (!serve.ok()) return serve.status();
  const qcash::TransportConfig& transport = serve->transport;
  // The test switches change what time it is and crash the process on purpose: never with
  // real credentials.
  if ((*test_clock || !failpoint.empty()) && !transport.insecure_dev) {
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_POINTS_TEST_CLOCK and QCASH_POINTS_FAILPOINT are for "
                                  "development and tests only (QCASH_INSECURE_DEV=1)");
  }

  options.pool_size = static_cast<int>(*threads + 2);  // + the background step
  options.conversion_lease = std::chrono::milliseconds(*lease_ms);
  options.completer_interval = std::chrono::milliseconds(*completer_ms);
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  options.exit_after_wallet_credit = failpoint == kFailpointExitAfterCredit;
#endif

  qcash::wallet::WalletClient::Options wallet_options;
  wallet_options.target = wallet_target;
  wallet_options.transport = transport;
  wallet_options.caller = "points";  // the only caller the wallet lets credit conversions
  auto wallet_client = qcash::wallet::WalletClient::Create(std::move(wallet_options));
  if (!wallet_client.ok()) return wallet_client.status();
  qcash::points::WalletCreditClient wallet(std::move(*wallet_client));

  const qcash::Clock* clock = qcash::SystemClock::Get();
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  qcash::points::SettableClock settable_clock;
  if (*test_clock) clock = &settable_clock;
#endif

  qcash::Log(qcash::LogLevel::kInfo, "starting",
             {{"database", qcash::RedactUrl(options.database_url)},
              {"wallet", wallet_target},
              {"threads", *threads},
              {"conversion_lease_ms", *lease_ms},
              {"insecure_dev", transport.insecure_dev},
              {"test_clock", *test_clock},
              {"failpoint", failpoint}});
  auto metrics = qcash::metrics::MetricsServer::StartFromEnv();
  if (!metrics.ok()) return metrics.status();
  auto points = qcash::points::Points::Start(options, clock, &wallet);
  if (!points.ok()) return points.status();

  qcash::ThreadPool work(static_cast<int>(*threads), 10'000);
  qcash::points::PointsServer server(points->get(), &work);
  serve->services = {&server};
  serve->access_tables = {&qcash::points::AccessPolicy()};
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  qcash::points::TestClockServer clock_server(&settable_clock);
  if (*test_clock) {
    serve->services.push_back(&clock_server);
    serve->access_tables.push_back(&qcash::points::TestClockAccessPolicy());
  }
#endif
  absl::Status served = qcash::Serve(*serve);
  (*points)->Stop();
  return served;
}

}  // namespace

int main() { return qcash::ServiceMain("points", Run); }
