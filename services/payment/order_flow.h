// How a charge order moves (P5): the state machine's moves applied to the store, the wallet's
// credit, the provider's start, and Resume, which takes a CREATED or PAID order as far as it
// goes now. Orders, notification intake, the reconciler and operator queries all move orders
// through this one class, so a rule about a move lives in one place.
//
// Exactly-once crediting (P5). An order becomes PAID in one statement together with the
// record of who said so (a notification, the seller's return, the instant answer). Only then
// is the wallet asked to credit, with the order id as the idempotency key, so a credit sent
// twice applies once. The order stays PAID, scheduled for the reconciler, until the wallet
// confirms; a crash between payment and credit therefore only delays the credit.
//
// No database connection is held across a remote call (see store.h): every function here
// that calls the wallet or a connector does so holding no Session, then applies the outcome
// in a fresh one, guarded by the state it saw. The functions taking a Session& never call out.
#ifndef QCASH_SERVICES_PAYMENT_ORDER_FLOW_H_
#define QCASH_SERVICES_PAYMENT_ORDER_FLOW_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "services/payment/connectors/registry.h"
#include "services/payment/options.h"
#include "services/payment/order.h"
#include "services/payment/store.h"
#include "services/payment/wallet_port.h"

namespace qcash::payment {

// Tells the reconciler to look now (an order just became PAID). Thread-safe.
class Wakeup {
 public:
  void Wake() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits up to `timeout` for a Wake or Stop. Returns false once stopped.
  bool Wait(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Mutex mu_;
  CondVar cv_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// Notes on an order for operators (Order::attention) about its reversals (issue 16). The
// first two clear themselves once the reversal is applied.
inline constexpr absl::string_view kReversalNotCreditedNote = "REVERSAL_NOT_CREDITED";
inline constexpr absl::string_view kReversalRefusedNote = "REVERSAL_REFUSED";
inline constexpr absl::string_view kReversalExceedsNote = "REVERSAL_EXCEEDS_ORDER";

// Shared wording of the service's errors.
absl::Status OrderNotFound();
absl::Status NotConfigured(const Order& order);
// The wallet's answer as ours: a missing or closed wallet keeps its reason; anything else
// means the wallet could not be asked.
absl::Status WalletError(const absl::Status& status);
std::string ProviderActor(absl::string_view provider);
// The checks of a keyed request about one order: seller id and idempotency key as malformed
// requests (INVALID_ARGUMENT), an order id that cannot exist as NOT_FOUND (ORDER_NOT_FOUND).
absl::Status CheckOrderRequest(const std::string& seller_id, const std::string& idempotency_key,
                               const std::string& order_id);
// What a provider's answer to Lookup or Cancel reports: NOT_FOUND is a report too (the
// provider knows no such payment); any other error stays an error.
absl::StatusOr<ProviderPayment> ReportOf(absl::StatusOr<ProviderPayment> answer);
inline bool IsProviderFamily(Family family) { return family != Family::kInternalFunds; }
// The order as stored now. Errors: NOT_FOUND (ORDER_NOT_FOUND) also for another seller's.
absl::StatusOr<Order> LoadSellerOrder(OrderStore::Session& session, const std::string& seller_id,
                                      const std::string& order_id);

// Whether `idempotency_key` already made this very request: the same RPC with the same request
// hash (qsign records none: nothing derived from a password is kept to compare with).
// Errors: INVALID_ARGUMENT (IDEMPOTENCY_KEY_REUSED) when it made another; the database's.
absl::StatusOr<bool> FindReplay(OrderStore::Session& session, const std::string& caller,
                                const std::string& seller_id, const std::string& idempotency_key,
                                absl::string_view rpc, absl::string_view request_hash);

class OrderFlow {
 public:
  // REQUIRES: every pointer outlives this object.
  OrderFlow(OrderStore* store, WalletPort* wallet, const ConnectorRegistry* connectors,
            const Clock* clock, Wakeup* wakeup, const PaymentOptions& options);
  OrderFlow(const OrderFlow&) = delete;
  OrderFlow& operator=(const OrderFlow&) = delete;

  // Moves `order` as `change` says if it is still in order.state. Returns whether it moved.
  // Errors: INTERNAL (ILLEGAL_TRANSITION) when P5 forbids the move; the database's.
  absl::StatusOr<bool> Move(OrderStore::Session& session, const Order& order, OrderChange change);
  // Applies what a provider said (DecideOnReport); returns whether the order moved.
  absl::StatusOr<bool> ApplyReport(OrderStore::Session& session, const Order& order,
                                   const ProviderPayment& payment, ReportContext context,
                                   const std::string& actor,
                                   std::optional<int64_t> notification_id);
  // Schedules the reconciler's next look after a failure (exponential back-off by
  // credit_attempts); `blocked`: never on its own again (an operator retries).
  absl::Status Backoff(OrderStore::Session& session, const Order& order, const absl::Status& error,
                       bool blocked = false);

  // Asks the wallet to credit a PAID order, then records the outcome. Errors: the wallet's
  // (the order stays PAID, rescheduled), the database's.
  absl::Status Credit(const Order& order, const std::string& actor);
  // Issue 16: asks the wallet to claw back one APPLYING reversal (holding no connection), then
  // records its answer guarded by state APPLYING: APPLIED with what was clawed back and what
  // became debt. When the wallet could not be asked it stays APPLYING, rescheduled with
  // back-off for the reconciler; a definite refusal blocks it and flags the order.
  // Errors: the wallet's, the database's.
  absl::Status ApplyReversal(const Reversal& reversal);
  // Every APPLYING reversal of the order, one after the other. Errors: the first failure.
  absl::Status ApplyReversals(const std::string& seller_id, const std::string& order_id);

  // Asks the wallet to move internal funds and credit (CREATED, internal-funds family).
  absl::Status ChargeInternal(const Order& order, const std::string& actor);
  // Continues a CREATED or PAID order as far as it goes now. `start_token`: only the call
  // that creates the order (or its retry with the same key) starts the payment at the
  // provider, with the card token of its request.
  absl::StatusOr<Order> Resume(Order order, const std::string& actor,
                               const std::optional<std::string>& start_token);

  // When the reconciler should look at an order that just entered `state`; none: final.
  std::optional<absl::Time> NextLook(const Order& order, OrderState state, absl::Time now) const;
  absl::Duration TtlOf(Family family) const;
  absl::Time Now() const { return clock_->Now(); }

 private:
  absl::StatusOr<Order> StartAtProvider(const Order& order, const std::string& payment_token);
  absl::StatusOr<Order> Reload(const Order& order);

  OrderStore* const store_;
  WalletPort* const wallet_;
  const ConnectorRegistry* const connectors_;
  const Clock* const clock_;
  Wakeup* const wakeup_;
  const PaymentOptions options_;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_ORDER_FLOW_H_
