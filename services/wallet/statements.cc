#include "services/wallet/statements.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"
#include "services/wallet/books.h"
#include "services/wallet/store.h"

namespace qcash::wallet {
namespace {

// The entry types below are written as numbers in the SQL (ledger.h EntryType).
static_assert(static_cast<int>(EntryType::kCharge) == 1);
static_assert(static_cast<int>(EntryType::kPointsConversion) == 2);
static_assert(static_cast<int>(EntryType::kAdSpend) == 3);
static_assert(static_cast<int>(EntryType::kAdCapture) == 5);
static_assert(static_cast<int>(EntryType::kInternalFundsCharge) == 9);
static_assert(static_cast<int>(EntryType::kForfeit) == 11);

// A statement line is an AD_SPEND or an AD_CAPTURE: the moments Qcash pays for an ad (the
// service is provided and paid). A hold only reserves, its remainder, release or expiry return
// Qcash unused: none of them is a consideration. The paid part: paid_yen when the entry names
// lots, all of it when it names none (written before lots existed; counted paid as in books.h).
// One seller's range of the index journal_seller_time (seller_id, created_at); times as Unix
// microseconds, as ListHistory takes them.
constexpr PgStatement kStatementPage = {
    "wallet_statement_page",
    "SELECT seq, entry_type, (extract(epoch FROM created_at) * 1000000)::bigint, product, "
    "reference, amount_yen, CASE WHEN cardinality(lot_ids) > 0 THEN paid_yen ELSE amount_yen END "
    "FROM journal WHERE seller_id = $1 AND entry_type IN (3, 5) "
    "AND created_at >= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond' "
    "AND created_at < 'epoch'::timestamptz + $3::bigint * interval '1 microsecond' "
    "AND seq > $4::bigint ORDER BY seq LIMIT $5"};

// The month's totals per product: the same rows as every page together.
constexpr PgStatement kStatementTotals = {
    "wallet_statement_totals",
    "SELECT product, count(*), sum(amount_yen)::bigint, "
    "sum(CASE WHEN cardinality(lot_ids) > 0 THEN paid_yen ELSE amount_yen END)::bigint "
    "FROM journal WHERE seller_id = $1 AND entry_type IN (3, 5) "
    "AND created_at >= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond' "
    "AND created_at < 'epoch'::timestamptz + $3::bigint * interval '1 microsecond' "
    "GROUP BY product ORDER BY product"};

// Per JST month ("YYYY-MM" of the time shifted by nine hours: JST has no daylight saving), entry
// type and product: charges (1, 9), conversions (2), ad spends and captures (3, 5), forfeitures
// (11), claw-backs (12) and debt recoveries (14). One grouped scan of the seller's range of
// journal_seller_time.
constexpr PgStatement kActivity = {
    "wallet_monthly_activity",
    "SELECT to_char((created_at AT TIME ZONE 'UTC') + interval '9 hours', 'YYYY-MM'), "
    "entry_type, product, sum(amount_yen)::bigint "
    "FROM journal WHERE seller_id = $1 AND entry_type IN (1, 2, 3, 5, 9, 11, 12, 14) "
    "AND created_at >= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond' "
    "AND created_at < 'epoch'::timestamptz + $3::bigint * interval '1 microsecond' "
    "GROUP BY 1, 2, 3"};

std::string Micros(absl::Time t) { return absl::StrCat(absl::ToUnixMicros(t)); }

}  // namespace

std::string MonthPeriod::Name() const {
  return absl::StrFormat("%04d-%02d", month.year(), month.month());
}

MonthPeriod PeriodOf(absl::CivilMonth month) {
  MonthPeriod p;
  p.month = month;
  p.start = absl::FromCivil(month, Jst());
  p.end = absl::FromCivil(month + 1, Jst());
  return p;
}

absl::CivilMonth JstMonthOf(absl::Time t) {
  return absl::CivilMonth(absl::ToCivilSecond(t, Jst()));
}

absl::StatusOr<MonthPeriod> ParseMonth(absl::string_view text) {
  int year = 0, month = 0;
  const bool digits = text.size() == 7 && text[4] == '-' && [&text] {
    for (size_t i = 0; i < text.size(); ++i) {
      if (i != 4 && !(text[i] >= '0' && text[i] <= '9')) return false;
    }
    return true;
  }();
  if (!digits || !absl::SimpleAtoi(text.substr(0, 4), &year) ||
      !absl::SimpleAtoi(text.substr(5, 2), &month) || year < 2000 || year > 2999 || month < 1 ||
      month > 12) {
    return InvalidArgument(v1::INVALID_MONTH,
                           absl::StrCat("month \"", text.substr(0, 32),
                                        "\" is not YYYY-MM (years 2000-2999, months 01-12)"));
  }
  return PeriodOf(absl::CivilMonth(year, month));
}

bool MonthClosed(const MonthPeriod& period, absl::Time now) {
  return period.end + kCheckpointMargin <= now;
}

int64_t IncludedConsumptionTax(int64_t taxable_yen) {
  // Integer division truncates toward zero, which for a non-negative amount is the floor the
  // invoice rules ask for (切捨て).
  return taxable_yen * kConsumptionTaxPercent / (100 + kConsumptionTaxPercent);
}

absl::StatusOr<MonthlyStatement> LoadMonthlyStatement(PgConnection& conn,
                                                      const StatementQuery& query, absl::Time now) {
  if (query.period.start > now) {
    return InvalidArgument(v1::MONTH_IN_FUTURE,
                           absl::StrCat("month ", query.period.Name(), " has not begun (it starts ",
                                        absl::FormatTime(query.period.start, Jst()), ")"));
  }
  MonthlyStatement out;
  out.period = query.period;
  // `now` was read before the snapshot below is taken: when it says closed, every entry of the
  // month had committed before the snapshot, so the answer is final.
  out.closed = MonthClosed(query.period, now);
  const std::string from = Micros(query.period.start), to = Micros(query.period.end);

  // The page and the totals from one snapshot: a line committed between the two statements
  // would otherwise be counted in one and not the other.
  auto tx = PgTransaction::Begin(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!tx.ok()) return tx.status();
  auto page = conn.Exec(kStatementPage, {query.seller_id, from, to, absl::StrCat(query.after_seq),
                                         absl::StrCat(query.page_size + 1)});
  if (!page.ok()) return page.status();
  const int shown = std::min(page->rows(), query.page_size);
  out.lines.reserve(static_cast<size_t>(shown));
  for (int i = 0; i < shown; ++i) {
    StatementLine line;
    line.entry_seq = page->GetInt64(i, 0);
    line.type = static_cast<EntryType>(page->GetInt64(i, 1));
    line.created_at = absl::FromUnixMicros(page->GetInt64(i, 2));
    line.product = static_cast<int16_t>(page->GetInt64(i, 3));
    line.reference = std::string(page->Get(i, 4));
    line.amount_yen = page->GetInt64(i, 5);
    line.paid_yen = page->GetInt64(i, 6);
    out.lines.push_back(std::move(line));
  }
  // One more row than the page: another page follows, after the last line shown.
  if (page->rows() > shown) out.next_after_seq = out.lines.back().entry_seq;

  auto totals = conn.Exec(kStatementTotals, {query.seller_id, from, to});
  if (!totals.ok()) return totals.status();
  for (int i = 0; i < totals->rows(); ++i) {
    StatementProductTotal t;
    t.product = static_cast<int16_t>(totals->GetInt64(i, 0));
    t.lines = totals->GetInt64(i, 1);
    t.amount_yen = totals->GetInt64(i, 2);
    t.paid_yen = totals->GetInt64(i, 3);
    out.line_count += t.lines;
    out.total_yen += t.amount_yen;
    out.free_yen += t.free_yen();
    out.products.push_back(t);
  }
  if (out.line_count == 0) {
    if (absl::Status s = CheckWalletExists(conn, query.seller_id); !s.ok()) return s;
  }
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  return out;
}

int64_t MonthActivity::spent_yen() const {
  int64_t sum = 0;
  for (const auto& [product, yen] : spent) sum += yen;
  return sum;
}

absl::StatusOr<std::vector<MonthActivity>> LoadMonthlyActivity(PgConnection& conn,
                                                               const std::string& seller_id,
                                                               int months, absl::Time now) {
  const absl::CivilMonth current = JstMonthOf(now);
  const absl::CivilMonth first = current - months;
  std::vector<MonthActivity> out;
  std::map<std::string, size_t> index;  // "YYYY-MM" -> position in out
  for (absl::CivilMonth m = first; m <= current; ++m) {
    MonthActivity a;
    a.period = PeriodOf(m);
    a.partial = m == current;
    index[a.period.Name()] = out.size();
    out.push_back(std::move(a));
  }
  auto r = conn.Exec(kActivity,
                     {seller_id, Micros(out.front().period.start), Micros(out.back().period.end)});
  if (!r.ok()) return r.status();
  // Per month, product -> yen (products in number order).
  std::vector<std::map<int16_t, int64_t>> spent(out.size());
  for (int i = 0; i < r->rows(); ++i) {
    // Every row's month is one of `out`: the statement reads their range only.
    auto it = index.find(std::string(r->Get(i, 0)));
    if (it == index.end()) continue;
    MonthActivity& a = out[it->second];
    const int64_t yen = r->GetInt64(i, 3);
    switch (static_cast<EntryType>(r->GetInt64(i, 1))) {
      case EntryType::kCharge:
      case EntryType::kInternalFundsCharge:
        a.charged_yen += yen;
        break;
      case EntryType::kPointsConversion:
        a.converted_yen += yen;
        break;
      case EntryType::kAdSpend:
      case EntryType::kAdCapture:
        spent[it->second][static_cast<int16_t>(r->GetInt64(i, 2))] += yen;
        break;
      case EntryType::kForfeit:
        a.forfeited_yen += yen;
        break;
      case EntryType::kClawBack:
        a.clawed_back_yen += yen;
        break;
      case EntryType::kDebtRecovery:
        a.debt_recovered_yen += yen;
        break;
      default:
        break;  // not selected by the statement
    }
  }
  const bool any = r->rows() > 0;
  for (size_t i = 0; i < out.size(); ++i) {
    for (const auto& [product, yen] : spent[i]) {
      if (yen != 0) out[i].spent.emplace_back(product, yen);
    }
  }
  if (!any) {
    if (absl::Status s = CheckWalletExists(conn, seller_id); !s.ok()) return s;
  }
  return out;
}

}  // namespace qcash::wallet
