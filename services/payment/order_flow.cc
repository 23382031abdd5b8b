#include "services/payment/order_flow.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/wallet/client/refusal.h"

namespace qcash::payment {
namespace {

// Metrics: every label value comes from a fixed set (states, reasons this file names).
metrics::Counter* Transitions() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_order_transitions_total", "Charge order state changes (P5).", {"from", "to"});
  return counter;
}

metrics::Counter* Credits() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_credits_total",
      "Wallet credits of paid orders by result: credited, retry (wallet unavailable), refused.",
      {"result"});
  return counter;
}

metrics::Counter* Reversals() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_reversals_total",
      "Wallet claw-backs of reversed payments by result: applied, retry (wallet unavailable), "
      "refused.",
      {"result"});
  return counter;
}

}  // namespace

void Wakeup::Wake() {
  {
    MutexLock lock(&mu_);
    woken_ = true;
  }
  cv_.SignalAll();
}

bool Wakeup::Wait(absl::Duration timeout) {
  MutexLock lock(&mu_);
  cv_.WaitFor(&mu_, timeout,
              [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || woken_; });
  woken_ = false;
  return !stopping_;
}

void Wakeup::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
}

std::string ProviderActor(absl::string_view provider) {
  return absl::StrCat("provider:", provider);
}

absl::Status CheckOrderRequest(const std::string& seller_id, const std::string& idempotency_key,
                               const std::string& order_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (absl::Status s = CheckIdempotencyKey(idempotency_key); !s.ok()) return s;
  if (!CheckOrderId(order_id).ok()) return OrderNotFound();
  return absl::OkStatus();
}

absl::StatusOr<ProviderPayment> ReportOf(absl::StatusOr<ProviderPayment> answer) {
  if (answer.ok() || answer.status().code() != absl::StatusCode::kNotFound) return answer;
  ProviderPayment report;
  report.status = ProviderStatus::kNotFound;
  return report;
}

absl::Status OrderNotFound() {
  return NotFound(payment::v1::ORDER_NOT_FOUND, "no such charge order for this seller");
}

// A refusal of this service's identity is a configuration fault, not the gateway's: it must
// not read as the gateway being refused.
absl::Status WalletError(const absl::Status& status) {
  if (wallet::IsDefiniteRefusal(status)) return Relay(status, v1::WALLET_REFUSED);
  return Unavailable(payment::v1::WALLET_UNAVAILABLE,
                     absl::StrCat("the wallet could not be asked: ", status.message()));
}

absl::Status NotConfigured(const Order& order) {
  return FailedPrecondition(payment::v1::PROVIDER_NOT_CONFIGURED,
                            absl::StrCat("provider ", order.provider, " is not configured here"));
}

absl::StatusOr<Order> LoadSellerOrder(OrderStore::Session& session, const std::string& seller_id,
                                      const std::string& order_id) {
  auto order = session.LoadOrder(order_id);
  if (!order.ok()) return order.status();
  if (!order->has_value() || (*order)->seller_id != seller_id) return OrderNotFound();
  return **order;
}

absl::StatusOr<bool> FindReplay(OrderStore::Session& session, const std::string& caller,
                                const std::string& seller_id, const std::string& idempotency_key,
                                absl::string_view rpc, absl::string_view request_hash) {
  auto key = session.FindRequestKey(caller, seller_id, idempotency_key);
  if (!key.ok()) return key.status();
  if (!key->has_value()) return false;
  if ((*key)->rpc != rpc || (*key)->request_hash != request_hash) {
    return InvalidArgument(payment::v1::IDEMPOTENCY_KEY_REUSED,
                           "this idempotency key was used for a different request");
  }
  return true;
}

OrderFlow::OrderFlow(OrderStore* store, WalletPort* wallet, const ConnectorRegistry* connectors,
                     const Clock* clock, Wakeup* wakeup, const PaymentOptions& options)
    : store_(store),
      wallet_(wallet),
      connectors_(connectors),
      clock_(clock),
      wakeup_(wakeup),
      options_(options) {}

absl::Duration OrderFlow::TtlOf(Family family) const {
  switch (family) {
    case Family::kRedirect:
      return options_.redirect_ttl;
    case Family::kCounter:
      return options_.counter_ttl;
    case Family::kInstant:
    case Family::kInternalFunds:
    default:
      return options_.instant_ttl;
  }
}

std::optional<absl::Time> OrderFlow::NextLook(const Order& order, OrderState state,
                                              absl::Time now) const {
  switch (state) {
    case OrderState::kCreated:
      if (!IsProviderFamily(order.family)) return now + options_.claim_lease;
      return std::min(order.deadline, now + options_.created_check_after);
    case OrderState::kAwaitingPayment:
      return std::min(order.deadline, now + options_.poll_interval);
    case OrderState::kPaid:
      return now;  // credit at once
    default:
      return std::nullopt;  // final
  }
}

absl::StatusOr<Order> OrderFlow::Reload(const Order& order) {
  return store_->Run([&](OrderStore::Session& session) {
    return LoadSellerOrder(session, order.seller_id, order.order_id);
  });
}

absl::StatusOr<bool> OrderFlow::Move(OrderStore::Session& session, const Order& order,
                                     OrderChange change) {
  if (!CanTransition(order.family, order.state, change.to)) {
    // The state machine (order.cc) decided every caller's change; this must never fire.
    Log(LogLevel::kError, "illegal_transition",
        {{"order_id", order.order_id},
         {"from", std::string(StateName(order.state))},
         {"to", std::string(StateName(change.to))}});
    return Internal(payment::v1::ILLEGAL_TRANSITION,
                    absl::StrCat(StateName(order.state), " -> ", StateName(change.to)));
  }
  change.from = order.state;
  change.next_attempt_at = NextLook(order, change.to, clock_->Now());
  auto moved = session.ApplyChange(order.order_id, change);
  if (!moved.ok()) return moved.status();
  if (*moved) {
    Transitions()->Add({std::string(StateName(order.state)), std::string(StateName(change.to))});
    Log(LogLevel::kInfo, "order_transition",
        {{"order_id", order.order_id},
         {"seller_id", order.seller_id},
         {"from", std::string(StateName(order.state))},
         {"to", std::string(StateName(change.to))},
         {"actor", change.actor}});
    if (change.to == OrderState::kPaid) wakeup_->Wake();
  }
  return *moved;
}

absl::StatusOr<bool> OrderFlow::ApplyReport(OrderStore::Session& session, const Order& order,
                                            const ProviderPayment& payment, ReportContext context,
                                            const std::string& actor,
                                            std::optional<int64_t> notification_id) {
  const Decision decision = DecideOnReport(order, payment.status, context, payment.decline_reason);
  if (!decision.attention.empty()) {
    Log(LogLevel::kError, "order_attention",
        {{"order_id", order.order_id}, {"attention", decision.attention}});
    if (absl::Status s = session.SetAttention(order.order_id, decision.attention); !s.ok()) {
      return s;
    }
  }
  if (!decision.to.has_value()) return false;
  OrderChange change;
  change.to = *decision.to;
  change.actor = actor;
  change.reason = decision.reason;
  change.notification_id = notification_id;
  if (!payment.payment_id.empty()) change.provider_payment_id = payment.payment_id.substr(0, 128);
  if (change.to == OrderState::kAwaitingPayment) {
    change.redirect_url = payment.redirect_url.substr(0, 2048);
    if (!payment.instructions.empty()) {
      Instructions instructions = payment.instructions;
      if (instructions.pay_by == absl::InfinitePast()) instructions.pay_by = order.deadline;
      change.instructions = instructions;
    }
  }
  if (change.to == OrderState::kFailed || change.to == OrderState::kExpired ||
      change.to == OrderState::kCancelled) {
    change.failure_reason = decision.reason;
  }
  return Move(session, order, std::move(change));
}

absl::Status OrderFlow::Backoff(OrderStore::Session& session, const Order& order,
                                const absl::Status& error, bool blocked) {
  const std::optional<absl::Time> next =
      blocked ? std::nullopt
              : std::optional<absl::Time>(clock_->Now() + RetryBackoff(order.credit_attempts,
                                                                       options_.retry_backoff_max));
  return session.Reschedule(order.order_id, order.state, next, /*reset_attempts=*/false,
                            absl::StrCat(ReasonOf(error), ": ", error.message()), blocked);
}

absl::Status OrderFlow::Credit(const Order& order, const std::string& actor) {
  // Remote call first, holding no connection; the outcome is applied guarded by state PAID.
  // The voucher's price is its denomination (W2: price in yen = Qcash credited).
  auto seq = wallet_->CreditCharge(order.seller_id, order.order_id, order.amount_yen, order.method,
                                   /*price_paid_yen=*/order.amount_yen);
  if (!seq.ok()) {
    const bool blocked = wallet::IsDefiniteRefusal(seq.status());
    Credits()->Add({blocked ? "refused" : "retry"});
    Log(blocked ? LogLevel::kError : LogLevel::kWarn, "credit_failed",
        {{"order_id", order.order_id},
         {"seller_id", order.seller_id},
         {"blocked", blocked},
         {"error", seq.status().ToString()}});
    absl::Status recorded = store_->Run([&](OrderStore::Session& session) -> absl::Status {
      if (blocked) {
        // The money is in, the wallet says no for good (the shop closed, W5): never retry on
        // our own, never lose it; operators settle it (ListStuckOrders, RetryCredit).
        if (absl::Status s = session.SetAttention(
                order.order_id, absl::StrCat("CREDIT_REFUSED: ", ReasonOf(seq.status()), ": ",
                                             seq.status().message()));
            !s.ok()) {
          return s;
        }
      }
      return Backoff(session, order, seq.status(), blocked);
    });
    if (!recorded.ok()) return recorded;
    return seq.status();
  }
  Credits()->Add({"credited"});
  OrderChange change;
  change.to = OrderState::kCredited;
  change.actor = actor;
  change.reason =
      absl::StrCat("the wallet credited ", order.amount_yen, " Qcash (journal entry ", *seq, ")");
  change.wallet_entry_seq = *seq;
  // The move and the start of the reversals that waited for this credit in one transaction
  // (issue 16): a reversal recorded before the credit is never left waiting behind it.
  auto started = store_->Transact([&](OrderStore::Session& session) -> absl::StatusOr<int64_t> {
    auto moved = Move(session, order, std::move(change));
    if (!moved.ok()) return moved.status();
    if (!*moved) return int64_t{0};
    if (!order.attention.empty() && absl::StartsWith(order.attention, "CREDIT_REFUSED")) {
      if (absl::Status s = session.SetAttention(order.order_id, ""); !s.ok()) return s;
    }
    return session.StartWaitingReversals(order.seller_id, order.order_id, clock_->Now());
  });
  if (!started.ok()) return started.status();
  if (*started > 0) {
    // Right after the credit, holding no connection; what fails here the reconciler retries.
    ApplyReversals(order.seller_id, order.order_id).IgnoreError();  // logged and rescheduled inside
  }
  return absl::OkStatus();
}

absl::Status OrderFlow::ApplyReversal(const Reversal& reversal) {
  auto result = wallet_->ClawBack(
      reversal.seller_id, ReversalKey(reversal.provider, reversal.reversal_id), reversal.order_id,
      reversal.reversal_id, reversal.kind, reversal.amount_yen);
  if (!result.ok()) {
    const bool blocked = wallet::IsDefiniteRefusal(result.status());
    Reversals()->Add({blocked ? "refused" : "retry"});
    Log(blocked ? LogLevel::kError : LogLevel::kWarn, "reversal_failed",
        {{"order_id", reversal.order_id},
         {"seller_id", reversal.seller_id},
         {"reversal_id", reversal.reversal_id},
         {"blocked", blocked},
         {"error", result.status().ToString()}});
    const std::string error =
        absl::StrCat(ReasonOf(result.status()), ": ", result.status().message());
    absl::Status recorded = store_->Run([&](OrderStore::Session& session) -> absl::Status {
      if (blocked) {
        // The wallet says no for good (no such charge, more than it credited): an operator
        // must look; the reversal leaves the queue until then.
        if (absl::Status s = session.SetAttention(reversal.order_id,
                                                  absl::StrCat(kReversalRefusedNote, ": reversal ",
                                                               reversal.reversal_id, ": ", error));
            !s.ok()) {
          return s;
        }
      }
      const std::optional<absl::Time> next =
          blocked
              ? std::nullopt
              : std::optional<absl::Time>(
                    clock_->Now() + RetryBackoff(reversal.attempts, options_.retry_backoff_max));
      return session.RescheduleReversal(reversal, next, error);
    });
    if (!recorded.ok()) return recorded;
    return result.status();
  }
  auto finished = store_->Run([&](OrderStore::Session& session) -> absl::StatusOr<bool> {
    auto done = session.FinishReversal(reversal, result->clawed_back_yen, result->debt_yen,
                                       result->entry_seq);
    if (!done.ok() || !*done) return done;
    for (absl::string_view note : {kReversalNotCreditedNote, kReversalRefusedNote}) {
      if (absl::Status s =
              session.ClearAttentionIf(reversal.seller_id, reversal.order_id, std::string(note));
          !s.ok()) {
        return s;
      }
    }
    return true;
  });
  if (!finished.ok()) return finished.status();
  if (*finished) {
    Reversals()->Add({"applied"});
    Log(LogLevel::kInfo, "reversal_applied",
        {{"order_id", reversal.order_id},
         {"seller_id", reversal.seller_id},
         {"reversal_id", reversal.reversal_id},
         {"kind", std::string(ReversalKindName(reversal.kind))},
         {"amount_yen", reversal.amount_yen},
         {"clawed_back_yen", result->clawed_back_yen},
         {"debt_yen", result->debt_yen},
         {"wallet_entry_seq", result->entry_seq}});
  }
  return absl::OkStatus();
}

absl::Status OrderFlow::ApplyReversals(const std::string& seller_id, const std::string& order_id) {
  auto reversals = store_->Run(
      [&](OrderStore::Session& session) { return session.LoadReversals(seller_id, order_id); });
  if (!reversals.ok()) return reversals.status();
  absl::Status first;
  for (const Reversal& reversal : *reversals) {
    if (reversal.state != ReversalState::kApplying) continue;
    absl::Status s = ApplyReversal(reversal);
    if (first.ok()) first = s;
  }
  return first;
}

absl::Status OrderFlow::ChargeInternal(const Order& order, const std::string& actor) {
  const FundsSource source =
      order.method == Method::kQmoney ? FundsSource::kQmoney : FundsSource::kPendingSettlement;
  auto seq =
      wallet_->ChargeFromInternalFunds(order.seller_id, order.order_id, order.amount_yen, source);
  OrderChange change;
  change.actor = actor;
  if (seq.ok()) {
    change.to = OrderState::kCredited;
    change.wallet_entry_seq = *seq;
    change.reason = absl::StrCat(InfoOf(order.method).label, " moved into ", order.amount_yen,
                                 " Qcash in one ledger transaction (journal entry ", *seq, ")");
  } else if (wallet::IsDefiniteRefusal(seq.status())) {
    change.to = OrderState::kFailed;
    change.reason = absl::StrCat(ReasonOf(seq.status()), ": ", seq.status().message());
    change.failure_reason = change.reason;
  } else {
    Log(LogLevel::kWarn, "internal_charge_failed",
        {{"order_id", order.order_id}, {"error", seq.status().ToString()}});
    absl::Status s = store_->Run(
        [&](OrderStore::Session& session) { return Backoff(session, order, seq.status()); });
    if (!s.ok()) return s;
    return seq.status();
  }
  return store_->Run([&](OrderStore::Session& session) {
    return Move(session, order, std::move(change)).status();
  });
}

absl::StatusOr<Order> OrderFlow::StartAtProvider(const Order& order,
                                                 const std::string& payment_token) {
  Connector* connector = connectors_->ForMethod(order.method);
  if (connector == nullptr) return NotConfigured(order);
  StartRequest start;
  start.order_id = order.order_id;
  start.seller_id = order.seller_id;
  start.amount_yen = order.amount_yen;
  start.return_url = absl::StrCat(options_.return_url,
                                  options_.return_url.find('?') == std::string::npos ? "?" : "&",
                                  "order_id=", order.order_id);
  start.deadline = order.deadline;
  start.payment_token = payment_token;
  auto payment = connector->Start(start);  // no connection held
  if (!payment.ok()) {
    if (ReasonIs(payment.status(), v1::PROVIDER_REJECTED)) {
      OrderChange change;
      change.to = OrderState::kFailed;
      change.actor = ProviderActor(order.provider);
      change.reason = std::string(payment.status().message());
      change.failure_reason = absl::StrCat("PROVIDER_REJECTED: ", payment.status().message());
      return store_->Run([&](OrderStore::Session& session) -> absl::StatusOr<Order> {
        if (auto moved = Move(session, order, std::move(change)); !moved.ok()) {
          return moved.status();
        }
        return LoadSellerOrder(session, order.seller_id, order.order_id);
      });
    }
    Log(LogLevel::kWarn, "provider_start_failed",
        {{"order_id", order.order_id},
         {"provider", order.provider},
         {"error", payment.status().ToString()}});
    // The order stays CREATED: a retry with the same key, or the reconciler, finds out what
    // the provider did with it.
    return WithMessage(payment.status(),
                       absl::StrCat("order ", order.order_id, " is stored; ",
                                    payment.status().message(), "; retry with the same key"));
  }
  return store_->Run([&](OrderStore::Session& session) -> absl::StatusOr<Order> {
    auto moved = ApplyReport(session, order, *payment, ReportContext::kObserved,
                             ProviderActor(order.provider), std::nullopt);
    if (!moved.ok()) return moved.status();
    return LoadSellerOrder(session, order.seller_id, order.order_id);
  });
}

absl::StatusOr<Order> OrderFlow::Resume(Order order, const std::string& actor,
                                        const std::optional<std::string>& start_token) {
  if (order.state == OrderState::kCreated) {
    if (IsProviderFamily(order.family)) {
      if (!start_token.has_value()) return order;  // only the creating call starts a payment
      auto started = StartAtProvider(order, *start_token);
      if (!started.ok()) return started.status();
      order = std::move(*started);
    } else {
      if (absl::Status s = ChargeInternal(order, actor); !s.ok()) {
        Log(LogLevel::kInfo, "internal_charge_deferred", {{"order_id", order.order_id}});
      }
      auto reloaded = Reload(order);
      if (!reloaded.ok()) return reloaded.status();
      order = std::move(*reloaded);
    }
  }
  if (order.state == OrderState::kPaid && !order.credit_blocked) {
    // Credit now so that the seller sees the Qcash at once; if the wallet cannot, the order
    // stays PAID and the reconciler keeps trying.
    Credit(order, actor).IgnoreError();  // logged and rescheduled inside
    auto reloaded = Reload(order);
    if (!reloaded.ok()) return reloaded.status();
    order = std::move(*reloaded);
  }
  return order;
}

}  // namespace qcash::payment
