#include "services/payment/return_link.h"

#include <gtest/gtest.h>

#include <string>

#include "common/status.h"

namespace qcash::payment {
namespace {

constexpr absl::string_view kAllowed = "https://ads.example.jp, https://book.example.jp:8443";

ReturnOrigins Allowed(bool loopback_http = false) {
  auto origins = ReturnOrigins::Parse(
      absl::StrCat(kAllowed, loopback_http ? ",http://127.0.0.1:8081" : ""), loopback_http);
  EXPECT_TRUE(origins.ok()) << origins.status();
  return origins.ok() ? *origins : ReturnOrigins();
}

std::string ReasonFor(const ReturnOrigins& origins, absl::string_view url) {
  auto link = origins.Check(url);
  if (link.ok()) return "OK";
  EXPECT_EQ(link.status().code(), absl::StatusCode::kInvalidArgument) << url;
  return ReasonOf(link.status());
}

TEST(ReturnOriginsTest, ParsesOriginsStrictly) {
  auto parsed = ReturnOrigins::Parse(
      " https://Ads.Example.JP ,https://ads.example.jp:443,"
      "https://book.example.jp:8443",
      false);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->origins(),
            (std::set<std::string>{"https://ads.example.jp", "https://book.example.jp:8443"}));
  auto none = ReturnOrigins::Parse("", false);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->origins().empty());
  for (absl::string_view bad : {
           "https://ads.example.jp,",       // an empty entry
           "https://ads.example.jp/path",   // a path
           "https://ads.example.jp?q",      // a query
           "https://ads.example.jp#f",      // a fragment
           "https://user@ads.example.jp",   // user information
           "https://ads.example.jp:0",      // port 0
           "https://ads.example.jp:65536",  // port too large
           "ftp://ads.example.jp",          // another scheme
           "http://ads.example.jp",         // http, not loopback
           "http://127.0.0.1:8081",         // http loopback, not a development build
           "ads.example.jp",                // no scheme
           "https://ads%2Eexample.jp",      // percent-encoded host
           "https://ads.example.jp\\",      // backslash
       }) {
    auto result = ReturnOrigins::Parse(bad, false);
    EXPECT_FALSE(result.ok()) << bad;
    EXPECT_EQ(ReasonOf(result.status()), "INVALID_CONFIG") << bad;
  }
  EXPECT_TRUE(
      ReturnOrigins::Parse("http://127.0.0.1:8081,http://localhost,http://[::1]:9", true).ok());
}

TEST(ReturnOriginsTest, AcceptsAndNormalizesUrlsOnAllowedOrigins) {
  const ReturnOrigins origins = Allowed();
  auto link = origins.Check("HTTPS://ADS.Example.jp:443/apply/./form/../ad?id=7&x=%7e");
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(link->origin, "https://ads.example.jp");
  EXPECT_EQ(link->url, "https://ads.example.jp/apply/ad?id=7&x=~");
  auto bare = origins.Check("https://ads.example.jp");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->url, "https://ads.example.jp/");
  auto query = origins.Check("https://ads.example.jp?back=1");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->url, "https://ads.example.jp/?back=1");
  auto port = origins.Check("https://book.example.jp:8443/x");
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(port->origin, "https://book.example.jp:8443");
  EXPECT_EQ(port->url, "https://book.example.jp:8443/x");
  // A path that looks like another host stays a path of the allowed origin.
  auto path = origins.Check("https://ads.example.jp//evil.example/%2F");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path->origin, "https://ads.example.jp");
  EXPECT_EQ(path->url.rfind("https://ads.example.jp/", 0), 0u) << path->url;
}

TEST(ReturnOriginsTest, RefusesEveryTrick) {
  const ReturnOrigins origins = Allowed();
  struct Case {
    const char* url;
    const char* reason;
  };
  const std::string long_url = "https://ads.example.jp/" + std::string(2048, 'a');
  for (const Case& c : std::initializer_list<Case>{
           {"https://evil.example/", "RETURN_URL_NOT_ALLOWED"},
           {"https://ads.example.jp.evil.com/", "RETURN_URL_NOT_ALLOWED"},
           {"https://evil.com/ads.example.jp", "RETURN_URL_NOT_ALLOWED"},
           {"https://ads.example.jp:8443/", "RETURN_URL_NOT_ALLOWED"},    // another port
           {"https://book.example.jp/", "RETURN_URL_NOT_ALLOWED"},        // the default port
           {"https://ads.example.jp./", "RETURN_URL_NOT_ALLOWED"},        // trailing dot
           {"https://xn--ds-fka.example.jp/", "RETURN_URL_NOT_ALLOWED"},  // a punycode look-alike
           {"https://ads.example.jp@evil.example/", "INVALID_RETURN_URL"},
           {"https://@ads.example.jp/", "INVALID_RETURN_URL"},
           {"https://user:pw@ads.example.jp/", "INVALID_RETURN_URL"},
           {"https://evil.example\\@ads.example.jp/", "INVALID_RETURN_URL"},
           {"https://ads.example.jp\\.evil.example/", "INVALID_RETURN_URL"},
           {"https:\\\\evil.example", "INVALID_RETURN_URL"},
           {"https://ads.exa\tmple.jp/", "INVALID_RETURN_URL"},
           {"https://ads.example.jp/\n", "INVALID_RETURN_URL"},
           {"https://ads.example.jp/ x", "INVALID_RETURN_URL"},
           {"https://ads%2Eexample.jp/", "INVALID_RETURN_URL"},
           {"https://%61ds.example.jp/", "INVALID_RETURN_URL"},
           {"https://ads.example.jp%2F@evil.example/", "INVALID_RETURN_URL"},
           {"https://ads.example.jp/#frag", "INVALID_RETURN_URL"},
           {"https://ads.example.jp/#", "INVALID_RETURN_URL"},
           {"//evil.example/", "INVALID_RETURN_URL"},
           {"//ads.example.jp/", "INVALID_RETURN_URL"},
           {"/apply", "INVALID_RETURN_URL"},
           {"https:ads.example.jp", "INVALID_RETURN_URL"},
           {"https:///ads.example.jp", "INVALID_RETURN_URL"},
           {"javascript:alert(1)", "INVALID_RETURN_URL"},
           {"data:text/html,hi", "INVALID_RETURN_URL"},
           {"http://ads.example.jp/", "INVALID_RETURN_URL"},
           {"http://127.0.0.1:8081/", "INVALID_RETURN_URL"},  // not a development build
           {"https://ads.example.jp:99999/", "INVALID_RETURN_URL"},
           {"https://ads.example.jp:-1/", "INVALID_RETURN_URL"},
           {"https://ads.example.jp:44x/", "INVALID_RETURN_URL"},
           {"https://[v1.fe]/", "INVALID_RETURN_URL"},
           {"https://ads.example.jp;evil.example/", "INVALID_RETURN_URL"},
           {"https://広告.example.jp/", "INVALID_RETURN_URL"},  // IDN as Unicode: as punycode only
           {"", "INVALID_RETURN_URL"},
           {long_url.c_str(), "INVALID_RETURN_URL"},
       }) {
    EXPECT_EQ(ReasonFor(origins, c.url), c.reason) << c.url;
  }
  // No origin configured: even a perfect URL is refused.
  EXPECT_EQ(ReasonFor(ReturnOrigins(), "https://ads.example.jp/"), "RETURN_URL_NOT_ALLOWED");
}

TEST(ReturnOriginsTest, LoopbackHttpOnlyInDevelopmentAndOnlyForLoopback) {
  const ReturnOrigins origins = Allowed(/*loopback_http=*/true);
  EXPECT_EQ(ReasonFor(origins, "http://127.0.0.1:8081/apply"), "OK");
  EXPECT_EQ(ReasonFor(origins, "http://127.0.0.1:8082/apply"), "RETURN_URL_NOT_ALLOWED");
  EXPECT_EQ(ReasonFor(origins, "http://localhost:8081/apply"), "RETURN_URL_NOT_ALLOWED");
  EXPECT_EQ(ReasonFor(origins, "http://ads.example.jp/"), "INVALID_RETURN_URL");
  EXPECT_EQ(ReasonFor(origins, "http://127.0.0.2:8081/"), "INVALID_RETURN_URL");
}

}  // namespace
}  // namespace qcash::payment
