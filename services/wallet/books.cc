#include "services/wallet/books.h"

#include <algorithm>
#include <array>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::wallet {
namespace {

// The figures of BooksFigures, in the order of the columns of books_checkpoints after `at` and
// of the sums below; the member pointers keep the three in step.
constexpr std::array<int64_t BooksFigures::*, 20> kFields = {
    &BooksFigures::entries,
    &BooksFigures::seller_available_yen,
    &BooksFigures::seller_held_yen,
    &BooksFigures::seller_qmoney_yen,
    &BooksFigures::seller_pending_yen,
    &BooksFigures::provider_clearing_yen,
    &BooksFigures::points_programme_yen,
    &BooksFigures::ad_revenue_yen,
    &BooksFigures::forfeiture_yen,
    &BooksFigures::settlement_yen,
    &BooksFigures::paid_issued_yen,
    &BooksFigures::paid_used_yen,
    &BooksFigures::paid_forfeited_yen,
    &BooksFigures::free_issued_yen,
    &BooksFigures::free_used_yen,
    &BooksFigures::free_forfeited_yen,
    &BooksFigures::before_lots_yen,
    &BooksFigures::seller_receivable_yen,
    &BooksFigures::paid_clawed_back_yen,
    &BooksFigures::free_clawed_back_yen,
};
constexpr const char* kColumns =
    "entries, seller_available, seller_held, seller_qmoney, seller_pending, provider_clearing, "
    "points_programme, ad_revenue, forfeiture, settlement, paid_issued, paid_used, "
    "paid_forfeited, free_issued, free_used, free_forfeited, before_lots, seller_receivable, "
    "paid_clawed_back, free_clawed_back";

// Credits - debits of `account` over the selected rows.
std::string AccountSum(int account) {
  return absl::StrCat("coalesce(sum(amount_yen) FILTER (WHERE credit_account = ", account,
                      "), 0) - coalesce(sum(amount_yen) FILTER (WHERE debit_account = ", account,
                      "), 0)");
}

// Entry types (ledger.h EntryType): credits that create a lot, debits that consume lots by use
// (ads) and by forfeiture (shop exit).
constexpr const char* kIssuing = "(1, 2, 9)";  // CHARGE, POINTS_CONVERSION, INTERNAL_FUNDS_CHARGE
constexpr const char* kUsing = "(3, 5)";       // AD_SPEND, AD_CAPTURE
constexpr const char* kForfeiting = "(11)";    // FORFEIT
// Debits that undo an issue (DESIGN.md section 9): CLAWBACK, DEBT_RECOVERY. DEBT (13) moves no
// Qcash: what it records was spent (and counted used) already.
constexpr const char* kClawingBack = "(12, 14)";

// Every seller's journal rows in [$1, $2): the platform's books are sums over all sellers.
constexpr char kJournalRangeSql[] =
    "SELECT entry_type, debit_account, credit_account, amount_yen, paid_yen, "
    "cardinality(lot_ids) > 0 AS has_lots FROM journal "
    "WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz";

// The first entry of any seller in [$1, $2): where the next checkpoint is due.
constexpr char kNextEntrySql[] =
    "SELECT (extract(epoch FROM min(created_at)) * 1000000)::bigint FROM journal "
    "WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz";

// The figures over the journal rows with created_at in [$1, $2) (timestamps as text): one scan
// of that range of the BRIN index journal_time.
const std::string& DeltaSql() {
  static const std::string* sql = [] {
    std::vector<std::string> sums = {"count(*)"};
    for (int account : {1, 2, 3, 4, 101, 102, 103, 104, 105}) sums.push_back(AccountSum(account));
    for (const char* types : {kIssuing, kUsing, kForfeiting}) {
      sums.push_back(absl::StrCat(
          "coalesce(sum(paid_yen) FILTER (WHERE has_lots AND entry_type IN ", types, "), 0)"));
    }
    for (const char* types : {kIssuing, kUsing, kForfeiting}) {
      sums.push_back(
          absl::StrCat("coalesce(sum(amount_yen - paid_yen) FILTER (WHERE has_lots AND "
                       "entry_type IN ",
                       types, "), 0)"));
    }
    // Before lots: what entered available + held from outside it, minus what left it.
    sums.push_back(
        "coalesce(sum(amount_yen) FILTER (WHERE NOT has_lots AND credit_account IN (1, 2) AND "
        "debit_account NOT IN (1, 2)), 0) - coalesce(sum(amount_yen) FILTER (WHERE NOT has_lots "
        "AND debit_account IN (1, 2) AND credit_account NOT IN (1, 2)), 0)");
    sums.push_back(AccountSum(5));  // the receivable (migration 0006)
    sums.push_back(absl::StrCat("coalesce(sum(paid_yen) FILTER (WHERE has_lots AND entry_type IN ",
                                kClawingBack, "), 0)"));
    sums.push_back(
        absl::StrCat("coalesce(sum(amount_yen - paid_yen) FILTER (WHERE has_lots AND "
                     "entry_type IN ",
                     kClawingBack, "), 0)"));
    std::string select;
    for (const std::string& s : sums) {
      absl::StrAppend(&select, select.empty() ? "" : ", ", "(", s, ")::bigint");
    }
    return new std::string(absl::StrCat("SELECT ", select, " FROM (", kJournalRangeSql, ") j"));
  }();
  return *sql;
}

std::string SqlTime(absl::Time t) {
  if (t == absl::InfinitePast()) return "-infinity";
  if (t == absl::InfiniteFuture()) return "infinity";
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", t, absl::UTCTimeZone());
}

absl::Time MicrosTime(const PgResult& r, int row, int column) {
  return absl::FromUnixMicros(r.GetInt64(row, column));
}

BooksFigures FiguresOf(const PgResult& r, int row, int first_column) {
  BooksFigures f;
  for (size_t i = 0; i < kFields.size(); ++i) {
    f.*kFields[i] = r.GetInt64(row, first_column + static_cast<int>(i));
  }
  return f;
}

absl::StatusOr<BooksFigures> JournalBetween(PgConnection& conn, absl::Time from, absl::Time to) {
  auto r = conn.Exec(DeltaSql(), {SqlTime(from), SqlTime(to)});
  if (!r.ok()) return r.status();
  return FiguresOf(*r, 0, 0);
}

struct Checkpoint {
  absl::Time at = absl::InfinitePast();  // InfinitePast: none (figures zero)
  BooksFigures figures;
};

// The newest checkpoint at or before `t`.
absl::StatusOr<Checkpoint> CheckpointAtOrBefore(PgConnection& conn, absl::Time t) {
  auto r = conn.Exec(absl::StrCat("SELECT (extract(epoch FROM at) * 1000000)::bigint, ", kColumns,
                                  " FROM books_checkpoints WHERE at <= $1::timestamptz "
                                  "ORDER BY at DESC LIMIT 1"),
                     {SqlTime(t)});
  if (!r.ok()) return r.status();
  Checkpoint cp;
  if (r->rows() == 0) return cp;
  cp.at = MicrosTime(*r, 0, 0);
  cp.figures = FiguresOf(*r, 0, 1);
  return cp;
}

absl::Status InsertCheckpoint(PgConnection& conn, absl::Time at, const BooksFigures& f) {
  PgParams params = {SqlTime(at)};
  std::string values = "$1::timestamptz";
  for (size_t i = 0; i < kFields.size(); ++i) {
    params.push_back(absl::StrCat(f.*kFields[i]));
    absl::StrAppend(&values, ", $", i + 2, "::bigint");
  }
  auto r = conn.Exec(absl::StrCat("INSERT INTO books_checkpoints (at, ", kColumns, ") VALUES (",
                                  values, ") ON CONFLICT (at) DO NOTHING"),
                     params);
  return r.status();
}

metrics::Gauge* CheckpointLag() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_wallet_books_checkpoint_lag_seconds",
      "How far the newest checkpoint of the issuer's books is behind now (normally between the "
      "margin, 10 minutes, and the margin plus an hour).");
  return gauge;
}

metrics::Counter* CheckpointsWritten() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_wallet_books_checkpoints_total", "Checkpoints of the issuer's books written.", {});
  return counter;
}

}  // namespace

BooksFigures& BooksFigures::operator+=(const BooksFigures& d) {
  for (auto field : kFields) this->*field += d.*field;
  return *this;
}

bool operator==(const BooksFigures& a, const BooksFigures& b) {
  for (auto field : kFields) {
    if (a.*field != b.*field) return false;
  }
  return true;
}

absl::TimeZone Jst() { return absl::FixedTimeZone(9 * 3600); }

absl::StatusOr<BasePeriod> ParseBaseDate(absl::string_view text) {
  auto invalid = [&text]() {
    return InvalidArgument(v1::INVALID_BASE_DATE,
                           absl::StrCat("base date \"", text.substr(0, 32),
                                        "\" is not YYYY-03-31 or YYYY-09-30 (years 2000-2999)"));
  };
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  int year = 0;
  if (text.size() != 10 || parts.size() != 3 || parts[0].size() != 4 ||
      !absl::SimpleAtoi(parts[0], &year) || year < 2000 || year > 2999 ||
      !(parts[0][0] >= '0' && parts[0][0] <= '9')) {
    return invalid();
  }
  BasePeriod p;
  if (parts[1] == "03" && parts[2] == "31") {
    p.base_date = absl::CivilDay(year, 3, 31);
    p.start = absl::FromCivil(absl::CivilDay(year - 1, 10, 1), Jst());
  } else if (parts[1] == "09" && parts[2] == "30") {
    p.base_date = absl::CivilDay(year, 9, 30);
    p.start = absl::FromCivil(absl::CivilDay(year, 4, 1), Jst());
  } else {
    return invalid();
  }
  p.end = absl::FromCivil(p.base_date + 1, Jst());
  return p;
}

absl::Status CheckBaseDatePast(const BasePeriod& period, absl::Time now) {
  if (period.end + kCheckpointMargin <= now) return absl::OkStatus();
  return FailedPrecondition(
      v1::BASE_DATE_NOT_PAST,
      absl::StrCat("the period of base date ", absl::FormatCivilTime(period.base_date), " ends at ",
                   absl::FormatTime(period.end, Jst()), "; its report is final from ",
                   absl::FormatTime(period.end + kCheckpointMargin, Jst())));
}

absl::Time FloorToJstHour(absl::Time t) {
  return absl::FromCivil(absl::ToCivilHour(t, Jst()), Jst());
}

absl::Time CeilToJstHour(absl::Time t) {
  const absl::Time floor = FloorToJstHour(t);
  return floor == t ? t : floor + absl::Hours(1);
}

BaseDateReport MakeBaseDateReport(const BasePeriod& period, const BooksFigures& s,
                                  const BooksFigures& e) {
  BaseDateReport r;
  r.period = period;
  r.paid_unused_previous_yen = s.paid_unused_yen();
  r.paid_issued_yen = e.paid_issued_yen - s.paid_issued_yen;
  r.paid_used_yen = e.paid_used_yen - s.paid_used_yen;
  r.paid_forfeited_yen = e.paid_forfeited_yen - s.paid_forfeited_yen;
  r.paid_clawed_back_yen = e.paid_clawed_back_yen - s.paid_clawed_back_yen;
  r.free_clawed_back_yen = e.free_clawed_back_yen - s.free_clawed_back_yen;
  r.paid_recovered_yen = r.paid_used_yen + r.paid_forfeited_yen + r.paid_clawed_back_yen;
  r.paid_before_lots_yen = e.before_lots_yen - s.before_lots_yen;
  r.paid_unused_yen = e.paid_unused_yen();
  r.above_threshold = r.paid_unused_yen > kDepositThresholdYen;
  // At least half, in whole yen: rounded up.
  r.deposit_required_yen = r.above_threshold ? r.paid_unused_yen / 2 + r.paid_unused_yen % 2 : 0;
  r.free_unused_previous_yen = s.free_unused_yen();
  r.free_issued_yen = e.free_issued_yen - s.free_issued_yen;
  r.free_used_yen = e.free_used_yen - s.free_used_yen;
  r.free_forfeited_yen = e.free_forfeited_yen - s.free_forfeited_yen;
  r.free_unused_yen = e.free_unused_yen();
  return r;
}

absl::StatusOr<BooksFigures> FiguresBefore(PgConnection& conn, absl::Time before) {
  // A checkpoint at `before` covers exactly the entries before it.
  auto cp = CheckpointAtOrBefore(conn, before);
  if (!cp.ok()) return cp.status();
  auto delta = JournalBetween(conn, cp->at, before);
  if (!delta.ok()) return delta.status();
  cp->figures += *delta;
  return cp->figures;
}

absl::StatusOr<absl::Time> LastCheckpoint(PgConnection& conn) {
  auto cp = CheckpointAtOrBefore(conn, absl::InfiniteFuture());
  if (!cp.ok()) return cp.status();
  return cp->at;
}

absl::StatusOr<absl::Time> DatabaseNow(PgConnection& conn) {
  auto db = conn.Exec("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint");
  if (!db.ok()) return db.status();
  return MicrosTime(*db, 0, 0);
}

absl::StatusOr<int> CatchUpCheckpoints(PgConnection& conn, absl::Time now, int max) {
  absl::Time limit = FloorToJstHour(now - kCheckpointMargin);
  // Second guard: an open transaction may still write entries dated from its start on (a
  // batch's time is read inside it), so no checkpoint goes past the oldest start.
  auto open = conn.Exec(
      "SELECT (extract(epoch FROM min(xact_start)) * 1000000)::bigint FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid() "
      "AND backend_type = 'client backend' AND xact_start IS NOT NULL");
  if (!open.ok()) return open.status();
  if (!open->IsNull(0, 0)) limit = std::min(limit, FloorToJstHour(MicrosTime(*open, 0, 0)));

  auto last = CheckpointAtOrBefore(conn, absl::InfiniteFuture());
  if (!last.ok()) return last.status();
  Checkpoint cp = *last;  // none yet: from the start of the journal, figures zero
  int written = 0;
  while (written < max && cp.at < limit) {
    // Hours without entries need no checkpoint of their own (the one before answers for them
    // with an empty stretch of journal): jump to the end of the hour of the next entry. The
    // journal is appended in time order, so this range is the table's tail.
    auto next = conn.Exec(kNextEntrySql, {SqlTime(cp.at), SqlTime(limit)});
    if (!next.ok()) return next.status();
    // Nothing before the limit and no checkpoint yet: the books start with the first entry.
    if (next->IsNull(0, 0) && cp.at == absl::InfinitePast()) break;
    // No entry before the limit: one checkpoint at the limit marks how far the books are
    // known (the lag metric), with the same figures.
    const absl::Time at =
        next->IsNull(0, 0)
            ? limit
            : std::min(limit, FloorToJstHour(MicrosTime(*next, 0, 0)) + kCheckpointStep);
    auto delta = JournalBetween(conn, cp.at, at);
    if (!delta.ok()) return delta.status();
    cp.figures += *delta;
    cp.at = at;
    // Another replica may have written the same checkpoint: from the same journal, the same
    // figures; theirs is kept.
    if (absl::Status s = InsertCheckpoint(conn, at, cp.figures); !s.ok()) return s;
    ++written;
  }
  return written;
}

absl::StatusOr<SellerBalanceAt> LoadSellerBalanceAt(PgConnection& conn,
                                                    const std::string& seller_id, absl::Time at) {
  const std::string t = SqlTime(at);
  auto wallet = conn.Exec(
      "SELECT coalesce(closed_at <= $2::timestamptz, false) FROM wallets WHERE seller_id = $1",
      {seller_id, t});
  if (!wallet.ok()) return wallet.status();
  if (wallet->rows() == 0) {
    return NotFound(v1::WALLET_NOT_FOUND, absl::StrCat("no wallet for seller ", seller_id));
  }
  SellerBalanceAt out;
  out.balance.seller_id = seller_id;
  out.balance.state = wallet->GetBool(0, 0) ? WalletState::kClosed : WalletState::kOpen;
  // The seller's entries are in time order (the batch time is read under the wallet's lock):
  // the last one at or before `at` carries the balances of that instant.
  auto last = conn.Exec(
      "SELECT seq, available_after, held_after, qmoney_after, pending_after, debt_after "
      "FROM journal "
      "WHERE seller_id = $1 AND created_at <= $2::timestamptz "
      "ORDER BY created_at DESC, seq DESC LIMIT 1",
      {seller_id, t});
  if (!last.ok()) return last.status();
  if (last->rows() == 0) return out;
  out.last_entry_seq = last->GetInt64(0, 0);
  out.balance.available_yen = last->GetInt64(0, 1);
  out.balance.held_yen = last->GetInt64(0, 2);
  out.balance.qmoney_yen = last->GetInt64(0, 3);
  out.balance.pending_yen = last->GetInt64(0, 4);
  out.balance.debt_yen = last->GetInt64(0, 5);
  // Free Qcash left = free parts credited - free parts used or forfeited (holds and their
  // releases move lots between available and held, unused either way); the rest is paid.
  auto free =
      conn.Exec(absl::StrCat("SELECT coalesce(sum(CASE WHEN entry_type IN ", kIssuing,
                             " THEN amount_yen - paid_yen WHEN entry_type IN ", kUsing,
                             " OR entry_type IN ", kForfeiting, " OR entry_type IN ", kClawingBack,
                             " THEN paid_yen - amount_yen ELSE 0 END), 0)::bigint "
                             "FROM journal WHERE seller_id = $1 AND created_at <= "
                             "$2::timestamptz AND cardinality(lot_ids) > 0"),
                {seller_id, t});
  if (!free.ok()) return free.status();
  out.free_unused_yen = free->GetInt64(0, 0);
  out.paid_unused_yen = out.balance.total_yen() - out.free_unused_yen;
  return out;
}

Books::Books(Options options)
    : options_(std::move(options)),
      pool_(options_.database_url, "qcash-wallet-books", options_.pool_size) {}

std::unique_ptr<Books> Books::Start(Options options) {
  std::unique_ptr<Books> books(new Books(std::move(options)));
  if (books->options_.checkpoint_interval > absl::ZeroDuration()) {
    Books* b = books.get();
    books->job_ = std::thread([b] { b->Run(); });
  }
  return books;
}

Books::~Books() { Stop(); }

void Books::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  if (job_.joinable()) job_.join();
}

void Books::Run() {
  for (;;) {
    auto written = CatchUp();
    if (!written.ok()) {
      Log(LogLevel::kWarn, "books_checkpoint_failed",
          {{"error", std::string(written.status().message())}});
    }
    MutexLock lock(&mu_);
    if (cv_.WaitFor(&mu_, options_.checkpoint_interval,
                    [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; })) {
      return;
    }
  }
}

absl::StatusOr<absl::Time> Books::Now(PgConnection& conn) {
  if (options_.batch_time) {
    if (std::optional<absl::Time> fixed = options_.batch_time()) return *fixed;
  }
  return DatabaseNow(conn);
}

absl::StatusOr<int> Books::CatchUp() {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  auto now = Now(**conn);
  if (!now.ok()) return now.status();
  auto written = CatchUpCheckpoints(**conn, *now);
  if (!written.ok()) return written.status();
  if (*written > 0) {
    CheckpointsWritten()->Add({}, *written);
    Log(LogLevel::kInfo, "books_checkpoints", {{"written", static_cast<int64_t>(*written)}});
  }
  auto last = LastCheckpoint(**conn);
  if (last.ok() && *last != absl::InfinitePast()) {
    CheckpointLag()->Set({}, absl::ToDoubleSeconds(*now - *last));
  }
  return written;
}

absl::StatusOr<SellerBalanceAt> Books::BalanceAt(const std::string& seller_id, absl::Time at) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return LoadSellerBalanceAt(**conn, seller_id, at);
}

absl::StatusOr<BooksFigures> Books::PlatformAt(absl::Time at) {
  if (absl::StatusOr<int> caught = CatchUp(); !caught.ok()) return caught.status();
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  // At or before `at`: before the next microsecond (PostgreSQL's resolution).
  return FiguresBefore(**conn, at + absl::Microseconds(1));
}

absl::StatusOr<BaseDateReport> Books::Report(absl::string_view base_date) {
  auto period = ParseBaseDate(base_date);
  if (!period.ok()) return period.status();
  if (absl::StatusOr<int> caught = CatchUp(); !caught.ok()) return caught.status();
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  auto now = Now(**conn);
  if (!now.ok()) return now.status();
  if (absl::Status s = CheckBaseDatePast(*period, *now); !s.ok()) return s;
  auto start = FiguresBefore(**conn, period->start);
  if (!start.ok()) return start.status();
  auto end = FiguresBefore(**conn, period->end);
  if (!end.ok()) return end.status();
  return MakeBaseDateReport(*period, *start, *end);
}

}  // namespace qcash::wallet
