// The loss of the PostgreSQL primary under load (DESIGN.md section 10): the databases run as a
// pg_auto_failover formation (a monitor, a primary and a synchronous secondary), the primary's
// machine is lost (its keeper and PostgreSQL SIGKILLed), the monitor promotes the secondary,
// and the wallet — which was not restarted — finds the new primary through its multi-host URL
// and goes on. Every spend acknowledged before or after the loss is in the new primary's
// journal exactly once (commits waited for the standby), every definite failure had no effect,
// and the ledger audit passes. The figures (time to a writable primary, the longest gap between
// acknowledged spends) are printed for docs/RELIABILITY.md.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/mutex.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/harness/pg_ha.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;
using Steady = std::chrono::steady_clock;

struct Env {
  std::unique_ptr<Stack> stack;
  std::unique_ptr<pb::WalletService::Stub> stub;
};
Env* env = nullptr;

class FailoverEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    auto stack = StartStack("failover", {}, {}, StackOptions{.ha_postgres = true});
    ASSERT_TRUE(stack.ok()) << stack.status();
    env->stack = std::move(*stack);
    env->stub = pb::WalletService::NewStub(
        grpc::CreateChannel(env->stack->wallet.address, grpc::InsecureChannelCredentials()));
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
  return CallOn(env->stub.get(), caller, method, request, response, "", std::chrono::seconds(10));
}

grpc::Status Spend(const std::string& seller, const std::string& key, pb::SpendResponse* out) {
  pb::SpendRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key(key);
  request.set_amount_yen(100);
  request.set_product(pb::AD_PRODUCT_TIME_SALE);
  request.set_booking_reference("failover");
  return Call("adbooking", &pb::WalletService::Stub::Spend, request, out);
}

// Whether an answer leaves the outcome open: the caller must retry with the same key.
bool OutcomeOpen(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         s.error_code() == grpc::StatusCode::ABORTED ||
         s.error_code() == grpc::StatusCode::CANCELLED;
}

TEST(FailoverTest, PrimaryLostUnderLoadLosesNoAcknowledgedSpend) {
  const std::string seller = NewSeller();
  {
    pb::OpenWalletRequest open;
    open.set_seller_id(seller);
    open.set_idempotency_key(NewKey());
    pb::OpenWalletResponse opened;
    ASSERT_TRUE(Call("settlement", &pb::WalletService::Stub::OpenWallet, open, &opened).ok());
    pb::CreditRequest credit;
    credit.set_seller_id(seller);
    credit.set_idempotency_key(NewKey());
    credit.set_amount_yen(1'000'000);
    credit.set_source(pb::CREDIT_SOURCE_CHARGE);
    credit.set_reference("order-failover");
    pb::CreditResponse credited;
    ASSERT_TRUE(Call("payment", &pb::WalletService::Stub::Credit, credit, &credited).ok());
  }

  constexpr int kClients = 8;
  struct Record {
    qcash::Mutex mu;
    // key -> the first answer's code; every key is retried with the same key until it is
    // acknowledged or definitely refused.
    std::map<std::string, grpc::StatusCode> first ABSL_GUARDED_BY(mu);
    std::map<std::string, int64_t> acknowledged_seq ABSL_GUARDED_BY(mu);
    Steady::time_point last_ack ABSL_GUARDED_BY(mu) = Steady::now();
    std::chrono::milliseconds longest_gap ABSL_GUARDED_BY(mu){0};
  } record;
  std::atomic<int> acks{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string key = absl::StrCat("failover-", c, "-", i);
        pb::SpendResponse spent;
        grpc::Status s = Spend(seller, key, &spent);
        {
          qcash::MutexLock lock(&record.mu);
          record.first[key] = s.error_code();
        }
        const auto give_up = Steady::now() + Scaled(std::chrono::seconds(90));
        while (OutcomeOpen(s) && Steady::now() < give_up) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          s = Spend(seller, key, &spent);
        }
        if (!s.ok()) continue;  // a definite refusal: checked below to have had no effect
        acks++;
        qcash::MutexLock lock(&record.mu);
        const auto now = Steady::now();
        record.longest_gap =
            std::max(record.longest_gap,
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - record.last_ack));
        record.last_ack = now;
        record.acknowledged_seq[key] = spent.result().entry_seq();
      }
    });
  }
  auto wait_for_acks = [&](int more) {
    const int target = acks.load() + more;
    const auto deadline = Steady::now() + Scaled(std::chrono::seconds(120));
    while (acks.load() < target && Steady::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return acks.load() >= target;
  };
  ASSERT_TRUE(wait_for_acks(200));
  {
    qcash::MutexLock lock(&record.mu);
    record.longest_gap = std::chrono::milliseconds(0);  // the load is warm from here
  }
  const int acks_before = acks.load();
  const auto killed_at = Steady::now();
  auto lost = env->stack->pg_ha->KillPrimary();
  ASSERT_TRUE(lost.ok()) << lost.status();
  auto promoted = env->stack->pg_ha->WaitForNewPrimary(*lost, Scaled(std::chrono::seconds(120)));
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  const auto writable_after =
      std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - killed_at);
  // The wallet goes on by itself on the new primary.
  ASSERT_TRUE(wait_for_acks(200)) << env->stack->pg_ha->Describe();
  stop = true;
  for (auto& t : clients) t.join();

  std::map<std::string, grpc::StatusCode> first;
  std::map<std::string, int64_t> acknowledged;
  std::chrono::milliseconds longest_gap;
  {
    qcash::MutexLock lock(&record.mu);
    first = record.first;
    acknowledged = record.acknowledged_seq;
    longest_gap = record.longest_gap;
  }
  // Every acknowledged spend is in the new primary's journal, once: a retry replays it with
  // the same journal entry. A key never acknowledged had no effect: its retry applies it now.
  int64_t applied = 0;
  int refused = 0;
  for (const auto& [key, code] : first) {
    pb::SpendResponse again;
    grpc::Status s;
    for (int attempt = 0; attempt < 100; ++attempt) {
      s = Spend(seller, key, &again);
      if (!OutcomeOpen(s)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(s.ok()) << key << ": " << s.error_message();
    ++applied;
    auto it = acknowledged.find(key);
    if (it != acknowledged.end()) {
      EXPECT_TRUE(again.result().replayed())
          << key << " was acknowledged but is not in the journal";
      EXPECT_EQ(again.result().entry_seq(), it->second) << key;
    } else {
      ++refused;
      EXPECT_FALSE(again.result().replayed()) << key << " was refused but had taken effect";
    }
  }
  pb::GetBalanceRequest balance;
  balance.set_seller_id(seller);
  pb::GetBalanceResponse answer;
  ASSERT_TRUE(Call("gateway", &pb::WalletService::Stub::GetBalance, balance, &answer).ok());
  EXPECT_EQ(answer.balance().available_yen(), 1'000'000 - 100 * applied);
  absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
  EXPECT_TRUE(audit.ok()) << audit;
  std::printf(
      "failover: node%d lost, node%d primary and writable after %lld ms; longest gap between "
      "acknowledged spends %lld ms; %zu spends acknowledged (%d before the loss), %d never "
      "acknowledged\n",
      *lost, *promoted, static_cast<long long>(writable_after.count()),
      static_cast<long long>(longest_gap.count()), acknowledged.size(), acks_before, refused);

  // The lost machine comes back as the new secondary.
  ASSERT_TRUE(env->stack->pg_ha->RestartNode(*lost).ok());
  absl::Status rejoined = env->stack->pg_ha->WaitForSecondary(Scaled(std::chrono::seconds(180)));
  EXPECT_TRUE(rejoined.ok()) << rejoined;
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::FailoverEnvironment());
  return RUN_ALL_TESTS();
}
