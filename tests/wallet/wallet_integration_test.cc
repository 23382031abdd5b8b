// The wallet end to end: the qcash-wallet binary over gRPC, against a real PostgreSQL and a
// real Redis started for this test binary. Every test ends with the ledger audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "common/redis.h"
#include "common/status.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

struct Env {
  std::string dir;
  std::unique_ptr<PostgresServer> pg;
  std::unique_ptr<RedisServer> redis;
  ServiceProcess wallet;
  std::string db_url;
  std::map<std::string, std::string> settings;  // the wallet's environment
  std::unique_ptr<pb::WalletService::Stub> stub;
};
Env* env = nullptr;

class WalletEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    env->dir = MakeStateDir("wallet_integration");
    auto pg = PostgresServer::Start(env->dir + "/pg");
    ASSERT_TRUE(pg.ok()) << pg.status();
    env->pg = std::move(*pg);
    ASSERT_TRUE(env->pg->CreateDatabase("qcash_wallet").ok());
    env->db_url = env->pg->Url("qcash_wallet");
    auto redis = RedisServer::Start(env->dir + "/redis");
    ASSERT_TRUE(redis.ok()) << redis.status();
    env->redis = std::move(*redis);
    env->settings = {
        {"QCASH_WALLET_DATABASE_URL", env->db_url},
        {"QCASH_WALLET_SWEEP_INTERVAL_MS", "100"},
        {"QCASH_WALLET_REPLAY_KEY_FILE", NewSecretFile(env->dir + "/wallet-replay.key")}};
    env->settings.merge(env->redis->ClientEnv("wallet"));
    auto wallet = StartService(QCASH_WALLET_BINARY, env->settings, "QCASH_WALLET_LISTEN",
                               env->dir + "/wallet.log");
    ASSERT_TRUE(wallet.ok()) << wallet.status();
    env->wallet = std::move(*wallet);
    env->stub = pb::WalletService::NewStub(
        grpc::CreateChannel(env->wallet.address, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    const bool passed = ::testing::UnitTest::GetInstance()->Passed();
    const std::string dir = env->dir;
    delete env;
    if (passed) std::filesystem::remove_all(dir);  // keep the logs of a failure
  }
};

// One call on the wallet as `caller` (empty: no identity at all).
template <typename Request, typename Response>
grpc::Status Call(const std::string& caller,
                  Method<pb::WalletService::Stub, Request, Response> method, const Request& request,
                  Response* response) {
  return CallOn(env->stub.get(), caller, method, request, response, /*seller_token=*/"",
                std::chrono::seconds(20));
}

class WalletTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }

  void Open(const std::string& seller) {
    pb::OpenWalletRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    pb::OpenWalletResponse response;
    ASSERT_TRUE(Call("settlement", &pb::WalletService::Stub::OpenWallet, request, &response).ok());
  }

  grpc::Status Charge(const std::string& seller, int64_t yen, const std::string& key = NewKey(),
                      pb::CreditResponse* out = nullptr) {
    pb::CreditRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(key);
    request.set_amount_yen(yen);
    request.set_source(pb::CREDIT_SOURCE_CHARGE);
    request.set_reference(absl::StrCat("order-", key));
    pb::CreditResponse response;
    return Call("payment", &pb::WalletService::Stub::Credit, request, out ? out : &response);
  }

  grpc::Status Spend(const std::string& seller, int64_t yen, const std::string& key = NewKey(),
                     pb::SpendResponse* out = nullptr,
                     pb::AdProduct product = pb::AD_PRODUCT_TIME_SALE) {
    pb::SpendRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(key);
    request.set_amount_yen(yen);
    request.set_product(product);
    request.set_booking_reference("booking-1");
    pb::SpendResponse response;
    return Call("adbooking", &pb::WalletService::Stub::Spend, request, out ? out : &response);
  }

  // Spend, retried with the same key while the answer is UNAVAILABLE (a channel reconnecting
  // to a restarted wallet, a database coming back), for up to 10 s.
  grpc::Status SpendOnceAvailable(const std::string& seller, int64_t yen, const std::string& key,
                                  pb::SpendResponse* out = nullptr) {
    grpc::Status s;
    for (int attempt = 0; attempt < 100; ++attempt) {
      s = Spend(seller, yen, key, out);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return s;
  }

  grpc::Status Hold(const std::string& seller, int64_t yen, pb::HoldResponse* out,
                    int64_t ttl_s = 0) {
    pb::HoldRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(yen);
    request.set_product(pb::AD_PRODUCT_GROUP_BUYING);
    request.set_booking_reference("application-7");
    request.set_ttl_seconds(ttl_s);
    return Call("adbooking", &pb::WalletService::Stub::Hold, request, out);
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
};

TEST_F(WalletTest, HealthAndReflectionAreOn) {
  EXPECT_TRUE(WaitForServing(env->wallet.address, std::chrono::seconds(1)).ok());
  auto services = ReflectionListServices(env->wallet.address);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_NE(services->find("qcash.wallet.v1.WalletService"), std::string::npos);
  EXPECT_NE(services->find("grpc.health.v1.Health"), std::string::npos);
}

TEST_F(WalletTest, OpenIsIdempotentAndNewWalletIsEmpty) {
  const std::string seller = NewSeller();
  pb::OpenWalletRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key(NewKey());
  pb::OpenWalletResponse first, second;
  ASSERT_TRUE(Call("settlement", &pb::WalletService::Stub::OpenWallet, request, &first).ok());
  EXPECT_TRUE(first.created());
  request.set_idempotency_key(NewKey());
  ASSERT_TRUE(Call("settlement", &pb::WalletService::Stub::OpenWallet, request, &second).ok());
  EXPECT_FALSE(second.created());
  const pb::Balance b = Balance(seller);
  EXPECT_EQ(b.available_yen(), 0);
  EXPECT_EQ(b.held_yen(), 0);
  EXPECT_EQ(b.total_yen(), 0);
  EXPECT_EQ(b.state(), pb::WALLET_STATE_OPEN);
}

TEST_F(WalletTest, UnknownSellerIsNotFound) {
  pb::GetBalanceRequest request;
  request.set_seller_id("nobody-here");
  pb::GetBalanceResponse response;
  EXPECT_GRPC_ERROR(Call("gateway", &pb::WalletService::Stub::GetBalance, request, &response),
                    NOT_FOUND, "WALLET_NOT_FOUND");
  EXPECT_GRPC_ERROR(Spend("nobody-here", 100), NOT_FOUND, "WALLET_NOT_FOUND");
  EXPECT_GRPC_ERROR(Charge("nobody-here", 100), NOT_FOUND, "WALLET_NOT_FOUND");
}

// W2: a charge credits exactly its denomination; anything else changes nothing.
TEST_F(WalletTest, W2ChargeCreditsDenominationsOnly) {
  const std::string seller = NewSeller();
  Open(seller);
  pb::CreditResponse credited;
  ASSERT_TRUE(Charge(seller, 1'000, NewKey(), &credited).ok());
  EXPECT_EQ(credited.result().balance().available_yen(), 1'000);
  EXPECT_EQ(credited.result().entry_seq(), 1);
  EXPECT_FALSE(credited.result().replayed());
  EXPECT_GRPC_ERROR(Charge(seller, 1'234), INVALID_ARGUMENT, "UNKNOWN_DENOMINATION");
  EXPECT_GRPC_ERROR(Charge(seller, 0), INVALID_ARGUMENT, "INVALID_AMOUNT");
  EXPECT_GRPC_ERROR(Charge(seller, -1'000), INVALID_ARGUMENT, "INVALID_AMOUNT");
  EXPECT_EQ(Balance(seller).available_yen(), 1'000);
}

// DESIGN.md section 2: only payment credits a charge, only points a conversion.
TEST_F(WalletTest, CallersAreAuthorizedPerOperation) {
  const std::string seller = NewSeller();
  Open(seller);
  pb::CreditRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key(NewKey());
  request.set_amount_yen(1'000);
  request.set_source(pb::CREDIT_SOURCE_CHARGE);
  request.set_reference("order-x");
  pb::CreditResponse response;
  EXPECT_GRPC_ERROR(Call("points", &pb::WalletService::Stub::Credit, request, &response),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  EXPECT_GRPC_ERROR(Call("gateway", &pb::WalletService::Stub::Credit, request, &response),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  EXPECT_GRPC_ERROR(Call("", &pb::WalletService::Stub::Credit, request, &response), UNAUTHENTICATED,
                    "NO_CALLER_IDENTITY");
  request.set_source(pb::CREDIT_SOURCE_POINTS_CONVERSION);
  EXPECT_GRPC_ERROR(Call("payment", &pb::WalletService::Stub::Credit, request, &response),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  EXPECT_TRUE(Call("points", &pb::WalletService::Stub::Credit, request, &response).ok());
  pb::SpendRequest spend;
  spend.set_seller_id(seller);
  spend.set_idempotency_key(NewKey());
  spend.set_amount_yen(100);
  spend.set_product(pb::AD_PRODUCT_TIME_SALE);
  spend.set_booking_reference("b");
  pb::SpendResponse spent;
  EXPECT_GRPC_ERROR(Call("gateway", &pb::WalletService::Stub::Spend, spend, &spent),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  EXPECT_EQ(Balance(seller).available_yen(), 1'000);  // only the conversion landed
}

// W3: spending names one of the eight products; never more than available.
TEST_F(WalletTest, W3SpendRules) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 3'000).ok());
  pb::SpendResponse spent;
  ASSERT_TRUE(Spend(seller, 1'200, NewKey(), &spent, pb::AD_PRODUCT_POWER_RANK_UP).ok());
  EXPECT_EQ(spent.result().balance().available_yen(), 1'800);
  EXPECT_GRPC_ERROR(Spend(seller, 1'801), FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
  EXPECT_GRPC_ERROR(Spend(seller, 100, NewKey(), nullptr, pb::AD_PRODUCT_UNSPECIFIED),
                    INVALID_ARGUMENT, "UNKNOWN_AD_PRODUCT");
  EXPECT_GRPC_ERROR(Spend(seller, 100, NewKey(), nullptr, static_cast<pb::AdProduct>(65537)),
                    INVALID_ARGUMENT, "UNKNOWN_AD_PRODUCT");
  EXPECT_GRPC_ERROR(Spend(seller, 0), INVALID_ARGUMENT, "INVALID_AMOUNT");
  EXPECT_GRPC_ERROR(Spend(seller, INT64_MAX), INVALID_ARGUMENT, "INVALID_AMOUNT");
  EXPECT_EQ(Balance(seller).available_yen(), 1'800);
}

TEST_F(WalletTest, CreditNearInt64MaxIsRefusedNotWrapped) {
  const std::string seller = NewSeller();
  Open(seller);
  pb::CreditInternalFundsRequest request;
  request.set_seller_id(seller);
  request.set_account(pb::FUNDS_ACCOUNT_QMONEY);
  request.set_settlement_reference("settle-1");
  request.set_amount_yen(INT64_MAX);
  request.set_idempotency_key(NewKey());
  pb::CreditInternalFundsResponse response;
  EXPECT_GRPC_ERROR(
      Call("settlement", &pb::WalletService::Stub::CreditInternalFunds, request, &response),
      INVALID_ARGUMENT, "INVALID_AMOUNT");
  EXPECT_EQ(Balance(seller).qmoney_yen(), 0);
}

// W3: hold, then capture for less; the rest goes back; a hold resolves once.
TEST_F(WalletTest, W3HoldCaptureForLessReturnsTheRest) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 1'000).ok());
  pb::HoldResponse held;
  ASSERT_TRUE(Hold(seller, 700, &held).ok());
  EXPECT_EQ(held.result().balance().available_yen(), 300);
  EXPECT_EQ(held.result().balance().held_yen(), 700);
  EXPECT_EQ(held.result().balance().total_yen(), 1'000);
  EXPECT_GT(held.hold_id(), 0);
  EXPECT_GT(held.expires_at().seconds(), 0);

  pb::CaptureHoldRequest capture;
  capture.set_seller_id(seller);
  capture.set_idempotency_key(NewKey());
  capture.set_hold_id(held.hold_id());
  capture.set_amount_yen(701);
  pb::CaptureHoldResponse captured;
  EXPECT_GRPC_ERROR(Call("adbooking", &pb::WalletService::Stub::CaptureHold, capture, &captured),
                    FAILED_PRECONDITION, "CAPTURE_EXCEEDS_HOLD");
  capture.set_idempotency_key(NewKey());
  capture.set_amount_yen(500);
  ASSERT_TRUE(Call("adbooking", &pb::WalletService::Stub::CaptureHold, capture, &captured).ok());
  EXPECT_EQ(captured.captured_yen(), 500);
  EXPECT_EQ(captured.returned_yen(), 200);
  EXPECT_EQ(captured.result().balance().available_yen(), 500);
  EXPECT_EQ(captured.result().balance().held_yen(), 0);

  capture.set_idempotency_key(NewKey());
  capture.set_amount_yen(100);
  EXPECT_GRPC_ERROR(Call("adbooking", &pb::WalletService::Stub::CaptureHold, capture, &captured),
                    FAILED_PRECONDITION, "HOLD_ALREADY_RESOLVED");
  pb::ReleaseHoldRequest release;
  release.set_seller_id(seller);
  release.set_idempotency_key(NewKey());
  release.set_hold_id(held.hold_id());
  pb::ReleaseHoldResponse released;
  EXPECT_GRPC_ERROR(Call("adbooking", &pb::WalletService::Stub::ReleaseHold, release, &released),
                    FAILED_PRECONDITION, "HOLD_ALREADY_RESOLVED");
  release.set_hold_id(999'999);
  EXPECT_GRPC_ERROR(Call("adbooking", &pb::WalletService::Stub::ReleaseHold, release, &released),
                    NOT_FOUND, "HOLD_NOT_FOUND");

  pb::GetHoldRequest get;
  get.set_seller_id(seller);
  get.set_hold_id(held.hold_id());
  pb::GetHoldResponse hold;
  ASSERT_TRUE(Call("adbooking", &pb::WalletService::Stub::GetHold, get, &hold).ok());
  EXPECT_EQ(hold.hold().state(), pb::HOLD_STATE_CAPTURED);
  EXPECT_EQ(hold.hold().captured_yen(), 500);
  EXPECT_EQ(hold.hold().product(), pb::AD_PRODUCT_GROUP_BUYING);
  EXPECT_EQ(hold.hold().booking_reference(), "application-7");
}

TEST_F(WalletTest, W3ReleaseReturnsEverything) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 500).ok());
  pb::HoldResponse held;
  ASSERT_TRUE(Hold(seller, 500, &held).ok());
  EXPECT_GRPC_ERROR(Spend(seller, 1), FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
  pb::ReleaseHoldRequest release;
  release.set_seller_id(seller);
  release.set_idempotency_key(NewKey());
  release.set_hold_id(held.hold_id());
  pb::ReleaseHoldResponse released;
  ASSERT_TRUE(Call("adbooking", &pb::WalletService::Stub::ReleaseHold, release, &released).ok());
  EXPECT_EQ(released.released_yen(), 500);
  EXPECT_EQ(released.result().balance().available_yen(), 500);
  EXPECT_EQ(released.result().balance().held_yen(), 0);
}

// Holds expire and the sweeper releases them; an expired hold cannot be captured.
TEST_F(WalletTest, ExpiredHoldIsReleasedBySweeper) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 1'000).ok());
  pb::HoldResponse held;
  ASSERT_TRUE(Hold(seller, 400, &held, /*ttl_s=*/1).ok());
  pb::GetHoldRequest get;
  get.set_seller_id(seller);
  get.set_hold_id(held.hold_id());
  pb::GetHoldResponse hold;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    hold.Clear();
    ASSERT_TRUE(Call("adbooking", &pb::WalletService::Stub::GetHold, get, &hold).ok());
  } while (hold.hold().state() == pb::HOLD_STATE_PENDING &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(hold.hold().state(), pb::HOLD_STATE_EXPIRED);
  const pb::Balance b = Balance(seller);
  EXPECT_EQ(b.available_yen(), 1'000);
  EXPECT_EQ(b.held_yen(), 0);
  pb::CaptureHoldRequest capture;
  capture.set_seller_id(seller);
  capture.set_idempotency_key(NewKey());
  capture.set_hold_id(held.hold_id());
  capture.set_amount_yen(100);
  pb::CaptureHoldResponse captured;
  EXPECT_GRPC_ERROR(Call("adbooking", &pb::WalletService::Stub::CaptureHold, capture, &captured),
                    FAILED_PRECONDITION, "HOLD_ALREADY_RESOLVED");
}

// P1/P4: Qmoney and pending settlement move into Qcash atomically, never below zero.
TEST_F(WalletTest, InternalFundsChargeMovesInsideTheLedger) {
  const std::string seller = NewSeller();
  Open(seller);
  pb::CreditInternalFundsRequest credit;
  credit.set_seller_id(seller);
  credit.set_idempotency_key(NewKey());
  credit.set_account(pb::FUNDS_ACCOUNT_QMONEY);
  credit.set_amount_yen(5'000);
  credit.set_settlement_reference("settle-2026-11");
  pb::CreditInternalFundsResponse credited;
  ASSERT_TRUE(
      Call("settlement", &pb::WalletService::Stub::CreditInternalFunds, credit, &credited).ok());
  EXPECT_EQ(credited.result().balance().qmoney_yen(), 5'000);
  credit.set_idempotency_key(NewKey());
  credit.set_account(pb::FUNDS_ACCOUNT_PENDING_SETTLEMENT);
  credit.set_amount_yen(800);
  ASSERT_TRUE(
      Call("settlement", &pb::WalletService::Stub::CreditInternalFunds, credit, &credited).ok());

  pb::ChargeFromInternalFundsRequest charge;
  charge.set_seller_id(seller);
  charge.set_idempotency_key(NewKey());
  charge.set_source(pb::FUNDS_ACCOUNT_QMONEY);
  charge.set_amount_yen(3'000);
  charge.set_order_id("order-q-1");
  pb::ChargeFromInternalFundsResponse charged;
  ASSERT_TRUE(
      Call("payment", &pb::WalletService::Stub::ChargeFromInternalFunds, charge, &charged).ok());
  EXPECT_EQ(charged.result().balance().available_yen(), 3'000);
  EXPECT_EQ(charged.result().balance().qmoney_yen(), 2'000);
  charge.set_idempotency_key(NewKey());
  EXPECT_GRPC_ERROR(
      Call("payment", &pb::WalletService::Stub::ChargeFromInternalFunds, charge, &charged),
      FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
  charge.set_source(pb::FUNDS_ACCOUNT_PENDING_SETTLEMENT);
  charge.set_amount_yen(500);
  ASSERT_TRUE(
      Call("payment", &pb::WalletService::Stub::ChargeFromInternalFunds, charge, &charged).ok());
  EXPECT_EQ(charged.result().balance().pending_settlement_yen(), 300);
  EXPECT_EQ(charged.result().balance().available_yen(), 3'500);
  charge.set_idempotency_key(NewKey());
  charge.set_amount_yen(700);  // not a denomination (W2)
  EXPECT_GRPC_ERROR(
      Call("payment", &pb::WalletService::Stub::ChargeFromInternalFunds, charge, &charged),
      INVALID_ARGUMENT, "UNKNOWN_DENOMINATION");
}

// W5: closing forfeits available and held Qcash; afterwards only reads succeed.
TEST_F(WalletTest, W5CloseForfeitsAndRefusesEverythingButReads) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 5'000).ok());
  pb::HoldResponse held;
  ASSERT_TRUE(Hold(seller, 1'500, &held).ok());
  pb::CloseWalletRequest close;
  close.set_seller_id(seller);
  close.set_idempotency_key(NewKey());
  close.set_reason("退店");
  pb::CloseWalletResponse closed;
  ASSERT_TRUE(Call("settlement", &pb::WalletService::Stub::CloseWallet, close, &closed).ok());
  EXPECT_EQ(closed.forfeited_yen(), 5'000);
  EXPECT_EQ(closed.result().balance().state(), pb::WALLET_STATE_CLOSED);
  EXPECT_EQ(closed.result().balance().total_yen(), 0);

  const pb::Balance b = Balance(seller);
  EXPECT_EQ(b.state(), pb::WALLET_STATE_CLOSED);
  EXPECT_EQ(b.available_yen(), 0);
  EXPECT_GRPC_ERROR(Charge(seller, 1'000), FAILED_PRECONDITION, "WALLET_CLOSED");
  EXPECT_GRPC_ERROR(Spend(seller, 100), FAILED_PRECONDITION, "WALLET_CLOSED");
  pb::HoldResponse again;
  EXPECT_GRPC_ERROR(Hold(seller, 100, &again), FAILED_PRECONDITION, "WALLET_CLOSED");
  pb::CaptureHoldRequest capture;
  capture.set_seller_id(seller);
  capture.set_idempotency_key(NewKey());
  capture.set_hold_id(held.hold_id());
  capture.set_amount_yen(100);
  pb::CaptureHoldResponse captured;
  EXPECT_GRPC_ERROR(Call("adbooking", &pb::WalletService::Stub::CaptureHold, capture, &captured),
                    FAILED_PRECONDITION, "WALLET_CLOSED");
  close.set_idempotency_key(NewKey());
  EXPECT_GRPC_ERROR(Call("settlement", &pb::WalletService::Stub::CloseWallet, close, &closed),
                    FAILED_PRECONDITION, "WALLET_CLOSED");

  pb::ListHistoryRequest history;
  history.set_seller_id(seller);
  history.add_types(pb::ENTRY_TYPE_FORFEIT);
  pb::ListHistoryResponse entries;
  ASSERT_TRUE(Call("gateway", &pb::WalletService::Stub::ListHistory, history, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 2);  // the voided hold, then the available Qcash
  EXPECT_EQ(entries.entries(0).amount_yen(), 3'500);
  EXPECT_EQ(entries.entries(0).debit_account(), pb::ACCOUNT_SELLER_AVAILABLE);
  EXPECT_EQ(entries.entries(0).credit_account(), pb::ACCOUNT_PLATFORM_FORFEITURE);
  EXPECT_EQ(entries.entries(1).amount_yen(), 1'500);
  EXPECT_EQ(entries.entries(1).debit_account(), pb::ACCOUNT_SELLER_HELD);
}

// W6: every movement, newest first, with the balance after it; pages and filters.
TEST_F(WalletTest, W6HistoryPagesAndFilters) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 10'000).ok());                                    // seq 1
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Spend(seller, 100 * (i + 1)).ok());  // seq 2..6
  pb::HoldResponse held;
  ASSERT_TRUE(Hold(seller, 1'000, &held).ok());  // seq 7

  pb::ListHistoryRequest request;
  request.set_seller_id(seller);
  request.set_page_size(3);
  std::vector<pb::HistoryEntry> all;
  for (int page = 0; page < 10; ++page) {
    pb::ListHistoryResponse response;
    ASSERT_TRUE(Call("gateway", &pb::WalletService::Stub::ListHistory, request, &response).ok());
    for (const auto& e : response.entries()) all.push_back(e);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  ASSERT_EQ(all.size(), 7u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].seq(), 7 - static_cast<int64_t>(i));
  EXPECT_EQ(all[0].type(), pb::ENTRY_TYPE_AD_HOLD);
  EXPECT_EQ(all[0].available_after_yen(), 10'000 - 1'500 - 1'000);
  EXPECT_EQ(all[0].held_after_yen(), 1'000);
  EXPECT_EQ(all[6].type(), pb::ENTRY_TYPE_CHARGE);
  EXPECT_EQ(all[6].available_after_yen(), 10'000);
  EXPECT_EQ(all[1].type(), pb::ENTRY_TYPE_AD_SPEND);
  EXPECT_EQ(all[1].product(), pb::AD_PRODUCT_TIME_SALE);
  EXPECT_EQ(all[1].available_after_yen(), 10'000 - 1'500);

  pb::ListHistoryRequest charges;
  charges.set_seller_id(seller);
  charges.add_types(pb::ENTRY_TYPE_CHARGE);
  pb::ListHistoryResponse only;
  ASSERT_TRUE(Call("gateway", &pb::WalletService::Stub::ListHistory, charges, &only).ok());
  ASSERT_EQ(only.entries_size(), 1);
  EXPECT_EQ(only.entries(0).amount_yen(), 10'000);

  // A time range after everything: empty, not an error.
  pb::ListHistoryRequest later;
  later.set_seller_id(seller);
  later.mutable_from()->set_seconds(all[0].created_at().seconds() + 3600);
  pb::ListHistoryResponse none;
  ASSERT_TRUE(Call("gateway", &pb::WalletService::Stub::ListHistory, later, &none).ok());
  EXPECT_EQ(none.entries_size(), 0);
  // A range around the entries: all of them.
  pb::ListHistoryRequest around;
  around.set_seller_id(seller);
  around.mutable_from()->set_seconds(all[6].created_at().seconds() - 60);
  around.mutable_to()->set_seconds(all[0].created_at().seconds() + 60);
  pb::ListHistoryResponse some;
  ASSERT_TRUE(Call("gateway", &pb::WalletService::Stub::ListHistory, around, &some).ok());
  EXPECT_EQ(some.entries_size(), 7);

  pb::ListHistoryRequest bad = request;
  bad.set_page_token("not-a-token");
  pb::ListHistoryResponse ignored;
  EXPECT_GRPC_ERROR(Call("gateway", &pb::WalletService::Stub::ListHistory, bad, &ignored),
                    INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  bad = around;
  *bad.mutable_from() = around.to();
  EXPECT_GRPC_ERROR(Call("gateway", &pb::WalletService::Stub::ListHistory, bad, &ignored),
                    INVALID_ARGUMENT, "INVALID_TIME_RANGE");
  bad = charges;
  bad.set_page_size(501);
  EXPECT_GRPC_ERROR(Call("gateway", &pb::WalletService::Stub::ListHistory, bad, &ignored),
                    INVALID_ARGUMENT, "INVALID_PAGE_SIZE");
  bad = charges;
  bad.add_types(static_cast<pb::EntryType>(99));
  EXPECT_GRPC_ERROR(Call("gateway", &pb::WalletService::Stub::ListHistory, bad, &ignored),
                    INVALID_ARGUMENT, "INVALID_ENTRY_TYPE");
}

// 64 concurrent spends for more than the balance: never negative, successes add up.
TEST_F(WalletTest, ConcurrentSpendsNeverOverdraw) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 10'000).ok());
  constexpr int kSpenders = 64;
  constexpr int64_t kSpendYen = 300;  // 64 * 300 = 19,200 > 10,000
  std::atomic<int> succeeded{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kSpenders; ++i) {
    threads.emplace_back([&, i] {
      const grpc::Status s = Spend(seller, kSpendYen, absl::StrCat("concurrent-", seller, "-", i));
      if (s.ok()) {
        succeeded++;
      } else if (Reason(s) == "INSUFFICIENT_FUNDS") {
        refused++;
      } else {
        other++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(succeeded.load(), 10'000 / kSpendYen);  // 33
  EXPECT_EQ(succeeded + refused, kSpenders);
  const pb::Balance b = Balance(seller);
  EXPECT_EQ(b.available_yen(), 10'000 - succeeded * kSpendYen);
  EXPECT_GE(b.available_yen(), 0);

  pb::ListHistoryRequest history;
  history.set_seller_id(seller);
  history.add_types(pb::ENTRY_TYPE_AD_SPEND);
  history.set_page_size(500);
  pb::ListHistoryResponse spends;
  ASSERT_TRUE(Call("gateway", &pb::WalletService::Stub::ListHistory, history, &spends).ok());
  EXPECT_EQ(spends.entries_size(), succeeded.load());
  int64_t journal_total = 0;
  for (const auto& e : spends.entries()) {
    journal_total += e.amount_yen();
    EXPECT_GE(e.available_after_yen(), 0);
  }
  EXPECT_EQ(journal_total, succeeded * kSpendYen);
}

// The same key 100 times at once applies once; every success is the same answer.
TEST_F(WalletTest, SameKeyConcurrentlyAppliesOnce) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 10'000).ok());
  const std::string key = NewKey();
  constexpr int kRetries = 100;
  std::atomic<int> ok{0}, in_flight{0}, other{0};
  struct Seen {
    qcash::Mutex mu;
    std::set<int64_t> entry_seqs ABSL_GUARDED_BY(mu);
  } seen;
  std::vector<std::thread> threads;
  for (int i = 0; i < kRetries; ++i) {
    threads.emplace_back([&] {
      pb::SpendResponse response;
      const grpc::Status s = Spend(seller, 1'000, key, &response);
      if (s.ok()) {
        ok++;
        qcash::MutexLock lock(&seen.mu);
        seen.entry_seqs.insert(response.result().entry_seq());
      } else if (s.error_code() == grpc::StatusCode::ABORTED &&
                 Reason(s) == "IDEMPOTENCY_KEY_IN_FLIGHT") {
        in_flight++;
      } else {
        other++;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> entry_seqs;
  {
    qcash::MutexLock lock(&seen.mu);
    entry_seqs = seen.entry_seqs;
  }
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(ok.load(), 1);
  EXPECT_EQ(ok + in_flight, kRetries);
  EXPECT_EQ(entry_seqs.size(), 1u) << "all successes must be the one application";
  EXPECT_EQ(Balance(seller).available_yen(), 9'000);

  // Later retries replay the stored answer.
  pb::SpendResponse replay;
  ASSERT_TRUE(Spend(seller, 1'000, key, &replay).ok());
  EXPECT_TRUE(replay.result().replayed());
  EXPECT_EQ(replay.result().entry_seq(), *entry_seqs.begin());
  EXPECT_EQ(replay.result().balance().available_yen(), 9'000);
  // The same key with another request is an error and changes nothing.
  EXPECT_GRPC_ERROR(Spend(seller, 999, key), INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(Balance(seller).available_yen(), 9'000);
}

// Keys are scoped per caller: the same key from two callers is two operations.
TEST_F(WalletTest, IdempotencyKeysAreScopedPerCaller) {
  const std::string seller = NewSeller();
  Open(seller);
  const std::string key = NewKey();
  ASSERT_TRUE(Charge(seller, 1'000, key).ok());
  pb::CreditRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key(key);
  request.set_amount_yen(1'000);
  request.set_source(pb::CREDIT_SOURCE_POINTS_CONVERSION);
  request.set_reference("conversion-1");
  pb::CreditResponse response;
  ASSERT_TRUE(Call("points", &pb::WalletService::Stub::Credit, request, &response).ok());
  EXPECT_FALSE(response.result().replayed());
  EXPECT_EQ(Balance(seller).available_yen(), 2'000);
}

// A refused operation records nothing: the same key may succeed once the state allows.
TEST_F(WalletTest, RefusalDoesNotBurnTheKey) {
  const std::string seller = NewSeller();
  Open(seller);
  const std::string key = NewKey();
  EXPECT_GRPC_ERROR(Spend(seller, 500, key), FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
  ASSERT_TRUE(Charge(seller, 500).ok());
  pb::SpendResponse spent;
  ASSERT_TRUE(Spend(seller, 500, key, &spent).ok());
  EXPECT_FALSE(spent.result().replayed());
  EXPECT_EQ(spent.result().balance().available_yen(), 0);
}

// Redis stopped mid-test: reads and writes stay correct from PostgreSQL; idempotency holds on
// the database record; after a restart the cache fills again.
TEST_F(WalletTest, RedisDownAndBack) {
  const std::string seller = NewSeller();
  Open(seller);
  const std::string key = NewKey();
  ASSERT_TRUE(Charge(seller, 5'000).ok());
  ASSERT_TRUE(Spend(seller, 1'000, key).ok());
  EXPECT_EQ(Balance(seller).available_yen(), 4'000);  // cached now

  ASSERT_TRUE(env->redis->Stop().ok());
  EXPECT_EQ(Balance(seller).available_yen(), 4'000);
  ASSERT_TRUE(Spend(seller, 500).ok());
  EXPECT_EQ(Balance(seller).available_yen(), 3'500);
  pb::SpendResponse replay;
  ASSERT_TRUE(Spend(seller, 1'000, key, &replay).ok());  // from the database record
  EXPECT_TRUE(replay.result().replayed());
  EXPECT_GRPC_ERROR(Spend(seller, 999, key), INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED");
  EXPECT_GRPC_ERROR(Spend(seller, 10'000), FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");
  EXPECT_EQ(Balance(seller).available_yen(), 3'500);
  // An open refused for a reused key, decided by PostgreSQL, leaves no wallet behind (the row
  // the store inserts for an open is deleted again; found by wallet_model_test).
  pb::OpenWalletRequest open;
  open.set_seller_id(seller);
  open.set_idempotency_key(NewKey());
  pb::OpenWalletResponse opened;
  ASSERT_TRUE(Call("settlement", &pb::WalletService::Stub::OpenWallet, open, &opened).ok());
  open.set_seller_id(NewSeller());
  EXPECT_GRPC_ERROR(Call("settlement", &pb::WalletService::Stub::OpenWallet, open, &opened),
                    INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED");
  pb::GetBalanceRequest missing;
  missing.set_seller_id(open.seller_id());
  pb::GetBalanceResponse none;
  EXPECT_GRPC_ERROR(Call("gateway", &pb::WalletService::Stub::GetBalance, missing, &none),
                    NOT_FOUND, "WALLET_NOT_FOUND");
  EXPECT_GRPC_ERROR(Charge(open.seller_id(), 1'000), NOT_FOUND, "WALLET_NOT_FOUND");

  ASSERT_TRUE(env->redis->Restart().ok());  // empty: nothing was persisted
  RedisClient redis(env->redis->ClientOptions(RedisServer::kAdmin));
  const std::string cache_key = absl::StrCat("qcash:wallet:bal:{", seller, "}");
  auto before = redis.Command({"EXISTS", cache_key});
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->integer, 0);
  // The client's breaker lets a probe through after its cool-down; reads stay correct meanwhile.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int64_t exists = 0;
  while (exists == 0 && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(Balance(seller).available_yen(), 3'500);
    auto after = redis.Command({"EXISTS", cache_key});
    ASSERT_TRUE(after.ok());
    exists = after->integer;
    if (exists == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(exists, 1) << "the balance cache did not repopulate";
  auto cached = redis.Command({"GET", cache_key});
  ASSERT_TRUE(cached.ok());
  EXPECT_NE(cached->str.find("|3500|0|0|0"), std::string::npos) << cached->str;
  ASSERT_TRUE(Spend(seller, 500).ok());
  EXPECT_EQ(Balance(seller).available_yen(), 3'000);
}

// The audit is not vacuous: a stored balance that disagrees with the journal is reported.
TEST_F(WalletTest, AuditCatchesATamperedBalanceAndTheJournalIsAppendOnly) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 1'000).ok());
  auto conn = PgConnection::Connect(env->db_url, "qcash-test");
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)
                  ->Exec("UPDATE wallets SET available_yen = available_yen + 1 "
                         "WHERE seller_id = $1",
                         {seller})
                  .ok());
  const absl::Status tampered = AuditWalletLedger(env->db_url);
  EXPECT_EQ(tampered.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(tampered.message().find(seller), absl::string_view::npos) << tampered;
  ASSERT_TRUE((*conn)
                  ->Exec("UPDATE wallets SET available_yen = available_yen - 1 "
                         "WHERE seller_id = $1",
                         {seller})
                  .ok());
  auto edit = (*conn)->Exec("UPDATE journal SET amount_yen = 1 WHERE seller_id = $1", {seller});
  EXPECT_FALSE(edit.ok());
  EXPECT_NE(edit.status().message().find("append-only"), absl::string_view::npos);
  EXPECT_FALSE((*conn)->Exec("DELETE FROM journal WHERE seller_id = $1", {seller}).ok());
}

// DESIGN.md section 5: PostgreSQL down, writes fail UNAVAILABLE and nothing is half-applied;
// balance reads are still answered from the cache; when it is back, everything works.
TEST_F(WalletTest, PostgresDownFailsWritesUnavailable) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 3'000).ok());
  EXPECT_EQ(Balance(seller).available_yen(), 3'000);
  ASSERT_TRUE(env->pg->Stop().ok());
  const std::string key = NewKey();
  const grpc::Status down = Spend(seller, 1'000, key);
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();
  EXPECT_EQ(Balance(seller).available_yen(), 3'000);  // from the cache
  ASSERT_TRUE(env->pg->Restart().ok());
  pb::SpendResponse spent;
  grpc::Status up;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  do {  // the same key: whatever the first attempt did, it applies once
    up = Spend(seller, 1'000, key, &spent);
    if (!up.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (!up.ok() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(up.ok()) << up.error_message();
  EXPECT_EQ(spent.result().balance().available_yen(), 2'000);
  EXPECT_EQ(Balance(seller).available_yen(), 2'000);
}

// A crash at any point loses nothing: SIGKILL the wallet in the middle of a load, restart
// it, retry every request with its key: each applied exactly once.
TEST_F(WalletTest, KilledMidLoadThenRetriedAppliesEachOnce) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 1'000'000).ok());
  constexpr int kClients = 16;
  constexpr int kPerClient = 40;
  std::atomic<bool> killed{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < kPerClient; ++i) {
        (void)Spend(seller, 100, absl::StrCat("crash-", c, "-", i));
        if (c == 0 && i == kPerClient / 2 && !killed.exchange(true)) {
          env->wallet.process->Stop(SIGKILL);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  // Restart on the same address.
  // Restart on the same address: the clients' channels reconnect by themselves.
  auto wallet = StartService(QCASH_WALLET_BINARY, env->settings, "QCASH_WALLET_LISTEN",
                             env->dir + "/wallet.log", env->wallet.address);
  ASSERT_TRUE(wallet.ok()) << wallet.status();
  env->wallet = std::move(*wallet);
  int64_t spent_total = 0;
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kPerClient; ++i) {
      // The in-flight markers the killed process left in Redis block nothing: no ABORTED.
      const grpc::Status s = SpendOnceAvailable(seller, 100, absl::StrCat("crash-", c, "-", i));
      ASSERT_TRUE(s.ok()) << s.error_message();
      spent_total += 100;
    }
  }
  EXPECT_EQ(Balance(seller).available_yen(), 1'000'000 - spent_total);
  pb::ListHistoryRequest history;
  history.set_seller_id(seller);
  history.add_types(pb::ENTRY_TYPE_AD_SPEND);
  history.set_page_size(500);
  int entries = 0;
  for (int page = 0; page < 10; ++page) {
    pb::ListHistoryResponse spends;
    ASSERT_TRUE(Call("gateway", &pb::WalletService::Stub::ListHistory, history, &spends).ok());
    entries += spends.entries_size();
    if (spends.next_page_token().empty()) break;
    history.set_page_token(spends.next_page_token());
  }
  EXPECT_EQ(entries, kClients * kPerClient);
}

// A wallet killed while a spend waits in PostgreSQL leaves that key's in-flight marker in
// Redis. The restarted wallet (another instance) must not answer IDEMPOTENCY_KEY_IN_FLIGHT
// for it: no process is handling it any more (issue 13). Before the fix the marker blocked
// the key for its TTL (10 s).
TEST_F(WalletTest, RestartedWalletIsNotBlockedByMarkersOfTheKilledOne) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 10'000).ok());
  // Hold the seller's wallet row, so that the spend below stops inside PostgreSQL.
  auto blocker = PgConnection::Connect(env->db_url, "test-blocker");
  ASSERT_TRUE(blocker.ok()) << blocker.status();
  ASSERT_TRUE((*blocker)->ExecScript("BEGIN").ok());
  ASSERT_TRUE(
      (*blocker)->Exec("SELECT 1 FROM wallets WHERE seller_id = $1 FOR UPDATE", {seller}).ok());
  const std::string key = NewKey();
  std::thread stuck([&] { (void)Spend(seller, 1'000, key); });
  // Its marker is in Redis once the lane has claimed the key.
  RedisClient redis(env->redis->ClientOptions(RedisServer::kAdmin));
  const std::string marker_key = absl::StrCat("qcash:wallet:idem:{", seller, "}:adbooking:", key);
  bool marked = false;
  for (int i = 0; i < 200 && !marked; ++i) {
    auto value = redis.Command({"GET", marker_key});
    marked = value.ok() && value->str.rfind("P|", 0) == 0;
    if (!marked) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(marked) << "the spend never claimed its key";
  env->wallet.process->Stop(SIGKILL);
  stuck.join();
  ASSERT_TRUE((*blocker)->ExecScript("ROLLBACK").ok());
  auto wallet = StartService(QCASH_WALLET_BINARY, env->settings, "QCASH_WALLET_LISTEN",
                             env->dir + "/wallet.log", env->wallet.address);
  ASSERT_TRUE(wallet.ok()) << wallet.status();
  env->wallet = std::move(*wallet);
  auto still = redis.Command({"GET", marker_key});
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->str.rfind("P|", 0), 0u) << "the dead process's marker is still there";
  pb::SpendResponse spent;
  const grpc::Status s = SpendOnceAvailable(seller, 1'000, key, &spent);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(spent.result().replayed());
  EXPECT_EQ(Balance(seller).available_yen(), 9'000);
}

// PostgreSQL stopped (`pg_ctl stop -m fast`) under load and started again: a spend whose batch
// committed must never be answered as failed. Every answer is checked against the journal by
// retrying its key afterwards: OK must replay; a definite failure must apply fresh (it had
// no effect); only UNAVAILABLE / COMMIT_OUTCOME_UNKNOWN or DEADLINE_EXCEEDED may be either.
// Issue 13 found 1-2 spends in 3 of 16 runs answered UNAVAILABLE though committed.
TEST_F(WalletTest, CommitInDoubtIsResolvedNeverReportedAsFailed) {
  const std::string seller = NewSeller();
  Open(seller);
  ASSERT_TRUE(Charge(seller, 1'000'000).ok());
  constexpr int kClients = 12;
  constexpr int kCycles = 3;
  struct Answer {
    grpc::StatusCode code;
    std::string reason;
  };
  struct Answers {
    qcash::Mutex mu;
    std::map<std::string, Answer> by_key ABSL_GUARDED_BY(mu);
  } answers;
  std::atomic<int> done_ops{0};
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        for (int i = 0; !stop.load(); ++i) {
          const std::string key = absl::StrCat("doubt-", cycle, "-", c, "-", i);
          const grpc::Status s = Spend(seller, 100, key);
          done_ops++;
          qcash::MutexLock lock(&answers.mu);
          answers.by_key[key] = {s.error_code(), Reason(s)};
        }
      });
    }
    // Stop the database while spends are committing, and bring it back a moment later.
    const int before = done_ops.load();
    while (done_ops.load() < before + 100)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(env->pg->Stop().ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_TRUE(env->pg->Restart().ok());
    const int after = done_ops.load();
    while (done_ops.load() < after + 100) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    for (auto& t : clients) t.join();
  }
  std::map<std::string, Answer> by_key;
  {
    qcash::MutexLock lock(&answers.mu);
    by_key = answers.by_key;
  }
  int ok = 0, failed = 0, unknown = 0, applied = 0;
  for (const auto& [key, answer] : by_key) {
    pb::SpendResponse again;
    const grpc::Status s = SpendOnceAvailable(seller, 100, key, &again);
    ASSERT_TRUE(s.ok()) << key << ": " << s.error_message();
    ++applied;
    const bool was_applied_before = again.result().replayed();
    const bool may_be_either = answer.reason == "COMMIT_OUTCOME_UNKNOWN" ||
                               answer.code == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (answer.code == grpc::StatusCode::OK) {
      ++ok;
      EXPECT_TRUE(was_applied_before) << key << " was acknowledged but is not in the journal";
    } else if (may_be_either) {
      ++unknown;
    } else {
      ++failed;
      EXPECT_FALSE(was_applied_before) << key << " was answered " << answer.code << " "
                                       << answer.reason << " (a failure) but had committed";
    }
  }
  std::printf("spends: %d acknowledged, %d failed, %d outcome unknown\n", ok, failed, unknown);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(Balance(seller).available_yen(), 1'000'000 - 100 * applied);
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::WalletEnvironment());
  return RUN_ALL_TESTS();
}
