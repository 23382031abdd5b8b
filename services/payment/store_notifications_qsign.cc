// OrderStore's statements about notifications (P7), Q-sign rows (P3) and request keys; the
// orders' are in store.cc.
#include "absl/strings/str_cat.h"
#include "services/payment/store.h"
#include "services/payment/store_sql.h"

namespace qcash::payment {
namespace {

using store_sql::Int;
using store_sql::Micros;
using store_sql::TimeAt;

constexpr PgStatement kInsertNotification = {
    "payment_insert_notification",
    "INSERT INTO provider_notifications (provider, event_id, order_id, provider_status,"
    "  amount_yen, outcome, signed_at, body)"
    " VALUES ($1, $2, $3, $4, $5, $6,"
    "  CASE WHEN $7::bigint IS NULL THEN NULL ELSE " QCASH_TS("$7") " END, decode($8, 'hex'))"
    " RETURNING notification_id"};

constexpr PgStatement kCountDuplicate = {
    "payment_count_duplicate",
    "UPDATE provider_notifications SET deliveries = deliveries + 1,"
    "  last_delivered_at = clock_timestamp()"
    " WHERE provider = $1 AND event_id = $2 AND outcome IN (1, 2) RETURNING notification_id"};

// SKIP LOCKED: two replicas' retention passes share the work instead of waiting on each other.
constexpr PgStatement kDeleteOldNotifications = {
    "payment_delete_old_notifications",
    "DELETE FROM provider_notifications WHERE notification_id IN ("
    "  SELECT n.notification_id FROM provider_notifications n"
    "  WHERE n.received_at < clock_timestamp() - $1::bigint * interval '1 second'"
    "    AND NOT EXISTS (SELECT 1 FROM charge_orders o"
    "                    WHERE o.order_id = n.order_id AND o.state IN (1, 2, 3))"
    "  ORDER BY n.received_at LIMIT $2 FOR UPDATE SKIP LOCKED)"};

constexpr PgStatement kLoadQsign = {
    "payment_load_qsign",
    "SELECT password_hash, failed_attempts, coalesce(" QCASH_US("locked_until") ", 0),"
    " lockouts, version FROM qsign_credentials WHERE seller_id = $1"};

constexpr PgStatement kCreateQsign = {
    "payment_create_qsign",
    "INSERT INTO qsign_credentials (seller_id, password_hash) VALUES ($1, $2)"
    " ON CONFLICT (seller_id) DO NOTHING"};

constexpr PgStatement kStoreQsignHash = {
    "payment_store_qsign_hash",
    "UPDATE qsign_credentials SET password_hash = $2, failed_attempts = 0,"
    "  version = version + 1, updated_at = clock_timestamp()"
    " WHERE seller_id = $1 AND version = $3"};

constexpr PgStatement kStoreQsignAttempts = {
    "payment_store_qsign_attempts",
    "UPDATE qsign_credentials SET failed_attempts = $2,"
    "  locked_until = CASE WHEN $3::bigint IS NULL THEN NULL ELSE " QCASH_TS("$3") " END,"
    "  lockouts = $4, version = version + 1, updated_at = clock_timestamp()"
    " WHERE seller_id = $1 AND version = $5"};

// One statement, so concurrent checks of one seller are each counted (the row lock of the
// upsert serializes them).
constexpr PgStatement kCountQsignCheck = {
    "payment_count_qsign_check",
    "INSERT INTO qsign_throttle AS t (seller_id, window_start, checks)"
    " VALUES ($1, clock_timestamp(), 1)"
    " ON CONFLICT (seller_id) DO UPDATE SET"
    "  window_start = CASE WHEN t.window_start <= clock_timestamp() - $2::bigint * interval"
    "    '1 millisecond' THEN clock_timestamp() ELSE t.window_start END,"
    "  checks = CASE WHEN t.window_start <= clock_timestamp() - $2::bigint * interval"
    "    '1 millisecond' THEN 1 ELSE least(t.checks + 1, $3::int + 1) END"
    " RETURNING " QCASH_US("window_start") ", checks, " QCASH_US("clock_timestamp()")};

constexpr PgStatement kFindRequestKey = {"payment_find_request_key",
                                         "SELECT rpc, request_hash, order_id FROM request_keys"
                                         " WHERE caller = $1 AND seller_id = $2 AND idem_key = $3"};

constexpr PgStatement kInsertRequestKey = {
    "payment_insert_request_key",
    "INSERT INTO request_keys (caller, seller_id, idem_key, rpc, request_hash, order_id)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"};

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

}  // namespace

absl::StatusOr<int64_t> OrderStore::Session::InsertNotification(const NotificationRecord& record) {
  auto r = conn_.Exec(
      kInsertNotification,
      {record.provider.substr(0, 64), record.event_id, record.order_id.substr(0, 128),
       record.provider_status.substr(0, 32), Int(record.amount_yen), Int(record.outcome),
       record.signed_at ? std::optional<std::string>(Micros(*record.signed_at)) : std::nullopt,
       Hex(record.body)});
  if (!r.ok()) return r.status();
  return r->GetInt64(0, 0);
}

absl::StatusOr<std::optional<int64_t>> OrderStore::Session::CountDuplicate(
    const std::string& provider, const std::string& event_id) {
  auto r = conn_.Exec(kCountDuplicate, {provider, event_id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(r->GetInt64(0, 0));
}

absl::StatusOr<int64_t> OrderStore::Session::DeleteOldNotifications(absl::Duration age, int limit) {
  auto r = conn_.Exec(kDeleteOldNotifications, {Int(absl::ToInt64Seconds(age)), Int(limit)});
  if (!r.ok()) return r.status();
  return r->affected();
}

absl::StatusOr<std::optional<QsignRow>> OrderStore::Session::LoadQsign(
    const std::string& seller_id) {
  auto r = conn_.Exec(kLoadQsign, {seller_id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<QsignRow>();
  QsignRow row;
  row.password_hash = std::string(r->Get(0, 0));
  row.attempts.failed = r->GetInt64(0, 1);
  row.attempts.locked_until = TimeAt(*r, 0, 2);
  row.attempts.lockouts = r->GetInt64(0, 3);
  row.version = r->GetInt64(0, 4);
  return std::optional<QsignRow>(std::move(row));
}

absl::StatusOr<bool> OrderStore::Session::CreateQsign(const std::string& seller_id,
                                                      const std::string& password_hash) {
  auto r = conn_.Exec(kCreateQsign, {seller_id, password_hash});
  if (!r.ok()) return r.status();
  return r->affected() == 1;
}

absl::StatusOr<bool> OrderStore::Session::StoreQsignHash(const std::string& seller_id,
                                                         const std::string& password_hash,
                                                         int64_t version) {
  auto r = conn_.Exec(kStoreQsignHash, {seller_id, password_hash, Int(version)});
  if (!r.ok()) return r.status();
  return r->affected() == 1;
}

absl::StatusOr<bool> OrderStore::Session::StoreQsignAttempts(const std::string& seller_id,
                                                             const QsignAttempts& attempts,
                                                             int64_t version) {
  auto r = conn_.Exec(kStoreQsignAttempts,
                      {seller_id, Int(attempts.failed),
                       attempts.locked_until == absl::InfinitePast()
                           ? std::nullopt
                           : std::optional<std::string>(Micros(attempts.locked_until)),
                       Int(attempts.lockouts), Int(version)});
  if (!r.ok()) return r.status();
  return r->affected() == 1;
}

absl::StatusOr<QsignCount> OrderStore::Session::CountQsignCheck(const std::string& seller_id,
                                                                const QsignThrottlePolicy& policy) {
  auto r = conn_.Exec(kCountQsignCheck, {seller_id, Int(absl::ToInt64Milliseconds(policy.window)),
                                         Int(policy.checks_max)});
  if (!r.ok()) return r.status();
  QsignCount count;
  count.window.start = TimeAt(*r, 0, 0);
  count.window.checks = r->GetInt64(0, 1);
  count.now = TimeAt(*r, 0, 2);
  return count;
}

absl::StatusOr<std::optional<RequestKey>> OrderStore::Session::FindRequestKey(
    const std::string& caller, const std::string& seller_id, const std::string& key) {
  auto r = conn_.Exec(kFindRequestKey, {caller, seller_id, key});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<RequestKey>();
  RequestKey found;
  found.rpc = std::string(r->Get(0, 0));
  found.request_hash = std::string(r->Get(0, 1));
  found.order_id = std::string(r->Get(0, 2));
  return std::optional<RequestKey>(std::move(found));
}

absl::StatusOr<bool> OrderStore::Session::InsertRequestKey(const std::string& caller,
                                                           const std::string& seller_id,
                                                           const std::string& key,
                                                           const RequestKey& record) {
  auto r = conn_.Exec(kInsertRequestKey,
                      {caller, seller_id, key, record.rpc, record.request_hash, record.order_id});
  if (!r.ok()) return r.status();
  return r->affected() == 1;
}

}  // namespace qcash::payment
