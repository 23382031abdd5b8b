// The wallet, assembled: validation, the group-committing ledger, the cache, reads, and the
// hold sweeper. The gRPC layer (server.cc) calls only this class.
#ifndef QCASH_SERVICES_WALLET_WALLET_H_
#define QCASH_SERVICES_WALLET_WALLET_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "common/redis.h"
#include "services/wallet/books.h"
#include "services/wallet/cache.h"
#include "services/wallet/committer.h"
#include "services/wallet/ledger.h"
#include "services/wallet/provenance.h"
#include "services/wallet/statements.h"
#include "services/wallet/store.h"

namespace qcash::wallet {

class Wallet {
 public:
  struct Options {
    std::string database_url;
    RedisClient::Options redis;
    Committer::Options committer;  // database_url is filled in from above
    Cache::Options cache;
    int read_pool_size = 8;
    std::chrono::milliseconds sweep_interval{1000};
    int sweep_batch_max = 500;
    // How often the wallet audits its own ledger and publishes the result as metrics
    // (qcash_ledger_audit_ok); 0 turns it off. The audit reads every row: keep it rare.
    absl::Duration audit_interval = absl::Minutes(10);
    Books::Options books;  // database_url is filled in from above
  };

  // Connects, applies the schema migrations, and starts the ledger lanes and the sweeper.
  // Errors: INVALID_ARGUMENT (INVALID_CONFIG) for a replay key shorter than
  // Cache::kReplayKeyBytesMin; UNAVAILABLE when PostgreSQL cannot be reached; a failed
  // migration's error.
  // `clock` (SystemClock::Get() in a process) dates the cache's in-flight markers and paces
  // the audit and the stats log; it outlives the wallet. The ledger itself takes "now" from
  // the database's transaction time (store.cc), one clock for every replica.
  static absl::StatusOr<std::unique_ptr<Wallet>> Start(Options options, const Clock* clock);
  ~Wallet();  // Stop()
  Wallet(const Wallet&) = delete;
  Wallet& operator=(const Wallet&) = delete;

  // Validates `op`, fingerprints it, and hands it to the ledger; `done` runs exactly once
  // (at once on a validation error, otherwise from a ledger lane).
  void Submit(Op op, Committer::Callback done, absl::Time deadline = absl::InfiniteFuture());

  // Submit for a batch of operations (ExecuteBatch): each is validated on its own (an invalid
  // one is answered at once and the others go on), and the valid ones reach the ledger lanes
  // together, in the order given. `done[i]` answers `ops[i]`. REQUIRES: equal sizes.
  void SubmitMany(std::vector<Op> ops, std::vector<Committer::Callback> done,
                  absl::Time deadline = absl::InfiniteFuture());

  // The balance from the cache, or from PostgreSQL (then cached) on a miss or when Redis is
  // down. Errors: NOT_FOUND (WALLET_NOT_FOUND), UNAVAILABLE.
  absl::StatusOr<Balance> GetBalance(const std::string& seller_id);

  // The cached balance only: nullopt on a miss, when Redis is down, or for an invalid id.
  // Waits for the cache's reader (one round trip at most, bounded by the client's timeout
  // and breaker): not for a gRPC thread, which uses CachedBalances.
  std::optional<Balance> CachedBalance(const std::string& seller_id);

  // The cached balances of `seller_ids` without waiting (Cache::ReadBalances): `done` runs on
  // the cache's reader thread, or at once when no id is valid, with one answer per id in
  // order: nullopt on a miss, when Redis is down, or for an invalid id (never sent to Redis).
  // REQUIRES: as Cache::ReadBalances: `done` is quick and never waits.
  void CachedBalances(std::vector<std::string> seller_ids, Cache::BalancesCallback done);

  // The balance from PostgreSQL, then cached. Errors as GetBalance.
  absl::StatusOr<Balance> LoadBalance(const std::string& seller_id);

  // The balances of `seller_ids` from PostgreSQL in one query, then cached: one answer per
  // id, in order: the balance, or its own error: INVALID_ARGUMENT (INVALID_SELLER_ID), NOT_FOUND
  // (WALLET_NOT_FOUND). Errors of the whole (nothing read): UNAVAILABLE, the database's.
  absl::StatusOr<std::vector<absl::StatusOr<Balance>>> LoadBalances(
      const std::vector<std::string>& seller_ids);

  absl::StatusOr<std::vector<HistoryEntry>> ListHistory(const HistoryQuery& query);
  // Provenance (provenance.h), from PostgreSQL. Errors as there, and INVALID_SELLER_ID.
  absl::StatusOr<EntryLots> GetEntryLots(const std::string& seller_id, int64_t entry_seq);
  absl::StatusOr<std::vector<LotRecord>> ListLots(const LotQuery& query);
  absl::StatusOr<HoldRecord> GetHold(const std::string& seller_id, int64_t hold_id);
  // From PostgreSQL. Errors as store.h's ListHolds, and INVALID_SELLER_ID.
  absl::StatusOr<std::vector<HoldRecord>> ListHolds(const HoldQuery& query);
  // The monthly statement and activity (statements.h), from PostgreSQL, "now" as the books
  // take it (the test clock once set). Errors as there, and INVALID_SELLER_ID.
  absl::StatusOr<MonthlyStatement> GetMonthlyStatement(const StatementQuery& query);
  absl::StatusOr<std::vector<MonthActivity>> GetMonthlyActivity(const std::string& seller_id,
                                                                int months);

  // Releases every hold past its expiry now (the sweeper calls this on its interval).
  // Returns how many were released.
  absl::StatusOr<int64_t> SweepExpiredHolds();

  // Stops the sweeper, the ledger lanes and the cache's reader after finishing queued operations
  // and lookups.
  void Stop();

  Committer::Stats committer_stats() const { return committer_->stats(); }

  // The issuer's books (balances at an instant, the base-date report); lives as long as the
  // wallet.
  Books* books() const { return books_.get(); }

 private:
  Wallet(Options options, const Clock* clock);
  void SweepLoop() ABSL_LOCKS_EXCLUDED(sweep_mu_);
  void AuditAndPublish();

  const Options options_;
  const Clock* const clock_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<Cache> cache_;
  std::unique_ptr<PgPool> read_pool_;
  std::unique_ptr<Committer> committer_;
  std::unique_ptr<Books> books_;

  Mutex sweep_mu_;
  CondVar sweep_cv_;
  bool stopping_ ABSL_GUARDED_BY(sweep_mu_) = false;
  std::thread sweeper_;
};

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_WALLET_H_
