#include "services/payment/payments.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/migrate.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/signature.h"
#include "services/wallet/client/refusal.h"

namespace qcash::payment {

// Defined by qcash_embed_migrations() from migrations/*.sql.
const std::vector<Migration>& Migrations();

namespace {

constexpr absl::string_view kReconciler = "reconciler";

std::string ProviderActor(absl::string_view provider) {
  return absl::StrCat("provider:", provider);
}

absl::Status OrderNotFound() {
  return NotFound(payment::v1::ORDER_NOT_FOUND, "no such charge order for this seller");
}

// The wallet's answer as ours: a missing or closed wallet keeps its reason; anything else
// means the wallet could not be asked (a refusal of this service's identity is a
// configuration fault, not the gateway's: it must not read as the gateway being refused).
absl::Status WalletError(const absl::Status& status) {
  if (wallet::IsDefiniteRefusal(status)) return Relay(status, v1::WALLET_REFUSED);
  return Unavailable(payment::v1::WALLET_UNAVAILABLE,
                     absl::StrCat("the wallet could not be asked: ", status.message()));
}

bool IsProviderFamily(Family family) { return family != Family::kInternalFunds; }

absl::Status NotConfigured(const Order& order) {
  return FailedPrecondition(payment::v1::PROVIDER_NOT_CONFIGURED,
                            absl::StrCat("provider ", order.provider, " is not configured here"));
}

// Metrics: every label value comes from a fixed set (states, provider names of the catalog,
// reasons this file names), never from sellers or orders.
metrics::Counter* Transitions() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_order_transitions_total", "Charge order state changes (P5).", {"from", "to"});
  return counter;
}

metrics::Counter* Notifications() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_notifications_total",
      "Provider notifications by result: applied, no_effect, duplicate, or the reject reason.",
      {"provider", "result"});
  return counter;
}

metrics::Counter* Credits() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_credits_total",
      "Wallet credits of paid orders by result: credited, retry (wallet unavailable), refused.",
      {"result"});
  return counter;
}

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

metrics::Counter* QsignChecks() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_qsign_checks_total",
      "Q-sign password sets and checks by result: ok, wrong, locked, not_set, limited (the "
      "seller's limit), busy (no hashing slot) (P3).",
      {"result"});
  return counter;
}

metrics::Counter* NotificationsDeleted() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_payment_notifications_deleted_total",
      "Stored provider notifications deleted after the retention (P7).", {});
  return counter;
}

// A change of the Q-sign row made meanwhile makes RecordQsignCheck read it again; each round
// is one guarded UPDATE, and changes of one seller's row are limited by the seller's window.
constexpr int kQsignUpdateRoundsMax = 8;

std::string ProviderLabel(absl::string_view provider) {
  return FindProvider(provider) != nullptr ? std::string(provider) : "unknown";
}

// Whether `idempotency_key` already made this very request: the same RPC with the same request
// hash (qsign records none: nothing derived from a password is kept to compare with).
// Errors: INVALID_ARGUMENT (IDEMPOTENCY_KEY_REUSED) when it made another; the database's.
absl::StatusOr<bool> FindReplay(PgConnection& conn, const std::string& caller,
                                const std::string& seller_id, const std::string& idempotency_key,
                                absl::string_view rpc, absl::string_view request_hash) {
  auto key = FindRequestKey(conn, caller, seller_id, idempotency_key);
  if (!key.ok()) return key.status();
  if (!key->has_value()) return false;
  if ((*key)->rpc != rpc || (*key)->request_hash != request_hash) {
    return InvalidArgument(payment::v1::IDEMPOTENCY_KEY_REUSED,
                           "this idempotency key was used for a different request");
  }
  return true;
}

}  // namespace

Payments::Payments(Options options, WalletPort* wallet, const ConnectorRegistry* connectors)
    : options_(std::move(options)),
      wallet_(wallet),
      connectors_(connectors),
      hash_slots_(options_.password_hashes_max, options_.password_hash_wait,
                  options_.password_hash_retry_after),
      rejected_log_(options_.rejected_log_per_minute, absl::Minutes(1)) {}

absl::StatusOr<std::unique_ptr<Payments>> Payments::Start(Options options, WalletPort* wallet,
                                                          const ConnectorRegistry* connectors) {
  {
    auto conn = PgConnection::Connect(options.database_url, "qcash-payment-migrate");
    if (!conn.ok()) return conn.status();
    if (absl::Status s = ApplyMigrations(**conn, Migrations()); !s.ok()) return s;
  }
  std::unique_ptr<Payments> payments(new Payments(std::move(options), wallet, connectors));
  const Options& kept = payments->options_;
  payments->pool_ =
      std::make_unique<PgPool>(kept.database_url, "qcash-payment", kept.database_pool_size);
  Payments* p = payments.get();
  payments->reconciler_ = std::thread([p] { p->ReconcileLoop(); });
  return payments;
}

Payments::~Payments() { Stop(); }

void Payments::Stop() {
  {
    MutexLock lock(&reconcile_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  reconcile_cv_.SignalAll();
  if (reconciler_.joinable()) reconciler_.join();
}

void Payments::Wake() {
  {
    MutexLock lock(&reconcile_mu_);
    woken_ = true;
  }
  reconcile_cv_.SignalAll();
}

absl::Duration Payments::TtlOf(Family family) const {
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

std::optional<absl::Time> Payments::NextLook(const Order& order, OrderState state,
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

absl::StatusOr<Order> Payments::Load(PgConnection& conn, const std::string& seller_id,
                                     const std::string& order_id) {
  auto order = LoadOrder(conn, order_id);
  if (!order.ok()) return order.status();
  if (!order->has_value() || (*order)->seller_id != seller_id) return OrderNotFound();
  return **order;
}

absl::StatusOr<bool> Payments::Move(PgConnection& conn, const Order& order, OrderChange change) {
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
  change.next_attempt_at = NextLook(order, change.to, absl::Now());
  auto moved = ApplyChange(conn, order.order_id, change);
  if (!moved.ok()) return moved.status();
  if (*moved) {
    Transitions()->Add({std::string(StateName(order.state)), std::string(StateName(change.to))});
    Log(LogLevel::kInfo, "order_transition",
        {{"order_id", order.order_id},
         {"seller_id", order.seller_id},
         {"from", std::string(StateName(order.state))},
         {"to", std::string(StateName(change.to))},
         {"actor", change.actor}});
    if (change.to == OrderState::kPaid) Wake();
  }
  return *moved;
}

absl::StatusOr<bool> Payments::ApplyReport(PgConnection& conn, const Order& order,
                                           const ProviderPayment& payment, ReportContext context,
                                           const std::string& actor,
                                           std::optional<int64_t> notification_id) {
  const Decision decision = DecideOnReport(order, payment.status, context, payment.decline_reason);
  if (!decision.attention.empty()) {
    Log(LogLevel::kError, "order_attention",
        {{"order_id", order.order_id}, {"attention", decision.attention}});
    if (absl::Status s = SetAttention(conn, order.order_id, decision.attention); !s.ok()) return s;
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
  return Move(conn, order, std::move(change));
}

absl::Status Payments::Backoff(PgConnection& conn, const Order& order, const absl::Status& error,
                               bool blocked) {
  const std::optional<absl::Time> next =
      blocked ? std::nullopt
              : std::optional<absl::Time>(
                    absl::Now() + RetryBackoff(order.credit_attempts, options_.retry_backoff_max));
  return Reschedule(conn, order.order_id, order.state, next, /*reset_attempts=*/false,
                    absl::StrCat(ReasonOf(error), ": ", error.message()), blocked);
}

// ---------------------------------------------------------------------------- crediting (P5)

absl::Status Payments::Credit(PgConnection& conn, const Order& order, const std::string& actor) {
  auto seq = wallet_->CreditCharge(order.seller_id, order.order_id, order.amount_yen);
  if (!seq.ok()) {
    const bool blocked = wallet::IsDefiniteRefusal(seq.status());
    Credits()->Add({blocked ? "refused" : "retry"});
    Log(blocked ? LogLevel::kError : LogLevel::kWarn, "credit_failed",
        {{"order_id", order.order_id},
         {"seller_id", order.seller_id},
         {"blocked", blocked},
         {"error", seq.status().ToString()}});
    if (blocked) {
      // The money is in, the wallet says no for good (the shop closed, W5): never retry on
      // our own, never lose it; operators settle it (ListStuckOrders, RetryCredit).
      if (absl::Status s = SetAttention(conn, order.order_id,
                                        absl::StrCat("CREDIT_REFUSED: ", ReasonOf(seq.status()),
                                                     ": ", seq.status().message()));
          !s.ok()) {
        return s;
      }
    }
    if (absl::Status s = Backoff(conn, order, seq.status(), blocked); !s.ok()) return s;
    return seq.status();
  }
  Credits()->Add({"credited"});
  OrderChange change;
  change.to = OrderState::kCredited;
  change.actor = actor;
  change.reason =
      absl::StrCat("the wallet credited ", order.amount_yen, " Qcash (journal entry ", *seq, ")");
  change.wallet_entry_seq = *seq;
  auto moved = Move(conn, order, std::move(change));
  if (!moved.ok()) return moved.status();
  if (!order.attention.empty() && absl::StartsWith(order.attention, "CREDIT_REFUSED")) {
    (void)SetAttention(conn, order.order_id, "");
  }
  return absl::OkStatus();
}

absl::Status Payments::ChargeInternal(PgConnection& conn, const Order& order,
                                      const std::string& actor) {
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
    if (absl::Status s = Backoff(conn, order, seq.status()); !s.ok()) return s;
    return seq.status();
  }
  return Move(conn, order, std::move(change)).status();
}

absl::StatusOr<Order> Payments::StartAtProvider(PgConnection& conn, const Order& order,
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
  auto payment = connector->Start(start);
  if (!payment.ok()) {
    if (ReasonIs(payment.status(), v1::PROVIDER_REJECTED)) {
      OrderChange change;
      change.to = OrderState::kFailed;
      change.actor = ProviderActor(order.provider);
      change.reason = std::string(payment.status().message());
      change.failure_reason = absl::StrCat("PROVIDER_REJECTED: ", payment.status().message());
      if (auto moved = Move(conn, order, std::move(change)); !moved.ok()) return moved.status();
      return Load(conn, order.seller_id, order.order_id);
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
  auto moved = ApplyReport(conn, order, *payment, ReportContext::kObserved,
                           ProviderActor(order.provider), std::nullopt);
  if (!moved.ok()) return moved.status();
  return Load(conn, order.seller_id, order.order_id);
}

absl::StatusOr<Order> Payments::Resume(PgConnection& conn, Order order, const std::string& actor,
                                       const std::optional<std::string>& start_token) {
  if (order.state == OrderState::kCreated) {
    if (IsProviderFamily(order.family)) {
      if (!start_token.has_value()) return order;  // only the creating call starts a payment
      auto started = StartAtProvider(conn, order, *start_token);
      if (!started.ok()) return started.status();
      order = std::move(*started);
    } else {
      if (absl::Status s = ChargeInternal(conn, order, actor); !s.ok()) {
        Log(LogLevel::kInfo, "internal_charge_deferred", {{"order_id", order.order_id}});
      }
      auto reloaded = Load(conn, order.seller_id, order.order_id);
      if (!reloaded.ok()) return reloaded.status();
      order = std::move(*reloaded);
    }
  }
  if (order.state == OrderState::kPaid && !order.credit_blocked) {
    // Credit now so that the seller sees the Qcash at once; if the wallet cannot, the order
    // stays PAID and the reconciler keeps trying.
    (void)Credit(conn, order, actor);
    auto reloaded = Load(conn, order.seller_id, order.order_id);
    if (!reloaded.ok()) return reloaded.status();
    order = std::move(*reloaded);
  }
  return order;
}

// ---------------------------------------------------------------------------- options (P4)

absl::StatusOr<Payments::ChargeOptions> Payments::ListChargeOptions(const std::string& seller_id,
                                                                    int64_t denomination_yen) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (denomination_yen != 0 && !IsDenomination(denomination_yen)) {
    return InvalidArgument(payment::v1::UNKNOWN_DENOMINATION,
                           absl::StrCat(denomination_yen, " is not a charge voucher"));
  }
  const int64_t price_yen = denomination_yen != 0 ? denomination_yen : kDenominationsYen[0];
  auto balance = wallet_->GetBalance(seller_id);
  if (!balance.ok() && wallet::IsDefiniteRefusal(balance.status())) return balance.status();
  if (balance.ok() && balance->closed) {
    return FailedPrecondition(payment::v1::WALLET_CLOSED,
                              "the shop has closed; it charges nothing (W5)");
  }
  std::string qsign_problem;
  {
    auto conn = pool_->Acquire();
    if (!conn.ok()) return conn.status();
    auto row = LoadQsign(**conn, seller_id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) {
      qsign_problem = "QSIGN_PASSWORD_NOT_SET";
    } else if (IsLocked((*row)->attempts, absl::Now())) {
      qsign_problem = "QSIGN_LOCKED";
    }
  }
  ChargeOptions options;
  if (balance.ok()) options.qcash_available_yen = balance->available_yen;
  for (const MethodInfo& info : kMethods) {
    MethodAvailability m;
    m.info = &info;
    if (IsProviderFamily(info.family)) {
      m.available = connectors_->ForMethod(info.method) != nullptr;
      if (m.available)
        m.denominations_yen.assign(kDenominationsYen.begin(), kDenominationsYen.end());
      if (!m.available) m.unavailable_reason = "PROVIDER_NOT_CONFIGURED";
    } else if (!balance.ok()) {
      m.unavailable_reason = "BALANCE_UNKNOWN";
    } else {
      m.funds_balance_yen =
          info.method == Method::kQmoney ? balance->qmoney_yen : balance->pending_settlement_yen;
      for (int64_t d : kDenominationsYen) {
        if (d <= m.funds_balance_yen) m.denominations_yen.push_back(d);  // P4
      }
      if (!qsign_problem.empty()) {
        m.unavailable_reason = qsign_problem;  // P3
      } else if (m.funds_balance_yen < price_yen) {
        m.unavailable_reason = "INSUFFICIENT_FUNDS";  // P4
      } else {
        m.available = true;
      }
      if (!qsign_problem.empty()) m.denominations_yen.clear();
    }
    options.methods.push_back(std::move(m));
  }
  return options;
}

// ---------------------------------------------------------------------------- orders

absl::StatusOr<Payments::OrderResult> Payments::CreateOrder(const CreateRequest& request) {
  auto method = ValidateCreate(request);
  if (!method.ok()) return method.status();
  const std::string hash = CreateRequestHash(request);
  auto resume_existing = [&](PgConnection& conn,
                             const Order& existing) -> absl::StatusOr<OrderResult> {
    if (existing.request_hash != hash) {
      return InvalidArgument(payment::v1::IDEMPOTENCY_KEY_REUSED,
                             "this idempotency key was used for a different order");
    }
    auto resumed = Resume(conn, existing, request.caller, request.payment_token);
    if (!resumed.ok()) return resumed.status();
    return OrderResult{std::move(*resumed), /*replayed=*/true};
  };
  {
    auto conn = pool_->Acquire();
    if (!conn.ok()) return conn.status();
    auto existing =
        FindOrderByKey(**conn, request.seller_id, request.caller, request.idempotency_key);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) return resume_existing(**conn, **existing);
  }
  // No pooled connection is held across the wallet call and the Q-sign hash below.

  // W5: a closed shop charges nothing; and the wallet must exist before money is taken.
  auto balance = wallet_->GetBalance(request.seller_id);
  if (!balance.ok()) return WalletError(balance.status());
  if (balance->closed) {
    return FailedPrecondition(payment::v1::WALLET_CLOSED,
                              "the shop has closed; it charges nothing (W5)");
  }
  const MethodInfo& info = **method;
  if (info.family == Family::kInternalFunds) {
    // P3 before P4, so that a wrong password learns nothing about the balance.
    if (absl::Status s = CheckQsignPassword(request.seller_id, request.qsign_password); !s.ok()) {
      return s;
    }
    const int64_t funds_yen =
        info.method == Method::kQmoney ? balance->qmoney_yen : balance->pending_settlement_yen;
    if (funds_yen < request.denomination_yen) {  // P4 (the wallet checks again, atomically)
      return FailedPrecondition(
          payment::v1::INSUFFICIENT_FUNDS,
          absl::StrCat(info.label, " does not cover ", request.denomination_yen, " yen"));
    }
  } else if (connectors_->ForMethod(info.method) == nullptr) {
    return FailedPrecondition(payment::v1::PROVIDER_NOT_CONFIGURED,
                              "the method has no provider here");
  }

  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  Order order;
  order.order_id = NewOrderId();
  order.seller_id = request.seller_id;
  order.caller = request.caller;
  order.idempotency_key = request.idempotency_key;
  order.request_hash = hash;
  order.amount_yen = request.denomination_yen;
  order.method = info.method;
  order.family = info.family;
  order.provider = std::string(info.provider);
  order.state = OrderState::kCreated;
  order.deadline = absl::Now() + TtlOf(info.family);
  Transition created;
  created.actor = request.caller;
  created.reason =
      absl::StrCat("ordered ", DenominationLabel(order.amount_yen), " with ", info.label);
  auto inserted =
      InsertOrder(**conn, order, *NextLook(order, OrderState::kCreated, absl::Now()), created);
  if (!inserted.ok()) return inserted.status();
  if (!*inserted) {  // the same key concurrently: one order, the other call resumes it
    auto raced = FindOrderByKey(**conn, request.seller_id, request.caller, request.idempotency_key);
    if (!raced.ok()) return raced.status();
    if (!raced->has_value())
      return Aborted(common::v1::DATABASE_CONFLICT, "retry with the same key");
    return resume_existing(**conn, **raced);
  }
  Log(LogLevel::kInfo, "order_created",
      {{"order_id", order.order_id},
       {"seller_id", order.seller_id},
       {"amount_yen", order.amount_yen},
       {"method", std::string(info.provider.empty() ? info.label : info.provider)}});
  auto resumed = Resume(**conn, std::move(order), request.caller, request.payment_token);
  if (!resumed.ok()) return resumed.status();
  return OrderResult{std::move(*resumed), /*replayed=*/false};
}

absl::StatusOr<Payments::OrderView> Payments::GetOrder(const std::string& seller_id,
                                                       const std::string& order_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (!CheckOrderId(order_id).ok()) return OrderNotFound();
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto order = Load(**conn, seller_id, order_id);
  if (!order.ok()) return order.status();
  auto transitions = LoadTransitions(**conn, order_id);
  if (!transitions.ok()) return transitions.status();
  return OrderView{std::move(*order), std::move(*transitions)};
}

absl::StatusOr<Order> Payments::CompleteRedirect(const std::string& caller,
                                                 const std::string& seller_id,
                                                 const std::string& order_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (!CheckOrderId(order_id).ok()) return OrderNotFound();
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto order = Load(**conn, seller_id, order_id);
  if (!order.ok()) return order.status();
  if (order->family != Family::kRedirect) {
    return FailedPrecondition(payment::v1::NOT_A_REDIRECT_ORDER,
                              "only orders of the redirect family come back from a provider");
  }
  if (order->state == OrderState::kCreated || order->state == OrderState::kAwaitingPayment) {
    // Never trust the browser's word: ask the provider (P2, redirect-and-confirm).
    Connector* connector = connectors_->ForMethod(order->method);
    if (connector == nullptr) return NotConfigured(*order);
    auto payment = connector->Lookup(order_id);
    if (!payment.ok() && payment.status().code() != absl::StatusCode::kNotFound) {
      return payment.status();
    }
    if (payment.ok()) {
      auto moved =
          ApplyReport(**conn, *order, *payment, ReportContext::kObserved, caller, std::nullopt);
      if (!moved.ok()) return moved.status();
    }
    auto reloaded = Load(**conn, seller_id, order_id);
    if (!reloaded.ok()) return reloaded.status();
    order = std::move(reloaded);
  }
  return Resume(**conn, std::move(*order), caller, std::nullopt);
}

absl::StatusOr<Payments::OrderResult> Payments::CancelOrder(const std::string& caller,
                                                            const std::string& seller_id,
                                                            const std::string& idempotency_key,
                                                            const std::string& order_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (absl::Status s = CheckIdempotencyKey(idempotency_key); !s.ok()) return s;
  if (!CheckOrderId(order_id).ok()) return OrderNotFound();
  const std::string hash = Fingerprint().Add("cancel").Add(seller_id).Add(order_id).Hex();
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto replay = FindReplay(**conn, caller, seller_id, idempotency_key, "cancel", hash);
  if (!replay.ok()) return replay.status();
  if (*replay) {
    auto order = Load(**conn, seller_id, order_id);
    if (!order.ok()) return order.status();
    return OrderResult{std::move(*order), /*replayed=*/true};
  }
  // Two rounds at most: the provider may report a change that moves the order first.
  for (int round = 0; round < 2; ++round) {
    auto order = Load(**conn, seller_id, order_id);
    if (!order.ok()) return order.status();
    switch (order->state) {
      case OrderState::kCancelled: {
        auto recorded = InsertRequestKey(**conn, caller, seller_id, idempotency_key,
                                         {"cancel", hash, order_id});
        if (!recorded.ok()) return recorded.status();
        return OrderResult{std::move(*order), /*replayed=*/false};
      }
      case OrderState::kPaid:
      case OrderState::kCredited:
        return FailedPrecondition(payment::v1::ORDER_ALREADY_PAID,
                                  "the order is paid; after payment there is no cancellation (P5)");
      case OrderState::kFailed:
      case OrderState::kExpired:
        return FailedPrecondition(payment::v1::ORDER_CLOSED,
                                  absl::StrCat("the order is ", StateName(order->state)));
      default:
        break;
    }
    if (!IsProviderFamily(order->family)) {
      return FailedPrecondition(payment::v1::ORDER_IN_PROGRESS,
                                "the seller signed the internal-funds charge; it completes");
    }
    // The provider first: it alone knows whether the seller paid meanwhile.
    Connector* connector = connectors_->ForMethod(order->method);
    if (connector == nullptr) return NotConfigured(*order);
    auto payment = connector->Cancel(order_id);
    ProviderPayment report;
    if (payment.ok()) {
      report = std::move(*payment);
    } else if (payment.status().code() == absl::StatusCode::kNotFound) {
      report.status = ProviderStatus::kNotFound;
    } else {
      return payment.status();
    }
    const Decision decision =
        DecideOnReport(*order, report.status, ReportContext::kSellerCancel, report.decline_reason);
    if (!decision.to.has_value()) {
      return Unavailable(payment::v1::PROVIDER_UNAVAILABLE,
                         "the provider did not confirm the cancellation; retry with the same key");
    }
    if (*decision.to == OrderState::kCancelled) {
      auto tx = PgTransaction::Begin(**conn);
      if (!tx.ok()) return tx.status();
      OrderChange change;
      change.to = OrderState::kCancelled;
      change.actor = caller;
      change.reason = "cancelled by the seller; the provider confirmed";
      change.failure_reason = "CANCELLED_BY_SELLER";
      if (!report.payment_id.empty()) change.provider_payment_id = report.payment_id;
      auto moved = Move(**conn, *order, std::move(change));
      if (!moved.ok()) return moved.status();
      if (!*moved) continue;  // it moved meanwhile: look again
      auto recorded =
          InsertRequestKey(**conn, caller, seller_id, idempotency_key, {"cancel", hash, order_id});
      if (!recorded.ok()) return recorded.status();
      if (absl::Status s = tx->Commit(); !s.ok()) return s;
      auto cancelled = Load(**conn, seller_id, order_id);
      if (!cancelled.ok()) return cancelled.status();
      return OrderResult{std::move(*cancelled), /*replayed=*/false};
    }
    // The seller paid (or the payment failed) before the cancel reached the provider.
    auto moved = ApplyReport(**conn, *order, report, ReportContext::kSellerCancel,
                             ProviderActor(order->provider), std::nullopt);
    if (!moved.ok()) return moved.status();
  }
  auto order = Load(**conn, seller_id, order_id);
  if (!order.ok()) return order.status();
  if (order->state == OrderState::kPaid) (void)Resume(**conn, *order, caller, std::nullopt);
  if (order->state == OrderState::kPaid || order->state == OrderState::kCredited) {
    return FailedPrecondition(
        payment::v1::ORDER_ALREADY_PAID,
        "the seller paid before the cancellation; the Qcash is being credited");
  }
  return FailedPrecondition(payment::v1::ORDER_CLOSED,
                            absl::StrCat("the order is ", StateName(order->state)));
}

absl::StatusOr<std::vector<Order>> Payments::ListOrders(const std::string& seller_id,
                                                        const std::optional<PageCursor>& after,
                                                        const std::vector<int16_t>& states,
                                                        int limit) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return payment::ListOrders(**conn, seller_id, after, states, limit);
}

absl::StatusOr<std::vector<Order>> Payments::ListStuck(absl::Duration min_age,
                                                       const std::optional<PageCursor>& after,
                                                       int limit) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return payment::ListStuck(**conn, min_age, after, limit);
}

absl::StatusOr<Order> Payments::RetryCredit(const std::string& caller, const std::string& seller_id,
                                            const std::string& idempotency_key,
                                            const std::string& order_id) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (absl::Status s = CheckIdempotencyKey(idempotency_key); !s.ok()) return s;
  if (!CheckOrderId(order_id).ok()) return OrderNotFound();
  const std::string hash = Fingerprint().Add("retry_credit").Add(seller_id).Add(order_id).Hex();
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto replay = FindReplay(**conn, caller, seller_id, idempotency_key, "retry_credit", hash);
  if (!replay.ok()) return replay.status();
  auto order = Load(**conn, seller_id, order_id);
  if (!order.ok()) return order.status();
  if (*replay) return order;
  if (order->state != OrderState::kPaid) {
    return FailedPrecondition(
        payment::v1::ORDER_NOT_PAID,
        absl::StrCat("only a PAID order is credited; it is ", StateName(order->state)));
  }
  {
    auto tx = PgTransaction::Begin(**conn);
    if (!tx.ok()) return tx.status();
    if (absl::Status s = Reschedule(**conn, order_id, OrderState::kPaid, absl::Now(),
                                    /*reset_attempts=*/true);
        !s.ok()) {
      return s;
    }
    auto recorded = InsertRequestKey(**conn, caller, seller_id, idempotency_key,
                                     {"retry_credit", hash, order_id});
    if (!recorded.ok()) return recorded.status();
    if (absl::Status s = tx->Commit(); !s.ok()) return s;
  }
  Log(LogLevel::kInfo, "credit_retry_requested", {{"order_id", order_id}, {"caller", caller}});
  order->credit_blocked = false;
  order->credit_attempts = 0;
  return Resume(**conn, std::move(*order), caller, std::nullopt);
}

// ---------------------------------------------------------------------------- Q-sign (P3)

absl::StatusOr<std::optional<QsignRow>> Payments::AdmitQsign(PgConnection& conn,
                                                             const std::string& seller_id,
                                                             bool require_password) {
  auto row = LoadQsign(conn, seller_id);
  if (!row.ok()) return row.status();
  if (!row->has_value() && require_password) {
    QsignChecks()->Add({"not_set"});
    return FailedPrecondition(payment::v1::QSIGN_PASSWORD_NOT_SET,
                              "set a Q-sign password before paying with Qmoney or pending "
                              "settlement");
  }
  if (row->has_value() && IsLocked((*row)->attempts, absl::Now())) {
    QsignChecks()->Add({"locked"});
    return LockedStatus((*row)->attempts.locked_until);
  }
  // Counted before any hash: concurrent calls cannot buy more guesses than the window holds.
  auto count = CountQsignCheck(conn, seller_id, options_.qsign_throttle);
  if (!count.ok()) return count.status();
  if (absl::Status s = ThrottleStatus(count->window, count->now, options_.qsign_throttle);
      !s.ok()) {
    QsignChecks()->Add({"limited"});
    return s;
  }
  return std::move(*row);
}

absl::StatusOr<bool> Payments::VerifyInSlot(const std::string& hash, const std::string& password) {
  auto slot = hash_slots_.Acquire();
  if (!slot.ok()) {
    QsignChecks()->Add({"busy"});
    return slot.status();
  }
  return VerifyQsignPassword(hash, password);
}

absl::Status Payments::RecordQsignCheck(const std::string& seller_id, QsignRow row, bool matches) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  for (int round = 0; round < kQsignUpdateRoundsMax; ++round) {
    const absl::Time now = absl::Now();
    if (IsLocked(row.attempts, now)) {
      // Another check locked the seller while this one hashed: the lock wins (P3).
      QsignChecks()->Add({"locked"});
      return LockedStatus(row.attempts.locked_until);
    }
    if (matches && row.attempts.failed == 0) {
      QsignChecks()->Add({"ok"});
      return absl::OkStatus();  // nothing to write
    }
    const QsignAttempts next = matches ? AfterRightPassword(row.attempts)
                                       : AfterWrongPassword(row.attempts, now, options_.qsign_lock);
    auto stored = StoreQsignAttempts(**conn, seller_id, next, row.version);
    if (!stored.ok()) return stored.status();
    if (*stored) {
      QsignChecks()->Add({matches ? "ok" : "wrong"});
      if (matches) return absl::OkStatus();
      if (IsLocked(next, now)) {
        Log(LogLevel::kWarn, "qsign_locked",
            {{"seller_id", seller_id},
             {"lockouts", next.lockouts},
             {"lock_s", absl::ToInt64Seconds(next.locked_until - now)}});
        return LockedStatus(next.locked_until);
      }
      return WrongPasswordStatus(next);
    }
    // The row changed while this call hashed (another check, or a new password): apply the
    // rule to the row as it is now, unless the password itself is another one.
    auto reread = LoadQsign(**conn, seller_id);
    if (!reread.ok()) return reread.status();
    if (!reread->has_value() || (*reread)->password_hash != row.password_hash) {
      return Aborted(common::v1::DATABASE_CONFLICT, "the Q-sign password changed meanwhile; retry");
    }
    row = std::move(**reread);
  }
  return Aborted(common::v1::DATABASE_CONFLICT,
                 "the Q-sign password is checked concurrently; retry");
}

absl::Status Payments::CheckQsignPassword(const std::string& seller_id,
                                          const std::string& password) {
  std::optional<QsignRow> row;
  {
    auto conn = pool_->Acquire();
    if (!conn.ok()) return conn.status();
    auto admitted = AdmitQsign(**conn, seller_id, /*require_password=*/true);
    if (!admitted.ok()) return admitted.status();
    row = std::move(*admitted);
  }  // released: argon2id runs with no connection held and no transaction open
  auto matches = VerifyInSlot(row->password_hash, password);
  if (!matches.ok()) return matches.status();
  return RecordQsignCheck(seller_id, std::move(*row), *matches);
}

absl::StatusOr<bool> Payments::SetQsignPassword(const std::string& caller,
                                                const std::string& seller_id,
                                                const std::string& idempotency_key,
                                                const std::string& current_password,
                                                const std::string& new_password) {
  if (absl::Status s = CheckSellerId(seller_id); !s.ok()) return s;
  if (absl::Status s = CheckIdempotencyKey(idempotency_key); !s.ok()) return s;
  if (absl::Status s = ValidateQsignPassword(new_password); !s.ok()) return s;
  std::optional<QsignRow> row;
  {
    auto conn = pool_->Acquire();
    if (!conn.ok()) return conn.status();
    // A replayed key answers the stored success and changes nothing.
    auto replay = FindReplay(**conn, caller, seller_id, idempotency_key, "qsign", "");
    if (!replay.ok()) return replay.status();
    if (*replay) return true;
    auto current = LoadQsign(**conn, seller_id);
    if (!current.ok()) return current.status();
    if (current->has_value() && current_password.empty() &&
        !IsLocked((*current)->attempts, absl::Now())) {
      return InvalidArgument(payment::v1::MISSING_QSIGN_PASSWORD,
                             "changing the Q-sign password needs the current one");
    }
    auto admitted = AdmitQsign(**conn, seller_id, /*require_password=*/false);
    if (!admitted.ok()) return admitted.status();
    row = std::move(*admitted);
  }  // released: no connection is held while argon2id runs
  if (row.has_value()) {
    auto matches = VerifyInSlot(row->password_hash, current_password);
    if (!matches.ok()) return matches.status();
    if (!*matches) return RecordQsignCheck(seller_id, std::move(*row), false);
  }
  absl::StatusOr<std::string> hash;
  {
    auto slot = hash_slots_.Acquire();
    if (!slot.ok()) {
      QsignChecks()->Add({"busy"});
      return slot.status();
    }
    hash = HashQsignPassword(new_password);
  }
  if (!hash.ok()) return hash.status();
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto tx = PgTransaction::Begin(**conn);
  if (!tx.ok()) return tx.status();
  if (row.has_value()) {
    // Only if nothing changed since the current password was checked (no lock, no other new
    // password): otherwise the caller retries with the same key and is checked again.
    auto stored = StoreQsignHash(**conn, seller_id, *hash, row->version);
    if (!stored.ok()) return stored.status();
    if (!*stored) {
      return Aborted(common::v1::DATABASE_CONFLICT, "the Q-sign password changed meanwhile; retry");
    }
  } else {
    auto created = CreateQsign(**conn, seller_id, *hash);
    if (!created.ok()) return created.status();
    if (!*created) {
      // Another call set the first password meanwhile: changing it needs that one now.
      return Aborted(common::v1::DATABASE_CONFLICT, "the password was set concurrently; retry");
    }
  }
  auto recorded = InsertRequestKey(**conn, caller, seller_id, idempotency_key, {"qsign", "", ""});
  if (!recorded.ok()) return recorded.status();
  if (!*recorded) return Aborted(common::v1::DATABASE_CONFLICT, "retry with the same key");
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  QsignChecks()->Add({"ok"});
  Log(LogLevel::kInfo, "qsign_password_set",
      {{"seller_id", seller_id}, {"changed", row.has_value()}});
  return false;
}

// ---------------------------------------------------------------------------- notifications (P7)

absl::Status Payments::Reject(const std::string& provider, const absl::Status& why,
                              const std::string& order_id) {
  const std::string reason = ReasonOf(why);
  Notifications()->Add({ProviderLabel(provider), reason});
  int64_t suppressed = 0;
  if (rejected_log_.Sample(absl::Now(), &suppressed)) {
    Log(LogLevel::kWarn, "notification_rejected",
        {{"provider", ProviderLabel(provider)},
         {"reason", reason},
         {"order_id", order_id.substr(0, 128)},
         {"not_logged_before", suppressed}});
  }
  return why;
}

absl::StatusOr<Payments::NotificationResult> Payments::HandleNotification(
    const std::string& provider, const std::string& body,
    const std::map<std::string, std::string>& headers) {
  // Nothing below writes to the database until the signature has verified (P7, DESIGN.md
  // section 7): a rejected delivery is counted and sampled in the log, never stored.
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
  auto parsed = connector->ParseNotification(body, headers, absl::Now());
  if (!parsed.ok()) return Reject(provider, parsed.status());
  const ProviderNotification& n = *parsed;
  const std::string& order_id = n.payment.merchant_reference;

  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto tx = PgTransaction::Begin(**conn);
  if (!tx.ok()) return tx.status();
  // The order's row lock serializes every delivery for the order, so of 100 copies of one
  // event exactly one finds no earlier record.
  std::optional<Order> order;
  if (CheckOrderId(order_id).ok()) {
    auto loaded = LoadOrder(**conn, order_id, /*for_update=*/true);
    if (!loaded.ok()) return loaded.status();
    order = std::move(*loaded);
  }
  if (!order.has_value()) {
    tx->Commit().IgnoreError();
    return Reject(provider,
                  NotFound(payment::v1::UNKNOWN_ORDER, "the notification names no order of ours"),
                  order_id);
  }
  auto duplicate = CountDuplicate(**conn, provider, n.event_id);
  if (!duplicate.ok()) return duplicate.status();
  if (duplicate->has_value()) {
    if (absl::Status s = tx->Commit(); !s.ok()) return s;
    Notifications()->Add({provider, "duplicate"});
    return NotificationResult{Disposition::kDuplicate, **duplicate, order_id};
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
      (void)SetAttention(**conn, order_id,
                         absl::StrCat(ReasonOf(mismatch),
                                      ": a provider reported a payment that "
                                      "does not match the order"));
    }
    if (absl::Status s = tx->Commit(); !s.ok()) return s;
    return Reject(provider, mismatch, order_id);
  }
  const Decision decision =
      DecideOnReport(*order, n.payment.status, ReportContext::kObserved, n.payment.decline_reason);
  NotificationRecord record;
  record.provider = provider;
  record.event_id = n.event_id;
  record.order_id = order_id;
  record.provider_status = std::string(ProviderStatusName(n.payment.status));
  record.amount_yen = n.payment.amount_yen;
  record.outcome = decision.to.has_value() ? kOutcomeApplied : kOutcomeNoEffect;
  record.body = body;
  int64_t signed_s = 0;
  if (absl::SimpleAtoi(HeaderValue(headers, kTimestampHeader), &signed_s)) {
    record.signed_at = absl::FromUnixSeconds(signed_s);
  }
  auto id = InsertNotification(**conn, record);
  if (!id.ok()) return id.status();
  auto moved = ApplyReport(**conn, *order, n.payment, ReportContext::kObserved,
                           ProviderActor(provider), *id);
  if (!moved.ok()) return moved.status();
  // Durable before the provider hears OK (P7): only then may it stop delivering.
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  Notifications()->Add({provider, *moved ? "applied" : "no_effect"});
  if (*moved) Wake();  // now that the PAID row is visible to the reconciler
  return NotificationResult{*moved ? Disposition::kApplied : Disposition::kNoEffect, *id, order_id};
}

// ---------------------------------------------------------------------------- reconciler

void Payments::Reconcile(PgConnection& conn, const Order& order) {
  const std::string actor(kReconciler);
  switch (order.state) {
    case OrderState::kPaid:
      (void)Credit(conn, order, actor);
      return;
    case OrderState::kCreated:
    case OrderState::kAwaitingPayment:
      break;
    default:
      (void)Reschedule(conn, order.order_id, order.state, std::nullopt, /*reset_attempts=*/true);
      return;
  }
  if (!IsProviderFamily(order.family)) {
    (void)ChargeInternal(conn, order, actor);
    return;
  }
  Connector* connector = connectors_->ForMethod(order.method);
  if (connector == nullptr) {
    // Configured when the order was made, not now: wait for the configuration to come back
    // rather than expire an order the seller may have paid.
    (void)Backoff(conn, order, NotConfigured(order));
    return;
  }
  const bool expired = absl::Now() >= order.deadline;
  // Past the deadline the provider must confirm the cancellation: it alone knows whether the
  // seller paid at the last minute. Before it, a look catches a notification that was lost.
  auto payment = expired ? connector->Cancel(order.order_id) : connector->Lookup(order.order_id);
  ProviderPayment report;
  if (payment.ok()) {
    report = std::move(*payment);
  } else if (payment.status().code() == absl::StatusCode::kNotFound) {
    report.status = ProviderStatus::kNotFound;
  } else {
    Log(LogLevel::kWarn, "provider_check_failed",
        {{"order_id", order.order_id}, {"error", payment.status().ToString()}});
    (void)Backoff(conn, order, payment.status());
    return;
  }
  auto moved =
      ApplyReport(conn, order, report, expired ? ReportContext::kExpiry : ReportContext::kObserved,
                  actor, std::nullopt);
  if (moved.ok() && *moved) return;
  if (expired) {
    (void)Backoff(
        conn, order,
        Unavailable(payment::v1::PROVIDER_UNAVAILABLE, "the provider did not confirm the expiry"));
    return;
  }
  (void)Reschedule(conn, order.order_id, order.state, NextLook(order, order.state, absl::Now()),
                   /*reset_attempts=*/true);
}

absl::StatusOr<int> Payments::ReconcileOnce() {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto due = ClaimDue(**conn, options_.reconcile_batch_max, options_.claim_lease);
  if (!due.ok()) return due.status();
  for (const Order& order : *due) Reconcile(**conn, order);
  return static_cast<int>(due->size());
}

absl::StatusOr<int64_t> Payments::DeleteExpiredNotifications() {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  int64_t deleted_total = 0;
  for (int batch = 0; batch < options_.retention_batches_max; ++batch) {
    auto deleted = DeleteOldNotifications(**conn, options_.notification_retention,
                                          options_.retention_batch_max);
    if (!deleted.ok()) return deleted.status();
    deleted_total += *deleted;
    if (*deleted < options_.retention_batch_max) break;
  }
  if (deleted_total > 0) {
    NotificationsDeleted()->Add({}, static_cast<double>(deleted_total));
    Log(LogLevel::kInfo, "notifications_deleted",
        {{"rows", deleted_total},
         {"older_than_days", absl::ToInt64Hours(options_.notification_retention) / 24}});
  }
  return deleted_total;
}

// Publishes the backlog between payment and credit (P5): what operators alert on.
static void PublishBacklog(PgConnection& conn) {
  auto r = conn.Exec(
      "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(paid_at)), 0)::bigint "
      "FROM charge_orders WHERE state = 3");
  if (!r.ok()) return;
  ReconcilerBacklog()->Set({}, static_cast<double>(r->GetInt64(0, 0)));
  OldestUncreditedAge()->Set({}, static_cast<double>(r->GetInt64(0, 1)));
}

void Payments::ReconcileLoop() {
  for (;;) {
    {
      MutexLock lock(&reconcile_mu_);
      reconcile_cv_.WaitFor(
          &reconcile_mu_, options_.reconcile_interval,
          [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reconcile_mu_) { return stopping_ || woken_; });
      if (stopping_) return;
      woken_ = false;
    }
    // A full batch means more may be due: go on at once, a bounded number of times.
    for (int pass = 0; pass < 10; ++pass) {
      auto looked = ReconcileOnce();
      if (!looked.ok()) {
        Log(LogLevel::kWarn, "reconcile_failed", {{"error", looked.status().ToString()}});
        break;
      }
      if (*looked < options_.reconcile_batch_max) break;
    }
    if (auto conn = pool_->Acquire(); conn.ok()) PublishBacklog(**conn);
    if (absl::Now() >= next_retention_) {
      next_retention_ = absl::Now() + options_.retention_interval;
      if (auto deleted = DeleteExpiredNotifications(); !deleted.ok()) {
        Log(LogLevel::kWarn, "retention_failed", {{"error", deleted.status().ToString()}});
      }
    }
  }
}

}  // namespace qcash::payment
