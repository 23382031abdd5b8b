// Reversals after credit end to end (DESIGN.md section 9, docs/LEDGER.md "Claw-backs and
// debt"): the qcash-wallet binary over gRPC against a real PostgreSQL and Redis. ClawBack takes
// a reversed charge back from available first (the charge's own lot first), never from held;
// what was spent already becomes the seller's debt on the receivable account, which the next
// credits (charges, internal-funds charges, points conversions) pay back before any of it
// becomes available. Every test ends with the ledger audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/pg.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/audit.h"
#include "services/wallet/verify.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/harness/wallet_environment.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

WalletOnlyEnvironment* env = nullptr;  // PostgreSQL, Redis and a real wallet process

std::string Parts(const google::protobuf::RepeatedPtrField<pb::LotPart>& parts) {
  std::vector<std::string> out;
  for (const pb::LotPart& p : parts) out.push_back(absl::StrCat(p.lot_id(), ":", p.amount_yen()));
  return absl::StrJoin(out, " ");
}

class ClawBackTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }

  // A card charge of `yen` for order `order`; its answer.
  pb::CreditResponse Charge(const std::string& seller, int64_t yen, const std::string& order) {
    pb::CreditRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(absl::StrCat("charge:", order));
    request.set_amount_yen(yen);
    request.set_source(pb::CREDIT_SOURCE_CHARGE);
    request.set_reference(order);
    request.set_payment_method("card");
    pb::CreditResponse response;
    const grpc::Status s =
        env->Call("payment", &pb::WalletService::Stub::Credit, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  pb::CreditResponse Convert(const std::string& seller, int64_t yen) {
    pb::CreditRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(yen);
    request.set_source(pb::CREDIT_SOURCE_POINTS_CONVERSION);
    request.set_reference(absl::StrCat("conversion-", request.idempotency_key()));
    request.set_points_month("2026-10");
    pb::CreditResponse response;
    const grpc::Status s =
        env->Call("points", &pb::WalletService::Stub::Credit, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  grpc::Status Spend(const std::string& seller, int64_t yen) {
    pb::SpendRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(yen);
    request.set_product(pb::AD_PRODUCT_TIME_SALE);
    request.set_booking_reference("booking-1");
    pb::SpendResponse response;
    return env->Call("adbooking", &pb::WalletService::Stub::Spend, request, &response);
  }

  // The payment service's call: key "reversal:<provider>:<reversal_id>".
  grpc::Status ClawBack(const std::string& seller, int64_t yen, const std::string& order,
                        const std::string& reversal_id, pb::ClawBackResponse* response,
                        const std::string& caller = "payment") {
    pb::ClawBackRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(absl::StrCat("reversal:sandbox:", reversal_id));
    request.set_amount_yen(yen);
    request.set_order_id(order);
    request.set_reversal_reference(reversal_id);
    request.set_kind(pb::REVERSAL_KIND_CHARGEBACK);
    return env->Call(caller, &pb::WalletService::Stub::ClawBack, request, response);
  }

  pb::Balance Balance(const std::string& seller) {
    pb::GetBalanceRequest request;
    request.set_seller_id(seller);
    pb::GetBalanceResponse response;
    const grpc::Status s =
        env->Call("ops", &pb::WalletService::Stub::GetBalance, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.balance();
  }

  std::vector<pb::HistoryEntry> History(const std::string& seller) {
    pb::ListHistoryRequest request;
    request.set_seller_id(seller);
    request.set_page_size(500);
    pb::ListHistoryResponse response;
    const grpc::Status s =
        env->Call("ops", &pb::WalletService::Stub::ListHistory, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {response.entries().rbegin(), response.entries().rend()};  // oldest first
  }
};

// Nothing spent: the whole charge leaves available, from its own lot; no debt.
TEST_F(ClawBackTest, ChargebackOnAnUnspentCharge) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  Charge(seller, 1'000, "order-a");  // lot 1
  Charge(seller, 5'000, "order-b");  // lot 2
  pb::ClawBackResponse r;
  ASSERT_TRUE(ClawBack(seller, 5'000, "order-b", "rv-1", &r).ok());
  EXPECT_EQ(r.clawed_back_yen(), 5'000);
  EXPECT_EQ(r.debt_yen(), 0);
  EXPECT_EQ(r.result().entry_seq(), 3);
  EXPECT_EQ(r.result().balance().available_yen(), 1'000);
  EXPECT_EQ(r.result().balance().debt_yen(), 0);
  EXPECT_FALSE(r.result().replayed());

  const std::vector<pb::HistoryEntry> history = History(seller);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[2].type(), pb::ENTRY_TYPE_CLAWBACK);
  EXPECT_EQ(history[2].debit_account(), pb::ACCOUNT_SELLER_AVAILABLE);
  EXPECT_EQ(history[2].credit_account(), pb::ACCOUNT_PLATFORM_PROVIDER_CLEARING);
  EXPECT_EQ(history[2].reference(), "order-b");
  EXPECT_EQ(Parts(history[2].lots()), "2:5000");  // the order's own lot, not the oldest
  EXPECT_EQ(history[2].paid_yen(), 5'000);
  EXPECT_EQ(Balance(seller).available_yen(), 1'000);

  // The same reversal again (a redelivered notification): the stored answer, nothing new.
  pb::ClawBackResponse again;
  ASSERT_TRUE(ClawBack(seller, 5'000, "order-b", "rv-1", &again).ok());
  EXPECT_TRUE(again.result().replayed());
  EXPECT_EQ(again.clawed_back_yen(), 5'000);
  EXPECT_EQ(again.result().entry_seq(), 3);
  EXPECT_EQ(History(seller).size(), 3u);
  // Another reversal of the same order: nothing is left of it to take back.
  pb::ClawBackResponse beyond;
  EXPECT_GRPC_ERROR(ClawBack(seller, 1, "order-b", "rv-2", &beyond), FAILED_PRECONDITION,
                    "CLAWBACK_EXCEEDS_CHARGE");
}

// Half spent: what is available goes back, from the order's lot first; the spent rest is
// debt. A later charge pays the debt first, then becomes available.
TEST_F(ClawBackTest, ChargebackOnAHalfSpentChargeThenAChargePaysTheDebt) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  Charge(seller, 10'000, "order-h");  // lot 1
  ASSERT_TRUE(Spend(seller, 6'000).ok());
  pb::ClawBackResponse r;
  ASSERT_TRUE(ClawBack(seller, 10'000, "order-h", "rv-h", &r).ok());
  EXPECT_EQ(r.clawed_back_yen(), 4'000);
  EXPECT_EQ(r.debt_yen(), 6'000);
  EXPECT_EQ(r.result().balance().available_yen(), 0);
  EXPECT_EQ(r.result().balance().debt_yen(), 6'000);
  const pb::Balance b = Balance(seller);
  EXPECT_EQ(b.available_yen(), 0);
  EXPECT_EQ(b.debt_yen(), 6'000);

  std::vector<pb::HistoryEntry> history = History(seller);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[2].type(), pb::ENTRY_TYPE_CLAWBACK);
  EXPECT_EQ(history[2].amount_yen(), 4'000);
  EXPECT_EQ(Parts(history[2].lots()), "1:4000");
  EXPECT_EQ(history[2].debt_after_yen(), 0);
  EXPECT_EQ(history[3].type(), pb::ENTRY_TYPE_DEBT);
  EXPECT_EQ(history[3].debit_account(), pb::ACCOUNT_SELLER_RECEIVABLE);
  EXPECT_EQ(history[3].amount_yen(), 6'000);
  EXPECT_EQ(history[3].lots_size(), 0);
  EXPECT_EQ(history[3].debt_after_yen(), 6'000);

  // A debt blocks nothing but pay-later; a spend of nothing available is refused as always.
  EXPECT_GRPC_ERROR(Spend(seller, 1), FAILED_PRECONDITION, "INSUFFICIENT_FUNDS");

  const pb::CreditResponse paid = Charge(seller, 5'000, "order-h2");  // lot 5
  EXPECT_EQ(paid.result().debt_recovered_yen(), 5'000);
  EXPECT_EQ(paid.result().balance().available_yen(), 0);
  EXPECT_EQ(paid.result().balance().debt_yen(), 1'000);
  const pb::CreditResponse more = Charge(seller, 3'000, "order-h3");  // lot 7
  EXPECT_EQ(more.result().debt_recovered_yen(), 1'000);
  EXPECT_EQ(more.result().balance().available_yen(), 2'000);
  EXPECT_EQ(more.result().balance().debt_yen(), 0);
  const pb::CreditResponse free = Charge(seller, 1'000, "order-h4");
  EXPECT_EQ(free.result().debt_recovered_yen(), 0);
  EXPECT_EQ(free.result().balance().available_yen(), 3'000);

  history = History(seller);
  ASSERT_EQ(history.size(), 9u);
  EXPECT_EQ(history[5].type(), pb::ENTRY_TYPE_DEBT_RECOVERY);
  EXPECT_EQ(history[5].debit_account(), pb::ACCOUNT_SELLER_AVAILABLE);
  EXPECT_EQ(history[5].credit_account(), pb::ACCOUNT_SELLER_RECEIVABLE);
  EXPECT_EQ(Parts(history[5].lots()), "5:5000");
  EXPECT_EQ(history[5].debt_after_yen(), 1'000);
  EXPECT_EQ(history[7].type(), pb::ENTRY_TYPE_DEBT_RECOVERY);
  EXPECT_EQ(Parts(history[7].lots()), "7:1000");
  EXPECT_EQ(history[7].debt_after_yen(), 0);
  EXPECT_EQ(history[7].available_after_yen(), 2'000);
}

// Fully spent: all of it is debt; the seller's next points conversion pays it back.
TEST_F(ClawBackTest, ChargebackOnAFullySpentChargeThenAConversionPaysTheDebt) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  Charge(seller, 3'000, "order-f");
  ASSERT_TRUE(Spend(seller, 3'000).ok());
  pb::ClawBackResponse r;
  ASSERT_TRUE(ClawBack(seller, 3'000, "order-f", "rv-f", &r).ok());
  EXPECT_EQ(r.clawed_back_yen(), 0);
  EXPECT_EQ(r.debt_yen(), 3'000);
  EXPECT_EQ(r.result().entry_seq(), 3);  // the DEBT entry: there was no CLAWBACK
  EXPECT_EQ(Balance(seller).debt_yen(), 3'000);

  const pb::CreditResponse converted = Convert(seller, 5'000);  // lot 4
  EXPECT_EQ(converted.result().debt_recovered_yen(), 3'000);
  EXPECT_EQ(converted.result().balance().available_yen(), 2'000);
  EXPECT_EQ(converted.result().balance().debt_yen(), 0);
  const std::vector<pb::HistoryEntry> history = History(seller);
  ASSERT_EQ(history.size(), 5u);
  EXPECT_EQ(history[4].type(), pb::ENTRY_TYPE_DEBT_RECOVERY);
  EXPECT_EQ(Parts(history[4].lots()), "4:3000");
  EXPECT_EQ(history[4].paid_yen(), 0);  // a conversion's Qcash is free
  const pb::Balance b = Balance(seller);
  EXPECT_EQ(b.available_yen(), 2'000);
  EXPECT_EQ(b.debt_yen(), 0);
}

// A partial reversal takes part; together the reversals of an order never exceed its charge.
// Held Qcash is never taken: a hold already granted stays valid and can be captured.
TEST_F(ClawBackTest, PartialReversalsAndHeldQcashStaysHeld) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  Charge(seller, 10'000, "order-p");
  pb::HoldRequest hold;
  hold.set_seller_id(seller);
  hold.set_idempotency_key(NewKey());
  hold.set_amount_yen(7'000);
  hold.set_product(pb::AD_PRODUCT_GROUP_BUYING);
  hold.set_booking_reference("application-1");
  pb::HoldResponse held;
  ASSERT_TRUE(env->Call("adbooking", &pb::WalletService::Stub::Hold, hold, &held).ok());

  pb::ClawBackResponse r;
  ASSERT_TRUE(ClawBack(seller, 4'000, "order-p", "rv-p1", &r).ok());
  EXPECT_EQ(r.clawed_back_yen(), 3'000);
  EXPECT_EQ(r.debt_yen(), 1'000);
  EXPECT_EQ(r.result().balance().held_yen(), 7'000);
  EXPECT_GRPC_ERROR(ClawBack(seller, 6'001, "order-p", "rv-p2", &r), FAILED_PRECONDITION,
                    "CLAWBACK_EXCEEDS_CHARGE");
  ASSERT_TRUE(ClawBack(seller, 6'000, "order-p", "rv-p2", &r).ok());
  EXPECT_EQ(r.clawed_back_yen(), 0);
  EXPECT_EQ(r.debt_yen(), 6'000);
  EXPECT_EQ(r.result().balance().debt_yen(), 7'000);

  pb::CaptureHoldRequest capture;
  capture.set_seller_id(seller);
  capture.set_idempotency_key(NewKey());
  capture.set_hold_id(held.hold_id());
  capture.set_amount_yen(7'000);
  pb::CaptureHoldResponse captured;
  ASSERT_TRUE(
      env->Call("adbooking", &pb::WalletService::Stub::CaptureHold, capture, &captured).ok());
  EXPECT_EQ(captured.result().balance().debt_yen(), 7'000);
}

// A closed wallet has no Qcash: the whole amount becomes its debt.
TEST_F(ClawBackTest, ClawBackOnAClosedWalletIsAllDebt) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  Charge(seller, 1'000, "order-c");
  pb::CloseWalletRequest close;
  close.set_seller_id(seller);
  close.set_idempotency_key(NewKey());
  close.set_reason("shop exit");
  pb::CloseWalletResponse closed;
  ASSERT_TRUE(env->Call("settlement", &pb::WalletService::Stub::CloseWallet, close, &closed).ok());
  pb::ClawBackResponse r;
  ASSERT_TRUE(ClawBack(seller, 1'000, "order-c", "rv-c", &r).ok());
  EXPECT_EQ(r.clawed_back_yen(), 0);
  EXPECT_EQ(r.debt_yen(), 1'000);
  EXPECT_EQ(r.result().balance().state(), pb::WALLET_STATE_CLOSED);
  EXPECT_EQ(Balance(seller).debt_yen(), 1'000);
}

// What a claw-back refuses, and who may call it.
TEST_F(ClawBackTest, Refusals) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  Charge(seller, 1'000, "order-r");
  Convert(seller, 500);
  pb::ClawBackResponse r;
  EXPECT_GRPC_ERROR(ClawBack(seller, 100, "order-unknown", "rv-u", &r), NOT_FOUND,
                    "CHARGE_NOT_FOUND");
  EXPECT_GRPC_ERROR(ClawBack(seller, 0, "order-r", "rv-0", &r), INVALID_ARGUMENT, "INVALID_AMOUNT");
  EXPECT_GRPC_ERROR(ClawBack(seller, 1'001, "order-r", "rv-big", &r), FAILED_PRECONDITION,
                    "CLAWBACK_EXCEEDS_CHARGE");
  EXPECT_GRPC_ERROR(ClawBack("nobody-" + seller, 100, "order-r", "rv-n", &r), NOT_FOUND,
                    "WALLET_NOT_FOUND");
  EXPECT_GRPC_ERROR(ClawBack(seller, 100, "order-r", "rv-pts", &r, "points"), PERMISSION_DENIED,
                    "CALLER_NOT_ALLOWED");
  pb::ClawBackRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key("reversal:sandbox:rv-kind");
  request.set_amount_yen(100);
  request.set_order_id("order-r");
  request.set_reversal_reference("rv-kind");
  EXPECT_GRPC_ERROR(env->Call("payment", &pb::WalletService::Stub::ClawBack, request, &r),
                    INVALID_ARGUMENT, "UNKNOWN_REVERSAL_KIND");
  request.set_kind(pb::REVERSAL_KIND_DEFAULT);
  request.set_reversal_reference("");
  EXPECT_GRPC_ERROR(env->Call("payment", &pb::WalletService::Stub::ClawBack, request, &r),
                    INVALID_ARGUMENT, "MISSING_REFERENCE");
  // The same key for a different request.
  ASSERT_TRUE(ClawBack(seller, 100, "order-r", "rv-ok", &r).ok());
  EXPECT_GRPC_ERROR(ClawBack(seller, 200, "order-r", "rv-ok", &r), INVALID_ARGUMENT,
                    "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(Balance(seller).available_yen(), 1'400);
}

// A reversal that arrives before its order was credited is refused as CHARGE_NOT_FOUND and
// leaves nothing behind: the same call (same key) applies once the credit is there.
TEST_F(ClawBackTest, AReversalBeforeItsCreditAppliesOnceTheCreditIsThere) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  pb::ClawBackResponse r;
  EXPECT_GRPC_ERROR(ClawBack(seller, 500, "order-early", "rv-early", &r), NOT_FOUND,
                    "CHARGE_NOT_FOUND");
  Charge(seller, 1'000, "order-early");
  ASSERT_TRUE(ClawBack(seller, 500, "order-early", "rv-early", &r).ok());
  EXPECT_FALSE(r.result().replayed());
  EXPECT_EQ(r.clawed_back_yen(), 500);
  EXPECT_EQ(r.result().balance().available_yen(), 500);
}

// A charge from the seller's Qmoney pays a debt as a card charge does.
TEST_F(ClawBackTest, AnInternalFundsChargePaysTheDebt) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  Charge(seller, 1'000, "order-q");
  ASSERT_TRUE(Spend(seller, 1'000).ok());
  pb::ClawBackResponse r;
  ASSERT_TRUE(ClawBack(seller, 1'000, "order-q", "rv-q", &r).ok());
  ASSERT_EQ(r.debt_yen(), 1'000);

  pb::CreditInternalFundsRequest proceeds;
  proceeds.set_seller_id(seller);
  proceeds.set_idempotency_key(NewKey());
  proceeds.set_amount_yen(5'000);
  proceeds.set_account(pb::FUNDS_ACCOUNT_QMONEY);
  proceeds.set_settlement_reference("settlement-1");
  pb::CreditInternalFundsResponse credited;
  ASSERT_TRUE(
      env->Call("settlement", &pb::WalletService::Stub::CreditInternalFunds, proceeds, &credited)
          .ok());
  EXPECT_EQ(credited.result().debt_recovered_yen(), 0);  // Qmoney is not Qcash
  EXPECT_EQ(credited.result().balance().debt_yen(), 1'000);

  pb::ChargeFromInternalFundsRequest charge;
  charge.set_seller_id(seller);
  charge.set_idempotency_key(NewKey());
  charge.set_amount_yen(500);
  charge.set_source(pb::FUNDS_ACCOUNT_QMONEY);
  charge.set_order_id("order-qm-1");
  pb::ChargeFromInternalFundsResponse charged;
  ASSERT_TRUE(
      env->Call("payment", &pb::WalletService::Stub::ChargeFromInternalFunds, charge, &charged)
          .ok());
  EXPECT_EQ(charged.result().debt_recovered_yen(), 500);
  EXPECT_EQ(charged.result().balance().available_yen(), 0);
  EXPECT_EQ(charged.result().balance().debt_yen(), 500);
  EXPECT_EQ(charged.result().balance().qmoney_yen(), 4'500);
  // Replayed: the stored answer, debt and recovery included.
  pb::ChargeFromInternalFundsResponse again;
  ASSERT_TRUE(
      env->Call("payment", &pb::WalletService::Stub::ChargeFromInternalFunds, charge, &again).ok());
  EXPECT_TRUE(again.result().replayed());
  EXPECT_EQ(again.result().balance().debt_yen(), 500);

  // That Qmoney charge is an order too: its reversal takes back what is left of it (nothing
  // available: all of it paid the debt) as more debt.
  ASSERT_TRUE(ClawBack(seller, 500, "order-qm-1", "rv-qm", &r).ok());
  EXPECT_EQ(r.clawed_back_yen(), 0);
  EXPECT_EQ(r.debt_yen(), 500);
  EXPECT_EQ(Balance(seller).debt_yen(), 1'000);
}

// Claw-backs and spends of one seller from several threads at once (each call its own
// batch or sharing one with others): the available balance is never negative, the
// idempotent retries apply once, and every yen is accounted for.
TEST_F(ClawBackTest, ConcurrentClawBacksSpendsAndCredits) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  constexpr int kOrders = 8;
  for (int i = 0; i < kOrders; ++i) Charge(seller, 10'000, absl::StrCat("order-", i));

  std::atomic<int64_t> spent{0}, clawed{0}, debt{0}, recovered{0}, converted{0};
  std::atomic<int> negative{0}, failures{0};
  auto check = [&](const pb::Mutation& m) {
    if (m.balance().available_yen() < 0 || m.balance().debt_yen() < 0) negative.fetch_add(1);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {  // spenders: until the Qcash runs out, at most 40 each
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        pb::SpendRequest request;
        request.set_seller_id(seller);
        request.set_idempotency_key(absl::StrCat("spend-", t, "-", i));
        request.set_amount_yen(1'500);
        request.set_product(pb::AD_PRODUCT_TIME_SALE);
        request.set_booking_reference("booking-c");
        pb::SpendResponse response;
        const grpc::Status s =
            env->Call("adbooking", &pb::WalletService::Stub::Spend, request, &response);
        if (s.ok()) {
          spent.fetch_add(1'500);
          check(response.result());
        } else if (Reason(s) != "INSUFFICIENT_FUNDS") {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (int t = 0; t < 2; ++t) {  // reversals: each order in four parts, each sent twice
    threads.emplace_back([&, t] {
      for (int order = t; order < kOrders; order += 2) {
        for (int part = 0; part < 4; ++part) {
          for (int attempt = 0; attempt < 2; ++attempt) {
            pb::ClawBackResponse response;
            const grpc::Status s = ClawBack(seller, 2'500, absl::StrCat("order-", order),
                                            absl::StrCat("rv-", order, "-", part), &response);
            if (!s.ok()) {
              failures.fetch_add(1);
              continue;
            }
            check(response.result());
            if (!response.result().replayed()) {
              clawed.fetch_add(response.clawed_back_yen());
              debt.fetch_add(response.debt_yen());
            }
          }
        }
      }
    });
  }
  threads.emplace_back([&] {  // conversions, which pay back whatever debt there is by then
    for (int i = 0; i < 10; ++i) {
      const pb::CreditResponse r = Convert(seller, 1'000);
      check(r.result());
      converted.fetch_add(1'000);
      recovered.fetch_add(r.result().debt_recovered_yen());
    }
  });
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(negative.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(clawed.load() + debt.load(), kOrders * 10'000);  // every reversal once
  const pb::Balance b = Balance(seller);
  EXPECT_GE(b.available_yen(), 0);
  EXPECT_EQ(b.held_yen(), 0);
  // Every yen: what came in = what was spent + taken back + paid to the debt + what is left.
  EXPECT_EQ(kOrders * 10'000 + converted.load(),
            spent.load() + clawed.load() + recovered.load() + b.available_yen());
  EXPECT_EQ(b.debt_yen(), debt.load() - recovered.load());

  // The journal says the same.
  int64_t journal_clawed = 0, journal_debt = 0, journal_recovered = 0;
  for (const pb::HistoryEntry& e : History(seller)) {
    if (e.type() == pb::ENTRY_TYPE_CLAWBACK) journal_clawed += e.amount_yen();
    if (e.type() == pb::ENTRY_TYPE_DEBT) journal_debt += e.amount_yen();
    if (e.type() == pb::ENTRY_TYPE_DEBT_RECOVERY) journal_recovered += e.amount_yen();
  }
  EXPECT_EQ(journal_clawed, clawed.load());
  EXPECT_EQ(journal_debt, debt.load());
  EXPECT_EQ(journal_recovered, recovered.load());
}

// Entries with a debt are chained like every other: the journal verifies, and the SQL twin of
// CanonicalEntry (migration 0006) gives the stored hash of each of them.
TEST_F(ClawBackTest, TheJournalWithDebtsVerifies) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  Charge(seller, 5'000, "order-v");
  ASSERT_TRUE(Spend(seller, 4'000).ok());
  pb::ClawBackResponse r;
  ASSERT_TRUE(ClawBack(seller, 5'000, "order-v", "rv-v", &r).ok());
  ASSERT_EQ(r.debt_yen(), 4'000);
  Convert(seller, 1'000);
  Charge(seller, 10'000, "order-v2");

  auto conn = PgConnection::Connect(env->stack->wallet_db_url, "qcash-test-verify");
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto report = wallet::VerifyJournal(**conn);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->sound()) << report->ToString();
  auto same = (*conn)->Exec(
      "SELECT count(*) FILTER (WHERE qcash_journal_entry_hash(p.hash, j) = j.hash), count(*) "
      "FROM journal j LEFT JOIN journal p ON p.seller_id = j.seller_id AND p.seq = j.seq - 1 "
      "WHERE j.seller_id = $1",
      {seller});
  ASSERT_TRUE(same.ok()) << same.status();
  // charge, spend, claw-back, debt, conversion, recovery, charge, recovery
  EXPECT_EQ(same->GetInt64(0, 1), 8);
  EXPECT_EQ(same->GetInt64(0, 0), same->GetInt64(0, 1));
  auto debts = (*conn)->Exec("SELECT count(*) FROM journal WHERE seller_id = $1 AND debt_after > 0",
                             {seller});
  ASSERT_TRUE(debts.ok()) << debts.status();
  EXPECT_EQ(debts->GetInt64(0, 0), 4);  // debt 4,000, conversion 4,000, recovery 3,000,
                                        // charge 3,000
}

// The operator's view: `qcashctl seller` shows the debt and says what the reversal entries are.
TEST_F(ClawBackTest, QcashctlSellerShowsTheDebtInWords) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  Charge(seller, 3'000, "order-ctl");
  ASSERT_TRUE(Spend(seller, 2'000).ok());
  pb::ClawBackResponse r;
  ASSERT_TRUE(ClawBack(seller, 3'000, "order-ctl", "rv-ctl", &r).ok());
  Convert(seller, 500);

  Process::Spec spec;
  spec.argv = {QCASHCTL_BINARY, "seller", seller};
  spec.env = {{"QCASHCTL_WALLET", env->stack->wallet.address}};
  spec.log_file = absl::StrCat(env->stack->dir, "/qcashctl-seller.out");
  auto process = Process::Start(spec);
  ASSERT_TRUE(process.ok()) << process.status();
  auto exit = (*process)->WaitExit(std::chrono::seconds(60));
  ASSERT_TRUE(exit.ok()) << exit.status();
  std::ifstream in(spec.log_file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string out = text.str();
  std::printf("%s", out.c_str());  // the closing note quotes it
  EXPECT_EQ(WEXITSTATUS(*exit), 0) << out;
  EXPECT_NE(out.find("debt (未回収額)"), std::string::npos) << out;
  EXPECT_NE(out.find(" 1500 yen  (the next charges and conversions pay it back first)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("ENTRY_TYPE_DEBT_RECOVERY"), std::string::npos) << out;
  EXPECT_NE(out.find("(this credit paid the debt back)"), std::string::npos) << out;
  EXPECT_NE(out.find("(already spent: owed by the seller (未回収額))"), std::string::npos) << out;
  EXPECT_NE(out.find("(taken back: the provider reversed this order's payment)"), std::string::npos)
      << out;
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  qcash::testing::env = new qcash::testing::WalletOnlyEnvironment("wallet_clawback");
  ::testing::AddGlobalTestEnvironment(qcash::testing::env);
  return RUN_ALL_TESTS();
}
