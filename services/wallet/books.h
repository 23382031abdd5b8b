// The issuer's books (DESIGN.md section 8): balances at any past instant, for a seller and for
// the platform, and the Payment Services Act base-date report (前払式支払手段, 自家型).
//
// Everything here is derived from the journal, which is append-only and dated (created_at is
// the batch's time, read after its wallets are locked, so one seller's entries are in time
// order). A seller's balances at an instant are its last entry's; the platform's are sums over
// every entry before the instant, which `books_checkpoints` (migration 0004) keeps per whole JST
// hour with entries so that an answer reads one checkpoint and at most an hour of journal.
//
// Paid and free: an entry that moves lots (journal.lot_ids not empty) says in paid_yen the
// part of its amount in paid lots; the rest is free (points conversions). Entries written
// before lots existed name no lots; the Qcash they moved is counted paid (as the opening lots
// that replaced them are: the unused balance is never understated).
#ifndef QCASH_SERVICES_WALLET_BOOKS_H_
#define QCASH_SERVICES_WALLET_BOOKS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {

// How old a checkpoint's instant must be before it is written. A batch reads its time
// (clock_timestamp()) after locking its wallets and commits a few milliseconds later; every
// statement is bounded by statement_timeout (10 s, committer.cc). Ten minutes is far beyond
// that, so no transaction that dated an entry before the instant can still commit once the
// checkpoint is written (the open-transaction check in CatchUpCheckpoints is the second guard).
inline constexpr absl::Duration kCheckpointMargin = absl::Minutes(10);
inline constexpr absl::Duration kCheckpointStep = absl::Hours(1);
// Checkpoints written per call of CatchUpCheckpoints at most (one per hour with entries: a busy
// year takes nine runs of the job; each run is bounded).
inline constexpr int kCheckpointsPerRunMax = 1000;

// The platform's figures over every journal entry created before an instant.
struct BooksFigures {
  int64_t entries = 0;
  // Sums over all sellers of the seller accounts.
  int64_t seller_available_yen = 0;
  int64_t seller_held_yen = 0;
  int64_t seller_qmoney_yen = 0;
  int64_t seller_pending_yen = 0;
  // Platform accounts: credits - debits.
  int64_t provider_clearing_yen = 0;
  int64_t points_programme_yen = 0;
  int64_t ad_revenue_yen = 0;
  int64_t forfeiture_yen = 0;
  int64_t settlement_yen = 0;
  // Cumulative, from the entries that name their lots.
  int64_t paid_issued_yen = 0;     // credits' paid lots (charges, internal funds charges)
  int64_t paid_used_yen = 0;       // AD_SPEND and AD_CAPTURE's paid part
  int64_t paid_forfeited_yen = 0;  // FORFEIT's paid part (shop exit, W5)
  int64_t free_issued_yen = 0;     // points conversions
  int64_t free_used_yen = 0;
  int64_t free_forfeited_yen = 0;
  // Net available + held moved by entries written before lots existed (counted paid).
  int64_t before_lots_yen = 0;
  // The sellers' receivable accounts (credits - debits: never positive; minus all debts).
  int64_t seller_receivable_yen = 0;
  // Cumulative: Qcash that left the sellers without paying for an ad because a payment was
  // reversed (CLAWBACK) or a credit paid a debt (DEBT_RECOVERY); paid and free parts.
  int64_t paid_clawed_back_yen = 0;
  int64_t free_clawed_back_yen = 0;

  // Qcash unused (available + held) in free lots, and the rest: paid.
  int64_t free_unused_yen() const {
    return free_issued_yen - free_used_yen - free_forfeited_yen - free_clawed_back_yen;
  }
  int64_t paid_unused_yen() const {
    return seller_available_yen + seller_held_yen - free_unused_yen();
  }

  BooksFigures& operator+=(const BooksFigures& d);
  friend bool operator==(const BooksFigures& a, const BooksFigures& b);
};

// ------------------------------------------------------------------ base dates (pure)

// JST, where base dates end (UTC+9, no daylight saving).
absl::TimeZone Jst();

// The half-year a base date closes: [start, end), both midnight JST. `end` is the base date's
// 24:00 JST (the next day's 00:00:00.000000, which belongs to the next day and so to the next
// period), `start` the previous base date's.
struct BasePeriod {
  absl::CivilDay base_date;
  absl::Time start;
  absl::Time end;
};

// OK once the period has ended at least kCheckpointMargin before `now` (then no entry of it can
// still commit, and the report never changes). Errors: FAILED_PRECONDITION (BASE_DATE_NOT_PAST).
absl::Status CheckBaseDatePast(const BasePeriod& period, absl::Time now);

// Parses "YYYY-03-31" or "YYYY-09-30" (years 2000..2999). Errors: INVALID_ARGUMENT
// (INVALID_BASE_DATE).
absl::StatusOr<BasePeriod> ParseBaseDate(absl::string_view text);

// The first whole JST hour at or after `t` (checkpoint instants).
absl::Time CeilToJstHour(absl::Time t);
absl::Time FloorToJstHour(absl::Time t);

struct BaseDateReport {
  BasePeriod period;
  int64_t paid_unused_previous_yen = 0;
  int64_t paid_issued_yen = 0;
  int64_t paid_used_yen = 0;
  int64_t paid_forfeited_yen = 0;
  int64_t paid_recovered_yen = 0;  // used + forfeited + clawed back
  int64_t paid_before_lots_yen = 0;
  int64_t paid_unused_yen = 0;
  bool above_threshold = false;
  int64_t deposit_required_yen = 0;
  int64_t free_unused_previous_yen = 0;
  int64_t free_issued_yen = 0;
  int64_t free_used_yen = 0;
  int64_t free_forfeited_yen = 0;
  int64_t free_unused_yen = 0;
  // CLAWBACK and DEBT_RECOVERY in the period (DESIGN.md section 9): the issue was undone.
  int64_t paid_clawed_back_yen = 0;
  int64_t free_clawed_back_yen = 0;
};

// Above this unused balance of paid Qcash at a base date a deposit is required.
inline constexpr int64_t kDepositThresholdYen = 10'000'000;

// The report from the figures before the period's start and before its end. Pure.
BaseDateReport MakeBaseDateReport(const BasePeriod& period, const BooksFigures& at_start,
                                  const BooksFigures& at_end);

// ------------------------------------------------------------------ the database

// The figures over the journal entries created before `before`: the last checkpoint at or
// before it plus the journal in between. Errors: the database's.
absl::StatusOr<BooksFigures> FiguresBefore(PgConnection& conn, absl::Time before);

// Writes the missing checkpoints, oldest first, up to the last whole JST hour at least
// kCheckpointMargin before `now` (the clock that dates the entries) and before the start of every
// other open transaction (the limit): one at the end of each hour that has entries, and one at the
// limit; at most `max`. Idempotent (a checkpoint another replica wrote first is kept). Returns how
// many it wrote. Errors: the database's.
absl::StatusOr<int> CatchUpCheckpoints(PgConnection& conn, absl::Time now,
                                       int max = kCheckpointsPerRunMax);

// The database's clock, which dates the journal's entries. Errors: the database's.
absl::StatusOr<absl::Time> DatabaseNow(PgConnection& conn);

// The newest checkpoint's instant; InfinitePast when there is none.
absl::StatusOr<absl::Time> LastCheckpoint(PgConnection& conn);

struct SellerBalanceAt {
  Balance balance;  // version is 0: the journal records entries, not operations
  int64_t last_entry_seq = 0;
  int64_t paid_unused_yen = 0;
  int64_t free_unused_yen = 0;
};

// The seller's balances after its last journal entry created at or before `at` (zero when it
// has none yet). Errors: NOT_FOUND (WALLET_NOT_FOUND) when the seller has no wallet now; the
// database's.
absl::StatusOr<SellerBalanceAt> LoadSellerBalanceAt(PgConnection& conn,
                                                    const std::string& seller_id, absl::Time at);

// The books as the wallet serves them: a small pool of its own (reads that may scan an hour of
// journal never wait behind the balance reads) and the checkpoint job, a thread that catches
// up every `checkpoint_interval`.
class Books {
 public:
  struct Options {
    std::string database_url;
    int pool_size = 4;  // the job and three calls at a time; a fifth waits (2 s at most)
    absl::Duration checkpoint_interval = absl::Minutes(1);  // 0: no job (on demand only)
    // The wallet's test clock (Committer::Options::batch_time): when it answers a time, the
    // batches are dated by it and so it is the books' "now"; otherwise the database's clock,
    // which dates the entries, decides which hours may be checkpointed and which base dates
    // are past (never the process's clock, which may run ahead of it).
    std::function<std::optional<absl::Time>()> batch_time;
  };

  // REQUIRES: the schema is migrated.
  static std::unique_ptr<Books> Start(Options options);
  ~Books();  // Stop()
  Books(const Books&) = delete;
  Books& operator=(const Books&) = delete;
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // As LoadSellerBalanceAt. Errors: its, UNAVAILABLE.
  absl::StatusOr<SellerBalanceAt> BalanceAt(const std::string& seller_id, absl::Time at);
  // The platform's figures over the entries created at or before `at`, after catching up the
  // checkpoints (at most kCheckpointsPerRunMax). Errors: the database's.
  absl::StatusOr<BooksFigures> PlatformAt(absl::Time at);
  // The base-date report of `base_date` ("YYYY-03-31" / "YYYY-09-30"). Errors: INVALID_ARGUMENT
  // (INVALID_BASE_DATE), FAILED_PRECONDITION (BASE_DATE_NOT_PAST), the database's.
  absl::StatusOr<BaseDateReport> Report(absl::string_view base_date);
  // Writes the checkpoints that are due (the job's step). Returns how many.
  absl::StatusOr<int> CatchUp();
  // "Now" for the books and the statements: the test clock's instant once set, else the
  // database's clock read on `conn` (the clock that dates the entries). Errors: the database's.
  absl::StatusOr<absl::Time> Now(PgConnection& conn);

 private:
  explicit Books(Options options);
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  PgPool pool_;
  Mutex mu_;
  CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread job_;
};

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_BOOKS_H_
