#include "services/wallet/cache.h"

#include <gtest/gtest.h>

namespace qcash::wallet {
namespace {

TEST(CacheTest, ResultEncodingRoundTrips) {
  OpResult r;
  r.entry_seq = 42;
  r.hold_id = 41;
  r.amount_yen = 700;
  r.amount2_yen = 300;
  r.created = true;
  r.balance.available_yen = 9'300;
  r.balance.held_yen = 0;
  r.balance.qmoney_yen = 5;
  r.balance.pending_yen = 6;
  r.balance.version = 17;
  r.balance.state = WalletState::kOpen;
  r.expires_at = absl::FromUnixMicros(1'800'000'000'123'456);
  auto back = Cache::DecodeResult(Cache::EncodeResult(r), "s1");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->entry_seq, 42);
  EXPECT_EQ(back->hold_id, 41);
  EXPECT_EQ(back->amount_yen, 700);
  EXPECT_EQ(back->amount2_yen, 300);
  EXPECT_TRUE(back->created);
  EXPECT_EQ(back->balance.seller_id, "s1");
  EXPECT_EQ(back->balance.available_yen, 9'300);
  EXPECT_EQ(back->balance.qmoney_yen, 5);
  EXPECT_EQ(back->balance.pending_yen, 6);
  EXPECT_EQ(back->balance.version, 17);
  EXPECT_EQ(back->expires_at, r.expires_at);
}

TEST(CacheTest, ResultWithoutExpiryRoundTrips) {
  OpResult r;
  auto back = Cache::DecodeResult(Cache::EncodeResult(r), "s1");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->expires_at, absl::InfinitePast());
}

TEST(CacheTest, GarbageDoesNotDecode) {
  EXPECT_FALSE(Cache::DecodeResult("1|2|3", "s").has_value());
  EXPECT_FALSE(Cache::DecodeResult("a|b|c|d|e|f|g|h|i|j|k|l", "s").has_value());
}

}  // namespace
}  // namespace qcash::wallet
