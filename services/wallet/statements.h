// The seller's monthly statement (the qualified invoice of its ad usage, docs/INVOICES.md) and
// its monthly activity (the balance page's chart): reads of one seller's journal per calendar
// month in Japan time (UTC+9, books.h Jst()).
//
// Both are computed from the journal alone, which is append-only and dated by the batch that
// wrote it, so a statement never disagrees with ListHistory, and a month that ended at least
// kCheckpointMargin ago (no entry of it can still commit: books.h) answers the same forever.
//
// Paid and free as in books.h: an entry that names lots says in paid_yen the part of its
// amount in paid lots, the rest is free (points conversions); an entry written before lots
// existed names none and its paid_yen is 0: all of it counts paid (as the opening lot that
// replaced the balance of that time is paid).
#ifndef QCASH_SERVICES_WALLET_STATEMENTS_H_
#define QCASH_SERVICES_WALLET_STATEMENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/pg.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {

// ------------------------------------------------------------------ months (pure)

// One calendar month in Japan time: [start, end), both 00:00 JST on the first day.
struct MonthPeriod {
  absl::CivilMonth month;
  absl::Time start;
  absl::Time end;  // the next month's start

  std::string Name() const;  // "YYYY-MM"
};

MonthPeriod PeriodOf(absl::CivilMonth month);
// The JST month `t` falls in.
absl::CivilMonth JstMonthOf(absl::Time t);

// Parses "YYYY-MM" (years 2000..2999, months 01..12). Errors: INVALID_ARGUMENT (INVALID_MONTH).
absl::StatusOr<MonthPeriod> ParseMonth(absl::string_view text);

// True once the month ended at least kCheckpointMargin before `now`: then no entry of it can
// still commit (books.h), and its statement is final.
bool MonthClosed(const MonthPeriod& period, absl::Time now);

// The consumption tax included in a tax-included consideration at 10 %: floor(yen * 10 / 110),
// in integers. Computed once per rate per invoice (never per line, docs/INVOICES.md).
// REQUIRES: 0 <= taxable_yen <= kAmountMaxYen * 1000 (no overflow).
inline constexpr int kConsumptionTaxPercent = 10;
int64_t IncludedConsumptionTax(int64_t taxable_yen);

// ------------------------------------------------------------------ the statement

// Lines per page of GetMonthlyStatement.
inline constexpr int kStatementPageSizeDefault = 500;
inline constexpr int kStatementPageSizeMax = 1000;

struct StatementLine {
  int64_t entry_seq = 0;
  EntryType type = EntryType::kAdSpend;  // kAdSpend or kAdCapture
  absl::Time created_at;
  int16_t product = 0;
  std::string reference;
  int64_t amount_yen = 0;
  int64_t paid_yen = 0;
  int64_t free_yen() const { return amount_yen - paid_yen; }
};

struct StatementProductTotal {
  int16_t product = 0;
  int64_t lines = 0;
  int64_t amount_yen = 0;
  int64_t paid_yen = 0;
  int64_t free_yen() const { return amount_yen - paid_yen; }
};

struct MonthlyStatement {
  MonthPeriod period;
  bool closed = false;
  std::vector<StatementLine> lines;  // this page, by entry_seq
  int64_t next_after_seq = 0;        // 0: this is the last page; else the next starts after it
  // The whole month, from one aggregate over the same snapshot as the page.
  std::vector<StatementProductTotal> products;  // products with lines, by product number
  int64_t line_count = 0;
  int64_t total_yen = 0;
  int64_t free_yen = 0;
  int64_t taxable_yen() const { return total_yen - free_yen; }
  int64_t tax_yen() const { return IncludedConsumptionTax(taxable_yen()); }
};

struct StatementQuery {
  std::string seller_id;
  MonthPeriod period;
  int page_size = kStatementPageSizeDefault;  // REQUIRES: 1..kStatementPageSizeMax
  int64_t after_seq = 0;                      // 0: from the month's first line
};

// The page and the month's totals in one REPEATABLE READ read-only transaction (one snapshot);
// `now` (the clock that dates the entries, read before the snapshot) says whether the month is
// closed. Errors: NOT_FOUND (WALLET_NOT_FOUND); INVALID_ARGUMENT (MONTH_IN_FUTURE) when the
// month starts after `now`; the database's.
absl::StatusOr<MonthlyStatement> LoadMonthlyStatement(PgConnection& conn,
                                                      const StatementQuery& query, absl::Time now);

// ------------------------------------------------------------------ the activity

inline constexpr int kActivityMonthsDefault = 12;
inline constexpr int kActivityMonthsMax = 24;

struct MonthActivity {
  MonthPeriod period;
  bool partial = false;  // the current month, so far
  int64_t charged_yen = 0;
  int64_t converted_yen = 0;
  int64_t forfeited_yen = 0;
  int64_t clawed_back_yen = 0;                     // CLAWBACK: taken back by payment reversals
  int64_t debt_recovered_yen = 0;                  // DEBT_RECOVERY: credits that paid a debt
  std::vector<std::pair<int16_t, int64_t>> spent;  // (product, yen) with yen != 0, by product
  int64_t spent_yen() const;
};

// The `months` complete months before the current one (JST, of `now`) and the current month,
// oldest first, every one present (zeros when empty): one grouped statement over the index
// (seller_id, created_at). REQUIRES: 1 <= months <= kActivityMonthsMax. Errors: NOT_FOUND
// (WALLET_NOT_FOUND); the database's.
absl::StatusOr<std::vector<MonthActivity>> LoadMonthlyActivity(PgConnection& conn,
                                                               const std::string& seller_id,
                                                               int months, absl::Time now);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_STATEMENTS_H_
