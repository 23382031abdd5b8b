#include "services/payment/reconciler.h"

#include <algorithm>
#include <string>

#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::payment {
namespace {

constexpr absl::string_view kReconciler = "reconciler";
// A full batch means more may be due: a pass goes on at once, at most this many batches.
constexpr int kBatchesPerPassMax = 10;

metrics::Gauge* ReconcilerBacklog() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_payment_reconciler_backlog",
      "Paid charge orders the wallet has not confirmed crediting yet.");
  return gauge;
}

metrics::Gauge* OldestUncreditedAge() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_payment_oldest_uncredited_age_seconds",
      "How long ago the oldest paid but not yet credited order was paid (0 when none).");
  return gauge;
}

metrics::Gauge* ReversalBacklog() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_payment_reversals_unapplied",
      "Provider reversals whose claw-back the wallet has not confirmed yet (waiting for the "
      "order's credit, or applying).");
  return gauge;
}

metrics::Gauge* OldestUnappliedReversalAge() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_payment_oldest_unapplied_reversal_age_seconds",
      "How long ago the oldest reversal not applied yet was received (0 when none).");
  return gauge;
}

}  // namespace

Reconciler::Reconciler(OrderStore* store, OrderFlow* flow, NotificationIntake* notifications,
                       const ConnectorRegistry* connectors, const Clock* clock, Wakeup* wakeup,
                       const PaymentOptions& options)
    : store_(store),
      flow_(flow),
      notifications_(notifications),
      connectors_(connectors),
      clock_(clock),
      wakeup_(wakeup),
      options_(options) {}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void Reconciler::Stop() {
  wakeup_->Stop();
  if (thread_.joinable()) thread_.join();
}

void Reconciler::Reconcile(const Order& order) {
  const std::string actor(kReconciler);
  auto reschedule = [&](std::optional<absl::Time> next) {
    store_
        ->Run([&](OrderStore::Session& session) {
          return session.Reschedule(order.order_id, order.state, next, /*reset_attempts=*/true);
        })
        .IgnoreError();  // claimed with a lease: a failure only delays the next look
  };
  auto backoff = [&](const absl::Status& why) {
    store_->Run([&](OrderStore::Session& session) { return flow_->Backoff(session, order, why); })
        .IgnoreError();  // as above
  };
  switch (order.state) {
    case OrderState::kPaid:
      flow_->Credit(order, actor).IgnoreError();  // logged and rescheduled inside
      return;
    case OrderState::kCreated:
    case OrderState::kAwaitingPayment:
      break;
    default:
      reschedule(std::nullopt);
      return;
  }
  if (!IsProviderFamily(order.family)) {
    flow_->ChargeInternal(order, actor).IgnoreError();  // logged and rescheduled inside
    return;
  }
  Connector* connector = connectors_->ForMethod(order.method);
  if (connector == nullptr) {
    // Configured when the order was made, not now: wait for the configuration to come back
    // rather than expire an order the seller may have paid.
    backoff(NotConfigured(order));
    return;
  }
  const bool expired = clock_->Now() >= order.deadline;
  // Past the deadline the provider must confirm the cancellation: it alone knows whether the
  // seller paid at the last minute. Before it, a look catches a notification that was lost.
  auto answer =
      ReportOf(expired ? connector->Cancel(order.order_id) : connector->Lookup(order.order_id));
  if (!answer.ok()) {
    Log(LogLevel::kWarn, "provider_check_failed",
        {{"order_id", order.order_id}, {"error", answer.status().ToString()}});
    backoff(answer.status());
    return;
  }
  const ProviderPayment report = std::move(*answer);
  auto moved = store_->Run([&](OrderStore::Session& session) {
    return flow_->ApplyReport(session, order, report,
                              expired ? ReportContext::kExpiry : ReportContext::kObserved, actor,
                              std::nullopt);
  });
  if (moved.ok() && *moved) return;
  if (expired) {
    backoff(
        Unavailable(payment::v1::PROVIDER_UNAVAILABLE, "the provider did not confirm the expiry"));
    return;
  }
  reschedule(flow_->NextLook(order, order.state, clock_->Now()));
}

absl::StatusOr<int> Reconciler::ReconcileOnce() {
  auto due = store_->Run([&](OrderStore::Session& session) {
    return session.ClaimDue(options_.reconcile_batch_max, options_.claim_lease, clock_->Now());
  });
  if (!due.ok()) return due.status();
  // The claim's lease is released: each order is worked holding no connection across calls.
  for (const Order& order : *due) Reconcile(order);
  // Issue 16: the reversals whose claw-back the wallet has not confirmed yet (a crash, the
  // wallet down), and those that waited for a credit that has happened since.
  auto reversals = store_->Run([&](OrderStore::Session& session) {
    return session.ClaimDueReversals(options_.reconcile_batch_max, options_.claim_lease,
                                     clock_->Now());
  });
  if (!reversals.ok()) return reversals.status();
  for (const Reversal& reversal : *reversals) {
    flow_->ApplyReversal(reversal).IgnoreError();  // logged and rescheduled inside
  }
  return static_cast<int>(std::max(due->size(), reversals->size()));
}

// Publishes the backlog between payment and credit (P5), and the reversals not applied yet
// (issue 16): what operators alert on.
void Reconciler::PublishBacklog() {
  auto backlog = store_->Run([](OrderStore::Session& session) { return session.LoadBacklog(); });
  if (!backlog.ok()) return;
  ReconcilerBacklog()->Set({}, static_cast<double>(backlog->orders));
  OldestUncreditedAge()->Set({}, static_cast<double>(backlog->oldest_age_s));
  auto reversals =
      store_->Run([](OrderStore::Session& session) { return session.LoadReversalBacklog(); });
  if (!reversals.ok()) return;
  ReversalBacklog()->Set({}, static_cast<double>(reversals->orders));
  OldestUnappliedReversalAge()->Set({}, static_cast<double>(reversals->oldest_age_s));
}

void Reconciler::Loop() {
  while (wakeup_->Wait(options_.reconcile_interval)) {
    for (int pass = 0; pass < kBatchesPerPassMax; ++pass) {
      auto looked = ReconcileOnce();
      if (!looked.ok()) {
        Log(LogLevel::kWarn, "reconcile_failed", {{"error", looked.status().ToString()}});
        break;
      }
      if (*looked < options_.reconcile_batch_max) break;
    }
    PublishBacklog();
    if (clock_->Now() >= next_retention_) {
      next_retention_ = clock_->Now() + options_.retention_interval;
      if (auto deleted = notifications_->DeleteExpired(); !deleted.ok()) {
        Log(LogLevel::kWarn, "retention_failed", {{"error", deleted.status().ToString()}});
      }
    }
  }
}

}  // namespace qcash::payment
