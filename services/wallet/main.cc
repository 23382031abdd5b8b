// qcash-wallet: the wallet service process.
//
// Configuration (environment):
//   QCASH_WALLET_LISTEN            address to serve gRPC on           127.0.0.1:25051
//   QCASH_WALLET_DATABASE_URL      PostgreSQL of the wallet           (required)
//   QCASH_REDIS_HOST / _PORT / _USER / _PASSWORD_FILE  Redis as ACL user wallet (common/redis.h)
//   QCASH_WALLET_REPLAY_KEY_FILE   key of the MACs on Redis records    (required, >= 32 bytes)
//   QCASH_WALLET_LANES             ledger lanes (connections)         cores / 4, at least 2
//   QCASH_WALLET_BATCH_MAX         operations per transaction         512
//   QCASH_WALLET_READ_THREADS      threads for reads                  8
//   QCASH_WALLET_SWEEP_INTERVAL_MS hold sweeper period                1000
//   QCASH_WALLET_AUDIT_INTERVAL_S  self-audit period (0: off)         600
//   QCASH_WALLET_ANCHOR_INTERVAL_S journal anchor period (0: off)      300
//   QCASH_WALLET_ANCHOR_SETTLE_S   the anchor's instant lies this far
//                                  back of the database's clock       60
//   QCASH_METRICS_LISTEN           host:port for /metrics (empty: off)
//   QCASH_HEALTH_LISTEN            plaintext host:port for probes, health only (empty: off)
//   QCASH_GRPC_REFLECTION          server reflection          on only with QCASH_INSECURE_DEV
//   QCASH_UNREADY_DELAY_MS         not-ready time before draining     0
//   QCASH_DRAIN_TIMEOUT_MS         in-flight calls' time to finish    10000
//   QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE  checks the seller tokens the gateway forwards
//                                  (common/seller_scope.h); required with TLS
//   QCASH_WALLET_CHECKPOINT_INTERVAL_S  how often the books' checkpoints catch up (0: only
//                                  on demand)                          60
//   QCASH_TLS_* / QCASH_INSECURE_DEV  see common/server.h
// Development and tests only; refused unless QCASH_INSECURE_DEV=1, and a release build
// (without -DQCASH_DEVELOPMENT=ON) contains none of it and refuses to start when it is set:
//   QCASH_WALLET_TEST_CLOCK=1      a settable clock and the qcash.wallet.v1.WalletTestClock
//                                  service to set it (absent otherwise); once set, it dates
//                                  every ledger batch and is the books' "now"
#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/server.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "services/wallet/anchor.h"
#include "services/wallet/policy.h"
#include "services/wallet/server.h"
#include "services/wallet/test_clock.h"
#include "services/wallet/wallet.h"

namespace {

absl::Status Run() {
  using qcash::EnvInt;
  using qcash::EnvString;
  qcash::wallet::Wallet::Options options;
  options.database_url = EnvString("QCASH_WALLET_DATABASE_URL", "");
  if (options.database_url.empty()) {
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_WALLET_DATABASE_URL is required");
  }
  auto test_clock = qcash::EnvBool("QCASH_WALLET_TEST_CLOCK", false);
  if (!test_clock.ok()) return test_clock.status();
#if !(defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD)
  // Fail closed (DESIGN.md section 7): a release build has no test clock.
  if (*test_clock) return qcash::DevelopmentOnly("QCASH_WALLET_TEST_CLOCK=1");
#endif
  auto redis = qcash::RedisOptionsFromEnv();
  if (!redis.ok()) return redis.status();
  options.redis = *redis;
  // Authenticates what the wallet reads back from Redis (services/wallet/cache.h); never in
  // Redis, never logged.
  auto replay_key = qcash::EnvSecretFile("QCASH_WALLET_REPLAY_KEY_FILE",
                                         qcash::wallet::Cache::kReplayKeyBytesMin, 4096);
  if (!replay_key.ok()) return replay_key.status();
  options.cache.replay_key = std::move(*replay_key);
  // Fewer lanes make bigger batches; more lanes overlap commits. Two lanes at least: on two
  // cores one lane left the database idle while it waited on Redis and on its own commit, and
  // two nearly doubled batched spends with single spends unchanged within the noise
  // (docs/PERFORMANCE.md, issue 17). A batch takes what has queued, up to 512 operations: at
  // low load one, under ExecuteBatch traffic fewer, bigger transactions.
  const int64_t default_lanes = std::max<int64_t>(2, std::thread::hardware_concurrency() / 4);
  auto lanes = EnvInt("QCASH_WALLET_LANES", default_lanes, 1, 64);
  auto batch_max = EnvInt("QCASH_WALLET_BATCH_MAX", 512, 1, 1024);
  auto read_threads = EnvInt("QCASH_WALLET_READ_THREADS", 8, 1, 256);
  auto sweep_ms = EnvInt("QCASH_WALLET_SWEEP_INTERVAL_MS", 1000, 10, 3'600'000);
  auto audit_s = EnvInt("QCASH_WALLET_AUDIT_INTERVAL_S", 600, 0, 7 * 86'400);
  auto checkpoint_s = EnvInt("QCASH_WALLET_CHECKPOINT_INTERVAL_S", 60, 0, 86'400);
  for (const auto* v : {&lanes, &batch_max, &read_threads, &sweep_ms, &audit_s, &checkpoint_s}) {
    if (!v->ok()) return v->status();
  }
  // A connection for each read thread, each lane's claims and each lane's finisher, the
  // cache's reader, and the sweeper.
  options.redis.pool_size_max = static_cast<int>(*read_threads + 2 * *lanes + 2);
  options.committer.lanes = static_cast<int>(*lanes);
  options.committer.batch_max = static_cast<int>(*batch_max);
  options.read_pool_size = static_cast<int>(*read_threads + 1);  // + the sweeper
  options.sweep_interval = std::chrono::milliseconds(*sweep_ms);
  options.audit_interval = absl::Seconds(*audit_s);
  options.books.checkpoint_interval = absl::Seconds(*checkpoint_s);

  auto serve = qcash::ServeOptionsFromEnv("qcash.wallet.v1.WalletService", "QCASH_WALLET_LISTEN",
                                          "127.0.0.1:25051");
  if (!serve.ok()) return serve.status();
  const qcash::TransportConfig& transport = serve->transport;
  // The test clock changes what time the ledger writes: never with real credentials.
  if (*test_clock && !transport.insecure_dev) {
    return qcash::InvalidArgument(qcash::common::v1::INVALID_CONFIG,
                                  "QCASH_WALLET_TEST_CLOCK is for development and tests only "
                                  "(QCASH_INSECURE_DEV=1)");
  }
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  qcash::wallet::SettableClock settable_clock;
  if (*test_clock) {
    options.committer.batch_time = [&settable_clock] { return settable_clock.Fixed(); };
    options.books.batch_time = options.committer.batch_time;
  }
#endif

  qcash::Log(qcash::LogLevel::kInfo, "starting",
             {{"database", qcash::RedactUrl(options.database_url)},
              {"redis", absl::StrCat(options.redis.host, ":", options.redis.port)},
              {"lanes", *lanes},
              {"batch_max", *batch_max},
              {"insecure_dev", transport.insecure_dev},
              {"test_clock", *test_clock}});
  auto metrics = qcash::metrics::MetricsServer::StartFromEnv();
  if (!metrics.ok()) return metrics.status();
  auto wallet = qcash::wallet::Wallet::Start(options, qcash::SystemClock::Get());
  if (!wallet.ok()) return wallet.status();

  // The journal's anchors (services/wallet/anchor.h): at start-up, then every interval.
  auto anchor_s = EnvInt("QCASH_WALLET_ANCHOR_INTERVAL_S", 300, 0, 86'400);
  if (!anchor_s.ok()) return anchor_s.status();
  auto settle_s = EnvInt("QCASH_WALLET_ANCHOR_SETTLE_S", 60, 0, 3'600);
  if (!settle_s.ok()) return settle_s.status();
  std::unique_ptr<qcash::wallet::JournalAnchorJob> anchors;
  if (*anchor_s > 0) {
    anchors =
        std::make_unique<qcash::wallet::JournalAnchorJob>(qcash::wallet::JournalAnchorJob::Options{
            options.database_url, absl::Seconds(*anchor_s), absl::Seconds(*settle_s)});
  }

  qcash::ThreadPool reads(static_cast<int>(*read_threads), 10'000);
  qcash::wallet::WalletServer server(wallet->get(), &reads);
  serve->services = {&server};
  serve->access_tables = {&qcash::wallet::AccessPolicy()};
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  qcash::wallet::TestClockServer clock_server(&settable_clock);
  if (*test_clock) {
    serve->services.push_back(&clock_server);
    serve->access_tables.push_back(&qcash::wallet::TestClockAccessPolicy());
  }
#endif
  absl::Status served = qcash::Serve(*serve);
  if (anchors) anchors->Stop();
  (*wallet)->Stop();
  return served;
}

}  // namespace

int main() { return qcash::ServiceMain("wallet", Run); }
