// Provider notifications (P7): intake of a signed delivery (verify, deduplicate, record, apply
// to the order in one transaction) and the retention that deletes stored ones later.
//
// Nothing is written before the signature has verified (DESIGN.md section 7): a rejected
// delivery is counted in metrics and sampled in the log, never stored. The order's row lock
// serializes every delivery for one order, so of many copies of one event exactly one finds
// no earlier record; a late or out-of-order report is recorded but moves nothing that P5 does
// not allow (DecideOnReport).
#ifndef QCASH_SERVICES_PAYMENT_NOTIFICATIONS_H_
#define QCASH_SERVICES_PAYMENT_NOTIFICATIONS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/payment/connectors/registry.h"
#include "services/payment/options.h"
#include "services/payment/order_flow.h"
#include "services/payment/sampler.h"
#include "services/payment/store.h"

namespace qcash::payment {

class NotificationIntake {
 public:
  // REQUIRES: every pointer outlives this object.
  NotificationIntake(OrderStore* store, OrderFlow* flow, const ConnectorRegistry* connectors,
                     const Clock* clock, Wakeup* wakeup, const PaymentOptions& options);
  NotificationIntake(const NotificationIntake&) = delete;
  NotificationIntake& operator=(const NotificationIntake&) = delete;

  enum class Disposition { kApplied, kNoEffect, kDuplicate };
  struct Result {
    Disposition disposition = Disposition::kNoEffect;
    int64_t notification_id = 0;
    std::string order_id;
  };
  // Accepts one delivery. Durable before it returns OK (the provider may stop delivering).
  // Errors: INVALID_ARGUMENT (UNKNOWN_PROVIDER, HEADERS_TOO_LARGE, BODY_TOO_LARGE, a bad
  // signature or body, PROVIDER_MISMATCH, AMOUNT_MISMATCH), NOT_FOUND (UNKNOWN_ORDER), the
  // database's.
  absl::StatusOr<Result> Handle(const std::string& provider, const std::string& body,
                                const std::map<std::string, std::string>& headers);

  // One retention pass: deletes stored notifications past the retention, in bounded
  // batches; returns how many it deleted.
  absl::StatusOr<int64_t> DeleteExpired();

 private:
  // What the transaction decided; `rejected` is returned after its commit (a mismatch may
  // have flagged the order for an operator, which must stay).
  struct Intake {
    Result result;
    absl::Status rejected;
  };
  static Intake Rejected(absl::Status why);
  static Intake Accepted(Disposition disposition, int64_t notification_id,
                         const std::string& order_id);
  // Issue 16: a verified, new "payment.reversed" event of `order` (locked FOR UPDATE by the
  // caller's transaction): records the reversal once (by its id), adds it to the order's
  // reversed total, and says whether the claw-back starts now (the order is credited) or
  // waits for the credit. A reversal that would take back more than the order's amount is
  // refused (REVERSAL_EXCEEDS_ORDER) and flags the order.
  absl::StatusOr<Intake> RecordReversal(OrderStore::Session& session, const Order& order,
                                        const ProviderNotification& n, const std::string& body,
                                        const std::map<std::string, std::string>& headers);

  // Counts a rejected notification (metrics, a sample in the log) and returns `why`. It
  // writes nothing: an unauthenticated request costs no database write.
  absl::Status Reject(const std::string& provider, const absl::Status& why,
                      const std::string& order_id = "");

  OrderStore* const store_;
  OrderFlow* const flow_;
  const ConnectorRegistry* const connectors_;
  const Clock* const clock_;
  Wakeup* const wakeup_;
  const absl::Duration retention_;
  const int retention_batch_max_;
  const int retention_batches_max_;
  LogSampler rejected_log_;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_NOTIFICATIONS_H_
