// GetBalances end to end (issue 17): the qcash-wallet binary over gRPC against a real
// PostgreSQL and Redis. Up to 1,000 sellers in one call, each answered in the order asked with
// its own status; the same balances GetBalance gives, whether from the cache (the reader's
// MGET) or from PostgreSQL (one query for the misses, then cached); the services may call it,
// the gateway may not. Every test ends with the ledger audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/redis.h"
#include "google/rpc/error_details.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/client/wallet_client.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/harness/wallet_environment.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

constexpr int kBalancesMax = 1'000;  // seller ids per call (wallet.proto)

WalletOnlyEnvironment* env = nullptr;  // PostgreSQL, Redis and a real wallet process

// The wallet's Redis as its admin: removes and plants cached keys.
RedisClient& Admin() {
  static RedisClient* const admin =
      new RedisClient(env->stack->redis->ClientOptions(RedisServer::kAdmin));
  return *admin;
}

template <typename Request, typename Response>
grpc::Status Call(const std::string& caller,
                  Method<pb::WalletService::Stub, Request, Response> method, const Request& request,
                  Response* response) {
  return CallOn(env->stub.get(), caller, method, request, response, /*seller_token=*/"",
                std::chrono::seconds(60));
}

std::string CacheKey(const std::string& seller) {
  return absl::StrCat("qcash:wallet:bal:{", seller, "}");
}

// The ErrorInfo of a per-seller status ({} when it has none).
google::rpc::ErrorInfo InfoOf(const google::rpc::Status& status) {
  google::rpc::ErrorInfo info;
  for (const auto& any : status.details()) {
    if (any.UnpackTo(&info)) return info;
  }
  return {};
}

class BalancesTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }

  // An open wallet with `yen` available (none: 0), charged as one voucher of a denomination.
  static void OpenWith(const std::string& seller, int64_t yen) { env->OpenWith(seller, yen); }

  static void Spend(const std::string& seller, int64_t yen) {
    pb::SpendRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(yen);
    request.set_product(pb::AD_PRODUCT_TIME_SALE);
    request.set_booking_reference("booking-1");
    pb::SpendResponse response;
    const grpc::Status s = Call("adbooking", &pb::WalletService::Stub::Spend, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  static pb::Balance GetBalance(const std::string& seller) {
    pb::GetBalanceRequest request;
    request.set_seller_id(seller);
    pb::GetBalanceResponse response;
    const grpc::Status s =
        Call("adbooking", &pb::WalletService::Stub::GetBalance, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.balance();
  }

  static grpc::Status GetBalances(const std::vector<std::string>& sellers,
                                  pb::GetBalancesResponse* out,
                                  const std::string& caller = "adbooking") {
    pb::GetBalancesRequest request;
    for (const std::string& seller : sellers) request.add_seller_ids(seller);
    out->Clear();
    return Call(caller, &pb::WalletService::Stub::GetBalances, request, out);
  }

  static void Uncache(const std::string& seller) {
    auto deleted = Admin().Command({"DEL", CacheKey(seller)});
    ASSERT_TRUE(deleted.ok()) << deleted.status();
  }
  static bool Cached(const std::string& seller) {
    auto value = Admin().Command({"GET", CacheKey(seller)});
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() && value->type == RedisReply::Type::kString;
  }
};

void ExpectSameBalance(const pb::Balance& got, const pb::Balance& want) {
  EXPECT_EQ(got.seller_id(), want.seller_id());
  EXPECT_EQ(got.available_yen(), want.available_yen()) << want.seller_id();
  EXPECT_EQ(got.held_yen(), want.held_yen());
  EXPECT_EQ(got.total_yen(), want.total_yen());
  EXPECT_EQ(got.qmoney_yen(), want.qmoney_yen());
  EXPECT_EQ(got.pending_settlement_yen(), want.pending_settlement_yen());
  EXPECT_EQ(got.version(), want.version());
  EXPECT_EQ(got.state(), want.state());
  EXPECT_EQ(got.debt_yen(), want.debt_yen());
}

void ExpectOk(const pb::BalanceResult& result) {
  EXPECT_TRUE(result.has_status());
  EXPECT_EQ(result.status().code(), 0) << result.status().message();
  EXPECT_TRUE(result.has_balance());
}

void ExpectError(const pb::BalanceResult& result, grpc::StatusCode code,
                 const std::string& reason) {
  EXPECT_EQ(result.status().code(), static_cast<int>(code)) << result.status().message();
  const google::rpc::ErrorInfo info = InfoOf(result.status());
  EXPECT_EQ(info.reason(), reason);
  EXPECT_EQ(info.domain(), "wallet.qcash");
  EXPECT_FALSE(result.status().message().empty());
  EXPECT_FALSE(result.has_balance());
}

// Known, unknown and invalid sellers, some twice: each answered in the order asked, the
// unknown and the invalid with their own error and no effect on the others.
TEST_F(BalancesTest, EachSellerAnsweredInOrderWithItsOwnStatus) {
  const std::string rich = NewSeller();
  const std::string empty = NewSeller();
  const std::string unknown = NewSeller();
  OpenWith(rich, 3'000);
  OpenWith(empty, 0);
  Uncache(empty);  // one known seller from PostgreSQL, the other from the cache
  pb::GetBalancesResponse response;
  const std::vector<std::string> asked = {rich, unknown, "not a seller id", empty, rich, unknown};
  const grpc::Status s = GetBalances(asked, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.results_size(), 6);
  ExpectOk(response.results(0));
  EXPECT_EQ(response.results(0).balance().seller_id(), rich);
  EXPECT_EQ(response.results(0).balance().available_yen(), 3'000);
  ExpectError(response.results(1), grpc::StatusCode::NOT_FOUND, "WALLET_NOT_FOUND");
  ExpectError(response.results(2), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_SELLER_ID");
  ExpectOk(response.results(3));
  EXPECT_EQ(response.results(3).balance().seller_id(), empty);
  EXPECT_EQ(response.results(3).balance().available_yen(), 0);
  ExpectOk(response.results(4));
  ExpectSameBalance(response.results(4).balance(), response.results(0).balance());
  ExpectError(response.results(5), grpc::StatusCode::NOT_FOUND, "WALLET_NOT_FOUND");
  EXPECT_TRUE(Cached(empty)) << "a balance loaded from PostgreSQL is cached";
  EXPECT_FALSE(Cached(unknown));
}

// The most a call may ask: 1,000 sellers, half of them cached and half from PostgreSQL.
TEST_F(BalancesTest, AThousandSellersInOneCall) {
  constexpr int kThreads = 8;
  std::vector<std::string> sellers;
  for (int i = 0; i < kBalancesMax; ++i) sellers.push_back(NewSeller());
  std::vector<std::thread> openers;
  openers.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    openers.emplace_back([&, t] {
      for (int i = t; i < kBalancesMax; i += kThreads) {
        OpenWith(sellers[i], i % 2 == 0 ? 1'000 : 0);
        if (i % 2 == 1) Uncache(sellers[i]);
      }
    });
  }
  for (std::thread& opener : openers) opener.join();
  pb::GetBalancesResponse response;
  const grpc::Status s = GetBalances(sellers, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.results_size(), kBalancesMax);
  for (int i = 0; i < kBalancesMax; ++i) {
    ExpectOk(response.results(i));
    EXPECT_EQ(response.results(i).balance().seller_id(), sellers[i]);
    EXPECT_EQ(response.results(i).balance().available_yen(), i % 2 == 0 ? 1'000 : 0);
  }
  // 1,000 times one seller is as many answers, all the same.
  const std::vector<std::string> same(kBalancesMax, sellers[0]);
  ASSERT_TRUE(GetBalances(same, &response).ok());
  ASSERT_EQ(response.results_size(), kBalancesMax);
  for (const pb::BalanceResult& result : response.results()) {
    ExpectOk(result);
    EXPECT_EQ(result.balance().available_yen(), 1'000);
  }
}

// The call's own errors: nothing asked, or more than 1,000 sellers.
TEST_F(BalancesTest, EmptyAndOversizedCallsAreRefused) {
  pb::GetBalancesResponse response;
  EXPECT_GRPC_ERROR(GetBalances({}, &response), INVALID_ARGUMENT, "EMPTY_BATCH");
  std::vector<std::string> too_many;
  for (int i = 0; i <= kBalancesMax; ++i) too_many.push_back(NewSeller());
  EXPECT_GRPC_ERROR(GetBalances(too_many, &response), INVALID_ARGUMENT, "BATCH_TOO_LARGE");
  EXPECT_EQ(response.results_size(), 0);
  // Unknown sellers, even all of them, are answers, not an error of the call.
  too_many.pop_back();
  const grpc::Status s = GetBalances(too_many, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.results_size(), kBalancesMax);
  for (const pb::BalanceResult& result : response.results()) {
    ExpectError(result, grpc::StatusCode::NOT_FOUND, "WALLET_NOT_FOUND");
  }
}

// kReadMany: every service may read many sellers at once; the gateway, which reads only the
// seller of the token it forwards, may not.
TEST_F(BalancesTest, ServicesMayCallTheGatewayMayNot) {
  const std::string seller = NewSeller();
  OpenWith(seller, 500);
  pb::GetBalancesResponse response;
  EXPECT_GRPC_ERROR(GetBalances({seller}, &response, "gateway"), PERMISSION_DENIED,
                    "CALLER_NOT_ALLOWED");
  EXPECT_EQ(response.results_size(), 0);
  for (const char* caller : {"adbooking", "payment", "points", "settlement", "ops"}) {
    const grpc::Status s = GetBalances({seller}, &response, caller);
    ASSERT_TRUE(s.ok()) << caller << ": " << s.error_message();
    ASSERT_EQ(response.results_size(), 1);
    EXPECT_EQ(response.results(0).balance().available_yen(), 500) << caller;
  }
}

// After each spend, GetBalances gives what GetBalance gives: from the cache that the spend
// wrote, and from PostgreSQL when the cached copy is gone (which it then writes again).
TEST_F(BalancesTest, SameAsGetBalanceAfterSpendsFromCacheAndFromDatabase) {
  const std::string seller = NewSeller();
  const std::string other = NewSeller();
  OpenWith(seller, 10'000);
  OpenWith(other, 3'000);
  for (int64_t yen : {300, 1'200, 4'500}) {
    Spend(seller, yen);
    Spend(other, yen / 3);
    ASSERT_TRUE(Cached(seller));
    pb::GetBalancesResponse hit;
    ASSERT_TRUE(GetBalances({seller, other}, &hit).ok());
    ASSERT_EQ(hit.results_size(), 2);
    ExpectOk(hit.results(0));
    ExpectSameBalance(hit.results(0).balance(), GetBalance(seller));
    ExpectSameBalance(hit.results(1).balance(), GetBalance(other));

    Uncache(seller);
    pb::GetBalancesResponse miss;
    ASSERT_TRUE(GetBalances({other, seller}, &miss).ok());
    ASSERT_EQ(miss.results_size(), 2);
    ExpectOk(miss.results(1));
    EXPECT_TRUE(Cached(seller)) << "the miss was cached";
    ExpectSameBalance(miss.results(1).balance(), GetBalance(seller));
    ExpectSameBalance(miss.results(1).balance(), hit.results(0).balance());
    ExpectSameBalance(miss.results(0).balance(), GetBalance(other));
  }
  EXPECT_EQ(GetBalance(seller).available_yen(), 10'000 - 300 - 1'200 - 4'500);
}

// DESIGN.md section 7: a forged cached balance is a miss: the seller's real balance is shown.
TEST_F(BalancesTest, ForgedCachedBalanceIsNotShown) {
  const std::string seller = NewSeller();
  OpenWith(seller, 1'000);
  ASSERT_TRUE(Admin().Command({"SET", CacheKey(seller), "999999|1|1000000|0|0|0|0||00"}).ok());
  for (int round = 0; round < 2; ++round) {
    pb::GetBalancesResponse response;
    ASSERT_TRUE(GetBalances({seller}, &response).ok());
    ASSERT_EQ(response.results_size(), 1);
    EXPECT_EQ(response.results(0).balance().available_yen(), 1'000);
  }
  EXPECT_EQ(GetBalance(seller).available_yen(), 1'000);
}

// The client library's GetBalances, as another service calls it.
TEST_F(BalancesTest, ClientLibraryReadsMany) {
  const std::string seller = NewSeller();
  OpenWith(seller, 500);
  wallet::WalletClient::Options options;
  options.target = env->stack->wallet.address;
  options.transport.insecure_dev = true;  // the harness's wallet runs in development mode
  options.caller = "adbooking";
  auto client = wallet::WalletClient::Create(std::move(options));
  ASSERT_TRUE(client.ok()) << client.status();
  pb::GetBalancesRequest request;
  request.add_seller_ids(seller);
  request.add_seller_ids(NewSeller());
  auto response = (*client)->GetBalances(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 2);
  EXPECT_EQ(response->results(0).balance().available_yen(), 500);
  ExpectError(response->results(1), grpc::StatusCode::NOT_FOUND, "WALLET_NOT_FOUND");
  request.clear_seller_ids();
  auto refused = (*client)->GetBalances(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ReasonOf(refused.status()), "EMPTY_BATCH");
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  qcash::testing::env = new qcash::testing::WalletOnlyEnvironment("wallet_balances");
  ::testing::AddGlobalTestEnvironment(qcash::testing::env);
  return RUN_ALL_TESTS();
}
