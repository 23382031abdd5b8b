// Group commit for the ledger: many operations, one transaction, one WAL flush.
//
// Operations are queued on lanes by seller (a seller's operations always take the same lane,
// in arrival order, so two batches never wait on each other's wallet rows). Each lane has one
// thread and one PostgreSQL connection; it takes whatever has queued up since its last commit
// (at most batch_max, no artificial wait), claims the idempotency keys in Redis in one round
// trip, applies the batch in one statement, records the answers in Redis in one more round
// trip, and then answers every caller. Under load batches grow by themselves; at low load a
// batch is one operation and nothing waits.
//
// A refused operation (insufficient funds, ...) does not abort its batch: the ledger function
// reports refusals as outcomes. A database error that aborts the batch (a deadlock with another
// replica, an idempotency key committed concurrently elsewhere, a broken invariant) makes the
// lane retry each operation alone, so one bad operation cannot fail the others.
//
// A commit in doubt is never answered as a failure. When the connection is lost while a batch
// runs (a crash, `pg_ctl stop -m fast`, a failover), its COMMIT may have reached the server:
// the outcome is unknown. The lane then reconnects (with backoff; after a failover the
// multi-host URL finds the new primary) and applies the same operations again with the same
// keys: what committed answers from its durable idempotency record, what did not is applied
// now, so every caller gets the truth. Only when no connection can be made before the latest
// deadline of the batch's calls (at most in_doubt_max) does it answer UNAVAILABLE /
// COMMIT_OUTCOME_UNKNOWN, which says that a retry with the same key will tell.
#ifndef QCASH_SERVICES_WALLET_COMMITTER_H_
#define QCASH_SERVICES_WALLET_COMMITTER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "services/wallet/cache.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {

class Committer {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<OpResult>) &&>;

  struct Options {
    std::string database_url;
    int lanes = 4;
    int batch_max = 128;
    // Per lane; beyond it Submit answers UNAVAILABLE (OVERLOADED). Room for 64 ad-booking
    // clients each with a full ExecuteBatch call (1,000 operations) in flight on one lane.
    int queue_max = 65'536;
    // How long a lane keeps trying to resolve a batch in doubt (see above) when its calls have
    // no earlier deadline: about the longest failover.
    absl::Duration in_doubt_max = absl::Seconds(30);
    // The time of each batch (store.h ApplyBatch's fixed_now): empty, or answering nullopt,
    // means the database's clock. Only the wallet's test clock sets it (development builds,
    // main.cc).
    std::function<std::optional<absl::Time>()> batch_time;
  };

  struct Stats {
    int64_t batches = 0;
    int64_t ops = 0;
    int64_t batch_retries = 0;  // batches split into single operations after an error
    int64_t claim_us = 0;       // time in Redis before the ledger
    int64_t apply_us = 0;       // time in PostgreSQL
    int64_t finish_us = 0;      // time in Redis after the ledger
  };

  Committer(Options options, Cache* cache);
  ~Committer();  // Stop()
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Queues `op` and calls `done` exactly once, from a lane thread, with its result: OK for
  // kApplied and kReplayed (the outcome says which), otherwise the refusal as a status.
  // `deadline` is the caller's (the gRPC call's): how long an answer is still of use to it.
  // REQUIRES: ValidateOp(op) succeeded and op.request_hash is set (except kExpire).
  void Submit(Op op, Callback done, absl::Time deadline = absl::InfiniteFuture());

  // Submit for many operations at once (ExecuteBatch): each lane's share is queued under one
  // lock and its thread woken once, in the order given, so a seller's operations keep their
  // order and a call's operations fill whole ledger batches instead of waking the lane once
  // per operation. `done[i]` answers `ops[i]`, as Submit's `done` does.
  // REQUIRES: ops.size() == done.size(); each op as for Submit.
  void SubmitMany(std::vector<Op> ops, std::vector<Callback> done,
                  absl::Time deadline = absl::InfiniteFuture());

  // Stops taking operations, finishes those queued, and joins the lanes.
  void Stop();

  Stats stats() const;

 private:
  struct Pending {
    Op op;
    Callback done;
    absl::Time deadline;
  };
  // A batch the ledger has answered, on its way to Redis and its callers.
  struct Applied {
    std::vector<Pending> batch;
    std::vector<absl::StatusOr<OpResult>> answers;
    std::vector<Cache::Claim> claims;  // what Redis said of each key before the ledger
    std::vector<bool> claimed;         // whether we marked it in flight
    std::vector<size_t> todo;          // the ops the ledger was asked about
  };
  struct Lane {
    Mutex mu;
    CondVar cv;
    std::deque<Pending> queue ABSL_GUARDED_BY(mu);
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::unique_ptr<PgConnection> conn;  // only the lane's thread touches it
    std::thread thread;
    // The lane's second stage: recording answers in Redis and answering callers, while the
    // lane's thread claims and applies the next batch. At most kFinishingMax batches wait.
    Mutex finish_mu;
    CondVar finish_cv;
    std::deque<Applied> finishing ABSL_GUARDED_BY(finish_mu);
    bool finisher_stopping ABSL_GUARDED_BY(finish_mu) = false;
    std::thread finisher;
  };

  void Run(Lane* lane);
  void RunFinisher(Lane* lane);
  // Claims the batch's keys and applies it; hands the answers to the lane's finisher.
  void Process(Lane* lane, std::vector<Pending> batch);
  // Records the answers in Redis, counts them, and answers every caller.
  void Finish(Applied& applied);
  // Applies ops on the lane's connection. When the connection is lost mid-batch, reconnects
  // and applies them again (same keys) until `resolve_by`; then COMMIT_OUTCOME_UNKNOWN.
  absl::StatusOr<std::vector<OpResult>> Apply(Lane* lane, const std::vector<const Op*>& ops,
                                              absl::Time resolve_by);
  // Connects the lane (with its session settings) if it has no usable connection.
  absl::Status EnsureConnected(Lane* lane);

  const Options options_;
  Cache* const cache_;
  std::vector<std::unique_ptr<Lane>> lanes_;  // constant after construction
  std::atomic<int64_t> batches_{0};
  std::atomic<int64_t> ops_{0};
  std::atomic<int64_t> batch_retries_{0};
  std::atomic<int64_t> claim_us_{0};
  std::atomic<int64_t> apply_us_{0};
  std::atomic<int64_t> finish_us_{0};
};

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_COMMITTER_H_
