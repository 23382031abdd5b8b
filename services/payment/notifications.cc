#include "services/payment/notifications.h"

#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/catalog.h"
#include "services/payment/signature.h"

namespace qcash::payment {
namespace {

metrics::Counter* Notifications() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_notifications_total",
      "Provider notifications by result: applied, no_effect, duplicate, or the reject reason.",
      {"provider", "result"});
  return counter;
}

metrics::Counter* NotificationsDeleted() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_notifications_deleted_total",
      "Stored provider notifications deleted after the retention (P7).", {});
  return counter;
}

// Label values come from a fixed set: the catalog's provider names, never the caller's.
std::string ProviderLabel(absl::string_view provider) {
  return FindProvider(provider) != nullptr ? std::string(provider) : "unknown";
}

// The stored row of notification `n` about `order_id` as it came (its body and when it was
// signed); the caller adds what it reported and the outcome.
NotificationRecord RecordOf(const std::string& provider, const std::string& order_id,
                            const ProviderNotification& n, const std::string& body,
                            const std::map<std::string, std::string>& headers) {
  NotificationRecord record;
  record.provider = provider;
  record.event_id = n.event_id;
  record.order_id = order_id;
  record.body = body;
  int64_t signed_s = 0;
  if (absl::SimpleAtoi(HeaderValue(headers, kTimestampHeader), &signed_s)) {
    record.signed_at = absl::FromUnixSeconds(signed_s);
  }
  return record;
}

}  // namespace

NotificationIntake::NotificationIntake(OrderStore* store, OrderFlow* flow,
                                       const ConnectorRegistry* connectors, const Clock* clock,
                                       Wakeup* wakeup, const PaymentOptions& options)
    : store_(store),
      flow_(flow),
      connectors_(connectors),
      clock_(clock),
      wakeup_(wakeup),
      retention_(options.notification_retention),
      retention_batch_max_(options.retention_batch_max),
      retention_batches_max_(options.retention_batches_max),
      rejected_log_(options.rejected_log_per_minute, absl::Minutes(1)) {}

absl::Status NotificationIntake::Reject(const std::string& provider, const absl::Status& why,
                                        const std::string& order_id) {
  const std::string reason = ReasonOf(why);
  Notifications()->Add({ProviderLabel(provider), reason});
  int64_t suppressed = 0;
  if (rejected_log_.Sample(clock_->Now(), &suppressed)) {
    Log(LogLevel::kWarn, "notification_rejected",
        {{"provider", ProviderLabel(provider)},
         {"reason", reason},
         {"order_id", order_id.substr(0, 128)},
         {"not_logged_before", suppressed}});
  }
  return why;
}

NotificationIntake::Intake NotificationIntake::Rejected(absl::Status why) {
  Intake out;
  out.rejected = std::move(why);
  return out;
}

NotificationIntake::Intake NotificationIntake::Accepted(Disposition disposition,
                                                        int64_t notification_id,
                                                        const std::string& order_id) {
  Intake out;
  out.result.disposition = disposition;
  out.result.notification_id = notification_id;
  out.result.order_id = order_id;
  return out;
}

absl::StatusOr<NotificationIntake::Intake> NotificationIntake::RecordReversal(
    OrderStore::Session& session, const Order& order, const ProviderNotification& n,
    const std::string& body, const std::map<std::string, std::string>& headers) {
  const ProviderReversal& wire = *n.reversal;
  auto known = session.FindReversal(order.seller_id, order.provider, wire.reversal_id);
  if (!known.ok()) return known.status();
  const ReversalOutcome outcome = DecideOnReversal(order, known->has_value(), wire.amount_yen);
  if (outcome == ReversalOutcome::kExceedsOrder) {
    // More than was paid cannot be taken back: nothing is recorded, an operator looks (the
    // note stays after the rejection, as an amount mismatch's does).
    const std::string why =
        absl::StrCat("reversal ", wire.reversal_id, " of ", wire.amount_yen,
                     " JPY would take back more than the order's ", order.amount_yen, " JPY (",
                     order.reversed_yen, " JPY reversed before)");
    Log(LogLevel::kError, "reversal_exceeds_order",
        {{"order_id", order.order_id}, {"reversal_id", wire.reversal_id}, {"why", why}});
    if (absl::Status s =
            session.SetAttention(order.order_id, absl::StrCat(kReversalExceedsNote, ": ", why));
        !s.ok()) {
      return s;
    }
    return Rejected(InvalidArgument(payment::v1::REVERSAL_EXCEEDS_ORDER, why));
  }
  NotificationRecord record = RecordOf(order.provider, order.order_id, n, body, headers);
  record.provider_status = "reversed";
  record.amount_yen = wire.amount_yen;
  record.outcome = outcome == ReversalOutcome::kKnown ? kOutcomeNoEffect : kOutcomeApplied;
  auto id = session.InsertNotification(record);
  if (!id.ok()) return id.status();
  // The same reversal under another event id: applied once already (or on its way).
  if (outcome == ReversalOutcome::kKnown) {
    return Accepted(Disposition::kNoEffect, *id, order.order_id);
  }
  Reversal reversal;
  reversal.provider = order.provider;
  reversal.reversal_id = wire.reversal_id;
  reversal.order_id = order.order_id;
  reversal.seller_id = order.seller_id;
  reversal.kind = wire.kind;
  reversal.amount_yen = wire.amount_yen;
  reversal.reversed_at = wire.reversed_at;
  const bool applying = outcome == ReversalOutcome::kRecordApplying;
  reversal.state = applying ? ReversalState::kApplying : ReversalState::kWaitingForCredit;
  auto inserted = session.InsertReversal(
      reversal, *id, applying ? std::optional<absl::Time>(clock_->Now()) : std::nullopt);
  if (!inserted.ok()) return inserted.status();
  if (!*inserted) return Accepted(Disposition::kNoEffect, *id, order.order_id);
  Log(LogLevel::kInfo, "reversal_recorded",
      {{"order_id", order.order_id},
       {"seller_id", order.seller_id},
       {"reversal_id", reversal.reversal_id},
       {"kind", std::string(ReversalKindName(reversal.kind))},
       {"amount_yen", reversal.amount_yen},
       {"state", std::string(ReversalStateName(reversal.state))}});
  if (!applying && order.attention.empty()) {
    // Not credited (yet): applied right after the credit. Until then operators see the order
    // (ListStuckOrders), which matters most when it is never paid at all.
    if (absl::Status s = session.SetAttention(
            order.order_id,
            absl::StrCat(kReversalNotCreditedNote, ": the provider reversed ", reversal.amount_yen,
                         " JPY (reversal ", reversal.reversal_id, ") of an order that is ",
                         StateName(order.state), "; it is taken back once the order is credited"));
        !s.ok()) {
      return s;
    }
  }
  return Accepted(Disposition::kApplied, *id, order.order_id);
}

absl::StatusOr<NotificationIntake::Result> NotificationIntake::Handle(
    const std::string& provider, const std::string& body,
    const std::map<std::string, std::string>& headers) {
  Connector* connector = connectors_->ForProvider(provider);
  if (connector == nullptr) {
    return Reject(provider, InvalidArgument(payment::v1::UNKNOWN_PROVIDER,
                                            "no provider of that name sends notifications here"));
  }
  if (headers.size() > kNotificationHeadersMax) {
    return Reject(provider, InvalidArgument(payment::v1::HEADERS_TOO_LARGE,
                                            absl::StrCat("at most ", kNotificationHeadersMax,
                                                         " headers are accepted")));
  }
  if (body.size() > kNotificationBodyLengthMax) {
    return Reject(provider,
                  InvalidArgument(payment::v1::BODY_TOO_LARGE, "a notification is at most 64 KiB"));
  }
  // Parsing verifies the signature locally (no remote call).
  auto parsed = connector->ParseNotification(body, headers, clock_->Now());
  if (!parsed.ok()) return Reject(provider, parsed.status());
  const ProviderNotification& n = *parsed;
  const std::string& order_id = n.payment.merchant_reference;

  auto rejected = [](absl::Status why) { return Rejected(std::move(why)); };
  auto accepted = [&](Disposition disposition, int64_t notification_id) {
    return Accepted(disposition, notification_id, order_id);
  };
  auto intake = store_->Transact([&](OrderStore::Session& session) -> absl::StatusOr<Intake> {
    std::optional<Order> order;
    if (CheckOrderId(order_id).ok()) {
      auto loaded = session.LoadOrder(order_id, /*for_update=*/true);
      if (!loaded.ok()) return loaded.status();
      order = std::move(*loaded);
    }
    if (!order.has_value()) {
      return rejected(
          NotFound(payment::v1::UNKNOWN_ORDER, "the notification names no order of ours"));
    }
    auto duplicate = session.CountDuplicate(provider, n.event_id);
    if (!duplicate.ok()) return duplicate.status();
    if (duplicate->has_value()) {
      return accepted(Disposition::kDuplicate, **duplicate);
    }
    absl::Status mismatch;
    if (order->provider != provider) {
      mismatch = InvalidArgument(payment::v1::PROVIDER_MISMATCH,
                                 "the order is paid through another provider");
    } else if (n.payment.amount_yen != order->amount_yen || n.payment.currency != "JPY") {
      mismatch = InvalidArgument(payment::v1::AMOUNT_MISMATCH,
                                 absl::StrCat("the order is for ", order->amount_yen, " JPY"));
    }
    if (!mismatch.ok()) {
      if (n.payment.status == ProviderStatus::kPaid) {
        session
            .SetAttention(order_id, absl::StrCat(ReasonOf(mismatch),
                                                 ": a provider reported a payment that "
                                                 "does not match the order"))
            .IgnoreError();  // a note for operators; the rejection stands either way
      }
      return rejected(mismatch);
    }
    if (n.reversal.has_value()) return RecordReversal(session, *order, n, body, headers);
    const Decision decision = DecideOnReport(*order, n.payment.status, ReportContext::kObserved,
                                             n.payment.decline_reason);
    NotificationRecord record = RecordOf(provider, order_id, n, body, headers);
    record.provider_status = std::string(ProviderStatusName(n.payment.status));
    record.amount_yen = n.payment.amount_yen;
    record.outcome = decision.to.has_value() ? kOutcomeApplied : kOutcomeNoEffect;
    auto id = session.InsertNotification(record);
    if (!id.ok()) return id.status();
    auto moved = flow_->ApplyReport(session, *order, n.payment, ReportContext::kObserved,
                                    ProviderActor(provider), *id);
    if (!moved.ok()) return moved.status();
    return accepted(*moved ? Disposition::kApplied : Disposition::kNoEffect, *id);
  });
  // Durable before the provider hears OK (P7): only then may it stop delivering.
  if (!intake.ok()) return intake.status();
  if (!intake->rejected.ok()) return Reject(provider, intake->rejected, order_id);
  switch (intake->result.disposition) {
    case Disposition::kDuplicate:
      Notifications()->Add({provider, "duplicate"});
      break;
    case Disposition::kApplied:
      Notifications()->Add({provider, "applied"});
      wakeup_->Wake();  // now that the PAID row is visible to the reconciler
      break;
    case Disposition::kNoEffect:
    default:
      Notifications()->Add({provider, "no_effect"});
      break;
  }
  return intake->result;
}

absl::StatusOr<int64_t> NotificationIntake::DeleteExpired() {
  int64_t deleted_total = 0;
  for (int batch = 0; batch < retention_batches_max_; ++batch) {
    auto deleted = store_->Run([&](OrderStore::Session& session) {
      return session.DeleteOldNotifications(retention_, retention_batch_max_);
    });
    if (!deleted.ok()) return deleted.status();
    deleted_total += *deleted;
    if (*deleted < retention_batch_max_) break;
  }
  if (deleted_total > 0) {
    NotificationsDeleted()->Add({}, static_cast<double>(deleted_total));
    Log(LogLevel::kInfo, "notifications_deleted",
        {{"rows", deleted_total}, {"older_than_days", absl::ToInt64Hours(retention_) / 24}});
  }
  return deleted_total;
}

}  // namespace qcash::payment
