#include "common/page_token.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace qcash {
namespace {

TEST(PageTokenTest, RoundTripsFieldsOfTheirKind) {
  const std::string token = PageTokenWriter("o").AddInt(1700000000123456).AddText("a:b").Finish();
  std::optional<PageTokenReader> reader = PageTokenReader::Open("o", token, 2);
  ASSERT_TRUE(reader.has_value());
  int64_t us = 0;
  std::string text;
  ASSERT_TRUE(reader->NextInt(&us));
  ASSERT_TRUE(reader->NextText(&text));
  EXPECT_EQ(us, 1700000000123456);
  EXPECT_EQ(text, "a:b");  // the last field keeps its ':'
  EXPECT_FALSE(reader->NextText(&text));
}

TEST(PageTokenTest, KeepsTheFormatTheServicesIssuedBefore) {
  // Tokens handed out before the codec was shared stay valid.
  EXPECT_EQ(PageTokenWriter("seq").AddInt(42).Finish(), absl::WebSafeBase64Escape("seq:42"));
  EXPECT_EQ(PageTokenWriter("after").AddText("P-1").Finish(),
            absl::WebSafeBase64Escape("after:P-1"));
}

TEST(PageTokenTest, RefusesWhatItDidNotIssue) {
  const std::string seq7 = PageTokenWriter("seq").AddInt(7).Finish();
  EXPECT_FALSE(PageTokenReader::Open("seq", "", 1).has_value());
  EXPECT_FALSE(PageTokenReader::Open("after", seq7, 1).has_value());      // another kind
  EXPECT_FALSE(PageTokenReader::Open("seq", seq7, 2).has_value());        // another field count
  EXPECT_FALSE(PageTokenReader::Open("seq", "!!!", 1).has_value());       // not base64url
  EXPECT_FALSE(PageTokenReader::Open("seq", " " + seq7, 1).has_value());  // not as issued
  EXPECT_FALSE(PageTokenReader::Open("seq", seq7 + "=", 1).has_value());
  EXPECT_FALSE(
      PageTokenReader::Open("seq", std::string(kPageTokenLengthMax + 1, 'A'), 1).has_value());
  for (const char* text :
       {"seq:+7", "seq:007", "seq: 7", "seq:7x", "seq:", "seq:99999999999999999999"}) {
    std::optional<PageTokenReader> reader =
        PageTokenReader::Open("seq", absl::WebSafeBase64Escape(text), 1);
    ASSERT_TRUE(reader.has_value()) << text;
    int64_t value = 0;
    EXPECT_FALSE(reader->NextInt(&value)) << text;
  }
}

}  // namespace
}  // namespace qcash
