#include "services/wallet/wallet.h"

#include <algorithm>
#include <future>
#include <iterator>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/migrate.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"
#include "services/wallet/audit.h"

namespace qcash::wallet {

// Defined by qcash_embed_migrations() from migrations/*.sql.
const std::vector<Migration>& Migrations();

namespace {

metrics::Gauge* HoldsPending() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_wallet_holds_pending", "Holds waiting for capture, release or expiry.");
  return gauge;
}

metrics::Gauge* AuditOk() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_ledger_audit_ok",
      "1 when the last ledger audit passed (every balance = credits - debits, total zero), "
      "0 when it found a problem.");
  return gauge;
}

metrics::Gauge* AuditLastRun() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_ledger_audit_last_run_timestamp_seconds", "When the last ledger audit finished.");
  return gauge;
}

metrics::Gauge* AuditProblems() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_ledger_audit_problems", "Problems the last ledger audit reported.");
  return gauge;
}

}  // namespace

Wallet::Wallet(Options options, const Clock* clock) : options_(std::move(options)), clock_(clock) {}

absl::StatusOr<std::unique_ptr<Wallet>> Wallet::Start(Options options, const Clock* clock) {
  if (options.cache.replay_key.size() < Cache::kReplayKeyBytesMin) {
    return InvalidArgument(
        common::v1::INVALID_CONFIG,
        absl::StrCat("the replay key must hold at least ", Cache::kReplayKeyBytesMin, " bytes"));
  }
  {
    auto conn = PgConnection::Connect(options.database_url, "qcash-wallet-migrate");
    if (!conn.ok()) return conn.status();
    if (absl::Status s = ApplyMigrations(**conn, Migrations()); !s.ok()) return s;
  }
  std::unique_ptr<Wallet> wallet(new Wallet(std::move(options), clock));
  const Options& kept = wallet->options_;
  wallet->redis_ = std::make_unique<RedisClient>(kept.redis);
  wallet->cache_ = std::make_unique<Cache>(wallet->redis_.get(), kept.cache, clock);
  wallet->read_pool_ =
      std::make_unique<PgPool>(kept.database_url, "qcash-wallet-read", kept.read_pool_size);
  Committer::Options committer = kept.committer;
  committer.database_url = kept.database_url;
  wallet->committer_ = std::make_unique<Committer>(std::move(committer), wallet->cache_.get());
  Books::Options books = kept.books;
  books.database_url = kept.database_url;
  wallet->books_ = Books::Start(std::move(books));
  Wallet* w = wallet.get();
  wallet->sweeper_ = std::thread([w] { w->SweepLoop(); });
  return wallet;
}

Wallet::~Wallet() { Stop(); }

void Wallet::Stop() {
  {
    MutexLock lock(&sweep_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  sweep_cv_.SignalAll();
  if (sweeper_.joinable()) sweeper_.join();
  if (books_ != nullptr) books_->Stop();
  if (committer_ != nullptr) committer_->Stop();
  // Last: the server has stopped taking calls, and the lookups it queued are answered.
  if (cache_ != nullptr) cache_->StopReads();
}

void Wallet::Submit(Op op, Committer::Callback done, absl::Time deadline) {
  if (absl::Status s = ValidateOp(op); !s.ok()) {
    std::move(done)(s);
    return;
  }
  if (op.type != OpType::kExpire) op.request_hash = RequestHash(op);
  committer_->Submit(std::move(op), std::move(done), deadline);
}

void Wallet::SubmitMany(std::vector<Op> ops, std::vector<Committer::Callback> done,
                        absl::Time deadline) {
  std::vector<Op> valid;
  std::vector<Committer::Callback> valid_done;
  valid.reserve(ops.size());
  valid_done.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    if (absl::Status s = ValidateOp(ops[i]); !s.ok()) {
      std::move(done[i])(s);
      continue;
    }
    if (ops[i].type != OpType::kExpire) ops[i].request_hash = RequestHash(ops[i]);
    valid.push_back(std::move(ops[i]));
    valid_done.push_back(std::move(done[i]));
  }
  if (!valid.empty()) committer_->SubmitMany(std::move(valid), std::move(valid_done), deadline);
}

absl::StatusOr<Balance> Wallet::GetBalance(const std::string& seller_id) {
  if (std::optional<Balance> cached = CachedBalance(seller_id)) return *cached;
  return LoadBalance(seller_id);
}

std::optional<Balance> Wallet::CachedBalance(const std::string& seller_id) {
  if (!IsValidSellerId(seller_id)) return std::nullopt;
  return cache_->GetBalance(seller_id);
}

void Wallet::CachedBalances(std::vector<std::string> seller_ids, Cache::BalancesCallback done) {
  std::vector<size_t> valid;  // positions of the valid ids
  valid.reserve(seller_ids.size());
  for (size_t i = 0; i < seller_ids.size(); ++i) {
    if (IsValidSellerId(seller_ids[i])) valid.push_back(i);
  }
  if (valid.size() == seller_ids.size()) {
    cache_->ReadBalances(std::move(seller_ids), std::move(done));
    return;
  }
  if (valid.empty()) {
    std::move(done)(Cache::CachedBalances(seller_ids.size()));
    return;
  }
  std::vector<std::string> asked;
  asked.reserve(valid.size());
  for (size_t i : valid) asked.push_back(std::move(seller_ids[i]));
  cache_->ReadBalances(std::move(asked),
                       [count = seller_ids.size(), valid = std::move(valid),
                        done = std::move(done)](Cache::CachedBalances cached) mutable {
                         Cache::CachedBalances all(count);
                         for (size_t k = 0; k < valid.size(); ++k)
                           all[valid[k]] = std::move(cached[k]);
                         std::move(done)(std::move(all));
                       });
}

absl::StatusOr<std::vector<absl::StatusOr<Balance>>> Wallet::LoadBalances(
    const std::vector<std::string>& seller_ids) {
  std::vector<std::string> asked;
  asked.reserve(seller_ids.size());
  std::copy_if(seller_ids.begin(), seller_ids.end(), std::back_inserter(asked),
               [](const std::string& id) { return IsValidSellerId(id); });
  std::vector<Balance> found;
  if (!asked.empty()) {
    auto conn = read_pool_->Acquire();
    if (!conn.ok()) return conn.status();
    auto loaded = wallet::LoadBalances(**conn, asked);
    if (!loaded.ok()) return loaded.status();
    found = std::move(*loaded);
  }
  absl::flat_hash_map<absl::string_view, const Balance*> by_seller;
  for (const Balance& b : found) by_seller.emplace(b.seller_id, &b);
  std::vector<absl::StatusOr<Balance>> out;
  out.reserve(seller_ids.size());
  for (const std::string& id : seller_ids) {
    if (absl::Status s = CheckSellerId(id); !s.ok()) {
      out.emplace_back(std::move(s));
    } else if (auto it = by_seller.find(id); it != by_seller.end()) {
      out.emplace_back(*it->second);
    } else {
      out.emplace_back(
          NotFound(wallet::v1::WALLET_NOT_FOUND, absl::StrCat("no wallet for seller ", id)));
    }
  }
  cache_->PutBalances(found);
  return out;
}

absl::StatusOr<Balance> Wallet::LoadBalance(const std::string& seller_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  auto conn = read_pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto balance = wallet::LoadBalance(**conn, seller_id);
  if (balance.ok()) cache_->PutBalances({*balance});
  return balance;
}

absl::StatusOr<std::vector<HistoryEntry>> Wallet::ListHistory(const HistoryQuery& query) {
  if (absl::Status s = CheckSellerId(query.seller_id); !s.ok()) return s;
  auto conn = read_pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return wallet::ListHistory(**conn, query);
}

absl::StatusOr<EntryLots> Wallet::GetEntryLots(const std::string& seller_id, int64_t entry_seq) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  auto conn = read_pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return wallet::GetEntryLots(**conn, seller_id, entry_seq);
}

absl::StatusOr<std::vector<LotRecord>> Wallet::ListLots(const LotQuery& query) {
  if (absl::Status s = CheckSellerId(query.seller_id); !s.ok()) return s;
  auto conn = read_pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return wallet::ListLots(**conn, query);
}

absl::StatusOr<MonthlyStatement> Wallet::GetMonthlyStatement(const StatementQuery& query) {
  if (absl::Status s = CheckSellerId(query.seller_id); !s.ok()) return s;
  auto conn = read_pool_->Acquire();
  if (!conn.ok()) return conn.status();
  // Read before the statement's snapshot (statements.h).
  auto now = books_->Now(**conn);
  if (!now.ok()) return now.status();
  return LoadMonthlyStatement(**conn, query, *now);
}

absl::StatusOr<std::vector<MonthActivity>> Wallet::GetMonthlyActivity(const std::string& seller_id,
                                                                      int months) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  auto conn = read_pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto now = books_->Now(**conn);
  if (!now.ok()) return now.status();
  return LoadMonthlyActivity(**conn, seller_id, months, *now);
}

absl::StatusOr<HoldRecord> Wallet::GetHold(const std::string& seller_id, int64_t hold_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  auto conn = read_pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return wallet::GetHold(**conn, seller_id, hold_id);
}

absl::StatusOr<std::vector<HoldRecord>> Wallet::ListHolds(const HoldQuery& query) {
  if (absl::Status s = CheckSellerId(query.seller_id); !s.ok()) return s;
  auto conn = read_pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return wallet::ListHolds(**conn, query);
}

absl::StatusOr<int64_t> Wallet::SweepExpiredHolds() {
  std::vector<DueHold> due;
  {
    auto conn = read_pool_->Acquire();
    if (!conn.ok()) return conn.status();
    auto found = DueHolds(**conn, options_.sweep_batch_max);
    if (!found.ok()) return found.status();
    due = std::move(*found);
  }
  std::vector<std::future<bool>> released;
  released.reserve(due.size());
  for (const DueHold& hold : due) {
    auto promise = std::make_shared<std::promise<bool>>();
    released.push_back(promise->get_future());
    Op op;
    op.type = OpType::kExpire;
    op.seller_id = hold.seller_id;
    op.caller = "wallet-sweeper";
    op.hold_id = hold.hold_id;
    Submit(std::move(op), [promise](const absl::StatusOr<OpResult>& result) {
      // Another replica's sweeper, or a capture or release, may have resolved it first.
      promise->set_value(result.ok());
    });
  }
  int64_t count = 0;
  for (auto& f : released) count += f.get() ? 1 : 0;
  if (count > 0) Log(LogLevel::kInfo, "holds_expired", {{"count", count}});
  return count;
}

void Wallet::AuditAndPublish() {
  auto conn = read_pool_->Acquire();
  if (!conn.ok()) return;
  auto report = AuditLedger(**conn);
  if (!report.ok()) {
    Log(LogLevel::kWarn, "ledger_audit_failed_to_run",
        {{"error", std::string(report.status().message())}});
    return;
  }
  AuditOk()->Set({}, report->ok() ? 1 : 0);
  AuditProblems()->Set({}, static_cast<double>(report->problems.size()));
  AuditLastRun()->Set({}, absl::ToDoubleSeconds(clock_->Now() - absl::UnixEpoch()));
  Log(report->ok() ? LogLevel::kInfo : LogLevel::kError, "ledger_audit",
      {{"ok", report->ok()},
       {"wallets", report->wallets},
       {"entries", report->entries},
       {"problems", static_cast<int64_t>(report->problems.size())}});
}

void Wallet::SweepLoop() {
  Committer::Stats logged = committer_->stats();
  absl::Time logged_at = clock_->Now();
  absl::Time audited_at = absl::InfinitePast();
  for (;;) {
    if (options_.audit_interval > absl::ZeroDuration() &&
        clock_->Now() - audited_at >= options_.audit_interval) {
      AuditAndPublish();
      audited_at = clock_->Now();
    }
    if (clock_->Now() - logged_at >= absl::Seconds(10)) {
      const Committer::Stats now = committer_->stats();
      if (now.ops != logged.ops) {
        const int64_t batches = now.batches - logged.batches;
        Log(LogLevel::kInfo, "ledger_stats",
            {{"ops", now.ops - logged.ops},
             {"batches", batches},
             {"ops_per_batch",
              batches > 0 ? static_cast<double>(now.ops - logged.ops) / batches : 0.0},
             {"batch_retries", now.batch_retries - logged.batch_retries},
             {"claim_us_per_batch", batches > 0 ? (now.claim_us - logged.claim_us) / batches : 0},
             {"apply_us_per_batch", batches > 0 ? (now.apply_us - logged.apply_us) / batches : 0},
             {"finish_us_per_batch",
              batches > 0 ? (now.finish_us - logged.finish_us) / batches : 0}});
      }
      logged = now;
      logged_at = clock_->Now();
    }
    {
      MutexLock lock(&sweep_mu_);
      if (sweep_cv_.WaitFor(&sweep_mu_, absl::FromChrono(options_.sweep_interval),
                            [this]()
                                ABSL_EXCLUSIVE_LOCKS_REQUIRED(sweep_mu_) { return stopping_; })) {
        return;
      }
    }
    auto swept = SweepExpiredHolds();
    if (auto conn = read_pool_->Acquire(); conn.ok()) {
      if (auto pending = CountPendingHolds(**conn); pending.ok()) {
        HoldsPending()->Set({}, static_cast<double>(*pending));
      }
    }
    if (!swept.ok()) {
      Log(LogLevel::kWarn, "sweep_failed", {{"error", std::string(swept.status().message())}});
    }
    cache_->FlushPending();
  }
}

}  // namespace qcash::wallet
