// What operators ask of the payment service: the orders that need a person (paid but not
// credited for a while, credit refused for good, past their deadline, flagged, a reversal the
// wallet has not confirmed for a while), and a retry
// of a refused credit once the cause is fixed (P5: the money is never lost, only parked).
#ifndef QCASH_SERVICES_PAYMENT_OPERATOR_QUERIES_H_
#define QCASH_SERVICES_PAYMENT_OPERATOR_QUERIES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/payment/order.h"
#include "services/payment/order_flow.h"
#include "services/payment/store.h"

namespace qcash::payment {

class OperatorQueries {
 public:
  // REQUIRES: every pointer outlives this object.
  OperatorQueries(OrderStore* store, OrderFlow* flow, const Clock* clock);
  OperatorQueries(const OperatorQueries&) = delete;
  OperatorQueries& operator=(const OperatorQueries&) = delete;

  // Orders that need an operator, oldest first. Errors: the database's.
  absl::StatusOr<std::vector<Order>> ListStuck(absl::Duration min_age,
                                               const std::optional<PageCursor>& after, int limit);

  // Puts a PAID order back in the reconciler's queue with its attempts reset, and tries the
  // credit once now. Errors: FAILED_PRECONDITION (ORDER_NOT_PAID), NOT_FOUND
  // (ORDER_NOT_FOUND), INVALID_ARGUMENT (IDEMPOTENCY_KEY_REUSED), the database's.
  absl::StatusOr<Order> RetryCredit(const std::string& caller, const std::string& seller_id,
                                    const std::string& idempotency_key,
                                    const std::string& order_id);

 private:
  OrderStore* const store_;
  OrderFlow* const flow_;
  const Clock* const clock_;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_OPERATOR_QUERIES_H_
