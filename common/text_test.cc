#include "common/text.h"

#include <gtest/gtest.h>

#include <string>

#include "common/proto_time.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"

namespace qcash {
namespace {

TEST(SellerIdTest, AcceptsTheAlphabetUpToSixtyFourCharacters) {
  EXPECT_TRUE(IsValidSellerId("Shop_1.a-b"));
  EXPECT_TRUE(IsValidSellerId(std::string(kSellerIdLengthMax, 'x')));
  EXPECT_FALSE(IsValidSellerId(std::string(kSellerIdLengthMax + 1, 'x')));
  EXPECT_FALSE(IsValidSellerId(""));
  for (const char* bad : {"{shop}", "a b", "shop/1", "店舗", "a\nb"}) {
    EXPECT_FALSE(IsValidSellerId(bad)) << bad;
  }
  const absl::Status s = CheckSellerId("{shop}");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), "INVALID_SELLER_ID");
  EXPECT_TRUE(CheckSellerId("shop-1").ok());
}

TEST(IdempotencyKeyTest, OneToOneHundredTwentyEightPrintableAscii) {
  EXPECT_TRUE(CheckIdempotencyKey("k").ok());
  EXPECT_TRUE(CheckIdempotencyKey(std::string(128, '~')).ok());
  for (const std::string& bad : {std::string(), std::string(129, 'k'), std::string("a\tb"),
                                 std::string("キー"), std::string("a\x7f")}) {
    const absl::Status s = CheckIdempotencyKey(bad);
    EXPECT_EQ(ReasonOf(s), "INVALID_IDEMPOTENCY_KEY") << bad;
  }
}

TEST(CleanTextTest, ValidUtf8WithoutControlCharacters) {
  EXPECT_TRUE(IsCleanText(""));
  EXPECT_TRUE(IsCleanText("広告 Qcash 充值 🎉"));
  EXPECT_FALSE(IsCleanText("line\nbreak"));
  EXPECT_FALSE(IsCleanText("del\x7f"));
  EXPECT_FALSE(IsCleanText("\xe5\xba"));  // a cut 3-byte sequence
  EXPECT_FALSE(IsCleanText("\xff"));      // never a lead byte
  EXPECT_FALSE(IsCleanText("a\x80z"));    // a continuation byte alone
  // Found by fuzz/text_fuzz.cc: accepted before, refused by PostgreSQL (UTF8) or the rule.
  EXPECT_FALSE(IsCleanText("\xc2\x91"));          // U+0091, a C1 control character
  EXPECT_FALSE(IsCleanText("\xed\xa0\x80"));      // U+D800, a surrogate
  EXPECT_FALSE(IsCleanText("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsCleanText("\xe0\x80\xaf"));      // '/' as an overlong 3-byte form
  EXPECT_TRUE(IsCleanText("\xc2\xa0\xef\xbf\xbd\xf4\x8f\xbf\xbf"));  // U+00A0 U+FFFD U+10FFFF
  EXPECT_TRUE(IsValidUtf8("\xc2\x91"));                              // well-formed, only not clean
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));
  EXPECT_TRUE(IsPrintableAscii(" ~"));
  EXPECT_FALSE(IsPrintableAscii("é"));
}

TEST(ProtoTimeTest, RoundTripsMicrosecondsAndRoundsDownBefore1970) {
  google::protobuf::Timestamp ts;
  SetTimestamp(absl::FromUnixMicros(1'700'000'000'123'456), &ts);
  EXPECT_EQ(ts.seconds(), 1'700'000'000);
  EXPECT_EQ(ts.nanos(), 123'456'000);
  auto back = FromTimestamp(ts, points::v1::INVALID_TIME);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(absl::ToUnixMicros(*back), 1'700'000'000'123'456);

  SetTimestamp(absl::FromUnixMicros(-1), &ts);
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999'999'000);

  google::protobuf::Timestamp unset;
  SetTimestampIfAny(absl::InfiniteFuture(), &unset);
  EXPECT_EQ(unset.seconds(), 0);
  EXPECT_EQ(unset.nanos(), 0);
}

TEST(ProtoTimeTest, RefusesOutOfRangeWithTheCallersReason) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(253'402'300'800);  // 10000-01-01
  EXPECT_EQ(ReasonOf(FromTimestamp(ts, points::v1::INVALID_OCCURRED_AT).status()),
            "INVALID_OCCURRED_AT");
  ts.set_seconds(0);
  ts.set_nanos(1'000'000'000);
  EXPECT_EQ(FromTimestamp(ts, points::v1::INVALID_TIME).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qcash
