// Settlement reconciliation (DESIGN.md section 9, issue 16): imports a provider's settlement
// report and matches every line to orders (settlement_report.h has the rule), runs the
// overdue check (paid but not settled after the due period), lists and resolves mismatches
// (an audited action: who, why, when) and sums up per provider what was credited, settled,
// charged in fees and received. Each import, check and resolution is one transaction: a
// refused or failed one stores nothing.
#ifndef QCASH_SERVICES_PAYMENT_SETTLEMENT_H_
#define QCASH_SERVICES_PAYMENT_SETTLEMENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/pg.h"
#include "services/payment/settlement_report.h"
#include "services/payment/settlement_store.h"

namespace qcash::payment {

struct SettlementOptions {
  // A PAID or CREDITED order of a provider must be settled this long after its payment;
  // after it, the overdue check opens NOT_SETTLED, and a line later than the JST day this
  // ends on is SETTLED_LATE.
  absl::Duration due = absl::Hours(72);
  // NOT_SETTLED opened per overdue check at most (the next check takes the rest).
  int overdue_batch_max = 1000;
};

class Settlement {
 public:
  struct ImportResult {
    int64_t report_id = 0;
    bool replayed = false;
    int64_t lines = 0;
    int64_t matched = 0;
    int64_t mismatches = 0;  // opened by this import, the overdue check's included
    std::map<MismatchKind, int64_t> by_kind;
  };
  struct Page {
    std::vector<SettlementMismatchRecord> mismatches;
    std::optional<MismatchCursor> next;
  };
  struct Resolved {
    SettlementMismatchRecord mismatch;
    bool replayed = false;
  };
  struct ProviderSummary {
    ProviderSettlementRow row;
    int64_t net_yen = 0;        // settled - fees
    int64_t unsettled_yen = 0;  // paid - settled (a short line shows as its difference)
  };

  // REQUIRES: the pool and the clock outlive this object.
  Settlement(PgPool* pool, const Clock* clock, SettlementOptions options);
  Settlement(const Settlement&) = delete;
  Settlement& operator=(const Settlement&) = delete;

  // Imports `content` as `provider`'s report (ImportSettlementReport). `imported_by` is the
  // caller ("ops", "scheduler"). With `fetched_day`, also records that the scheduler has
  // this day (so it never asks again). Errors: INVALID_ARGUMENT (UNKNOWN_PROVIDER,
  // INVALID_SETTLEMENT_REPORT with metadata "line", SETTLEMENT_REPORT_TOO_LARGE), the
  // database's (UNAVAILABLE: retry; nothing was stored).
  absl::StatusOr<ImportResult> Import(const std::string& provider, const std::string& file_name,
                                      const std::string& content, const std::string& imported_by,
                                      std::optional<absl::CivilDay> fetched_day = std::nullopt);

  // Opens NOT_SETTLED for overdue orders; returns how many it opened.
  absl::StatusOr<int64_t> CheckOverdue();

  // Errors: INVALID_ARGUMENT (UNKNOWN_PROVIDER, INVALID_MISMATCH_KIND), the database's.
  absl::StatusOr<Page> List(const std::string& provider, const std::vector<int>& kinds,
                            bool include_resolved, const std::optional<MismatchCursor>& after,
                            int page_size);

  // Errors: INVALID_ARGUMENT (MISSING_OPERATOR, MISSING_RESOLUTION_REASON,
  // IDEMPOTENCY_KEY_REUSED: the key resolved another mismatch), NOT_FOUND
  // (MISMATCH_NOT_FOUND), FAILED_PRECONDITION (MISMATCH_ALREADY_RESOLVED).
  absl::StatusOr<Resolved> Resolve(const std::string& caller, const std::string& idempotency_key,
                                   int64_t mismatch_id, const std::string& who,
                                   const std::string& why);

  // Orders paid in the JST days [from, to]. Errors: INVALID_ARGUMENT
  // (INVALID_SETTLEMENT_DATE: not a date, backwards, or more than 366 days).
  absl::StatusOr<std::vector<ProviderSummary>> Summarize(const std::string& from,
                                                         const std::string& to);

  // The settlement recorded on an order (GetChargeOrder's settled_at, settled_yen, fee_yen).
  absl::StatusOr<OrderSettlement> OfOrder(const std::string& order_id);

  // The scheduler's bookkeeping: the days of `provider` from `from` it fetched already.
  absl::StatusOr<std::vector<absl::CivilDay>> FetchedDays(const std::string& provider,
                                                          absl::CivilDay from);

  // Refreshes the metrics (open mismatches per provider and kind, the oldest's age, the last
  // import per provider). Errors: the database's.
  absl::Status PublishMetrics();

  absl::Time Now() const { return clock_->Now(); }

 private:
  PgPool* const pool_;
  const Clock* const clock_;
  const SettlementOptions options_;
};

// Metrics of the imports (by result: imported, replayed, refused, failed), bumped by whoever
// imports (the RPC and the scheduler).
void CountImport(const std::string& provider, absl::string_view result);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_SETTLEMENT_H_
