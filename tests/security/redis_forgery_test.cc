// DESIGN.md section 7: nothing read from Redis moves money or locks a seller out. These tests
// play an attacker who owns Redis (the harness's admin user: every command on every key) and
// writes the records the wallet keeps there: a "done" replay for a spend and for a credit, an
// in-flight marker that never expires, a "different request" record, a balance. The wallet's
// PostgreSQL must decide every time: spends are really applied or refused, credits really
// credit, and the ledger audit balances. Then the ACL: a service's Redis user reaches only its
// own keys, the gateway's rate limits live in another Redis, and the default user is off.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/redis.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/cache.h"
#include "services/wallet/ledger.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

struct Env {
  std::unique_ptr<Stack> stack;
  std::unique_ptr<pb::WalletService::Stub> stub;
  std::unique_ptr<RedisClient> attacker;  // the admin user of the wallet's Redis
};
Env* env = nullptr;

class ForgeryEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    auto stack = StartStack("redis_forgery", {"qcash_payment"});
    ASSERT_TRUE(stack.ok()) << stack.status();
    env->stack = std::move(*stack);
    env->stub = pb::WalletService::NewStub(
        grpc::CreateChannel(env->stack->wallet.address, grpc::InsecureChannelCredentials()));
    env->attacker =
        std::make_unique<RedisClient>(env->stack->redis->ClientOptions(RedisServer::kAdmin));
  }
  void TearDown() override {
    env->stack->keep = !::testing::UnitTest::GetInstance()->Passed();
    delete env;
  }
};

template <typename Request, typename Response>
grpc::Status Call(const std::string& caller,
                  Method<pb::WalletService::Stub, Request, Response> method, const Request& request,
                  Response* response) {
  return CallOn(env->stub.get(), caller, method, request, response);
}

// The record an attacker writes: the wallet's key layout and value format are no secret.
std::string IdempotencyKey(const wallet::Op& op) {
  return absl::StrCat("qcash:wallet:idem:{", op.seller_id, "}:", op.caller, ":",
                      op.idempotency_key);
}

void Forge(const std::string& key, const std::string& value) {
  auto reply = env->attacker->Command({"SET", key, value});
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->str, "OK") << reply->str;
}

// A result that says "done, nothing to do", with the balance the attacker likes.
std::string ForgedDone(const wallet::Op& op, int64_t available_yen) {
  wallet::OpResult result;
  result.entry_seq = 1;
  result.balance.seller_id = op.seller_id;
  result.balance.available_yen = available_yen;
  result.balance.version = 1;
  return absl::StrCat("D|", op.request_hash, "|", wallet::Cache::EncodeResult(result));
}

class RedisForgeryTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }

  void Open(const std::string& seller) {
    pb::OpenWalletRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    pb::OpenWalletResponse response;
    ASSERT_TRUE(Call("settlement", &pb::WalletService::Stub::OpenWallet, request, &response).ok());
  }

  // The wallet's own Op for a charge credit or a spend, as server.cc builds it.
  static wallet::Op CreditOp(const std::string& seller, const std::string& key, int64_t yen) {
    wallet::Op op;
    op.type = wallet::OpType::kCredit;
    op.seller_id = seller;
    op.caller = "payment";
    op.idempotency_key = key;
    op.amount_yen = yen;
    op.source = wallet::CreditSource::kCharge;
    op.reference = absl::StrCat("order-", key);
    EXPECT_TRUE(wallet::ValidateOp(op).ok());
    op.request_hash = wallet::RequestHash(op);
    return op;
  }
  static wallet::Op SpendOp(const std::string& seller, const std::string& key, int64_t yen) {
    wallet::Op op;
    op.type = wallet::OpType::kSpend;
    op.seller_id = seller;
    op.caller = "adbooking";
    op.idempotency_key = key;
    op.amount_yen = yen;
    op.product = wallet::AdProduct::kTimeSale;
    op.reference = "booking-1";
    EXPECT_TRUE(wallet::ValidateOp(op).ok());
    op.request_hash = wallet::RequestHash(op);
    return op;
  }

  grpc::Status Credit(const wallet::Op& op, pb::CreditResponse* response) {
    pb::CreditRequest request;
    request.set_seller_id(op.seller_id);
    request.set_idempotency_key(op.idempotency_key);
    request.set_amount_yen(op.amount_yen);
    request.set_source(pb::CREDIT_SOURCE_CHARGE);
    request.set_reference(op.reference);
    return Call("payment", &pb::WalletService::Stub::Credit, request, response);
  }
  grpc::Status Spend(const wallet::Op& op, pb::SpendResponse* response) {
    pb::SpendRequest request;
    request.set_seller_id(op.seller_id);
    request.set_idempotency_key(op.idempotency_key);
    request.set_amount_yen(op.amount_yen);
    request.set_product(pb::AD_PRODUCT_TIME_SALE);
    request.set_booking_reference(op.reference);
    return Call("adbooking", &pb::WalletService::Stub::Spend, request, response);
  }

  pb::Balance Balance(const std::string& seller) {
    pb::GetBalanceRequest request;
    request.set_seller_id(seller);
    pb::GetBalanceResponse response;
    const grpc::Status s =
        Call("gateway", &pb::WalletService::Stub::GetBalance, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.balance();
  }

  // Entries of `type` in the seller's history (PostgreSQL's journal).
  int HistoryCount(const std::string& seller, pb::EntryType type) {
    pb::ListHistoryRequest request;
    request.set_seller_id(seller);
    request.add_types(type);
    pb::ListHistoryResponse response;
    const grpc::Status s =
        Call("gateway", &pb::WalletService::Stub::ListHistory, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.entries_size();
  }

  // A seller with 1,000 yen charged.
  std::string FundedSeller() {
    const std::string seller = NewSeller();
    Open(seller);
    pb::CreditResponse credited;
    const grpc::Status s = Credit(CreditOp(seller, NewKey(), 1'000), &credited);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return seller;
  }
};

// A forged "done" answer for a spend's key would make the spend free: the ad is booked, the
// seller keeps the money. The wallet must apply the spend in PostgreSQL.
TEST_F(RedisForgeryTest, ForgedSpendReplayDoesNotMakeSpendsFree) {
  const std::string seller = FundedSeller();
  const wallet::Op spend = SpendOp(seller, NewKey(), 300);
  Forge(IdempotencyKey(spend), ForgedDone(spend, 1'000));
  pb::SpendResponse response;
  const grpc::Status s = Spend(spend, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(response.result().replayed());
  EXPECT_EQ(response.result().balance().available_yen(), 700);
  EXPECT_EQ(Balance(seller).available_yen(), 700);
  EXPECT_EQ(HistoryCount(seller, pb::ENTRY_TYPE_AD_SPEND), 1);
  // The same call again is a genuine replay of what PostgreSQL did.
  pb::SpendResponse again;
  ASSERT_TRUE(Spend(spend, &again).ok());
  EXPECT_TRUE(again.result().replayed());
  EXPECT_EQ(again.result().entry_seq(), response.result().entry_seq());
  EXPECT_EQ(Balance(seller).available_yen(), 700);
  // Operators see it: a sampled warning in the wallet's log (and a metric).
  std::ifstream in(env->stack->dir + "/wallet.log");
  std::stringstream log;
  log << in.rdbuf();
  EXPECT_NE(log.str().find("redis_record_unverified"), std::string::npos);
}

// A forged "done" answer for the payment service's Credit key would make payment mark a paid
// order credited with no credit (P5). The wallet must credit in PostgreSQL.
TEST_F(RedisForgeryTest, ForgedCreditReplayDoesNotSkipTheCredit) {
  const std::string seller = NewSeller();
  Open(seller);
  const wallet::Op credit = CreditOp(seller, NewKey(), 5'000);
  Forge(IdempotencyKey(credit), ForgedDone(credit, 5'000));
  pb::CreditResponse response;
  const grpc::Status s = Credit(credit, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(response.result().replayed());
  EXPECT_EQ(Balance(seller).available_yen(), 5'000);
  EXPECT_EQ(HistoryCount(seller, pb::ENTRY_TYPE_CHARGE), 1);
}

// An authentic record moved to another key (same seller, caller and request, another key)
// is no answer for that key: the MAC binds the key.
TEST_F(RedisForgeryTest, AuthenticRecordCopiedToAnotherKeyIsNotAnAnswer) {
  const std::string seller = FundedSeller();
  const wallet::Op first = SpendOp(seller, NewKey(), 100);
  pb::SpendResponse done;
  ASSERT_TRUE(Spend(first, &done).ok());
  auto stored = env->attacker->Command({"GET", IdempotencyKey(first)});
  ASSERT_TRUE(stored.ok() && stored->type == RedisReply::Type::kString);
  const wallet::Op second = SpendOp(seller, NewKey(), 100);
  Forge(IdempotencyKey(second), stored->str);
  pb::SpendResponse response;
  ASSERT_TRUE(Spend(second, &response).ok());
  EXPECT_FALSE(response.result().replayed());
  EXPECT_EQ(Balance(seller).available_yen(), 800);
  EXPECT_EQ(HistoryCount(seller, pb::ENTRY_TYPE_AD_SPEND), 2);
}

// An in-flight marker without expiry would answer ABORTED ("retry") forever: the seller could
// never be credited or spend with that key. PostgreSQL decides instead.
TEST_F(RedisForgeryTest, ForgedInFlightMarkerDoesNotBlockTheKey) {
  const std::string seller = FundedSeller();
  const wallet::Op credit = CreditOp(seller, NewKey(), 1'000);
  Forge(IdempotencyKey(credit), absl::StrCat("P|", credit.request_hash));
  pb::CreditResponse response;
  const grpc::Status s = Credit(credit, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Balance(seller).available_yen(), 2'000);
}

// A record that claims the key belongs to another request would refuse a genuine credit as
// IDEMPOTENCY_KEY_REUSED. PostgreSQL decides instead.
TEST_F(RedisForgeryTest, ForgedOtherRequestRecordDoesNotRefuseTheCall) {
  const std::string seller = FundedSeller();
  const wallet::Op credit = CreditOp(seller, NewKey(), 1'000);
  wallet::Op other = credit;
  other.request_hash = std::string(credit.request_hash.size(), '0');
  Forge(IdempotencyKey(credit), ForgedDone(other, 0));
  pb::CreditResponse response;
  const grpc::Status s = Credit(credit, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Balance(seller).available_yen(), 2'000);
}

// A forged cached balance is neither shown nor spent: spending never reads the cache
// (DESIGN.md section 4), and balance reads verify the cached value's MAC.
TEST_F(RedisForgeryTest, ForgedBalanceIsNeitherShownNorSpent) {
  const std::string seller = FundedSeller();
  Forge(absl::StrCat("qcash:wallet:bal:{", seller, "}"), "999999|1|1000000|0|0|0");
  EXPECT_EQ(Balance(seller).available_yen(), 1'000);
  const wallet::Op spend = SpendOp(seller, NewKey(), 5'000);
  pb::SpendResponse response;
  EXPECT_GRPC_ERROR(Spend(spend, &response), FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
  EXPECT_EQ(Balance(seller).available_yen(), 1'000);
  // A genuine change is cached again over the forged value.
  ASSERT_TRUE(Spend(SpendOp(seller, NewKey(), 400), &response).ok());
  EXPECT_EQ(Balance(seller).available_yen(), 600);
}

// Authentic records still answer from Redis: the fast path works.
TEST_F(RedisForgeryTest, AuthenticReplayIsAnsweredFromRedis) {
  const std::string seller = FundedSeller();
  const wallet::Op spend = SpendOp(seller, NewKey(), 100);
  pb::SpendResponse first, second;
  ASSERT_TRUE(Spend(spend, &first).ok());
  auto stored = env->attacker->Command({"GET", IdempotencyKey(spend)});
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->type, RedisReply::Type::kString);
  EXPECT_EQ(stored->str.rfind("D|", 0), 0u) << stored->str;
  ASSERT_TRUE(Spend(spend, &second).ok());
  EXPECT_TRUE(second.result().replayed());
  EXPECT_EQ(second.result().entry_seq(), first.result().entry_seq());
  EXPECT_EQ(Balance(seller).available_yen(), 900);
}

// ------------------------------------------------------------------------------ Redis ACL

bool IsErrorStarting(const absl::StatusOr<RedisReply>& reply, const std::string& prefix) {
  return reply.ok() && reply->is_error() && reply->str.rfind(prefix, 0) == 0;
}

TEST(RedisAclTest, DefaultUserIsOff) {
  for (RedisServer* server : {env->stack->redis.get(), env->stack->gateway_redis.get()}) {
    RedisClient::Options anonymous;
    anonymous.port = server->port();
    RedisClient nobody(anonymous);
    auto reply = nobody.Command({"GET", "qcash:wallet:bal:{x}"});
    EXPECT_TRUE(IsErrorStarting(reply, "NOAUTH")) << (reply.ok() ? reply->str : "no reply");
    RedisClient::Options as_default = anonymous;
    as_default.user = "default";
    as_default.password = "anything-at-all-1234";
    EXPECT_FALSE(RedisClient(as_default).Command({"PING"}).ok());
  }
}

TEST(RedisAclTest, EachServiceReachesOnlyItsOwnKeys) {
  RedisClient wallet(env->stack->redis->ClientOptions("wallet"));
  RedisClient gateway(env->stack->gateway_redis->ClientOptions("gateway"));
  auto ok = wallet.Command({"SET", "qcash:wallet:acl-test", "1"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->str, "OK");
  auto limit = gateway.Command({"INCR", "qcash:gateway:acl-test"});
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_EQ(limit->type, RedisReply::Type::kInteger) << limit->str;
  // The wallet reaches nothing outside qcash:wallet:*, directly or through a script (a script
  // runs with its caller's rights).
  EXPECT_TRUE(IsErrorStarting(wallet.Command({"GET", "qcash:payment:qsign:{s}"}), "NOPERM"));
  EXPECT_TRUE(IsErrorStarting(wallet.Command({"SET", "qcash:gateway:rl:{s}", "0"}), "NOPERM"));
  EXPECT_TRUE(IsErrorStarting(wallet.Command({"GET", "other"}), "NOPERM"));
  // The balance reader's MGET (issue 17) too: one foreign key refuses the whole command.
  EXPECT_TRUE(IsErrorStarting(
      wallet.Command({"MGET", "qcash:wallet:acl-test", "qcash:payment:qsign:{s}"}), "NOPERM"));
  auto mget = wallet.Command({"MGET", "qcash:wallet:acl-test", "qcash:wallet:absent"});
  ASSERT_TRUE(mget.ok()) << mget.status();
  ASSERT_EQ(mget->type, RedisReply::Type::kArray) << mget->str;
  EXPECT_TRUE(IsErrorStarting(
      wallet.Command({"EVAL", "return redis.call('GET', KEYS[1])", "1", "qcash:payment:x"}),
      "NOPERM"));
  // Nor can it run what no service needs.
  EXPECT_TRUE(IsErrorStarting(wallet.Command({"FLUSHALL"}), "NOPERM"));
  EXPECT_TRUE(IsErrorStarting(wallet.Command({"KEYS", "*"}), "NOPERM"));
  EXPECT_TRUE(IsErrorStarting(wallet.Command({"CONFIG", "GET", "*"}), "NOPERM"));
  EXPECT_TRUE(IsErrorStarting(wallet.Command({"ACL", "LIST"}), "NOPERM"));
  // The gateway's Redis is another server: its user reaches its rate limits only, cannot run
  // what it does not need, and the wallet's Redis does not know it.
  EXPECT_TRUE(IsErrorStarting(gateway.Command({"GET", "qcash:wallet:acl-test"}), "NOPERM"));
  EXPECT_TRUE(IsErrorStarting(gateway.Command({"SET", "qcash:wallet:bal:{s}", "1"}), "NOPERM"));
  EXPECT_TRUE(IsErrorStarting(gateway.Command({"INCR", "other"}), "NOPERM"));
  EXPECT_TRUE(IsErrorStarting(gateway.Command({"FLUSHALL"}), "NOPERM"));
  EXPECT_TRUE(IsErrorStarting(gateway.Command({"KEYS", "*"}), "NOPERM"));
  RedisClient::Options gateway_on_main = env->stack->gateway_redis->ClientOptions("gateway");
  gateway_on_main.port = env->stack->redis->port();
  EXPECT_FALSE(RedisClient(gateway_on_main).Command({"PING"}).ok());
  EXPECT_NE(env->stack->redis->port(), env->stack->gateway_redis->port());
  // Nor does the gateway's Redis know the wallet.
  RedisClient::Options wallet_on_gateway = env->stack->redis->ClientOptions("wallet");
  wallet_on_gateway.port = env->stack->gateway_redis->port();
  EXPECT_FALSE(RedisClient(wallet_on_gateway).Command({"PING"}).ok());
}

// The payment service uses no Redis (its Q-sign lock is in PostgreSQL alone): neither Redis has
// a `payment` user, so a leaked or guessed payment credential opens nothing.
TEST(RedisAclTest, NoPaymentUserExists) {
  for (RedisServer* server : {env->stack->redis.get(), env->stack->gateway_redis.get()}) {
    RedisClient admin(server->ClientOptions(RedisServer::kAdmin));
    auto users = admin.Command({"ACL", "USERS"});
    ASSERT_TRUE(users.ok()) << users.status();
    ASSERT_EQ(users->type, RedisReply::Type::kArray);
    std::vector<std::string> names;
    for (const RedisReply& user : users->elements) names.push_back(user.str);
    EXPECT_FALSE(names.empty());
    EXPECT_EQ(std::count(names.begin(), names.end(), "payment"), 0) << absl::StrJoin(names, ",");
    RedisClient::Options as_payment = server->ClientOptions("payment");
    as_payment.user = "payment";
    as_payment.password = "any-password-at-all-1234";
    EXPECT_FALSE(RedisClient(as_payment).Command({"PING"}).ok());
  }
}

// The payment service starts without any Redis setting (QCASH_REDIS_* are not set here: the
// harness gives payment none), and its log names no Redis.
TEST(RedisAclTest, PaymentStartsWithoutRedisSettings) {
  auto payment = StartPaymentWithSandbox(*env->stack, "http://127.0.0.1:9");
  ASSERT_TRUE(payment.ok()) << payment.status();
  std::ifstream in(env->stack->dir + "/payment.log");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("starting"), std::string::npos) << text.str();
  EXPECT_EQ(absl::AsciiStrToLower(text.str()).find("redis"), std::string::npos) << text.str();
}

// A service that uses Redis (the wallet here) without its Redis user or password does not start
// (DESIGN.md section 7).
TEST(RedisAclTest, ServicesRefuseToStartWithoutRedisCredentials) {
  for (const char* drop : {"QCASH_REDIS_USER", "QCASH_REDIS_PASSWORD_FILE"}) {
    std::map<std::string, std::string> settings = env->stack->wallet_env;
    settings.erase(drop);
    const std::string log = absl::StrCat(env->stack->dir, "/wallet-no-", drop, ".log");
    auto wallet = StartService(QCASH_WALLET_BINARY, settings, "QCASH_WALLET_LISTEN", log);
    EXPECT_FALSE(wallet.ok()) << drop;
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find(drop), std::string::npos) << text.str();
  }
}

// The wallet without its replay key, or with a short one, does not start (fail closed).
TEST(RedisAclTest, WalletRefusesToStartWithoutAReplayKey) {
  std::map<std::string, std::string> settings = env->stack->wallet_env;
  settings.erase("QCASH_WALLET_REPLAY_KEY_FILE");
  const std::string log = env->stack->dir + "/wallet-no-replay-key.log";
  EXPECT_FALSE(StartService(QCASH_WALLET_BINARY, settings, "QCASH_WALLET_LISTEN", log).ok());
  settings["QCASH_WALLET_REPLAY_KEY_FILE"] = NewSecretFile(env->stack->dir + "/short.key", 8);
  EXPECT_FALSE(StartService(QCASH_WALLET_BINARY, settings, "QCASH_WALLET_LISTEN", log).ok());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("QCASH_WALLET_REPLAY_KEY_FILE is required"), std::string::npos);
  EXPECT_NE(text.str().find("must hold 32 to 4096 bytes (it holds 16)"), std::string::npos)
      << text.str();
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::ForgeryEnvironment());
  return RUN_ALL_TESTS();
}
