// The SQL of settlement reconciliation (migrations/0007_settlement.sql): reports, lines,
// mismatches and their resolutions, the days the scheduler fetched, and the settlement
// columns of charge_orders. Every function runs on a connection the caller leased (and, for
// writes, inside the caller's transaction: settlement.cc makes each import, resolution and
// overdue check one transaction, so nothing is ever half applied).
#ifndef QCASH_SERVICES_PAYMENT_SETTLEMENT_STORE_H_
#define QCASH_SERVICES_PAYMENT_SETTLEMENT_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg.h"
#include "services/payment/settlement_report.h"

namespace qcash::payment {

struct SettlementMismatchRecord {
  int64_t mismatch_id = 0;
  MismatchKind kind = MismatchKind::kNone;
  std::string provider;
  std::string transaction_id;
  std::string order_id;
  std::string seller_id;
  int64_t expected_yen = 0;
  int64_t settled_yen = 0;
  int64_t fee_yen = 0;
  std::string settlement_date;  // "" when no line
  int64_t report_id = 0;
  int64_t line_number = 0;
  absl::Time since = absl::InfinitePast();
  absl::Time detected_at = absl::InfinitePast();
  absl::Time resolved_at = absl::InfinitePast();  // InfinitePast: open
  std::string resolved_by;
  std::string resolution;
  std::string resolution_key;
  bool resolved() const { return resolved_at != absl::InfinitePast(); }
};

struct StoredReport {
  int64_t report_id = 0;
  int64_t lines = 0;
  int64_t matched = 0;
  int64_t mismatches = 0;
};

// The order a line names, as the importer needs it (locked FOR UPDATE).
struct SettlementOrderRow {
  std::string order_id;
  std::string seller_id;
  int64_t amount_yen = 0;
  OrderState state = OrderState::kCreated;
  absl::Time paid_at = absl::InfinitePast();
  bool settled = false;
};

struct OrderSettlement {
  absl::Time settled_at = absl::InfinitePast();  // InfinitePast: not settled
  int64_t settled_yen = 0;
  int64_t fee_yen = 0;
};

struct ProviderSettlementRow {
  std::string provider;
  int64_t paid_orders = 0;
  int64_t paid_yen = 0;
  int64_t settled_orders = 0;
  int64_t settled_yen = 0;
  int64_t fee_yen = 0;
  int64_t reversed_yen = 0;  // what providers took back (charge_orders.reversed_yen)
  int64_t open_mismatches = 0;
};

struct OpenMismatchStats {
  std::string provider;
  MismatchKind kind = MismatchKind::kNone;
  int64_t count = 0;
  absl::Time oldest_since = absl::InfinitePast();
};

struct MismatchCursor {
  int64_t since_us = 0;
  int64_t mismatch_id = 0;
};

namespace settlement_store {

// Serializes the imports of one provider (the scheduler's and an operator's), so that two
// files with the same transaction cannot both miss the other. REQUIRES: in a transaction.
absl::Status LockProvider(PgConnection& conn, const std::string& provider);

absl::StatusOr<std::optional<StoredReport>> FindReport(PgConnection& conn,
                                                       const std::string& provider,
                                                       const std::string& sha256);
// The line kinds of a stored report (kNone not counted).
absl::StatusOr<std::map<MismatchKind, int64_t>> ReportKinds(PgConnection& conn, int64_t report_id);
absl::StatusOr<int64_t> InsertReport(PgConnection& conn, const std::string& provider,
                                     const std::string& file_name, const std::string& sha256,
                                     int64_t bytes, const std::string& imported_by, absl::Time now);
absl::Status FinishReport(PgConnection& conn, int64_t report_id, const StoredReport& counts);

absl::StatusOr<bool> TransactionSeen(PgConnection& conn, const std::string& provider,
                                     const std::string& transaction_id);
// By our order id (the line's merchant reference) and the provider, else by the provider's
// payment id; none when neither is known.
absl::StatusOr<std::optional<SettlementOrderRow>> FindOrderForLine(PgConnection& conn,
                                                                   const std::string& provider,
                                                                   const SettlementLine& line);
absl::Status InsertLine(PgConnection& conn, int64_t report_id, const std::string& provider,
                        const SettlementLine& line, const std::string& order_id,
                        MismatchKind outcome);
absl::StatusOr<int64_t> InsertMismatch(PgConnection& conn, const SettlementMismatchRecord& m);
// Records the settlement on the order, once (false when it was settled already).
absl::StatusOr<bool> SettleOrder(PgConnection& conn, const std::string& order_id,
                                 const SettlementLine& line, absl::Time now);
// Closes the order's open NOT_SETTLED, as `who` and `why`, with its resolution record.
absl::StatusOr<int64_t> CloseNotSettled(PgConnection& conn, const std::string& order_id,
                                        const std::string& who, const std::string& why,
                                        const std::string& key);
// Opens NOT_SETTLED for up to `limit` PAID or CREDITED provider orders paid before
// `paid_before` and not settled, each once ever. Returns how many per provider.
absl::StatusOr<std::map<std::string, int64_t>> OpenOverdue(PgConnection& conn,
                                                           absl::Time paid_before, int limit);

absl::StatusOr<std::vector<SettlementMismatchRecord>> ListMismatches(
    PgConnection& conn, const std::string& provider, const std::vector<int16_t>& kinds,
    bool include_resolved, const std::optional<MismatchCursor>& after, int limit);
absl::StatusOr<std::optional<SettlementMismatchRecord>> LoadMismatch(PgConnection& conn,
                                                                     int64_t mismatch_id,
                                                                     bool for_update);
absl::StatusOr<std::optional<int64_t>> MismatchOfResolutionKey(PgConnection& conn,
                                                               const std::string& key);
// Resolves an open mismatch with its audit record. False when it was resolved meanwhile.
absl::StatusOr<bool> ResolveMismatch(PgConnection& conn, int64_t mismatch_id,
                                     const std::string& who, const std::string& why,
                                     const std::string& caller, const std::string& key);

absl::StatusOr<std::vector<ProviderSettlementRow>> Summary(PgConnection& conn, absl::Time from,
                                                           absl::Time to_exclusive);
absl::StatusOr<std::vector<OpenMismatchStats>> OpenStats(PgConnection& conn);
absl::StatusOr<std::map<std::string, absl::Time>> LastImports(PgConnection& conn);
absl::StatusOr<OrderSettlement> LoadOrderSettlement(PgConnection& conn,
                                                    const std::string& order_id);

// The days of `provider` at or after `from` the scheduler fetched already.
absl::StatusOr<std::vector<absl::CivilDay>> FetchedDays(PgConnection& conn,
                                                        const std::string& provider,
                                                        absl::CivilDay from);
absl::Status RecordFetch(PgConnection& conn, const std::string& provider, absl::CivilDay day,
                         int64_t report_id);

}  // namespace settlement_store
}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_SETTLEMENT_STORE_H_
