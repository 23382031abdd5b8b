#include "services/payment/operator_queries.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::payment {

OperatorQueries::OperatorQueries(OrderStore* store, OrderFlow* flow, const Clock* clock)
    : store_(store), flow_(flow), clock_(clock) {}

absl::StatusOr<std::vector<Order>> OperatorQueries::ListStuck(
    absl::Duration min_age, const std::optional<PageCursor>& after, int limit) {
  return store_->Run(
      [&](OrderStore::Session& session) { return session.ListStuck(min_age, after, limit); });
}

absl::StatusOr<Order> OperatorQueries::RetryCredit(const std::string& caller,
                                                   const std::string& seller_id,
                                                   const std::string& idempotency_key,
                                                   const std::string& order_id) {
  if (absl::Status s = CheckOrderRequest(seller_id, idempotency_key, order_id); !s.ok()) return s;
  const std::string hash = Fingerprint().Add("retry_credit").Add(seller_id).Add(order_id).Hex();
  struct Requeued {
    Order order;
    bool replayed = false;
  };
  auto requeued = store_->Run([&](OrderStore::Session& session) -> absl::StatusOr<Requeued> {
    auto replay = FindReplay(session, caller, seller_id, idempotency_key, "retry_credit", hash);
    if (!replay.ok()) return replay.status();
    auto order = LoadSellerOrder(session, seller_id, order_id);
    if (!order.ok()) return order.status();
    if (*replay) return Requeued{std::move(*order), true};
    if (order->state != OrderState::kPaid) {
      return FailedPrecondition(
          payment::v1::ORDER_NOT_PAID,
          absl::StrCat("only a PAID order is credited; it is ", StateName(order->state)));
    }
    return Requeued{std::move(*order), false};
  });
  if (!requeued.ok()) return requeued.status();
  if (requeued->replayed) return std::move(requeued->order);
  // The reschedule (guarded by state PAID) and the key in one transaction.
  absl::Status recorded = store_->Transact([&](OrderStore::Session& session) -> absl::Status {
    if (absl::Status s = session.Reschedule(order_id, OrderState::kPaid, clock_->Now(),
                                            /*reset_attempts=*/true);
        !s.ok()) {
      return s;
    }
    return session
        .InsertRequestKey(caller, seller_id, idempotency_key, {"retry_credit", hash, order_id})
        .status();
  });
  if (!recorded.ok()) return recorded;
  Log(LogLevel::kInfo, "credit_retry_requested", {{"order_id", order_id}, {"caller", caller}});
  Order order = std::move(requeued->order);
  order.credit_blocked = false;
  order.credit_attempts = 0;
  // The lease is released: the wallet is asked holding none.
  return flow_->Resume(std::move(order), caller, std::nullopt);
}

}  // namespace qcash::payment
