#include "services/wallet/cache.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

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

// DESIGN.md section 7: records read back from Redis decide only when their MAC, under a key
// Redis never sees, verifies for this caller, seller, idempotency key and request.
class CacheMacTest : public ::testing::Test {
 protected:
  static Cache::Options WithKey(const std::string& key) {
    Cache::Options options;
    options.replay_key = key;
    return options;
  }
  static Op SpendOp(const std::string& key) {
    Op op;
    op.type = OpType::kSpend;
    op.seller_id = "s1";
    op.caller = "adbooking";
    op.idempotency_key = key;
    op.amount_yen = 300;
    op.product = AdProduct::kTimeSale;
    op.reference = "booking-1";
    op.request_hash = RequestHash(op);
    return op;
  }
  RedisClient redis_{RedisClient::Options{}};  // never connected: these tests send nothing
  Cache cache_{&redis_, WithKey(std::string(32, 'k')), qcash::SystemClock::Get()};
  const absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(CacheMacTest, DoneRecordAnswersOnlyItsOwnKeyCallerAndRequest) {
  const Op op = SpendOp("key-1");
  OpResult result;
  result.entry_seq = 7;
  result.balance.available_yen = 700;
  const std::string record = cache_.DoneRecord(op, result);
  Cache::ClaimResult claim = cache_.ReadClaim(op, record, now_);
  ASSERT_EQ(claim.claim, Cache::Claim::kDone);
  EXPECT_EQ(claim.stored.entry_seq, 7);
  EXPECT_EQ(claim.stored.outcome, Outcome::kReplayed);

  EXPECT_EQ(cache_.ReadClaim(SpendOp("key-2"), record, now_).claim, Cache::Claim::kUnverified);
  Op other_caller = op;
  other_caller.caller = "payment";
  EXPECT_EQ(cache_.ReadClaim(other_caller, record, now_).claim, Cache::Claim::kUnverified);
  Op other_seller = op;
  other_seller.seller_id = "s2";
  EXPECT_EQ(cache_.ReadClaim(other_seller, record, now_).claim, Cache::Claim::kUnverified);
  // One digit of the result changed: the MAC no longer matches.
  std::string tampered = record;
  tampered[tampered.find("|7|") + 1] = '8';
  EXPECT_EQ(cache_.ReadClaim(op, tampered, now_).claim, Cache::Claim::kUnverified);
  // The format without a MAC, as an attacker who knows everything but the key would write it.
  EXPECT_EQ(cache_
                .ReadClaim(
                    op, absl::StrCat("D|", op.request_hash, "|", Cache::EncodeResult(result)), now_)
                .claim,
            Cache::Claim::kUnverified);
  // Another replay key (a rotation): a miss, not an answer.
  Cache rotated(&redis_, WithKey(std::string(32, 'x')), qcash::SystemClock::Get());
  EXPECT_EQ(rotated.ReadClaim(op, record, now_).claim, Cache::Claim::kUnverified);
}

TEST_F(CacheMacTest, AuthenticRecordOfAnotherRequestIsReuse) {
  const Op op = SpendOp("key-1");
  Op different = op;
  different.amount_yen = 500;
  different.request_hash = RequestHash(different);
  const std::string record = cache_.DoneRecord(op, OpResult{});
  EXPECT_EQ(cache_.ReadClaim(different, record, now_).claim, Cache::Claim::kReused);
}

// A marker names the process that wrote it; a restarted wallet (a new instance) or another
// replica is not blocked by it: PostgreSQL decides (issue 13: after a SIGKILL, keys answered
// IDEMPOTENCY_KEY_IN_FLIGHT for seconds though no process was handling them).
TEST_F(CacheMacTest, InFlightMarkerOfAnotherProcessDecidesNothing) {
  const Op op = SpendOp("key-1");
  Cache previous{&redis_, WithKey(std::string(32, 'k')), qcash::SystemClock::Get(), "0123abcd"};
  const std::string marker = previous.InFlightRecord(op, now_ + absl::Seconds(10));
  EXPECT_EQ(previous.ReadClaim(op, marker, now_).claim, Cache::Claim::kInFlight);
  EXPECT_EQ(cache_.ReadClaim(op, marker, now_).claim, Cache::Claim::kForeign);
  // The instance id is under the MAC: rewriting it to ours makes the marker a forgery.
  std::string ours = marker;
  const std::string ours_id = cache_.InFlightRecord(op, now_ + absl::Seconds(10));
  const size_t slash = ours_id.find('/');
  const size_t bar = ours_id.find('|', slash);
  const size_t at = ours.find("/0123abcd|");
  ASSERT_NE(at, std::string::npos);
  ours.replace(at + 1, 8, ours_id.substr(slash + 1, bar - slash - 1));
  EXPECT_EQ(cache_.ReadClaim(op, ours, now_).claim, Cache::Claim::kUnverified);
}

TEST_F(CacheMacTest, InFlightMarkerBlocksOnlyUntilItsExpiry) {
  const Op op = SpendOp("key-1");
  const std::string marker = cache_.InFlightRecord(op, now_ + absl::Seconds(10));
  EXPECT_EQ(cache_.ReadClaim(op, marker, now_).claim, Cache::Claim::kInFlight);
  // Written back by an attacker after its time: it decides nothing.
  EXPECT_EQ(cache_.ReadClaim(op, marker, now_ + absl::Seconds(10)).claim,
            Cache::Claim::kUnverified);
  // Forged: no MAC, or a MAC over another expiry.
  EXPECT_EQ(cache_.ReadClaim(op, absl::StrCat("P|", op.request_hash), now_).claim,
            Cache::Claim::kUnverified);
  std::string later = marker;
  const size_t at = later.find(absl::StrCat(absl::ToUnixMillis(now_ + absl::Seconds(10))));
  ASSERT_NE(at, std::string::npos);
  later.replace(at, 13, absl::StrCat(absl::ToUnixMillis(now_ + absl::Hours(24))));
  EXPECT_EQ(cache_.ReadClaim(op, later, now_).claim, Cache::Claim::kUnverified);
}

TEST_F(CacheMacTest, BalanceRecordVerifiesForItsSellerOnly) {
  Balance b;
  b.seller_id = "s1";
  b.version = 4;
  b.available_yen = 1'000;
  const std::string record = cache_.BalanceRecord(b);
  auto back = cache_.ReadBalance("s1", record);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->available_yen, 1'000);
  EXPECT_EQ(back->version, 4);
  EXPECT_FALSE(cache_.ReadBalance("s2", record).has_value());
  EXPECT_FALSE(cache_.ReadBalance("s1", "999|1|1000000|0|0|0").has_value());
  std::string richer = record;
  richer.replace(richer.find("|1000|"), 6, "|9000|");
  EXPECT_FALSE(cache_.ReadBalance("s1", richer).has_value());
}

}  // namespace
}  // namespace qcash::wallet
