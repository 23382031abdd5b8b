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
// lane retry each operation alone, so one bad operation cannot fail the others. A lost
// connection is retried once on a new connection with the same keys, which is safe: if the
// first attempt committed, the retry answers from the idempotency records.
#ifndef QCASH_SERVICES_WALLET_COMMITTER_H_
#define QCASH_SERVICES_WALLET_COMMITTER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
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
    int queue_max = 20'000;  // per lane; beyond it Submit answers UNAVAILABLE (OVERLOADED)
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
  // REQUIRES: ValidateOp(op) succeeded and op.request_hash is set (except kExpire).
  void Submit(Op op, Callback done);

  // Stops taking operations, finishes those queued, and joins the lanes.
  void Stop();

  Stats stats() const;

 private:
  struct Pending {
    Op op;
    Callback done;
  };
  struct Lane {
    Mutex mu;
    CondVar cv;
    std::deque<Pending> queue ABSL_GUARDED_BY(mu);
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::unique_ptr<PgConnection> conn;  // only the lane's thread touches it
    std::thread thread;
  };

  void Run(Lane* lane);
  void Process(Lane* lane, std::vector<Pending>& batch);
  // Applies ops on the lane's connection, reconnecting once if it is lost.
  absl::StatusOr<std::vector<OpResult>> Apply(Lane* lane, const std::vector<const Op*>& ops);

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
