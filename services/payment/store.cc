#include "services/payment/store.h"

#include "absl/strings/str_cat.h"
#include "common/migrate.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/store_sql.h"

namespace qcash::payment {

// Defined by qcash_embed_migrations() from migrations/*.sql.
const std::vector<Migration>& Migrations();

namespace {

using store_sql::Int;
using store_sql::Micros;
using store_sql::MicrosOrNull;
using store_sql::TimeAt;

#define QCASH_ORDER_COLUMNS \
  "order_id, seller_id, caller, idempotency_key, request_hash, amount_yen, method, family, "   \
  "provider, state, provider_payment_id, redirect_url, "                                       \
  "coalesce(instructions->>'institution', ''), coalesce(instructions->>'payment_number', ''), " \
  "coalesce(instructions->>'confirmation_number', ''), "                                       \
  "coalesce(instructions->>'payee_name', ''), coalesce(instructions->>'url', ''), "            \
  "coalesce((instructions->>'pay_by_us')::bigint, 0), failure_reason, attention, "             \
  QCASH_US("created_at") ", " QCASH_US("deadline") ", " QCASH_US("paid_at") ", "               \
  QCASH_US("credited_at") ", wallet_entry_seq, attempts, credit_blocked, credit_error, "         \
  "return_url, reversed_yen"

Order OrderAt(const PgResult& r, int row) {
  Order o;
  o.order_id = std::string(r.Get(row, 0));
  o.seller_id = std::string(r.Get(row, 1));
  o.caller = std::string(r.Get(row, 2));
  o.idempotency_key = std::string(r.Get(row, 3));
  o.request_hash = std::string(r.Get(row, 4));
  o.amount_yen = r.GetInt64(row, 5);
  o.method = static_cast<Method>(r.GetInt64(row, 6));
  o.family = static_cast<Family>(r.GetInt64(row, 7));
  o.provider = std::string(r.Get(row, 8));
  o.state = static_cast<OrderState>(r.GetInt64(row, 9));
  o.provider_payment_id = std::string(r.Get(row, 10));
  o.redirect_url = std::string(r.Get(row, 11));
  o.instructions.institution = std::string(r.Get(row, 12));
  o.instructions.payment_number = std::string(r.Get(row, 13));
  o.instructions.confirmation_number = std::string(r.Get(row, 14));
  o.instructions.payee_name = std::string(r.Get(row, 15));
  o.instructions.url = std::string(r.Get(row, 16));
  o.instructions.pay_by = TimeAt(r, row, 17);
  o.failure_reason = std::string(r.Get(row, 18));
  o.attention = std::string(r.Get(row, 19));
  o.created_at = TimeAt(r, row, 20);
  o.deadline = TimeAt(r, row, 21);
  o.paid_at = TimeAt(r, row, 22);
  o.credited_at = TimeAt(r, row, 23);
  o.wallet_entry_seq = r.GetInt64(row, 24);
  o.credit_attempts = r.GetInt64(row, 25);
  o.credit_blocked = r.GetBool(row, 26);
  o.credit_error = std::string(r.Get(row, 27));
  o.return_url = std::string(r.Get(row, 28));
  o.reversed_yen = r.GetInt64(row, 29);
  return o;
}

std::vector<Order> Orders(const PgResult& r) {
  std::vector<Order> orders;
  orders.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) orders.push_back(OrderAt(r, i));
  return orders;
}

std::string SmallintArray(const std::vector<int16_t>& values) {
  std::string text = "{";
  for (size_t i = 0; i < values.size(); ++i) absl::StrAppend(&text, i ? "," : "", values[i]);
  return text + "}";
}

constexpr PgStatement kFindByKey = {
    "payment_find_by_key", "SELECT " QCASH_ORDER_COLUMNS
                           " FROM charge_orders "
                           "WHERE seller_id = $1 AND caller = $2 AND idempotency_key = $3"};

constexpr PgStatement kLoadOrder = {
    "payment_load_order", "SELECT " QCASH_ORDER_COLUMNS " FROM charge_orders WHERE order_id = $1"};

constexpr PgStatement kLoadOrderForUpdate = {"payment_load_order_for_update",
                                             "SELECT " QCASH_ORDER_COLUMNS
                                             " FROM charge_orders WHERE order_id = $1 FOR UPDATE"};

constexpr PgStatement kInsertOrder = {
    "payment_insert_order",
    "WITH inserted AS ("
    "  INSERT INTO charge_orders (order_id, seller_id, caller, idempotency_key, request_hash,"
    "    amount_yen, method, family, provider, state, deadline, next_attempt_at, return_url)"
    "  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, " QCASH_TS("$10") ", " QCASH_TS("$11") ","
    "    $14)"
    "  ON CONFLICT (seller_id, caller, idempotency_key) DO NOTHING"
    "  RETURNING order_id, seller_id)"
    "INSERT INTO order_transitions (order_id, seq, seller_id, from_state, to_state, actor, reason)"
    " SELECT order_id, 1, seller_id, NULL, 1, $12, $13 FROM inserted RETURNING seq"};

// The row lock taken by the UPDATE serializes concurrent changes of one order, and the
// re-check of `state` after the wait makes the loser match nothing: it writes no transition.
constexpr PgStatement kApplyChange = {
    "payment_apply_change",
    "WITH moved AS ("
    "  UPDATE charge_orders SET"
    "    state = $3::smallint,"
    "    provider_payment_id = coalesce($4, provider_payment_id),"
    "    redirect_url = coalesce($5, redirect_url),"
    "    instructions = CASE WHEN $6::text IS NULL THEN instructions ELSE jsonb_build_object("
    "      'institution', $6::text, 'payment_number', $7::text, 'confirmation_number', $8::text,"
    "      'payee_name', $9::text, 'url', $10::text, 'pay_by_us', $11::bigint) END,"
    "    failure_reason = coalesce($12, failure_reason),"
    "    paid_at = CASE WHEN $3::smallint = 3 THEN clock_timestamp() ELSE paid_at END,"
    "    credited_at = CASE WHEN $3::smallint = 4 THEN clock_timestamp() ELSE credited_at END,"
    "    wallet_entry_seq = CASE WHEN $3::smallint = 4 THEN $13::bigint ELSE wallet_entry_seq END,"
    "    next_attempt_at = CASE WHEN $14::bigint IS NULL THEN NULL ELSE " QCASH_TS("$14") " END,"
    "    attempts = 0, credit_blocked = false, credit_error = '',"
    "    transition_count = transition_count + 1,"
    "    updated_at = clock_timestamp()"
    "  WHERE order_id = $1 AND state = $2::smallint"
    "  RETURNING order_id, seller_id, transition_count)"
    "INSERT INTO order_transitions (order_id, seq, seller_id, from_state, to_state, actor, reason,"
    "  notification_id)"
    " SELECT order_id, transition_count, seller_id, $2::smallint, $3::smallint, $15, $16,"
    "  $17::bigint FROM moved"
    " RETURNING seq"};

constexpr PgStatement kReschedule = {
    "payment_reschedule",
    "UPDATE charge_orders SET"
    "  next_attempt_at = CASE WHEN $2::bigint IS NULL THEN NULL ELSE " QCASH_TS("$2") " END,"
    "  attempts = CASE WHEN $3 THEN 0 ELSE attempts END,"
    "  credit_error = $4, credit_blocked = $5, updated_at = clock_timestamp()"
    " WHERE order_id = $1 AND state = $6::smallint"};

constexpr PgStatement kSetAttention = {
    "payment_set_attention",
    "UPDATE charge_orders SET attention = $2, updated_at = clock_timestamp() WHERE order_id = $1"};

constexpr PgStatement kLoadTransitions = {
    "payment_load_transitions",
    "SELECT from_state, to_state, actor, reason, " QCASH_US(
        "at") " FROM order_transitions WHERE order_id = $1 ORDER BY seq"};

constexpr PgStatement kClaimDue = {
    "payment_claim_due",
    "UPDATE charge_orders SET"
    "  next_attempt_at = " QCASH_TS("$3") " + $2::bigint * interval '1 millisecond',"
    "  attempts = attempts + 1"
    " WHERE order_id IN (SELECT order_id FROM charge_orders"
    "   WHERE next_attempt_at <= " QCASH_TS("$3") " ORDER BY next_attempt_at LIMIT $1"
    "   FOR UPDATE SKIP LOCKED)"
    " RETURNING " QCASH_ORDER_COLUMNS};

// The backlog between payment and credit (P5): what operators alert on.
constexpr PgStatement kBacklog = {
    "payment_backlog",
    "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(paid_at)), 0)::bigint "
    "FROM charge_orders WHERE state = 3"};

constexpr PgStatement kListOrders = {
    "payment_list_orders",
    "SELECT " QCASH_ORDER_COLUMNS " FROM charge_orders WHERE seller_id = $1"
    " AND ($2::bigint IS NULL OR (created_at, order_id) < (" QCASH_TS("$2") ", $3::text))"
    " AND (cardinality($4::smallint[]) = 0 OR state = ANY($4::smallint[]))"
    " ORDER BY created_at DESC, order_id DESC LIMIT $5"};

constexpr PgStatement kListStuck = {
    "payment_list_stuck",
    "SELECT " QCASH_ORDER_COLUMNS " FROM charge_orders WHERE"
    " ((state = 3 AND (credit_blocked OR paid_at < clock_timestamp() - $1::bigint * interval"
    "   '1 second'))"
    "  OR (state IN (1, 2) AND deadline < clock_timestamp() - $1::bigint * interval '1 second')"
    "  OR (state = 1 AND family = 4 AND created_at < clock_timestamp() - $1::bigint * interval"
    "   '1 second')"
    "  OR attention <> ''"
    // Issue 16: a reversal whose claw-back the wallet has not confirmed for that long.
    "  OR EXISTS (SELECT 1 FROM order_reversals r WHERE r.order_id = charge_orders.order_id"
    "    AND r.state = 2 AND r.received_at < clock_timestamp() - $1::bigint * interval"
    "    '1 second'))"
    " AND ($2::bigint IS NULL OR (created_at, order_id) > (" QCASH_TS("$2") ", $3::text))"
    " ORDER BY created_at, order_id LIMIT $4"};

// One issue of a paid order's receipt (issue 15): the first creates the row, each later one
// counts up, in one statement (the row lock of the conflict serializes concurrent issues).
constexpr PgStatement kIssueReceipt = {
    "payment_issue_receipt",
    "INSERT INTO receipt_issues (seller_id, order_id) VALUES ($1, $2)"
    " ON CONFLICT (seller_id, order_id) DO UPDATE SET issues = receipt_issues.issues + 1,"
    "   last_issued_at = clock_timestamp()"
    " RETURNING issues, " QCASH_US("first_issued_at") ", " QCASH_US("last_issued_at")};

}  // namespace

absl::StatusOr<std::optional<Order>> OrderStore::Session::FindOrderByKey(
    const std::string& seller_id, const std::string& caller, const std::string& idempotency_key) {
  auto r = conn_.Exec(kFindByKey, {seller_id, caller, idempotency_key});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<Order>();
  return std::optional<Order>(OrderAt(*r, 0));
}

absl::StatusOr<std::optional<Order>> OrderStore::Session::LoadOrder(const std::string& order_id,
                                                                    bool for_update) {
  auto r = conn_.Exec(for_update ? kLoadOrderForUpdate : kLoadOrder, {order_id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<Order>();
  return std::optional<Order>(OrderAt(*r, 0));
}

absl::StatusOr<bool> OrderStore::Session::InsertOrder(const Order& order,
                                                      absl::Time next_attempt_at,
                                                      const Transition& created) {
  auto r = conn_.Exec(
      kInsertOrder,
      {order.order_id, order.seller_id, order.caller, order.idempotency_key, order.request_hash,
       Int(order.amount_yen), Int(static_cast<int64_t>(order.method)),
       Int(static_cast<int64_t>(order.family)), order.provider, Micros(order.deadline),
       Micros(next_attempt_at), created.actor, created.reason, order.return_url});
  if (!r.ok()) return r.status();
  return r->rows() == 1;
}

absl::StatusOr<bool> OrderStore::Session::ApplyChange(const std::string& order_id,
                                                      const OrderChange& change) {
  const bool with_instructions = change.instructions.has_value();
  const Instructions none;
  const Instructions& ins = with_instructions ? *change.instructions : none;
  PgParams params = {
      order_id,
      Int(static_cast<int64_t>(change.from)),
      Int(static_cast<int64_t>(change.to)),
      change.provider_payment_id,
      change.redirect_url,
      with_instructions ? std::optional<std::string>(ins.institution) : std::nullopt,
      ins.payment_number,
      ins.confirmation_number,
      ins.payee_name,
      ins.url,
      ins.pay_by == absl::InfinitePast() ? std::string("0") : Micros(ins.pay_by),
      change.failure_reason,
      Int(change.wallet_entry_seq),
      MicrosOrNull(change.next_attempt_at),
      change.actor,
      change.reason.substr(0, 1000),
      change.notification_id.has_value() ? std::optional<std::string>(Int(*change.notification_id))
                                         : std::nullopt,
  };
  auto r = conn_.Exec(kApplyChange, params);
  if (!r.ok()) return r.status();
  return r->rows() == 1;
}

absl::Status OrderStore::Session::Reschedule(const std::string& order_id, OrderState state,
                                             std::optional<absl::Time> next_attempt_at,
                                             bool reset_attempts, const std::string& error,
                                             bool blocked) {
  return conn_
      .Exec(kReschedule,
            {order_id, MicrosOrNull(next_attempt_at), reset_attempts ? "t" : "f",
             error.substr(0, 1000), blocked ? "t" : "f", Int(static_cast<int64_t>(state))})
      .status();
}

absl::Status OrderStore::Session::SetAttention(const std::string& order_id,
                                               const std::string& attention) {
  return conn_.Exec(kSetAttention, {order_id, attention.substr(0, 1000)}).status();
}

absl::StatusOr<std::vector<Transition>> OrderStore::Session::LoadTransitions(
    const std::string& order_id) {
  auto r = conn_.Exec(kLoadTransitions, {order_id});
  if (!r.ok()) return r.status();
  std::vector<Transition> transitions;
  for (int i = 0; i < r->rows(); ++i) {
    Transition t;
    if (!r->IsNull(i, 0)) t.from = static_cast<OrderState>(r->GetInt64(i, 0));
    t.to = static_cast<OrderState>(r->GetInt64(i, 1));
    t.actor = std::string(r->Get(i, 2));
    t.reason = std::string(r->Get(i, 3));
    t.at = TimeAt(*r, i, 4);
    transitions.push_back(std::move(t));
  }
  return transitions;
}

absl::StatusOr<std::vector<Order>> OrderStore::Session::ClaimDue(int limit, absl::Duration lease,
                                                                 absl::Time now) {
  auto r = conn_.Exec(kClaimDue, {Int(limit), Int(absl::ToInt64Milliseconds(lease)), Micros(now)});
  if (!r.ok()) return r.status();
  return Orders(*r);
}

absl::StatusOr<std::vector<Order>> OrderStore::Session::ListOrders(
    const std::string& seller_id, const std::optional<PageCursor>& after,
    const std::vector<int16_t>& states, int limit) {
  auto r = conn_.Exec(
      kListOrders,
      {seller_id, after ? std::optional<std::string>(Int(after->created_at_us)) : std::nullopt,
       after ? after->order_id : std::string(), SmallintArray(states), Int(limit)});
  if (!r.ok()) return r.status();
  return Orders(*r);
}

absl::StatusOr<std::vector<Order>> OrderStore::Session::ListStuck(
    absl::Duration min_age, const std::optional<PageCursor>& after, int limit) {
  auto r = conn_.Exec(kListStuck,
                      {Int(absl::ToInt64Seconds(min_age)),
                       after ? std::optional<std::string>(Int(after->created_at_us)) : std::nullopt,
                       after ? after->order_id : std::string(), Int(limit)});
  if (!r.ok()) return r.status();
  return Orders(*r);
}

absl::StatusOr<OrderStore::Session::Backlog> OrderStore::Session::LoadBacklog() {
  auto r = conn_.Exec(kBacklog, {});
  if (!r.ok()) return r.status();
  return Backlog{r->GetInt64(0, 0), r->GetInt64(0, 1)};
}

absl::StatusOr<ReceiptIssue> OrderStore::Session::IssueReceipt(const std::string& seller_id,
                                                               const std::string& order_id) {
  auto r = conn_.Exec(kIssueReceipt, {seller_id, order_id});
  if (!r.ok()) return r.status();
  ReceiptIssue issue;
  issue.issue_number = r->GetInt64(0, 0);
  issue.first_issued_at = TimeAt(*r, 0, 1);
  issue.issued_at = TimeAt(*r, 0, 2);
  return issue;
}

OrderStore::OrderStore(PgPool* pool) : pool_(pool) {}

absl::StatusOr<std::unique_ptr<PgPool>> OrderStore::OpenPool(const std::string& database_url,
                                                             int pool_size) {
  {
    auto conn = PgConnection::Connect(database_url, "qcash-payment-migrate");
    if (!conn.ok()) return conn.status();
    if (absl::Status s = ApplyMigrations(**conn, Migrations()); !s.ok()) return s;
  }
  return std::make_unique<PgPool>(database_url, "qcash-payment", pool_size);
}

}  // namespace qcash::payment
