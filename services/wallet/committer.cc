#include "services/wallet/committer.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"
#include "services/wallet/store.h"

namespace qcash::wallet {
namespace {

constexpr int kSingleOpAttemptsMax = 3;
// Applied batches that may wait for the finisher: the ledger runs at most this far ahead of
// Redis and the callers.
constexpr size_t kFinishingMax = 2;

metrics::Counter* Idempotency() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_wallet_idempotency_total",
      "Calls answered by idempotency: replayed from Redis or PostgreSQL, refused while in "
      "flight, or refused as a key reused with another request.",
      {"result"});
  return counter;
}

metrics::Counter* Outcomes() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_wallet_ledger_ops_total", "Ledger operations by type and outcome.", {"op", "outcome"});
  return counter;
}

metrics::Histogram* BatchSizes() {
  static auto* const histogram = metrics::Registry::Global().NewHistogram(
      "qcash_wallet_ledger_batch_ops", "Operations per ledger transaction (group commit).", {},
      {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  return histogram;
}

// Where a ledger batch spends its time: claiming its keys in Redis, applying it in PostgreSQL
// (one transaction, one WAL flush), recording its answers in Redis. Summed over stages, the
// time the lane is busy per batch; docs/PERFORMANCE.md reads the profile from it.
metrics::Histogram* StageSeconds() {
  static auto* const histogram = metrics::Registry::Global().NewHistogram(
      "qcash_wallet_ledger_stage_seconds",
      "Time of each stage of a ledger batch (group commit): claim (idempotency keys in Redis), "
      "apply (the PostgreSQL transaction), finish (answers and balances to Redis).",
      {"stage"}, {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
  return histogram;
}

const char* OutcomeName(const absl::StatusOr<OpResult>& answer) {
  if (!answer.ok()) return "error";
  switch (answer->outcome) {
    case Outcome::kApplied:
      return "applied";
    case Outcome::kReplayed:
      return "replayed";
    default:
      return "refused";
  }
}

metrics::Counter* InDoubt() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_wallet_ledger_in_doubt_total",
      "Batches whose connection was lost while they ran (commit in doubt), by how it ended: "
      "resolved on a new connection, or answered COMMIT_OUTCOME_UNKNOWN.",
      {"result"});
  return counter;
}

// A failure that lost the connection (or the server) while statements ran: whatever was sent,
// COMMIT included, may have taken effect. Any other failure (a deadlock, a statement timeout,
// a broken invariant) rolled the transaction back on a connection that is still there.
bool ConnectionLost(const absl::Status& status, const PgConnection& conn) {
  return status.code() == absl::StatusCode::kUnavailable &&
         (!conn.ok() || ReasonIs(status, common::v1::DATABASE_UNAVAILABLE));
}

void RecordStage(const char* stage, int64_t micros, std::atomic<int64_t>* total) {
  total->fetch_add(micros, std::memory_order_relaxed);
  StageSeconds()->Observe({stage}, static_cast<double>(micros) / 1e6);
}

bool Retryable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kAborted ||
         status.code() == absl::StatusCode::kAlreadyExists;
}

}  // namespace

Committer::Committer(Options options, Cache* cache) : options_(std::move(options)), cache_(cache) {
  for (int i = 0; i < options_.lanes; ++i) {
    lanes_.push_back(std::make_unique<Lane>());
  }
  for (auto& lane : lanes_) {
    Lane* l = lane.get();
    l->thread = std::thread([this, l] { Run(l); });
    l->finisher = std::thread([this, l] { RunFinisher(l); });
  }
}

Committer::~Committer() { Stop(); }

void Committer::Submit(Op op, Callback done, absl::Time deadline) {
  std::vector<Op> ops;
  ops.push_back(std::move(op));
  std::vector<Callback> dones;
  dones.push_back(std::move(done));
  SubmitMany(std::move(ops), std::move(dones), deadline);
}

void Committer::SubmitMany(std::vector<Op> ops, std::vector<Callback> done, absl::Time deadline) {
  // Each lane's share, in the order given.
  std::vector<std::vector<size_t>> shares(lanes_.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    shares[std::hash<std::string>{}(ops[i].seller_id) % lanes_.size()].push_back(i);
  }
  std::vector<std::pair<size_t, absl::Status>> refusals;
  for (size_t l = 0; l < lanes_.size(); ++l) {
    if (shares[l].empty()) continue;
    Lane* lane = lanes_[l].get();
    bool queued = false;
    absl::Status refused;
    {
      MutexLock lock(&lane->mu);
      if (lane->stopping) {
        refused =
            Unavailable(common::v1::SHUTTING_DOWN, "the wallet is shutting down; retry elsewhere");
      } else if (lane->queue.size() + shares[l].size() > static_cast<size_t>(options_.queue_max)) {
        refused =
            Unavailable(common::v1::OVERLOADED, "the wallet's ledger queue is full; retry later");
      } else {
        for (size_t i : shares[l]) {
          lane->queue.push_back({std::move(ops[i]), std::move(done[i]), deadline});
        }
        queued = true;
      }
    }
    if (queued) {
      lane->cv.Signal();
    } else {
      for (size_t i : shares[l]) refusals.emplace_back(i, refused);
    }
  }
  // Callbacks run outside the lanes' locks. A refused op's `done` was never moved.
  for (auto& [i, status] : refusals) std::move(done[i])(std::move(status));
}

void Committer::Stop() {
  for (auto& lane : lanes_) {
    MutexLock lock(&lane->mu);
    lane->stopping = true;
  }
  for (auto& lane : lanes_) {
    lane->cv.SignalAll();
    if (lane->thread.joinable()) lane->thread.join();
    // The lane has handed over its last batch: the finisher answers it, then stops.
    {
      MutexLock lock(&lane->finish_mu);
      lane->finisher_stopping = true;
    }
    lane->finish_cv.SignalAll();
    if (lane->finisher.joinable()) lane->finisher.join();
  }
}

Committer::Stats Committer::stats() const {
  return {batches_.load(),  ops_.load(),      batch_retries_.load(),
          claim_us_.load(), apply_us_.load(), finish_us_.load()};
}

void Committer::Run(Lane* lane) {
  std::vector<Pending> batch;
  batch.reserve(options_.batch_max);
  for (;;) {
    {
      MutexLock lock(&lane->mu);
      lane->cv.Wait(&lane->mu, [lane]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lane->mu) {
        return !lane->queue.empty() || lane->stopping;
      });
      if (lane->queue.empty()) return;  // stopping and drained
      while (!lane->queue.empty() && batch.size() < static_cast<size_t>(options_.batch_max)) {
        batch.push_back(std::move(lane->queue.front()));
        lane->queue.pop_front();
      }
    }
    Process(lane, std::move(batch));
    batch.clear();  // moved from: valid, emptied here
    batch.reserve(options_.batch_max);
  }
}

void Committer::RunFinisher(Lane* lane) {
  for (;;) {
    Applied applied;
    {
      MutexLock lock(&lane->finish_mu);
      lane->finish_cv.Wait(&lane->finish_mu,
                           [lane]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lane->finish_mu) {
                             return !lane->finishing.empty() || lane->finisher_stopping;
                           });
      if (lane->finishing.empty()) return;  // stopping and drained
      applied = std::move(lane->finishing.front());
      lane->finishing.pop_front();
    }
    lane->finish_cv.SignalAll();  // room for the lane's next batch
    Finish(applied);
  }
}

absl::Status Committer::EnsureConnected(Lane* lane) {
  // A connection the server closed while it sat idle is replaced before anything is sent on
  // it, so its failure is never taken for a batch in doubt.
  if (lane->conn != nullptr && lane->conn->CheckAlive()) return absl::OkStatus();
  lane->conn.reset();
  auto conn = PgConnection::Connect(options_.database_url, "qcash-wallet-ledger");
  if (!conn.ok()) return conn.status();
  // Bound every batch: a stuck statement must not hold a lane forever. The batch statements
  // are written for generic plans on the primary keys (store.cc): planning them anew for every
  // batch would cost more than running them, and a plan made while a table was still small
  // must not stay a sequential scan once it has grown.
  if (absl::Status set = (*conn)->ExecScript(
          "SET statement_timeout = '10s'; SET plan_cache_mode = force_generic_plan; "
          "SET enable_seqscan = off");
      !set.ok()) {
    return set;
  }
  lane->conn = std::move(*conn);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OpResult>> Committer::Apply(Lane* lane,
                                                       const std::vector<const Op*>& ops,
                                                       absl::Time resolve_by) {
  bool in_doubt = false;
  absl::Status last;
  absl::Duration backoff = absl::Milliseconds(20);
  for (;;) {
    absl::Status connected = EnsureConnected(lane);
    if (connected.ok()) {
      auto results =
          ApplyBatch(*lane->conn, ops, options_.batch_time ? options_.batch_time() : std::nullopt);
      if (results.ok()) {
        if (in_doubt) InDoubt()->Add({"resolved"});
        return results;
      }
      last = results.status();
      if (!ConnectionLost(last, *lane->conn)) {
        // A definite failure of this attempt. If an earlier attempt was in doubt, this one
        // rolled back before it could read that attempt's records: still unknown.
        if (!in_doubt) return last;
        break;
      }
      // Lost while the batch ran: from here on its outcome is unknown until an attempt on a
      // new connection answers (from the idempotency records where it committed).
      in_doubt = true;
      lane->conn.reset();
    } else {
      last = connected;
      // Nothing was sent on this attempt; without an earlier doubt this is a plain failure.
      if (!in_doubt) return last;
    }
    if (absl::Now() + backoff > resolve_by) break;
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(500));
  }
  InDoubt()->Add({"unknown"});
  Log(LogLevel::kError, "ledger_commit_outcome_unknown",
      {{"ops", static_cast<int64_t>(ops.size())}, {"error", std::string(last.message())}});
  return Unavailable(wallet::v1::COMMIT_OUTCOME_UNKNOWN,
                     absl::StrCat("the database went away while this operation committed and "
                                  "could not be reached again in time (",
                                  last.message(),
                                  "); it may have taken effect: retry with the same "
                                  "idempotency key to learn the outcome"));
}

void Committer::Process(Lane* lane, std::vector<Pending> batch) {
  const size_t n = batch.size();
  std::vector<const Op*> ops(n);
  for (size_t i = 0; i < n; ++i) ops[i] = &batch[i].op;

  std::vector<absl::StatusOr<OpResult>> answers(n, Internal(wallet::v1::UNANSWERED, "no answer"));
  std::vector<bool> claimed(n, false);
  std::vector<size_t> todo;
  todo.reserve(n);
  // Latency for the stats only: a monotonic clock, not the injected one (nothing decides on it).
  using Steady = std::chrono::steady_clock;
  auto since = [](Steady::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - t).count();
  };
  Steady::time_point t0 = Steady::now();
  std::vector<Cache::ClaimResult> claims = cache_->BeginBatch(ops);
  RecordStage("claim", since(t0), &claim_us_);
  for (size_t i = 0; i < n; ++i) {
    switch (claims[i].claim) {
      case Cache::Claim::kInFlight:
        Idempotency()->Add({"in_flight"});
        answers[i] = Aborted(wallet::v1::IDEMPOTENCY_KEY_IN_FLIGHT,
                             absl::StrCat("a call with idempotency key ", ops[i]->idempotency_key,
                                          " is still in progress; retry with the same key"));
        break;
      case Cache::Claim::kDone:
        Idempotency()->Add({"replayed_redis"});
        answers[i] = std::move(claims[i].stored);
        break;
      case Cache::Claim::kReused:
        Idempotency()->Add({"key_reused"});
        answers[i] = OutcomeStatus(Outcome::kKeyReused, *ops[i]);
        break;
      case Cache::Claim::kClaimed:
        claimed[i] = true;
        todo.push_back(i);
        break;
      case Cache::Claim::kForeign:
        Idempotency()->Add({"foreign_marker"});
        todo.push_back(i);
        break;
      case Cache::Claim::kUnverified:  // nothing Redis says decides: PostgreSQL does
      case Cache::Claim::kUnavailable:
      default:
        todo.push_back(i);
        break;
    }
  }

  std::vector<const Op*> db_ops;
  db_ops.reserve(todo.size());
  // A batch in doubt is resolved for as long as one of its callers still waits for the answer.
  absl::Time resolve_by = absl::InfinitePast();
  for (size_t i : todo) {
    db_ops.push_back(ops[i]);
    resolve_by = std::max(resolve_by, batch[i].deadline);
  }
  // The answer must reach the caller before its deadline: stop a little before.
  resolve_by = std::min(resolve_by - absl::Milliseconds(250), absl::Now() + options_.in_doubt_max);
  if (!db_ops.empty()) {
    batches_.fetch_add(1, std::memory_order_relaxed);
    BatchSizes()->Observe({}, static_cast<double>(db_ops.size()));
    ops_.fetch_add(static_cast<int64_t>(db_ops.size()), std::memory_order_relaxed);
    t0 = Steady::now();
    auto results = Apply(lane, db_ops, resolve_by);
    RecordStage("apply", since(t0), &apply_us_);
    if (results.ok()) {
      for (size_t k = 0; k < todo.size(); ++k) answers[todo[k]] = std::move((*results)[k]);
    } else if (results.status().code() == absl::StatusCode::kUnavailable || todo.size() == 1) {
      for (size_t i : todo) answers[i] = results.status();
      if (todo.size() == 1 && Retryable(results.status())) {
        // One op that raced its own key elsewhere: once more answers from the record.
        auto again = Apply(lane, db_ops, resolve_by);
        answers[todo[0]] = again.ok() ? absl::StatusOr<OpResult>(std::move((*again)[0]))
                                      : absl::StatusOr<OpResult>(again.status());
      }
    } else {
      // The batch rolled back as a whole: find the culprit by applying each op alone.
      batch_retries_.fetch_add(1, std::memory_order_relaxed);
      Log(LogLevel::kWarn, "ledger_batch_retried_singly",
          {{"ops", static_cast<int64_t>(todo.size())},
           {"error", std::string(results.status().message())}});
      for (size_t i : todo) {
        absl::StatusOr<std::vector<OpResult>> one = Internal(wallet::v1::UNANSWERED, "no answer");
        for (int attempt = 0; attempt < kSingleOpAttemptsMax; ++attempt) {
          one = Apply(lane, {ops[i]}, resolve_by);
          if (one.ok() || !Retryable(one.status())) break;
        }
        answers[i] = one.ok() ? absl::StatusOr<OpResult>(std::move((*one)[0]))
                              : absl::StatusOr<OpResult>(one.status());
        if (!one.ok()) {
          Log(LogLevel::kError, "ledger_op_failed",
              {{"op", std::string(OpTypeName(ops[i]->type))},
               {"seller_id", ops[i]->seller_id},
               {"error", std::string(one.status().message())}});
        }
      }
    }
  }

  // The ledger has answered: the finisher records the answers in Redis and answers the callers
  // while this lane claims and applies its next batch. A caller's answer still waits for its
  // record in Redis, so a retry after the answer finds it; a duplicate sent before the answer
  // finds the in-flight marker (IDEMPOTENCY_KEY_IN_FLIGHT: retry), as before.
  Applied applied;
  applied.claims.reserve(n);
  for (const Cache::ClaimResult& claim : claims) applied.claims.push_back(claim.claim);
  applied.answers = std::move(answers);
  applied.claimed = std::move(claimed);
  applied.todo = std::move(todo);
  applied.batch = std::move(batch);
  {
    MutexLock lock(&lane->finish_mu);
    lane->finish_cv.Wait(&lane->finish_mu, [lane]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lane->finish_mu) {
      return lane->finishing.size() < kFinishingMax;
    });
    lane->finishing.push_back(std::move(applied));
  }
  lane->finish_cv.SignalAll();
}

void Committer::Finish(Applied& applied) {
  using Steady = std::chrono::steady_clock;
  std::vector<Pending>& batch = applied.batch;
  std::vector<absl::StatusOr<OpResult>>& answers = applied.answers;
  const size_t n = batch.size();
  std::vector<const Op*> ops(n);
  for (size_t i = 0; i < n; ++i) ops[i] = &batch[i].op;

  // Answers for Redis: committed results become replayable; refusals free their keys.
  std::vector<const OpResult*> finished(n, nullptr);
  for (size_t i : applied.todo) {
    if (answers[i].ok()) finished[i] = &*answers[i];
  }
  const Steady::time_point t0 = Steady::now();
  cache_->FinishBatch(ops, finished, applied.claimed);
  RecordStage("finish",
              std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - t0).count(),
              &finish_us_);

  for (size_t i = 0; i < n; ++i) {
    Outcomes()->Add({std::string(OpTypeName(ops[i]->type)), OutcomeName(answers[i])});
    if (answers[i].ok() && answers[i]->outcome == Outcome::kReplayed &&
        applied.claims[i] != Cache::Claim::kDone) {
      Idempotency()->Add({"replayed_db"});
    }
    if (answers[i].ok() && answers[i]->outcome == Outcome::kKeyReused) {
      Idempotency()->Add({"key_reused"});
    }
    if (answers[i].ok()) {
      const Outcome outcome = answers[i]->outcome;
      if (outcome != Outcome::kApplied && outcome != Outcome::kReplayed) {
        answers[i] = OutcomeStatus(outcome, *ops[i]);
      }
    }
    std::move(batch[i].done)(std::move(answers[i]));
  }
}

}  // namespace qcash::wallet
