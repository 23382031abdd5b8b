// The payment service's SQL: every statement it runs against its own PostgreSQL database
// (migrations/0001_payment.sql). Each state change of an order and the record of who made it
// are one statement, conditional on the state the caller saw, so two actors racing on one
// order (a notification, the seller's return, the reconciler) move it once.
#ifndef QCASH_SERVICES_PAYMENT_STORE_H_
#define QCASH_SERVICES_PAYMENT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg.h"
#include "services/payment/order.h"
#include "services/payment/qsign.h"

namespace qcash::payment {

// ---------------------------------------------------------------------------- orders

absl::StatusOr<std::optional<Order>> FindOrderByKey(PgConnection& conn,
                                                    const std::string& seller_id,
                                                    const std::string& caller,
                                                    const std::string& idempotency_key);

// The order, optionally locked FOR UPDATE (inside a transaction).
absl::StatusOr<std::optional<Order>> LoadOrder(PgConnection& conn, const std::string& order_id,
                                               bool for_update = false);

// Inserts `order` (state CREATED) and its creation transition in one statement. Returns false,
// having written nothing, when (seller, caller, idempotency key) already has an order.
absl::StatusOr<bool> InsertOrder(PgConnection& conn, const Order& order, absl::Time next_attempt_at,
                                 const Transition& created);

// A move of one order from `from` to `to`, and what changes with it.
struct OrderChange {
  OrderState from = OrderState::kCreated;
  OrderState to = OrderState::kCreated;
  std::string actor;
  std::string reason;
  std::optional<int64_t> notification_id;
  std::optional<std::string> provider_payment_id;
  std::optional<std::string> redirect_url;
  std::optional<Instructions> instructions;
  std::optional<std::string> failure_reason;
  int64_t wallet_entry_seq = 0;  // to CREDITED
  // When the reconciler should look next; none for a final state.
  std::optional<absl::Time> next_attempt_at;
};

// Applies `change` if the order is still in `change.from`, with its transition record, in one
// statement. Returns false, having written nothing, when the order had moved on.
// REQUIRES: CanTransition(family, from, to).
absl::StatusOr<bool> ApplyChange(PgConnection& conn, const std::string& order_id,
                                 const OrderChange& change);

// Reschedules the reconciler's next look at the order, if it is still in `state` (a change
// made meanwhile brought its own schedule). `error` and `blocked` record why a credit failed
// (blocked: the wallet refused for good; the order leaves the queue until an operator
// retries). A successful look passes reset_attempts.
absl::Status Reschedule(PgConnection& conn, const std::string& order_id, OrderState state,
                        std::optional<absl::Time> next_attempt_at, bool reset_attempts,
                        const std::string& error = "", bool blocked = false);

absl::Status SetAttention(PgConnection& conn, const std::string& order_id,
                          const std::string& attention);

absl::StatusOr<std::vector<Transition>> LoadTransitions(PgConnection& conn,
                                                        const std::string& order_id);

// Takes up to `limit` orders whose next look is due, oldest due first, skipping those another
// replica holds, and pushes their next look `lease` ahead (so a crash mid-work only delays
// them) while counting the attempt.
absl::StatusOr<std::vector<Order>> ClaimDue(PgConnection& conn, int limit, absl::Duration lease);

// P6: up to `limit` of the seller's orders older than `after` (if set), newest first.
absl::StatusOr<std::vector<Order>> ListOrders(PgConnection& conn, const std::string& seller_id,
                                              const std::optional<PageCursor>& after,
                                              const std::vector<int16_t>& states, int limit);

// Orders that need an operator, oldest first, after `after` (if set).
absl::StatusOr<std::vector<Order>> ListStuck(PgConnection& conn, absl::Duration min_age,
                                             const std::optional<PageCursor>& after, int limit);

// ---------------------------------------------------------------------------- notifications

// Stored notifications are accepted ones only (P7); outcome 3 (rejected) was stored before
// issue 10 and is no longer written: rejected deliveries are counted in metrics instead.
inline constexpr int kOutcomeApplied = 1;
inline constexpr int kOutcomeNoEffect = 2;

struct NotificationRecord {
  std::string provider;
  std::string event_id;
  std::string order_id;
  std::string provider_status;
  int64_t amount_yen = 0;
  int outcome = kOutcomeNoEffect;
  std::optional<absl::Time> signed_at;
  std::string body;
};

absl::StatusOr<int64_t> InsertNotification(PgConnection& conn, const NotificationRecord& record);

// When (provider, event_id) was accepted before: counts this delivery and returns its id.
absl::StatusOr<std::optional<int64_t>> CountDuplicate(PgConnection& conn,
                                                      const std::string& provider,
                                                      const std::string& event_id);

// Retention (P7): deletes up to `limit` stored notifications received more than `age` ago,
// oldest first, except those of orders not final yet (CREATED, AWAITING_PAYMENT, PAID: an
// operator may still need them). Returns how many it deleted.
absl::StatusOr<int64_t> DeleteOldNotifications(PgConnection& conn, absl::Duration age, int limit);

// ---------------------------------------------------------------------------- Q-sign (P3)

struct QsignRow {
  std::string password_hash;
  QsignAttempts attempts;
  int64_t version = 0;  // bumped by every change of the row
};

// The seller's row as it is now (no lock is taken: updates are guarded by `version`).
absl::StatusOr<std::optional<QsignRow>> LoadQsign(PgConnection& conn, const std::string& seller_id);
// The first password of a seller. Returns false, having written nothing, when the seller has
// one already (set concurrently).
absl::StatusOr<bool> CreateQsign(PgConnection& conn, const std::string& seller_id,
                                 const std::string& password_hash);
// Replaces the hash and clears the wrong-attempt count (the lockout streak stays), if the row
// is still at `version`. Returns false, having written nothing, when it changed meanwhile.
absl::StatusOr<bool> StoreQsignHash(PgConnection& conn, const std::string& seller_id,
                                    const std::string& password_hash, int64_t version);
// Stores `attempts` if the row is still at `version`; false (nothing written) otherwise.
absl::StatusOr<bool> StoreQsignAttempts(PgConnection& conn, const std::string& seller_id,
                                        const QsignAttempts& attempts, int64_t version);

// Counts one set or check of the seller's password in the seller's window (P3), starting a
// new window when `window` has passed since the current one began. Returns the window with
// this check counted, and the database's clock to judge it by. The count stops one past
// `checks_max`, so a seller past the limit cannot push the end of the window further away.
struct QsignCount {
  QsignWindow window;
  absl::Time now;
};
absl::StatusOr<QsignCount> CountQsignCheck(PgConnection& conn, const std::string& seller_id,
                                           const QsignThrottlePolicy& policy);

// ---------------------------------------------------------------------------- request keys

struct RequestKey {
  std::string rpc;
  std::string request_hash;
  std::string order_id;
};

absl::StatusOr<std::optional<RequestKey>> FindRequestKey(PgConnection& conn,
                                                         const std::string& caller,
                                                         const std::string& seller_id,
                                                         const std::string& key);
// Returns false, having written nothing, when the key exists.
absl::StatusOr<bool> InsertRequestKey(PgConnection& conn, const std::string& caller,
                                      const std::string& seller_id, const std::string& key,
                                      const RequestKey& record);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_STORE_H_
