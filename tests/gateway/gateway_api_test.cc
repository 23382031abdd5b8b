// The gateway over real HTTP, in front of real services, PostgreSQL and Redis: authentication
// (the seller comes from the token only), error mapping, limits, CSRF and the security headers.
// Every test ends with the ledger audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/seller_token.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

struct Env {
  std::unique_ptr<Stack> stack;
  PaymentProcesses payment;
  ServiceProcess points;
  GatewayProcess gateway;
  int metrics_port = 0;
  std::unique_ptr<pb::WalletService::Stub> wallet;
};
Env* env = nullptr;

constexpr int kRateLimit = 40;

class GatewayEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    auto stack = StartStack("gateway_api", {"qcash_payment", "qcash_points"});
    ASSERT_TRUE(stack.ok()) << stack.status();
    env->stack = std::move(*stack);
    const int gateway_port = FreePort();
    const std::string gateway_url = absl::StrCat("http://127.0.0.1:", gateway_port);
    auto payment = StartPaymentWithSandbox(*env->stack, gateway_url);
    ASSERT_TRUE(payment.ok()) << payment.status();
    env->payment = std::move(*payment);
    auto points = StartPoints(*env->stack);
    ASSERT_TRUE(points.ok()) << points.status();
    env->points = std::move(*points);
    env->metrics_port = FreePort();
    auto gateway = StartGateway(
        *env->stack, {{"QCASH_GATEWAY_LISTEN", absl::StrCat("127.0.0.1:", gateway_port)},
                      {"QCASH_PAYMENT_TARGET", env->payment.payment.address},
                      {"QCASH_POINTS_TARGET", env->points.address},
                      {"QCASH_GATEWAY_RATE_LIMIT", absl::StrCat(kRateLimit)},
                      {"QCASH_GATEWAY_RATE_WINDOW_S", "60"},
                      {"QCASH_METRICS_LISTEN", absl::StrCat("127.0.0.1:", env->metrics_port)}});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    env->gateway = std::move(*gateway);
    env->wallet = pb::WalletService::NewStub(
        grpc::CreateChannel(env->stack->wallet.address, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    env->stack->keep = !::testing::UnitTest::GetInstance()->Passed();
    env->gateway.process.reset();
    env->points.process.reset();
    env->payment.payment.process.reset();
    env->payment.sandbox.reset();
    delete env;
  }
};

// Everything secret this run has used, for the test that greps the logs for them.
std::set<std::string>& Secrets() {
  static auto* const secrets = new std::set<std::string>();
  return *secrets;
}

std::string Token(const std::string& seller, absl::Duration ttl = absl::Hours(1),
                  absl::Time at = absl::Now()) {
  auto token = IssueSellerToken(env->gateway.token_private_key_pem, env->gateway.token_issuer,
                                env->gateway.token_audience, seller, at, ttl);
  EXPECT_TRUE(token.ok()) << token.status();
  Secrets().insert(*token);
  return *token;
}

// Opens and charges a wallet directly over gRPC, as settlement and payment would.
void Fund(const std::string& seller, int64_t yen) {
  grpc::ClientContext open_context;
  open_context.AddMetadata("x-qcash-caller", "settlement");
  pb::OpenWalletRequest open;
  open.set_seller_id(seller);
  open.set_idempotency_key("open-" + seller);
  pb::OpenWalletResponse opened;
  ASSERT_TRUE(env->wallet->OpenWallet(&open_context, open, &opened).ok());
  if (yen == 0) return;
  grpc::ClientContext credit_context;
  credit_context.AddMetadata("x-qcash-caller", "payment");
  pb::CreditRequest credit;
  credit.set_seller_id(seller);
  credit.set_idempotency_key("fund-" + seller);
  credit.set_amount_yen(yen);
  credit.set_source(pb::CREDIT_SOURCE_CHARGE);
  credit.set_reference("order-" + seller);
  pb::CreditResponse credited;
  ASSERT_TRUE(env->wallet->Credit(&credit_context, credit, &credited).ok());
}

httplib::Client Client() {
  httplib::Client client(env->gateway.host, env->gateway.port);
  client.set_read_timeout(10, 0);
  return client;
}

httplib::Result Get(const std::string& path, const std::string& token,
                    httplib::Headers headers = {}) {
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  return Client().Get(path, headers);
}

httplib::Result Send(const std::string& method, const std::string& path, const std::string& token,
                     const std::string& body, const std::string& key = "") {
  httplib::Headers headers = {{"Authorization", "Bearer " + token}};
  if (!key.empty()) headers.emplace("Idempotency-Key", key);
  if (method == "PUT") return Client().Put(path, headers, body, "application/json");
  return Client().Post(path, headers, body, "application/json");
}

// A string field's value in a JSON body (enough for the fields these tests read).
std::string Field(const std::string& body, const std::string& name) {
  const std::string needle = "\"" + name + "\":\"";
  const size_t at = body.find(needle);
  if (at == std::string::npos) return "";
  const size_t start = at + needle.size();
  return body.substr(start, body.find('"', start) - start);
}

// The ErrorInfo reason in an error body.
std::string Reason(const httplib::Result& response) {
  const std::string& body = response->body;
  const size_t at = body.find("\"reason\":\"");
  if (at == std::string::npos) return "";
  const size_t start = at + 10;
  return body.substr(start, body.find('"', start) - start);
}

class GatewayApiTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }
};

TEST_F(GatewayApiTest, BalanceForTheSellerOfTheToken) {
  const std::string seller = NewSeller();
  Fund(seller, 3'000);
  auto response = Get("/api/v1/balance", Token(seller));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");
  EXPECT_NE(response->body.find("\"availableYen\":\"3000\""), std::string::npos) << response->body;
  EXPECT_NE(response->body.find("\"sellerId\":\"" + seller + "\""), std::string::npos);
}

// A token for seller A can never read seller B: the seller comes from the token only.
TEST_F(GatewayApiTest, SellerAReadsNothingOfSellerB) {
  const std::string a = NewSeller();
  const std::string b = NewSeller();
  Fund(a, 1'000);
  Fund(b, 50'000);
  const std::string token_a = Token(a);
  for (const std::string& path :
       {absl::StrCat("/api/v1/balance?sellerId=", b), absl::StrCat("/api/v1/balance?seller_id=", b),
        absl::StrCat("/api/v1/history?sellerId=", b)}) {
    auto response = Get(path, token_a);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << path;
    EXPECT_EQ(Reason(response), "SELLER_ID_FROM_TOKEN") << path;
    EXPECT_EQ(response->body.find("50000"), std::string::npos);
  }
  auto own = Get("/api/v1/history", token_a);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200);
  EXPECT_NE(own->body.find("\"amountYen\":\"1000\""), std::string::npos) << own->body;
  EXPECT_EQ(own->body.find("50000"), std::string::npos) << own->body;
}

// Provenance (DESIGN.md section 8): the history names each movement's lots and paid part, and
// /api/v1/history/lots says where the Qcash of one movement came from, for the token's seller.
TEST_F(GatewayApiTest, HistoryNamesTheLotsOfEachMovement) {
  const std::string seller = NewSeller();
  Fund(seller, 1'000);  // entry 1, lot 1
  const std::string token = Token(seller);
  auto history = Get("/api/v1/history", token);
  ASSERT_TRUE(history);
  EXPECT_EQ(history->status, 200) << history->body;
  EXPECT_NE(history->body.find("\"lots\":[{\"lotId\":\"1\",\"amountYen\":\"1000\"}]"),
            std::string::npos)
      << history->body;
  EXPECT_NE(history->body.find("\"paidYen\":\"1000\""), std::string::npos) << history->body;
  auto lots = Get("/api/v1/history/lots?entrySeq=1", token);
  ASSERT_TRUE(lots);
  EXPECT_EQ(lots->status, 200) << lots->body;
  EXPECT_NE(lots->body.find("\"origin\":\"LOT_ORIGIN_VOUCHER\""), std::string::npos) << lots->body;
  EXPECT_NE(lots->body.find("\"reference\":\"order-" + seller + "\""), std::string::npos)
      << lots->body;
  auto missing = Get("/api/v1/history/lots?entrySeq=2", token);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404) << missing->body;
  EXPECT_EQ(Reason(missing), "ENTRY_NOT_FOUND");
  auto invalid = Get("/api/v1/history/lots?entrySeq=0", token);
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 400) << invalid->body;
  EXPECT_EQ(Reason(invalid), "INVALID_ENTRY_SEQ");
}

// A charge reversed after it was partly spent (issue 16, DESIGN.md section 9), as the payment
// service claws it back: the JSON API gives the seller the debt (未回収額) on the balance, the
// clawback and the debt in the history with the debt after each line, the month's clawed-back
// amount; the next credit (a points conversion) pays the debt first.
TEST_F(GatewayApiTest, TheDebtOfAReversedChargeReachesTheSeller) {
  const std::string seller = NewSeller();
  Fund(seller, 3'000);  // charge order "order-<seller>"
  {
    grpc::ClientContext context;
    context.AddMetadata("x-qcash-caller", "adbooking");
    pb::SpendRequest spend;
    spend.set_seller_id(seller);
    spend.set_idempotency_key("spend-" + seller);
    spend.set_amount_yen(2'000);
    spend.set_product(pb::AD_PRODUCT_GROUP_BUYING);
    spend.set_booking_reference("AD-1");
    pb::SpendResponse spent;
    ASSERT_TRUE(env->wallet->Spend(&context, spend, &spent).ok());
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("x-qcash-caller", "payment");
    pb::ClawBackRequest claw;
    claw.set_seller_id(seller);
    claw.set_idempotency_key("reversal:sandbox:rv-" + seller);
    claw.set_amount_yen(3'000);
    claw.set_order_id("order-" + seller);
    claw.set_reversal_reference("rv-" + seller);
    claw.set_kind(pb::REVERSAL_KIND_CHARGEBACK);
    pb::ClawBackResponse clawed;
    const grpc::Status s = env->wallet->ClawBack(&context, claw, &clawed);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(clawed.clawed_back_yen(), 1'000);
    EXPECT_EQ(clawed.debt_yen(), 2'000);
  }
  const std::string token = Token(seller);
  auto balance = Get("/api/v1/balance", token);
  ASSERT_TRUE(balance);
  EXPECT_EQ(balance->status, 200) << balance->body;
  EXPECT_NE(balance->body.find("\"debtYen\":\"2000\""), std::string::npos) << balance->body;
  EXPECT_NE(balance->body.find("\"availableYen\":\"0\""), std::string::npos) << balance->body;
  auto history = Get("/api/v1/history", token);
  ASSERT_TRUE(history);
  EXPECT_EQ(history->status, 200) << history->body;
  for (const std::string& part :
       {std::string("\"type\":\"ENTRY_TYPE_CLAWBACK\""),
        std::string("\"type\":\"ENTRY_TYPE_DEBT\""), std::string("\"debtAfterYen\":\"2000\""),
        absl::StrCat("\"reference\":\"order-", seller, "\"")}) {
    EXPECT_NE(history->body.find(part), std::string::npos) << part << " in " << history->body;
  }
  auto debts = Get("/api/v1/history?types=ENTRY_TYPE_DEBT", token);
  ASSERT_TRUE(debts);
  EXPECT_EQ(debts->status, 200) << debts->body;
  EXPECT_EQ(debts->body.find("ENTRY_TYPE_CLAWBACK"), std::string::npos) << debts->body;
  EXPECT_NE(debts->body.find("ENTRY_TYPE_DEBT"), std::string::npos) << debts->body;
  auto activity = Get("/api/v1/activity", token);
  ASSERT_TRUE(activity);
  EXPECT_EQ(activity->status, 200) << activity->body;
  EXPECT_NE(activity->body.find("\"clawedBackYen\":\"1000\""), std::string::npos) << activity->body;
  {
    grpc::ClientContext context;
    context.AddMetadata("x-qcash-caller", "points");
    pb::CreditRequest conversion;
    conversion.set_seller_id(seller);
    conversion.set_idempotency_key("conversion-" + seller);
    conversion.set_amount_yen(5'000);
    conversion.set_source(pb::CREDIT_SOURCE_POINTS_CONVERSION);
    conversion.set_reference("conv-" + seller);
    pb::CreditResponse credited;
    ASSERT_TRUE(env->wallet->Credit(&context, conversion, &credited).ok());
    EXPECT_EQ(credited.result().debt_recovered_yen(), 2'000);
  }
  balance = Get("/api/v1/balance", token);
  ASSERT_TRUE(balance);
  EXPECT_NE(balance->body.find("\"debtYen\":\"0\""), std::string::npos) << balance->body;
  EXPECT_NE(balance->body.find("\"availableYen\":\"3000\""), std::string::npos) << balance->body;
  history = Get("/api/v1/history?types=ENTRY_TYPE_DEBT_RECOVERY", token);
  ASSERT_TRUE(history);
  EXPECT_NE(history->body.find("\"amountYen\":\"2000\""), std::string::npos) << history->body;
  EXPECT_NE(history->body.find("\"debtAfterYen\":\"0\""), std::string::npos) << history->body;
  activity = Get("/api/v1/activity", token);
  ASSERT_TRUE(activity);
  EXPECT_NE(activity->body.find("\"debtRecoveredYen\":\"2000\""), std::string::npos)
      << activity->body;
}

// The seller's paperwork (issue 15): the receipt of a paid voucher as a PDF, the original then
// reissues; nothing for an unpaid order or another seller's; the month's statement as PDF and
// CSV; strict document names; and a failure a browser navigated to is a Japanese page.
TEST_F(GatewayApiTest, ReceiptsAndStatementsAreDocumentsOfTheSellerOfTheToken) {
  const std::string seller = NewSeller();
  Fund(seller, 0);
  const std::string token = Token(seller);
  auto card = Send("POST", "/api/v1/charge/orders", token,
                   R"({"denomination":"DENOMINATION_3000","method":"PAYMENT_METHOD_CARD",)"
                   R"("paymentToken":"tok_visa"})",
                   "receipt-order-1");
  ASSERT_TRUE(card);
  ASSERT_EQ(card->status, 200) << card->body;
  const std::string order_id = Field(card->body, "orderId");
  httplib::Result order = Get("/api/v1/charge/orders/" + order_id, token);
  for (int i = 0; i < 50 && Field(order->body, "state") != "ORDER_STATE_CREDITED"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    order = Get("/api/v1/charge/orders/" + order_id, token);
  }
  ASSERT_EQ(Field(order->body, "state"), "ORDER_STATE_CREDITED") << order->body;

  auto original = Get("/documents/receipts/" + order_id + ".pdf", token);
  ASSERT_TRUE(original);
  ASSERT_EQ(original->status, 200) << original->body;
  EXPECT_EQ(original->get_header_value("Content-Type"), "application/pdf");
  EXPECT_EQ(original->body.rfind("%PDF-", 0), 0U);
  EXPECT_EQ(original->get_header_value("Content-Disposition"),
            "attachment; filename=\"qcash-receipt-" + order_id + ".pdf\"");
  auto reissue = Get("/documents/receipts/" + order_id + ".pdf", token);
  ASSERT_TRUE(reissue);
  ASSERT_EQ(reissue->status, 200);
  EXPECT_EQ(reissue->get_header_value("Content-Disposition"),
            "attachment; filename=\"qcash-receipt-" + order_id + "-reissue.pdf\"");
  EXPECT_NE(reissue->body, original->body) << "a reissue is marked 再発行";

  // Another seller's order does not exist for this one; an unpaid one has no receipt yet.
  const std::string other = NewSeller();
  Fund(other, 0);
  auto foreign = Get("/documents/receipts/" + order_id + ".pdf", Token(other));
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 404) << foreign->body;
  auto bank =
      Send("POST", "/api/v1/charge/orders", token,
           R"({"denomination":"DENOMINATION_1000","method":"PAYMENT_METHOD_BANK_TRANSFER"})",
           "receipt-order-bank");
  ASSERT_TRUE(bank);
  ASSERT_EQ(bank->status, 200) << bank->body;
  auto unpaid = Get("/documents/receipts/" + Field(bank->body, "orderId") + ".pdf", token);
  ASSERT_TRUE(unpaid);
  EXPECT_EQ(unpaid->status, 400) << unpaid->body;
  EXPECT_EQ(Reason(unpaid), "RECEIPT_NOT_AVAILABLE");
  // A browser that navigated there gets a page saying what to do, in Japanese.
  auto page = Get("/documents/receipts/" + Field(bank->body, "orderId") + ".pdf", token,
                  {{"Accept", "text/html,application/xhtml+xml"}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 400);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("領収書を発行できません"), std::string::npos) << page->body;
  EXPECT_NE(page->body.find("/vouchers"), std::string::npos) << page->body;
  EXPECT_EQ(page->body.find("RECEIPT_NOT_AVAILABLE"), std::string::npos) << page->body;

  // This month's statement (preliminary: the month is not over) as PDF and CSV.
  const std::string month = absl::FormatTime("%Y-%m", absl::Now(), absl::FixedTimeZone(9 * 3600));
  auto pdf = Get("/documents/statements/" + month + ".pdf", token);
  ASSERT_TRUE(pdf);
  ASSERT_EQ(pdf->status, 200) << pdf->body;
  EXPECT_EQ(pdf->body.rfind("%PDF-", 0), 0U);
  EXPECT_EQ(pdf->get_header_value("Content-Disposition"),
            "attachment; filename=\"qcash-statement-" + month + "-preliminary.pdf\"");
  auto csv = Get("/documents/statements/" + month + ".csv", token);
  ASSERT_TRUE(csv);
  ASSERT_EQ(csv->status, 200) << csv->body;
  EXPECT_EQ(csv->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv->body.rfind("\xEF\xBB\xBF", 0), 0U) << "UTF-8 with a BOM, for spreadsheets";

  // The month before last is closed (last month closes only ten minutes into this one): its
  // statement is the same document at every download (issued at the month's end, not at the
  // download), and says it is final (no -preliminary in its name).
  const absl::TimeZone japan = absl::FixedTimeZone(9 * 3600);
  const absl::CivilMonth this_month = absl::ToCivilMonth(absl::Now(), japan);
  const std::string last_month = absl::FormatCivilTime(this_month - 2);
  auto first = Get("/documents/statements/" + last_month + ".pdf", token);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a later second of download
  auto again = Get("/documents/statements/" + last_month + ".pdf", token);
  ASSERT_TRUE(first && again);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(first->body, again->body);
  EXPECT_EQ(first->get_header_value("Content-Disposition"),
            "attachment; filename=\"qcash-statement-" + last_month + ".pdf\"");

  for (const std::string& bad : std::vector<std::string>{
           "/documents/statements/2026-13.pdf", "/documents/statements/2026-11.exe",
           "/documents/receipts/" + order_id + ".csv", "/documents/receipts/..%2Fx.pdf",
           "/documents/other/2026-11.pdf"}) {
    auto refused = Get(bad, token);
    ASSERT_TRUE(refused) << bad;
    EXPECT_EQ(refused->status, 404) << bad << ": " << refused->body;
  }
  auto future = Get("/documents/statements/2999-12.pdf", token);
  ASSERT_TRUE(future);
  EXPECT_EQ(future->status, 400) << future->body;
  EXPECT_EQ(Reason(future), "MONTH_IN_FUTURE");
  auto anonymous = Get("/documents/statements/" + month + ".pdf", "");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
}

TEST_F(GatewayApiTest, MissingExpiredAndForgedTokensAreRejected) {
  const std::string seller = NewSeller();
  Fund(seller, 0);
  auto none = Get("/api/v1/balance", "");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(Reason(none), "NO_TOKEN");
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"qcash\"");

  auto expired =
      Get("/api/v1/balance", Token(seller, absl::Hours(1), absl::Now() - absl::Hours(3)));
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 401);
  EXPECT_EQ(Reason(expired), "TOKEN_EXPIRED");

  const auto [other_private, other_public] = NewEcKeyPair();
  auto forged_token =
      IssueSellerToken(other_private, env->gateway.token_issuer, env->gateway.token_audience,
                       seller, absl::Now(), absl::Hours(1));
  ASSERT_TRUE(forged_token.ok());
  auto forged = Get("/api/v1/balance", *forged_token);
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  EXPECT_EQ(Reason(forged), "TOKEN_INVALID");

  std::string tampered = Token(seller);
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  auto broken = Get("/api/v1/balance", tampered);
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, 401);

  auto wrong_scheme = Client().Get("/api/v1/balance", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  ASSERT_TRUE(wrong_scheme);
  EXPECT_EQ(wrong_scheme->status, 401);
}

TEST_F(GatewayApiTest, ErrorsMapToHttpStatuses) {
  // NOT_FOUND: a valid token for a seller who has no wallet.
  auto missing = Get("/api/v1/balance", Token(NewSeller()));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(Reason(missing), "WALLET_NOT_FOUND");
  EXPECT_NE(missing->body.find("\"domain\":\"wallet.qcash\""), std::string::npos) << missing->body;

  const std::string seller = NewSeller();
  Fund(seller, 1'000);
  const std::string token = Token(seller);
  // INVALID_ARGUMENT from the gateway and from the wallet.
  auto unknown = Get("/api/v1/history?bogus=1", token);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_EQ(Reason(unknown), "UNKNOWN_PARAMETER");
  auto huge = Get("/api/v1/history?pageSize=99999999999999999999", token);
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 400);
  EXPECT_EQ(Reason(huge), "MALFORMED_JSON");
  auto bad_token = Get("/api/v1/history?pageToken=nonsense", token);
  ASSERT_TRUE(bad_token);
  EXPECT_EQ(bad_token->status, 400);
  EXPECT_EQ(Reason(bad_token), "INVALID_PAGE_TOKEN");
  auto not_utf8 = Get("/api/v1/history?pageToken=%FF%FE", token);
  ASSERT_TRUE(not_utf8);
  EXPECT_EQ(not_utf8->status, 400);
  EXPECT_EQ(Reason(not_utf8), "INVALID_UTF8");
  auto range = Get("/api/v1/history?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", token);
  ASSERT_TRUE(range);
  EXPECT_EQ(range->status, 400);
  EXPECT_EQ(Reason(range), "INVALID_TIME_RANGE");

  // UNAVAILABLE: the wallet is down; 503, and back to 200 when it returns.
  env->stack->wallet.process->Stop(SIGKILL);
  auto down = Get("/api/v1/balance", token);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503) << down->body;
  ASSERT_TRUE(env->stack->RestartWallet().ok());
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    auto up = Get("/api/v1/balance", token);
    status = up ? up->status : 0;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200);
}

TEST_F(GatewayApiTest, RateLimitedPerSellerWithRetryAfter) {
  const std::string seller = NewSeller();
  Fund(seller, 0);
  const std::string token = Token(seller);
  int ok = 0;
  for (int i = 0; i < kRateLimit + 4; ++i) {
    auto response = Get("/api/v1/balance", token);
    ASSERT_TRUE(response);
    if (response->status == 200) ++ok;
  }
  EXPECT_EQ(ok, kRateLimit);
  auto last = Get("/api/v1/balance", token);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 429);
  EXPECT_EQ(Reason(last), "RATE_LIMITED");
  int retry_after = 0;
  EXPECT_TRUE(absl::SimpleAtoi(last->get_header_value("Retry-After"), &retry_after));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  // Another seller is not limited by this one.
  const std::string other = NewSeller();
  Fund(other, 0);
  auto fine = Get("/api/v1/balance", Token(other));
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
}

TEST_F(GatewayApiTest, SizeLimits) {
  const std::string seller = NewSeller();
  Fund(seller, 0);
  httplib::Headers big = {{"X-Padding", std::string(20'000, 'x')}};
  auto headers = Get("/api/v1/balance", Token(seller), big);
  ASSERT_TRUE(headers);
  EXPECT_GE(headers->status, 400);
  EXPECT_LT(headers->status, 500);
  auto body = Client().Post("/webhooks/card", std::string(100'000, 'x'), "application/json");
  ASSERT_TRUE(body);
  EXPECT_EQ(body->status, 413);
}

TEST_F(GatewayApiTest, SecurityHeadersOnEveryResponse) {
  for (const char* path : {"/openapi.json", "/api/v1/balance", "/dev/login", "/nowhere"}) {
    auto response = Client().Get(path);
    ASSERT_TRUE(response) << path;
    const std::string csp = response->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << path;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << path;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path;
    EXPECT_EQ(response->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(response->get_header_value("X-Frame-Options"), "DENY") << path;
    EXPECT_EQ(response->get_header_value("Referrer-Policy"), "no-referrer") << path;
    EXPECT_FALSE(response->get_header_value("X-Request-Id").empty()) << path;
  }
  auto openapi = Client().Get("/openapi.json");
  ASSERT_TRUE(openapi);
  EXPECT_EQ(openapi->status, 200);
  EXPECT_NE(openapi->body.find("\"/api/v1/history\""), std::string::npos);
}

// The development login: a wallet for the seller, a session cookie the page script cannot read,
// and a CSRF cookie it can.
TEST_F(GatewayApiTest, DevLoginSetsStrictCookies) {
  const std::string seller = NewSeller();
  auto response =
      Client().Post("/dev/login", "seller_id=" + seller, "application/x-www-form-urlencoded");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 303);
  std::string session, csrf;
  for (const auto& [name, value] : response->headers) {
    if (name != "Set-Cookie") continue;
    if (value.rfind("qcash_session=", 0) == 0) session = value;
    if (value.rfind("qcash_csrf=", 0) == 0) csrf = value;
  }
  EXPECT_NE(session.find("HttpOnly"), std::string::npos) << session;
  EXPECT_NE(session.find("SameSite=Strict"), std::string::npos) << session;
  EXPECT_EQ(csrf.find("HttpOnly"), std::string::npos) << csrf;
  EXPECT_NE(csrf.find("SameSite=Strict"), std::string::npos) << csrf;
  const std::string cookie = session.substr(0, session.find(';'));
  auto balance = Client().Get("/api/v1/balance", {{"Cookie", cookie}});
  ASSERT_TRUE(balance);
  EXPECT_EQ(balance->status, 200) << balance->body;
  auto page = Client().Get("/", {{"Cookie", cookie}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("Qキャッシュの合計残高"), std::string::npos);
  auto anonymous = Client().Get("/");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 303);  // to the login
}

// Over TLS (secure cookies) the cookies carry the __Host- prefix: Secure, Path=/, no Domain, so
// no sibling subdomain or plain-HTTP page can plant a session; a cookie without the prefix is
// not a session at all.
TEST_F(GatewayApiTest, SecureCookiesUseTheHostPrefix) {
  auto secure = StartGateway(*env->stack, {{"QCASH_GATEWAY_SECURE_COOKIES", "true"}});
  ASSERT_TRUE(secure.ok()) << secure.status();
  httplib::Client client(secure->host, secure->port);
  client.set_read_timeout(10, 0);
  auto login =
      client.Post("/dev/login", "seller_id=" + NewSeller(), "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 303);
  EXPECT_FALSE(login->get_header_value("Strict-Transport-Security").empty());
  std::string session, csrf;
  for (const auto& [name, value] : login->headers) {
    if (name != "Set-Cookie") continue;
    EXPECT_NE(value.find("; Secure"), std::string::npos) << value;
    EXPECT_NE(value.find("; Path=/;"), std::string::npos) << value;
    EXPECT_EQ(value.find("Domain"), std::string::npos) << value;
    if (value.rfind("__Host-qcash_session=", 0) == 0) session = value;
    if (value.rfind("__Host-qcash_csrf=", 0) == 0) csrf = value;
  }
  ASSERT_FALSE(session.empty());
  ASSERT_FALSE(csrf.empty());
  const std::string token =
      session.substr(session.find('=') + 1, session.find(';') - session.find('=') - 1);
  Secrets().insert(token);
  auto with_prefix = client.Get("/api/v1/balance", {{"Cookie", "__Host-qcash_session=" + token}});
  ASSERT_TRUE(with_prefix);
  EXPECT_EQ(with_prefix->status, 200) << with_prefix->body;
  auto without_prefix = client.Get("/api/v1/balance", {{"Cookie", "qcash_session=" + token}});
  ASSERT_TRUE(without_prefix);
  EXPECT_EQ(without_prefix->status, 401);
  EXPECT_EQ(Reason(without_prefix), "NO_TOKEN");
}

// Charging through the API: options, a card charge credited once, the purchase history, an
// order's detail, a redirect order completed and cancelled, and the Q-sign password.
TEST_F(GatewayApiTest, ChargeEndpoints) {
  const std::string seller = NewSeller();
  Fund(seller, 0);
  const std::string token = Token(seller);
  auto options = Get("/api/v1/charge/options", token);
  ASSERT_TRUE(options);
  ASSERT_EQ(options->status, 200) << options->body;
  EXPECT_NE(options->body.find("DENOMINATION_1000000"), std::string::npos);
  EXPECT_NE(options->body.find("PAYMENT_METHOD_PENDING_SETTLEMENT"), std::string::npos);

  auto card = Send("POST", "/api/v1/charge/orders", token,
                   R"({"denomination":"DENOMINATION_1000","method":"PAYMENT_METHOD_CARD",)"
                   R"("paymentToken":"tok_visa"})",
                   "card-order-1");
  ASSERT_TRUE(card);
  ASSERT_EQ(card->status, 200) << card->body;
  const std::string order_id = Field(card->body, "orderId");
  ASSERT_FALSE(order_id.empty()) << card->body;
  httplib::Result balance = Get("/api/v1/balance", token);
  for (int i = 0; i < 50 && balance->body.find("\"availableYen\":\"1000\"") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    balance = Get("/api/v1/balance", token);
  }
  EXPECT_NE(balance->body.find("\"availableYen\":\"1000\""), std::string::npos) << balance->body;
  auto replay = Send("POST", "/api/v1/charge/orders", token,
                     R"({"denomination":"DENOMINATION_1000","method":"PAYMENT_METHOD_CARD",)"
                     R"("paymentToken":"tok_visa"})",
                     "card-order-1");
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 200);
  EXPECT_EQ(Field(replay->body, "orderId"), order_id);
  EXPECT_NE(replay->body.find("\"replayed\":true"), std::string::npos) << replay->body;

  auto history = Get("/api/v1/charge/orders", token);
  ASSERT_TRUE(history);
  EXPECT_EQ(history->status, 200);
  EXPECT_NE(history->body.find(order_id), std::string::npos);
  auto detail = Get("/api/v1/charge/orders/" + order_id, token);
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->status, 200);
  EXPECT_NE(detail->body.find("\"transitions\""), std::string::npos);

  auto paypal = Send("POST", "/api/v1/charge/orders", token,
                     R"({"denomination":"DENOMINATION_500","method":"PAYMENT_METHOD_PAYPAL"})",
                     "paypal-order-1");
  ASSERT_TRUE(paypal);
  ASSERT_EQ(paypal->status, 200) << paypal->body;
  EXPECT_NE(paypal->body.find("KIND_REDIRECT"), std::string::npos) << paypal->body;
  const std::string paypal_id = Field(paypal->body, "orderId");
  auto back = Send("POST", "/api/v1/charge/orders/" + paypal_id + "/complete", token, "{}");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, 200) << back->body;
  auto cancel =
      Send("POST", "/api/v1/charge/orders/" + paypal_id + "/cancel", token, "{}", "cancel-1");
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 200) << cancel->body;
  EXPECT_NE(cancel->body.find("ORDER_STATE_CANCELLED"), std::string::npos);
  // FAILED_PRECONDITION -> 400: a paid order cannot be cancelled (P5).
  auto paid_cancel =
      Send("POST", "/api/v1/charge/orders/" + order_id + "/cancel", token, "{}", "cancel-2");
  ASSERT_TRUE(paid_cancel);
  EXPECT_EQ(paid_cancel->status, 400);
  EXPECT_EQ(Reason(paid_cancel), "ORDER_ALREADY_PAID");

  Secrets().insert("correct horse battery");
  Secrets().insert("not it at all");
  Secrets().insert("another one 123");
  auto password = Send("PUT", "/api/v1/qsign-password", token,
                       R"({"newPassword":"correct horse battery"})", "qsign-1");
  ASSERT_TRUE(password);
  EXPECT_EQ(password->status, 200) << password->body;
  // Qmoney pays with the Q-sign password (P3): the funds move inside the ledger.
  {
    grpc::ClientContext context;
    context.AddMetadata("x-qcash-caller", "settlement");
    pb::CreditInternalFundsRequest funds;
    funds.set_seller_id(seller);
    funds.set_idempotency_key("qmoney-" + seller);
    funds.set_account(pb::FUNDS_ACCOUNT_QMONEY);
    funds.set_amount_yen(5'000);
    funds.set_settlement_reference("settlement-1");
    pb::CreditInternalFundsResponse funded;
    ASSERT_TRUE(env->wallet->CreditInternalFunds(&context, funds, &funded).ok());
  }
  auto qmoney = Send("POST", "/api/v1/charge/orders", token,
                     R"({"denomination":"DENOMINATION_3000","method":"PAYMENT_METHOD_QMONEY",)"
                     R"("qsignPassword":"correct horse battery"})",
                     "qmoney-order-1");
  ASSERT_TRUE(qmoney);
  ASSERT_EQ(qmoney->status, 200) << qmoney->body;
  EXPECT_NE(qmoney->body.find("ORDER_STATE_CREDITED"), std::string::npos) << qmoney->body;
  auto funded_balance = Get("/api/v1/balance", token);
  EXPECT_NE(funded_balance->body.find("\"qmoneyYen\":\"2000\""), std::string::npos)
      << funded_balance->body;
  auto wrong =
      Send("PUT", "/api/v1/qsign-password", token,
           R"({"currentPassword":"not it at all","newPassword":"another one 123"})", "qsign-2");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);  // PERMISSION_DENIED
  EXPECT_EQ(Reason(wrong), "WRONG_QSIGN_PASSWORD");
}

// Bad input at the edge: 400 and nothing stored.
TEST_F(GatewayApiTest, BadChargeRequestsStoreNothing) {
  const std::string seller = NewSeller();
  Fund(seller, 0);
  const std::string token = Token(seller);
  for (const auto& [body, reason] : std::vector<std::pair<std::string, std::string>>{
           {R"({"denomination":"DENOMINATION_1000","method":"bitcoin"})", "MALFORMED_JSON"},
           {R"({"denomination":1234,"method":"PAYMENT_METHOD_CARD","paymentToken":"tok_visa"})",
            "UNKNOWN_DENOMINATION"},
           {R"({"denomination":"DENOMINATION_1000","method":"PAYMENT_METHOD_CARD","extra":1})",
            "MALFORMED_JSON"},
           {R"({"denomination":"DENOMINATION_1000","method":"PAYMENT_METHOD_CARD",)"
            R"("sellerId":"someone-else"})",
            "SELLER_ID_FROM_TOKEN"},
           {"{\"denomination\":\"DENOMINATION_1000\",\"method\":\"\xff\"}", "INVALID_UTF8"},
           // Issue 10: the last of two `denomination`s was charged.
           {R"({"denomination":"DENOMINATION_1000","method":"PAYMENT_METHOD_CARD",)"
            R"("paymentToken":"tok_visa","denomination":"DENOMINATION_10000"})",
            "DUPLICATE_JSON_KEY"},
           {"", "BODY_MISSING"},
       }) {
    auto response = Send("POST", "/api/v1/charge/orders", token, body, "bad-" + reason);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << body << " " << response->body;
    EXPECT_EQ(Reason(response), reason) << body;
  }
  auto orders = Get("/api/v1/charge/orders", token);
  ASSERT_TRUE(orders);
  EXPECT_EQ(orders->status, 200);
  EXPECT_EQ(orders->body.find("orderId"), std::string::npos) << orders->body;
}

// A token for seller A reaches none of seller B's orders.
TEST_F(GatewayApiTest, SellerACannotSeeSellerBOrders) {
  const std::string a = NewSeller();
  const std::string b = NewSeller();
  Fund(a, 0);
  Fund(b, 0);
  auto order = Send(
      "POST", "/api/v1/charge/orders", Token(b),
      R"({"denomination":"DENOMINATION_100","method":"PAYMENT_METHOD_BANK_TRANSFER"})", "b-order");
  ASSERT_TRUE(order);
  ASSERT_EQ(order->status, 200) << order->body;
  const std::string b_order = Field(order->body, "orderId");
  auto peek = Get("/api/v1/charge/orders/" + b_order, Token(a));
  ASSERT_TRUE(peek);
  EXPECT_EQ(peek->status, 404);
  auto cancel = Send("POST", "/api/v1/charge/orders/" + b_order + "/cancel", Token(a), "{}", "x");
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 404);
  auto still = Get("/api/v1/charge/orders/" + b_order, Token(b));
  ASSERT_TRUE(still);
  EXPECT_NE(still->body.find("ORDER_STATE_AWAITING_PAYMENT"), std::string::npos) << still->body;
}

// CSRF: a cookie-authenticated change needs the page's token.
TEST_F(GatewayApiTest, CookieCallersNeedTheCsrfToken) {
  const std::string seller = NewSeller();
  auto login =
      Client().Post("/dev/login", "seller_id=" + seller, "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  std::string session, csrf;
  for (const auto& [name, value] : login->headers) {
    if (name != "Set-Cookie") continue;
    if (value.rfind("qcash_session=", 0) == 0) session = value.substr(0, value.find(';'));
    if (value.rfind("qcash_csrf=", 0) == 0) csrf = value.substr(11, value.find(';') - 11);
  }
  Secrets().insert("csrf test password");
  Secrets().insert(session.substr(session.find('=') + 1));
  const std::string body = R"({"newPassword":"csrf test password"})";
  auto forged =
      Client().Put("/api/v1/qsign-password", {{"Cookie", session}, {"Idempotency-Key", "csrf-1"}},
                   body, "application/json");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);
  EXPECT_EQ(Reason(forged), "CSRF_TOKEN_INVALID");
  auto genuine =
      Client().Put("/api/v1/qsign-password",
                   {{"Cookie", session}, {"Idempotency-Key", "csrf-2"}, {"X-CSRF-Token", csrf}},
                   body, "application/json");
  ASSERT_TRUE(genuine);
  EXPECT_EQ(genuine->status, 200) << genuine->body;
}

// A forged provider notification: refused, and the order does not move.
TEST_F(GatewayApiTest, ForgedWebhookIsRejectedAndChangesNothing) {
  const std::string seller = NewSeller();
  Fund(seller, 0);
  const std::string token = Token(seller);
  auto order =
      Send("POST", "/api/v1/charge/orders", token,
           R"({"denomination":"DENOMINATION_1000","method":"PAYMENT_METHOD_BANK_TRANSFER"})",
           "forge-order");
  ASSERT_TRUE(order);
  ASSERT_EQ(order->status, 200) << order->body;
  const std::string order_id = Field(order->body, "orderId");
  const std::string body =
      absl::StrCat(R"({"event_id":"evt_forged_1","type":"payment.paid","created_unix":")",
                   absl::ToUnixSeconds(absl::Now()),
                   R"(","payment":{"payment_id":"pay_x","merchant_reference":")", order_id,
                   R"(","amount_yen":"1000","currency":"JPY","status":"paid"}})");
  auto forged =
      Client().Post("/webhooks/bank_transfer",
                    {{"X-Qcash-Timestamp", absl::StrCat(absl::ToUnixSeconds(absl::Now()))},
                     {"X-Qcash-Signature", "v1=" + std::string(64, 'a')}},
                    body, "application/json");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401) << forged->body;
  EXPECT_EQ(Reason(forged), "INVALID_SIGNATURE");
  auto unsigned_ = Client().Post("/webhooks/bank_transfer", body, "application/json");
  ASSERT_TRUE(unsigned_);
  EXPECT_EQ(unsigned_->status, 401);
  auto after = Get("/api/v1/charge/orders/" + order_id, token);
  ASSERT_TRUE(after);
  EXPECT_NE(after->body.find("ORDER_STATE_AWAITING_PAYMENT"), std::string::npos) << after->body;
  auto balance = Get("/api/v1/balance", token);
  EXPECT_NE(balance->body.find("\"availableYen\":\"0\""), std::string::npos);
}

// Service points through the API.
TEST_F(GatewayApiTest, PointsEndpoints) {
  const std::string seller = NewSeller();
  Fund(seller, 0);
  const std::string token = Token(seller);
  auto summary = Get("/api/v1/points/summary", token);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->status, 200) << summary->body;
  EXPECT_NE(summary->body.find("\"convertiblePoints\":\"0\""), std::string::npos) << summary->body;
  auto convert = Send("POST", "/api/v1/points/conversions", token, "{}", "convert-1");
  ASSERT_TRUE(convert);
  EXPECT_EQ(convert->status, 400);  // FAILED_PRECONDITION: nothing to convert
  EXPECT_EQ(Reason(convert), "POINTS_BELOW_MINIMUM");
  auto products = Get("/api/v1/points/products?period.month.year=2026&period.month.month=1", token);
  ASSERT_TRUE(products);
  EXPECT_EQ(products->status, 200) << products->body;
  auto shipping = Get("/api/v1/points/products/P-1/shipping", token);
  ASSERT_TRUE(shipping);
  EXPECT_EQ(shipping->status, 200) << shipping->body;
  auto past = Get("/api/v1/points/past?period.month.year=2019&period.month.month=6", token);
  ASSERT_TRUE(past);
  EXPECT_EQ(past->status, 200) << past->body;
  auto crossing =
      Get("/api/v1/points/products?period.dates.from.year=2019&period.dates.from.month=6&"
          "period.dates.from.day=20&period.dates.to.year=2019&period.dates.to.month=7&"
          "period.dates.to.day=10",
          token);
  ASSERT_TRUE(crossing);
  EXPECT_EQ(crossing->status, 400);
  EXPECT_EQ(Reason(crossing), "USE_PAST_SERVICE_POINTS_VIEW");
}

TEST_F(GatewayApiTest, MetricsCountRequestsByRouteNotBySeller) {
  const std::string seller = NewSeller();
  Fund(seller, 0);
  ASSERT_TRUE(Get("/api/v1/balance", Token(seller)));
  ASSERT_TRUE(Get("/api/v1/balance?sellerId=x", Token(seller)));
  httplib::Client metrics("127.0.0.1", env->metrics_port);
  auto response = metrics.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find(
                "qcash_http_requests_total{route=\"GET /api/v1/balance\",status=\"200\"}"),
            std::string::npos)
      << response->body;
  EXPECT_NE(response->body.find(
                "qcash_http_requests_total{route=\"GET /api/v1/balance\",status=\"400\"}"),
            std::string::npos);
  EXPECT_NE(response->body.find("qcash_http_request_seconds_bucket"), std::string::npos);
  EXPECT_EQ(response->body.find(seller), std::string::npos) << "a seller id became a label";
}

}  // namespace
}  // namespace qcash::testing

namespace qcash::testing {
namespace {

// Runs last (gtest keeps the file's order): every log line every process of this run wrote, the
// database's and Redis's included, holds none of the Q-sign passwords, seller tokens, session
// cookies or secrets the run used.
TEST_F(GatewayApiTest, ZzLogsOfTheWholeRunHoldNoSecret) {
  ASSERT_GT(Secrets().size(), 5u);
  Secrets().insert("test-csrf-secret-of-at-least-32-bytes");
  auto file_text = [](const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  };
  // The Redis passwords and the wallet's replay key.
  for (const std::string& secret :
       {file_text(env->stack->redis->PasswordFile("wallet")),
        file_text(env->stack->gateway_redis->PasswordFile("gateway")),
        file_text(env->stack->wallet_env.at("QCASH_WALLET_REPLAY_KEY_FILE"))}) {
    ASSERT_GE(secret.size(), 16u) << "a secret file was not read";
    Secrets().insert(secret);
  }
  for (const char* provider : {"card", "paypal", "bank_transfer", "konbini"}) {
    Secrets().insert(std::string("test-secret-of-") + provider);
  }
  size_t files = 0, bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(env->stack->dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".log") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string log = text.str();
    ++files;
    bytes += log.size();
    for (const std::string& secret : Secrets()) {
      EXPECT_EQ(log.find(secret), std::string::npos)
          << entry.path() << " contains a secret: " << secret.substr(0, 12) << "...";
    }
  }
  EXPECT_GE(files, 6u);  // wallet, payment, sandbox, points, gateway, postgres, redis
  EXPECT_GT(bytes, 10'000u);
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::GatewayEnvironment());
  return RUN_ALL_TESTS();
}
