// The wallet's Redis behind Sentinel (docs/REDIS-HA.md), end to end: the qcash-wallet binary
// finds the master through three sentinels, follows a failover after the master is SIGKILLed,
// and answers from PostgreSQL when all of Redis is gone (DESIGN.md section 4: losing Redis
// loses only speed). Each test has a Redis group of its own and a wallet on it; the
// PostgreSQL is shared. Every test ends with the ledger audit. The gateway's rate limiter, on
// a group of its own ("gateway"), follows a failover too.
//
// The failover's times are printed (never asserted): master killed -> the sentinels name a
// new master -> the wallet's cache write reaches it.
#include "tests/harness/redis_ha.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis.h"
#include "common/seller_token.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct Env {
  std::string dir;
  std::unique_ptr<PostgresServer> pg;
  std::string db_url;
};
Env* env = nullptr;

class RedisHaEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    env->dir = MakeStateDir("redis_ha");
    auto pg = PostgresServer::Start(env->dir + "/pg");
    ASSERT_TRUE(pg.ok()) << pg.status();
    env->pg = std::move(*pg);
    ASSERT_TRUE(env->pg->CreateDatabase("qcash_wallet").ok());
    env->db_url = env->pg->Url("qcash_wallet");
  }
  void TearDown() override {
    const bool passed = ::testing::UnitTest::GetInstance()->Passed();
    const std::string dir = env->dir;
    delete env;
    if (passed) std::filesystem::remove_all(dir);  // keep the logs of a failure
  }
};

class RedisHaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = absl::StrCat(env->dir, "/", name);
    auto ha = RedisHa::Start(dir_ + "/redis");
    ASSERT_TRUE(ha.ok()) << ha.status();
    ha_ = std::move(*ha);
    std::map<std::string, std::string> settings = {
        {"QCASH_WALLET_DATABASE_URL", env->db_url},
        {"QCASH_WALLET_SWEEP_INTERVAL_MS", "100"},
        {"QCASH_WALLET_REPLAY_KEY_FILE", NewSecretFile(dir_ + "/wallet-replay.key")}};
    settings.merge(ha_->ClientEnv("wallet"));
    for (const auto& [key, value] : ExtraSettings()) settings[key] = value;
    auto wallet =
        StartService(QCASH_WALLET_BINARY, settings, "QCASH_WALLET_LISTEN", dir_ + "/wallet.log");
    ASSERT_TRUE(wallet.ok()) << wallet.status();
    wallet_ = std::move(*wallet);
    stub_ = pb::WalletService::NewStub(
        grpc::CreateChannel(wallet_.address, grpc::InsecureChannelCredentials()));
  }
  virtual std::map<std::string, std::string> ExtraSettings() const { return {}; }

  void TearDown() override {
    wallet_.process.reset();
    ha_.reset();
    absl::Status audit = AuditWalletLedger(env->db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }

  template <typename Request, typename Response>
  grpc::Status Call(const std::string& caller,
                    Method<pb::WalletService::Stub, Request, Response> method,
                    const Request& request, Response* response) {
    return CallOn(stub_.get(), caller, method, request, response, /*seller_token=*/"",
                  std::chrono::seconds(20));
  }

  void Open(const std::string& seller) {
    pb::OpenWalletRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    pb::OpenWalletResponse response;
    ASSERT_TRUE(Call("settlement", &pb::WalletService::Stub::OpenWallet, request, &response).ok());
  }

  grpc::Status Charge(const std::string& seller, int64_t yen) {
    pb::CreditRequest request;
    request.set_seller_id(seller);
    const std::string key = NewKey();
    request.set_idempotency_key(key);
    request.set_amount_yen(yen);
    request.set_source(pb::CREDIT_SOURCE_CHARGE);
    request.set_reference(absl::StrCat("order-", key));
    pb::CreditResponse response;
    return Call("payment", &pb::WalletService::Stub::Credit, request, &response);
  }

  grpc::Status Spend(const std::string& seller, int64_t yen, const std::string& key = NewKey(),
                     pb::SpendResponse* out = nullptr) {
    pb::SpendRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(key);
    request.set_amount_yen(yen);
    request.set_product(pb::AD_PRODUCT_TIME_SALE);
    request.set_booking_reference("booking-1");
    pb::SpendResponse response;
    return Call("adbooking", &pb::WalletService::Stub::Spend, request, out ? out : &response);
  }

  // Spends 1 yen and reads it back (every read must show it) until the sentinels name a master
  // other than `old_master` (30 s at most); then waits until it is ready.
  void SpendUntilNewMaster(const std::string& seller, int old_master, int64_t* expected,
                           absl::StatusOr<int>* new_master, int* calls) {
    const auto deadline = steady_clock::now() + Scaled(std::chrono::seconds(30));
    while (steady_clock::now() < deadline) {
      auto master = ha_->CurrentMaster();
      if (master.ok() && *master != old_master) {
        *new_master = ha_->WaitForNewMaster(old_master, Scaled(std::chrono::seconds(10)));
        return;
      }
      ASSERT_TRUE(Spend(seller, 1).ok());
      *expected -= 1;
      ASSERT_EQ(Available(seller), *expected);
      ++*calls;
    }
  }

  // Spends 1 yen and reads it back until the wallet's cache record of the new balance is on
  // node `master` (until `deadline`); `written_at` is when that was seen.
  void SpendUntilCachedOn(const std::string& seller, int master, steady_clock::time_point deadline,
                          int64_t* expected, steady_clock::time_point* written_at) {
    bool written = false;
    while (!written && steady_clock::now() < deadline) {
      ASSERT_TRUE(Spend(seller, 1).ok());
      *expected -= 1;
      ASSERT_EQ(Available(seller), *expected);
      written = CachedOn(master, seller).find(AvailableInRecord(*expected)) != std::string::npos;
      *written_at = steady_clock::now();
    }
    EXPECT_TRUE(written) << "the wallet's cache writes never reached the new master";
  }

  int64_t Available(const std::string& seller) {
    pb::GetBalanceRequest request;
    request.set_seller_id(seller);
    pb::GetBalanceResponse response;
    const grpc::Status s =
        Call("gateway", &pb::WalletService::Stub::GetBalance, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.balance().available_yen();
  }

  // The seller's cached balance record on `node`, read as the admin ("" when absent or down).
  std::string CachedOn(int node, const std::string& seller) {
    RedisClient admin(ha_->NodeOptions(node, RedisServer::kAdmin));
    auto value = admin.Command({"GET", absl::StrCat("qcash:wallet:bal:{", seller, "}")});
    return value.ok() && value->type == RedisReply::Type::kString ? value->str : "";
  }
  static std::string AvailableInRecord(int64_t yen) { return absl::StrCat("|", yen, "|0|0|0|"); }

  std::string WalletLog() const {
    std::ifstream in(dir_ + "/wallet.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
  std::unique_ptr<RedisHa> ha_;
  ServiceProcess wallet_;
  std::unique_ptr<pb::WalletService::Stub> stub_;
};

// The wallet asks the sentinels where the master is and writes its cache there.
TEST_F(RedisHaTest, TheWalletFindsTheMasterThroughSentinel) {
  auto master = ha_->CurrentMaster();
  ASSERT_TRUE(master.ok()) << master.status();
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 5'000).ok());
  EXPECT_EQ(Available(seller), 5'000);
  EXPECT_NE(CachedOn(*master, seller).find(AvailableInRecord(5'000)), std::string::npos)
      << "the balance was not cached on the master";
  EXPECT_NE(WalletLog().find(
                absl::StrCat("\"event\":\"redis_master_found\",\"master\":\"", ha_->master_name(),
                             "\",\"address\":\"127.0.0.1:", ha_->node_port(*master), "\"")),
            std::string::npos);
}

// The master is SIGKILLed. While the sentinels fail over, every call is answered (from
// PostgreSQL where Redis cannot help) and every balance read is right; then the wallet's cache
// writes reach the new master without a restart of the wallet.
TEST_F(RedisHaTest, TheWalletFollowsAFailoverAndNoCallFails) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 100'000).ok());
  int64_t expected = 100'000;
  ASSERT_EQ(Available(seller), expected);  // cached on the master now

  const auto killed_at = steady_clock::now();
  auto old_master = ha_->KillMaster();
  ASSERT_TRUE(old_master.ok()) << old_master.status();
  // Calls while the sentinels have not decided yet.
  int calls_during_failover = 0;
  absl::StatusOr<int> new_master = absl::UnavailableError("not yet");
  SpendUntilNewMaster(seller, *old_master, &expected, &new_master, &calls_during_failover);
  ASSERT_TRUE(new_master.ok()) << new_master.status();
  const auto named_at = steady_clock::now();
  const auto deadline = named_at + Scaled(std::chrono::seconds(30));

  // The wallet follows: a spend's cache write lands on the new master.
  auto written_at = steady_clock::now();
  SpendUntilCachedOn(seller, *new_master, deadline, &expected, &written_at);
  EXPECT_NE(WalletLog().find("\"event\":\"redis_master_lost\""), std::string::npos);

  const auto ms = [](auto d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  std::printf(
      "redis failover: master killed -> new master named %lld ms -> wallet wrote to it %lld ms "
      "(%d calls answered meanwhile)\n",
      static_cast<long long>(ms(named_at - killed_at)),
      static_cast<long long>(ms(written_at - killed_at)), calls_during_failover);
  RecordProperty("failover_named_ms", static_cast<int>(ms(named_at - killed_at)));
  RecordProperty("failover_written_ms", static_cast<int>(ms(written_at - killed_at)));

  // The old master comes back empty; the sentinels make it a replica of the new one. Reads
  // stay right meanwhile.
  ASSERT_TRUE(ha_->RestartNode(*old_master).ok());
  ASSERT_TRUE(Spend(seller, 1).ok());
  expected -= 1;
  EXPECT_EQ(Available(seller), expected);
}

// The cache writes of a failover's outage are kept and written again by the sweeper; until
// then the new master still holds the balance from before (its copy as a replica), which must
// not be served. Here the sweeper never runs, so a read served from that copy would be seen.
class RedisHaNoFlushTest : public RedisHaTest {
 protected:
  std::map<std::string, std::string> ExtraSettings() const override {
    return {{"QCASH_WALLET_SWEEP_INTERVAL_MS", "3600000"}};
  }
};

TEST_F(RedisHaNoFlushTest, ABalanceChangedDuringTheFailoverIsNotReadFromTheReplicasCopy) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 10'000).ok());
  ASSERT_EQ(Available(seller), 10'000);
  auto master = ha_->CurrentMaster();
  ASSERT_TRUE(master.ok()) << master.status();
  const int replica = 1 - *master;
  const auto deadline = steady_clock::now() + Scaled(std::chrono::seconds(30));
  while (CachedOn(replica, seller).find(AvailableInRecord(10'000)) == std::string::npos) {
    ASSERT_LT(steady_clock::now(), deadline) << "the replica never got the cached balance";
    std::this_thread::sleep_for(milliseconds(10));
  }

  auto old_master = ha_->KillMaster();
  ASSERT_TRUE(old_master.ok()) << old_master.status();
  ASSERT_TRUE(Spend(seller, 1'000).ok());  // its cache write fails: Redis has no master
  auto new_master = ha_->WaitForNewMaster(*old_master, Scaled(std::chrono::seconds(30)));
  ASSERT_TRUE(new_master.ok()) << new_master.status();
  ASSERT_EQ(*new_master, replica);
  EXPECT_NE(CachedOn(replica, seller).find(AvailableInRecord(10'000)), std::string::npos);
  // Reads until the wallet has found the new master, and some after.
  const std::string found =
      absl::StrCat("\"event\":\"redis_master_found\",\"master\":\"", ha_->master_name(),
                   "\",\"address\":\"127.0.0.1:", ha_->node_port(replica), "\"");
  int reads_after = 0;
  while (reads_after < 20) {
    ASSERT_LT(steady_clock::now(), deadline) << "the wallet never found the new master";
    ASSERT_EQ(Available(seller), 9'000);
    if (WalletLog().find(found) != std::string::npos) ++reads_after;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// A planned switch: the master is demoted to a replica while the wallet has connections to it.
// No call fails, every balance read is right, and the cache writes go to the new master. (The
// old master takes writes until the wallet's next check, up to 1 s after the promotion; they
// are lost, and the new master's older copies are not served: they name the old master.)
TEST_F(RedisHaTest, TheWalletFollowsAPlannedSwitch) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 100'000).ok());
  int64_t expected = 100'000;
  ASSERT_EQ(Available(seller), expected);

  const auto switched_at = steady_clock::now();
  auto old_master = ha_->SwitchMaster();
  ASSERT_TRUE(old_master.ok()) << old_master.status();
  absl::StatusOr<int> new_master = absl::UnavailableError("not yet");
  int calls_during_switch = 0;
  SpendUntilNewMaster(seller, *old_master, &expected, &new_master, &calls_during_switch);
  ASSERT_TRUE(new_master.ok()) << new_master.status();
  const auto named_at = steady_clock::now();
  const auto deadline = named_at + Scaled(std::chrono::seconds(30));
  auto written_at = steady_clock::now();
  SpendUntilCachedOn(seller, *new_master, deadline, &expected, &written_at);
  EXPECT_EQ(Available(seller), expected);
  const auto ms = [](auto d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  std::printf(
      "redis planned switch: SENTINEL FAILOVER -> new master named %lld ms -> wallet wrote to it "
      "%lld ms\n",
      static_cast<long long>(ms(named_at - switched_at)),
      static_cast<long long>(ms(written_at - switched_at)));
}

// A write the old master took and lost leaves the new master with an older, authentic
// balance record of the seller (played here by copying the old record there). It is not
// served: it names the master it was written to.
TEST_F(RedisHaTest, AnOlderRecordFromTheOldMasterIsNotServedByTheNewOne) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 10'000).ok());
  ASSERT_EQ(Available(seller), 10'000);
  auto old_master = ha_->CurrentMaster();
  ASSERT_TRUE(old_master.ok()) << old_master.status();
  const std::string older = CachedOn(*old_master, seller);
  ASSERT_NE(older.find(AvailableInRecord(10'000)), std::string::npos) << older;
  ASSERT_TRUE(Spend(seller, 1'000).ok());

  ASSERT_TRUE(ha_->SwitchMaster().ok());
  auto new_master = ha_->WaitForNewMaster(*old_master, Scaled(std::chrono::seconds(30)));
  ASSERT_TRUE(new_master.ok()) << new_master.status();
  // Until the wallet writes to the new master (it checks once a second).
  const std::string other = NewSeller();
  Open(other);
  const auto deadline = steady_clock::now() + Scaled(std::chrono::seconds(30));
  int64_t other_balance = 0;
  while (CachedOn(*new_master, other).find(AvailableInRecord(other_balance)) == std::string::npos) {
    ASSERT_LT(steady_clock::now(), deadline) << "the wallet never wrote to the new master";
    ASSERT_TRUE(Charge(other, 1).ok());
    ++other_balance;
  }
  RedisClient admin(ha_->NodeOptions(*new_master, RedisServer::kAdmin));
  const std::string key = absl::StrCat("qcash:wallet:bal:{", seller, "}");
  ASSERT_TRUE(admin.Command({"SET", key, older}).ok());
  EXPECT_EQ(Available(seller), 9'000);
  EXPECT_EQ(Available(seller), 9'000);
  // Cached again, for the master it is on now.
  EXPECT_NE(CachedOn(*new_master, seller).find(AvailableInRecord(9'000)), std::string::npos);
  EXPECT_EQ(WalletLog().find("unverified"), std::string::npos)
      << "a record from before a failover is not a forgery";
}

// Every node and sentinel gone: the wallet answers from PostgreSQL (idempotency from its
// durable records), and fills the cache again once Redis is back.
TEST_F(RedisHaTest, AllOfRedisGoneTheWalletAnswersFromPostgres) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 5'000).ok());
  const std::string key = NewKey();
  ASSERT_TRUE(Spend(seller, 1'000, key).ok());
  EXPECT_EQ(Available(seller), 4'000);

  ha_->StopAll();
  EXPECT_EQ(Available(seller), 4'000);
  ASSERT_TRUE(Spend(seller, 500).ok());
  EXPECT_EQ(Available(seller), 3'500);
  pb::SpendResponse replay;
  ASSERT_TRUE(Spend(seller, 1'000, key, &replay).ok());
  EXPECT_TRUE(replay.result().replayed());
  EXPECT_GRPC_ERROR(Spend(seller, 999, key), INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(Available(seller), 3'500);

  for (int node = 0; node < RedisHa::kNodes; ++node) ASSERT_TRUE(ha_->RestartNode(node).ok());
  for (int s = 0; s < RedisHa::kSentinels; ++s) ASSERT_TRUE(ha_->RestartSentinel(s).ok());
  auto master = ha_->WaitForNewMaster(/*old=*/-1, Scaled(std::chrono::seconds(30)));
  ASSERT_TRUE(master.ok()) << master.status();
  const auto deadline = steady_clock::now() + Scaled(std::chrono::seconds(20));
  bool cached = false;
  while (!cached && steady_clock::now() < deadline) {
    EXPECT_EQ(Available(seller), 3'500);
    cached = CachedOn(*master, seller).find(AvailableInRecord(3'500)) != std::string::npos;
    if (!cached) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(cached) << "the balance cache did not fill again on the master";
}

// The gateway's rate limits live in a Redis group of their own: its counters reach the master
// through the sentinels, every request is answered while the master is replaced (the limiter
// counts locally meanwhile), and then the counters go to the new master.
TEST(RedisHaGatewayTest, TheRateLimiterFollowsAFailover) {
  auto stack = StartStack("redis_ha_gateway");
  ASSERT_TRUE(stack.ok()) << stack.status();
  auto ha = RedisHa::Start((*stack)->dir + "/gateway-ha", "gateway");
  ASSERT_TRUE(ha.ok()) << ha.status();
  std::map<std::string, std::string> settings = (*ha)->ClientEnv("gateway", "QCASH_GATEWAY_REDIS");
  // The largest limit the gateway takes: the loops below send requests as fast as the gateway
  // answers for up to 30 s (a thousand a second on an idle machine), and every one must pass.
  settings["QCASH_GATEWAY_RATE_LIMIT"] = "1000000";
  settings["QCASH_GATEWAY_RATE_WINDOW_S"] = "600";
  auto gateway = StartGateway(**stack, settings);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  const std::string seller = NewSeller();
  auto wallet = pb::WalletService::NewStub(
      grpc::CreateChannel((*stack)->wallet.address, grpc::InsecureChannelCredentials()));
  pb::OpenWalletRequest open;
  open.set_seller_id(seller);
  open.set_idempotency_key(NewKey());
  pb::OpenWalletResponse opened;
  ASSERT_TRUE(
      CallOn(wallet.get(), "settlement", &pb::WalletService::Stub::OpenWallet, open, &opened).ok());
  auto token = IssueSellerToken(gateway->token_private_key_pem, gateway->token_issuer,
                                gateway->token_audience, seller, absl::Now(), absl::Hours(1));
  ASSERT_TRUE(token.ok()) << token.status();
  httplib::Client http(gateway->host, gateway->port);
  http.set_read_timeout(10, 0);
  auto balance = [&] {
    auto response = http.Get("/api/v1/balance", {{"Authorization", "Bearer " + *token}});
    return response ? response->status : 0;
  };
  // The seller's counter on `node` (-1: none there).
  auto counter_on = [&](int node) -> int64_t {
    RedisClient admin((*ha)->NodeOptions(node, RedisServer::kAdmin));
    auto value = admin.Command({"GET", absl::StrCat("qcash:gateway:rate:{", seller, "}")});
    int64_t count = -1;
    if (value.ok() && value->type == RedisReply::Type::kString) {
      EXPECT_TRUE(absl::SimpleAtoi(value->str, &count)) << value->str;
    }
    return count;
  };

  auto master = (*ha)->CurrentMaster();
  ASSERT_TRUE(master.ok()) << master.status();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(balance(), 200);
  EXPECT_EQ(counter_on(*master), 3);

  auto old_master = (*ha)->KillMaster();
  ASSERT_TRUE(old_master.ok()) << old_master.status();
  const auto deadline = steady_clock::now() + Scaled(std::chrono::seconds(30));
  absl::StatusOr<int> new_master = absl::UnavailableError("not yet");
  while (steady_clock::now() < deadline) {
    auto named = (*ha)->CurrentMaster();
    if (named.ok() && *named != *old_master) {
      new_master = (*ha)->WaitForNewMaster(*old_master, Scaled(std::chrono::seconds(10)));
      break;
    }
    ASSERT_EQ(balance(), 200);
  }
  ASSERT_TRUE(new_master.ok()) << new_master.status();
  // Once the gateway has found the new master, each request counts there.
  bool counted = false;
  while (!counted && steady_clock::now() < deadline) {
    const int64_t before = counter_on(*new_master);
    ASSERT_EQ(balance(), 200);
    counted = before >= 0 && counter_on(*new_master) == before + 1;
  }
  EXPECT_TRUE(counted) << "the gateway's counters never reached the new master";
  gateway->process.reset();
  ha->reset();
  (*stack)->keep = ::testing::Test::HasFailure();
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::RedisHaEnvironment());
  return RUN_ALL_TESTS();
}
