// The gateway's pure parts: error mapping, HTTP -> protobuf transcoding, the OpenAPI file, CSRF.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/status.h"
#include "gateway/auth.h"
#include "gateway/errors.h"
#include "gateway/openapi.h"
#include "gateway/transcode.h"
#include "qcash/points/v1/points.pb.h"
#include "qcash/wallet/v1/wallet.pb.h"

namespace qcash::gateway {
namespace {

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

TEST(GatewayErrorsTest, BodyIsGoogleRpcStatusJsonWithReason) {
  const std::string body =
      ErrorBody(FailedPrecondition("INSUFFICIENT_FUNDS", "not enough"), "gateway.qcash");
  EXPECT_NE(body.find("\"code\":9"), std::string::npos) << body;
  EXPECT_NE(body.find("\"message\":\"not enough\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"reason\":\"INSUFFICIENT_FUNDS\""), std::string::npos) << body;
  EXPECT_NE(body.find("type.googleapis.com/google.rpc.ErrorInfo"), std::string::npos) << body;
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
           {"period.month", "INVALID_PARAMETER"},        // a group, not a field
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

TEST(TranscodeTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("チャージ"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));  // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe3\x81"));  // truncated
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
  Authenticator auth(config, "server-secret");
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

}  // namespace
}  // namespace qcash::gateway
