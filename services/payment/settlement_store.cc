#include "services/payment/settlement_store.h"

#include "absl/strings/str_cat.h"
#include "services/payment/store_sql.h"

namespace qcash::payment::settlement_store {
namespace {

using store_sql::Int;
using store_sql::Micros;
using store_sql::TimeAt;

#define QCASH_MISMATCH_COLUMNS \
  "mismatch_id, kind, provider, transaction_id, order_id, order_seller_id, expected_yen, "         \
  "settled_yen, fee_yen, coalesce(settlement_date::text, ''), coalesce(report_id, 0), "       \
  "line_number, " QCASH_US("since") ", " QCASH_US("detected_at") ", "                         \
  "coalesce(" QCASH_US("resolved_at") ", 0), resolved_by, resolution, "                       \
  "coalesce(resolution_key, '')"

SettlementMismatchRecord MismatchAt(const PgResult& r, int row) {
  SettlementMismatchRecord m;
  m.mismatch_id = r.GetInt64(row, 0);
  m.kind = static_cast<MismatchKind>(r.GetInt64(row, 1));
  m.provider = std::string(r.Get(row, 2));
  m.transaction_id = std::string(r.Get(row, 3));
  m.order_id = std::string(r.Get(row, 4));
  m.seller_id = std::string(r.Get(row, 5));
  m.expected_yen = r.GetInt64(row, 6);
  m.settled_yen = r.GetInt64(row, 7);
  m.fee_yen = r.GetInt64(row, 8);
  m.settlement_date = std::string(r.Get(row, 9));
  m.report_id = r.GetInt64(row, 10);
  m.line_number = r.GetInt64(row, 11);
  m.since = TimeAt(r, row, 12);
  m.detected_at = TimeAt(r, row, 13);
  m.resolved_at = TimeAt(r, row, 14);
  m.resolved_by = std::string(r.Get(row, 15));
  m.resolution = std::string(r.Get(row, 16));
  m.resolution_key = std::string(r.Get(row, 17));
  return m;
}

std::optional<std::string> DayOrNull(const std::string& day) {
  if (day.empty()) return std::nullopt;
  return day;
}

constexpr PgStatement kLockProvider = {
    "settlement_lock_provider",
    "SELECT pg_advisory_xact_lock(hashtext('qcash-settlement:' || $1))"};

constexpr PgStatement kFindReport = {
    "settlement_find_report",
    "SELECT report_id, lines, matched, mismatches FROM settlement_reports"
    " WHERE provider = $1 AND content_sha256 = $2"};

constexpr PgStatement kReportKinds = {
    "settlement_report_kinds",
    "SELECT outcome, count(*) FROM settlement_lines WHERE report_id = $1 AND outcome <> 0"
    " GROUP BY outcome"};

constexpr PgStatement kInsertReport = {
    "settlement_insert_report",
    "INSERT INTO settlement_reports (provider, file_name, content_sha256, content_bytes,"
    "  imported_by, imported_at, lines, matched, mismatches)"
    " VALUES ($1, $2, $3, $4, $5, " QCASH_TS("$6") ", 0, 0, 0) RETURNING report_id"};

constexpr PgStatement kFinishReport = {
    "settlement_finish_report",
    "UPDATE settlement_reports SET lines = $2, matched = $3, mismatches = $4"
    " WHERE report_id = $1"};

constexpr PgStatement kTransactionSeen = {
    "settlement_transaction_seen",
    "SELECT EXISTS (SELECT 1 FROM settlement_lines WHERE provider = $1 AND transaction_id = $2)"};

#define QCASH_LINE_ORDER_COLUMNS \
  "order_id, seller_id, amount_yen, state, coalesce(" QCASH_US("paid_at") ", 0), "     \
  "settled_at IS NOT NULL"

constexpr PgStatement kOrderByReference = {
    "settlement_order_by_reference",
    "SELECT " QCASH_LINE_ORDER_COLUMNS
    " FROM charge_orders WHERE order_id = $1 AND provider = $2 FOR UPDATE"};

constexpr PgStatement kOrderByPayment = {
    "settlement_order_by_payment",
    "SELECT " QCASH_LINE_ORDER_COLUMNS
    " FROM charge_orders WHERE provider = $1 AND provider_payment_id = $2"
    " ORDER BY order_id LIMIT 1 FOR UPDATE"};

constexpr PgStatement kInsertLine = {
    "settlement_insert_line",
    "INSERT INTO settlement_lines (report_id, line_number, provider, settlement_date,"
    "  transaction_id, merchant_reference, amount_yen, fee_yen, net_yen, paid_date, order_id,"
    "  outcome)"
    " VALUES ($1, $2, $3, $4::date, $5, $6, $7, $8, $9, $10::date, $11, $12::smallint)"};

constexpr PgStatement kInsertMismatch = {
    "settlement_insert_mismatch",
    "INSERT INTO settlement_mismatches (kind, provider, transaction_id, order_id,"
    "  order_seller_id,"
    "  expected_yen, settled_yen, fee_yen, settlement_date, report_id, line_number, since,"
    "  detected_at)"
    " VALUES ($1::smallint, $2, $3, $4, $5, $6, $7, $8, $9::date, $10, $11, " QCASH_TS(
        "$12") ", " QCASH_TS("$12") ") RETURNING mismatch_id"};

constexpr PgStatement kSettleOrder = {
    "settlement_settle_order",
    "UPDATE charge_orders SET settled_at = " QCASH_TS("$2") ", settled_yen = $3, fee_yen = $4,"
    "  settlement_tx = $5, updated_at = clock_timestamp()"
    " WHERE order_id = $1 AND settled_at IS NULL"};

constexpr PgStatement kCloseNotSettled = {
    "settlement_close_not_settled",
    "WITH closed AS ("
    "  UPDATE settlement_mismatches SET resolved_at = clock_timestamp(), resolved_by = $2,"
    "    resolution = $3"
    "  WHERE kind = 1 AND order_id = $1 AND resolved_at IS NULL RETURNING mismatch_id)"
    "INSERT INTO settlement_resolutions (mismatch_id, resolved_by, resolution, caller,"
    "  idempotency_key)"
    " SELECT mismatch_id, $2, $3, $2, $4 FROM closed RETURNING mismatch_id"};

// NOT EXISTS keeps orders flagged before (open or resolved) out of the LIMIT; the unique
// index settlement_mismatches_not_settled is the second guard (one per order, ever). The
// candidates are locked, skipping those an import holds right now: an order the import is
// settling is never flagged from a snapshot taken before the import committed (READ
// COMMITTED re-checks a locked row's latest version against the WHERE clause).
constexpr PgStatement kOpenOverdue = {
    "settlement_open_overdue",
    "INSERT INTO settlement_mismatches (kind, provider, order_id, order_seller_id, expected_yen,"
    "  since)"
    " SELECT 1, c.provider, c.order_id, c.seller_id, c.amount_yen, c.paid_at FROM ("
    "   SELECT o.provider, o.order_id, o.seller_id, o.amount_yen, o.paid_at"
    "   FROM charge_orders o"
    "   WHERE o.state IN (3, 4) AND o.provider <> '' AND o.settled_at IS NULL"
    "     AND o.paid_at < " QCASH_TS("$1") " AND NOT EXISTS (SELECT 1 FROM settlement_mismatches m"
    "       WHERE m.kind = 1 AND m.order_id = o.order_id)"
    "   ORDER BY o.paid_at LIMIT $2 FOR UPDATE OF o SKIP LOCKED) c"
    " ON CONFLICT DO NOTHING RETURNING provider"};

constexpr PgStatement kListMismatches = {
    "settlement_list_mismatches",
    "SELECT " QCASH_MISMATCH_COLUMNS " FROM settlement_mismatches"
    " WHERE ($1 = '' OR provider = $1)"
    "   AND (cardinality($2::smallint[]) = 0 OR kind = ANY($2::smallint[]))"
    "   AND ($3 OR resolved_at IS NULL)"
    "   AND ($4::bigint IS NULL OR (since, mismatch_id) > (" QCASH_TS("$4") ", $5::bigint))"
    " ORDER BY since, mismatch_id LIMIT $6"};

constexpr PgStatement kLoadMismatch = {"settlement_load_mismatch",
                                       "SELECT " QCASH_MISMATCH_COLUMNS
                                       " FROM settlement_mismatches WHERE mismatch_id = $1"};

constexpr PgStatement kLoadMismatchForUpdate = {
    "settlement_load_mismatch_for_update",
    "SELECT " QCASH_MISMATCH_COLUMNS
    " FROM settlement_mismatches WHERE mismatch_id = $1 FOR UPDATE"};

constexpr PgStatement kMismatchOfKey = {
    "settlement_mismatch_of_key",
    "SELECT mismatch_id FROM settlement_mismatches WHERE resolution_key = $1"};

constexpr PgStatement kResolve = {
    "settlement_resolve",
    "WITH resolved AS ("
    "  UPDATE settlement_mismatches SET resolved_at = clock_timestamp(), resolved_by = $2,"
    "    resolution = $3, resolution_key = $5"
    "  WHERE mismatch_id = $1 AND resolved_at IS NULL RETURNING mismatch_id)"
    "INSERT INTO settlement_resolutions (mismatch_id, resolved_by, resolution, caller,"
    "  idempotency_key)"
    " SELECT mismatch_id, $2, $3, $4, $5 FROM resolved RETURNING mismatch_id"};

constexpr PgStatement kSummary = {
    "settlement_summary",
    "SELECT provider, count(*), coalesce(sum(amount_yen), 0)::bigint, count(settled_at),"
    "  coalesce(sum(settled_yen), 0)::bigint, coalesce(sum(fee_yen), 0)::bigint,"
    "  (SELECT count(*) FROM settlement_mismatches m WHERE m.provider = o.provider"
    "     AND m.resolved_at IS NULL),"
    "  coalesce(sum(reversed_yen), 0)::bigint"  // migration 0006: the reversals' sum
    " FROM charge_orders o"
    " WHERE state IN (3, 4) AND provider <> '' AND paid_at >= " QCASH_TS(
        "$1") "   AND paid_at < " QCASH_TS("$2") " GROUP BY provider ORDER BY provider"};

constexpr PgStatement kOpenStats = {
    "settlement_open_stats",
    "SELECT provider, kind, count(*), " QCASH_US("min(since)")
    " FROM settlement_mismatches WHERE resolved_at IS NULL GROUP BY provider, kind"};

constexpr PgStatement kLastImports = {
    "settlement_last_imports",
    "SELECT provider, " QCASH_US("max(imported_at)") " FROM settlement_reports GROUP BY provider"};

constexpr PgStatement kOrderSettlement = {
    "settlement_order_settlement",
    "SELECT coalesce(" QCASH_US("settled_at") ", 0), settled_yen, fee_yen FROM charge_orders"
    " WHERE order_id = $1"};

constexpr PgStatement kFetchedDays = {"settlement_fetched_days",
                                      "SELECT settlement_date::text FROM settlement_fetches"
                                      " WHERE provider = $1 AND settlement_date >= $2::date"};

constexpr PgStatement kRecordFetch = {
    "settlement_record_fetch",
    "INSERT INTO settlement_fetches (provider, settlement_date, report_id)"
    " VALUES ($1, $2::date, $3) ON CONFLICT DO NOTHING"};

std::optional<SettlementOrderRow> OrderRowOf(const PgResult& r) {
  if (r.rows() == 0) return std::nullopt;
  SettlementOrderRow o;
  o.order_id = std::string(r.Get(0, 0));
  o.seller_id = std::string(r.Get(0, 1));
  o.amount_yen = r.GetInt64(0, 2);
  o.state = static_cast<OrderState>(r.GetInt64(0, 3));
  o.paid_at = TimeAt(r, 0, 4);
  o.settled = r.GetBool(0, 5);
  return o;
}

}  // namespace

absl::Status LockProvider(PgConnection& conn, const std::string& provider) {
  return conn.Exec(kLockProvider, {provider}).status();
}

absl::StatusOr<std::optional<StoredReport>> FindReport(PgConnection& conn,
                                                       const std::string& provider,
                                                       const std::string& sha256) {
  auto r = conn.Exec(kFindReport, {provider, sha256});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<StoredReport>();
  return std::optional<StoredReport>(
      StoredReport{r->GetInt64(0, 0), r->GetInt64(0, 1), r->GetInt64(0, 2), r->GetInt64(0, 3)});
}

absl::StatusOr<std::map<MismatchKind, int64_t>> ReportKinds(PgConnection& conn, int64_t report_id) {
  auto r = conn.Exec(kReportKinds, {Int(report_id)});
  if (!r.ok()) return r.status();
  std::map<MismatchKind, int64_t> kinds;
  for (int i = 0; i < r->rows(); ++i) {
    kinds[static_cast<MismatchKind>(r->GetInt64(i, 0))] = r->GetInt64(i, 1);
  }
  return kinds;
}

absl::StatusOr<int64_t> InsertReport(PgConnection& conn, const std::string& provider,
                                     const std::string& file_name, const std::string& sha256,
                                     int64_t bytes, const std::string& imported_by,
                                     absl::Time now) {
  auto r =
      conn.Exec(kInsertReport, {provider, file_name, sha256, Int(bytes), imported_by, Micros(now)});
  if (!r.ok()) return r.status();
  return r->GetInt64(0, 0);
}

absl::Status FinishReport(PgConnection& conn, int64_t report_id, const StoredReport& counts) {
  return conn
      .Exec(kFinishReport,
            {Int(report_id), Int(counts.lines), Int(counts.matched), Int(counts.mismatches)})
      .status();
}

absl::StatusOr<bool> TransactionSeen(PgConnection& conn, const std::string& provider,
                                     const std::string& transaction_id) {
  auto r = conn.Exec(kTransactionSeen, {provider, transaction_id});
  if (!r.ok()) return r.status();
  return r->GetBool(0, 0);
}

absl::StatusOr<std::optional<SettlementOrderRow>> FindOrderForLine(PgConnection& conn,
                                                                   const std::string& provider,
                                                                   const SettlementLine& line) {
  auto by_reference = conn.Exec(kOrderByReference, {line.merchant_reference, provider});
  if (!by_reference.ok()) return by_reference.status();
  if (by_reference->rows() > 0) return OrderRowOf(*by_reference);
  auto by_payment = conn.Exec(kOrderByPayment, {provider, line.transaction_id});
  if (!by_payment.ok()) return by_payment.status();
  return OrderRowOf(*by_payment);
}

absl::Status InsertLine(PgConnection& conn, int64_t report_id, const std::string& provider,
                        const SettlementLine& line, const std::string& order_id,
                        MismatchKind outcome) {
  return conn
      .Exec(kInsertLine,
            {Int(report_id), Int(line.line_number), provider, FormatDay(line.settlement_date),
             line.transaction_id, line.merchant_reference, Int(line.amount_yen), Int(line.fee_yen),
             Int(line.net_yen), FormatDay(line.paid_date),
             order_id.empty() ? std::nullopt : std::optional<std::string>(order_id),
             Int(static_cast<int64_t>(outcome))})
      .status();
}

absl::StatusOr<int64_t> InsertMismatch(PgConnection& conn, const SettlementMismatchRecord& m) {
  auto r = conn.Exec(
      kInsertMismatch,
      {Int(static_cast<int64_t>(m.kind)), m.provider, m.transaction_id, m.order_id, m.seller_id,
       Int(m.expected_yen), Int(m.settled_yen), Int(m.fee_yen), DayOrNull(m.settlement_date),
       m.report_id == 0 ? std::nullopt : std::optional<std::string>(Int(m.report_id)),
       Int(m.line_number), Micros(m.since)});
  if (!r.ok()) return r.status();
  return r->GetInt64(0, 0);
}

absl::StatusOr<bool> SettleOrder(PgConnection& conn, const std::string& order_id,
                                 const SettlementLine& line, absl::Time now) {
  auto r = conn.Exec(kSettleOrder, {order_id, Micros(now), Int(line.amount_yen), Int(line.fee_yen),
                                    line.transaction_id});
  if (!r.ok()) return r.status();
  return r->affected() == 1;
}

absl::StatusOr<int64_t> CloseNotSettled(PgConnection& conn, const std::string& order_id,
                                        const std::string& who, const std::string& why,
                                        const std::string& key) {
  auto r = conn.Exec(kCloseNotSettled, {order_id, who, why, key});
  if (!r.ok()) return r.status();
  return static_cast<int64_t>(r->rows());
}

absl::StatusOr<std::map<std::string, int64_t>> OpenOverdue(PgConnection& conn,
                                                           absl::Time paid_before, int limit) {
  auto r = conn.Exec(kOpenOverdue, {Micros(paid_before), Int(limit)});
  if (!r.ok()) return r.status();
  std::map<std::string, int64_t> opened;
  for (int i = 0; i < r->rows(); ++i) opened[std::string(r->Get(i, 0))] += 1;
  return opened;
}

absl::StatusOr<std::vector<SettlementMismatchRecord>> ListMismatches(
    PgConnection& conn, const std::string& provider, const std::vector<int16_t>& kinds,
    bool include_resolved, const std::optional<MismatchCursor>& after, int limit) {
  PgArrayLiteral kind_array;
  for (int16_t k : kinds) kind_array.AddInt(k);
  auto r = conn.Exec(kListMismatches,
                     {provider, kind_array.Finish(), include_resolved ? "t" : "f",
                      after ? std::optional<std::string>(Int(after->since_us)) : std::nullopt,
                      after ? Int(after->mismatch_id) : std::string("0"), Int(limit)});
  if (!r.ok()) return r.status();
  std::vector<SettlementMismatchRecord> out;
  out.reserve(r->rows());
  for (int i = 0; i < r->rows(); ++i) out.push_back(MismatchAt(*r, i));
  return out;
}

absl::StatusOr<std::optional<SettlementMismatchRecord>> LoadMismatch(PgConnection& conn,
                                                                     int64_t mismatch_id,
                                                                     bool for_update) {
  auto r = conn.Exec(for_update ? kLoadMismatchForUpdate : kLoadMismatch, {Int(mismatch_id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<SettlementMismatchRecord>();
  return std::optional<SettlementMismatchRecord>(MismatchAt(*r, 0));
}

absl::StatusOr<std::optional<int64_t>> MismatchOfResolutionKey(PgConnection& conn,
                                                               const std::string& key) {
  auto r = conn.Exec(kMismatchOfKey, {key});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(r->GetInt64(0, 0));
}

absl::StatusOr<bool> ResolveMismatch(PgConnection& conn, int64_t mismatch_id,
                                     const std::string& who, const std::string& why,
                                     const std::string& caller, const std::string& key) {
  auto r = conn.Exec(kResolve, {Int(mismatch_id), who, why, caller, key});
  if (!r.ok()) return r.status();
  return r->rows() == 1;
}

absl::StatusOr<std::vector<ProviderSettlementRow>> Summary(PgConnection& conn, absl::Time from,
                                                           absl::Time to_exclusive) {
  auto r = conn.Exec(kSummary, {Micros(from), Micros(to_exclusive)});
  if (!r.ok()) return r.status();
  std::vector<ProviderSettlementRow> rows;
  for (int i = 0; i < r->rows(); ++i) {
    ProviderSettlementRow row;
    row.provider = std::string(r->Get(i, 0));
    row.paid_orders = r->GetInt64(i, 1);
    row.paid_yen = r->GetInt64(i, 2);
    row.settled_orders = r->GetInt64(i, 3);
    row.settled_yen = r->GetInt64(i, 4);
    row.fee_yen = r->GetInt64(i, 5);
    row.open_mismatches = r->GetInt64(i, 6);
    row.reversed_yen = r->GetInt64(i, 7);
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<std::vector<OpenMismatchStats>> OpenStats(PgConnection& conn) {
  auto r = conn.Exec(kOpenStats, {});
  if (!r.ok()) return r.status();
  std::vector<OpenMismatchStats> stats;
  for (int i = 0; i < r->rows(); ++i) {
    OpenMismatchStats s;
    s.provider = std::string(r->Get(i, 0));
    s.kind = static_cast<MismatchKind>(r->GetInt64(i, 1));
    s.count = r->GetInt64(i, 2);
    s.oldest_since = TimeAt(*r, i, 3);
    stats.push_back(std::move(s));
  }
  return stats;
}

absl::StatusOr<std::map<std::string, absl::Time>> LastImports(PgConnection& conn) {
  auto r = conn.Exec(kLastImports, {});
  if (!r.ok()) return r.status();
  std::map<std::string, absl::Time> last;
  for (int i = 0; i < r->rows(); ++i) last[std::string(r->Get(i, 0))] = TimeAt(*r, i, 1);
  return last;
}

absl::StatusOr<OrderSettlement> LoadOrderSettlement(PgConnection& conn,
                                                    const std::string& order_id) {
  auto r = conn.Exec(kOrderSettlement, {order_id});
  if (!r.ok()) return r.status();
  OrderSettlement s;
  if (r->rows() == 0) return s;
  s.settled_at = TimeAt(*r, 0, 0);
  s.settled_yen = r->GetInt64(0, 1);
  s.fee_yen = r->GetInt64(0, 2);
  return s;
}

absl::StatusOr<std::vector<absl::CivilDay>> FetchedDays(PgConnection& conn,
                                                        const std::string& provider,
                                                        absl::CivilDay from) {
  auto r = conn.Exec(kFetchedDays, {provider, FormatDay(from)});
  if (!r.ok()) return r.status();
  std::vector<absl::CivilDay> days;
  for (int i = 0; i < r->rows(); ++i) {
    auto day = ParseDay(r->Get(i, 0));
    if (day.ok()) days.push_back(*day);
  }
  return days;
}

absl::Status RecordFetch(PgConnection& conn, const std::string& provider, absl::CivilDay day,
                         int64_t report_id) {
  return conn.Exec(kRecordFetch, {provider, FormatDay(day), Int(report_id)}).status();
}

}  // namespace qcash::payment::settlement_store
