#include "services/payment/signature.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qcash::payment {
namespace {

constexpr absl::string_view kSecret = "dev-secret-for-unit-tests-only";

std::map<std::string, std::string> Headers(int64_t ts, const std::string& signature) {
  return {{"X-Qcash-Timestamp", absl::StrCat(ts)}, {"X-Qcash-Signature", signature}};
}

// P7: the MAC is plain HMAC-SHA256 over "<timestamp>.<body>", checked against OpenSSL.
TEST(SignatureTest, P7IsHmacSha256OverTimestampDotBody) {
  const std::string body = R"({"event_id":"evt_1"})";
  unsigned char mac[32];
  unsigned int length = 0;
  const std::string data = absl::StrCat("1700000000.", body);
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
  ASSERT_EQ(length, 32u);
  const std::string expected = absl::StrCat(
      "v1=", absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), length)));
  EXPECT_EQ(Sign(kSecret, 1'700'000'000, body), expected);
}

TEST(SignatureTest, P7AuthenticAndFreshVerifies) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const std::string body = "{}";
  EXPECT_TRUE(VerifySignature(kSecret, Headers(1'700'000'000, Sign(kSecret, 1'700'000'000, body)),
                              body, now, kSkewDefault)
                  .ok());
  // Header names fold case, as HTTP/2 lowercases them.
  std::map<std::string, std::string> lower = {
      {"x-qcash-timestamp", "1700000000"},
      {"x-qcash-signature", Sign(kSecret, 1'700'000'000, body)}};
  EXPECT_TRUE(VerifySignature(kSecret, lower, body, now, kSkewDefault).ok());
}

TEST(SignatureTest, P7TamperedForgedOrStaleIsRefused) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const std::string body = R"({"amount_yen":"1000"})";
  const std::string good = Sign(kSecret, 1'700'000'000, body);
  auto reason = [&](const std::map<std::string, std::string>& headers, const std::string& b) {
    absl::Status s = VerifySignature(kSecret, headers, b, now, kSkewDefault);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
    return ReasonOf(s);
  };
  EXPECT_EQ(reason(Headers(1'700'000'000, good), R"({"amount_yen":"9000"})"), "INVALID_SIGNATURE");
  EXPECT_EQ(
      reason(Headers(1'700'000'000, Sign("another-secret-entirely", 1'700'000'000, body)), body),
      "INVALID_SIGNATURE");
  // The timestamp is inside the MAC: re-dating a captured message breaks it.
  EXPECT_EQ(reason(Headers(1'700'000'100, good), body), "INVALID_SIGNATURE");
  // Authentic but outside the skew, either way.
  EXPECT_EQ(reason(Headers(1'699'999'699, Sign(kSecret, 1'699'999'699, body)), body),
            "STALE_TIMESTAMP");
  EXPECT_EQ(reason(Headers(1'700'000'301, Sign(kSecret, 1'700'000'301, body)), body),
            "STALE_TIMESTAMP");
  EXPECT_TRUE(VerifySignature(kSecret, Headers(1'699'999'700, Sign(kSecret, 1'699'999'700, body)),
                              body, now, kSkewDefault)
                  .ok());
  EXPECT_EQ(reason({}, body), "MISSING_SIGNATURE");
  EXPECT_EQ(reason(Headers(1'700'000'000, "v1=zz"), body), "MISSING_SIGNATURE");
  EXPECT_EQ(reason(Headers(1'700'000'000, good.substr(3)), body), "MISSING_SIGNATURE");
  EXPECT_EQ(reason({{"X-Qcash-Timestamp", "-5"}, {"X-Qcash-Signature", good}}, body),
            "MISSING_SIGNATURE");
}

}  // namespace
}  // namespace qcash::payment
