// Provenance end to end (DESIGN.md section 8, docs/LEDGER.md "Lots"): the qcash-wallet binary
// over gRPC against a real PostgreSQL and Redis. Every credit creates a lot; every debit
// consumes lots free before paid, oldest first; GetEntryLots names them; ListLots pages them;
// the audit checks that the lots add up (and finds a planted edit). Every test ends with the
// ledger audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
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
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/harness/wallet_environment.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

WalletOnlyEnvironment* env = nullptr;  // PostgreSQL, Redis and a real wallet process

// Runs `argv` to its end (at most 60 s); its exit code (-1 if it did not end) and output.
std::pair<int, std::string> RunToEnd(std::vector<std::string> argv, const std::string& name) {
  Process::Spec spec;
  spec.argv = std::move(argv);
  spec.env = {{"QCASH_INSECURE_DEV", "1"}};
  spec.log_file = absl::StrCat(env->stack->dir, "/", name, ".out");
  auto process = Process::Start(spec);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return {-1, ""};
  auto exit = (*process)->WaitExit(std::chrono::seconds(60));
  std::ifstream in(spec.log_file);
  std::stringstream out;
  out << in.rdbuf();
  return {exit.ok() ? WEXITSTATUS(*exit) : -1, out.str()};
}

// "lot_id:amount" for each part, in order: one string compares a whole list and prints well.
std::string Parts(const google::protobuf::RepeatedPtrField<pb::LotPart>& parts) {
  std::vector<std::string> out;
  for (const pb::LotPart& p : parts) out.push_back(absl::StrCat(p.lot_id(), ":", p.amount_yen()));
  return absl::StrJoin(out, " ");
}
std::string Uses(const pb::GetEntryLotsResponse& r) {
  std::vector<std::string> out;
  for (const pb::LotUse& u : r.lots()) {
    out.push_back(absl::StrCat(u.lot().lot_id(), ":", u.amount_yen()));
  }
  return absl::StrJoin(out, " ");
}
std::string LotIds(const pb::ListLotsResponse& r) {
  std::vector<std::string> out;
  for (const pb::Lot& lot : r.lots()) out.push_back(absl::StrCat(lot.lot_id()));
  return absl::StrJoin(out, " ");
}

class ProvenanceTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }

  // A paid charge voucher; `seq` gets its entry seq (= its lot id), 0 on failure.
  grpc::Status Charge(const std::string& seller, int64_t yen, const std::string& method,
                      int64_t price_yen, int64_t* seq = nullptr) {
    pb::CreditRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(yen);
    request.set_source(pb::CREDIT_SOURCE_CHARGE);
    request.set_reference(absl::StrCat("order-", request.idempotency_key()));
    request.set_payment_method(method);
    request.set_price_paid_yen(price_yen);
    pb::CreditResponse response;
    grpc::Status s = env->Call("payment", &pb::WalletService::Stub::Credit, request, &response);
    if (seq != nullptr) *seq = response.result().entry_seq();
    return s;
  }

  grpc::Status Convert(const std::string& seller, int64_t yen, const std::string& month,
                       int64_t* seq = nullptr) {
    pb::CreditRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(yen);
    request.set_source(pb::CREDIT_SOURCE_POINTS_CONVERSION);
    request.set_reference(absl::StrCat("conversion-", request.idempotency_key()));
    request.set_points_month(month);
    pb::CreditResponse response;
    grpc::Status s = env->Call("points", &pb::WalletService::Stub::Credit, request, &response);
    if (seq != nullptr) *seq = response.result().entry_seq();
    return s;
  }

  int64_t Spend(const std::string& seller, int64_t yen) {
    pb::SpendRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(yen);
    request.set_product(pb::AD_PRODUCT_TIME_SALE);
    request.set_booking_reference("booking-1");
    pb::SpendResponse response;
    const grpc::Status s =
        env->Call("adbooking", &pb::WalletService::Stub::Spend, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.result().entry_seq();
  }

  pb::HoldResponse Hold(const std::string& seller, int64_t yen, int64_t ttl_s = 0) {
    pb::HoldRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(yen);
    request.set_product(pb::AD_PRODUCT_GROUP_BUYING);
    request.set_booking_reference("application-7");
    request.set_ttl_seconds(ttl_s);
    pb::HoldResponse response;
    const grpc::Status s =
        env->Call("adbooking", &pb::WalletService::Stub::Hold, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  grpc::Status EntryLots(const std::string& seller, int64_t seq, pb::GetEntryLotsResponse* out) {
    pb::GetEntryLotsRequest request;
    request.set_seller_id(seller);
    request.set_entry_seq(seq);
    out->Clear();
    return env->Call("adbooking", &pb::WalletService::Stub::GetEntryLots, request, out);
  }

  pb::GetEntryLotsResponse EntryLotsOk(const std::string& seller, int64_t seq) {
    pb::GetEntryLotsResponse out;
    const grpc::Status s = EntryLots(seller, seq, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  grpc::Status Lots(const std::string& seller, int page_size, const std::string& token,
                    bool open_only, pb::ListLotsResponse* out) {
    pb::ListLotsRequest request;
    request.set_seller_id(seller);
    request.set_page_size(page_size);
    request.set_page_token(token);
    request.set_open_only(open_only);
    out->Clear();
    return env->Call("ops", &pb::WalletService::Stub::ListLots, request, out);
  }

  int64_t Balance(const std::string& seller) {
    pb::GetBalanceRequest request;
    request.set_seller_id(seller);
    pb::GetBalanceResponse response;
    const grpc::Status s =
        env->Call("ops", &pb::WalletService::Stub::GetBalance, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.balance().available_yen();
  }

  std::vector<pb::HistoryEntry> History(const std::string& seller) {
    pb::ListHistoryRequest request;
    request.set_seller_id(seller);
    request.set_page_size(500);
    pb::ListHistoryResponse response;
    const grpc::Status s =
        env->Call("ops", &pb::WalletService::Stub::ListHistory, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {response.entries().begin(), response.entries().end()};
  }
};

// A spend across lots takes the free lot first, then the paid ones oldest first, and
// GetEntryLots names them with their origins and amounts.
TEST_F(ProvenanceTest, SpendTakesFreeFirstThenOldestPaid) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  int64_t card = 0, free = 0, konbini = 0;
  ASSERT_TRUE(Charge(seller, 1'000, "card", 1'000, &card).ok());
  ASSERT_TRUE(Convert(seller, 500, "2026-09", &free).ok());
  ASSERT_TRUE(Charge(seller, 3'000, "konbini", 3'000, &konbini).ok());
  ASSERT_EQ(card, 1);
  ASSERT_EQ(free, 2);
  ASSERT_EQ(konbini, 3);

  const int64_t spend = Spend(seller, 2'000);
  ASSERT_EQ(spend, 4);
  const pb::GetEntryLotsResponse spent = EntryLotsOk(seller, spend);
  EXPECT_EQ(spent.entry().seq(), spend);
  EXPECT_EQ(spent.entry().type(), pb::ENTRY_TYPE_AD_SPEND);
  EXPECT_EQ(spent.entry().amount_yen(), 2'000);
  EXPECT_EQ(spent.entry().paid_yen(), 1'500);
  EXPECT_EQ(Parts(spent.entry().lots()), "2:500 1:1000 3:500");
  EXPECT_EQ(Uses(spent), "2:500 1:1000 3:500");
  ASSERT_EQ(spent.lots_size(), 3);
  EXPECT_EQ(spent.lots(0).lot().origin(), pb::LOT_ORIGIN_POINTS_CONVERSION);
  EXPECT_FALSE(spent.lots(0).lot().paid());
  EXPECT_EQ(spent.lots(0).lot().points_month(), "2026-09");
  EXPECT_EQ(spent.lots(0).lot().available_yen(), 0);
  EXPECT_EQ(spent.lots(1).lot().origin(), pb::LOT_ORIGIN_VOUCHER);
  EXPECT_TRUE(spent.lots(1).lot().paid());
  EXPECT_EQ(spent.lots(1).lot().payment_method(), "card");
  EXPECT_EQ(spent.lots(1).lot().available_yen(), 0);
  EXPECT_EQ(spent.lots(2).lot().payment_method(), "konbini");
  EXPECT_EQ(spent.lots(2).lot().price_paid_yen(), 3'000);
  EXPECT_EQ(spent.lots(2).lot().amount_yen(), 3'000);
  EXPECT_EQ(spent.lots(2).lot().available_yen(), 2'500);
  EXPECT_EQ(spent.lots(2).lot().seller_id(), seller);

  // A credit names its own lot; the history carries the same arrays.
  const pb::GetEntryLotsResponse credit = EntryLotsOk(seller, konbini);
  EXPECT_EQ(credit.entry().type(), pb::ENTRY_TYPE_CHARGE);
  EXPECT_EQ(Uses(credit), "3:3000");
  EXPECT_EQ(credit.entry().paid_yen(), 3'000);
  const std::vector<pb::HistoryEntry> history = History(seller);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(Parts(history[0].lots()), "2:500 1:1000 3:500");
  EXPECT_EQ(history[0].paid_yen(), 1'500);
  EXPECT_EQ(Parts(history[2].lots()), "2:500");
  EXPECT_EQ(history[2].paid_yen(), 0);

  // The next spend goes on with the oldest paid lot that has Qcash left.
  EXPECT_EQ(Uses(EntryLotsOk(seller, Spend(seller, 100))), "3:100");

  pb::GetEntryLotsResponse none;
  EXPECT_GRPC_ERROR(EntryLots(seller, 0, &none), INVALID_ARGUMENT, "INVALID_ENTRY_SEQ");
  EXPECT_GRPC_ERROR(EntryLots(seller, -3, &none), INVALID_ARGUMENT, "INVALID_ENTRY_SEQ");
  EXPECT_GRPC_ERROR(EntryLots(seller, 99, &none), NOT_FOUND, "ENTRY_NOT_FOUND");
  EXPECT_GRPC_ERROR(EntryLots(seller, INT64_MAX, &none), NOT_FOUND, "ENTRY_NOT_FOUND");
  EXPECT_GRPC_ERROR(EntryLots("nobody-here", 1, &none), NOT_FOUND, "WALLET_NOT_FOUND");
}

// A hold reserves lots; its capture consumes them in the order reserved and returns the rest;
// a release and an expiry return what the hold reserved.
TEST_F(ProvenanceTest, HoldCaptureReleaseAndExpiryNameTheirLots) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  ASSERT_TRUE(Convert(seller, 300, "2026-08").ok());     // lot 1, free
  ASSERT_TRUE(Charge(seller, 1'000, "paypal", 0).ok());  // lot 2, paid

  const pb::HoldResponse held = Hold(seller, 800);  // seq 3
  ASSERT_EQ(held.hold_id(), 3);
  const pb::GetEntryLotsResponse reserved = EntryLotsOk(seller, 3);
  EXPECT_EQ(reserved.entry().type(), pb::ENTRY_TYPE_AD_HOLD);
  EXPECT_EQ(Uses(reserved), "1:300 2:500");
  EXPECT_EQ(reserved.entry().paid_yen(), 500);
  EXPECT_EQ(reserved.lots(1).lot().held_yen(), 500);
  EXPECT_EQ(reserved.lots(1).lot().available_yen(), 500);
  // The lots add up while the hold is pending too (lot 1 is all held, below lot 2).
  absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
  EXPECT_TRUE(audit.ok()) << audit;

  pb::CaptureHoldRequest capture;
  capture.set_seller_id(seller);
  capture.set_idempotency_key(NewKey());
  capture.set_hold_id(held.hold_id());
  capture.set_amount_yen(600);
  pb::CaptureHoldResponse captured;
  ASSERT_TRUE(
      env->Call("adbooking", &pb::WalletService::Stub::CaptureHold, capture, &captured).ok());
  const int64_t capture_seq = captured.result().entry_seq();
  ASSERT_EQ(capture_seq, 4);
  const pb::GetEntryLotsResponse consumed = EntryLotsOk(seller, capture_seq);
  EXPECT_EQ(consumed.entry().type(), pb::ENTRY_TYPE_AD_CAPTURE);
  EXPECT_EQ(Uses(consumed), "1:300 2:300");
  EXPECT_EQ(consumed.entry().paid_yen(), 300);
  const pb::GetEntryLotsResponse remainder = EntryLotsOk(seller, capture_seq + 1);
  EXPECT_EQ(remainder.entry().type(), pb::ENTRY_TYPE_AD_HOLD_REMAINDER);
  EXPECT_EQ(Uses(remainder), "2:200");
  EXPECT_EQ(remainder.entry().paid_yen(), 200);
  ASSERT_EQ(remainder.lots_size(), 1);
  EXPECT_EQ(remainder.lots(0).lot().available_yen(), 700);  // 1000 - 300 captured
  EXPECT_EQ(remainder.lots(0).lot().held_yen(), 0);
  EXPECT_EQ(remainder.lots(0).lot().price_paid_yen(), 1'000);  // 0: the amount

  // Release returns the reservation unchanged.
  const pb::HoldResponse second = Hold(seller, 500);  // seq 6
  EXPECT_EQ(Uses(EntryLotsOk(seller, second.hold_id())), "2:500");
  pb::ReleaseHoldRequest release;
  release.set_seller_id(seller);
  release.set_idempotency_key(NewKey());
  release.set_hold_id(second.hold_id());
  pb::ReleaseHoldResponse released;
  ASSERT_TRUE(
      env->Call("adbooking", &pb::WalletService::Stub::ReleaseHold, release, &released).ok());
  const pb::GetEntryLotsResponse returned = EntryLotsOk(seller, released.result().entry_seq());
  EXPECT_EQ(returned.entry().type(), pb::ENTRY_TYPE_AD_RELEASE);
  EXPECT_EQ(Uses(returned), "2:500");

  // Expiry: the sweeper returns the lots the hold reserved.
  const pb::HoldResponse third = Hold(seller, 100, /*ttl_s=*/1);
  EXPECT_EQ(Uses(EntryLotsOk(seller, third.hold_id())), "2:100");
  const int64_t expiry_seq = third.hold_id() + 1;
  pb::GetEntryLotsResponse expired;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  grpc::Status s;
  while ((s = EntryLots(seller, expiry_seq, &expired)).error_code() ==
             grpc::StatusCode::NOT_FOUND &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(expired.entry().type(), pb::ENTRY_TYPE_AD_HOLD_EXPIRED);
  EXPECT_EQ(Uses(expired), "2:100");
  ASSERT_EQ(expired.lots_size(), 1);
  EXPECT_EQ(expired.lots(0).lot().available_yen(), 700);
  EXPECT_EQ(expired.lots(0).lot().held_yen(), 0);
}

// Closing the shop forfeits every lot, available and held (W5).
TEST_F(ProvenanceTest, CloseForfeitsHeldAndAvailableLots) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  ASSERT_TRUE(Charge(seller, 1'000, "card", 0).ok());  // lot 1, paid
  ASSERT_TRUE(Convert(seller, 200, "2026-07").ok());   // lot 2, free
  const pb::HoldResponse held = Hold(seller, 500);     // reserves 2:200 1:300
  EXPECT_EQ(Uses(EntryLotsOk(seller, held.hold_id())), "2:200 1:300");

  pb::CloseWalletRequest close;
  close.set_seller_id(seller);
  close.set_idempotency_key(NewKey());
  close.set_reason("shop exit");
  pb::CloseWalletResponse closed;
  ASSERT_TRUE(env->Call("settlement", &pb::WalletService::Stub::CloseWallet, close, &closed).ok());
  EXPECT_EQ(closed.forfeited_yen(), 1'200);

  // Every forfeiture names its lots; together they take each lot whole, 1,000 yen of it paid.
  std::map<int64_t, int64_t> forfeited;  // lot -> yen
  int64_t paid = 0, total = 0;
  for (const pb::HistoryEntry& e : History(seller)) {
    if (e.type() != pb::ENTRY_TYPE_FORFEIT) continue;
    const pb::GetEntryLotsResponse lots = EntryLotsOk(seller, e.seq());
    int64_t sum = 0;
    for (const pb::LotUse& use : lots.lots()) {
      forfeited[use.lot().lot_id()] += use.amount_yen();
      sum += use.amount_yen();
      EXPECT_EQ(use.lot().available_yen(), 0);
      EXPECT_EQ(use.lot().held_yen(), 0);
    }
    EXPECT_EQ(sum, e.amount_yen());
    paid += e.paid_yen();
    total += e.amount_yen();
  }
  EXPECT_EQ(total, 1'200);
  EXPECT_EQ(paid, 1'000);
  EXPECT_EQ(forfeited, (std::map<int64_t, int64_t>{{1, 1'000}, {2, 200}}));

  pb::ListLotsResponse open;
  ASSERT_TRUE(Lots(seller, 0, "", /*open_only=*/true, &open).ok());
  EXPECT_EQ(open.lots_size(), 0);
}

// The provenance of a credit is stored with its lot, and refused when malformed.
TEST_F(ProvenanceTest, CreditProvenanceIsStoredAndValidated) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  ASSERT_TRUE(Charge(seller, 5'000, "bank_transfer", 5'000).ok());  // lot 1
  ASSERT_TRUE(Charge(seller, 1'000, "", 0).ok());                   // lot 2: not told
  ASSERT_TRUE(Convert(seller, 700, "2026-06").ok());                // lot 3
  ASSERT_TRUE(Convert(seller, 100, "").ok());                       // lot 4: not told

  EXPECT_GRPC_ERROR(Charge(seller, 1'000, "Card", 0), INVALID_ARGUMENT, "INVALID_PAYMENT_METHOD");
  EXPECT_GRPC_ERROR(Charge(seller, 1'000, "card-x", 0), INVALID_ARGUMENT, "INVALID_PAYMENT_METHOD");
  EXPECT_GRPC_ERROR(Charge(seller, 1'000, std::string(33, 'a'), 0), INVALID_ARGUMENT,
                    "INVALID_PAYMENT_METHOD");
  EXPECT_GRPC_ERROR(Charge(seller, 1'000, "card", -1), INVALID_ARGUMENT, "INVALID_AMOUNT");
  EXPECT_GRPC_ERROR(Convert(seller, 100, "2026-13"), INVALID_ARGUMENT, "INVALID_POINTS_MONTH");
  EXPECT_GRPC_ERROR(Convert(seller, 100, "202606"), INVALID_ARGUMENT, "INVALID_POINTS_MONTH");
  EXPECT_GRPC_ERROR(Convert(seller, 100, "2026-6"), INVALID_ARGUMENT, "INVALID_POINTS_MONTH");
  {  // each field only for its source
    pb::CreditRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(100);
    request.set_source(pb::CREDIT_SOURCE_POINTS_CONVERSION);
    request.set_reference("conversion-x");
    request.set_payment_method("card");
    pb::CreditResponse response;
    EXPECT_GRPC_ERROR(env->Call("points", &pb::WalletService::Stub::Credit, request, &response),
                      INVALID_ARGUMENT, "INVALID_PAYMENT_METHOD");
    request.clear_payment_method();
    request.set_source(pb::CREDIT_SOURCE_CHARGE);
    request.set_points_month("2026-06");
    EXPECT_GRPC_ERROR(env->Call("payment", &pb::WalletService::Stub::Credit, request, &response),
                      INVALID_ARGUMENT, "INVALID_POINTS_MONTH");
  }

  pb::ListLotsResponse lots;
  ASSERT_TRUE(Lots(seller, 0, "", false, &lots).ok());
  ASSERT_EQ(LotIds(lots), "4 3 2 1");  // the refused credits made none
  const pb::Lot& unknown_month = lots.lots(0);
  EXPECT_EQ(unknown_month.origin(), pb::LOT_ORIGIN_POINTS_CONVERSION);
  EXPECT_EQ(unknown_month.points_month(), "");
  const pb::Lot& conversion = lots.lots(1);
  EXPECT_EQ(conversion.origin(), pb::LOT_ORIGIN_POINTS_CONVERSION);
  EXPECT_FALSE(conversion.paid());
  EXPECT_EQ(conversion.points_month(), "2026-06");
  EXPECT_EQ(conversion.payment_method(), "");
  EXPECT_EQ(conversion.price_paid_yen(), 0);
  EXPECT_EQ(conversion.amount_yen(), 700);
  const pb::Lot& untold = lots.lots(2);
  EXPECT_EQ(untold.payment_method(), "");
  EXPECT_EQ(untold.price_paid_yen(), 1'000);
  const pb::Lot& bank = lots.lots(3);
  EXPECT_EQ(bank.origin(), pb::LOT_ORIGIN_VOUCHER);
  EXPECT_TRUE(bank.paid());
  EXPECT_EQ(bank.payment_method(), "bank_transfer");
  EXPECT_EQ(bank.price_paid_yen(), 5'000);
  EXPECT_EQ(bank.amount_yen(), 5'000);
  EXPECT_EQ(bank.available_yen(), 5'000);
  EXPECT_EQ(bank.reference().rfind("order-", 0), 0u);
  EXPECT_TRUE(bank.has_created_at());

  // A charge bought with Qmoney creates a paid lot of origin QMONEY.
  pb::CreditInternalFundsRequest fund;
  fund.set_seller_id(seller);
  fund.set_idempotency_key(NewKey());
  fund.set_account(pb::FUNDS_ACCOUNT_QMONEY);
  fund.set_amount_yen(10'000);
  fund.set_settlement_reference("settlement-1");
  pb::CreditInternalFundsResponse funded;
  ASSERT_TRUE(
      env->Call("settlement", &pb::WalletService::Stub::CreditInternalFunds, fund, &funded).ok());
  EXPECT_EQ(EntryLotsOk(seller, funded.result().entry_seq()).lots_size(), 0);  // not Qcash
  pb::ChargeFromInternalFundsRequest buy;
  buy.set_seller_id(seller);
  buy.set_idempotency_key(NewKey());
  buy.set_source(pb::FUNDS_ACCOUNT_QMONEY);
  buy.set_amount_yen(3'000);
  buy.set_order_id("co_qmoney");
  pb::ChargeFromInternalFundsResponse bought;
  ASSERT_TRUE(
      env->Call("payment", &pb::WalletService::Stub::ChargeFromInternalFunds, buy, &bought).ok());
  const pb::GetEntryLotsResponse qmoney = EntryLotsOk(seller, bought.result().entry_seq());
  ASSERT_EQ(qmoney.lots_size(), 1);
  EXPECT_EQ(qmoney.lots(0).lot().origin(), pb::LOT_ORIGIN_QMONEY);
  EXPECT_TRUE(qmoney.lots(0).lot().paid());
  EXPECT_EQ(qmoney.lots(0).lot().reference(), "co_qmoney");
}

// ListLots pages newest first; open_only keeps the lots with Qcash left.
TEST_F(ProvenanceTest, ListLotsPagesAndFiltersOpenLots) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Charge(seller, 100, "card", 0).ok());  // lots 1..5
  EXPECT_EQ(Uses(EntryLotsOk(seller, Spend(seller, 250))), "1:100 2:100 3:50");

  pb::ListLotsResponse page;
  ASSERT_TRUE(Lots(seller, 2, "", false, &page).ok());
  EXPECT_EQ(LotIds(page), "5 4");
  ASSERT_FALSE(page.next_page_token().empty());
  ASSERT_TRUE(Lots(seller, 2, page.next_page_token(), false, &page).ok());
  EXPECT_EQ(LotIds(page), "3 2");
  EXPECT_EQ(page.lots(0).available_yen(), 50);
  EXPECT_EQ(page.lots(1).available_yen(), 0);
  ASSERT_FALSE(page.next_page_token().empty());
  ASSERT_TRUE(Lots(seller, 2, page.next_page_token(), false, &page).ok());
  EXPECT_EQ(LotIds(page), "1");
  EXPECT_TRUE(page.next_page_token().empty());

  ASSERT_TRUE(Lots(seller, 2, "", /*open_only=*/true, &page).ok());
  EXPECT_EQ(LotIds(page), "5 4");
  ASSERT_TRUE(Lots(seller, 2, page.next_page_token(), true, &page).ok());
  EXPECT_EQ(LotIds(page), "3");
  EXPECT_TRUE(page.next_page_token().empty());
  ASSERT_TRUE(Lots(seller, 0, "", true, &page).ok());  // the default page holds them all
  EXPECT_EQ(LotIds(page), "5 4 3");
  EXPECT_TRUE(page.next_page_token().empty());

  // A history token is not a lots token; nor is anything else.
  pb::ListHistoryRequest history;
  history.set_seller_id(seller);
  history.set_page_size(1);
  pb::ListHistoryResponse entries;
  ASSERT_TRUE(env->Call("ops", &pb::WalletService::Stub::ListHistory, history, &entries).ok());
  ASSERT_FALSE(entries.next_page_token().empty());
  EXPECT_GRPC_ERROR(Lots(seller, 2, entries.next_page_token(), false, &page), INVALID_ARGUMENT,
                    "INVALID_PAGE_TOKEN");
  EXPECT_GRPC_ERROR(Lots(seller, 2, "garbage", false, &page), INVALID_ARGUMENT,
                    "INVALID_PAGE_TOKEN");
  EXPECT_GRPC_ERROR(Lots(seller, 501, "", false, &page), INVALID_ARGUMENT, "INVALID_PAGE_SIZE");
  EXPECT_GRPC_ERROR(Lots(seller, -1, "", false, &page), INVALID_ARGUMENT, "INVALID_PAGE_SIZE");
  EXPECT_GRPC_ERROR(Lots("nobody-here", 2, "", false, &page), NOT_FOUND, "WALLET_NOT_FOUND");
  const std::string empty = NewSeller();
  env->OpenWallet(empty);
  ASSERT_TRUE(Lots(empty, 0, "", false, &page).ok());
  EXPECT_EQ(page.lots_size(), 0);
}

// The ad-booking example (services/wallet/client) books an ad through the client library,
// lists the open holds, prints which lots paid for its capture (the free lot first, then the
// oldest paid one), and charges clicks in a batch, twice.
TEST_F(ProvenanceTest, BookAdExampleShowsWhichLotsPaid) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  ASSERT_TRUE(Charge(seller, 1'000, "paidy", 0).ok());  // lot 1
  ASSERT_TRUE(Convert(seller, 300, "2026-04").ok());    // lot 2
  const auto [status, out] =
      RunToEnd({QCASH_BOOK_AD_EXAMPLE, seller, env->stack->wallet.address, "1000", "800"},
               "book-ad-example");
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("800 yen, 500 of it paid Qcash"), std::string::npos) << out;
  EXPECT_NE(out.find("300 yen from lot 2: points conversion, free"), std::string::npos) << out;
  EXPECT_NE(out.find("500 yen from lot 1: voucher, paid"), std::string::npos) << out;
  EXPECT_NE(out.find("paid by paidy (1000 yen)"), std::string::npos) << out;
  // Before the capture it lists the seller's open holds (ListHolds): the one it just placed.
  EXPECT_NE(out.find("open time-sale holds:\n  open hold "), std::string::npos) << out;
  EXPECT_NE(out.find(": 1000 yen for example-"), std::string::npos) << out;
  // Then three 10-yen clicks in one ExecuteBatch call, and the same batch again: charged once.
  EXPECT_NE(out.find("3 keyword clicks in one batch, charged: 3 applied, 0 replayed, 0 refused: "
                     "available 470"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("3 keyword clicks in one batch, sent again: 0 applied, 3 replayed, 0 "
                     "refused: available 470"),
            std::string::npos)
      << out;
  EXPECT_EQ(Balance(seller), 470);
}

// The audit checks the lots: an edit of a lot underneath the service (as a superuser would)
// is found, and the ledger is clean again once it is undone.
TEST_F(ProvenanceTest, AuditFindsAPlantedLotMismatch) {
  const std::string seller = NewSeller();
  env->OpenWallet(seller);
  ASSERT_TRUE(Charge(seller, 1'000, "card", 0).ok());
  ASSERT_TRUE(Convert(seller, 300, "2026-05").ok());
  Spend(seller, 400);  // 2:300 1:100

  auto conn = PgConnection::Connect(env->stack->wallet_db_url, "qcash-test-tamper");
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto clean = wallet::AuditLedger(**conn);
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_TRUE(clean->ok()) << clean->ToString();

  // What is left of lot 1 (the only open lot: {{1, paid, 900, 0}}) is in the wallet's row.
  auto edited = (*conn)->Exec(
      "UPDATE wallets SET open_lots[1][3] = open_lots[1][3] - 1 WHERE seller_id = $1", {seller});
  ASSERT_TRUE(edited.ok()) << edited.status();
  auto tampered = wallet::AuditLedger(**conn);
  ASSERT_TRUE(tampered.ok()) << tampered.status();
  EXPECT_FALSE(tampered->ok());
  const std::string report = tampered->ToString();
  // Check 7 (the lots no longer sum to the balance) and check 9 (lot 1 no longer matches
  // what the journal consumed from it) both name the seller.
  EXPECT_NE(report.find(absl::StrCat("seller ", seller, ": available 900")), std::string::npos)
      << report;
  EXPECT_NE(report.find(absl::StrCat("seller ", seller, " lot 1: amount 1000 - consumed 100")),
            std::string::npos)
      << report;

  // `qcashctl audit` reports it and fails.
  const auto [status, out] =
      RunToEnd({QCASHCTL_BINARY, "audit", env->stack->wallet_db_url}, "qcashctl-audit");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("ledger audit: FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find(absl::StrCat("PROBLEM: seller ", seller, ": available 900")),
            std::string::npos)
      << out;

  // A journal row whose paid part disagrees with its lots is found too. The journal is
  // append-only by trigger; a superuser gets past that by turning triggers off.
  auto undone = (*conn)->Exec(
      "UPDATE wallets SET open_lots[1][3] = open_lots[1][3] + 1 WHERE seller_id = $1", {seller});
  ASSERT_TRUE(undone.ok()) << undone.status();
  // An open lot listed as free whose origin is paid is found (check 8).
  ASSERT_TRUE(
      (*conn)->Exec("UPDATE wallets SET open_lots[1][2] = 0 WHERE seller_id = $1", {seller}).ok());
  auto kind = wallet::AuditLedger(**conn);
  ASSERT_TRUE(kind.ok()) << kind.status();
  EXPECT_NE(kind->ToString().find(absl::StrCat(
                "seller ", seller, " open lot 1 is listed as free but its origin says otherwise")),
            std::string::npos)
      << kind->ToString();
  ASSERT_TRUE(
      (*conn)->Exec("UPDATE wallets SET open_lots[1][2] = 1 WHERE seller_id = $1", {seller}).ok());
  ASSERT_TRUE((*conn)->Exec("SET session_replication_role = replica").ok());
  auto arrays = (*conn)->Exec(
      "UPDATE journal SET paid_yen = paid_yen + 1 WHERE seller_id = $1 AND seq = 3", {seller});
  ASSERT_TRUE(arrays.ok()) << arrays.status();
  auto entry = wallet::AuditLedger(**conn);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_NE(entry->ToString().find(absl::StrCat("seller ", seller, " entry 3")), std::string::npos)
      << entry->ToString();
  ASSERT_TRUE((*conn)
                  ->Exec("UPDATE journal SET paid_yen = paid_yen - 1 WHERE seller_id = $1 AND "
                         "seq = 3",
                         {seller})
                  .ok());
  ASSERT_TRUE((*conn)->Exec("SET session_replication_role = DEFAULT").ok());
  auto again = wallet::AuditLedger(**conn);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->ok()) << again->ToString();
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  qcash::testing::env = new qcash::testing::WalletOnlyEnvironment("wallet_provenance");
  ::testing::AddGlobalTestEnvironment(qcash::testing::env);
  return RUN_ALL_TESTS();
}
