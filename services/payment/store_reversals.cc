// OrderStore's statements about reversals after payment (issue 16, DESIGN.md section 9): the
// record of each reversal a provider notified, the order's reversed total, and the
// reconciler's queue of claw-backs the wallet has not confirmed yet.
#include "absl/strings/str_cat.h"
#include "services/payment/store.h"
#include "services/payment/store_sql.h"

namespace qcash::payment {
namespace {

using store_sql::Int;
using store_sql::Micros;
using store_sql::MicrosOrNull;
using store_sql::TimeAt;

#define QCASH_REVERSAL_COLUMNS \
  "provider, reversal_id, order_id, seller_id, kind, amount_yen, state, "                      \
  "coalesce(" QCASH_US("reversed_at") ", 0), " QCASH_US("received_at") ", "                    \
  "coalesce(" QCASH_US("applied_at") ", 0), clawed_back_yen, debt_yen, wallet_entry_seq, "      \
  "attempts, last_error"

Reversal ReversalAt(const PgResult& r, int row) {
  Reversal v;
  v.provider = std::string(r.Get(row, 0));
  v.reversal_id = std::string(r.Get(row, 1));
  v.order_id = std::string(r.Get(row, 2));
  v.seller_id = std::string(r.Get(row, 3));
  v.kind = static_cast<ReversalKind>(r.GetInt64(row, 4));
  v.amount_yen = r.GetInt64(row, 5);
  v.state = static_cast<ReversalState>(r.GetInt64(row, 6));
  v.reversed_at = TimeAt(r, row, 7);
  v.received_at = TimeAt(r, row, 8);
  v.applied_at = TimeAt(r, row, 9);
  v.clawed_back_yen = r.GetInt64(row, 10);
  v.debt_yen = r.GetInt64(row, 11);
  v.wallet_entry_seq = r.GetInt64(row, 12);
  v.attempts = r.GetInt64(row, 13);
  v.last_error = std::string(r.Get(row, 14));
  return v;
}

std::vector<Reversal> Reversals(const PgResult& r) {
  std::vector<Reversal> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) out.push_back(ReversalAt(r, i));
  return out;
}

constexpr PgStatement kFindReversal = {
    "payment_find_reversal",
    "SELECT " QCASH_REVERSAL_COLUMNS
    " FROM order_reversals WHERE seller_id = $3 AND provider = $1 AND reversal_id = $2"};

// The reversal and the order's total in one statement: the order's row lock (held by the
// caller) makes the check before it and this write one step; the CHECK on reversed_yen is the
// second guard.
constexpr PgStatement kInsertReversal = {
    "payment_insert_reversal",
    "WITH inserted AS ("
    "  INSERT INTO order_reversals (provider, reversal_id, order_id, seller_id, kind,"
    "    amount_yen, state, notification_id, reversed_at, next_attempt_at)"
    "  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint,"
    "    CASE WHEN $9::bigint IS NULL THEN NULL ELSE " QCASH_TS("$9") " END,"
    "    CASE WHEN $10::bigint IS NULL THEN NULL ELSE " QCASH_TS("$10") " END)"
    "  ON CONFLICT (seller_id, provider, reversal_id) DO NOTHING"
    "  RETURNING order_id, amount_yen)"
    "UPDATE charge_orders o SET reversed_yen = o.reversed_yen + i.amount_yen,"
    "  updated_at = clock_timestamp()"
    " FROM inserted i WHERE o.order_id = i.order_id AND o.seller_id = $4"
    " RETURNING o.reversed_yen"};

constexpr PgStatement kLoadReversals = {
    "payment_load_reversals", "SELECT " QCASH_REVERSAL_COLUMNS
                              " FROM order_reversals WHERE seller_id = $3 AND order_id = $1"
                              " ORDER BY received_at, reversal_id LIMIT $2"};

constexpr PgStatement kStartWaitingReversals = {
    "payment_start_waiting_reversals",
    "UPDATE order_reversals r SET state = 2, next_attempt_at = " QCASH_TS("$2")
    " FROM charge_orders o"
    " WHERE r.seller_id = $3 AND r.order_id = $1 AND r.state = 1 AND o.order_id = r.order_id"
    "   AND o.state = 4"};

// Waiting reversals of credited orders are promoted here too: a crash between an order's
// credit and the promotion that follows it (OrderFlow::Credit) only delays their claw-back.
constexpr PgStatement kClaimDueReversals = {
    "payment_claim_due_reversals",
    "UPDATE order_reversals SET state = 2,"
    "  next_attempt_at = " QCASH_TS("$3") " + $2::bigint * interval '1 millisecond',"
    "  attempts = attempts + 1"
    " WHERE (seller_id, provider, reversal_id) IN ("
    "   SELECT r.seller_id, r.provider, r.reversal_id FROM order_reversals r"
    "   WHERE (r.state = 2 AND r.next_attempt_at <= " QCASH_TS("$3") ")"
    "      OR (r.state = 1 AND EXISTS (SELECT 1 FROM charge_orders o"
    "                                  WHERE o.order_id = r.order_id AND o.state = 4))"
    "   ORDER BY r.next_attempt_at NULLS FIRST LIMIT $1 FOR UPDATE OF r SKIP LOCKED)"
    " RETURNING " QCASH_REVERSAL_COLUMNS};

constexpr PgStatement kFinishReversal = {
    "payment_finish_reversal",
    "UPDATE order_reversals SET state = 3, applied_at = clock_timestamp(),"
    "  clawed_back_yen = $3, debt_yen = $4, wallet_entry_seq = $5, next_attempt_at = NULL,"
    "  last_error = ''"
    " WHERE seller_id = $6 AND provider = $1 AND reversal_id = $2 AND state = 2"};

constexpr PgStatement kRescheduleReversal = {
    "payment_reschedule_reversal",
    "UPDATE order_reversals SET"
    "  next_attempt_at = CASE WHEN $3::bigint IS NULL THEN NULL ELSE " QCASH_TS("$3") " END,"
    "  last_error = $4"
    " WHERE seller_id = $5 AND provider = $1 AND reversal_id = $2 AND state = 2"};

constexpr PgStatement kReversalBacklog = {
    "payment_reversal_backlog",
    "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(received_at)), 0)::bigint"
    " FROM order_reversals WHERE state IN (1, 2)"};

constexpr PgStatement kClearAttentionIf = {
    "payment_clear_attention_if",
    "UPDATE charge_orders SET attention = '', updated_at = clock_timestamp()"
    " WHERE seller_id = $3 AND order_id = $1 AND starts_with(attention, $2)"};

}  // namespace

absl::StatusOr<std::optional<Reversal>> OrderStore::Session::FindReversal(
    const std::string& seller_id, const std::string& provider, const std::string& reversal_id) {
  auto r = conn_.Exec(kFindReversal, {provider, reversal_id, seller_id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<Reversal>();
  return std::optional<Reversal>(ReversalAt(*r, 0));
}

absl::StatusOr<bool> OrderStore::Session::InsertReversal(
    const Reversal& reversal, std::optional<int64_t> notification_id,
    std::optional<absl::Time> next_attempt_at) {
  auto r =
      conn_.Exec(kInsertReversal,
                 {reversal.provider, reversal.reversal_id, reversal.order_id, reversal.seller_id,
                  Int(static_cast<int64_t>(reversal.kind)), Int(reversal.amount_yen),
                  Int(static_cast<int64_t>(reversal.state)),
                  notification_id.has_value() ? std::optional<std::string>(Int(*notification_id))
                                              : std::nullopt,
                  reversal.reversed_at == absl::InfinitePast()
                      ? std::nullopt
                      : std::optional<std::string>(Micros(reversal.reversed_at)),
                  MicrosOrNull(next_attempt_at)});
  if (!r.ok()) return r.status();
  return r->rows() == 1;
}

absl::StatusOr<std::vector<Reversal>> OrderStore::Session::LoadReversals(
    const std::string& seller_id, const std::string& order_id) {
  auto r = conn_.Exec(kLoadReversals, {order_id, Int(kReversalsPerOrderMax), seller_id});
  if (!r.ok()) return r.status();
  return Reversals(*r);
}

absl::StatusOr<int64_t> OrderStore::Session::StartWaitingReversals(const std::string& seller_id,
                                                                   const std::string& order_id,
                                                                   absl::Time now) {
  auto r = conn_.Exec(kStartWaitingReversals, {order_id, Micros(now), seller_id});
  if (!r.ok()) return r.status();
  return r->affected();
}

absl::StatusOr<std::vector<Reversal>> OrderStore::Session::ClaimDueReversals(int limit,
                                                                             absl::Duration lease,
                                                                             absl::Time now) {
  auto r = conn_.Exec(kClaimDueReversals,
                      {Int(limit), Int(absl::ToInt64Milliseconds(lease)), Micros(now)});
  if (!r.ok()) return r.status();
  return Reversals(*r);
}

absl::StatusOr<bool> OrderStore::Session::FinishReversal(const Reversal& reversal,
                                                         int64_t clawed_back_yen, int64_t debt_yen,
                                                         int64_t wallet_entry_seq) {
  auto r =
      conn_.Exec(kFinishReversal, {reversal.provider, reversal.reversal_id, Int(clawed_back_yen),
                                   Int(debt_yen), Int(wallet_entry_seq), reversal.seller_id});
  if (!r.ok()) return r.status();
  return r->affected() == 1;
}

absl::Status OrderStore::Session::RescheduleReversal(const Reversal& reversal,
                                                     std::optional<absl::Time> next_attempt_at,
                                                     const std::string& error) {
  return conn_
      .Exec(kRescheduleReversal,
            {reversal.provider, reversal.reversal_id, MicrosOrNull(next_attempt_at),
             error.substr(0, 1000), reversal.seller_id})
      .status();
}

absl::StatusOr<OrderStore::Session::Backlog> OrderStore::Session::LoadReversalBacklog() {
  auto r = conn_.Exec(kReversalBacklog, {});
  if (!r.ok()) return r.status();
  return Backlog{r->GetInt64(0, 0), r->GetInt64(0, 1)};
}

absl::Status OrderStore::Session::ClearAttentionIf(const std::string& seller_id,
                                                   const std::string& order_id,
                                                   const std::string& prefix) {
  return conn_.Exec(kClearAttentionIf, {order_id, prefix, seller_id}).status();
}

}  // namespace qcash::payment
