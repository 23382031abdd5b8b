#include "services/wallet/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/mutex.h"
#include "tests/harness/harness.h"

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

// ------------------------------------------------------------- the reader, on a real Redis
//
// Cache::ReadBalances against a Redis of its own (tests/harness), as the wallet's ACL user. A
// lookup's callback runs on the reader thread, so a callback that waits holds the reader: the
// tests use that to queue lookups while a round trip is in hand, and count round trips exactly.

class CacheReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeStateDir("wallet_cache_test"));
    auto server = testing::RedisServer::Start(*dir_ + "/redis");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  static Cache::Options Options() {
    Cache::Options options;
    options.replay_key = std::string(32, 'k');
    return options;
  }
  static std::string NewSeller() {
    static std::atomic<int> counter{0};
    return absl::StrCat("reader-", counter.fetch_add(1));
  }
  static std::string Key(const std::string& seller) {
    return absl::StrCat("qcash:wallet:bal:{", seller, "}");
  }
  // A cached balance of `yen` available at `version`, written as the wallet writes it.
  Balance Put(const std::string& seller, int64_t yen, int64_t version = 1) {
    Balance b;
    b.seller_id = seller;
    b.version = version;
    b.available_yen = yen;
    cache_.PutBalances({b});
    return b;
  }
  // Waits until Redis answers the wallet's user again (a restart, the breaker's cool-down).
  void WaitForRedis() {
    const auto deadline =
        std::chrono::steady_clock::now() + testing::Scaled(std::chrono::seconds(20));
    while (std::chrono::steady_clock::now() < deadline) {
      auto pong = client_.Command({"PING"});
      if (pong.ok() && !pong->is_error()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "Redis did not come back";
  }

  static std::string* dir_;
  static testing::RedisServer* server_;
  RedisClient client_{server_->ClientOptions("wallet")};
  RedisClient admin_{server_->ClientOptions(testing::RedisServer::kAdmin)};
  Cache cache_{&client_, Options(), qcash::SystemClock::Get()};  // destroyed first
};

std::string* CacheReaderTest::dir_ = nullptr;
testing::RedisServer* CacheReaderTest::server_ = nullptr;

// Issue 17: 640 lookups from 64 threads, queued while the reader is busy, go to Redis in one
// round trip of 200 distinct keys (each seller once however many lookups name it), and each
// gets its own sellers' balances in its own order.
TEST_F(CacheReaderTest, ConcurrentLookupsShareOneRoundTrip) {
  constexpr int kSellers = 200;
  constexpr int kThreads = 64;
  constexpr int kLookupsPerThread = 10;
  constexpr int kLookups = kThreads * kLookupsPerThread;
  std::vector<std::string> sellers;
  for (int i = 0; i < kSellers; ++i) {
    sellers.push_back(NewSeller());
    Put(sellers.back(), 1'000 + i);
  }
  const Cache::ReadStats before = cache_.read_stats();
  Notification reader_busy;
  Notification release;
  cache_.ReadBalances({sellers[0]}, [&](const Cache::CachedBalances& cached) {
    EXPECT_TRUE(cached[0].has_value());
    reader_busy.Notify();
    release.WaitForNotification();
  });
  reader_busy.WaitForNotification();
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  Notification all_answered;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < kLookupsPerThread; ++j) {
        const int first = (t * kLookupsPerThread + j) % kSellers;
        const int second = (first + 7) % kSellers;
        cache_.ReadBalances({sellers[first], sellers[second], sellers[first]},
                            [&, first, second](const Cache::CachedBalances& cached) {
                              const bool right = cached.size() == 3 && cached[0].has_value() &&
                                                 cached[1].has_value() && cached[2].has_value() &&
                                                 cached[0]->available_yen == 1'000 + first &&
                                                 cached[1]->available_yen == 1'000 + second &&
                                                 cached[2]->seller_id == sellers[first];
                              if (!right) wrong.fetch_add(1);
                              if (answered.fetch_add(1) + 1 == kLookups) all_answered.Notify();
                            });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  release.Notify();
  all_answered.WaitForNotification();
  EXPECT_EQ(wrong.load(), 0);
  const Cache::ReadStats after = cache_.read_stats();
  EXPECT_EQ(after.round_trips - before.round_trips, 2) << "the first lookup, then all the rest";
  EXPECT_EQ(after.keys - before.keys, 1 + kSellers);
}

// More distinct keys than one MGET takes: several MGETs in the same round trip; sellers
// without a record are misses among the hits.
TEST_F(CacheReaderTest, ManyKeysAreSeveralMgetsInOneRoundTrip) {
  constexpr int kCached = 2'300;
  constexpr int kAbsent = 200;
  std::vector<std::string> cached_sellers;
  std::vector<Balance> balances;
  for (int i = 0; i < kCached; ++i) {
    cached_sellers.push_back(NewSeller());
    Balance b;
    b.seller_id = cached_sellers.back();
    b.version = 1;
    b.available_yen = i;
    balances.push_back(b);
  }
  cache_.PutBalances(balances);
  std::vector<std::vector<std::string>> lookups(3);
  for (int i = 0; i < kCached + kAbsent; ++i) {
    lookups[i % 3].push_back(i < kCached ? cached_sellers[i] : NewSeller());
  }
  const Cache::ReadStats before = cache_.read_stats();
  Notification reader_busy;
  Notification release;
  cache_.ReadBalances({cached_sellers[0]}, [&](const Cache::CachedBalances&) {
    reader_busy.Notify();
    release.WaitForNotification();
  });
  reader_busy.WaitForNotification();
  std::atomic<int> hits{0};
  std::atomic<int> misses{0};
  std::atomic<int> wrong{0};
  std::atomic<int> answered{0};
  Notification all_answered;
  for (const std::vector<std::string>& ids : lookups) {
    cache_.ReadBalances(ids, [&, ids](const Cache::CachedBalances& cached) {
      for (size_t k = 0; k < ids.size(); ++k) {
        if (!cached[k].has_value()) {
          misses.fetch_add(1);
        } else if (cached[k]->seller_id != ids[k]) {
          wrong.fetch_add(1);
        } else {
          hits.fetch_add(1);
        }
      }
      if (answered.fetch_add(1) + 1 == static_cast<int>(lookups.size())) all_answered.Notify();
    });
  }
  release.Notify();
  all_answered.WaitForNotification();
  EXPECT_EQ(hits.load(), kCached);
  EXPECT_EQ(misses.load(), kAbsent);
  EXPECT_EQ(wrong.load(), 0);
  const Cache::ReadStats after = cache_.read_stats();
  EXPECT_EQ(after.round_trips - before.round_trips, 2);
  EXPECT_EQ(after.keys - before.keys, 1 + kCached + kAbsent);
  EXPECT_GT(kCached + kAbsent, static_cast<int>(Cache::kReadMgetKeysMax) * 2);
}

// DESIGN.md section 7: a forged balance, or another seller's authentic record copied to this
// seller's key, is a miss, and the reader removes it.
TEST_F(CacheReaderTest, ForgedRecordIsAMissAndIsRemoved) {
  const std::string honest = NewSeller();
  const std::string forged = NewSeller();
  const std::string copied = NewSeller();
  const Balance real = Put(honest, 700);
  ASSERT_TRUE(admin_.Command({"SET", Key(forged), "999999|1|1000000|0|0|0|0||0123"}).ok());
  ASSERT_TRUE(admin_.Command({"SET", Key(copied), cache_.BalanceRecord(real)}).ok());
  Notification answered;
  Cache::CachedBalances got;
  cache_.ReadBalances({forged, honest, copied}, [&](Cache::CachedBalances cached) {
    got = std::move(cached);
    answered.Notify();
  });
  answered.WaitForNotification();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_FALSE(got[0].has_value());
  ASSERT_TRUE(got[1].has_value());
  EXPECT_EQ(got[1]->available_yen, 700);
  EXPECT_FALSE(got[2].has_value());
  // The removal follows the callbacks, before the reader's next round trip.
  EXPECT_FALSE(cache_.GetBalance(honest + "-absent").has_value());
  for (const std::string& seller : {forged, copied}) {
    auto left = admin_.Command({"GET", Key(seller)});
    ASSERT_TRUE(left.ok());
    EXPECT_TRUE(left->is_nil()) << seller << ": " << left->str;
  }
  // The real balance can be cached there again.
  Put(forged, 5);
  ASSERT_TRUE(cache_.GetBalance(forged).has_value());
  EXPECT_EQ(cache_.GetBalance(forged)->available_yen, 5);
}

// DESIGN.md section 4: Redis down is a miss for every lookup (PostgreSQL answers), and a
// balance whose write failed meanwhile is not read from Redis until it has been written, even
// when Redis holds an authentic older copy (a failover's new master).
TEST_F(CacheReaderTest, RedisDownIsAMissAndPendingWritesAreNotRead) {
  const std::string seller = NewSeller();
  const std::string other = NewSeller();
  const Balance old_balance = Put(seller, 100, 1);
  Put(other, 300, 1);
  ASSERT_TRUE(cache_.GetBalance(seller).has_value());

  ASSERT_TRUE(server_->Stop().ok());
  EXPECT_FALSE(cache_.GetBalance(seller).has_value());
  Notification answered;
  Cache::CachedBalances got;
  cache_.ReadBalances({seller, other}, [&](Cache::CachedBalances cached) {
    got = std::move(cached);
    answered.Notify();
  });
  answered.WaitForNotification();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0].has_value());
  EXPECT_FALSE(got[1].has_value());
  Put(seller, 60, 2);  // fails: kept for FlushPending

  ASSERT_TRUE(server_->Restart().ok());  // empty: no persistence
  WaitForRedis();
  ASSERT_TRUE(admin_.Command({"SET", Key(seller), cache_.BalanceRecord(old_balance)}).ok());
  Put(other, 300, 1);
  EXPECT_FALSE(cache_.GetBalance(seller).has_value()) << "an older copy while a write is pending";
  ASSERT_TRUE(cache_.GetBalance(other).has_value()) << "other sellers are read";
  EXPECT_EQ(cache_.FlushPending(), 0u);
  const std::optional<Balance> now = cache_.GetBalance(seller);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->available_yen, 60);
  EXPECT_EQ(now->version, 2);
}

// Stopping answers what was queued; lookups after it are answered at once, as unavailable.
TEST_F(CacheReaderTest, StopAnswersQueuedLookupsThenAnswersAtOnce) {
  const std::string seller = NewSeller();
  Put(seller, 42);
  Notification reader_busy;
  Notification release;
  cache_.ReadBalances({seller}, [&](const Cache::CachedBalances&) {
    reader_busy.Notify();
    release.WaitForNotification();
  });
  reader_busy.WaitForNotification();
  std::optional<Balance> queued;
  cache_.ReadBalances({seller}, [&](Cache::CachedBalances cached) { queued = cached[0]; });
  std::thread stopper([this] { cache_.StopReads(); });
  release.Notify();
  stopper.join();
  ASSERT_TRUE(queued.has_value());
  EXPECT_EQ(queued->available_yen, 42);
  bool ran = false;
  cache_.ReadBalances({seller}, [&](const Cache::CachedBalances& cached) {
    ran = true;
    EXPECT_FALSE(cached[0].has_value());
  });
  EXPECT_TRUE(ran) << "answered on the calling thread";
  EXPECT_FALSE(cache_.GetBalance(seller).has_value());
}

}  // namespace
}  // namespace qcash::wallet
