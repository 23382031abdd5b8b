// Settlement reconciliation end to end (issue 16, DESIGN.md section 9): real qcash-payment,
// qcash-payment-sandbox, wallet, gateway (webhooks), PostgreSQL and Redis processes. Orders
// are paid through the real flow (card, redirect and counter methods); the sandbox produces
// each provider's settlement day with planted discrepancies; the reports are imported (by
// the RPC, by `qcashctl settlements import`, and by the payment service's own scheduler),
// and every mismatch is found, classified, listed with its age and resolved with who and why.
// Every test ends with the wallet's ledger audit.
//
// The payment service runs here with a due period of 3 seconds and a scheduler pass every
// second: an order paid and not settled for 3 s is NOT_SETTLED, and a line on a later JST day
// than its payment is SETTLED_LATE. The sandbox serves a day through the provider API only
// once it is closed (or over), so the scheduler imports only the days a test closes; the
// other tests import the day's report themselves (the sandbox's plain download).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/pg.h"
#include "common/status.h"
#include "qcash/payment/v1/payment.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/payment/calls.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::payment::v1;

struct Env {
  std::unique_ptr<Stack> stack;
  std::unique_ptr<GatewayProcess> gateway;
  PaymentProcesses payment;
  std::string payment_db_url;
  int metrics_port = 0;
};
Env* env = nullptr;

class SettlementEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    auto stack = StartStack("settlement_integration", {"qcash_payment"});
    ASSERT_TRUE(stack.ok()) << stack.status();
    env->stack = std::move(*stack);
    env->payment_db_url = env->stack->DatabaseUrl("qcash_payment");
    const int gateway_port = FreePort();
    const std::string gateway_url = absl::StrCat("http://127.0.0.1:", gateway_port);
    const std::string payment_address = absl::StrCat("127.0.0.1:", FreePort());
    env->metrics_port = FreePort();
    auto payment = StartPaymentWithSandbox(
        *env->stack, gateway_url, payment_address,
        {{"QCASH_PAYMENT_SETTLEMENT_INTERVAL_S", "1"},
         {"QCASH_PAYMENT_SETTLEMENT_DUE_S", "3"},
         {"QCASH_PAYMENT_SETTLEMENT_LOOKBACK_DAYS", "3"},
         {"QCASH_METRICS_LISTEN", absl::StrCat("127.0.0.1:", env->metrics_port)}});
    ASSERT_TRUE(payment.ok()) << payment.status();
    env->payment = std::move(*payment);
    auto gateway = StartGateway(*env->stack,
                                {{"QCASH_GATEWAY_LISTEN", absl::StrCat("127.0.0.1:", gateway_port)},
                                 {"QCASH_PAYMENT_TARGET", payment_address}});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    env->gateway = std::make_unique<GatewayProcess>(std::move(*gateway));
    ConnectCalls(env->payment.payment.address, env->stack->wallet.address);
  }

  void TearDown() override {
    const bool passed = ::testing::UnitTest::GetInstance()->Passed();
    if (env->stack != nullptr) env->stack->keep = !passed;
    env->payment.payment.process.reset();
    env->payment.sandbox.reset();
    env->gateway.reset();
    DisconnectCalls();
    delete env;
  }
};

// ---------------------------------------------------------------------------- helpers

// Waits (bounded) until `done(order)` holds.
template <typename Done>
pb::ChargeOrder WaitForOrder(const std::string& seller, const std::string& order_id, Done done,
                             const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + Scaled(std::chrono::seconds(30));
  pb::ChargeOrder order;
  do {
    order = GetOrder(seller, order_id);
    if (done(order)) return order;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  ADD_FAILURE() << "order " << order_id << " never became " << what << "; it is "
                << pb::OrderState_Name(order.state());
  return order;
}

httplib::Client Sandbox() {
  httplib::Client client(env->payment.sandbox_url);
  client.set_read_timeout(std::chrono::seconds(30));
  return client;
}

struct Paid {
  std::string seller;
  std::string order_id;
};

// A voucher of `yen` bought with `method` through the real flow: card with its test token,
// a redirect method on the provider's page (notify=none leaves our order AWAITING_PAYMENT
// while the provider has it paid), a counter method at the counter. Waits for CREDITED unless
// `notify` is "none".
Paid BuyVoucher(pb::PaymentMethod method, int64_t yen, const std::string& notify = "sync") {
  Paid paid;
  paid.seller = NewSeller();
  OpenWallet(paid.seller);
  pb::CreateChargeOrderRequest request;
  request.set_seller_id(paid.seller);
  request.set_idempotency_key(NewKey());
  request.set_denomination(static_cast<pb::Denomination>(yen));
  request.set_method(method);
  if (method == pb::PAYMENT_METHOD_CARD) request.set_payment_token("tok_visa");
  pb::CreateChargeOrderResponse created;
  const grpc::Status s =
      Pay("gateway", &pb::PaymentService::Stub::CreateChargeOrder, request, &created);
  EXPECT_TRUE(s.ok()) << s.error_message();
  paid.order_id = created.order().order_id();
  httplib::Client sandbox = Sandbox();
  const pb::NextAction& next = created.order().next_action();
  if (next.kind() == pb::NextAction::KIND_REDIRECT) {
    const std::string path = next.redirect_url().substr(env->payment.sandbox_url.size());
    auto decided = sandbox.Post(path.c_str(), absl::StrCat("decision=pay&notify=", notify),
                                "application/x-www-form-urlencoded");
    EXPECT_TRUE(decided && decided->status == 303) << (decided ? decided->body : "no answer");
  } else if (next.kind() == pb::NextAction::KIND_PAY_AT_COUNTER) {
    auto done = sandbox.Post(
        absl::StrCat("/sandbox/orders/", paid.order_id, "/complete?notify=", notify).c_str());
    EXPECT_TRUE(done && done->status == 200) << (done ? done->body : "no answer");
  }
  if (notify != "none") {
    WaitForOrder(
        paid.seller, paid.order_id,
        [](const pb::ChargeOrder& o) { return o.state() == pb::ORDER_STATE_CREDITED; }, "CREDITED");
  }
  return paid;
}

std::string Today() {
  return absl::FormatTime("%Y-%m-%d", absl::Now(), absl::FixedTimeZone(9 * 3600));
}
std::string Tomorrow() {
  return absl::FormatTime("%Y-%m-%d", absl::Now() + absl::Hours(24), absl::FixedTimeZone(9 * 3600));
}

void Plant(const std::string& provider, const std::string& date, const std::string& query) {
  auto planted = Sandbox().Post(
      absl::StrCat("/sandbox/settlements/", provider, "/", date, "/plant?", query).c_str());
  ASSERT_TRUE(planted);
  ASSERT_EQ(planted->status, 200) << planted->body;
}

std::string Download(const std::string& provider, const std::string& date) {
  auto report =
      Sandbox().Get(absl::StrCat("/sandbox/settlements/", provider, "/", date, ".csv").c_str());
  EXPECT_TRUE(report && report->status == 200);
  return report ? report->body : "";
}

grpc::Status Import(const std::string& provider, const std::string& content,
                    pb::ImportSettlementReportResponse* response) {
  pb::ImportSettlementReportRequest request;
  request.set_provider(provider);
  request.set_file_name(absl::StrCat(provider, ".csv"));
  request.set_content(content);
  return Pay("ops", &pb::PaymentService::Stub::ImportSettlementReport, request, response);
}

std::vector<pb::SettlementMismatch> Mismatches(const std::string& provider, bool all = false) {
  pb::ListSettlementMismatchesRequest request;
  request.set_provider(provider);
  request.set_include_resolved(all);
  request.set_page_size(2);  // pages through the list
  std::vector<pb::SettlementMismatch> out;
  for (int page = 0; page < 100; ++page) {
    pb::ListSettlementMismatchesResponse response;
    const grpc::Status s =
        Pay("ops", &pb::PaymentService::Stub::ListSettlementMismatches, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& m : response.mismatches()) out.push_back(m);
    if (!s.ok() || response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return out;
}

// The mismatches of `kind` about `order_id` (or, when it is empty, of transaction `tx`).
std::vector<pb::SettlementMismatch> Of(const std::vector<pb::SettlementMismatch>& list,
                                       pb::MismatchKind kind, const std::string& order_id,
                                       const std::string& tx = "") {
  std::vector<pb::SettlementMismatch> out;
  for (const auto& m : list) {
    if (m.kind() == kind &&
        (order_id.empty() ? m.transaction_id() == tx : m.order_id() == order_id)) {
      out.push_back(m);
    }
  }
  return out;
}

// Waits (bounded) until the overdue check opened NOT_SETTLED for the order.
void WaitForNotSettled(const std::string& provider, const std::string& order_id) {
  const auto deadline = std::chrono::steady_clock::now() + Scaled(std::chrono::seconds(30));
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Of(Mismatches(provider), pb::MISMATCH_KIND_NOT_SETTLED, order_id).empty()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ADD_FAILURE() << "no NOT_SETTLED for " << order_id;
}

int64_t QueryInt(const std::string& sql, const std::vector<std::string>& params = {}) {
  auto conn = PgConnection::Connect(env->payment_db_url, "qcash-test");
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return -1;
  PgParams p(params.begin(), params.end());
  auto r = (*conn)->Exec(sql, p);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() && r->rows() > 0 ? r->GetInt64(0, 0) : -1;
}

// Runs the real qcashctl; returns its exit status and output.
std::pair<int, std::string> Qcashctl(const std::vector<std::string>& args) {
  static int n = 0;
  Process::Spec spec;
  spec.argv = {QCASHCTL_BINARY};
  for (const auto& a : args) spec.argv.push_back(a);
  spec.env = {{"QCASHCTL_PAYMENT", env->payment.payment.address}};
  spec.log_file = absl::StrCat(env->stack->dir, "/qcashctl-settlements-", n++, ".out");
  auto p = Process::Start(spec);
  EXPECT_TRUE(p.ok());
  if (!p.ok()) return {-1, ""};
  auto exit = (*p)->WaitExit(Scaled(std::chrono::seconds(60)));
  std::ifstream in(spec.log_file);
  std::stringstream out;
  out << in.rdbuf();
  return {exit.ok() ? WEXITSTATUS(*exit) : -1, out.str()};
}

std::string ArtifactDir() {
  std::string dir = std::string(QCASH_BUILD_DIR) + "/test-artifacts/settlement";
  std::filesystem::create_directories(dir);
  return dir;
}

class SettlementTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }
};

// ---------------------------------------------------------------------------- tests

// Issue 16: a sandbox day of card payments with every discrepancy planted (a paid order left
// out, an amount one yen off, a transaction no order knows, a duplicate line, a line moved a
// day later), and a PayPal payment the provider has as paid while we never heard of it: each
// is found and classified. The card day is imported with `qcashctl settlements import`, the
// same report again changes nothing, the late line's day closes its order's NOT_SETTLED, and
// the summary adds up. qcashctl's mismatch list is kept in build/test-artifacts/settlement/.
TEST_F(SettlementTest, EveryPlantedDiscrepancyIsFoundAndClassified) {
  const std::string today = Today(), tomorrow = Tomorrow();
  const Paid left_out = BuyVoucher(pb::PAYMENT_METHOD_CARD, 1'000);
  const Paid off_by_one = BuyVoucher(pb::PAYMENT_METHOD_CARD, 1'000);
  const Paid doubled = BuyVoucher(pb::PAYMENT_METHOD_CARD, 1'000);
  const Paid late = BuyVoucher(pb::PAYMENT_METHOD_CARD, 1'000);
  const Paid exact = BuyVoucher(pb::PAYMENT_METHOD_CARD, 10'000);
  const Paid never_credited = BuyVoucher(pb::PAYMENT_METHOD_PAYPAL, 500, "none");
  const Paid paypal_exact = BuyVoucher(pb::PAYMENT_METHOD_PAYPAL, 3'000);
  Plant("card", today, "kind=omit&order=" + left_out.order_id);
  Plant("card", today, "kind=amount&order=" + off_by_one.order_id);
  Plant("card", today, "kind=unknown");
  Plant("card", today, "kind=duplicate&order=" + doubled.order_id);
  Plant("card", today, "kind=late&days=1&order=" + late.order_id);

  const std::string card_day = Download("card", today);
  EXPECT_EQ(card_day.find(left_out.order_id), std::string::npos) << card_day;
  EXPECT_EQ(card_day.find(late.order_id), std::string::npos) << card_day;
  const std::string dir = ArtifactDir();
  const std::string card_file = absl::StrCat(dir, "/card-", today, ".csv");
  std::ofstream(card_file, std::ios::binary) << card_day;
  const int64_t reports_before = QueryInt("SELECT count(*) FROM settlement_reports");
  auto [imported_status, imported] = Qcashctl({"settlements", "import", "card", card_file});
  ASSERT_EQ(imported_status, 0) << imported;
  EXPECT_NE(imported.find("imported"), std::string::npos) << imported;
  EXPECT_NE(imported.find("AMOUNT_MISMATCH"), std::string::npos) << imported;
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_reports"), reports_before + 1);

  // The same report again (here through the RPC): replayed, nothing changes.
  const int64_t mismatches_before = QueryInt("SELECT count(*) FROM settlement_mismatches");
  const int64_t lines_before = QueryInt("SELECT count(*) FROM settlement_lines");
  pb::ImportSettlementReportResponse again;
  ASSERT_TRUE(Import("card", card_day, &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.lines(), 5);    // off by one, doubled twice, exact, unknown
  EXPECT_EQ(again.matched(), 2);  // doubled's first line and exact
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_mismatches"), mismatches_before);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_lines"), lines_before);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_reports"), reports_before + 1);

  pb::ImportSettlementReportResponse paypal;
  ASSERT_TRUE(Import("paypal", Download("paypal", today), &paypal).ok());
  EXPECT_FALSE(paypal.replayed());
  EXPECT_EQ(paypal.lines(), 2);
  EXPECT_EQ(paypal.matched(), 1);

  WaitForNotSettled("card", left_out.order_id);
  WaitForNotSettled("card", late.order_id);
  const auto card = Mismatches("card");
  EXPECT_EQ(Of(card, pb::MISMATCH_KIND_NOT_SETTLED, left_out.order_id).size(), 1u);
  ASSERT_EQ(Of(card, pb::MISMATCH_KIND_AMOUNT_MISMATCH, off_by_one.order_id).size(), 1u);
  const auto amount = Of(card, pb::MISMATCH_KIND_AMOUNT_MISMATCH, off_by_one.order_id)[0];
  EXPECT_EQ(amount.expected_yen(), 1'000);
  EXPECT_EQ(amount.settled_yen(), 1'001);
  EXPECT_EQ(amount.seller_id(), off_by_one.seller);
  EXPECT_EQ(amount.settlement_date(), today);
  EXPECT_EQ(Of(card, pb::MISMATCH_KIND_DUPLICATE, doubled.order_id).size(), 1u);
  std::vector<pb::SettlementMismatch> unknown;
  for (const auto& m : card) {
    if (m.kind() == pb::MISMATCH_KIND_UNKNOWN_TRANSACTION) unknown.push_back(m);
  }
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(unknown[0].transaction_id(), "pay_unknown_"));
  EXPECT_TRUE(unknown[0].order_id().empty());
  EXPECT_GE(unknown[0].line_number(), 2);
  EXPECT_TRUE(Of(card, pb::MISMATCH_KIND_AMOUNT_MISMATCH, exact.order_id).empty());
  for (const auto& m : card) EXPECT_NE(m.order_id(), exact.order_id) << m.ShortDebugString();
  const auto paypal_list = Mismatches("paypal");
  EXPECT_EQ(Of(paypal_list, pb::MISMATCH_KIND_SETTLED_NOT_CREDITED, never_credited.order_id).size(),
            1u);
  for (const auto& m : paypal_list) EXPECT_NE(m.order_id(), paypal_exact.order_id);

  // Fees are recorded per order (card: 3.60 %, rounded down).
  const pb::ChargeOrder settled = GetOrder(exact.seller, exact.order_id);
  EXPECT_TRUE(settled.has_settled_at());
  EXPECT_EQ(settled.settled_yen(), 10'000);
  EXPECT_EQ(settled.fee_yen(), 360);
  EXPECT_FALSE(GetOrder(left_out.seller, left_out.order_id).has_settled_at());

  // The late line is in tomorrow's report: SETTLED_LATE, and its NOT_SETTLED closes itself.
  pb::ImportSettlementReportResponse next_day;
  ASSERT_TRUE(Import("card", Download("card", tomorrow), &next_day).ok());
  EXPECT_EQ(next_day.lines(), 1);
  const auto after = Mismatches("card", /*all=*/true);
  ASSERT_EQ(Of(after, pb::MISMATCH_KIND_SETTLED_LATE, late.order_id).size(), 1u);
  const auto closed = Of(after, pb::MISMATCH_KIND_NOT_SETTLED, late.order_id);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(closed[0].resolved());
  EXPECT_EQ(closed[0].resolved_by(), "importer");
  EXPECT_TRUE(Of(Mismatches("card"), pb::MISMATCH_KIND_NOT_SETTLED, late.order_id).empty());
  EXPECT_EQ(GetOrder(late.seller, late.order_id).settled_yen(), 1'000);

  // The summary: paid = settled + unsettled, net = settled - fees.
  pb::GetSettlementSummaryRequest range;
  range.set_from_date(today);
  range.set_to_date(today);
  pb::GetSettlementSummaryResponse summary;
  ASSERT_TRUE(Pay("ops", &pb::PaymentService::Stub::GetSettlementSummary, range, &summary).ok());
  bool saw_card = false;
  for (const pb::ProviderSettlement& p : summary.providers()) {
    SCOPED_TRACE(p.provider());
    EXPECT_EQ(p.paid_yen(), p.settled_yen() + p.unsettled_yen());
    EXPECT_EQ(p.net_yen(), p.settled_yen() - p.fee_yen());
    if (p.provider() != "card") continue;
    saw_card = true;
    EXPECT_EQ(p.paid_orders(), 5);
    EXPECT_EQ(p.paid_yen(), 14'000);
    EXPECT_EQ(p.settled_orders(), 4);  // all but the one left out
    EXPECT_EQ(p.settled_yen(), 1'001 + 1'000 + 1'000 + 10'000);
    EXPECT_EQ(p.fee_yen(), 36 + 36 + 36 + 360);
    EXPECT_EQ(p.unsettled_yen(), 1'000 - 1);  // the one left out, less the extra yen
    EXPECT_EQ(p.open_mismatches(), 5);        // left out, amount, unknown, duplicate, late
  }
  EXPECT_TRUE(saw_card);

  // The operators' list as qcashctl prints it, kept for the closing note.
  auto [text_status, text] = Qcashctl({"settlements", "mismatches", "--all"});
  EXPECT_EQ(text_status, 0) << text;
  for (const char* kind : {"NOT_SETTLED", "SETTLED_NOT_CREDITED", "AMOUNT_MISMATCH",
                           "UNKNOWN_TRANSACTION", "DUPLICATE", "SETTLED_LATE", "importer"}) {
    EXPECT_NE(text.find(kind), std::string::npos) << kind << "\n" << text;
  }
  std::ofstream(dir + "/mismatches.txt") << text;
  auto [html_status, html] = Qcashctl({"settlements", "mismatches", "--all", "--format", "html"});
  EXPECT_EQ(html_status, 0) << html;
  EXPECT_TRUE(absl::StartsWith(html, "<!DOCTYPE html>")) << html;
  EXPECT_NE(html.find("金額不一致"), std::string::npos);
  EXPECT_NE(html.find(off_by_one.order_id), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  std::ofstream(dir + "/mismatches.html") << html;
  auto [csv_status, csv] = Qcashctl({"settlements", "mismatches", "--format", "csv"});
  EXPECT_EQ(csv_status, 0) << csv;
  EXPECT_TRUE(absl::StartsWith(csv, "mismatch_id,kind,provider,")) << csv;
  auto [summary_status, summary_text] = Qcashctl({"settlements", "summary", today, today});
  EXPECT_EQ(summary_status, 0) << summary_text;
  EXPECT_NE(summary_text.find("card"), std::string::npos) << summary_text;
  std::ofstream(dir + "/summary.txt") << summary_text;
}

// A report with one malformed line is refused whole, naming the line; nothing is stored and
// the good lines before it settle nothing.
TEST_F(SettlementTest, AMalformedReportIsRefusedWholeWithItsLine) {
  const Paid order = BuyVoucher(pb::PAYMENT_METHOD_CONVENIENCE_STORE, 3'000);
  const std::string day = Download("konbini", Today());
  ASSERT_NE(day.find(order.order_id), std::string::npos) << day;
  const std::string broken = absl::StrCat(day, Today(), ",pay_x,co_x,payment,1000,190,800,JPY,",
                                          Today(), "\n");  // net wrong
  const int64_t lines = static_cast<int64_t>(std::count(day.begin(), day.end(), '\n')) + 1;
  const int64_t reports = QueryInt("SELECT count(*) FROM settlement_reports");
  const int64_t mismatches = QueryInt("SELECT count(*) FROM settlement_mismatches");
  pb::ImportSettlementReportResponse response;
  const grpc::Status refused = Import("konbini", broken, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << refused.error_message();
  EXPECT_EQ(Reason(refused), "INVALID_SETTLEMENT_REPORT") << refused.error_message();
  EXPECT_EQ(MetadataOf(FromGrpcStatus(refused))["line"], absl::StrCat(lines))
      << refused.error_message();
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_reports"), reports);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_mismatches"), mismatches);
  EXPECT_FALSE(GetOrder(order.seller, order.order_id).has_settled_at());

  EXPECT_GRPC_ERROR(Import("konbini", "date,amount\n", &response), INVALID_ARGUMENT,
                    "INVALID_SETTLEMENT_REPORT");
  EXPECT_GRPC_ERROR(Import("nosuchprovider", day, &response), INVALID_ARGUMENT, "UNKNOWN_PROVIDER");
  // Over 100,000 lines (a file over 4 MiB is refused so too, but is also over gRPC's default
  // message size, which answers RESOURCE_EXHAUSTED first).
  std::string many_lines;
  for (int i = 0; i <= 100'001; ++i) many_lines += "x\n";
  EXPECT_GRPC_ERROR(Import("konbini", many_lines, &response), INVALID_ARGUMENT,
                    "SETTLEMENT_REPORT_TOO_LARGE");
  // A file one byte over 4 MiB reaches the service's own check (the transport admits a little
  // more than gRPC's default 4 MiB), so the operator reads the reason, not a transport error.
  const std::string too_big(4 * 1024 * 1024 + 1, 'x');
  EXPECT_GRPC_ERROR(Import("konbini", too_big, &response), INVALID_ARGUMENT,
                    "SETTLEMENT_REPORT_TOO_LARGE");
  // Only operators import.
  EXPECT_GRPC_ERROR(Pay("gateway", &pb::PaymentService::Stub::ImportSettlementReport,
                        pb::ImportSettlementReportRequest(), &response),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  // The good report still imports afterwards.
  ASSERT_TRUE(Import("konbini", day, &response).ok());
  EXPECT_EQ(GetOrder(order.seller, order.order_id).fee_yen(), 190);
}

// The payment service fetches a closed day's report from the provider by itself (signed
// POST /v1/settlements), imports it, and publishes the settlement metrics.
TEST_F(SettlementTest, TheScheduledImportFetchesTheReportByItself) {
  const Paid order = BuyVoucher(pb::PAYMENT_METHOD_LINE_PAY, 1'000);
  auto closed =
      Sandbox().Post(absl::StrCat("/sandbox/settlements/linepay/", Today(), "/close").c_str());
  ASSERT_TRUE(closed && closed->status == 200);
  const pb::ChargeOrder settled = WaitForOrder(
      order.seller, order.order_id, [](const pb::ChargeOrder& o) { return o.has_settled_at(); },
      "settled");
  EXPECT_EQ(settled.settled_yen(), 1'000);
  EXPECT_EQ(settled.fee_yen(), 34);  // linepay: 3.45 %, rounded down
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_reports WHERE provider = 'linepay'"
                     " AND imported_by = 'scheduler' AND lines = 1"),
            1);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_fetches WHERE provider = 'linepay'"
                     " AND settlement_date = $1::date",
                     {Today()}),
            1);
  // The metrics, refreshed by every pass.
  httplib::Client metrics("127.0.0.1", env->metrics_port);
  const auto deadline = std::chrono::steady_clock::now() + Scaled(std::chrono::seconds(30));
  std::string body;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = metrics.Get("/metrics");
    body = r ? r->body : "";
    if (absl::StrContains(
            body, "qcash_payment_settlement_last_import_timestamp_seconds{provider=\"linepay\"}"))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(absl::StrContains(
      body, "qcash_payment_settlement_imports_total{provider=\"linepay\",result=\"imported\"}"))
      << body;
  EXPECT_TRUE(absl::StrContains(body, "qcash_payment_settlement_open_mismatches{")) << body;
  EXPECT_TRUE(absl::StrContains(body, "qcash_payment_settlement_oldest_open_mismatch_age_seconds"))
      << body;
  // An unsettled day is not served: the provider API answers 404 until it is closed.
  httplib::Client api = Sandbox();
  auto unsigned_call = api.Post("/providers/linepay/v1/settlements", "{\"date\":\"2099-01-01\"}",
                                "application/json");
  ASSERT_TRUE(unsigned_call);
  EXPECT_EQ(unsigned_call->status, 401);  // and every call is signed
}

// Resolving is the audited action: who and why are recorded with when; the same key answers
// the same; another key on a resolved mismatch is refused; the record is kept.
TEST_F(SettlementTest, ResolvingRecordsWhoAndWhy) {
  const std::string today = Today();
  BuyVoucher(pb::PAYMENT_METHOD_AU_EASY_PAYMENT, 500);
  Plant("au", today, "kind=unknown");
  pb::ImportSettlementReportResponse imported;
  ASSERT_TRUE(Import("au", Download("au", today), &imported).ok());
  std::vector<pb::SettlementMismatch> unknown;
  for (const auto& m : Mismatches("au")) {
    if (m.kind() == pb::MISMATCH_KIND_UNKNOWN_TRANSACTION) unknown.push_back(m);
  }
  ASSERT_EQ(unknown.size(), 1u);
  const int64_t id = unknown[0].mismatch_id();
  EXPECT_GE(unknown[0].age_seconds(), 0);

  auto resolve = [&](const std::string& key, const std::string& who, const std::string& why,
                     pb::ResolveSettlementMismatchResponse* out, int64_t mismatch_id = 0) {
    pb::ResolveSettlementMismatchRequest request;
    request.set_idempotency_key(key);
    request.set_mismatch_id(mismatch_id == 0 ? id : mismatch_id);
    request.set_operator_(who);
    request.set_reason(why);
    return Pay("ops", &pb::PaymentService::Stub::ResolveSettlementMismatch, request, out);
  };
  pb::ResolveSettlementMismatchResponse response;
  EXPECT_GRPC_ERROR(resolve("k-1", "", "why", &response), INVALID_ARGUMENT, "MISSING_OPERATOR");
  EXPECT_GRPC_ERROR(resolve("k-1", "佐藤", "", &response), INVALID_ARGUMENT,
                    "MISSING_RESOLUTION_REASON");
  EXPECT_GRPC_ERROR(resolve("k-1", "佐藤", "why", &response, 999'999'999), NOT_FOUND,
                    "MISMATCH_NOT_FOUND");
  const std::string why = "auに確認: テスト取引、入金なしで問題なし";
  ASSERT_TRUE(resolve("k-1", "佐藤", why, &response).ok());
  EXPECT_FALSE(response.replayed());
  EXPECT_TRUE(response.mismatch().resolved());
  EXPECT_EQ(response.mismatch().resolved_by(), "佐藤");
  EXPECT_EQ(response.mismatch().resolution(), why);
  EXPECT_TRUE(response.mismatch().has_resolved_at());
  pb::ResolveSettlementMismatchResponse replay;
  ASSERT_TRUE(resolve("k-1", "佐藤", why, &replay).ok());
  EXPECT_TRUE(replay.replayed());
  EXPECT_EQ(replay.mismatch().resolved_at().seconds(), response.mismatch().resolved_at().seconds());
  EXPECT_GRPC_ERROR(resolve("k-2", "鈴木", "another reason", &response), FAILED_PRECONDITION,
                    "MISMATCH_ALREADY_RESOLVED");
  // The key of one resolution cannot close another mismatch.
  Plant("au", today, "kind=unknown");
  ASSERT_TRUE(Import("au", Download("au", today), &imported).ok());
  std::vector<pb::SettlementMismatch> second;
  for (const auto& m : Mismatches("au")) {
    if (m.kind() == pb::MISMATCH_KIND_UNKNOWN_TRANSACTION) second.push_back(m);
  }
  ASSERT_EQ(second.size(), 1u);
  EXPECT_GRPC_ERROR(resolve("k-1", "佐藤", why, &response, second[0].mismatch_id()),
                    INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED");

  // Gone from the open list, kept in the full one and in the audit table.
  for (const auto& m : Mismatches("au")) EXPECT_NE(m.mismatch_id(), id);
  bool kept = false;
  for (const auto& m : Mismatches("au", /*all=*/true)) {
    if (m.mismatch_id() == id) kept = m.resolved() && m.resolved_by() == "佐藤";
  }
  EXPECT_TRUE(kept);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_resolutions WHERE mismatch_id = $1"
                     " AND resolved_by = '佐藤' AND caller = 'ops' AND idempotency_key = 'k-1'",
                     {absl::StrCat(id)}),
            1);
  // Bad requests of the list and the summary.
  pb::ListSettlementMismatchesRequest bad_kind;
  bad_kind.add_kinds(static_cast<pb::MismatchKind>(42));
  pb::ListSettlementMismatchesResponse listed;
  EXPECT_GRPC_ERROR(
      Pay("ops", &pb::PaymentService::Stub::ListSettlementMismatches, bad_kind, &listed),
      INVALID_ARGUMENT, "INVALID_MISMATCH_KIND");
  pb::GetSettlementSummaryRequest backwards;
  backwards.set_from_date(today);
  backwards.set_to_date("2000-01-01");
  pb::GetSettlementSummaryResponse summary;
  EXPECT_GRPC_ERROR(
      Pay("ops", &pb::PaymentService::Stub::GetSettlementSummary, backwards, &summary),
      INVALID_ARGUMENT, "INVALID_SETTLEMENT_DATE");
}

// The overdue check (every scheduler pass and every import) opens NOT_SETTLED once per paid
// provider order not settled after the due period; never for an order without a provider.
TEST_F(SettlementTest, OverdueCheckFlagsPaidProviderOrdersOnceEach) {
  const Paid order = BuyVoucher(pb::PAYMENT_METHOD_PAIDY, 1'000);
  WaitForNotSettled("paidy", order.order_id);
  // A later order flagged too means further checks ran: still one for the first order.
  const Paid later = BuyVoucher(pb::PAYMENT_METHOD_PAIDY, 500);
  WaitForNotSettled("paidy", later.order_id);
  EXPECT_EQ(Of(Mismatches("paidy", true), pb::MISMATCH_KIND_NOT_SETTLED, order.order_id).size(),
            1u);
  const auto m = Of(Mismatches("paidy"), pb::MISMATCH_KIND_NOT_SETTLED, order.order_id)[0];
  EXPECT_EQ(m.expected_yen(), 1'000);
  EXPECT_EQ(m.seller_id(), order.seller);
  EXPECT_EQ(m.report_id(), 0);
  EXPECT_GE(m.age_seconds(), 3);  // since the payment
  EXPECT_EQ(QueryInt("SELECT count(*) FROM settlement_mismatches m JOIN charge_orders o"
                     " USING (order_id) WHERE o.provider = ''"),
            0);
}

// Fail closed: a settlement setting that is malformed or out of range stops start-up.
TEST_F(SettlementTest, MalformedSettlementSettingsStopStartUp) {
  const std::map<std::string, std::string> base = {
      {"QCASH_PAYMENT_DATABASE_URL", env->payment_db_url},
      {"QCASH_WALLET_TARGET", env->stack->wallet.address},
      {"QCASH_PAYMENT_DEV_SANDBOX", "1"},
      {"QCASH_PAYMENT_SANDBOX_URL", env->payment.sandbox_url},
      {"QCASH_PAYMENT_SECRETS_FILE", env->payment.secrets_file}};
  const std::pair<const char*, const char*> bad[] = {
      {"QCASH_PAYMENT_SETTLEMENT_DUE_S", "0"},
      {"QCASH_PAYMENT_SETTLEMENT_DUE_S", "3days"},
      {"QCASH_PAYMENT_SETTLEMENT_INTERVAL_S", "-1"},
      {"QCASH_PAYMENT_SETTLEMENT_LOOKBACK_DAYS", "400"},
  };
  for (const auto& [name, value] : bad) {
    SCOPED_TRACE(absl::StrCat(name, "=", value));
    std::map<std::string, std::string> penv = base;
    penv[name] = value;
    auto started = StartService(QCASH_PAYMENT_BINARY, penv, "QCASH_PAYMENT_LISTEN",
                                env->stack->dir + "/payment-bad-config.log");
    EXPECT_FALSE(started.ok());
  }
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::SettlementEnvironment());
  return RUN_ALL_TESTS();
}
