// The real qcash-gateway process attacked over real sockets (issue 10, "The HTTP edge"): a range
// bomb, a gzip bomb, an endless chunked body, an endless header line, 200 slow connections from
// 200 addresses, the per-address connection cap, a text/plain API body, an unknown webhook
// provider. Throughout, the gateway's resident memory stays under kRssBoundKib and a normal
// /healthz and a normal API request are answered within 1 s (the issue's bound; the only timed
// assertions here).
//
// The gateway runs in front of a real wallet, PostgreSQL and Redis (tests/harness), with no
// payment service: a request that reached the payment service would answer 503
// UPSTREAM_NOT_CONFIGURED, so any other answer proves the gateway stopped it itself.
#include <gtest/gtest.h>
#include <zlib.h>

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/seller_token.h"
#include "tests/gateway/raw_http.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Measured: about 25 MiB at rest and under every attack here (docs/GATEWAY.md); the cpp-httplib
// gateway reached 150-220 MiB on the gzip bomb and the chunked flood alone.
// Under AddressSanitizer (scripts/sanitize) the same gateway carries shadow memory, redzones and
// a quarantine of freed blocks (capped at 32 MiB there) on top: 128 MiB more is allowed, still
// short of what the unbounded gateway reached.
constexpr long kRssBoundKib = (kSanitizerBuild ? 64 + 128 : 64) * 1024;
constexpr int kRequestTimeoutMs = 2000;
constexpr int kWebhooksPerAddress = 5;  // a minute

struct Env {
  std::unique_ptr<Stack> stack;
  GatewayProcess gateway;
  std::string token;  // a seller with no wallet: GET /api/v1/balance is 404 WALLET_NOT_FOUND
};
Env* env = nullptr;

class EdgeEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    auto stack = StartStack("gateway_edge");
    ASSERT_TRUE(stack.ok()) << stack.status();
    env->stack = std::move(*stack);
    auto gateway = StartGateway(
        *env->stack,
        {{"QCASH_GATEWAY_DEV_LOGIN", "false"},
         {"QCASH_PAYMENT_TARGET", ""},
         {"QCASH_GATEWAY_RATE_LIMIT", "1000"},
         {"QCASH_GATEWAY_WEBHOOK_ADDRESS_RATE_LIMIT", absl::StrCat(kWebhooksPerAddress)},
         {"QCASH_GATEWAY_REQUEST_TIMEOUT_MS", absl::StrCat(kRequestTimeoutMs)}});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    env->gateway = std::move(*gateway);
    auto token = IssueSellerToken(env->gateway.token_private_key_pem, env->gateway.token_issuer,
                                  env->gateway.token_audience, "edge-seller-without-wallet",
                                  absl::Now(), absl::Hours(2));
    ASSERT_TRUE(token.ok()) << token.status();
    env->token = *token;
  }
  void TearDown() override {
    env->stack->keep = !::testing::UnitTest::GetInstance()->Passed();
    env->gateway.process.reset();
    delete env;
  }
};

int Port() { return env->gateway.port; }
int Pid() { return env->gateway.process->pid(); }

std::string Get(const std::string& path, const std::string& extra = "") {
  return absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: qcash\r\nConnection: close\r\n", extra,
                      "\r\n");
}

std::string ApiRequest(const std::string& method, const std::string& path,
                       const std::string& headers, const std::string& body) {
  return absl::StrCat(
      method, " ", path, " HTTP/1.1\r\nHost: qcash\r\nConnection: close\r\nAuthorization: Bearer ",
      env->token, "\r\n", headers, "Content-Length: ", body.size(), "\r\n\r\n", body);
}

std::string Reason(const std::string& response) {
  const std::string body = raw::BodyOf(response);
  const size_t at = body.find("\"reason\":\"");
  if (at == std::string::npos) return "";
  return body.substr(at + 10, body.find('"', at + 10) - at - 10);
}

// A normal client is still served within 1 s, and the gateway's memory is within bounds.
void ExpectResponsive(const std::string& when) {
  auto start = raw::Clock::now();
  const std::string health = raw::Exchange(Port(), Get("/healthz"), seconds(5));
  const auto health_time = raw::Clock::now() - start;
  EXPECT_EQ(raw::StatusOf(health), 200) << when << ": " << health;
  EXPECT_LT(health_time, seconds(1)) << when;
  start = raw::Clock::now();
  const std::string api = raw::Exchange(
      Port(), Get("/api/v1/balance", "Authorization: Bearer " + env->token + "\r\n"), seconds(5));
  const auto api_time = raw::Clock::now() - start;
  EXPECT_EQ(raw::StatusOf(api), 404) << when << ": " << api;
  EXPECT_EQ(Reason(api), "WALLET_NOT_FOUND") << when;
  EXPECT_LT(api_time, seconds(1)) << when;
  const long rss = raw::RssKib(Pid());
  EXPECT_GT(rss, 0);
  EXPECT_LT(rss, kRssBoundKib) << when << ": the gateway's RSS is " << rss << " KiB";
}

// 64 MiB of JSON whitespace, gzip-compressed to about 64 KiB.
std::string GzipBomb() {
  const std::string plain = "{" + std::string(64u << 20, ' ') + "}";
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, plain.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

class EdgeTest : public ::testing::Test {
 protected:
  void SetUp() override { ExpectResponsive("before"); }
  void TearDown() override { ExpectResponsive("after"); }
};

// A thousand Range pieces: the gateway never serves ranges, so the answer is the ordinary 200
// with the whole document once, not a thousand copies of it.
TEST_F(EdgeTest, RangeBombGetsTheWholeBodyOnce) {
  const std::string plain = raw::Exchange(Port(), Get("/openapi.json"));
  ASSERT_EQ(raw::StatusOf(plain), 200);
  std::string ranges = "bytes=0-";
  for (int i = 1; i < 1000; ++i) absl::StrAppend(&ranges, ",", i, "-", i + 50'000);
  const std::string bombed =
      raw::Exchange(Port(), Get("/openapi.json", "Range: " + ranges + "\r\n"));
  EXPECT_EQ(raw::StatusOf(bombed), 200) << bombed.substr(0, 300);
  EXPECT_EQ(raw::BodyOf(bombed), raw::BodyOf(plain));
  EXPECT_EQ(bombed.find("multipart/byteranges"), std::string::npos);
}

// A 64 KiB gzip body that would inflate to 64 MiB: refused 415 from its headers, nothing
// inflated, on an API route and on a webhook.
TEST_F(EdgeTest, GzipBombIsRefusedUndecompressed) {
  const std::string bomb = GzipBomb();
  ASSERT_LT(bomb.size(), 100'000u);
  const long rss_before = raw::RssKib(Pid());
  for (const auto& [path, auth] : std::vector<std::pair<std::string, bool>>{
           {"/api/v1/charge/orders", true}, {"/webhooks/card", false}}) {
    const std::string headers =
        "Content-Type: application/json\r\nContent-Encoding: gzip\r\nIdempotency-Key: gz-1\r\n";
    const std::string request =
        auth ? ApiRequest("POST", path, headers, bomb)
             : absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: qcash\r\nConnection: close\r\n",
                            headers, "Content-Length: ", bomb.size(), "\r\n\r\n", bomb);
    const std::string response = raw::Exchange(Port(), request);
    EXPECT_EQ(raw::StatusOf(response), 415) << path << ": " << response;
    EXPECT_EQ(Reason(response), "UNSUPPORTED_CONTENT_ENCODING") << path;
  }
  EXPECT_LT(raw::RssKib(Pid()) - rss_before, 16 * 1024) << "something was inflated";
}

// An endless chunked body (CVE-2025-46728 in cpp-httplib): cut with 413 once the decoded bytes
// pass the body limit, and the connection closed; the gateway does not read on.
TEST_F(EdgeTest, EndlessChunkedBodyIsCutAtTheLimit) {
  const int fd = raw::Connect(Port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(raw::SendAll(fd,
                           "POST /webhooks/card HTTP/1.1\r\nHost: qcash\r\n"
                           "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"));
  const std::string chunk = "1000\r\n" + std::string(4096, ' ') + "\r\n";
  std::string received;
  bool closed = false;
  size_t sent = 0;
  while (sent < (256u << 20) && !closed) {
    if (!raw::SendAll(fd, chunk)) break;  // reset: the gateway has closed
    sent += 4096;
    received += raw::ReadFor(fd, milliseconds(0), &closed);
  }
  received += raw::ReadFor(fd, seconds(5), &closed);
  close(fd);
  EXPECT_EQ(raw::StatusOf(received), 413) << received.substr(0, 300);
  EXPECT_EQ(Reason(received), "BODY_TOO_LARGE");
  EXPECT_LT(sent, 256u << 20) << "the gateway read 256 MiB of chunks without closing";
}

// A header line that never ends: 431 at the header limit and the connection closed.
TEST_F(EdgeTest, EndlessHeaderLineIsCut) {
  const int fd = raw::Connect(Port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(raw::SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: qcash\r\nX-Endless: "));
  std::string received;
  bool closed = false;
  size_t sent = 0;
  while (sent < (256u << 20) && !closed) {
    if (!raw::SendAll(fd, std::string(4096, 'a'))) break;
    sent += 4096;
    received += raw::ReadFor(fd, milliseconds(0), &closed);
  }
  received += raw::ReadFor(fd, seconds(5), &closed);
  close(fd);
  EXPECT_EQ(raw::StatusOf(received), 431) << received.substr(0, 300);
  EXPECT_EQ(Reason(received), "HEADERS_TOO_LARGE");
  EXPECT_LT(sent, 256u << 20);
}

// 200 slow-loris connections from 200 loopback addresses (127.0.0.2 ...), each trickling a
// header byte every 250 ms and never finishing: normal requests are answered at once meanwhile
// (cpp-httplib's thread per connection delayed them by seconds), and each slow connection is
// closed at the request deadline however it trickles.
TEST_F(EdgeTest, TwoHundredSlowConnections) {
  std::vector<int> slow;
  for (int i = 0; i < 200; ++i) {
    const int fd = raw::Connect(Port(), absl::StrCat("127.0.0.", i + 2));
    ASSERT_GE(fd, 0) << i;
    ASSERT_TRUE(raw::SendAll(fd, "POST /api/v1/charge/orders HTTP/1.1\r\nHost: qcash\r\n"));
    slow.push_back(fd);
  }
  std::vector<bool> closed(slow.size(), false);
  size_t open = slow.size();
  const auto start = raw::Clock::now();
  int rounds = 0;
  while (open > 0 && raw::Clock::now() - start < seconds(30)) {
    for (size_t i = 0; i < slow.size(); ++i) {
      if (closed[i]) continue;
      bool peer_closed = false;
      raw::ReadFor(slow[i], milliseconds(0), &peer_closed);
      if (peer_closed || !raw::SendAll(slow[i], "X")) {
        closed[i] = true;
        --open;
      }
    }
    if (++rounds == 2) ExpectResponsive("with 200 slow connections open");
    std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_EQ(open, 0u) << "slow connections outlived the " << kRequestTimeoutMs
                      << " ms request deadline by far";
  EXPECT_GE(rounds, 2);
  for (int fd : slow) close(fd);
}

// One address may hold 64 connections; the 65th is closed before anything is read from it,
// and other addresses are still served.
TEST_F(EdgeTest, SixtyFifthConnectionFromOneAddressIsRefused) {
  std::vector<int> held;
  for (int i = 0; i < 64; ++i) {
    const int fd = raw::Connect(Port(), "127.0.3.7");
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(raw::SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: qcash\r\n\r\n"));
    ASSERT_EQ(raw::StatusOf(raw::ReadResponse(fd, seconds(5))), 200) << i;
    held.push_back(fd);
  }
  const int over = raw::Connect(Port(), "127.0.3.7");
  ASSERT_GE(over, 0);  // the kernel completes the handshake; the gateway then closes it
  raw::SendAll(over, "GET /healthz HTTP/1.1\r\nHost: qcash\r\n\r\n");
  bool closed = false;
  const std::string answer = raw::ReadFor(over, seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(answer, "");
  close(over);
  ExpectResponsive("with one address at its cap");
  for (int fd : held) close(fd);
}

// Only JSON bodies reach the services: a text/plain body is 415 (it used to create a charge
// order), an empty one says the body is missing.
TEST_F(EdgeTest, ApiBodiesMustBeJson) {
  const std::string order =
      R"({"denomination":"DENOMINATION_1000","method":"PAYMENT_METHOD_CARD"})";
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "text/json", ""}) {
    const std::string headers =
        std::string(*type ? "Content-Type: " : "") + type + (*type ? "\r\n" : "");
    const std::string response = raw::Exchange(
        Port(),
        ApiRequest("POST", "/api/v1/charge/orders", headers + "Idempotency-Key: t-1\r\n", order));
    EXPECT_EQ(raw::StatusOf(response), 415) << type << ": " << response;
    EXPECT_EQ(Reason(response), "UNSUPPORTED_MEDIA_TYPE") << type;
  }
  const std::string empty = raw::Exchange(
      Port(), ApiRequest("POST", "/api/v1/charge/orders",
                         "Content-Type: application/json\r\nIdempotency-Key: t-2\r\n", ""));
  EXPECT_EQ(raw::StatusOf(empty), 400) << empty;
  EXPECT_EQ(Reason(empty), "BODY_MISSING");
  // application/json (with a charset) passes the gateway and reaches the (absent) payment service.
  const std::string json = raw::Exchange(
      Port(),
      ApiRequest("POST", "/api/v1/charge/orders",
                 "Content-Type: Application/JSON; charset=utf-8\r\nIdempotency-Key: t-3\r\n",
                 order));
  EXPECT_EQ(raw::StatusOf(json), 503) << json;
  EXPECT_EQ(Reason(json), "UPSTREAM_NOT_CONFIGURED");
}

// /webhooks/<name> of no provider: 404 at the gateway; a known provider's goes on to payment.
TEST_F(EdgeTest, UnknownWebhookProviderIsNotFoundWithoutCallingPayment) {
  const std::string body = R"({"event_id":"evt_1"})";
  for (const char* provider : {"stripe", "cardx", "qmoney", "a-b_c"}) {
    const std::string response =
        raw::Exchange(Port(), absl::StrCat("POST /webhooks/", provider,
                                           " HTTP/1.1\r\nHost: qcash\r\nConnection: close\r\n"
                                           "Content-Type: application/json\r\nContent-Length: ",
                                           body.size(), "\r\n\r\n", body));
    EXPECT_EQ(raw::StatusOf(response), 404) << provider << ": " << response;
    EXPECT_EQ(Reason(response), "UNKNOWN_PROVIDER") << provider;
  }
  // A provider's raw body goes through whatever its content type.
  const std::string known = raw::Exchange(
      Port(), absl::StrCat("POST /webhooks/konbini HTTP/1.1\r\nHost: qcash\r\nConnection: close\r\n"
                           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ",
                           body.size(), "\r\n\r\n", body));
  EXPECT_EQ(raw::StatusOf(known), 503) << known;
  EXPECT_EQ(Reason(known), "UPSTREAM_NOT_CONFIGURED");
}

// Notifications are limited per client address before they count against the provider: one
// address flooding a real provider's webhook is refused, another address still gets through.
TEST_F(EdgeTest, WebhooksAreRateLimitedPerClientAddress) {
  auto post = [](const std::string& source) {
    const int fd = raw::Connect(Port(), source);
    EXPECT_GE(fd, 0);
    raw::SendAll(fd,
                 "POST /webhooks/paidy HTTP/1.1\r\nHost: qcash\r\nConnection: close\r\n"
                 "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    std::string response = raw::ReadResponse(fd, seconds(10));
    close(fd);
    return response;
  };
  for (int i = 0; i < kWebhooksPerAddress; ++i) {
    const std::string passed = post("127.0.4.1");
    EXPECT_EQ(Reason(passed), "UPSTREAM_NOT_CONFIGURED") << i << ": " << passed;
  }
  const std::string limited = post("127.0.4.1");
  EXPECT_EQ(raw::StatusOf(limited), 429) << limited;
  EXPECT_EQ(Reason(limited), "RATE_LIMITED");
  EXPECT_NE(limited.find("Retry-After: "), std::string::npos);
  const std::string other = post("127.0.4.2");
  EXPECT_EQ(Reason(other), "UPSTREAM_NOT_CONFIGURED") << other;
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::EdgeEnvironment());
  return RUN_ALL_TESTS();
}
