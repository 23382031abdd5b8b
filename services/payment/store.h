// The payment service's SQL: every statement it runs against its own PostgreSQL database
// (migrations/*.sql), owned by one class, OrderStore. The parts of the service (orders,
// notifications, Q-sign vault, reconciler, operator queries) reach the database only through
// it.
#ifndef QCASH_SERVICES_PAYMENT_STORE_H_
#define QCASH_SERVICES_PAYMENT_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg.h"
#include "services/payment/order.h"
#include "services/payment/qsign.h"

namespace qcash::payment {

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

// Stored notifications are accepted ones only (P7); outcome 3 (rejected) was stored before
// issue 10 and is no longer written: rejected deliveries are counted in metrics instead.
inline constexpr int kOutcomeApplied = 1;
// A bound on one order's reversals: a provider takes a payment back in a few parts at most.
inline constexpr int kReversalsPerOrderMax = 100;
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

struct QsignRow {
  std::string password_hash;
  QsignAttempts attempts;
  int64_t version = 0;  // bumped by every change of the row
};

struct QsignCount {
  QsignWindow window;
  absl::Time now;  // the database's clock, to judge the window by
};

// One issue of an order's receipt (領収書): 1 the original, 2, 3, ... reissues (再発行).
struct ReceiptIssue {
  int64_t issue_number = 0;
  absl::Time first_issued_at = absl::InfinitePast();
  absl::Time issued_at = absl::InfinitePast();  // this issue
};

struct RequestKey {
  std::string rpc;
  std::string request_hash;
  std::string order_id;
};

// OrderStore owns every SQL statement of the payment service, over a PgPool it borrows.
//
// The rule of the service (DESIGN.md P5, issue 12): NO DATABASE CONNECTION IS HELD ACROSS A
// REMOTE CALL. A part loads what it needs in one short Session (lease, read, release), calls
// the wallet or the provider holding nothing, and applies the outcome in a fresh Session as a
// change guarded by the state (or version) it saw, so a slow provider cannot stall every
// request by pinning the pool. A Session exists only inside Run/Transact; its body must not
// call the wallet, a connector, or anything else that waits on another process.
// (tests/payment/payment_components_test.cc NoLeaseAcrossRemoteCall holds this.)
class OrderStore {
 public:
  // Every statement, on one leased connection. Each state change of an order and the record
  // of who made it are one statement, conditional on the state the caller saw, so two actors
  // racing on one order (a notification, the seller's return, the reconciler) move it once.
  class Session {
   public:
    explicit Session(PgConnection& conn) : conn_(conn) {}

    // ------------------------------------------------------------------ orders
    absl::StatusOr<std::optional<Order>> FindOrderByKey(const std::string& seller_id,
                                                        const std::string& caller,
                                                        const std::string& idempotency_key);
    // The order, optionally locked FOR UPDATE (inside a transaction).
    absl::StatusOr<std::optional<Order>> LoadOrder(const std::string& order_id,
                                                   bool for_update = false);
    // Inserts `order` (state CREATED) and its creation transition in one statement. Returns
    // false, having written nothing, when (seller, caller, idempotency key) has an order.
    absl::StatusOr<bool> InsertOrder(const Order& order, absl::Time next_attempt_at,
                                     const Transition& created);
    // Applies `change` if the order is still in `change.from`, with its transition record, in
    // one statement. Returns false, having written nothing, when the order had moved on.
    // REQUIRES: CanTransition(family, from, to).
    absl::StatusOr<bool> ApplyChange(const std::string& order_id, const OrderChange& change);
    // Reschedules the reconciler's next look at the order, if it is still in `state` (a
    // change made meanwhile brought its own schedule). `error` and `blocked` record why a
    // credit failed (blocked: the wallet refused for good; the order leaves the queue until
    // an operator retries). A successful look passes reset_attempts.
    absl::Status Reschedule(const std::string& order_id, OrderState state,
                            std::optional<absl::Time> next_attempt_at, bool reset_attempts,
                            const std::string& error = "", bool blocked = false);
    absl::Status SetAttention(const std::string& order_id, const std::string& attention);
    absl::StatusOr<std::vector<Transition>> LoadTransitions(const std::string& order_id);
    // Takes up to `limit` orders whose next look is due at `now`, oldest due first, skipping
    // those another replica holds, and pushes their next look `lease` past `now` (so a crash
    // mid-work only delays them) while counting the attempt.
    absl::StatusOr<std::vector<Order>> ClaimDue(int limit, absl::Duration lease, absl::Time now);
    // P6: up to `limit` of the seller's orders older than `after` (if set), newest first.
    absl::StatusOr<std::vector<Order>> ListOrders(const std::string& seller_id,
                                                  const std::optional<PageCursor>& after,
                                                  const std::vector<int16_t>& states, int limit);
    // Orders that need an operator, oldest first, after `after` (if set).
    absl::StatusOr<std::vector<Order>> ListStuck(absl::Duration min_age,
                                                 const std::optional<PageCursor>& after, int limit);
    // Paid orders not credited yet, and the age in seconds of the oldest (P5 backlog).
    struct Backlog {
      int64_t orders = 0;
      int64_t oldest_age_s = 0;
    };
    absl::StatusOr<Backlog> LoadBacklog();
    // Records one more issue of the receipt of the seller's order and returns it.
    // REQUIRES: the order is the seller's and was paid (PAID or CREDITED).
    absl::StatusOr<ReceiptIssue> IssueReceipt(const std::string& seller_id,
                                              const std::string& order_id);

    // ------------------------------------------------------------------ reversals (issue 16)
    // Statements in store_reversals.cc.
    absl::StatusOr<std::optional<Reversal>> FindReversal(const std::string& seller_id,
                                                         const std::string& provider,
                                                         const std::string& reversal_id);
    // Records `reversal` (its state as given: waiting, or applying with `next_attempt_at`) and
    // adds its amount to the order's reversed_yen, in one statement. Returns false, having
    // written nothing, when (provider, reversal_id) is recorded already.
    // REQUIRES: the order's row lock is held (the caller checked the order's amount against
    // reversed_yen under it); the schema's CHECK is the second guard.
    absl::StatusOr<bool> InsertReversal(const Reversal& reversal,
                                        std::optional<int64_t> notification_id,
                                        std::optional<absl::Time> next_attempt_at);
    // Every reversal of the order, oldest first (at most kReversalsPerOrderMax).
    absl::StatusOr<std::vector<Reversal>> LoadReversals(const std::string& seller_id,
                                                        const std::string& order_id);
    // The order's waiting reversals become applying, due at `now`, if the order is CREDITED.
    // Returns how many.
    absl::StatusOr<int64_t> StartWaitingReversals(const std::string& seller_id,
                                                  const std::string& order_id, absl::Time now);
    // The reconciler's share: up to `limit` applying reversals due at `now` (and waiting ones
    // whose order has been credited meanwhile, which become applying), skipping those another
    // replica holds; their next look moves `lease` past `now` and the attempt is counted.
    absl::StatusOr<std::vector<Reversal>> ClaimDueReversals(int limit, absl::Duration lease,
                                                            absl::Time now);
    // Records the wallet's answer if the reversal is still applying. Returns whether it did.
    absl::StatusOr<bool> FinishReversal(const Reversal& reversal, int64_t clawed_back_yen,
                                        int64_t debt_yen, int64_t wallet_entry_seq);
    // Reschedules an applying reversal after a failure (none: blocked until an operator).
    absl::Status RescheduleReversal(const Reversal& reversal,
                                    std::optional<absl::Time> next_attempt_at,
                                    const std::string& error);
    // Reversals not applied yet (waiting for their credit, or applying), and the age in
    // seconds of the oldest (operators alert on it).
    absl::StatusOr<Backlog> LoadReversalBacklog();
    // Clears the order's attention note if it starts with `prefix` (a note that the event it
    // was about has since been resolved).
    absl::Status ClearAttentionIf(const std::string& seller_id, const std::string& order_id,
                                  const std::string& prefix);

    // ------------------------------------------------------------------ notifications (P7)
    absl::StatusOr<int64_t> InsertNotification(const NotificationRecord& record);
    // When (provider, event_id) was accepted before: counts this delivery, returns its id.
    absl::StatusOr<std::optional<int64_t>> CountDuplicate(const std::string& provider,
                                                          const std::string& event_id);
    // Retention: deletes up to `limit` stored notifications received more than `age` ago,
    // oldest first, except those of orders not final yet (CREATED, AWAITING_PAYMENT, PAID:
    // an operator may still need them). Returns how many it deleted.
    absl::StatusOr<int64_t> DeleteOldNotifications(absl::Duration age, int limit);

    // ------------------------------------------------------------------ Q-sign (P3)
    // The seller's row as it is now (no lock: updates are guarded by `version`).
    absl::StatusOr<std::optional<QsignRow>> LoadQsign(const std::string& seller_id);
    // The first password of a seller. False, nothing written, when it has one already.
    absl::StatusOr<bool> CreateQsign(const std::string& seller_id,
                                     const std::string& password_hash);
    // Replaces the hash and clears the wrong-attempt count (the lockout streak stays), if the
    // row is still at `version`. False, nothing written, when it changed meanwhile.
    absl::StatusOr<bool> StoreQsignHash(const std::string& seller_id,
                                        const std::string& password_hash, int64_t version);
    // Stores `attempts` if the row is still at `version`; false (nothing written) otherwise.
    absl::StatusOr<bool> StoreQsignAttempts(const std::string& seller_id,
                                            const QsignAttempts& attempts, int64_t version);
    // Counts one set or check of the seller's password in the seller's window, starting a
    // new window when `window` has passed since the current one began. The count stops one
    // past `checks_max`, so a seller past the limit cannot push the window's end further.
    absl::StatusOr<QsignCount> CountQsignCheck(const std::string& seller_id,
                                               const QsignThrottlePolicy& policy);

    // ------------------------------------------------------------------ request keys
    absl::StatusOr<std::optional<RequestKey>> FindRequestKey(const std::string& caller,
                                                             const std::string& seller_id,
                                                             const std::string& key);
    // Returns false, having written nothing, when the key exists.
    absl::StatusOr<bool> InsertRequestKey(const std::string& caller, const std::string& seller_id,
                                          const std::string& key, const RequestKey& record);

   private:
    PgConnection& conn_;
  };

  // The pool stays the caller's; it must outlive the store.
  explicit OrderStore(PgPool* pool);
  OrderStore(const OrderStore&) = delete;
  OrderStore& operator=(const OrderStore&) = delete;

  // Connects to `database_url`, applies the service's migrations, and opens the pool.
  // Errors: UNAVAILABLE when PostgreSQL cannot be reached; a failed migration's error.
  static absl::StatusOr<std::unique_ptr<PgPool>> OpenPool(const std::string& database_url,
                                                          int pool_size);

  // Runs `body(Session&)` on a leased connection, released when it returns. `body` returns
  // absl::Status or absl::StatusOr<T>. Errors: the pool's (UNAVAILABLE), or the body's.
  template <typename Body>
  auto Run(Body&& body) -> decltype(body(std::declval<Session&>())) {
    auto lease = pool_->Acquire();
    if (!lease.ok()) return lease.status();
    Session session(**lease);
    return body(session);
  }

  // Runs `body(Session&)` in one transaction (WithTransaction: committed when the body
  // succeeds, rolled back otherwise) on a leased connection.
  template <typename Body>
  auto Transact(Body&& body) -> decltype(body(std::declval<Session&>())) {
    auto lease = pool_->Acquire();
    if (!lease.ok()) return lease.status();
    return WithTransaction(**lease, [&](PgConnection& conn) {
      Session session(conn);
      return body(session);
    });
  }

 private:
  PgPool* const pool_;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_STORE_H_
