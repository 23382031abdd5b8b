#include "services/wallet/store.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qcash::wallet {
namespace {

absl::Time MicrosToTime(const PgResult& r, int row, int column) {
  if (r.IsNull(row, column)) return absl::InfinitePast();
  return absl::FromUnixMicros(r.GetInt64(row, column));
}

int64_t IntOrZero(const PgResult& r, int row, int column) {
  return r.IsNull(row, column) ? 0 : r.GetInt64(row, column);
}

std::optional<std::string> MicrosOrNull(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return std::nullopt;
  return absl::StrCat(absl::ToUnixMicros(t));
}

// Builds one PostgreSQL array literal per column of the batch.
class ArrayLiteral {
 public:
  void AddInt(int64_t v) {
    Sep();
    absl::StrAppend(&text_, v);
  }
  void AddText(absl::string_view v) {
    Sep();
    AppendPgArrayElement(&text_, v);
  }
  std::string Finish() { return text_ + "}"; }

 private:
  void Sep() { text_ += text_.size() > 1 ? "," : ""; }
  std::string text_ = "{";
};

constexpr PgStatement kApplyBatch = {
    "wallet_apply_batch",
    "SELECT outcome, entry_seq, hold_id, amount_yen, amount2_yen, created, available_yen, "
    "held_yen, qmoney_yen, pending_yen, version, state, "
    "(extract(epoch FROM expires_at) * 1000000)::bigint "
    "FROM wallet_apply_batch($1::smallint[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::bigint[], $7::smallint[], $8::text[], $9::bigint[], $10::bigint[])"};

constexpr PgStatement kLoadBalance = {
    "wallet_load_balance",
    "SELECT available_yen, held_yen, qmoney_yen, pending_yen, version, state "
    "FROM wallets WHERE seller_id = $1"};

constexpr PgStatement kListHistory = {
    "wallet_list_history",
    "SELECT seq, entry_type, debit_account, credit_account, amount_yen, available_after, "
    "held_after, qmoney_after, pending_after, product, reference, hold_id, "
    "(extract(epoch FROM created_at) * 1000000)::bigint "
    "FROM journal WHERE seller_id = $1 AND ($2::bigint = 0 OR seq < $2) "
    "AND (cardinality($3::smallint[]) = 0 OR entry_type = ANY($3::smallint[])) "
    "AND ($4::bigint IS NULL OR created_at >= 'epoch'::timestamptz + $4 * interval '1 microsecond') "
    "AND ($5::bigint IS NULL OR created_at < 'epoch'::timestamptz + $5 * interval '1 microsecond') "
    "ORDER BY seq DESC LIMIT $6"};

constexpr PgStatement kWalletExists = {"wallet_exists",
                                       "SELECT 1 FROM wallets WHERE seller_id = $1"};

constexpr PgStatement kGetHold = {
    "wallet_get_hold",
    "SELECT amount_yen, product, reference, state, captured_yen, "
    "(extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM expires_at) * 1000000)::bigint, "
    "(extract(epoch FROM resolved_at) * 1000000)::bigint "
    "FROM holds WHERE seller_id = $1 AND hold_id = $2"};

constexpr PgStatement kDueHolds = {
    "wallet_due_holds",
    "SELECT seller_id, hold_id FROM holds WHERE state = 1 AND expires_at <= now() "
    "ORDER BY expires_at LIMIT $1"};

}  // namespace

absl::StatusOr<std::vector<OpResult>> ApplyBatch(PgConnection& conn,
                                                 const std::vector<const Op*>& ops) {
  ArrayLiteral type, seller, caller, key, hash, amount, code, ref, hold, ttl;
  for (const Op* op : ops) {
    type.AddInt(static_cast<int64_t>(op->type));
    seller.AddText(op->seller_id);
    caller.AddText(op->caller);
    key.AddText(op->idempotency_key);
    hash.AddText(op->request_hash);
    amount.AddInt(op->amount_yen);
    code.AddInt(op->code);
    ref.AddText(op->reference);
    hold.AddInt(op->hold_id);
    ttl.AddInt(op->hold_ttl_s);
  }
  auto result = conn.Exec(kApplyBatch, {type.Finish(), seller.Finish(), caller.Finish(),
                                        key.Finish(), hash.Finish(), amount.Finish(),
                                        code.Finish(), ref.Finish(), hold.Finish(), ttl.Finish()});
  if (!result.ok()) return result.status();
  if (result->rows() != static_cast<int>(ops.size())) {
    return Internal("LEDGER_BATCH_MISMATCH",
                    absl::StrCat("wallet_apply_batch returned ", result->rows(), " results for ",
                                 ops.size(), " operations"));
  }
  std::vector<OpResult> out(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const PgResult& r = *result;
    const int row = static_cast<int>(i);
    OpResult& o = out[i];
    o.outcome = static_cast<Outcome>(r.GetInt64(row, 0));
    o.entry_seq = IntOrZero(r, row, 1);
    o.hold_id = IntOrZero(r, row, 2);
    o.amount_yen = IntOrZero(r, row, 3);
    o.amount2_yen = IntOrZero(r, row, 4);
    o.created = r.GetBool(row, 5);
    o.balance.seller_id = ops[i]->seller_id;
    o.balance.available_yen = IntOrZero(r, row, 6);
    o.balance.held_yen = IntOrZero(r, row, 7);
    o.balance.qmoney_yen = IntOrZero(r, row, 8);
    o.balance.pending_yen = IntOrZero(r, row, 9);
    o.balance.version = IntOrZero(r, row, 10);
    o.balance.state = static_cast<WalletState>(IntOrZero(r, row, 11));
    o.expires_at = MicrosToTime(r, row, 12);
  }
  return out;
}

absl::StatusOr<Balance> LoadBalance(PgConnection& conn, const std::string& seller_id) {
  auto r = conn.Exec(kLoadBalance, {seller_id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) {
    return NotFound("WALLET_NOT_FOUND", absl::StrCat("no wallet for seller ", seller_id));
  }
  Balance b;
  b.seller_id = seller_id;
  b.available_yen = r->GetInt64(0, 0);
  b.held_yen = r->GetInt64(0, 1);
  b.qmoney_yen = r->GetInt64(0, 2);
  b.pending_yen = r->GetInt64(0, 3);
  b.version = r->GetInt64(0, 4);
  b.state = static_cast<WalletState>(r->GetInt64(0, 5));
  return b;
}

absl::StatusOr<std::vector<HistoryEntry>> ListHistory(PgConnection& conn, const HistoryQuery& q) {
  ArrayLiteral types;
  for (int16_t t : q.types) types.AddInt(t);
  auto r = conn.Exec(kListHistory, {q.seller_id, absl::StrCat(q.before_seq), types.Finish(),
                                    MicrosOrNull(q.from), MicrosOrNull(q.to),
                                    absl::StrCat(q.page_size)});
  if (!r.ok()) return r.status();
  std::vector<HistoryEntry> out;
  out.reserve(r->rows());
  for (int i = 0; i < r->rows(); ++i) {
    HistoryEntry e;
    e.seq = r->GetInt64(i, 0);
    e.entry_type = static_cast<int16_t>(r->GetInt64(i, 1));
    e.debit_account = static_cast<int16_t>(r->GetInt64(i, 2));
    e.credit_account = static_cast<int16_t>(r->GetInt64(i, 3));
    e.amount_yen = r->GetInt64(i, 4);
    e.available_after_yen = r->GetInt64(i, 5);
    e.held_after_yen = r->GetInt64(i, 6);
    e.qmoney_after_yen = r->GetInt64(i, 7);
    e.pending_after_yen = r->GetInt64(i, 8);
    e.product = static_cast<int16_t>(r->GetInt64(i, 9));
    e.reference = std::string(r->Get(i, 10));
    e.hold_id = r->GetInt64(i, 11);
    e.created_at = MicrosToTime(*r, i, 12);
    out.push_back(std::move(e));
  }
  if (out.empty()) {
    auto exists = conn.Exec(kWalletExists, {q.seller_id});
    if (!exists.ok()) return exists.status();
    if (exists->rows() == 0) {
      return NotFound("WALLET_NOT_FOUND", absl::StrCat("no wallet for seller ", q.seller_id));
    }
  }
  return out;
}

absl::StatusOr<HoldRecord> GetHold(PgConnection& conn, const std::string& seller_id,
                                   int64_t hold_id) {
  auto r = conn.Exec(kGetHold, {seller_id, absl::StrCat(hold_id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) {
    return NotFound("HOLD_NOT_FOUND",
                    absl::StrCat("no hold ", hold_id, " for seller ", seller_id));
  }
  HoldRecord h;
  h.seller_id = seller_id;
  h.hold_id = hold_id;
  h.amount_yen = r->GetInt64(0, 0);
  h.product = static_cast<int16_t>(r->GetInt64(0, 1));
  h.reference = std::string(r->Get(0, 2));
  h.state = static_cast<int16_t>(r->GetInt64(0, 3));
  h.captured_yen = r->GetInt64(0, 4);
  h.created_at = MicrosToTime(*r, 0, 5);
  h.expires_at = MicrosToTime(*r, 0, 6);
  h.resolved_at = MicrosToTime(*r, 0, 7);
  return h;
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
