// The gateway's pure parts: error mapping, HTTP -> protobuf transcoding, the OpenAPI file, CSRF,
// the seller pages as composed from their one layout.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/redis.h"
#include "common/status.h"
#include "gateway/assets.h"
#include "gateway/auth.h"
#include "gateway/errors.h"
#include "gateway/openapi.h"
#include "gateway/paperwork.h"
#include "gateway/rate_limit.h"
#include "gateway/transcode.h"
#include "qcash/gateway/v1/error_reason.pb.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "qcash/payment/v1/payment.pb.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "qcash/points/v1/points.pb.h"
#include "qcash/wallet/v1/error_reason.pb.h"
#include "qcash/wallet/v1/wallet.pb.h"

namespace qcash::gateway {
namespace {

using BuildResult = absl::StatusOr<std::unique_ptr<google::protobuf::Message>>;

const Route& RouteFor(const std::string& path) {
  for (const Route& r : Routes()) {
    if (r.path == path) return r;
  }
  ADD_FAILURE() << "no route " << path;
  return Routes().front();
}

TEST(GatewayErrorsTest, CodesMapLikeGrpcGateway) {
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kFailedPrecondition), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kAborted), 409);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInternal), 500);
}

TEST(GatewayErrorsTest, BodyIsGoogleRpcStatusJsonWithReasonJapaneseMessageAndRequestId) {
  const std::string body = ErrorBody(
      FailedPrecondition(wallet::v1::INSUFFICIENT_FUNDS, "not enough"), "gateway.qcash", "req-123");
  EXPECT_NE(body.find("\"code\":9"), std::string::npos) << body;
  EXPECT_NE(body.find("\"message\":\"残高が足りません。"), std::string::npos) << body;
  EXPECT_NE(body.find("\"reason\":\"INSUFFICIENT_FUNDS\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"domain\":\"gateway.qcash\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"requestId\":\"req-123\""), std::string::npos) << body;
  EXPECT_NE(body.find("type.googleapis.com/google.rpc.ErrorInfo"), std::string::npos) << body;
  EXPECT_EQ(body.find("not enough"), std::string::npos) << body;
  // The two-argument form (the call sites not yet switched) leaves the request id out.
  EXPECT_EQ(
      ErrorBody(NotFound(payment::v1::ORDER_NOT_FOUND, "x"), "gateway.qcash", "").find("requestId"),
      std::string::npos);
}

// Issue 10 / DESIGN 7: PostgreSQL text (with DETAIL) and gRPC transport text reached sellers.
// Every reason with a Japanese message is one some contract documents (AIP-193 enums), so a
// renamed or removed reason cannot leave a message behind that no error ever shows.
TEST(GatewayErrorsTest, EveryMessageIsForADocumentedReason) {
  const google::protobuf::EnumDescriptor* enums[] = {
      gateway::v1::ErrorReason_descriptor(), common::v1::ErrorReason_descriptor(),
      wallet::v1::ErrorReason_descriptor(), payment::v1::ErrorReason_descriptor(),
      points::v1::ErrorReason_descriptor()};
  const std::vector<absl::string_view> reasons = ReasonsWithMessages();
  EXPECT_GT(reasons.size(), 50u);
  for (absl::string_view reason : reasons) {
    bool documented = false;
    for (const google::protobuf::EnumDescriptor* e : enums) {
      const google::protobuf::EnumValueDescriptor* value = e->FindValueByName(std::string(reason));
      documented = documented || (value != nullptr && value->number() != 0);
    }
    EXPECT_TRUE(documented) << reason << " has a message but no ErrorReason enum lists it";
  }
}

// The seller pages switch on these; their message must not fall back to the generic one.
TEST(GatewayErrorsTest, ReasonsSellersMeetHaveTheirOwnMessage) {
  for (absl::string_view reason :
       {gateway::v1::ErrorReason_Name(gateway::v1::NO_TOKEN),
        common::v1::ErrorReason_Name(common::v1::SELLER_MISMATCH),
        common::v1::ErrorReason_Name(common::v1::OVERLOADED),
        wallet::v1::ErrorReason_Name(wallet::v1::INSUFFICIENT_FUNDS),
        payment::v1::ErrorReason_Name(payment::v1::QSIGN_LOCKED),
        payment::v1::ErrorReason_Name(payment::v1::DEBT_OUTSTANDING),
        points::v1::ErrorReason_Name(points::v1::OUTSIDE_CONVERSION_WINDOW)}) {
    EXPECT_NE(SellerMessage(reason, absl::StatusCode::kUnavailable),
              SellerMessage("", absl::StatusCode::kUnavailable))
        << reason;
  }
}

// The Q-sign refusals say what the seller can do next: how many tries are left, and until
// when (Japan time, rounded up to the minute) the lock lasts; the facts also reach programs.
TEST(GatewayErrorsTest, QsignMessagesCarryAttemptsLeftAndTheLockInJapanTime) {
  const absl::Status wrong =
      WithMetadata(PermissionDenied(payment::v1::WRONG_QSIGN_PASSWORD, "wrong Q-sign password"),
                   "attempts_left", "2");
  EXPECT_EQ(SellerMessageFor(wrong, "WRONG_QSIGN_PASSWORD"),
            "Qサインパスワードが正しくありません。あと2回間違えると、Qmoney・精算予定金でのお支払い"
            "が一時的にご利用いただけなくなります。");
  const absl::Status locked = WithMetadata(
      FailedPrecondition(payment::v1::QSIGN_LOCKED, "locked until 2026-11-30T05:07:10Z"),
      "locked_until", "2026-11-30T05:07:10Z");
  const std::string message = SellerMessageFor(locked, "QSIGN_LOCKED");
  EXPECT_NE(message.find("2026/11/30 14:08（日本時間）まで"), std::string::npos) << message;
  EXPECT_EQ(message.find("05:07"), std::string::npos) << "never UTC: " << message;
  const std::string body = ErrorBody(locked, "gateway.qcash", "req-1");
  EXPECT_NE(body.find("\"lockedUntil\":\"2026-11-30T05:07:10Z\""), std::string::npos) << body;
  EXPECT_EQ(body.find("locked until"), std::string::npos) << "internal text leaked: " << body;
  // Without the facts (an older payment service), or with nonsense, the plain message.
  for (const absl::Status& plain :
       {PermissionDenied(payment::v1::WRONG_QSIGN_PASSWORD, "wrong"),
        WithMetadata(PermissionDenied(payment::v1::WRONG_QSIGN_PASSWORD, "wrong"), "attempts_left",
                     "many")}) {
    EXPECT_EQ(SellerMessageFor(plain, "WRONG_QSIGN_PASSWORD"),
              SellerMessage("WRONG_QSIGN_PASSWORD", absl::StatusCode::kPermissionDenied));
  }
}

// Issue 16: a pay-later order while a reversed payment left a debt. The seller reads why (the
// debt, 未回収額) and what to do (another method; the debt is paid by the next credits), in
// Japanese only. A provider's over-large reversal is refused to the provider's notification,
// never to a seller: it has no seller message of its own.
TEST(GatewayErrorsTest, DebtOutstandingSaysWhyPayLaterIsRefusedAndWhatToDo) {
  const std::string message(
      SellerMessage("DEBT_OUTSTANDING", absl::StatusCode::kFailedPrecondition));
  for (const char* words : {"未回収額", "後払い", "Atone", "ペイディ", "別のお支払い方法",
                            "チャージやサービスポイントの交換"}) {
    EXPECT_NE(message.find(words), std::string::npos) << words << ": " << message;
  }
  const std::string body =
      ErrorBody(FailedPrecondition(payment::v1::DEBT_OUTSTANDING,
                                   "seller s1 owes 1200 yen: pay-later refused"),
                "gateway.qcash", "req-9");
  EXPECT_NE(body.find("\"reason\":\"DEBT_OUTSTANDING\""), std::string::npos) << body;
  EXPECT_NE(body.find(message), std::string::npos) << body;
  EXPECT_EQ(body.find("owes"), std::string::npos) << "internal text leaked: " << body;
  const std::vector<absl::string_view> reasons = ReasonsWithMessages();
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "REVERSAL_EXCEEDS_ORDER"), 0);
}

TEST(PaperworkTest, DocumentNamesAreStrict) {
  std::string name;
  std::string extension;
  EXPECT_TRUE(SplitDocumentName("co_0123abcd.pdf", &name, &extension));
  EXPECT_EQ(name, "co_0123abcd");
  EXPECT_EQ(extension, "pdf");
  EXPECT_TRUE(SplitDocumentName("2026-11.csv", &name, &extension));
  EXPECT_EQ(name, "2026-11");
  for (const char* bad : {"", ".pdf", "co_1", "co_1.exe", "co_1.PDF", "co 1.pdf", "../x.pdf",
                          "co_1.pdf.pdf", "%2e%2e.pdf", "a.b.csv"}) {
    EXPECT_FALSE(SplitDocumentName(bad, &name, &extension)) << bad;
  }
  EXPECT_FALSE(SplitDocumentName(std::string(65, 'a') + ".pdf", &name, &extension));
  EXPECT_TRUE(IsStatementMonth("2026-01"));
  EXPECT_TRUE(IsStatementMonth("2026-12"));
  for (const char* bad : {"2026-00", "2026-13", "1999-12", "3000-01", "2026-1", "2026/11",
                          "+026-11", "２０２６-11", "2026-1a"}) {
    EXPECT_FALSE(IsStatementMonth(bad)) << bad;
  }
}

TEST(PaperworkTest, EveryMethodAndProductHasItsJapaneseName) {
  for (int m = payment::v1::PAYMENT_METHOD_ATONE;
       m <= payment::v1::PAYMENT_METHOD_PENDING_SETTLEMENT; ++m) {
    EXPECT_FALSE(PaymentMethodLabel(static_cast<payment::v1::PaymentMethod>(m)).empty()) << m;
  }
  EXPECT_EQ(PaymentMethodLabel(payment::v1::PAYMENT_METHOD_BANK_TRANSFER), "銀行振込");
  for (int p = wallet::v1::AD_PRODUCT_GROUP_BUYING; p <= wallet::v1::AD_PRODUCT_PREMIUM_DISPLAY;
       ++p) {
    EXPECT_FALSE(AdProductLabel(static_cast<wallet::v1::AdProduct>(p)).empty()) << p;
  }
  EXPECT_EQ(VoucherLabel(1000), "Qキャッシュ(1000Qキャッシュのチャージ)");
}

// A receipt of a payment the provider took back (issue 16) says how much and why, each kind
// once; the amount received stays what was paid.
TEST(PaperworkTest, ReceiptOfAReversedOrderNamesTheAmountAndTheKinds) {
  payment::v1::IssueReceiptResponse issued;
  payment::v1::ChargeOrder* order = issued.mutable_order();
  order->set_order_id("co_1");
  order->set_amount_yen(5'000);
  order->set_reversed_yen(3'500);
  for (const auto& [kind, yen] : std::vector<std::pair<payment::v1::ReversalKind, int64_t>>{
           {payment::v1::REVERSAL_KIND_CHARGEBACK, 1'000},
           {payment::v1::REVERSAL_KIND_REFUND, 500},
           {payment::v1::REVERSAL_KIND_CHARGEBACK, 2'000}}) {
    payment::v1::Reversal* r = order->add_reversals();
    r->set_kind(kind);
    r->set_amount_yen(yen);
  }
  const Receipt receipt = ReceiptOf(issued, Issuer{});
  EXPECT_EQ(receipt.amount_yen, 5'000);
  EXPECT_EQ(receipt.reversed_yen, 3'500);
  EXPECT_EQ(receipt.reversal_kinds, "チャージバック・返金");
  EXPECT_EQ(ReversalKindLabel(payment::v1::REVERSAL_KIND_DEFAULT), "後払い未払い");
  EXPECT_EQ(ReversalKindLabel(payment::v1::REVERSAL_KIND_UNSPECIFIED), "");
  order->clear_reversals();
  order->set_reversed_yen(0);
  EXPECT_EQ(ReceiptOf(issued, Issuer{}).reversed_yen, 0);
  EXPECT_EQ(ReceiptOf(issued, Issuer{}).reversal_kinds, "");
}

// The entries of a reversed payment (issue 16) have the history page's words, and the page's
// script and filter list use the same ones.
TEST(PaperworkTest, ReversalEntriesHaveTheHistoryWords) {
  const Asset* script = FindAsset("app.js");
  const Asset* history = FindAsset("history.html");
  ASSERT_NE(script, nullptr);
  ASSERT_NE(history, nullptr);
  for (const auto& [type, words] : std::vector<std::pair<wallet::v1::EntryType, std::string>>{
           {wallet::v1::ENTRY_TYPE_CLAWBACK, "お支払い取り消しによる回収"},
           {wallet::v1::ENTRY_TYPE_DEBT, "未回収額の発生"},
           {wallet::v1::ENTRY_TYPE_DEBT_RECOVERY, "未回収額への充当"}}) {
    const std::string name = wallet::v1::EntryType_Name(type);
    EXPECT_EQ(EntryKindLabel(type), words) << name;
    EXPECT_NE(script->body.find(absl::StrCat(name, ": '", words, "'")), std::string::npos) << name;
    EXPECT_NE(history->body.find(absl::StrCat("<option value=\"", name, "\">", words, "</option>")),
              std::string::npos)
        << name;
  }
}

// Every page's lines in order, the totals of the first page, and a closed month issued at its
// end whatever the time of the download (so the document is the same at every download).
TEST(PaperworkTest, StatementOfJoinsThePagesAndFixesTheIssueDateOfAClosedMonth) {
  std::vector<wallet::v1::GetMonthlyStatementResponse> pages(2);
  pages[0].set_month("2026-10");
  pages[0].mutable_period_start()->set_seconds(1790780400);  // 2026-10-01 00:00 JST
  pages[0].mutable_period_end()->set_seconds(1793458800);    // 2026-11-01 00:00 JST
  pages[0].set_closed(true);
  pages[0].set_total_yen(3000);
  pages[0].set_free_yen(500);
  pages[0].set_taxable_yen(2500);
  pages[0].set_tax_rate_percent(10);
  pages[0].set_tax_yen(227);
  auto* product = pages[0].add_products();
  product->set_product(wallet::v1::AD_PRODUCT_TIME_SALE);
  product->set_amount_yen(3000);
  pages[1] = pages[0];  // every page carries the month's totals
  for (int i = 0; i < 3; ++i) {
    auto* line = pages[i < 2 ? 0 : 1].add_lines();
    line->set_entry_seq(10 + i);
    line->set_type(wallet::v1::ENTRY_TYPE_AD_CAPTURE);
    line->set_product(wallet::v1::AD_PRODUCT_TIME_SALE);
    line->set_reference(absl::StrCat("bk-", i));
    line->set_amount_yen(1000);
  }
  const Issuer issuer{"発行者", "住所", "T7123456789012"};
  const Statement a = StatementOf(pages, "seller-1", issuer, absl::FromUnixSeconds(1795000000));
  const Statement b = StatementOf(pages, "seller-1", issuer, absl::FromUnixSeconds(1796000000));
  ASSERT_EQ(a.lines.size(), 3U);
  EXPECT_EQ(a.lines[2].reference, "bk-2");
  EXPECT_EQ(a.lines[0].kind_label, "広告承認（使用）");
  EXPECT_EQ(a.lines[0].product_label, "タイムセール掲載");
  EXPECT_EQ(a.tax_yen, 227);
  EXPECT_EQ(a.issued_at, absl::FromUnixSeconds(1793458800));
  EXPECT_EQ(a.issued_at, b.issued_at);
  ASSERT_EQ(a.products.size(), 1U);
  EXPECT_EQ(a.products[0].product_label, "タイムセール掲載");
  pages[1].set_closed(false);
  EXPECT_EQ(StatementOf(pages, "seller-1", issuer, absl::FromUnixSeconds(1795000000)).issued_at,
            absl::FromUnixSeconds(1795000000));
}

TEST(GatewayErrorsTest, RetryAfterComesFromTheStatusInWholeSeconds) {
  const absl::Status busy = Unavailable(payment::v1::QSIGN_BUSY, "every hashing slot is taken");
  EXPECT_EQ(RetryAfterSeconds(busy), 0) << "no delay attached, no header";
  EXPECT_EQ(RetryAfterSeconds(WithRetryAfter(busy, absl::Milliseconds(200))), 1);
  EXPECT_EQ(RetryAfterSeconds(WithRetryAfter(busy, absl::Milliseconds(2500))), 3);
  EXPECT_EQ(RetryAfterSeconds(WithRetryAfter(busy, absl::Seconds(60))), 60);
}

TEST(GatewayErrorsTest, InternalTextNeverReachesTheBody) {
  const std::vector<absl::Status> leaks = {
      Internal(common::v1::DATABASE_ERROR,
               "ERROR:  duplicate key value violates unique constraint \"points_keys_pkey\"\n"
               "DETAIL:  Key (key)=(k-1) already exists.\nINSERT INTO conversions VALUES ($1)"),
      Unavailable(payment::v1::WALLET_UNAVAILABLE,
                  "failed to connect to all addresses; last error: UNKNOWN: "
                  "ipv4:127.0.0.1:50053: Failed to connect to remote host: Connection refused"),
      absl::UnavailableError("failed to connect to all addresses ... 127.0.0.1:50053"),
      InvalidArgument(gateway::v1::MALFORMED_JSON, "INVALID_ARGUMENT:Unexpected token.\n{\"a\": ^"),
  };
  for (const absl::Status& status : leaks) {
    const std::string body = ErrorBody(status, "gateway.qcash", "r1");
    for (const char* secret : {"DETAIL", "INSERT", "duplicate key", "points_keys_pkey", "127.0.0.1",
                               "50053", "failed to connect", "ipv4", "Unexpected token"}) {
      EXPECT_EQ(body.find(secret), std::string::npos) << secret << " in " << body;
    }
    EXPECT_NE(body.find("\"requestId\":\"r1\""), std::string::npos) << body;
  }
  // An unknown reason (from a newer service) gets the generic Japanese text of its status class.
  const std::string generic = ErrorBody(
      ReceivedError(absl::StatusCode::kUnavailable, "SOMETHING_NEW", "x at 10.0.0.7"), "g", "r");
  EXPECT_NE(generic.find("\"message\":\"ただいまサービスを利用できません。"), std::string::npos)
      << generic;
  EXPECT_NE(generic.find("\"reason\":\"SOMETHING_NEW\""), std::string::npos) << generic;
  // A reason, domain or request id that is not a plain identifier is not passed on.
  absl::Status odd = ReceivedError(absl::StatusCode::kInternal, "DROP TABLE x; --", "y");
  odd.SetPayload("type.qcash/domain", absl::Cord("<script>"));
  const std::string sanitised = ErrorBody(odd, "gateway.qcash", "id\"with<quote>");
  EXPECT_NE(sanitised.find("\"reason\":\"UNSPECIFIED\""), std::string::npos) << sanitised;
  EXPECT_NE(sanitised.find("\"domain\":\"gateway.qcash\""), std::string::npos) << sanitised;
  EXPECT_EQ(sanitised.find("requestId"), std::string::npos) << sanitised;
}

TEST(TranscodeTest, QueryBecomesTheRequestAndTheSellerComesFromTheToken) {
  HttpInput in;
  in.method = "GET";
  in.query = {{"pageSize", "20"},
              {"types", "ENTRY_TYPE_CHARGE"},
              {"types", "ENTRY_TYPE_AD_SPEND"},
              {"from", "2026-11-01T00:00:00+09:00"}};
  auto message = BuildRequest(RouteFor("/api/v1/history"), in, "shop-1");
  ASSERT_TRUE(message.ok()) << message.status();
  const auto& request = static_cast<const wallet::v1::ListHistoryRequest&>(**message);
  EXPECT_EQ(request.seller_id(), "shop-1");
  EXPECT_EQ(request.page_size(), 20);
  ASSERT_EQ(request.types_size(), 2);
  EXPECT_EQ(request.types(1), wallet::v1::ENTRY_TYPE_AD_SPEND);
  EXPECT_EQ(request.from().seconds(), 1'793'458'800);  // 2026-10-31T15:00:00Z
}

// Which lots paid for a movement: the entry's seq from the query, the seller from the token.
TEST(TranscodeTest, EntryLotsTakeTheEntrySeqFromTheQuery) {
  HttpInput in;
  in.method = "GET";
  in.query = {{"entrySeq", "42"}};
  auto message = BuildRequest(RouteFor("/api/v1/history/lots"), in, "shop-1");
  ASSERT_TRUE(message.ok()) << message.status();
  const auto& request = static_cast<const wallet::v1::GetEntryLotsRequest&>(**message);
  EXPECT_EQ(request.seller_id(), "shop-1");
  EXPECT_EQ(request.entry_seq(), 42);
}

TEST(TranscodeTest, NestedFieldsTakeDottedNames) {
  HttpInput in;
  in.method = "GET";
  in.query = {{"period.month.year", "2026"},
              {"period.month.month", "10"},
              {"filter.category", "本・雑誌"},
              {"pageSize", "5"}};
  auto message = BuildRequest(RouteFor("/api/v1/points/products"), in, "shop-1");
  ASSERT_TRUE(message.ok()) << message.status();
  const auto& request = static_cast<const points::v1::ListProductPointsRequest&>(**message);
  EXPECT_EQ(request.seller_id(), "shop-1");
  EXPECT_EQ(request.period().month().year(), 2026);
  EXPECT_EQ(request.period().month().month(), 10);
  EXPECT_EQ(request.filter().category(), "本・雑誌");
  EXPECT_EQ(request.page_size(), 5);
  for (const auto& [key, reason] : std::vector<std::pair<std::string, std::string>>{
           {"period.month", "INVALID_PARAMETER"},  // a group, not a field
           {"period.month.week", "UNKNOWN_PARAMETER"},
           {"period.month.year.x", "UNKNOWN_PARAMETER"},
           {"filter.sellerId", "UNKNOWN_PARAMETER"}}) {
    HttpInput bad;
    bad.method = "GET";
    bad.query = {{key, "1"}};
    auto refused = BuildRequest(RouteFor("/api/v1/points/products"), bad, "shop-1");
    ASSERT_FALSE(refused.ok()) << key;
    EXPECT_EQ(ReasonOf(refused.status()), reason) << key;
  }
}

TEST(TranscodeTest, PathParametersFillTheirFields) {
  HttpInput in;
  in.method = "GET";
  in.path_params = {{"product_no", "P-100"}};
  auto message = BuildRequest(RouteFor("/api/v1/points/products/{product_no}/shipping"), in, "s");
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(static_cast<const points::v1::GetProductShippingDetailRequest&>(**message).product_no(),
            "P-100");
}

TEST(TranscodeTest, RefusesWhatItCannotTrust) {
  const Route& history = RouteFor("/api/v1/history");
  struct Case {
    std::multimap<std::string, std::string> query;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {{{"sellerId", "someone-else"}}, "SELLER_ID_FROM_TOKEN"},
           {{{"seller_id", "someone-else"}}, "SELLER_ID_FROM_TOKEN"},
           {{{"bogus", "1"}}, "UNKNOWN_PARAMETER"},
           {{{"pageSize", "1e99"}}, "MALFORMED_JSON"},
           {{{"pageSize", "99999999999999999999"}}, "MALFORMED_JSON"},
           {{{"types", "ENTRY_TYPE_BITCOIN"}}, "MALFORMED_JSON"},
           {{{"pageToken", "\xff\xfe"}}, "INVALID_UTF8"},
           {{{"pageSize", "1"}, {"pageSize", "2"}}, "INVALID_PARAMETER"},
       }) {
    HttpInput in;
    in.method = "GET";
    in.query = c.query;
    auto message = BuildRequest(history, in, "shop-1");
    ASSERT_FALSE(message.ok()) << c.reason;
    EXPECT_EQ(message.status().code(), absl::StatusCode::kInvalidArgument) << c.reason;
    EXPECT_EQ(ReasonOf(message.status()), c.reason) << message.status();
  }
}

TEST(TranscodeTest, JsonBodiesAreStrict) {
  Route post = RouteFor("/api/v1/history");  // any request type will do for the parser
  post.http_method = "POST";
  struct Case {
    std::string body;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {"{\"pageSize\": 5, \"unknownField\": 1}", "MALFORMED_JSON"},
           {"{\"pageSize\": \"five\"}", "MALFORMED_JSON"},
           {"{\"pageSize\": 3000000000}", "MALFORMED_JSON"},
           {"{not json", "MALFORMED_JSON"},
           {"{\"pageToken\": \"\xc3\x28\"}", "INVALID_UTF8"},
           {"{\"sellerId\": \"victim\"}", "SELLER_ID_FROM_TOKEN"},
       }) {
    HttpInput in;
    in.method = "POST";
    in.body = c.body;
    auto message = BuildRequest(post, in, "shop-1");
    ASSERT_FALSE(message.ok()) << c.body;
    EXPECT_EQ(ReasonOf(message.status()), c.reason) << c.body << ": " << message.status();
  }
  HttpInput ok;
  ok.method = "POST";
  ok.body = "{\"pageSize\": 5}";
  EXPECT_TRUE(BuildRequest(post, ok, "shop-1").ok());
}

BuildResult PostTo(const std::string& path, const std::string& body) {
  Route route = RouteFor(path);
  route.http_method = "POST";
  HttpInput in;
  in.method = "POST";
  in.body = body;
  return BuildRequest(route, in, "shop-1");
}

// Issue 10: with a key given twice the last one won (`denomination` twice charged the second).
TEST(TranscodeTest, DuplicateKeysAreRefusedAtAnyDepth) {
  const std::string charge = "/api/v1/charge/orders";
  const std::string products = "/api/v1/points/products";
  struct Case {
    std::string path;
    std::string body;
  };
  for (const Case& c : std::vector<Case>{
           {charge, R"({"denomination":"DENOMINATION_1000","method":"PAYMENT_METHOD_CARD",)"
                    R"("denomination":"DENOMINATION_10000"})"},
           // The same key spelled with an escape is the same key.
           {charge,
            R"({"denomination":"DENOMINATION_1000","denominatio\u006e":"DENOMINATION_5000"})"},
           // Two spellings of one field: the JSON name and the proto name.
           {charge, R"({"paymentToken":"a","payment_token":"b"})"},
           // Nested messages.
           {products, R"({"period":{"month":{"year":2026,"month":10,"year":2019}}})"},
           {products, R"({"period":{"month":{"year":2026}},"period":{"month":{"year":2019}}})"},
           {products, R"({"filter":{"category":"a","category":"b"}})"},
       }) {
    auto message = PostTo(c.path, c.body);
    ASSERT_FALSE(message.ok()) << c.body;
    EXPECT_EQ(ReasonOf(message.status()), "DUPLICATE_JSON_KEY") << c.body << message.status();
    EXPECT_EQ(message.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(HttpStatusFor(message.status().code()), 400);
  }
  // Equal keys in different objects are fine.
  auto ok = PostTo(products, R"({"period":{"month":{"year":2026,"month":10}},"pageSize":5})");
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST(TranscodeTest, EmptyBodiesSayTheBodyIsMissing) {
  for (const std::string& body : {std::string(), std::string(" \r\n\t")}) {
    auto message = PostTo("/api/v1/charge/orders", body);
    ASSERT_FALSE(message.ok());
    EXPECT_EQ(ReasonOf(message.status()), "BODY_MISSING") << message.status();
  }
  EXPECT_TRUE(PostTo("/api/v1/points/products", "{}").ok());
}

// Issue 10: protobuf's parser output (positions, fragments of the body) reached error bodies.
TEST(TranscodeTest, ParserOutputNeverReachesTheStatus) {
  for (const std::string& body :
       {std::string(R"({"pageSize": "five-SECRET"})"), std::string(R"({"bogusSECRET": 1})"),
        std::string("{not json SECRET"), std::string(R"({'pageSize': 1})"),
        std::string(R"({pageSize: 1})"), std::string(R"({"pageSize": 1,})"),
        std::string(R"({"pageSize": 01})"), std::string("[1] SECRET"),
        std::string(R"({"a":"\ud800SECRET"})"), std::string(100, '[') + std::string(100, ']')}) {
    auto message = PostTo("/api/v1/points/products", body);
    ASSERT_FALSE(message.ok()) << body;
    EXPECT_EQ(ReasonOf(message.status()), "MALFORMED_JSON") << body << message.status();
    const std::string text(message.status().message());
    EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
    EXPECT_EQ(text.find("pageSize"), std::string::npos) << text;
    EXPECT_EQ(text.find("qcash."), std::string::npos) << text;  // no type names either
  }
  // Valid JSON with escapes, numbers and nesting still passes the checker.
  auto ok = PostTo("/api/v1/points/products",
                   R"({"filter":{"category":"\u672c\/\"x\"\\ \ud83d\ude00"},"pageSize":1e1})");
  EXPECT_TRUE(ok.ok() || ReasonOf(ok.status()) == "MALFORMED_JSON") << ok.status();
  auto nested = PostTo("/api/v1/points/products", R"( {"filter" : {"category" : "本"} } )");
  EXPECT_TRUE(nested.ok()) << nested.status();
}

TEST(TranscodeTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("チャージ"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));  // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe3\x81"));  // truncated
  // Found by fuzz/transcode_fuzz.cc: accepted before, refused by the services' protobuf parser.
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong 3-byte '/'
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

// Found by fuzz/transcode_fuzz.cc: a path parameter (percent-decoded) or an Idempotency-Key
// that is not UTF-8 went into a proto3 string the service could not parse (a 500, not a 400).
TEST(TranscodeTest, PathParametersAndTheKeyHeaderMustBeUtf8) {
  const Route& complete = RouteFor("/api/v1/charge/orders/{order_id}/complete");
  HttpInput path;
  path.method = "POST";
  path.body = "{}";
  path.path_params = {{"order_id", "co_\xd1"}};
  auto refused = BuildRequest(complete, path, "shop-1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ReasonOf(refused.status()), "INVALID_UTF8");
  HttpInput key;
  key.method = "POST";
  key.body = "{}";
  key.idempotency_key = "\xff\xfekey";
  refused = BuildRequest(RouteFor("/api/v1/charge/orders"), key, "shop-1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ReasonOf(refused.status()), "INVALID_UTF8");
}

// Found while writing fuzz/route_fuzz.cc: the std::regex the gateway matched paths with recursed
// once per character and overflowed the stack from about 28,000 (a header limit the
// configuration allows); MatchPath is linear with a constant stack.
TEST(RoutesTest, MatchPathTakesOneSegmentPerParameterAtAnyLength) {
  std::vector<std::string> params;
  EXPECT_TRUE(MatchPath("/api/v1/charge/orders/{order_id}/complete",
                        "/api/v1/charge/orders/co_1/complete", &params));
  EXPECT_EQ(params, std::vector<std::string>{"co_1"});
  EXPECT_FALSE(MatchPath("/api/v1/charge/orders/{order_id}", "/api/v1/charge/orders/", &params));
  EXPECT_FALSE(MatchPath("/api/v1/charge/orders/{order_id}", "/api/v1/charge/orders/a/b", &params));
  EXPECT_FALSE(MatchPath("/api/v1/balance", "/api/v1/balance/", &params));
  const std::string long_id(1 << 20, 'x');
  EXPECT_TRUE(
      MatchPath("/api/v1/charge/orders/{order_id}", "/api/v1/charge/orders/" + long_id, &params));
  EXPECT_EQ(params, std::vector<std::string>{long_id});
  EXPECT_EQ(FindRoute("GET", "/static/" + long_id, &params), nullptr);
  const Route* route = FindRoute("POST", "/api/v1/charge/orders/co_1/cancel", &params);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->path, "/api/v1/charge/orders/{order_id}/cancel");
}

// The OpenAPI file in the repository is exactly what the routes and protos generate.
TEST(OpenApiTest, RepositoryCopyMatchesTheContracts) {
  std::ifstream in(QCASH_OPENAPI_JSON);
  ASSERT_TRUE(in) << "missing " << QCASH_OPENAPI_JSON;
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_EQ(committed.str(), GenerateOpenApi(Routes()))
      << "gateway/openapi.json is stale: regenerate it with "
         "build/gateway/qcash-openapi > gateway/openapi.json";
}

// Issue 16's fields reach the JSON API as proto3 JSON: the debt on the balance, the history
// and the charge options, the reversals of an order, the month's clawed-back amounts.
TEST(OpenApiTest, ReversalAndDebtFieldsAreDescribedAndPassedAsJson) {
  const std::string json = GenerateOpenApi(Routes());
  for (const char* field :
       {"\"debtYen\"", "\"debtAfterYen\"", "\"reversedYen\"", "\"reversals\"", "\"clawedBackYen\"",
        "\"debtRecoveredYen\"", "\"ENTRY_TYPE_DEBT_RECOVERY\"", "\"REVERSAL_KIND_CHARGEBACK\""}) {
    EXPECT_NE(json.find(field), std::string::npos) << field;
  }
  wallet::v1::GetBalanceResponse balance;
  balance.mutable_balance()->set_debt_yen(1'200);
  EXPECT_NE(ToJson(balance).find("\"debtYen\":\"1200\""), std::string::npos) << ToJson(balance);
  payment::v1::ListChargeOptionsResponse options;
  options.set_debt_yen(1'200);
  payment::v1::MethodOption* atone = options.add_methods();
  atone->set_method(payment::v1::PAYMENT_METHOD_ATONE);
  atone->set_unavailable_reason("DEBT_OUTSTANDING");
  const std::string options_json = ToJson(options);
  EXPECT_NE(options_json.find("\"debtYen\":\"1200\""), std::string::npos) << options_json;
  EXPECT_NE(options_json.find("\"unavailableReason\":\"DEBT_OUTSTANDING\""), std::string::npos)
      << options_json;
  payment::v1::GetChargeOrderResponse order;
  order.mutable_order()->set_reversed_yen(3'000);
  payment::v1::Reversal* reversal = order.mutable_order()->add_reversals();
  reversal->set_kind(payment::v1::REVERSAL_KIND_CHARGEBACK);
  reversal->set_amount_yen(3'000);
  reversal->set_clawed_back_yen(1'000);
  reversal->set_debt_yen(2'000);
  const std::string order_json = ToJson(order);
  for (const char* part : {"\"reversedYen\":\"3000\"", "\"kind\":\"REVERSAL_KIND_CHARGEBACK\"",
                           "\"clawedBackYen\":\"1000\"", "\"debtYen\":\"2000\""}) {
    EXPECT_NE(order_json.find(part), std::string::npos) << part << " in " << order_json;
  }
}

TEST(OpenApiTest, DescribesEveryRouteAndHidesTheSeller) {
  const std::string json = GenerateOpenApi(Routes());
  for (const Route& r : Routes()) {
    EXPECT_NE(json.find("\"" + r.path + "\""), std::string::npos) << r.path;
  }
  EXPECT_EQ(json.find("\"sellerId\""), std::string::npos);
  EXPECT_NE(json.find("\"availableYen\""), std::string::npos);
}

TEST(CsrfTest, CookieCallersNeedTheMatchingToken) {
  SellerTokenConfig config;
  Authenticator auth(config, "server-secret-of-at-least-32-bytes!");
  Caller by_cookie;
  by_cookie.token = "session-token";
  by_cookie.via_cookie = true;
  EXPECT_TRUE(auth.CheckCsrf(by_cookie, auth.CsrfToken("session-token")).ok());
  EXPECT_EQ(ReasonOf(auth.CheckCsrf(by_cookie, "")), "CSRF_TOKEN_INVALID");
  EXPECT_EQ(ReasonOf(auth.CheckCsrf(by_cookie, auth.CsrfToken("other-session"))),
            "CSRF_TOKEN_INVALID");
  Caller by_header = by_cookie;
  by_header.via_cookie = false;
  EXPECT_TRUE(auth.CheckCsrf(by_header, "").ok());
  EXPECT_EQ(CookieValue("a=1; qcash_session=tok; b=2", "qcash_session"), "tok");
  EXPECT_EQ(CookieValue("a=1", "qcash_session"), "");
}

// Issue 10: any CSRF secret was accepted, even one byte. Start-up now refuses fewer than 32.
TEST(CsrfTest, ShortSecretsAreRefusedAtStartUp) {
  for (const std::string& secret : {std::string(), std::string("server-secret"),
                                    std::string(31, 'x'), std::string(31, 'x') + "\n"}) {
    auto auth = Authenticator::Create(SellerTokenConfig{}, secret);
    ASSERT_FALSE(auth.ok()) << secret.size();
    EXPECT_EQ(ReasonOf(auth.status()), "INVALID_CONFIG");
  }
  auto auth = Authenticator::Create(SellerTokenConfig{}, std::string(64, 'a') + "\n");
  ASSERT_TRUE(auth.ok()) << auth.status();
  // The file's newline is not part of the key: the same tokens as without it.
  Authenticator same(SellerTokenConfig{}, std::string(64, 'a'));
  EXPECT_EQ((*auth)->CsrfToken("t"), same.CsrfToken("t"));
}

// A port nothing listens on: bound, then closed.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t length = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

RedisClient::Options DeadRedis() {
  RedisClient::Options options;
  options.port = ClosedPort();
  options.timeout = std::chrono::milliseconds(100);
  return options;
}

// Issue 10: with Redis down the limiter let every request through. It now counts per process.
TEST(RateLimitTest, RedisDownFallsBackToAPerProcessLimit) {
  RedisClient redis(DeadRedis());
  RateLimiter limiter(&redis, 3, absl::Seconds(60));
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("seller-a", t0).allowed) << i;
  const RateLimiter::Decision refused = limiter.Allow("seller-a", t0 + absl::Seconds(10));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 50);
  EXPECT_TRUE(limiter.Allow("seller-b", t0).allowed);  // keys are counted apart
  // A new window starts afresh.
  EXPECT_TRUE(limiter.Allow("seller-a", t0 + absl::Seconds(60)).allowed);
}

TEST(RateLimitTest, FallbackMemoryIsBoundedAndAFloodOfKeysSharesOneCounter) {
  RedisClient redis(DeadRedis());
  RateLimiter limiter(&redis, 2, absl::Seconds(60), /*local_keys_max=*/4);
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += limiter.Allow(absl::StrCat("k", i), t0).allowed;
  EXPECT_EQ(limiter.local_keys(), 4u);
  EXPECT_EQ(allowed, 4 + 2);  // four keys of their own, the other 96 share the overflow's 2
  // Once their windows end, the table makes room for new keys again.
  EXPECT_TRUE(limiter.Allow("late", t0 + absl::Seconds(61)).allowed);
  EXPECT_LE(limiter.local_keys(), 4u);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The pages are composed at build time from web/layout.html (cmake/ComposePage.cmake): each
// comes whole, with the shared head, header and navigation, its own entry marked current, and
// nothing of the layout's placeholders or markers left over.
TEST(PagesTest, EverySignedInPageComesWholeInTheOneLayout) {
  for (const auto& [page, current] :
       std::vector<std::pair<std::string, std::string>>{{"index", "/"},
                                                        {"charge", "/charge"},
                                                        {"charge_done", "/charge"},
                                                        {"history", "/history"},
                                                        {"vouchers", "/vouchers"},
                                                        {"order", "/vouchers"},
                                                        {"statements", "/statements"},
                                                        {"points", "/points"},
                                                        {"products", "/points"},
                                                        {"past", "/points"}}) {
    SCOPED_TRACE(page);
    const Asset* asset = FindAsset(page + ".html");
    ASSERT_NE(asset, nullptr);
    const std::string& html = asset->body;
    EXPECT_EQ(asset->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(html.rfind("<!doctype html>\n<html lang=\"ja\">\n<head>\n", 0), 0u);
    EXPECT_EQ(Count(html, " | Qキャッシュ</title>\n"), 1u);
    EXPECT_EQ(Count(html, "<script src=\"/static/app.js\" defer></script>\n"), 1u);
    EXPECT_EQ(Count(html, absl::StrCat("<body data-page=\"", page, "\">\n<header>\n<h1>")), 1u);
    EXPECT_EQ(Count(html, "<nav><ul>\n"), 1u);
    EXPECT_EQ(Count(html, "<li><a href="), 6u);
    EXPECT_EQ(Count(html, "<a class=\"header-balance\" href=\"/\""), 1u);
    EXPECT_EQ(Count(html, "aria-current"), 1u);
    EXPECT_EQ(Count(html, absl::StrCat("<li><a href=\"", current, "\" aria-current=\"page\">")),
              1u);
    EXPECT_EQ(Count(html, "<main>\n<p class=\"error hidden\" id=\"error\" role=\"alert\"></p>\n"),
              1u);
    EXPECT_EQ(Count(html, "{{"), 0u);
    EXPECT_EQ(Count(html, "<!--"), 0u);
    EXPECT_GT(html.size(), 1'000u);  // the page's own content is there
    EXPECT_TRUE(absl::EndsWith(html, "</section>\n</main>\n</body>\n</html>\n"));
  }
}

// Issue 16: the balance page's debt box explains the debt in the seller's words, the charge
// page says it next to the methods, and the order page lists what was taken back; each is
// hidden until the seller has a debt (or the order a reversal).
TEST(PagesTest, TheDebtIsExplainedOnTheBalanceChargeAndOrderPages) {
  const Asset* index = FindAsset("index.html");
  const Asset* charge = FindAsset("charge.html");
  const Asset* order = FindAsset("order.html");
  ASSERT_NE(index, nullptr);
  ASSERT_NE(charge, nullptr);
  ASSERT_NE(order, nullptr);
  EXPECT_EQ(Count(index->body, "<section class=\"debt hidden\" id=\"debt-box\">"), 1u);
  for (const char* words : {"未回収額", "チャージバック", "後払いの未払い", "返金",
                            "次回以降のチャージやサービスポイントの交換",
                            "後払い（Atone・ペイディ）", "マイナスになることはありません"}) {
    EXPECT_GE(Count(index->body, words), 1u) << words;
  }
  EXPECT_EQ(Count(charge->body, "<div class=\"debt hidden\" id=\"debt-note\">"), 1u);
  EXPECT_LT(charge->body.find("id=\"debt-note\""), charge->body.find("id=\"methods\""));
  EXPECT_EQ(Count(order->body, "<section class=\"debt hidden\" id=\"reversal-box\">"), 1u);
  EXPECT_EQ(Count(order->body, "<dt>取り消し額</dt>"), 1u);
  const Asset* script = FindAsset("app.js");
  ASSERT_NE(script, nullptr);
  for (const char* words :
       {"REVERSAL_KIND_CHARGEBACK: 'チャージバック'", "REVERSAL_KIND_DEFAULT: '後払い未払い'",
        "REVERSAL_KIND_REFUND: '返金'", "DEBT_OUTSTANDING: '未回収額があるため"}) {
    EXPECT_EQ(Count(script->body, words), 1u) << words;
  }
}

TEST(PagesTest, TheLoginPageHasTheLayoutWithoutScriptNavigationOrErrorLine) {
  const Asset* login = FindAsset("login.html");
  ASSERT_NE(login, nullptr);
  EXPECT_EQ(login->body.rfind("<!doctype html>\n", 0), 0u);
  EXPECT_EQ(Count(login->body, "<title>開発用ログイン | Qキャッシュ</title>"), 1u);
  EXPECT_EQ(Count(login->body, "<body data-page=\"login\">"), 1u);
  EXPECT_EQ(Count(login->body, "<form method=\"post\" action=\"/dev/login\">"), 1u);
  for (const char* absent : {"<script", "<nav>", "id=\"error\"", "{{", "<!--"}) {
    EXPECT_EQ(Count(login->body, absent), 0u) << absent;
  }
  // The layout itself is no page.
  EXPECT_EQ(FindAsset("layout.html"), nullptr);
}

}  // namespace
}  // namespace qcash::gateway
