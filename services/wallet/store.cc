#include "services/wallet/store.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::wallet {
namespace {

absl::Time MicrosToTime(const PgResult& r, int row, int column) {
  if (r.IsNull(row, column)) return absl::InfinitePast();
  return absl::FromUnixMicros(r.GetInt64(row, column));
}

std::optional<std::string> MicrosOrNull(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return std::nullopt;
  return absl::StrCat(absl::ToUnixMicros(t));
}

constexpr PgStatement kLoadBalance = {
    "wallet_load_balance",
    "SELECT available_yen, held_yen, qmoney_yen, pending_yen, version, state, debt_yen "
    "FROM wallets WHERE seller_id = $1"};

// LoadBalance for many sellers at once (GetBalances' misses): one index probe per seller.
constexpr PgStatement kLoadBalances = {
    "wallet_load_balances",
    "SELECT seller_id, available_yen, held_yen, qmoney_yen, pending_yen, version, state, "
    "debt_yen FROM wallets WHERE seller_id = ANY($1::text[])"};

// A credit's own lot (lot_id = its seq; credits are entry types 1, 2 and 9) joined on the
// primary key of lot_origins: still one statement, one index probe per credit shown.
constexpr PgStatement kListHistory = {
    "wallet_list_history",
    "SELECT j.seq, j.entry_type, j.debit_account, j.credit_account, j.amount_yen, "
    "j.available_after, j.held_after, j.qmoney_after, j.pending_after, j.product, j.reference, "
    "j.hold_id, (extract(epoch FROM j.created_at) * 1000000)::bigint, "
    "array_to_string(j.lot_ids, ','), array_to_string(j.lot_amounts, ','), j.paid_yen, "
    "coalesce(o.origin, 0), coalesce(o.payment_method, ''), coalesce(o.price_paid_yen, 0), "
    "coalesce(o.points_month, ''), j.debt_after "
    "FROM journal j LEFT JOIN lot_origins o ON o.seller_id = j.seller_id AND o.lot_id = j.seq "
    "AND j.entry_type IN (1, 2, 9) "
    "WHERE j.seller_id = $1 AND ($2::bigint = 0 OR j.seq < $2) "
    "AND (cardinality($3::smallint[]) = 0 OR j.entry_type = ANY($3::smallint[])) "
    "AND ($4::bigint IS NULL OR j.created_at >= 'epoch'::timestamptz + $4 * interval '1 "
    "microsecond') "
    "AND ($5::bigint IS NULL OR j.created_at < 'epoch'::timestamptz + $5 * interval '1 "
    "microsecond') "
    "ORDER BY j.seq DESC LIMIT $6"};

constexpr PgStatement kWalletExists = {"wallet_exists",
                                       "SELECT 1 FROM wallets WHERE seller_id = $1"};

constexpr PgStatement kDueHolds = {
    "wallet_due_holds",
    "SELECT seller_id, hold_id FROM holds WHERE state = 1 AND expires_at <= now() "
    "ORDER BY expires_at LIMIT $1"};

// ---------------------------------------------------------------------------- batches
//
// A batch is one transaction in two round trips:
//   1. BEGIN; insert the wallets being opened; read the transaction time; lock and read the
//      wallets, holds and idempotency records the batch names (wallets before holds, each in
//      key order, so concurrent batches never deadlock);
//   2. write everything ApplyOps() decided in one statement; COMMIT (one WAL flush).
// The wallet update also requires each row's version to be what was read, and the CHECK
// constraints forbid negative balances: two more guards behind the row locks.

// The statements are prepared once per connection, so they run on generic plans that cannot
// know how many rows an unnest() brings. Every lookup therefore also names its keys with
// `= ANY(array)` or a LATERAL subquery, which keeps it on the primary-key index whatever the
// planner guesses, instead of a hash join over a whole table.
//
// BEGIN and COMMIT ride in the pipelines (PgTransaction::kBegin / kCommit); ApplyBatch() holds
// the transaction as a PgTransaction (Adopt / MarkCommitted), which rolls back on any failure.

constexpr PgStatement kInsertOpened = {
    "wallet_insert_opened",
    "INSERT INTO wallets (seller_id) SELECT s FROM unnest($1::text[]) AS s ORDER BY s "
    "ON CONFLICT DO NOTHING RETURNING seller_id"};

// A wallet inserted above whose open was then refused (its key reused): the row goes again.
constexpr PgStatement kDeleteUnopened = {"wallet_delete_unopened",
                                         "DELETE FROM wallets WHERE seller_id = ANY($1::text[])"};

// The batch's time, read once its wallets are locked: a seller's entries are in time order.
constexpr PgStatement kNow = {
    "wallet_now",
    "SELECT (extract(epoch FROM coalesce('epoch'::timestamptz + $1::bigint * interval '1 "
    "microsecond', clock_timestamp())) * 1000000)::bigint"};

constexpr PgStatement kLockWallets = {
    "wallet_lock_wallets",
    "SELECT seller_id, state, available_yen, held_yen, qmoney_yen, pending_yen, version, "
    "last_seq, open_lots::text, encode(chain_head, 'hex'), debt_yen FROM wallets "
    "WHERE seller_id = ANY($1::text[]) ORDER BY seller_id FOR NO KEY UPDATE"};

// What the named holds reserved: the lots of their journal entries (hold_id = seq).
constexpr PgStatement kLoadReservations = {
    "wallet_load_reservations",
    "SELECT j.seller_id, j.seq, array_to_string(j.lot_ids, ','), "
    "array_to_string(j.lot_amounts, ',') "
    "FROM unnest($1::text[], $2::bigint[]) AS k(s, q), LATERAL "
    "(SELECT seller_id, seq, lot_ids, lot_amounts FROM journal "
    " WHERE seller_id = ANY($1::text[]) AND seller_id = k.s AND seq = k.q) j"};

// ... and those of every pending hold of the wallets a batch closes.
constexpr PgStatement kLoadPendingReservations = {
    "wallet_load_pending_reservations",
    "SELECT j.seller_id, j.seq, array_to_string(j.lot_ids, ','), "
    "array_to_string(j.lot_amounts, ',') "
    "FROM holds h JOIN journal j ON j.seller_id = h.seller_id AND j.seq = h.hold_id "
    "WHERE h.seller_id = ANY($1::text[]) AND j.seller_id = ANY($1::text[]) AND h.state = 1"};

// For each (seller, order) a claw-back names: the lot the order's credit created (a voucher,
// Qmoney or pending-settlement lot whose reference is the order id; the first if several) and
// what the earlier claw-backs of the order took (CLAWBACK and DEBT rows naming it). It runs
// after the wallets are locked, so every earlier claw-back of these sellers has committed.
// Indexes lot_origins_reference and journal_clawbacks (migration 0006).
constexpr PgStatement kLoadCharges = {
    "wallet_load_charges",
    "SELECT k.s, k.o, coalesce(l.lot_id, 0), coalesce(l.amount_yen, 0), "
    "coalesce((SELECT sum(j.amount_yen) FROM journal j WHERE j.seller_id = ANY($1::text[]) "
    "AND j.seller_id = k.s AND j.reference = k.o AND j.entry_type IN (12, 13)), 0)::bigint "
    "FROM unnest($1::text[], $2::text[]) AS k(s, o) LEFT JOIN LATERAL "
    "(SELECT lot_id, amount_yen FROM lot_origins WHERE seller_id = ANY($1::text[]) "
    " AND seller_id = k.s AND reference = k.o AND origin IN (1, 3, 4) ORDER BY lot_id LIMIT 1) l "
    "ON true"};

constexpr const char* kHoldColumns =
    "seller_id, hold_id, amount_yen, product, reference, state, captured_yen, "
    "(extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM expires_at) * 1000000)::bigint, "
    "(extract(epoch FROM resolved_at) * 1000000)::bigint";

const std::string kLockHoldsSql =
    absl::StrCat("SELECT ", kHoldColumns,
                 " FROM holds WHERE seller_id = ANY($1::text[]) "
                 "AND hold_id = ANY($2::bigint[]) "
                 "AND (seller_id, hold_id) IN (SELECT * FROM unnest($1::text[], $2::bigint[])) "
                 "ORDER BY seller_id, hold_id FOR NO KEY UPDATE");
const PgStatement kLockHolds = {"wallet_lock_holds", kLockHoldsSql.c_str()};

const std::string kLockPendingHoldsSql =
    absl::StrCat("SELECT ", kHoldColumns,
                 " FROM holds WHERE seller_id = ANY($1::text[]) AND state = 1 "
                 "ORDER BY seller_id, hold_id FOR NO KEY UPDATE");
const PgStatement kLockPendingHolds = {"wallet_lock_pending_holds", kLockPendingHoldsSql.c_str()};

const std::string kGetHoldSql =
    absl::StrCat("SELECT ", kHoldColumns, " FROM holds WHERE seller_id = $1 AND hold_id = $2");
const PgStatement kGetHold = {"wallet_get_hold", kGetHoldSql.c_str()};

// A page of the seller's holds, newest first, on the primary key (seller_id, hold_id): the
// filters narrow the rows the key's walk returns, the seller always comes first.
const std::string kListHoldsSql =
    absl::StrCat("SELECT ", kHoldColumns,
                 " FROM holds WHERE seller_id = $1 AND ($2::bigint = 0 OR hold_id < $2) "
                 "AND (cardinality($3::smallint[]) = 0 OR state = ANY($3::smallint[])) "
                 "AND ($4::smallint = 0 OR product = $4) AND ($5::text = '' OR reference = $5) "
                 "ORDER BY hold_id DESC LIMIT $6");
const PgStatement kListHolds = {"wallet_list_holds", kListHoldsSql.c_str()};

constexpr PgStatement kReadRecords = {
    "wallet_read_records",
    "SELECT i.caller, i.idem_key, i.seller_id, i.op_type, i.request_hash, i.entry_seq, "
    "i.hold_id, i.amount_yen, i.amount2_yen, i.created, i.available_yen, i.held_yen, "
    "i.qmoney_yen, i.pending_yen, i.version, i.state, "
    "(extract(epoch FROM i.expires_at) * 1000000)::bigint, i.debt_yen "
    "FROM unnest($1::text[], $2::text[]) AS k(caller, idem_key), LATERAL "
    "(SELECT * FROM idempotency_keys WHERE caller = k.caller AND idem_key = k.idem_key) i"};

constexpr PgStatement kWriteBatch = {
    "wallet_write_batch",
    "WITH b AS (SELECT 'epoch'::timestamptz + $56::bigint * interval '1 microsecond' AS at),"
    "w AS ("
    " UPDATE wallets AS t SET state = v.state, available_yen = v.available, held_yen = v.held,"
    "  qmoney_yen = v.qmoney, pending_yen = v.pending, version = v.version,"
    "  last_seq = v.last_seq, closed_at = CASE WHEN v.closing THEN b.at ELSE t.closed_at END,"
    "  open_lots = v.open_lots::bigint[], chain_head = decode(v.head, 'hex'), debt_yen = v.debt"
    " FROM unnest($1::text[], $2::smallint[], $3::bigint[], $4::bigint[], $5::bigint[],"
    "  $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::boolean[],"
    "  $57::text[], $58::text[], $71::bigint[])"
    "  AS v(seller_id, state, available, held, qmoney, pending, version, last_seq,"
    "       old_version, closing, open_lots, head, debt), b"
    " WHERE t.seller_id = ANY($1::text[]) AND t.seller_id = v.seller_id"
    "  AND t.version = v.old_version RETURNING 1),"
    "j AS ("
    " INSERT INTO journal (seller_id, seq, entry_type, debit_account, credit_account,"
    "  amount_yen, available_after, held_after, qmoney_after, pending_after, product,"
    "  reference, hold_id, caller, created_at, lot_ids, lot_amounts, paid_yen, hash, debt_after)"
    " SELECT s, q, t, d, c, a, av, he, qm, pe, p, r, h, cl, b.at,"
    "  string_to_array(li, ',')::bigint[], string_to_array(la, ',')::bigint[], pa,"
    "  decode(x, 'hex'), da"
    " FROM unnest($11::text[], $12::bigint[], $13::smallint[],"
    "  $14::smallint[], $15::smallint[], $16::bigint[], $17::bigint[], $18::bigint[],"
    "  $19::bigint[], $20::bigint[], $21::smallint[], $22::text[], $23::bigint[], $24::text[],"
    "  $59::text[], $60::text[], $61::bigint[], $62::text[], $72::bigint[])"
    "  AS u(s, q, t, d, c, a, av, he, qm, pe, p, r, h, cl, li, la, pa, x, da), b RETURNING 1),"
    "hn AS ("
    " INSERT INTO holds (seller_id, hold_id, amount_yen, product, reference, state,"
    "  captured_yen, created_at, expires_at, resolved_at)"
    " SELECT s, id, a, p, r, st, c, b.at, 'epoch'::timestamptz + e * interval '1 microsecond',"
    "  CASE WHEN st = 1 THEN NULL ELSE b.at END"
    " FROM unnest($25::text[], $26::bigint[], $27::bigint[], $28::smallint[], $29::text[],"
    "  $30::smallint[], $31::bigint[], $32::bigint[]) AS u(s, id, a, p, r, st, c, e), b"
    " RETURNING 1),"
    "hu AS ("
    " UPDATE holds AS t SET state = v.state, captured_yen = v.captured, resolved_at = b.at"
    " FROM unnest($33::text[], $34::bigint[], $35::smallint[], $36::bigint[])"
    "  AS v(seller_id, hold_id, state, captured), b"
    " WHERE t.seller_id = ANY($33::text[]) AND t.hold_id = ANY($34::bigint[])"
    "  AND t.seller_id = v.seller_id AND t.hold_id = v.hold_id AND t.state = 1 RETURNING 1),"
    "k AS ("
    " INSERT INTO idempotency_keys (caller, idem_key, seller_id, op_type, request_hash,"
    "  entry_seq, hold_id, amount_yen, amount2_yen, created, available_yen, held_yen,"
    "  qmoney_yen, pending_yen, version, state, expires_at, debt_yen)"
    " SELECT c, k, s, t, h, es, hi, a, a2, cr, av, he, qm, pe, ve, st,"
    "  CASE WHEN ex < 0 THEN NULL ELSE 'epoch'::timestamptz + ex * interval '1 microsecond' END,"
    "  de"
    " FROM unnest($37::text[], $38::text[], $39::text[], $40::smallint[], $41::text[],"
    "  $42::bigint[], $43::bigint[], $44::bigint[], $45::bigint[], $46::boolean[],"
    "  $47::bigint[], $48::bigint[], $49::bigint[], $50::bigint[], $51::bigint[],"
    "  $52::smallint[], $53::bigint[], $73::bigint[])"
    "  AS u(c, k, s, t, h, es, hi, a, a2, cr, av, he, qm, pe, ve, st, ex, de) RETURNING 1),"
    "ln AS ("
    " INSERT INTO lot_origins (seller_id, lot_id, origin, paid, amount_yen, reference,"
    "  payment_method, price_paid_yen, points_month, created_at)"
    " SELECT s, id, o, o <> 2, a, r, m, pp, pm, b.at"
    " FROM unnest($63::text[], $64::bigint[], $65::smallint[], $66::bigint[], $67::text[],"
    "  $68::text[], $69::bigint[], $70::text[])"
    "  AS u(s, id, o, a, r, m, pp, pm), b RETURNING 1),"
    "cb AS ("
    " INSERT INTO clawbacks (seller_id, entry_seq, order_id, reversal_reference, kind,"
    "  amount_yen, clawed_back_yen, debt_yen, caller, created_at)"
    " SELECT s, q, o, rr, k, a, c, d, cl, b.at"
    " FROM unnest($74::text[], $75::bigint[], $76::text[], $77::text[], $78::smallint[],"
    "  $79::bigint[], $80::bigint[], $81::bigint[], $82::text[])"
    "  AS u(s, q, o, rr, k, a, c, d, cl), b RETURNING 1)"
    "SELECT qcash_assert((SELECT count(*) FROM w) = $54 AND (SELECT count(*) FROM hu) = $55,"
    " 'ledger rows changed under their locks'),"
    " (SELECT count(*) FROM j), (SELECT count(*) FROM hn), (SELECT count(*) FROM k),"
    " (SELECT count(*) FROM ln), (SELECT count(*) FROM cb)"};

int64_t Micros(absl::Time t) { return t == absl::InfinitePast() ? -1 : absl::ToUnixMicros(t); }

HoldRecord ReadHold(const PgResult& r, int row) {
  HoldRecord h;
  h.seller_id = std::string(r.Get(row, 0));
  h.hold_id = r.GetInt64(row, 1);
  h.amount_yen = r.GetInt64(row, 2);
  h.product = static_cast<int16_t>(r.GetInt64(row, 3));
  h.reference = std::string(r.Get(row, 4));
  h.state = static_cast<HoldState>(r.GetInt64(row, 5));
  h.captured_yen = r.GetInt64(row, 6);
  h.created_at = MicrosToTime(r, row, 7);
  h.expires_at = MicrosToTime(r, row, 8);
  h.resolved_at = MicrosToTime(r, row, 9);
  return h;
}

// Round trip 1: lock and read what `ops` name.
// "1,2,3" (array_to_string of a bigint[]) as numbers.
std::vector<int64_t> Int64List(absl::string_view text) {
  std::vector<int64_t> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t v = 0;
    if (absl::SimpleAtoi(part, &v)) out.push_back(v);
  }
  return out;
}

std::vector<LotPart> LotParts(absl::string_view ids, absl::string_view amounts) {
  const std::vector<int64_t> i = Int64List(ids), a = Int64List(amounts);
  std::vector<LotPart> parts;
  for (size_t k = 0; k < i.size() && k < a.size(); ++k) parts.push_back({i[k], a[k]});
  return parts;
}

std::string LotIds(const std::vector<LotPart>& parts, bool amounts) {
  std::string out;
  for (const LotPart& p : parts) {
    absl::StrAppend(&out, out.empty() ? "" : ",", amounts ? p.amount_yen : p.lot_id);
  }
  return out;
}

// wallets.open_lots as PostgreSQL writes a two-dimensional bigint array:
// "{{lot_id,paid,available,held},...}", or "{}".
absl::StatusOr<std::vector<LotRecord>> ParseOpenLots(const std::string& seller_id,
                                                     absl::string_view text) {
  std::vector<LotRecord> lots;
  if (text == "{}") return lots;
  if (text.size() < 4 || !absl::ConsumePrefix(&text, "{{") || !absl::ConsumeSuffix(&text, "}}")) {
    return Internal(wallet::v1::LOTS_DISAGREE,
                    absl::StrCat("the open lots of seller ", seller_id, " are not readable"));
  }
  for (absl::string_view row : absl::StrSplit(text, "},{")) {
    const std::vector<int64_t> v = Int64List(row);
    if (v.size() != 4 || (v[1] != 0 && v[1] != 1)) {
      return Internal(wallet::v1::LOTS_DISAGREE,
                      absl::StrCat("the open lots of seller ", seller_id, " are not readable"));
    }
    LotRecord& lot = lots.emplace_back();
    lot.seller_id = seller_id;
    lot.lot_id = v[0];
    // Only paid or free matters to the ledger; the origin itself is in lot_origins.
    lot.origin = v[1] == 1 ? LotOrigin::kVoucher : LotOrigin::kPointsConversion;
    lot.available_yen = v[2];
    lot.held_yen = v[3];
    lot.amount_yen = lot.remaining_yen();
  }
  return lots;
}

std::string OpenLotsLiteral(const std::vector<LotRecord>& lots) {
  if (lots.empty()) return "{}";
  std::string out = "{";
  for (const LotRecord& lot : lots) {
    absl::StrAppend(&out, out.size() > 1 ? "," : "", "{", lot.lot_id, ",", lot.paid() ? 1 : 0, ",",
                    lot.available_yen, ",", lot.held_yen, "}");
  }
  return out + "}";
}

absl::StatusOr<LedgerSnapshot> LoadSnapshot(PgConnection& conn, const std::vector<const Op*>& ops,
                                            std::optional<absl::Time> fixed_now) {
  const auto [sellers, opened, closing, holds, keys, charges] = RowsOf(ops);
  auto texts = [](const auto& items) {
    PgArrayLiteral a;
    for (const auto& item : items) a.AddText(item);
    return a.Finish();
  };
  std::vector<std::pair<const PgStatement*, PgParams>> statements;
  statements.push_back({&PgTransaction::kBegin, {}});
  const int opened_at = opened.empty() ? -1 : static_cast<int>(statements.size());
  if (!opened.empty()) statements.push_back({&kInsertOpened, {texts(opened)}});
  const int wallets_at = static_cast<int>(statements.size());
  statements.push_back({&kLockWallets, {texts(sellers)}});
  const int now_at = static_cast<int>(statements.size());
  statements.push_back(
      {&kNow,
       {fixed_now ? std::optional<std::string>(absl::StrCat(absl::ToUnixMicros(*fixed_now)))
                  : std::nullopt}});
  const int charges_at = charges.empty() ? -1 : static_cast<int>(statements.size());
  if (!charges.empty()) {
    PgArrayLiteral cs, co;
    for (const auto& [seller, order] : charges) {
      cs.AddText(seller);
      co.AddText(order);
    }
    statements.push_back({&kLoadCharges, {cs.Finish(), co.Finish()}});
  }
  const int holds_at = holds.empty() ? -1 : static_cast<int>(statements.size());
  if (!holds.empty()) {
    PgArrayLiteral hs, hi;
    for (const auto& [seller, id] : holds) {
      hs.AddText(seller);
      hi.AddInt(id);
    }
    statements.push_back({&kLockHolds, {hs.Finish(), hi.Finish()}});
    statements.push_back({&kLoadReservations, {hs.Finish(), hi.Finish()}});
  }
  const int pending_at = closing.empty() ? -1 : static_cast<int>(statements.size());
  if (!closing.empty()) {
    statements.push_back({&kLockPendingHolds, {texts(closing)}});
    statements.push_back({&kLoadPendingReservations, {texts(closing)}});
  }
  const int records_at = keys.empty() ? -1 : static_cast<int>(statements.size());
  if (!keys.empty()) {
    PgArrayLiteral kc, kk;
    for (const auto& [caller, key] : keys) {
      kc.AddText(caller);
      kk.AddText(key);
    }
    statements.push_back({&kReadRecords, {kc.Finish(), kk.Finish()}});
  }
  auto results = conn.Pipeline(statements);
  if (!results.ok()) return results.status();
  const std::vector<PgResult>& r = *results;

  LedgerSnapshot snapshot;
  snapshot.now = absl::FromUnixMicros(r[now_at].GetInt64(0, 0));
  if (opened_at >= 0) {
    for (int i = 0; i < r[opened_at].rows(); ++i) {
      snapshot.created.insert(std::string(r[opened_at].Get(i, 0)));
    }
  }
  const PgResult& w = r[wallets_at];
  for (int i = 0; i < w.rows(); ++i) {
    WalletRecord record;
    record.seller_id = std::string(w.Get(i, 0));
    record.state = static_cast<WalletState>(w.GetInt64(i, 1));
    record.available_yen = w.GetInt64(i, 2);
    record.held_yen = w.GetInt64(i, 3);
    record.qmoney_yen = w.GetInt64(i, 4);
    record.pending_yen = w.GetInt64(i, 5);
    record.version = w.GetInt64(i, 6);
    record.last_seq = w.GetInt64(i, 7);
    if (!w.IsNull(i, 9)) record.chain_head = absl::HexStringToBytes(w.Get(i, 9));
    record.debt_yen = w.GetInt64(i, 10);
    auto lots = ParseOpenLots(record.seller_id, w.Get(i, 8));
    if (!lots.ok()) return lots.status();
    snapshot.lots[record.seller_id] = *std::move(lots);
    snapshot.wallets.emplace(record.seller_id, std::move(record));
  }
  if (charges_at >= 0) {
    const PgResult& c = r[charges_at];
    for (int i = 0; i < c.rows(); ++i) {
      LedgerSnapshot::Charge& charge =
          snapshot.charges[ChargeKey(std::string(c.Get(i, 0)), std::string(c.Get(i, 1)))];
      charge.lot_id = c.GetInt64(i, 2);
      charge.amount_yen = c.GetInt64(i, 3);
      charge.clawed_back_yen = c.GetInt64(i, 4);
    }
  }
  for (int at : {holds_at, pending_at}) {
    if (at < 0) continue;
    for (int i = 0; i < r[at].rows(); ++i) {
      HoldRecord h = ReadHold(r[at], i);
      snapshot.holds.emplace(HoldKey(h.seller_id, h.hold_id), std::move(h));
    }
    const PgResult& reservations = r[at + 1];  // each lock is followed by its reservations
    for (int i = 0; i < reservations.rows(); ++i) {
      snapshot
          .reservations[HoldKey(std::string(reservations.Get(i, 0)), reservations.GetInt64(i, 1))] =
          LotParts(reservations.Get(i, 2), reservations.Get(i, 3));
    }
  }
  if (records_at >= 0) {
    const PgResult& k = r[records_at];
    for (int i = 0; i < k.rows(); ++i) {
      IdempotencyRecord record;
      record.caller = std::string(k.Get(i, 0));
      record.key = std::string(k.Get(i, 1));
      record.seller_id = std::string(k.Get(i, 2));
      record.type = static_cast<OpType>(k.GetInt64(i, 3));
      record.request_hash = std::string(k.Get(i, 4));
      OpResult& o = record.result;
      o.entry_seq = k.GetInt64(i, 5);
      o.hold_id = k.GetInt64(i, 6);
      o.amount_yen = k.GetInt64(i, 7);
      o.amount2_yen = k.GetInt64(i, 8);
      o.created = k.GetBool(i, 9);
      o.balance.seller_id = record.seller_id;
      o.balance.available_yen = k.GetInt64(i, 10);
      o.balance.held_yen = k.GetInt64(i, 11);
      o.balance.qmoney_yen = k.GetInt64(i, 12);
      o.balance.pending_yen = k.GetInt64(i, 13);
      o.balance.version = k.GetInt64(i, 14);
      o.balance.state = static_cast<WalletState>(k.GetInt64(i, 15));
      o.expires_at = MicrosToTime(k, i, 16);
      o.balance.debt_yen = k.GetInt64(i, 17);
      snapshot.records.emplace(RecordKey(record.caller, record.key), std::move(record));
    }
  }
  return snapshot;
}

PgParams WriteParams(const LedgerWrites& writes, absl::Time now) {
  PgArrayLiteral ws, wst, wa, wh, wq, wp, wv, wl, wo, wc, wol, whd, wde;
  for (const auto& change : writes.wallets) {
    const WalletRecord& w = change.wallet;
    ws.AddText(w.seller_id);
    wst.AddInt(static_cast<int64_t>(w.state));
    wa.AddInt(w.available_yen);
    wh.AddInt(w.held_yen);
    wq.AddInt(w.qmoney_yen);
    wp.AddInt(w.pending_yen);
    wv.AddInt(w.version);
    wl.AddInt(w.last_seq);
    wo.AddInt(change.old_version);
    wc.AddBool(change.closed);
    wol.AddText(OpenLotsLiteral(change.open_lots));
    whd.AddText(absl::BytesToHexString(w.chain_head));
    wde.AddInt(w.debt_yen);
  }
  PgArrayLiteral js, jq, jt, jd, jc, ja, jav, jhe, jqm, jpe, jp, jr, jh, jcl, jli, jla, jpa, jx,
      jda;
  for (const JournalEntry& e : writes.journal) {
    js.AddText(e.seller_id);
    jq.AddInt(e.seq);
    jt.AddInt(static_cast<int64_t>(e.type));
    jd.AddInt(static_cast<int64_t>(e.debit));
    jc.AddInt(static_cast<int64_t>(e.credit));
    ja.AddInt(e.amount_yen);
    jav.AddInt(e.available_after_yen);
    jhe.AddInt(e.held_after_yen);
    jqm.AddInt(e.qmoney_after_yen);
    jpe.AddInt(e.pending_after_yen);
    jp.AddInt(e.product);
    jr.AddText(e.reference);
    jh.AddInt(e.hold_id);
    jcl.AddText(e.caller);
    jli.AddText(LotIds(e.lots, false));
    jla.AddText(LotIds(e.lots, true));
    jpa.AddInt(e.paid_yen);
    jx.AddText(absl::BytesToHexString(e.hash));
    jda.AddInt(e.debt_after_yen);
  }
  PgArrayLiteral ls, li, lo, la, lr, lm, lpp, lpm;
  for (const LotRecord& lot : writes.new_lots) {
    ls.AddText(lot.seller_id);
    li.AddInt(lot.lot_id);
    lo.AddInt(static_cast<int64_t>(lot.origin));
    la.AddInt(lot.amount_yen);
    lr.AddText(lot.reference);
    lm.AddText(lot.payment_method);
    lpp.AddInt(lot.price_paid_yen);
    lpm.AddText(lot.points_month);
  }

  PgArrayLiteral ns, ni, na, np, nr, nst, nc, ne;
  for (const HoldRecord& h : writes.new_holds) {
    ns.AddText(h.seller_id);
    ni.AddInt(h.hold_id);
    na.AddInt(h.amount_yen);
    np.AddInt(h.product);
    nr.AddText(h.reference);
    nst.AddInt(static_cast<int64_t>(h.state));
    nc.AddInt(h.captured_yen);
    ne.AddInt(absl::ToUnixMicros(h.expires_at));
  }
  PgArrayLiteral us, ui, ust, uc;
  for (const HoldRecord& h : writes.resolved_holds) {
    us.AddText(h.seller_id);
    ui.AddInt(h.hold_id);
    ust.AddInt(static_cast<int64_t>(h.state));
    uc.AddInt(h.captured_yen);
  }
  PgArrayLiteral kc, kk, ks, kt, kh, kes, khi, ka, ka2, kcr, kav, khe, kqm, kpe, kve, kst, kex, kde;
  for (const IdempotencyRecord& k : writes.records) {
    const OpResult& o = k.result;
    kc.AddText(k.caller);
    kk.AddText(k.key);
    ks.AddText(k.seller_id);
    kt.AddInt(static_cast<int64_t>(k.type));
    kh.AddText(k.request_hash);
    kes.AddInt(o.entry_seq);
    khi.AddInt(o.hold_id);
    ka.AddInt(o.amount_yen);
    ka2.AddInt(o.amount2_yen);
    kcr.AddBool(o.created);
    kav.AddInt(o.balance.available_yen);
    khe.AddInt(o.balance.held_yen);
    kqm.AddInt(o.balance.qmoney_yen);
    kpe.AddInt(o.balance.pending_yen);
    kve.AddInt(o.balance.version);
    kst.AddInt(static_cast<int64_t>(o.balance.state));
    kex.AddInt(Micros(o.expires_at));
    kde.AddInt(o.balance.debt_yen);
  }
  PgArrayLiteral cs, cq, co, crr, ck, ca, cc, cd, ccl;
  for (const LedgerWrites::ClawBackRecord& c : writes.clawbacks) {
    cs.AddText(c.seller_id);
    cq.AddInt(c.entry_seq);
    co.AddText(c.order_id);
    crr.AddText(c.reversal_reference);
    ck.AddInt(static_cast<int64_t>(c.kind));
    ca.AddInt(c.amount_yen);
    cc.AddInt(c.clawed_back_yen);
    cd.AddInt(c.debt_yen);
    ccl.AddText(c.caller);
  }
  return {ws.Finish(),
          wst.Finish(),
          wa.Finish(),
          wh.Finish(),
          wq.Finish(),
          wp.Finish(),
          wv.Finish(),
          wl.Finish(),
          wo.Finish(),
          wc.Finish(),
          js.Finish(),
          jq.Finish(),
          jt.Finish(),
          jd.Finish(),
          jc.Finish(),
          ja.Finish(),
          jav.Finish(),
          jhe.Finish(),
          jqm.Finish(),
          jpe.Finish(),
          jp.Finish(),
          jr.Finish(),
          jh.Finish(),
          jcl.Finish(),
          ns.Finish(),
          ni.Finish(),
          na.Finish(),
          np.Finish(),
          nr.Finish(),
          nst.Finish(),
          nc.Finish(),
          ne.Finish(),
          us.Finish(),
          ui.Finish(),
          ust.Finish(),
          uc.Finish(),
          kc.Finish(),
          kk.Finish(),
          ks.Finish(),
          kt.Finish(),
          kh.Finish(),
          kes.Finish(),
          khi.Finish(),
          ka.Finish(),
          ka2.Finish(),
          kcr.Finish(),
          kav.Finish(),
          khe.Finish(),
          kqm.Finish(),
          kpe.Finish(),
          kve.Finish(),
          kst.Finish(),
          kex.Finish(),
          absl::StrCat(writes.wallets.size()),
          absl::StrCat(writes.resolved_holds.size()),
          absl::StrCat(absl::ToUnixMicros(now)),
          wol.Finish(),
          whd.Finish(),
          jli.Finish(),
          jla.Finish(),
          jpa.Finish(),
          jx.Finish(),
          ls.Finish(),
          li.Finish(),
          lo.Finish(),
          la.Finish(),
          lr.Finish(),
          lm.Finish(),
          lpp.Finish(),
          lpm.Finish(),
          wde.Finish(),
          jda.Finish(),
          kde.Finish(),
          cs.Finish(),
          cq.Finish(),
          co.Finish(),
          crr.Finish(),
          ck.Finish(),
          ca.Finish(),
          cc.Finish(),
          cd.Finish(),
          ccl.Finish()};
}

}  // namespace

absl::StatusOr<std::vector<OpResult>> ApplyBatch(PgConnection& conn,
                                                 const std::vector<const Op*>& ops,
                                                 std::optional<absl::Time> fixed_now) {
  // LoadSnapshot sends the BEGIN in its pipeline; from here on any failure rolls back.
  PgTransaction tx = PgTransaction::Adopt(conn);
  auto snapshot = LoadSnapshot(conn, ops, fixed_now);
  if (!snapshot.ok()) return snapshot.status();
  LedgerWrites writes;
  std::vector<OpResult> results = ApplyOps(ops, *snapshot, &writes);
  std::vector<std::pair<const PgStatement*, PgParams>> statements;
  if (!writes.empty()) statements.push_back({&kWriteBatch, WriteParams(writes, snapshot->now)});
  if (!writes.unopened.empty()) {
    PgArrayLiteral unopened;
    for (const std::string& seller : writes.unopened) unopened.AddText(seller);
    statements.push_back({&kDeleteUnopened, {unopened.Finish()}});
  }
  statements.push_back({&PgTransaction::kCommit, {}});
  auto committed = conn.Pipeline(statements);
  if (!committed.ok()) return committed.status();
  tx.MarkCommitted();
  return results;
}

absl::StatusOr<Balance> LoadBalance(PgConnection& conn, const std::string& seller_id) {
  auto r = conn.Exec(kLoadBalance, {seller_id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) {
    return NotFound(wallet::v1::WALLET_NOT_FOUND, absl::StrCat("no wallet for seller ", seller_id));
  }
  Balance b;
  b.seller_id = seller_id;
  b.available_yen = r->GetInt64(0, 0);
  b.held_yen = r->GetInt64(0, 1);
  b.qmoney_yen = r->GetInt64(0, 2);
  b.pending_yen = r->GetInt64(0, 3);
  b.version = r->GetInt64(0, 4);
  b.state = static_cast<WalletState>(r->GetInt64(0, 5));
  b.debt_yen = r->GetInt64(0, 6);
  return b;
}

absl::StatusOr<std::vector<Balance>> LoadBalances(PgConnection& conn,
                                                  const std::vector<std::string>& seller_ids) {
  std::vector<Balance> out;
  if (seller_ids.empty()) return out;
  PgArrayLiteral ids;
  for (const std::string& id : seller_ids) ids.AddText(id);
  auto r = conn.Exec(kLoadBalances, {ids.Finish()});
  if (!r.ok()) return r.status();
  out.reserve(r->rows());
  for (int i = 0; i < r->rows(); ++i) {
    Balance b;
    b.seller_id = std::string(r->Get(i, 0));
    b.available_yen = r->GetInt64(i, 1);
    b.held_yen = r->GetInt64(i, 2);
    b.qmoney_yen = r->GetInt64(i, 3);
    b.pending_yen = r->GetInt64(i, 4);
    b.version = r->GetInt64(i, 5);
    b.state = static_cast<WalletState>(r->GetInt64(i, 6));
    b.debt_yen = r->GetInt64(i, 7);
    out.push_back(std::move(b));
  }
  return out;
}

absl::StatusOr<std::vector<HistoryEntry>> ListHistory(PgConnection& conn, const HistoryQuery& q) {
  PgArrayLiteral types;
  for (int16_t t : q.types) types.AddInt(t);
  auto r = conn.Exec(kListHistory,
                     {q.seller_id, absl::StrCat(q.before_seq), types.Finish(), MicrosOrNull(q.from),
                      MicrosOrNull(q.to), absl::StrCat(q.page_size)});
  if (!r.ok()) return r.status();
  std::vector<HistoryEntry> out;
  out.reserve(r->rows());
  for (int i = 0; i < r->rows(); ++i) {
    HistoryEntry e;
    e.seq = r->GetInt64(i, 0);
    e.type = static_cast<EntryType>(r->GetInt64(i, 1));
    e.debit = static_cast<Account>(r->GetInt64(i, 2));
    e.credit = static_cast<Account>(r->GetInt64(i, 3));
    e.amount_yen = r->GetInt64(i, 4);
    e.available_after_yen = r->GetInt64(i, 5);
    e.held_after_yen = r->GetInt64(i, 6);
    e.qmoney_after_yen = r->GetInt64(i, 7);
    e.pending_after_yen = r->GetInt64(i, 8);
    e.product = static_cast<int16_t>(r->GetInt64(i, 9));
    e.reference = std::string(r->Get(i, 10));
    e.hold_id = r->GetInt64(i, 11);
    e.created_at = MicrosToTime(*r, i, 12);
    e.lots = LotParts(r->Get(i, 13), r->Get(i, 14));
    e.paid_yen = r->GetInt64(i, 15);
    e.origin = static_cast<LotOrigin>(r->GetInt64(i, 16));
    e.payment_method = std::string(r->Get(i, 17));
    // A charge from internal funds is written by the wallet itself, without a method: its
    // origin names it, as the payment service's tokens do (PAYMENT_METHOD_QMONEY -> "qmoney").
    if (e.payment_method.empty() && e.origin == LotOrigin::kQmoney) e.payment_method = "qmoney";
    if (e.payment_method.empty() && e.origin == LotOrigin::kPendingSettlement) {
      e.payment_method = "pending_settlement";
    }
    e.price_paid_yen = r->GetInt64(i, 18);
    e.points_month = std::string(r->Get(i, 19));
    e.debt_after_yen = r->GetInt64(i, 20);
    out.push_back(std::move(e));
  }
  if (out.empty()) {
    if (absl::Status s = CheckWalletExists(conn, q.seller_id); !s.ok()) return s;
  }
  return out;
}

absl::Status CheckWalletExists(PgConnection& conn, const std::string& seller_id) {
  auto exists = conn.Exec(kWalletExists, {seller_id});
  if (!exists.ok()) return exists.status();
  if (exists->rows() == 0) {
    return NotFound(wallet::v1::WALLET_NOT_FOUND, absl::StrCat("no wallet for seller ", seller_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<HoldRecord> GetHold(PgConnection& conn, const std::string& seller_id,
                                   int64_t hold_id) {
  auto r = conn.Exec(kGetHold, {seller_id, absl::StrCat(hold_id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) {
    return NotFound(wallet::v1::HOLD_NOT_FOUND,
                    absl::StrCat("no hold ", hold_id, " for seller ", seller_id));
  }
  return ReadHold(*r, 0);
}

absl::StatusOr<std::vector<HoldRecord>> ListHolds(PgConnection& conn, const HoldQuery& q) {
  PgArrayLiteral states;
  for (HoldState state : q.states) states.AddInt(static_cast<int16_t>(state));
  auto r = conn.Exec(kListHolds, {q.seller_id, absl::StrCat(q.before_hold_id), states.Finish(),
                                  absl::StrCat(q.product), q.reference, absl::StrCat(q.page_size)});
  if (!r.ok()) return r.status();
  std::vector<HoldRecord> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadHold(*r, i));
  if (out.empty()) {
    if (absl::Status s = CheckWalletExists(conn, q.seller_id); !s.ok()) return s;
  }
  return out;
}

absl::StatusOr<std::vector<DueHold>> DueHolds(PgConnection& conn, int limit) {
  auto r = conn.Exec(kDueHolds, {absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  std::vector<DueHold> out;
  out.reserve(r->rows());
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back({std::string(r->Get(i, 0)), r->GetInt64(i, 1)});
  }
  return out;
}

absl::StatusOr<int64_t> CountPendingHolds(PgConnection& conn) {
  auto r = conn.Exec("SELECT count(*) FROM holds WHERE state = 1");
  if (!r.ok()) return r.status();
  return r->GetInt64(0, 0);
}

}  // namespace qcash::wallet
