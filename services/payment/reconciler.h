// The reconciler: credits every PAID order exactly once (P5), claws back every reversal
// of a credited order until the wallet answers (issue 16), charges internal-funds orders
// the creating call could not finish, asks providers about waiting orders (a lost
// notification), expires unpaid orders once the provider confirms, and runs the notification
// retention (P7). It claims due orders in one short session, then works each one holding no
// connection while it calls the wallet or a provider (the rule in store.h).
//
// Time comes from the injected Clock: an order is due when its next_attempt_at (set from the
// same clock) has passed, so a test advances a ManualClock and calls ReconcileOnce() instead
// of sleeping.
#ifndef QCASH_SERVICES_PAYMENT_RECONCILER_H_
#define QCASH_SERVICES_PAYMENT_RECONCILER_H_

#include <thread>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/payment/connectors/registry.h"
#include "services/payment/notifications.h"
#include "services/payment/options.h"
#include "services/payment/order_flow.h"
#include "services/payment/store.h"

namespace qcash::payment {

class Reconciler {
 public:
  // REQUIRES: every pointer outlives this object.
  Reconciler(OrderStore* store, OrderFlow* flow, NotificationIntake* notifications,
             const ConnectorRegistry* connectors, const Clock* clock, Wakeup* wakeup,
             const PaymentOptions& options);
  ~Reconciler();  // Stop()
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Starts the loop on its own thread: a pass every reconcile_interval, or at once on a Wake.
  void Start();
  // Stops the loop and waits for it (in-flight RPCs finish on their own threads).
  void Stop();

  // One pass over the orders and the reversals that are due now; returns how many it looked
  // at (the larger of the two batches).
  // Errors: the database's (claiming).
  absl::StatusOr<int> ReconcileOnce();

 private:
  void Loop();
  // Works one claimed order; failures are logged and rescheduled, never returned.
  void Reconcile(const Order& order);
  void PublishBacklog();

  OrderStore* const store_;
  OrderFlow* const flow_;
  NotificationIntake* const notifications_;
  const ConnectorRegistry* const connectors_;
  const Clock* const clock_;
  Wakeup* const wakeup_;
  const PaymentOptions options_;
  absl::Time next_retention_ = absl::InfinitePast();  // loop thread only
  std::thread thread_;                                // Start/Stop only (one caller)
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_RECONCILER_H_
