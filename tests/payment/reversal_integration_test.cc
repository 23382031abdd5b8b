// Reversals after credit end to end (issue 16, DESIGN.md section 9): the provider sandbox
// reverses a paid payment (POST /sandbox/orders/<order>/reverse), its signed "payment.reversed"
// event travels sandbox -> HTTP -> the gateway's POST /webhooks/<provider> -> the payment
// service, which records the reversal and has the real wallet claw the Qcash back (ClawBack):
// from available first, the rest as the seller's debt (未回収額), which the next credits (a
// charge, a points conversion through the real points service) pay back. While a debt is open
// the pay-later methods (atone, Paidy) are neither offered nor accepted. Every test ends with
// the wallet's ledger audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "qcash/payment/v1/payment.grpc.pb.h"
#include "qcash/points/v1/points.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/payment/calls.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::payment::v1;
namespace wpb = ::qcash::wallet::v1;
namespace ptpb = ::qcash::points::v1;

struct Env {
  std::unique_ptr<Stack> stack;
  GatewayProcess gateway;
  PaymentProcesses payment;
  ServiceProcess points;
  std::unique_ptr<ptpb::PointsService::Stub> points_stub;
};
Env* env = nullptr;

class ReversalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    auto stack = StartStack("reversal_integration", {"qcash_payment", "qcash_points"});
    ASSERT_TRUE(stack.ok()) << stack.status();
    env->stack = std::move(*stack);
    // The gateway forwards the sandbox's webhooks; its port is fixed first because the
    // sandbox and the payment service need its URL.
    const int gateway_port = FreePort();
    const std::string gateway_url = absl::StrCat("http://127.0.0.1:", gateway_port);
    const std::string payment_address = absl::StrCat("127.0.0.1:", FreePort());
    auto payment = StartPaymentWithSandbox(*env->stack, gateway_url, payment_address,
                                           {{"QCASH_PAYMENT_RETRY_BACKOFF_MAX_MS", "500"}});
    ASSERT_TRUE(payment.ok()) << payment.status();
    env->payment = std::move(*payment);
    auto points = StartPoints(*env->stack);
    ASSERT_TRUE(points.ok()) << points.status();
    env->points = std::move(*points);
    auto gateway = StartGateway(*env->stack,
                                {{"QCASH_GATEWAY_LISTEN", absl::StrCat("127.0.0.1:", gateway_port)},
                                 {"QCASH_PAYMENT_TARGET", payment_address},
                                 {"QCASH_POINTS_TARGET", env->points.address}});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    env->gateway = std::move(*gateway);
    ConnectCalls(env->payment.payment.address, env->stack->wallet.address);
    env->points_stub = ptpb::PointsService::NewStub(
        grpc::CreateChannel(env->points.address, grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    const bool passed = ::testing::UnitTest::GetInstance()->Passed();
    if (env->stack != nullptr) env->stack->keep = !passed;  // keep the logs of a failure
    env->gateway.process.reset();
    env->payment.payment.process.reset();
    env->payment.sandbox.reset();
    env->points.process.reset();
    DisconnectCalls();
    delete env;
  }
};

// ---------------------------------------------------------------------------- helpers

// Waits for `done` (polled), at most 60 s (scaled). Returns whether it came true.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + Scaled(std::chrono::seconds(60));
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

grpc::Status Spend(const std::string& seller, int64_t yen, const std::string& key = NewKey()) {
  wpb::SpendRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key(key);
  request.set_amount_yen(yen);
  request.set_product(wpb::AD_PRODUCT_GROUP_BUYING);
  request.set_booking_reference(absl::StrCat("AD-", key));
  wpb::SpendResponse response;
  return Wallet("adbooking", &wpb::WalletService::Stub::Spend, request, &response);
}

grpc::Status Create(const std::string& seller, int64_t yen, pb::PaymentMethod method,
                    pb::CreateChargeOrderResponse* out, const std::string& token = "") {
  pb::CreateChargeOrderRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key(NewKey());
  request.set_denomination(static_cast<pb::Denomination>(yen));
  request.set_method(method);
  request.set_payment_token(token);
  return Pay("gateway", &pb::PaymentService::Stub::CreateChargeOrder, request, out);
}

// A card charge of `yen`, credited (the card provider decides at once).
std::string ChargeByCard(const std::string& seller, int64_t yen) {
  pb::CreateChargeOrderResponse created;
  const grpc::Status s = Create(seller, yen, pb::PAYMENT_METHOD_CARD, &created, "tok_visa");
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.order().state(), pb::ORDER_STATE_CREDITED);
  return created.order().order_id();
}

// The sandbox plays the provider: POST `path` with the query, the answer as it came.
httplib::Result SandboxPost(const std::string& path) {
  httplib::Client client(env->payment.sandbox_url);
  client.set_read_timeout(std::chrono::seconds(60));
  return client.Post(path.c_str(), "", "application/x-www-form-urlencoded");
}

// The provider reverses the order's payment (sandbox.h: POST .../reverse).
httplib::Result Reverse(const std::string& order_id, const std::string& query) {
  return SandboxPost(absl::StrCat("/sandbox/orders/", order_id, "/reverse?", query));
}

// Waits until every reversal of the order is APPLIED and there are `count` of them.
pb::ChargeOrder WaitApplied(const std::string& seller, const std::string& order_id, int count = 1) {
  pb::ChargeOrder order;
  const bool applied = WaitFor([&] {
    order = GetOrder(seller, order_id);
    if (order.reversals_size() != count) return false;
    for (const pb::Reversal& r : order.reversals()) {
      if (r.state() != pb::REVERSAL_STATE_APPLIED) return false;
    }
    return true;
  });
  EXPECT_TRUE(applied) << order.DebugString();
  return order;
}

const pb::MethodOption* FindMethod(const pb::ListChargeOptionsResponse& options,
                                   pb::PaymentMethod method) {
  for (const pb::MethodOption& m : options.methods()) {
    if (m.method() == method) return &m;
  }
  return nullptr;
}

pb::ListChargeOptionsResponse Options(const std::string& seller) {
  pb::ListChargeOptionsRequest request;
  request.set_seller_id(seller);
  pb::ListChargeOptionsResponse response;
  const grpc::Status s =
      Pay("gateway", &pb::PaymentService::Stub::ListChargeOptions, request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response;
}

bool InStuckList(const std::string& order_id, std::string* attention) {
  pb::ListStuckOrdersRequest request;
  request.set_page_size(100);
  request.set_min_age_seconds(1);
  pb::ListStuckOrdersResponse response;
  const grpc::Status s = Pay("ops", &pb::PaymentService::Stub::ListStuckOrders, request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (const pb::ChargeOrder& o : response.orders()) {
    if (o.order_id() == order_id) {
      *attention = o.attention();
      return true;
    }
  }
  return false;
}

// What the settlement summary (ops) says providers took back of `provider`'s orders paid
// today (JST).
int64_t SummaryReversedYen(const std::string& provider) {
  const std::string today =
      absl::FormatTime("%Y-%m-%d", absl::Now(), absl::FixedTimeZone(9 * 3600));
  pb::GetSettlementSummaryRequest request;
  request.set_from_date(today);
  request.set_to_date(today);
  pb::GetSettlementSummaryResponse response;
  const grpc::Status s =
      Pay("ops", &pb::PaymentService::Stub::GetSettlementSummary, request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (const pb::ProviderSettlement& p : response.providers()) {
    if (p.provider() == provider) return p.reversed_yen();
  }
  return 0;
}

// Runs qcashctl with `args` against this test's services; returns what it printed.
std::string Qcashctl(const std::vector<std::string>& args, const std::string& output_file) {
  Process::Spec spec;
  spec.argv = {QCASHCTL_BINARY};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = {{"QCASHCTL_WALLET", env->stack->wallet.address},
              {"QCASHCTL_PAYMENT", env->payment.payment.address}};
  std::filesystem::remove(output_file);
  spec.log_file = output_file;
  auto process = Process::Start(spec);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return "";
  auto exit = (*process)->WaitExit(Scaled(std::chrono::milliseconds(30'000)));
  EXPECT_TRUE(exit.ok()) << exit.status();
  if (exit.ok()) {
    EXPECT_EQ(*exit, 0);
  }
  std::ifstream in(output_file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ReversalTest : public ::testing::Test {
 protected:
  // The audit at zero after each test (DESIGN.md: money is never created or lost).
  void TearDown() override {
    const absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }
};

// ---------------------------------------------------------------------------- tests

// DESIGN.md section 9: a chargeback of a charge the seller has not spent takes all of it back
// from available; no debt, and the pay-later methods stay offered.
TEST_F(ReversalTest, ChargebackOnAnUnspentCharge) {
  const std::string seller = NewSeller();
  OpenWallet(seller);
  const std::string order_id = ChargeByCard(seller, 10'000);
  const int64_t summary_before = SummaryReversedYen("card");
  auto reversed = Reverse(order_id, "kind=chargeback");
  ASSERT_TRUE(reversed);
  EXPECT_EQ(reversed->status, 200) << reversed->body;
  EXPECT_EQ(reversed->get_header_value("X-Qcash-Sandbox-Delivery"), "delivered");
  const pb::ChargeOrder order = WaitApplied(seller, order_id);
  EXPECT_EQ(order.reversed_yen(), 10'000);
  ASSERT_EQ(order.reversals_size(), 1);
  EXPECT_EQ(order.reversals(0).kind(), pb::REVERSAL_KIND_CHARGEBACK);
  EXPECT_EQ(order.reversals(0).amount_yen(), 10'000);
  EXPECT_EQ(order.reversals(0).clawed_back_yen(), 10'000);
  EXPECT_EQ(order.reversals(0).debt_yen(), 0);
  EXPECT_GT(order.reversals(0).wallet_entry_seq(), 0);
  EXPECT_EQ(order.state(), pb::ORDER_STATE_CREDITED) << "a payment is never undone (P5)";
  const wpb::Balance balance = Balance(seller);
  EXPECT_EQ(balance.available_yen(), 0);
  EXPECT_EQ(balance.debt_yen(), 0);
  EXPECT_EQ(EntriesOf(seller, order_id, {wpb::ENTRY_TYPE_CLAWBACK}).size(), 1u);
  EXPECT_TRUE(EntriesOf(seller, order_id, {wpb::ENTRY_TYPE_DEBT}).empty());
  EXPECT_EQ(SummaryReversedYen("card") - summary_before, 10'000)
      << "the settlement summary counts what the provider took back";
  const pb::ListChargeOptionsResponse options = Options(seller);
  EXPECT_EQ(options.debt_yen(), 0);
  ASSERT_NE(FindMethod(options, pb::PAYMENT_METHOD_PAIDY), nullptr);
  EXPECT_TRUE(FindMethod(options, pb::PAYMENT_METHOD_PAIDY)->available());
}

// Half spent: half is clawed back, half becomes the debt; while it is open the pay-later
// methods are hidden and refused (nothing stored); the next charge pays it back and they are
// offered again.
TEST_F(ReversalTest, ChargebackOnAHalfSpentChargeAndPayLaterWhileInDebt) {
  const std::string seller = NewSeller();
  OpenWallet(seller);
  const std::string order_id = ChargeByCard(seller, 10'000);
  ASSERT_TRUE(Spend(seller, 5'000).ok());
  auto reversed = Reverse(order_id, "kind=chargeback");
  ASSERT_TRUE(reversed);
  EXPECT_EQ(reversed->status, 200) << reversed->body;
  const pb::ChargeOrder order = WaitApplied(seller, order_id);
  ASSERT_EQ(order.reversals_size(), 1);
  EXPECT_EQ(order.reversals(0).clawed_back_yen(), 5'000);
  EXPECT_EQ(order.reversals(0).debt_yen(), 5'000);
  wpb::Balance balance = Balance(seller);
  EXPECT_EQ(balance.available_yen(), 0);
  EXPECT_EQ(balance.debt_yen(), 5'000);

  // Pay-later hidden and refused while the debt is open; the other methods stay.
  pb::ListChargeOptionsResponse options = Options(seller);
  EXPECT_EQ(options.debt_yen(), 5'000);
  for (pb::PaymentMethod m : {pb::PAYMENT_METHOD_ATONE, pb::PAYMENT_METHOD_PAIDY}) {
    const pb::MethodOption* option = FindMethod(options, m);
    ASSERT_NE(option, nullptr);
    EXPECT_FALSE(option->available()) << pb::PaymentMethod_Name(m);
    EXPECT_EQ(option->unavailable_reason(), "DEBT_OUTSTANDING");
    EXPECT_EQ(option->available_denominations_size(), 0);
    pb::CreateChargeOrderResponse refused;
    EXPECT_GRPC_ERROR(Create(seller, 1'000, m, &refused), FAILED_PRECONDITION, "DEBT_OUTSTANDING");
  }
  for (pb::PaymentMethod m :
       {pb::PAYMENT_METHOD_CARD, pb::PAYMENT_METHOD_PAYPAL, pb::PAYMENT_METHOD_BANK_TRANSFER}) {
    ASSERT_NE(FindMethod(options, m), nullptr);
    EXPECT_TRUE(FindMethod(options, m)->available()) << pb::PaymentMethod_Name(m);
  }
  pb::ListChargeOrdersRequest list;
  list.set_seller_id(seller);
  pb::ListChargeOrdersResponse listed;
  ASSERT_TRUE(Pay("gateway", &pb::PaymentService::Stub::ListChargeOrders, list, &listed).ok());
  EXPECT_EQ(listed.orders_size(), 1) << "a refused pay-later order was stored";

  // The next charge pays the debt back first (the wallet's DEBT_RECOVERY), then the rest is
  // available, and the pay-later methods come back.
  ChargeByCard(seller, 10'000);
  balance = Balance(seller);
  EXPECT_EQ(balance.debt_yen(), 0);
  EXPECT_EQ(balance.available_yen(), 5'000);
  options = Options(seller);
  EXPECT_EQ(options.debt_yen(), 0);
  for (pb::PaymentMethod m : {pb::PAYMENT_METHOD_ATONE, pb::PAYMENT_METHOD_PAIDY}) {
    EXPECT_TRUE(FindMethod(options, m)->available()) << pb::PaymentMethod_Name(m);
    EXPECT_EQ(FindMethod(options, m)->unavailable_reason(), "");
  }
  pb::CreateChargeOrderResponse paidy;
  EXPECT_TRUE(Create(seller, 1'000, pb::PAYMENT_METHOD_PAIDY, &paidy).ok());
}

// Fully spent: all of it becomes the debt; last month's service points converted through the
// points service pay it back before any becomes available. What qcashctl prints is kept for
// the closing note (build/test-artifacts/reversals/).
TEST_F(ReversalTest, ChargebackOnAFullySpentChargeRecoveredByAPointsConversion) {
  const std::string seller = NewSeller();
  const std::string suffix = NewKey();  // reversal ids unique to this run
  OpenWallet(seller);
  const std::string order_id = ChargeByCard(seller, 3'000);
  ASSERT_TRUE(Spend(seller, 3'000).ok());
  auto reversed = Reverse(order_id, "kind=default&reversal_id=rev_fully_spent-" + suffix);
  ASSERT_TRUE(reversed);
  EXPECT_EQ(reversed->status, 200) << reversed->body;
  const pb::ChargeOrder order = WaitApplied(seller, order_id);
  ASSERT_EQ(order.reversals_size(), 1);
  EXPECT_EQ(order.reversals(0).kind(), pb::REVERSAL_KIND_DEFAULT);
  EXPECT_EQ(order.reversals(0).clawed_back_yen(), 0);
  EXPECT_EQ(order.reversals(0).debt_yen(), 3'000);
  wpb::Balance balance = Balance(seller);
  EXPECT_EQ(balance.available_yen(), 0);
  EXPECT_EQ(balance.debt_yen(), 3'000);

  const std::string dir = std::string(QCASH_BUILD_DIR) + "/test-artifacts/reversals";
  std::filesystem::create_directories(dir);
  const std::string in_debt = Qcashctl({"seller", seller}, dir + "/seller-in-debt.txt");
  EXPECT_TRUE(absl::StrContains(in_debt, seller)) << in_debt;

  // Last month's service points (S3): 12,352, of which 12,300 convert.
  const absl::TimeZone tokyo = absl::FixedTimeZone(9 * 3600);
  const absl::CivilMonth this_month = absl::ToCivilMonth(absl::Now(), tokyo);
  ptpb::RecordPointEventsRequest events;
  ptpb::PointEvent* e = events.add_events();
  e->set_event_id(absl::StrCat("points-", seller));
  e->set_seller_id(seller);
  e->set_product_no("P-100");
  e->set_product_name("方眼ノート A5");
  e->set_category("文房具");
  e->set_component(ptpb::COMPONENT_SHIPPING);
  e->set_sale_type(ptpb::SALE_TYPE_GENERAL);
  e->set_points(12'352);
  e->mutable_occurred_at()->set_seconds(
      absl::ToUnixSeconds(absl::FromCivil(this_month - 1, tokyo) + absl::Hours(30)));
  ptpb::RecordPointEventsResponse recorded;
  grpc::Status s = CallOn(env->points_stub.get(), "marketplace",
                          &ptpb::PointsService::Stub::RecordPointEvents, events, &recorded);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ptpb::ConvertPointsRequest convert;
  convert.set_seller_id(seller);
  convert.set_idempotency_key(NewKey());
  ptpb::ConvertPointsResponse converted;
  s = CallOn(env->points_stub.get(), "gateway", &ptpb::PointsService::Stub::ConvertPoints, convert,
             &converted);
  ASSERT_TRUE(s.ok()) << s.error_message();

  balance = Balance(seller);
  EXPECT_EQ(balance.debt_yen(), 0) << "the conversion pays the debt back first";
  EXPECT_EQ(balance.available_yen(), 12'300 - 3'000);
  const std::vector<wpb::HistoryEntry> recovered =
      EntriesOf(seller, converted.conversion().conversion_id(), {wpb::ENTRY_TYPE_DEBT_RECOVERY});
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_EQ(recovered[0].amount_yen(), 3'000);
  EXPECT_TRUE(FindMethod(Options(seller), pb::PAYMENT_METHOD_ATONE)->available());

  const std::string after = Qcashctl({"seller", seller}, dir + "/seller-recovered.txt");
  EXPECT_TRUE(absl::StrContains(after, seller)) << after;
  const std::string shown =
      Qcashctl({"orders", "show", seller, order_id}, dir + "/orders-show.txt");
  EXPECT_TRUE(absl::StrContains(shown, "rev_fully_spent")) << shown;
  EXPECT_TRUE(absl::StrContains(shown, "REVERSAL_STATE_APPLIED")) << shown;
  EXPECT_TRUE(absl::StrContains(shown, "debt 3000 yen")) << shown;
}

// A provider takes a payment back in parts; a part that would take back more than was paid is
// refused (REVERSAL_EXCEEDS_ORDER), recorded nowhere, and the order is flagged for operators.
TEST_F(ReversalTest, PartialReversalsAndAThirdThatWouldExceed) {
  const std::string seller = NewSeller();
  const std::string suffix = NewKey();  // reversal ids unique to this run
  OpenWallet(seller);
  const std::string order_id = ChargeByCard(seller, 10'000);
  auto first = Reverse(order_id, "kind=refund&amount=3000&reversal_id=part_1-" + suffix);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200) << first->body;
  auto second = Reverse(order_id, "kind=chargeback&amount=5000&reversal_id=part_2-" + suffix);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200) << second->body;
  pb::ChargeOrder order = WaitApplied(seller, order_id, 2);
  EXPECT_EQ(order.reversed_yen(), 8'000);
  EXPECT_EQ(Balance(seller).available_yen(), 2'000);

  auto third = Reverse(order_id, "kind=chargeback&amount=3000&reversal_id=part_3-" + suffix);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->get_header_value("X-Qcash-Sandbox-Delivery"), "failed")
      << "the webhook refused it";
  order = GetOrder(seller, order_id);
  EXPECT_EQ(order.reversed_yen(), 8'000);
  EXPECT_EQ(order.reversals_size(), 2);
  EXPECT_TRUE(absl::StartsWith(order.attention(), "REVERSAL_EXCEEDS_ORDER")) << order.attention();
  std::string attention;
  EXPECT_TRUE(InStuckList(order_id, &attention));
  const wpb::Balance balance = Balance(seller);
  EXPECT_EQ(balance.available_yen(), 2'000);
  EXPECT_EQ(balance.debt_yen(), 0);
  EXPECT_EQ(EntriesOf(seller, order_id, {wpb::ENTRY_TYPE_CLAWBACK}).size(), 2u);
}

// The same reversal delivered many times, in parallel, and again under a new event id: one
// record, one claw-back.
TEST_F(ReversalTest, TheSameReversalDeliveredManyTimesAndInParallel) {
  const std::string seller = NewSeller();
  const std::string suffix = NewKey();  // reversal ids unique to this run
  OpenWallet(seller);
  const std::string order_id = ChargeByCard(seller, 5'000);
  auto reversed =
      Reverse(order_id, "kind=chargeback&reversal_id=rev_many-" + suffix + "&notify=none");
  ASSERT_TRUE(reversed);
  EXPECT_EQ(reversed->status, 200) << reversed->body;
  auto copies = SandboxPost(
      absl::StrCat("/sandbox/orders/", order_id, "/notify?events=latest&count=40&parallel=8"));
  ASSERT_TRUE(copies);
  EXPECT_EQ(copies->status, 200) << copies->body;
  EXPECT_TRUE(absl::StrContains(copies->body, "\"succeeded\":40")) << copies->body;
  // The same reversal id as a new event, twice at once.
  std::vector<std::thread> again;
  again.reserve(2);
  std::atomic<int> delivered{0};
  for (int i = 0; i < 2; ++i) {
    again.emplace_back([&] {
      auto r = Reverse(order_id, "reversal_id=rev_many-" + suffix);
      if (r && r->get_header_value("X-Qcash-Sandbox-Delivery") == "delivered") ++delivered;
    });
  }
  for (std::thread& t : again) t.join();
  EXPECT_EQ(delivered.load(), 2);
  const pb::ChargeOrder order = WaitApplied(seller, order_id);
  EXPECT_EQ(order.reversed_yen(), 5'000);
  ASSERT_EQ(order.reversals_size(), 1);
  EXPECT_EQ(order.reversals(0).clawed_back_yen(), 5'000);
  EXPECT_EQ(EntriesOf(seller, order_id, {wpb::ENTRY_TYPE_CLAWBACK, wpb::ENTRY_TYPE_DEBT}).size(),
            1u);
  EXPECT_EQ(Balance(seller).available_yen(), 0);
}

// The reversal arrives before the paid notification (a counter payment, events delivered
// newest first): it waits for the credit, then is applied right after it.
TEST_F(ReversalTest, AReversalBeforeThePaidNotification) {
  const std::string seller = NewSeller();
  const std::string suffix = NewKey();  // reversal ids unique to this run
  OpenWallet(seller);
  pb::CreateChargeOrderResponse created;
  ASSERT_TRUE(Create(seller, 5'000, pb::PAYMENT_METHOD_CONVENIENCE_STORE, &created).ok());
  const std::string order_id = created.order().order_id();
  ASSERT_EQ(created.order().state(), pb::ORDER_STATE_AWAITING_PAYMENT);
  auto paid = SandboxPost(absl::StrCat("/sandbox/orders/", order_id, "/complete?notify=none"));
  ASSERT_TRUE(paid);
  ASSERT_EQ(paid->status, 200) << paid->body;
  auto reversed = Reverse(order_id, "kind=refund&reversal_id=rev_early-" + suffix + "&notify=none");
  ASSERT_TRUE(reversed);
  ASSERT_EQ(reversed->status, 200) << reversed->body;
  auto delivered =
      SandboxPost(absl::StrCat("/sandbox/orders/", order_id, "/notify?events=all&order=reverse"));
  ASSERT_TRUE(delivered);
  EXPECT_TRUE(absl::StrContains(delivered->body, "\"succeeded\":3")) << delivered->body;
  const pb::ChargeOrder order = WaitApplied(seller, order_id);
  EXPECT_EQ(order.state(), pb::ORDER_STATE_CREDITED);
  EXPECT_EQ(order.reversals(0).clawed_back_yen(), 5'000);
  EXPECT_EQ(order.attention(), "") << "the note clears once the reversal is applied";
  const wpb::Balance balance = Balance(seller);
  EXPECT_EQ(balance.available_yen(), 0);
  EXPECT_EQ(balance.debt_yen(), 0);
}

// A reversal of an order that was never paid (a misbehaving provider): it waits, nothing is
// taken from the seller, and operators see the order.
TEST_F(ReversalTest, AReversalOfAnOrderNeverCredited) {
  const std::string seller = NewSeller();
  const std::string suffix = NewKey();  // reversal ids unique to this run
  OpenWallet(seller);
  ChargeByCard(seller, 1'000);  // something the seller has, which must stay
  pb::CreateChargeOrderResponse created;
  ASSERT_TRUE(Create(seller, 3'000, pb::PAYMENT_METHOD_BANK_TRANSFER, &created).ok());
  const std::string order_id = created.order().order_id();
  auto reversed =
      Reverse(order_id, "kind=chargeback&any_status=1&reversal_id=rev_unpaid-" + suffix);
  ASSERT_TRUE(reversed);
  EXPECT_EQ(reversed->status, 200) << reversed->body;
  EXPECT_EQ(reversed->get_header_value("X-Qcash-Sandbox-Delivery"), "delivered");
  const pb::ChargeOrder order = GetOrder(seller, order_id);
  EXPECT_EQ(order.state(), pb::ORDER_STATE_AWAITING_PAYMENT);
  ASSERT_EQ(order.reversals_size(), 1);
  EXPECT_EQ(order.reversals(0).state(), pb::REVERSAL_STATE_WAITING_FOR_CREDIT);
  EXPECT_EQ(order.reversed_yen(), 3'000);
  EXPECT_TRUE(absl::StartsWith(order.attention(), "REVERSAL_NOT_CREDITED")) << order.attention();
  std::string attention;
  EXPECT_TRUE(WaitFor([&] { return InStuckList(order_id, &attention); }));
  EXPECT_TRUE(absl::StartsWith(attention, "REVERSAL_NOT_CREDITED")) << attention;
  const wpb::Balance balance = Balance(seller);
  EXPECT_EQ(balance.available_yen(), 1'000);
  EXPECT_EQ(balance.debt_yen(), 0);
}

// The wallet is down when the reversal comes: it is recorded (the webhook answers), stays
// APPLYING, and the reconciler applies it once the wallet is back; nothing is lost or doubled.
TEST_F(ReversalTest, AReversalWhileTheWalletIsDownIsAppliedByTheReconcilerAfter) {
  const std::string seller = NewSeller();
  const std::string suffix = NewKey();  // reversal ids unique to this run
  OpenWallet(seller);
  const std::string order_id = ChargeByCard(seller, 10'000);
  ASSERT_TRUE(Spend(seller, 4'000).ok());
  env->stack->wallet.process->Stop(SIGKILL);
  auto reversed = Reverse(order_id, "kind=chargeback&reversal_id=rev_wallet_down-" + suffix);
  ASSERT_TRUE(reversed);
  EXPECT_EQ(reversed->status, 200) << reversed->body;
  EXPECT_EQ(reversed->get_header_value("X-Qcash-Sandbox-Delivery"), "delivered");
  pb::ChargeOrder order;
  ASSERT_TRUE(WaitFor([&] {
    order = GetOrder(seller, order_id);
    return order.reversals_size() == 1;
  }));
  EXPECT_EQ(order.reversals(0).state(), pb::REVERSAL_STATE_APPLYING);
  auto restarted = StartService(QCASH_WALLET_BINARY, env->stack->wallet_env, "QCASH_WALLET_LISTEN",
                                env->stack->dir + "/wallet.log", env->stack->wallet.address);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  env->stack->wallet = std::move(*restarted);
  order = WaitApplied(seller, order_id);
  EXPECT_EQ(order.reversals(0).clawed_back_yen(), 6'000);
  EXPECT_EQ(order.reversals(0).debt_yen(), 4'000);
  const wpb::Balance balance = Balance(seller);
  EXPECT_EQ(balance.available_yen(), 0);
  EXPECT_EQ(balance.debt_yen(), 4'000);
  EXPECT_EQ(EntriesOf(seller, order_id, {wpb::ENTRY_TYPE_CLAWBACK}).size(), 1u);
  EXPECT_EQ(EntriesOf(seller, order_id, {wpb::ENTRY_TYPE_DEBT}).size(), 1u);
}

// A reversal and ad spends on the same seller at once: every yen is either spent, clawed back
// or owed; the available balance never goes negative.
TEST_F(ReversalTest, ConcurrentReversalAndSpendsOnTheSameSeller) {
  const std::string seller = NewSeller();
  const std::string suffix = NewKey();  // reversal ids unique to this run
  OpenWallet(seller);
  const std::string order_id = ChargeByCard(seller, 10'000);
  std::atomic<int64_t> spent_yen{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> spenders;
  spenders.reserve(4);
  for (int t = 0; t < 4; ++t) {
    spenders.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 15; ++i) {
        if (Spend(seller, 300, absl::StrCat("spend-", seller, "-", t, "-", i)).ok()) {
          spent_yen += 300;
        }
      }
    });
  }
  go = true;
  auto reversed = Reverse(order_id, "kind=chargeback&reversal_id=rev_concurrent-" + suffix);
  for (std::thread& t : spenders) t.join();
  ASSERT_TRUE(reversed);
  EXPECT_EQ(reversed->status, 200) << reversed->body;
  const pb::ChargeOrder order = WaitApplied(seller, order_id);
  ASSERT_EQ(order.reversals_size(), 1);
  const int64_t clawed = order.reversals(0).clawed_back_yen();
  const int64_t debt = order.reversals(0).debt_yen();
  EXPECT_EQ(clawed + debt, 10'000);
  const wpb::Balance balance = Balance(seller);
  EXPECT_GE(balance.available_yen(), 0);
  EXPECT_EQ(balance.debt_yen(), debt);
  EXPECT_EQ(balance.available_yen(), 10'000 - spent_yen.load() - clawed);
  EXPECT_LE(spent_yen.load(), 10'000);
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::ReversalEnvironment());
  return RUN_ALL_TESTS();
}
