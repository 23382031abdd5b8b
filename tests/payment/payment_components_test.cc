// The parts of the payment service driven directly, in process (issue 12): orders,
// notification intake (P7), the Q-sign vault (P3), the reconciler and operator queries, each
// over the real OrderStore on the harness's PostgreSQL (the SQL is the point), with a
// ManualClock (time moves by Advance, never by sleeping), and fakes for the far sides that are
// not the point here: the wallet (WalletPort) and the provider (a Connector).
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/connectors/registry.h"
#include "services/payment/notifications.h"
#include "services/payment/operator_queries.h"
#include "services/payment/order_flow.h"
#include "services/payment/orders.h"
#include "services/payment/qsign_vault.h"
#include "services/payment/reconciler.h"
#include "services/payment/store.h"
#include "tests/harness/harness.h"

namespace qcash::payment {
namespace {

using testing::MakeStateDir;
using testing::PostgresServer;

// Called by the fakes inside every remote call: the lease test makes it take a connection
// from the service's own pool, which cannot succeed while the caller holds the only one.
using RemoteHook = std::function<void(const std::string& call)>;

// The wallet as payment sees it: credits are idempotent by order id, as the real wallet's are
// (the key is the order id, P5), so a credit sent twice applies once.
class FakeWallet final : public WalletPort {
 public:
  absl::StatusOr<WalletBalance> GetBalance(const std::string& seller_id) override {
    Hook("GetBalance");
    MutexLock lock(&mu_);
    WalletBalance balance;
    balance.available_yen = credited_yen_[seller_id];
    balance.qmoney_yen = qmoney_yen_;
    balance.debt_yen = debt_yen_[seller_id];
    return balance;
  }
  absl::StatusOr<int64_t> CreditCharge(const std::string& seller_id, const std::string& order_id,
                                       int64_t amount_yen, Method /*method*/,
                                       int64_t /*price_paid_yen*/) override {
    Hook("CreditCharge");
    MutexLock lock(&mu_);
    ++credit_calls_[order_id];
    if (!fail_with_.ok()) return fail_with_;
    auto [it, applied] = entries_.try_emplace(order_id, next_seq_);
    if (applied) {
      ++next_seq_;
      credited_yen_[seller_id] += amount_yen;
    }
    if (lose_next_answer_) {  // applied, but the answer never reaches the caller
      lose_next_answer_ = false;
      return Unavailable(payment::v1::WALLET_UNAVAILABLE, "the answer was lost");
    }
    return it->second;
  }
  absl::StatusOr<int64_t> ChargeFromInternalFunds(const std::string& seller_id,
                                                  const std::string& order_id, int64_t amount_yen,
                                                  FundsSource /*source*/) override {
    Hook("ChargeFromInternalFunds");
    MutexLock lock(&mu_);
    auto [it, applied] = entries_.try_emplace(order_id, next_seq_);
    if (applied) {
      ++next_seq_;
      qmoney_yen_ -= amount_yen;
      credited_yen_[seller_id] += amount_yen;
    }
    return it->second;
  }

  // As the wallet's ClawBack (issue 16): from available first, the rest is debt; once per key.
  absl::StatusOr<ClawBackResult> ClawBack(const std::string& seller_id,
                                          const std::string& idempotency_key,
                                          const std::string& /*order_id*/,
                                          const std::string& /*reversal_id*/, ReversalKind /*kind*/,
                                          int64_t amount_yen) override {
    Hook("ClawBack");
    MutexLock lock(&mu_);
    ++clawback_calls_[idempotency_key];
    if (!clawback_fail_with_.ok()) return clawback_fail_with_;
    auto it = clawbacks_.find(idempotency_key);
    if (it == clawbacks_.end()) {
      ClawBackResult r;
      r.clawed_back_yen = std::min(amount_yen, credited_yen_[seller_id]);
      r.debt_yen = amount_yen - r.clawed_back_yen;
      r.entry_seq = next_seq_++;
      credited_yen_[seller_id] -= r.clawed_back_yen;
      debt_yen_[seller_id] += r.debt_yen;
      it = clawbacks_.emplace(idempotency_key, r).first;
    }
    return it->second;
  }
  void Spend(const std::string& seller_id, int64_t yen) {
    MutexLock lock(&mu_);
    credited_yen_[seller_id] -= yen;
  }
  void SetDebt(const std::string& seller_id, int64_t yen) {
    MutexLock lock(&mu_);
    debt_yen_[seller_id] = yen;
  }
  int64_t DebtYen(const std::string& seller_id) {
    MutexLock lock(&mu_);
    return debt_yen_[seller_id];
  }
  int ClawBackCalls(const std::string& key) {
    MutexLock lock(&mu_);
    return clawback_calls_[key];
  }
  void FailClawBackWith(absl::Status status) {
    MutexLock lock(&mu_);
    clawback_fail_with_ = std::move(status);
  }

  void set_hook(RemoteHook hook) { hook_ = std::move(hook); }
  void FailWith(absl::Status status) {
    MutexLock lock(&mu_);
    fail_with_ = std::move(status);
  }
  void LoseNextAnswer() {
    MutexLock lock(&mu_);
    lose_next_answer_ = true;
  }
  void SetQmoney(int64_t yen) {
    MutexLock lock(&mu_);
    qmoney_yen_ = yen;
  }
  int CreditCalls(const std::string& order_id) {
    MutexLock lock(&mu_);
    return credit_calls_[order_id];
  }
  int64_t CreditedYen(const std::string& seller_id) {
    MutexLock lock(&mu_);
    return credited_yen_[seller_id];
  }

 private:
  void Hook(const std::string& call) {
    if (hook_) hook_(call);
  }
  RemoteHook hook_;  // set before use
  Mutex mu_;
  std::map<std::string, int64_t> entries_ ABSL_GUARDED_BY(mu_);  // order id -> journal seq
  std::map<std::string, int64_t> credited_yen_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> credit_calls_ ABSL_GUARDED_BY(mu_);
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t qmoney_yen_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status fail_with_ ABSL_GUARDED_BY(mu_);
  bool lose_next_answer_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, ClawBackResult> clawbacks_ ABSL_GUARDED_BY(mu_);  // by key
  std::map<std::string, int> clawback_calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> debt_yen_ ABSL_GUARDED_BY(mu_);
  absl::Status clawback_fail_with_ ABSL_GUARDED_BY(mu_);
};

// A provider that answers from a table: Start by family (card: paid for "tok_visa", else
// declined; redirect and counter: pending), Lookup with what the test set, Cancel: cancelled.
// Its notifications are "event_id|order_id|status|amount_yen" (the signature is the
// connectors' unit tests' business, not this one's).
class FakeProvider final : public Connector {
 public:
  explicit FakeProvider(Method method) : method_(method) {}
  Method method() const override { return method_; }

  absl::StatusOr<ProviderPayment> Start(const StartRequest& request) override {
    Hook("Start");
    ProviderPayment p = Payment(request.order_id, request.amount_yen, ProviderStatus::kPending);
    if (family() == Family::kInstant) {
      p.status =
          request.payment_token == "tok_visa" ? ProviderStatus::kPaid : ProviderStatus::kDeclined;
      if (p.status == ProviderStatus::kDeclined) p.decline_reason = "card_declined";
    } else if (family() == Family::kRedirect) {
      p.redirect_url = "https://provider.test/pay/" + request.order_id;
    }
    MutexLock lock(&mu_);
    amounts_[request.order_id] = request.amount_yen;
    return p;
  }
  absl::StatusOr<ProviderPayment> Lookup(absl::string_view order_id) override {
    Hook("Lookup");
    MutexLock lock(&mu_);
    ++lookups_;
    return Payment(std::string(order_id), amounts_[std::string(order_id)], lookup_status_);
  }
  absl::StatusOr<ProviderPayment> Cancel(absl::string_view order_id) override {
    Hook("Cancel");
    MutexLock lock(&mu_);
    ++cancels_;
    return Payment(std::string(order_id), amounts_[std::string(order_id)],
                   ProviderStatus::kCancelled);
  }
  absl::StatusOr<ProviderNotification> ParseNotification(
      absl::string_view body, const std::map<std::string, std::string>& /*headers*/,
      absl::Time /*now*/) const override {
    std::vector<std::string> f = absl::StrSplit(body, '|');
    // Issue 16: "event_id|order_id|reversed|amount_yen|reversal_id|kind|reversal_yen".
    if (f.size() == 7 && f[2] == "reversed") {
      ProviderNotification n;
      n.event_id = f[0];
      n.type = std::string(kReversedEventType);
      n.payment = Payment(f[1], std::stoll(f[3]), ProviderStatus::kPaid);
      ProviderReversal reversal;
      reversal.reversal_id = f[4];
      reversal.kind = *ParseReversalKind(f[5]);
      reversal.amount_yen = std::stoll(f[6]);
      n.reversal = reversal;
      return n;
    }
    if (f.size() != 4) return InvalidArgument(payment::v1::MALFORMED_NOTIFICATION, "fields");
    static const std::map<std::string, ProviderStatus> kStatuses = {
        {"pending", ProviderStatus::kPending},
        {"paid", ProviderStatus::kPaid},
        {"declined", ProviderStatus::kDeclined}};
    ProviderNotification n;
    n.event_id = f[0];
    n.payment = Payment(f[1], std::stoll(f[3]), kStatuses.at(f[2]));
    return n;
  }

  void set_hook(RemoteHook hook) { hook_ = std::move(hook); }
  void SetLookupStatus(ProviderStatus status) {
    MutexLock lock(&mu_);
    lookup_status_ = status;
  }
  int cancels() {
    MutexLock lock(&mu_);
    return cancels_;
  }

 private:
  static ProviderPayment Payment(const std::string& order_id, int64_t amount_yen,
                                 ProviderStatus status) {
    ProviderPayment p;
    p.status = status;
    p.payment_id = "pay_" + order_id;
    p.merchant_reference = order_id;
    p.amount_yen = amount_yen;
    p.currency = "JPY";
    return p;
  }
  void Hook(const std::string& call) {
    if (hook_) hook_(call);
  }

  const Method method_;
  RemoteHook hook_;  // set before use
  Mutex mu_;
  std::map<std::string, int64_t> amounts_ ABSL_GUARDED_BY(mu_);
  ProviderStatus lookup_status_ ABSL_GUARDED_BY(mu_) = ProviderStatus::kPending;
  int lookups_ ABSL_GUARDED_BY(mu_) = 0;
  int cancels_ ABSL_GUARDED_BY(mu_) = 0;
};

class PaymentComponentsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PostgresServer::Start(MakeStateDir("payment_components_test"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // A fresh database per test, and the parts assembled as main.cc does, with `pool_size`
  // pooled connections.
  void Build(int pool_size = 4) {
    static int databases = 0;
    const std::string database = absl::StrCat("pc", ++databases);
    ASSERT_TRUE(server_->CreateDatabase(database).ok());
    auto pool = OrderStore::OpenPool(server_->Url(database), pool_size);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    options_.qsign_throttle.checks_max = 1000;  // the lockout is the point, not the window
    options_.password_hashes_max = 1;
    options_.password_hash_wait = absl::Seconds(30);
    std::vector<std::unique_ptr<Connector>> connectors;
    for (Method m : {Method::kCard, Method::kPaypal, Method::kBankTransfer, Method::kPaidy}) {
      auto provider = std::make_unique<FakeProvider>(m);
      providers_[m] = provider.get();
      connectors.push_back(std::move(provider));
    }
    registry_ = ConnectorRegistry::Of(std::move(connectors));
    store_ = std::make_unique<OrderStore>(pool_.get());
    flow_ = std::make_unique<OrderFlow>(store_.get(), &wallet_, registry_.get(), &clock_, &wakeup_,
                                        options_);
    vault_ = std::make_unique<QsignVault>(store_.get(), &clock_, options_);
    orders_ = std::make_unique<Orders>(store_.get(), flow_.get(), vault_.get(), &wallet_,
                                       registry_.get(), &clock_);
    intake_ = std::make_unique<NotificationIntake>(store_.get(), flow_.get(), registry_.get(),
                                                   &clock_, &wakeup_, options_);
    operators_ = std::make_unique<OperatorQueries>(store_.get(), flow_.get(), &clock_);
    reconciler_ = std::make_unique<Reconciler>(store_.get(), flow_.get(), intake_.get(),
                                               registry_.get(), &clock_, &wakeup_, options_);
  }

  Order Create(Method method, int64_t yen, const std::string& token = "",
               const std::string& password = "") {
    CreateRequest request;
    request.seller_id = seller_;
    request.caller = "gateway";
    request.idempotency_key = absl::StrCat("key-", ++keys_);
    request.denomination_yen = yen;
    request.method_code = static_cast<int64_t>(method);
    request.payment_token = token;
    request.qsign_password = password;
    auto created = orders_->CreateOrder(request);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->order : Order();
  }
  Order Get(const std::string& order_id) {
    auto view = orders_->GetOrder(seller_, order_id);
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? view->order : Order();
  }
  int TransitionsTo(const std::string& order_id, OrderState to) {
    auto view = orders_->GetOrder(seller_, order_id);
    EXPECT_TRUE(view.ok()) << view.status();
    int n = 0;
    for (const Transition& t : view->transitions) n += t.to == to ? 1 : 0;
    return n;
  }
  int Reconcile() {
    auto looked = reconciler_->ReconcileOnce();
    EXPECT_TRUE(looked.ok()) << looked.status();
    return looked.ok() ? *looked : -1;
  }
  absl::StatusOr<NotificationIntake::Result> Notify(Method method, const std::string& event_id,
                                                    const std::string& order_id,
                                                    const std::string& status, int64_t yen) {
    return intake_->Handle(std::string(InfoOf(method).provider),
                           absl::StrCat(event_id, "|", order_id, "|", status, "|", yen), {});
  }

  absl::StatusOr<NotificationIntake::Result> NotifyReversal(
      Method method, const std::string& event_id, const Order& order,
      const std::string& reversal_id, int64_t reversal_yen,
      const std::string& kind = "chargeback") {
    return intake_->Handle(
        std::string(InfoOf(method).provider),
        absl::StrCat(event_id, "|", order.order_id, "|reversed|", order.amount_yen, "|",
                     reversal_id, "|", kind, "|", reversal_yen),
        {});
  }
  std::vector<Reversal> ReversalsOf(const std::string& order_id) {
    auto view = orders_->GetOrder(seller_, order_id);
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? view->reversals : std::vector<Reversal>();
  }
  bool Stuck(const std::string& order_id, absl::Duration min_age = absl::Hours(1)) {
    auto stuck = operators_->ListStuck(min_age, std::nullopt, 100);
    EXPECT_TRUE(stuck.ok()) << stuck.status();
    if (!stuck.ok()) return false;
    for (const Order& o : *stuck) {
      if (o.order_id == order_id) return true;
    }
    return false;
  }

  static PostgresServer* server_;
  PaymentOptions options_;
  ManualClock clock_{absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()))};
  FakeWallet wallet_;
  std::map<Method, FakeProvider*> providers_;
  std::string seller_ = "seller_components";
  int keys_ = 0;
  // Destroyed in reverse: the parts before the store before the pool.
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<ConnectorRegistry> registry_;
  std::unique_ptr<OrderStore> store_;
  Wakeup wakeup_;
  std::unique_ptr<OrderFlow> flow_;
  std::unique_ptr<QsignVault> vault_;
  std::unique_ptr<Orders> orders_;
  std::unique_ptr<NotificationIntake> intake_;
  std::unique_ptr<OperatorQueries> operators_;
  std::unique_ptr<Reconciler> reconciler_;
};

PostgresServer* PaymentComponentsTest::server_ = nullptr;

// P5: the wallet applied the credit but its answer was lost; the order stays PAID, and the
// reconciler's second credit with the same key (the order id) applies nothing new.
TEST_F(PaymentComponentsTest, CreditSentTwiceAppliesOnce) {
  Build();
  wallet_.LoseNextAnswer();
  const Order order = Create(Method::kCard, 1'000, "tok_visa");
  EXPECT_EQ(order.state, OrderState::kPaid);
  EXPECT_EQ(wallet_.CreditCalls(order.order_id), 1);
  EXPECT_EQ(wallet_.CreditedYen(seller_), 1'000);  // applied, though unconfirmed

  EXPECT_EQ(Reconcile(), 0) << "not before its back-off";
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Reconcile(), 1);
  const Order credited = Get(order.order_id);
  EXPECT_EQ(credited.state, OrderState::kCredited);
  EXPECT_EQ(credited.wallet_entry_seq, 1);
  EXPECT_EQ(wallet_.CreditCalls(order.order_id), 2);
  EXPECT_EQ(wallet_.CreditedYen(seller_), 1'000) << "credited twice";
  EXPECT_EQ(TransitionsTo(order.order_id, OrderState::kCredited), 1);

  // A stale copy of the PAID order credited again (a second replica): nothing moves.
  Order stale = order;
  EXPECT_TRUE(flow_->Credit(stale, "test").ok());
  EXPECT_EQ(wallet_.CreditedYen(seller_), 1'000);
  EXPECT_EQ(TransitionsTo(order.order_id, OrderState::kCredited), 1);
  EXPECT_EQ(Reconcile(), 0);
}

// An unpaid redirect order expires when the clock passes its deadline and the provider
// confirms the cancellation; before that the reconciler only polls.
TEST_F(PaymentComponentsTest, UnpaidOrderExpiresByClockAdvance) {
  Build();
  const Order order = Create(Method::kPaypal, 3'000);
  ASSERT_EQ(order.state, OrderState::kAwaitingPayment);
  EXPECT_EQ(order.deadline, clock_.Now() + options_.redirect_ttl);
  EXPECT_EQ(Reconcile(), 0);
  clock_.Advance(options_.poll_interval);  // a poll: still pending at the provider
  EXPECT_EQ(Reconcile(), 1);
  EXPECT_EQ(Get(order.order_id).state, OrderState::kAwaitingPayment);
  EXPECT_EQ(providers_[Method::kPaypal]->cancels(), 0);

  clock_.Set(order.deadline);
  EXPECT_EQ(Reconcile(), 1);
  const Order expired = Get(order.order_id);
  EXPECT_EQ(expired.state, OrderState::kExpired);
  EXPECT_EQ(providers_[Method::kPaypal]->cancels(), 1);
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(Reconcile(), 0) << "a final order is never looked at again";
  EXPECT_EQ(wallet_.CreditedYen(seller_), 0);
}

// Back-off: a wallet that cannot be asked is asked again after 1 s, 1 s, 2 s, 4 s ... of the
// injected clock, never earlier.
TEST_F(PaymentComponentsTest, ReconcilerBacksOffByClock) {
  Build();
  wallet_.FailWith(Unavailable(payment::v1::WALLET_UNAVAILABLE, "down"));
  const Order order = Create(Method::kCard, 1'000, "tok_visa");
  ASSERT_EQ(order.state, OrderState::kPaid);
  EXPECT_EQ(wallet_.CreditCalls(order.order_id), 1);
  const absl::Duration waits[] = {absl::Seconds(1), absl::Seconds(1), absl::Seconds(2),
                                  absl::Seconds(4), absl::Seconds(8)};
  int calls = 1;
  for (absl::Duration wait : waits) {
    clock_.Advance(wait - absl::Milliseconds(1));
    EXPECT_EQ(Reconcile(), 0) << "retried before " << wait;
    clock_.Advance(absl::Milliseconds(1));
    EXPECT_EQ(Reconcile(), 1) << "not retried after " << wait;
    EXPECT_EQ(wallet_.CreditCalls(order.order_id), ++calls);
    EXPECT_EQ(Get(order.order_id).state, OrderState::kPaid);
  }
  wallet_.FailWith(absl::OkStatus());
  clock_.Advance(absl::Seconds(16));
  EXPECT_EQ(Reconcile(), 1);
  EXPECT_EQ(Get(order.order_id).state, OrderState::kCredited);
  EXPECT_EQ(wallet_.CreditedYen(seller_), 1'000);
}

// P7: one event delivered twice is applied once; a report older than the order's state
// (pending after paid, declined after credited) moves nothing; an unknown order is refused
// and nothing is stored for it.
TEST_F(PaymentComponentsTest, NotificationsDeduplicatedAndOutOfOrderHarmless) {
  Build();
  const Order order = Create(Method::kBankTransfer, 5'000);
  ASSERT_EQ(order.state, OrderState::kAwaitingPayment);

  auto paid = Notify(Method::kBankTransfer, "evt_2", order.order_id, "paid", 5'000);
  ASSERT_TRUE(paid.ok()) << paid.status();
  EXPECT_EQ(paid->disposition, NotificationIntake::Disposition::kApplied);
  EXPECT_EQ(Get(order.order_id).state, OrderState::kPaid);
  auto again = Notify(Method::kBankTransfer, "evt_2", order.order_id, "paid", 5'000);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->disposition, NotificationIntake::Disposition::kDuplicate);
  EXPECT_EQ(again->notification_id, paid->notification_id);
  auto late = Notify(Method::kBankTransfer, "evt_1", order.order_id, "pending", 5'000);
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->disposition, NotificationIntake::Disposition::kNoEffect);
  EXPECT_EQ(Get(order.order_id).state, OrderState::kPaid);

  EXPECT_EQ(Reconcile(), 1);  // the PAID order is due at once
  EXPECT_EQ(Get(order.order_id).state, OrderState::kCredited);
  auto declined = Notify(Method::kBankTransfer, "evt_3", order.order_id, "declined", 5'000);
  ASSERT_TRUE(declined.ok()) << declined.status();
  EXPECT_EQ(declined->disposition, NotificationIntake::Disposition::kNoEffect);
  EXPECT_EQ(Get(order.order_id).state, OrderState::kCredited);
  EXPECT_EQ(TransitionsTo(order.order_id, OrderState::kPaid), 1);
  EXPECT_EQ(wallet_.CreditedYen(seller_), 5'000);

  auto mismatch = Notify(Method::kBankTransfer, "evt_4", order.order_id, "paid", 100);
  EXPECT_EQ(ReasonOf(mismatch.status()), "AMOUNT_MISMATCH") << mismatch.status();
  auto unknown = Notify(Method::kBankTransfer, "evt_5", "co_0123456789abcdef", "paid", 5'000);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  EXPECT_EQ(ReasonOf(unknown.status()), "UNKNOWN_ORDER");
  auto garbage = intake_->Handle("bank_transfer", "not a notification", {});
  EXPECT_EQ(ReasonOf(garbage.status()), "MALFORMED_NOTIFICATION") << garbage.status();
}

// P3: five wrong passwords lock the seller; the lock ends by the clock, and the next lock of
// the same streak lasts twice as long.
TEST_F(PaymentComponentsTest, QsignLockoutEscalatesByClock) {
  Build();
  auto set = vault_->SetPassword("gateway", seller_, "qs-1", "", "correct horse");
  ASSERT_TRUE(set.ok()) << set.status();
  auto lock_out = [&] {
    for (int i = 1; i <= kQsignAttemptsMax; ++i) {
      absl::Status s = vault_->CheckPassword(seller_, "wrong password");
      if (i < kQsignAttemptsMax) {
        EXPECT_EQ(ReasonOf(s), "WRONG_QSIGN_PASSWORD") << s;
      } else {
        EXPECT_EQ(ReasonOf(s), "QSIGN_LOCKED") << s;
      }
    }
  };
  lock_out();
  const absl::Duration first = options_.qsign_lock.first_lock;
  EXPECT_EQ(ReasonOf(vault_->CheckPassword(seller_, "correct horse")), "QSIGN_LOCKED");
  EXPECT_EQ(*vault_->Problem(seller_), "QSIGN_LOCKED");
  clock_.Advance(first - absl::Seconds(1));
  EXPECT_EQ(ReasonOf(vault_->CheckPassword(seller_, "correct horse")), "QSIGN_LOCKED");
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(vault_->CheckPassword(seller_, "correct horse").ok());
  EXPECT_EQ(*vault_->Problem(seller_), "");

  lock_out();  // the same streak: the previous lock ended moments ago
  clock_.Advance(first);
  EXPECT_EQ(ReasonOf(vault_->CheckPassword(seller_, "correct horse")), "QSIGN_LOCKED")
      << "the second lock lasts longer than the first";
  clock_.Advance(first);
  EXPECT_TRUE(vault_->CheckPassword(seller_, "correct horse").ok());
}

// Operators: a credit the wallet refused for good leaves the queue and is listed as stuck;
// RetryCredit (idempotent by key) credits it once the cause is fixed.
TEST_F(PaymentComponentsTest, OperatorRetriesARefusedCredit) {
  Build();
  wallet_.FailWith(FailedPrecondition(payment::v1::WALLET_CLOSED, "the shop closed"));
  const Order order = Create(Method::kCard, 1'000, "tok_visa");
  ASSERT_EQ(order.state, OrderState::kPaid);
  const Order blocked = Get(order.order_id);
  EXPECT_TRUE(blocked.credit_blocked);
  EXPECT_NE(blocked.attention.find("CREDIT_REFUSED"), std::string::npos) << blocked.attention;
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(Reconcile(), 0) << "a refused credit is never retried on its own";
  auto stuck = operators_->ListStuck(absl::ZeroDuration(), std::nullopt, 10);
  ASSERT_TRUE(stuck.ok()) << stuck.status();
  ASSERT_EQ(stuck->size(), 1u);
  EXPECT_EQ((*stuck)[0].order_id, order.order_id);

  wallet_.FailWith(absl::OkStatus());
  auto retried = operators_->RetryCredit("ops", seller_, "retry-1", order.order_id);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state, OrderState::kCredited);
  auto replayed = operators_->RetryCredit("ops", seller_, "retry-1", order.order_id);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->state, OrderState::kCredited);
  EXPECT_EQ(wallet_.CreditedYen(seller_), 1'000);
  auto again = operators_->RetryCredit("ops", seller_, "retry-2", order.order_id);
  EXPECT_EQ(ReasonOf(again.status()), "ORDER_NOT_PAID") << again.status();
  auto after = operators_->ListStuck(absl::ZeroDuration(), std::nullopt, 10);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
}

// THE RULE (orders.h, store.h): no database connection is held across a remote call. The
// pool has ONE connection, and every wallet and provider call takes it itself: if the caller
// still held it, that Acquire would time out and the call would be recorded as violating.
TEST_F(PaymentComponentsTest, NoLeaseAcrossRemoteCall) {
  Build(/*pool_size=*/1);
  Mutex mu;
  std::vector<std::string> violations;
  std::map<std::string, int> calls;
  RemoteHook hook = [&](const std::string& call) {
    auto lease = pool_->Acquire(std::chrono::milliseconds(500));
    MutexLock lock(&mu);
    ++calls[call];
    if (!lease.ok()) violations.push_back(call);
  };
  wallet_.set_hook(hook);
  for (auto& [method, provider] : providers_) provider->set_hook(hook);

  // Orders: an instant payment credited at once; a redirect return; a cancellation.
  EXPECT_EQ(Create(Method::kCard, 1'000, "tok_visa").state, OrderState::kCredited);
  const Order redirect = Create(Method::kPaypal, 3'000);
  providers_[Method::kPaypal]->SetLookupStatus(ProviderStatus::kPaid);
  auto returned = orders_->CompleteRedirect("gateway", seller_, redirect.order_id);
  ASSERT_TRUE(returned.ok()) << returned.status();
  EXPECT_EQ(returned->state, OrderState::kCredited);
  const Order counter = Create(Method::kBankTransfer, 5'000);
  auto cancelled = orders_->CancelOrder("gateway", seller_, "cancel-1", counter.order_id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->order.state, OrderState::kCancelled);
  // Internal funds: the Q-sign check and the wallet's move.
  ASSERT_TRUE(vault_->SetPassword("gateway", seller_, "qs-1", "", "correct horse").ok());
  wallet_.SetQmoney(10'000);
  EXPECT_EQ(Create(Method::kQmoney, 1'000, "", "correct horse").state, OrderState::kCredited);
  Orders::OptionsRequest query;
  query.seller_id = seller_;
  auto options = orders_->ListChargeOptions(query);
  ASSERT_TRUE(options.ok()) << options.status();
  // The reconciler: a credit after a failure, and an expiry.
  wallet_.FailWith(Unavailable(payment::v1::WALLET_UNAVAILABLE, "down"));
  const Order paid = Create(Method::kCard, 1'000, "tok_visa");
  wallet_.FailWith(absl::OkStatus());
  const Order waiting = Create(Method::kPaypal, 500);
  providers_[Method::kPaypal]->SetLookupStatus(ProviderStatus::kPending);
  clock_.Set(waiting.deadline);
  EXPECT_EQ(Reconcile(), 2);
  EXPECT_EQ(Get(paid.order_id).state, OrderState::kCredited);
  EXPECT_EQ(Get(waiting.order_id).state, OrderState::kExpired);
  // Operators: a retry that credits.
  wallet_.FailWith(FailedPrecondition(payment::v1::WALLET_CLOSED, "closed"));
  const Order refused = Create(Method::kCard, 1'000, "tok_visa");
  wallet_.FailWith(absl::OkStatus());
  auto retried = operators_->RetryCredit("ops", seller_, "retry-1", refused.order_id);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state, OrderState::kCredited);

  MutexLock lock(&mu);
  EXPECT_TRUE(violations.empty()) << "held a connection across: "
                                  << absl::StrJoin(violations, ", ");
  for (const char* call :
       {"GetBalance", "CreditCharge", "ChargeFromInternalFunds", "Start", "Lookup", "Cancel"}) {
    EXPECT_GT(calls[call], 0) << call << " was never exercised";
  }
}

}  // namespace
}  // namespace qcash::payment

namespace qcash::payment {
namespace {

// ---------------------------------------------------------------------------- reversals (issue 16)

// DESIGN.md section 9: a reversal of a credited order is recorded once, however often and
// under whatever event id it comes, and the wallet claws it back once: from available first,
// the rest as debt.
TEST_F(PaymentComponentsTest, ReversalOfCreditedOrderClawsBackOnce) {
  Build();
  const Order order = Create(Method::kCard, 1'000, "tok_visa");
  ASSERT_EQ(order.state, OrderState::kCredited);
  wallet_.Spend(seller_, 600);

  auto first = NotifyReversal(Method::kCard, "evt_r1", order, "rv_1", 1'000);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->disposition, NotificationIntake::Disposition::kApplied);
  std::vector<Reversal> reversals = ReversalsOf(order.order_id);
  ASSERT_EQ(reversals.size(), 1u);
  EXPECT_EQ(reversals[0].state, ReversalState::kApplying);
  EXPECT_EQ(Get(order.order_id).reversed_yen, 1'000);

  auto again = NotifyReversal(Method::kCard, "evt_r1", order, "rv_1", 1'000);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->disposition, NotificationIntake::Disposition::kDuplicate);
  auto other_event = NotifyReversal(Method::kCard, "evt_r1b", order, "rv_1", 1'000);
  ASSERT_TRUE(other_event.ok()) << other_event.status();
  EXPECT_EQ(other_event->disposition, NotificationIntake::Disposition::kNoEffect);

  EXPECT_GE(Reconcile(), 1);
  reversals = ReversalsOf(order.order_id);
  ASSERT_EQ(reversals.size(), 1u);
  EXPECT_EQ(reversals[0].state, ReversalState::kApplied);
  EXPECT_EQ(reversals[0].clawed_back_yen, 400);
  EXPECT_EQ(reversals[0].debt_yen, 600);
  EXPECT_GT(reversals[0].wallet_entry_seq, 0);
  EXPECT_EQ(Get(order.order_id).reversed_yen, 1'000);
  EXPECT_EQ(wallet_.CreditedYen(seller_), 0);
  EXPECT_EQ(wallet_.DebtYen(seller_), 600);
  clock_.Advance(absl::Minutes(1));
  Reconcile();
  EXPECT_EQ(wallet_.ClawBackCalls(ReversalKey("card", "rv_1")), 1) << "applied twice";
}

// Partial reversals add up to at most the order's amount; one that would exceed it is refused
// and flags the order, and nothing of it is recorded.
TEST_F(PaymentComponentsTest, PartialReversalsAndOneThatExceeds) {
  Build();
  const Order order = Create(Method::kCard, 1'000, "tok_visa");
  ASSERT_EQ(order.state, OrderState::kCredited);
  ASSERT_TRUE(NotifyReversal(Method::kCard, "evt_p1", order, "rv_p1", 300).ok());
  ASSERT_TRUE(NotifyReversal(Method::kCard, "evt_p2", order, "rv_p2", 500, "refund").ok());
  auto exceeds = NotifyReversal(Method::kCard, "evt_p3", order, "rv_p3", 300);
  EXPECT_EQ(ReasonOf(exceeds.status()), "REVERSAL_EXCEEDS_ORDER");
  Reconcile();
  const Order after = Get(order.order_id);
  EXPECT_EQ(after.reversed_yen, 800);
  EXPECT_TRUE(absl::StartsWith(after.attention, "REVERSAL_EXCEEDS_ORDER")) << after.attention;
  const std::vector<Reversal> reversals = ReversalsOf(order.order_id);
  ASSERT_EQ(reversals.size(), 2u);
  for (const Reversal& r : reversals) EXPECT_EQ(r.state, ReversalState::kApplied);
  EXPECT_EQ(wallet_.CreditedYen(seller_), 200);
  EXPECT_TRUE(Stuck(order.order_id));
}

// A reversal before the paid notification waits (operators see the order meanwhile) and is
// applied right after the credit.
TEST_F(PaymentComponentsTest, ReversalBeforePaidIsAppliedAfterTheCredit) {
  Build();
  const Order order = Create(Method::kPaypal, 3'000);
  ASSERT_EQ(order.state, OrderState::kAwaitingPayment);
  auto reversed = NotifyReversal(Method::kPaypal, "evt_b1", order, "rv_b1", 3'000, "refund");
  ASSERT_TRUE(reversed.ok()) << reversed.status();
  std::vector<Reversal> reversals = ReversalsOf(order.order_id);
  ASSERT_EQ(reversals.size(), 1u);
  EXPECT_EQ(reversals[0].state, ReversalState::kWaitingForCredit);
  EXPECT_TRUE(absl::StartsWith(Get(order.order_id).attention, "REVERSAL_NOT_CREDITED"));
  EXPECT_TRUE(Stuck(order.order_id));

  ASSERT_TRUE(Notify(Method::kPaypal, "evt_b0", order.order_id, "paid", 3'000).ok());
  Reconcile();  // credits, then the waiting reversal at once
  const Order after = Get(order.order_id);
  EXPECT_EQ(after.state, OrderState::kCredited);
  EXPECT_EQ(after.attention, "");
  reversals = ReversalsOf(order.order_id);
  ASSERT_EQ(reversals.size(), 1u);
  EXPECT_EQ(reversals[0].state, ReversalState::kApplied);
  EXPECT_EQ(reversals[0].clawed_back_yen, 3'000);
  EXPECT_EQ(wallet_.CreditedYen(seller_), 0);
  EXPECT_FALSE(Stuck(order.order_id));
}

// An order that is never paid keeps its reversal waiting, and operators see it.
TEST_F(PaymentComponentsTest, ReversalOfAnOrderNeverPaidWaits) {
  Build();
  const Order order = Create(Method::kBankTransfer, 5'000);
  ASSERT_EQ(order.state, OrderState::kAwaitingPayment);
  ASSERT_TRUE(NotifyReversal(Method::kBankTransfer, "evt_n1", order, "rv_n1", 5'000).ok());
  clock_.Advance(absl::Hours(24 * 8));  // past any deadline: the reconciler expires it
  for (int i = 0; i < 3; ++i) Reconcile();
  const Order after = Get(order.order_id);
  EXPECT_EQ(after.state, OrderState::kExpired);
  const std::vector<Reversal> reversals = ReversalsOf(order.order_id);
  ASSERT_EQ(reversals.size(), 1u);
  EXPECT_EQ(reversals[0].state, ReversalState::kWaitingForCredit);
  EXPECT_TRUE(absl::StartsWith(after.attention, "REVERSAL_NOT_CREDITED")) << after.attention;
  EXPECT_TRUE(Stuck(order.order_id));
  EXPECT_EQ(wallet_.ClawBackCalls(ReversalKey("bank_transfer", "rv_n1")), 0);
}

// The wallet down: the reversal stays APPLYING and the reconciler applies it once the wallet
// answers again (its back-off by the clock).
TEST_F(PaymentComponentsTest, ReversalWhileTheWalletIsDownAppliedLater) {
  Build();
  const Order order = Create(Method::kCard, 1'000, "tok_visa");
  ASSERT_EQ(order.state, OrderState::kCredited);
  wallet_.FailClawBackWith(Unavailable(payment::v1::WALLET_UNAVAILABLE, "down"));
  ASSERT_TRUE(NotifyReversal(Method::kCard, "evt_w1", order, "rv_w1", 1'000).ok());
  Reconcile();
  std::vector<Reversal> reversals = ReversalsOf(order.order_id);
  ASSERT_EQ(reversals.size(), 1u);
  EXPECT_EQ(reversals[0].state, ReversalState::kApplying);
  EXPECT_TRUE(absl::StrContains(reversals[0].last_error, "WALLET_UNAVAILABLE"))
      << reversals[0].last_error;
  EXPECT_FALSE(Stuck(order.order_id)) << "not for an hour yet";
  EXPECT_TRUE(Stuck(order.order_id, absl::ZeroDuration())) << "operators see it";
  wallet_.FailClawBackWith(absl::OkStatus());
  clock_.Advance(absl::Minutes(5));
  Reconcile();
  reversals = ReversalsOf(order.order_id);
  EXPECT_EQ(reversals[0].state, ReversalState::kApplied);
  EXPECT_EQ(wallet_.CreditedYen(seller_), 0);
  EXPECT_FALSE(Stuck(order.order_id, absl::ZeroDuration()));
}

// The wallet refuses a claw-back for good: the reversal leaves the queue (no retry on its
// own), the order says why, and operators see it.
TEST_F(PaymentComponentsTest, ARefusedClawBackIsBlockedAndFlagged) {
  Build();
  const Order order = Create(Method::kCard, 1'000, "tok_visa");
  ASSERT_EQ(order.state, OrderState::kCredited);
  wallet_.FailClawBackWith(FailedPrecondition(payment::v1::WALLET_REFUSED, "exceeds the charge"));
  ASSERT_TRUE(NotifyReversal(Method::kCard, "evt_x1", order, "rv_x1", 1'000).ok());
  Reconcile();
  const std::string key = ReversalKey("card", "rv_x1");
  EXPECT_EQ(wallet_.ClawBackCalls(key), 1);
  std::vector<Reversal> reversals = ReversalsOf(order.order_id);
  ASSERT_EQ(reversals.size(), 1u);
  EXPECT_EQ(reversals[0].state, ReversalState::kApplying);
  EXPECT_TRUE(absl::StartsWith(Get(order.order_id).attention, "REVERSAL_REFUSED"))
      << Get(order.order_id).attention;
  EXPECT_TRUE(Stuck(order.order_id));
  clock_.Advance(absl::Hours(1));
  Reconcile();
  EXPECT_EQ(wallet_.ClawBackCalls(key), 1) << "retried on its own after a definite refusal";
  EXPECT_EQ(wallet_.CreditedYen(seller_), 1'000);
}

// DESIGN.md section 9: while the seller owes a debt, the pay-later methods are neither offered
// nor accepted (nothing stored); the others stay; paid back, they are offered again.
TEST_F(PaymentComponentsTest, PayLaterHiddenWhileADebtIsOpen) {
  Build();
  wallet_.SetDebt(seller_, 700);
  Orders::OptionsRequest query;
  query.seller_id = seller_;
  auto options = orders_->ListChargeOptions(query);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->debt_yen, 700);
  for (const auto& m : options->methods) {
    if (m.info->method == Method::kPaidy) {
      EXPECT_FALSE(m.available);
      EXPECT_EQ(m.unavailable_reason, "DEBT_OUTSTANDING");
      EXPECT_TRUE(m.denominations_yen.empty());
    }
    if (m.info->method == Method::kCard) {
      EXPECT_TRUE(m.available);
    }
  }
  CreateRequest request;
  request.seller_id = seller_;
  request.caller = "gateway";
  request.idempotency_key = "paidy-while-debt";
  request.denomination_yen = 1'000;
  request.method_code = static_cast<int64_t>(Method::kPaidy);
  auto refused = orders_->CreateOrder(request);
  EXPECT_EQ(ReasonOf(refused.status()), "DEBT_OUTSTANDING");
  auto listed = orders_->ListOrders(seller_, std::nullopt, {}, 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty()) << "a refused order was stored";

  wallet_.SetDebt(seller_, 0);
  options = orders_->ListChargeOptions(query);
  ASSERT_TRUE(options.ok()) << options.status();
  for (const auto& m : options->methods) {
    if (m.info->method == Method::kPaidy) {
      EXPECT_TRUE(m.available);
    }
  }
  auto created = orders_->CreateOrder(request);
  EXPECT_TRUE(created.ok()) << created.status();
}

}  // namespace
}  // namespace qcash::payment
