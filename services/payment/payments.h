// The payment service, assembled: charge options (P4), orders and their state machine (P5),
// the Q-sign password (P3), provider notifications (P7), the purchase history (P6), and the
// reconciler that credits every paid order exactly once and expires unpaid ones. The gRPC
// layer (server.cc) calls only this class; it talks to the wallet through WalletPort and to
// providers through the connectors.
//
// Exactly-once crediting (P5). An order becomes PAID in one statement together with the
// record of who said so (a notification, the seller's return, the instant answer). Only then
// is the wallet asked to credit, with the order id as the idempotency key, so a credit sent
// twice applies once. The order stays PAID, scheduled for the reconciler, until the wallet
// confirms; a crash between payment and credit therefore only delays the credit.
#ifndef QCASH_SERVICES_PAYMENT_PAYMENTS_H_
#define QCASH_SERVICES_PAYMENT_PAYMENTS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "services/payment/connectors/registry.h"
#include "services/payment/order.h"
#include "services/payment/qsign.h"
#include "services/payment/sampler.h"
#include "services/payment/store.h"
#include "services/payment/wallet_port.h"

namespace qcash::payment {

inline constexpr size_t kNotificationBodyLengthMax = 64 * 1024;
inline constexpr size_t kNotificationHeadersMax = 64;

class Payments {
 public:
  struct Options {
    std::string database_url;
    int database_pool_size = 16;
    // Where a provider sends the seller back to after its page (the gateway); the order id is
    // appended as ?order_id=...
    std::string return_url = "http://127.0.0.1:8080/charge/done";
    absl::Duration instant_ttl = absl::Minutes(15);
    absl::Duration redirect_ttl = absl::Minutes(30);
    absl::Duration counter_ttl = absl::Hours(72);
    // P3: the Q-sign password.
    QsignLockPolicy qsign_lock;
    QsignThrottlePolicy qsign_throttle;
    int password_hashes_max = 2;  // concurrent argon2id computations, 64 MiB each
    absl::Duration password_hash_wait = absl::Milliseconds(500);
    absl::Duration password_hash_retry_after = absl::Seconds(1);
    // P7: stored notifications are deleted this long after they were received, by the
    // reconciler every retention_interval, in batches of retention_batch_max rows (at most
    // retention_batches_max batches a pass). Rejected ones are never stored; at most
    // rejected_log_per_minute of them are logged.
    absl::Duration notification_retention = absl::Hours(24 * 90);
    absl::Duration retention_interval = absl::Hours(1);
    int retention_batch_max = 1000;
    int retention_batches_max = 10;
    int rejected_log_per_minute = 10;
    // Reconciler.
    absl::Duration reconcile_interval = absl::Seconds(1);
    int reconcile_batch_max = 100;
    absl::Duration claim_lease = absl::Seconds(30);
    absl::Duration poll_interval = absl::Minutes(5);  // ask the provider about waiting orders
    absl::Duration created_check_after = absl::Minutes(1);
    absl::Duration retry_backoff_max = absl::Seconds(60);
  };

  // Connects, applies the schema migrations, and starts the reconciler.
  // REQUIRES: `wallet` and `connectors` outlive the returned object.
  // Errors: UNAVAILABLE when PostgreSQL cannot be reached; a failed migration's error.
  static absl::StatusOr<std::unique_ptr<Payments>> Start(Options options, WalletPort* wallet,
                                                         const ConnectorRegistry* connectors);
  ~Payments();  // Stop()
  Payments(const Payments&) = delete;
  Payments& operator=(const Payments&) = delete;

  struct MethodAvailability {
    const MethodInfo* info = nullptr;
    bool available = false;
    std::string unavailable_reason;
    std::vector<int64_t> denominations_yen;  // the denominations it can pay now
    int64_t funds_balance_yen = 0;           // internal funds
  };
  struct ChargeOptions {
    std::vector<MethodAvailability> methods;  // catalog order
    int64_t qcash_available_yen = 0;
  };
  // P4. `denomination_yen` 0: availability for the smallest denomination.
  absl::StatusOr<ChargeOptions> ListChargeOptions(const std::string& seller_id,
                                                  int64_t denomination_yen);

  struct OrderResult {
    Order order;
    bool replayed = false;
  };
  absl::StatusOr<OrderResult> CreateOrder(const CreateRequest& request);

  struct OrderView {
    Order order;
    std::vector<Transition> transitions;
  };
  absl::StatusOr<OrderView> GetOrder(const std::string& seller_id, const std::string& order_id);

  absl::StatusOr<Order> CompleteRedirect(const std::string& caller, const std::string& seller_id,
                                         const std::string& order_id);

  absl::StatusOr<OrderResult> CancelOrder(const std::string& caller, const std::string& seller_id,
                                          const std::string& idempotency_key,
                                          const std::string& order_id);

  absl::StatusOr<std::vector<Order>> ListOrders(const std::string& seller_id,
                                                const std::optional<PageCursor>& after,
                                                const std::vector<int16_t>& states, int limit);

  // Returns whether this was a replay of an earlier call with the same key.
  absl::StatusOr<bool> SetQsignPassword(const std::string& caller, const std::string& seller_id,
                                        const std::string& idempotency_key,
                                        const std::string& current_password,
                                        const std::string& new_password);

  enum class Disposition { kApplied, kNoEffect, kDuplicate };
  struct NotificationResult {
    Disposition disposition = Disposition::kNoEffect;
    int64_t notification_id = 0;
    std::string order_id;
  };
  absl::StatusOr<NotificationResult> HandleNotification(
      const std::string& provider, const std::string& body,
      const std::map<std::string, std::string>& headers);

  absl::StatusOr<std::vector<Order>> ListStuck(absl::Duration min_age,
                                               const std::optional<PageCursor>& after, int limit);

  absl::StatusOr<Order> RetryCredit(const std::string& caller, const std::string& seller_id,
                                    const std::string& idempotency_key,
                                    const std::string& order_id);

  // One pass of the reconciler over the orders that are due; returns how many it looked at.
  absl::StatusOr<int> ReconcileOnce();
  // One retention pass (P7): deletes stored notifications past the retention, in bounded
  // batches; returns how many it deleted.
  absl::StatusOr<int64_t> DeleteExpiredNotifications();
  // Makes the reconciler look now (an order just became PAID).
  void Wake();
  // Stops the reconciler (in-flight RPCs finish on their own threads).
  void Stop();

 private:
  Payments(Options options, WalletPort* wallet, const ConnectorRegistry* connectors);
  void ReconcileLoop();
  void Reconcile(PgConnection& conn, const Order& order);

  // The order as stored now. Errors: NOT_FOUND (ORDER_NOT_FOUND) also for another seller's.
  absl::StatusOr<Order> Load(PgConnection& conn, const std::string& seller_id,
                             const std::string& order_id);
  // Continues a CREATED or PAID order as far as it goes now.
  // `start_token`: only the call that creates the order (or its retry with the same key)
  // starts the payment at the provider, with the card token of its request.
  absl::StatusOr<Order> Resume(PgConnection& conn, Order order, const std::string& actor,
                               const std::optional<std::string>& start_token);
  absl::StatusOr<Order> StartAtProvider(PgConnection& conn, const Order& order,
                                        const std::string& payment_token);
  // Asks the wallet to move the funds and credit (internal funds, CREATED).
  absl::Status ChargeInternal(PgConnection& conn, const Order& order, const std::string& actor);
  // Asks the wallet to credit a PAID order.
  absl::Status Credit(PgConnection& conn, const Order& order, const std::string& actor);
  // Applies what a provider said; returns whether the order moved.
  absl::StatusOr<bool> ApplyReport(PgConnection& conn, const Order& order,
                                   const ProviderPayment& payment, ReportContext context,
                                   const std::string& actor,
                                   std::optional<int64_t> notification_id);
  absl::StatusOr<bool> Move(PgConnection& conn, const Order& order, OrderChange change);
  // When the reconciler should look at an order that just entered `state`.
  std::optional<absl::Time> NextLook(const Order& order, OrderState state, absl::Time now) const;
  absl::Status Backoff(PgConnection& conn, const Order& order, const absl::Status& error,
                       bool blocked = false);

  // P3: checks `password` for the seller. OK when it matches. Holds no pooled connection
  // while it hashes. Errors: FAILED_PRECONDITION (QSIGN_PASSWORD_NOT_SET, QSIGN_LOCKED),
  // PERMISSION_DENIED (WRONG_QSIGN_PASSWORD), RESOURCE_EXHAUSTED (QSIGN_RATE_LIMITED),
  // UNAVAILABLE (QSIGN_BUSY), ABORTED (DATABASE_CONFLICT), the database's.
  absl::Status CheckQsignPassword(const std::string& seller_id, const std::string& password);
  // The seller's row (none: no password set) once the seller is not locked and this set or
  // check is within the seller's limit (counted now).
  absl::StatusOr<std::optional<QsignRow>> AdmitQsign(PgConnection& conn,
                                                     const std::string& seller_id,
                                                     bool require_password);
  // Whether `password` matches `hash`, computed in a hashing slot.
  absl::StatusOr<bool> VerifyInSlot(const std::string& hash, const std::string& password);
  // Applies the outcome of a check made against `row` (version-guarded; a change made
  // meanwhile is re-read and the rule applied to it) and returns the check's status.
  absl::Status RecordQsignCheck(const std::string& seller_id, QsignRow row, bool matches);

  // Counts a rejected notification (metrics, a sample in the log) and returns `why`. It
  // writes nothing: an unauthenticated request costs no database write (DESIGN.md 7).
  absl::Status Reject(const std::string& provider, const absl::Status& why,
                      const std::string& order_id = "");
  absl::Duration TtlOf(Family family) const;

  const Options options_;
  WalletPort* const wallet_;
  const ConnectorRegistry* const connectors_;
  std::unique_ptr<PgPool> pool_;  // constant after Start
  QsignHashSlots hash_slots_;
  LogSampler rejected_log_;
  absl::Time next_retention_ = absl::InfinitePast();  // reconciler thread only

  Mutex reconcile_mu_;
  CondVar reconcile_cv_;
  bool woken_ ABSL_GUARDED_BY(reconcile_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(reconcile_mu_) = false;
  std::thread reconciler_;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_PAYMENTS_H_
