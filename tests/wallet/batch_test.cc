// ExecuteBatch end to end (issue 17): the qcash-wallet binary over gRPC against a real
// PostgreSQL and Redis. One call carries up to 1,000 spends, holds, captures and releases, each
// with its own key and its own result: a refused operation never fails the others, a batch
// retried whole applies each operation once, a seller's operations apply in order, and batches
// mix safely with single calls on the same sellers. Every test ends with the ledger audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/audit.h"
#include "services/wallet/client/wallet_client.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/harness/wallet_environment.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

WalletOnlyEnvironment* env = nullptr;  // PostgreSQL, Redis and a real wallet process

template <typename Request, typename Response>
grpc::Status Call(const std::string& caller,
                  Method<pb::WalletService::Stub, Request, Response> method, const Request& request,
                  Response* response) {
  return CallOn(env->stub.get(), caller, method, request, response, /*seller_token=*/"",
                std::chrono::seconds(60));
}

grpc::Status Execute(const pb::ExecuteBatchRequest& request, pb::ExecuteBatchResponse* response,
                     const std::string& caller = "adbooking") {
  response->Clear();
  return Call(caller, &pb::WalletService::Stub::ExecuteBatch, request, response);
}

// The reason of result `i` ("" when it was applied), and its code.
std::string ReasonAt(const pb::ExecuteBatchResponse& response, int i) {
  return ReasonOf(FromRpcStatus(response.results(i).status()));
}
int CodeAt(const pb::ExecuteBatchResponse& response, int i) {
  return response.results(i).status().code();
}

pb::SpendRequest* AddSpend(pb::ExecuteBatchRequest* batch, const std::string& seller, int64_t yen,
                           const std::string& key = NewKey()) {
  pb::SpendRequest* spend = batch->add_operations()->mutable_spend();
  spend->set_seller_id(seller);
  spend->set_idempotency_key(key);
  spend->set_amount_yen(yen);
  spend->set_product(pb::AD_PRODUCT_PLUS_KEYWORD);
  spend->set_booking_reference("clicks-2026-12-01");
  return spend;
}

class BatchTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }

  // An open wallet with `yen` available (none when 0).
  static void OpenWith(const std::string& seller, int64_t yen) { env->OpenWith(seller, yen); }

  // Opens `sellers` with the denomination `yen` each (a points conversion: any multiple of
  // 100), many at a time.
  static void OpenAllWith(const std::vector<std::string>& sellers, int64_t yen) {
    std::vector<std::thread> threads;
    constexpr size_t kThreads = 8;
    for (size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&sellers, yen, t] {
        for (size_t i = t; i < sellers.size(); i += kThreads) {
          pb::OpenWalletRequest open;
          open.set_seller_id(sellers[i]);
          open.set_idempotency_key(NewKey());
          pb::OpenWalletResponse opened;
          EXPECT_TRUE(Call("settlement", &pb::WalletService::Stub::OpenWallet, open, &opened).ok());
          pb::CreditRequest credit;
          credit.set_seller_id(sellers[i]);
          credit.set_idempotency_key(NewKey());
          credit.set_amount_yen(yen);
          credit.set_source(pb::CREDIT_SOURCE_POINTS_CONVERSION);
          credit.set_reference(absl::StrCat("conversion-", credit.idempotency_key()));
          pb::CreditResponse credited;
          EXPECT_TRUE(Call("points", &pb::WalletService::Stub::Credit, credit, &credited).ok());
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }

  static pb::Balance BalanceOf(const std::string& seller) {
    pb::GetBalanceRequest request;
    request.set_seller_id(seller);
    pb::GetBalanceResponse response;
    const grpc::Status s =
        Call("adbooking", &pb::WalletService::Stub::GetBalance, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.balance();
  }
};

// One call whose operations meet every kind of answer: each gets its own, in its position, with
// the code and reason its single RPC would have answered, and the refused ones change nothing.
TEST_F(BatchTest, MixedOutcomesInOneCall) {
  const std::string rich = NewSeller();
  const std::string poor = NewSeller();
  OpenWith(rich, 1000);
  OpenWith(poor, 0);
  pb::ExecuteBatchRequest batch;
  const std::string spent_key = NewKey();
  AddSpend(&batch, rich, 300, spent_key);                          // 0 applied
  AddSpend(&batch, poor, 100);                                     // 1 INSUFFICIENT_FUNDS
  AddSpend(&batch, "nobody-has-this-wallet", 100);                 // 2 WALLET_NOT_FOUND
  AddSpend(&batch, rich, 0);                                       // 3 INVALID_AMOUNT
  pb::HoldRequest* hold = batch.add_operations()->mutable_hold();  // 4 applied
  hold->set_seller_id(rich);
  hold->set_idempotency_key(NewKey());
  hold->set_amount_yen(200);
  hold->set_product(pb::AD_PRODUCT_TIME_SALE);
  hold->set_booking_reference("application-1");
  pb::ReleaseHoldRequest* unknown = batch.add_operations()->mutable_release();  // 5
  unknown->set_seller_id(rich);
  unknown->set_idempotency_key(NewKey());
  unknown->set_hold_id(999'999);
  AddSpend(&batch, rich, 301, spent_key);  // 6 the same key as 0, another request
  AddSpend(&batch, rich, 600);             // 7 INSUFFICIENT_FUNDS: 500 left after 0 and 4
  AddSpend(&batch, "bad seller id!", 1);   // 8 INVALID_SELLER_ID

  pb::ExecuteBatchResponse response;
  const grpc::Status s = Execute(batch, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.results_size(), 9);
  EXPECT_EQ(CodeAt(response, 0), 0);
  EXPECT_TRUE(response.results(0).has_spend());
  EXPECT_EQ(response.results(0).spend().result().balance().available_yen(), 700);
  EXPECT_FALSE(response.results(0).spend().result().replayed());
  EXPECT_EQ(CodeAt(response, 1), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonAt(response, 1), "INSUFFICIENT_FUNDS");
  EXPECT_FALSE(response.results(1).has_spend());
  EXPECT_EQ(CodeAt(response, 2), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonAt(response, 2), "WALLET_NOT_FOUND");
  EXPECT_EQ(CodeAt(response, 3), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonAt(response, 3), "INVALID_AMOUNT");
  EXPECT_EQ(CodeAt(response, 4), 0);
  ASSERT_TRUE(response.results(4).has_hold());
  const int64_t hold_id = response.results(4).hold().hold_id();
  EXPECT_GT(hold_id, 0);
  EXPECT_EQ(response.results(4).hold().result().balance().held_yen(), 200);
  EXPECT_EQ(CodeAt(response, 5), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonAt(response, 5), "HOLD_NOT_FOUND");
  EXPECT_EQ(CodeAt(response, 6), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonAt(response, 6), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(CodeAt(response, 7), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonAt(response, 7), "INSUFFICIENT_FUNDS");
  EXPECT_EQ(CodeAt(response, 8), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonAt(response, 8), "INVALID_SELLER_ID");
  // The error carries the wallet's domain and a message, as a call's status does.
  const absl::Status refused = FromRpcStatus(response.results(7).status());
  EXPECT_FALSE(refused.message().empty());
  EXPECT_EQ(response.results(7).status().details_size(), 1);

  pb::Balance rich_balance = BalanceOf(rich);
  EXPECT_EQ(rich_balance.available_yen(), 500);
  EXPECT_EQ(rich_balance.held_yen(), 200);
  EXPECT_EQ(BalanceOf(poor).available_yen(), 0);

  // The hold's id from the first batch: its capture and a spend in the next.
  pb::ExecuteBatchRequest next;
  pb::CaptureHoldRequest* capture = next.add_operations()->mutable_capture();
  capture->set_seller_id(rich);
  capture->set_idempotency_key(NewKey());
  capture->set_hold_id(hold_id);
  capture->set_amount_yen(150);
  pb::ReleaseHoldRequest* again = next.add_operations()->mutable_release();
  again->set_seller_id(rich);
  again->set_idempotency_key(NewKey());
  again->set_hold_id(hold_id);  // resolved by the capture just before it
  ASSERT_TRUE(Execute(next, &response).ok());
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(CodeAt(response, 0), 0);
  EXPECT_EQ(response.results(0).capture().captured_yen(), 150);
  EXPECT_EQ(response.results(0).capture().returned_yen(), 50);
  EXPECT_EQ(ReasonAt(response, 1), "HOLD_ALREADY_RESOLVED");
  rich_balance = BalanceOf(rich);
  EXPECT_EQ(rich_balance.available_yen(), 550);
  EXPECT_EQ(rich_balance.held_yen(), 0);
}

// The call itself is refused, with nothing applied, when it is empty, too big, holds an
// operation of no kind, or comes from a caller that may not spend.
TEST_F(BatchTest, RefusedCallsApplyNothing) {
  const std::string seller = NewSeller();
  OpenWith(seller, 5000);
  pb::ExecuteBatchRequest batch;
  pb::ExecuteBatchResponse response;
  EXPECT_GRPC_ERROR(Execute(batch, &response), INVALID_ARGUMENT, "EMPTY_BATCH");
  for (int i = 0; i < 1001; ++i) AddSpend(&batch, seller, 1);
  EXPECT_GRPC_ERROR(Execute(batch, &response), INVALID_ARGUMENT, "BATCH_TOO_LARGE");
  batch.Clear();
  AddSpend(&batch, seller, 1);
  batch.add_operations();  // nothing set
  EXPECT_GRPC_ERROR(Execute(batch, &response), INVALID_ARGUMENT, "UNKNOWN_OPERATION");
  batch.mutable_operations()->RemoveLast();
  for (const char* caller : {"gateway", "payment", "points", "settlement", "ops"}) {
    EXPECT_GRPC_ERROR(Execute(batch, &response, caller), PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  }
  EXPECT_EQ(BalanceOf(seller).available_yen(), 5000);
  // 1,000 is allowed.
  batch.Clear();
  for (int i = 0; i < 1000; ++i) AddSpend(&batch, seller, 1);
  ASSERT_TRUE(Execute(batch, &response).ok());
  EXPECT_EQ(BalanceOf(seller).available_yen(), 4000);
}

// A batch sent again whole (as after a lost answer), also while the first is still running and
// with new operations added, applies every operation exactly once.
TEST_F(BatchTest, ABatchRetriedWholeAppliesEachOperationOnce) {
  std::vector<std::string> sellers;
  for (int i = 0; i < 5; ++i) sellers.push_back(NewSeller());
  for (const std::string& seller : sellers) OpenWith(seller, 1000);
  pb::ExecuteBatchRequest batch;
  for (int i = 0; i < 50; ++i) AddSpend(&batch, sellers[i % sellers.size()], 3);

  pb::ExecuteBatchResponse first;
  ASSERT_TRUE(Execute(batch, &first).ok());
  for (int i = 0; i < first.results_size(); ++i) {
    ASSERT_EQ(CodeAt(first, i), 0) << i << " " << first.results(i).status().message();
    EXPECT_FALSE(first.results(i).spend().result().replayed());
  }
  // Four retries at once: every answer is the stored one.
  std::vector<std::thread> threads;
  std::atomic<int> replayed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      pb::ExecuteBatchResponse again;
      ASSERT_TRUE(Execute(batch, &again).ok());
      for (int i = 0; i < again.results_size(); ++i) {
        EXPECT_EQ(CodeAt(again, i), 0) << again.results(i).status().message();
        if (again.results(i).spend().result().replayed()) replayed.fetch_add(1);
        EXPECT_EQ(again.results(i).spend().result().entry_seq(),
                  first.results(i).spend().result().entry_seq());
        EXPECT_EQ(again.results(i).spend().result().balance().available_yen(),
                  first.results(i).spend().result().balance().available_yen());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(replayed.load(), 4 * 50);
  for (const std::string& seller : sellers) EXPECT_EQ(BalanceOf(seller).available_yen(), 970);

  // The same batch with ten more operations: the fifty replay, the ten apply.
  for (int i = 0; i < 10; ++i) AddSpend(&batch, sellers[i % sellers.size()], 5);
  pb::ExecuteBatchResponse grown;
  ASSERT_TRUE(Execute(batch, &grown).ok());
  ASSERT_EQ(grown.results_size(), 60);
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(CodeAt(grown, i), 0) << grown.results(i).status().message();
    EXPECT_EQ(grown.results(i).spend().result().replayed(), i < 50) << i;
  }
  for (const std::string& seller : sellers) EXPECT_EQ(BalanceOf(seller).available_yen(), 960);

  // Through the client library: the same batch once more is all replays.
  TransportConfig plaintext;
  plaintext.insecure_dev = true;
  auto client = wallet::WalletClient::Create(
      {env->stack->wallet.address, plaintext, "adbooking", RetryPolicy{}});
  ASSERT_TRUE(client.ok()) << client.status();
  auto answered = (*client)->ExecuteBatch(batch);
  ASSERT_TRUE(answered.ok()) << answered.status();
  ASSERT_EQ(answered->results_size(), 60);
  for (const pb::BatchResult& result : answered->results()) {
    EXPECT_TRUE(wallet::BatchResultStatus(result).ok());
    EXPECT_TRUE(result.spend().result().replayed());
  }
  for (const std::string& seller : sellers) EXPECT_EQ(BalanceOf(seller).available_yen(), 960);
}

// One batch touching 1,000 sellers once each.
TEST_F(BatchTest, OneBatchOfAThousandSellers) {
  std::vector<std::string> sellers;
  for (int i = 0; i < 1000; ++i) sellers.push_back(NewSeller());
  OpenAllWith(sellers, 100);
  pb::ExecuteBatchRequest batch;
  for (const std::string& seller : sellers) AddSpend(&batch, seller, 7);
  pb::ExecuteBatchResponse response;
  ASSERT_TRUE(Execute(batch, &response).ok());
  ASSERT_EQ(response.results_size(), 1000);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(CodeAt(response, i), 0) << i << " " << response.results(i).status().message();
    EXPECT_EQ(response.results(i).spend().result().balance().seller_id(), sellers[i]);
    EXPECT_EQ(response.results(i).spend().result().balance().available_yen(), 93);
  }
  for (size_t i = 0; i < sellers.size(); i += 97) {
    EXPECT_EQ(BalanceOf(sellers[i]).available_yen(), 93) << sellers[i];
  }
}

// One batch spending on one seller 1,000 times, in order: the funds cover the first 600, the
// last 400 are refused, and the balances each answer shows go down one by one.
TEST_F(BatchTest, OneSellerAThousandTimesInOrder) {
  const std::string seller = NewSeller();
  OpenAllWith({seller}, 600);
  pb::ExecuteBatchRequest batch;
  for (int i = 0; i < 1000; ++i) AddSpend(&batch, seller, 1);
  pb::ExecuteBatchResponse response;
  ASSERT_TRUE(Execute(batch, &response).ok());
  ASSERT_EQ(response.results_size(), 1000);
  for (int i = 0; i < 600; ++i) {
    ASSERT_EQ(CodeAt(response, i), 0) << i << " " << response.results(i).status().message();
    EXPECT_EQ(response.results(i).spend().result().balance().available_yen(), 599 - i) << i;
  }
  for (int i = 600; i < 1000; ++i) {
    EXPECT_EQ(ReasonAt(response, i), "INSUFFICIENT_FUNDS") << i;
  }
  EXPECT_EQ(BalanceOf(seller).available_yen(), 0);
}

// Batches and single calls on the same sellers at once: every yen applied is accounted for,
// nothing goes negative, and what the answers say was spent is what left the balances.
TEST_F(BatchTest, BatchesAndSingleCallsOnTheSameSellers) {
  constexpr int kSellers = 10;
  constexpr int64_t kFunds = 2000;
  std::vector<std::string> sellers;
  for (int i = 0; i < kSellers; ++i) sellers.push_back(NewSeller());
  OpenAllWith(sellers, kFunds);
  std::atomic<int64_t> spent{0};
  std::vector<std::thread> threads;
  // Four batch clients: 10 batches of 100 spends of 3 yen each.
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        pb::ExecuteBatchRequest batch;
        for (int i = 0; i < 100; ++i) AddSpend(&batch, sellers[(i + t + round) % kSellers], 3);
        pb::ExecuteBatchResponse response;
        const grpc::Status s = Execute(batch, &response);
        ASSERT_TRUE(s.ok()) << s.error_message();
        for (int i = 0; i < response.results_size(); ++i) {
          if (CodeAt(response, i) == 0) {
            spent.fetch_add(3);
          } else {
            EXPECT_EQ(ReasonAt(response, i), "INSUFFICIENT_FUNDS");
          }
        }
      }
    });
  }
  // Four single-call clients: 200 spends of 7 yen each.
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        pb::SpendRequest request;
        request.set_seller_id(sellers[(i * 3 + t) % kSellers]);
        request.set_idempotency_key(NewKey());
        request.set_amount_yen(7);
        request.set_product(pb::AD_PRODUCT_TIME_SALE);
        request.set_booking_reference("single");
        pb::SpendResponse response;
        const grpc::Status s =
            Call("adbooking", &pb::WalletService::Stub::Spend, request, &response);
        if (s.ok()) {
          spent.fetch_add(7);
          EXPECT_GE(response.result().balance().available_yen(), 0);
        } else {
          EXPECT_EQ(Reason(s), "INSUFFICIENT_FUNDS") << s.error_message();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  int64_t left = 0;
  for (const std::string& seller : sellers) {
    const pb::Balance balance = BalanceOf(seller);
    EXPECT_GE(balance.available_yen(), 0);
    left += balance.available_yen();
  }
  // 12,000 + 5,600 asked for, 20,000 there: every spend was applied, and all add up.
  EXPECT_EQ(spent.load(), 4 * 10 * 100 * 3 + 4 * 200 * 7);
  EXPECT_EQ(left + spent.load(), kSellers * kFunds);
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  qcash::testing::env = new qcash::testing::WalletOnlyEnvironment("wallet_batch");
  ::testing::AddGlobalTestEnvironment(qcash::testing::env);
  return RUN_ALL_TESTS();
}
