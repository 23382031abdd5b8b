// Claw-backs, debt and recovery as ApplyOps() applies them (DESIGN.md section 9; docs/LEDGER.md
// "Claw-backs and debt"), without a database: the snapshot is what the store would have loaded
// under row locks, the order's lot and what earlier claw-backs of it took included.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

LotRecord Lot(int64_t id, LotOrigin origin, int64_t amount, int64_t available, int64_t held = 0) {
  LotRecord lot;
  lot.seller_id = "s";
  lot.lot_id = id;
  lot.origin = origin;
  lot.amount_yen = amount;
  lot.available_yen = available;
  lot.held_yen = held;
  return lot;
}

// Seller "s" with `lots` (its balances their sums) and last_seq 20; `charges` are the orders
// the store found: order -> {lot, amount, clawed back so far}.
LedgerSnapshot Snapshot(const std::vector<LotRecord>& lots,
                        std::map<std::string, LedgerSnapshot::Charge> charges = {},
                        int64_t debt = 0, WalletState state = WalletState::kOpen) {
  LedgerSnapshot s;
  s.now = kNow;
  WalletRecord w;
  w.seller_id = "s";
  w.state = state;
  w.version = 7;
  w.last_seq = 20;
  w.debt_yen = debt;
  for (const LotRecord& lot : lots) {
    w.available_yen += lot.available_yen;
    w.held_yen += lot.held_yen;
  }
  s.wallets["s"] = w;
  s.lots["s"] = lots;
  for (const auto& [order, charge] : charges) s.charges[ChargeKey("s", order)] = charge;
  return s;
}

Op ClawBackOp(int64_t amount, const std::string& order, const std::string& reversal) {
  Op op;
  op.type = OpType::kClawBack;
  op.seller_id = "s";
  op.caller = "payment";
  op.idempotency_key = absl::StrCat("reversal:sandbox:", reversal);
  op.amount_yen = amount;
  op.reference = order;
  op.reversal_reference = reversal;
  op.kind = ReversalKind::kChargeback;
  EXPECT_TRUE(ValidateOp(op).ok());
  op.request_hash = RequestHash(op);
  return op;
}

Op CreditOp(OpType type, int64_t amount, const std::string& reference,
            CreditSource source = CreditSource::kCharge) {
  Op op;
  op.type = type;
  op.seller_id = "s";
  op.caller = source == CreditSource::kPointsConversion ? "points" : "payment";
  op.idempotency_key = absl::StrCat("credit:", reference);
  op.amount_yen = amount;
  op.reference = reference;
  if (type == OpType::kCredit) op.source = source;
  if (type == OpType::kChargeFromFunds || type == OpType::kCreditFunds) {
    op.funds = FundsAccount::kQmoney;
  }
  EXPECT_TRUE(ValidateOp(op).ok());
  op.request_hash = RequestHash(op);
  return op;
}

Op SpendOp(int64_t amount, const std::string& key) {
  Op op;
  op.type = OpType::kSpend;
  op.seller_id = "s";
  op.caller = "adbooking";
  op.idempotency_key = key;
  op.amount_yen = amount;
  op.product = AdProduct::kTimeSale;
  op.reference = "booking";
  EXPECT_TRUE(ValidateOp(op).ok());
  op.request_hash = RequestHash(op);
  return op;
}

std::vector<OpResult> Apply(LedgerSnapshot& s, const std::vector<Op>& ops, LedgerWrites* w) {
  std::vector<const Op*> ptrs;
  for (const Op& op : ops) ptrs.push_back(&op);
  return ApplyOps(ptrs, s, w);
}

// "type:amount[lot:amount ...]/debt" per entry: a whole journal in one comparable string.
std::string Journal(const LedgerWrites& w) {
  std::vector<std::string> out;
  for (const JournalEntry& e : w.journal) {
    std::vector<std::string> lots;
    for (const LotPart& p : e.lots) lots.push_back(absl::StrCat(p.lot_id, ":", p.amount_yen));
    out.push_back(absl::StrCat(static_cast<int>(e.type), ":", e.amount_yen, "[",
                               absl::StrJoin(lots, " "), "]/", e.debt_after_yen));
  }
  return absl::StrJoin(out, ", ");
}

const LotRecord* OpenLot(const LedgerWrites& w, int64_t id) {
  for (const LotRecord& lot : w.wallets.at(0).open_lots) {
    if (lot.lot_id == id) return &lot;
  }
  return nullptr;
}

TEST(LedgerClawBackTest, UnspentChargeLeavesFromItsOwnLot) {
  LedgerSnapshot s = Snapshot(
      {Lot(1, LotOrigin::kVoucher, 1'000, 1'000), Lot(2, LotOrigin::kVoucher, 5'000, 5'000)},
      {{"order-b", {2, 5'000, 0}}});
  LedgerWrites w;
  auto r = Apply(s, {ClawBackOp(5'000, "order-b", "rv")}, &w);
  ASSERT_EQ(r[0].outcome, Outcome::kApplied);
  EXPECT_EQ(r[0].amount_yen, 5'000);  // clawed back
  EXPECT_EQ(r[0].amount2_yen, 0);     // debt
  EXPECT_EQ(r[0].entry_seq, 21);
  EXPECT_EQ(r[0].balance.available_yen, 1'000);
  EXPECT_EQ(Journal(w), "12:5000[2:5000]/0");
  EXPECT_EQ(w.journal[0].debit, Account::kSellerAvailable);
  EXPECT_EQ(w.journal[0].credit, Account::kProviderClearing);
  EXPECT_EQ(w.journal[0].reference, "order-b");
  EXPECT_EQ(w.journal[0].paid_yen, 5'000);
  ASSERT_EQ(w.clawbacks.size(), 1u);
  EXPECT_EQ(w.clawbacks[0].reversal_reference, "rv");
  EXPECT_EQ(w.clawbacks[0].kind, ReversalKind::kChargeback);
  EXPECT_EQ(w.clawbacks[0].clawed_back_yen, 5'000);
  EXPECT_EQ(w.clawbacks[0].entry_seq, 21);
  EXPECT_EQ(OpenLot(w, 2), nullptr);  // used up
  EXPECT_EQ(s.charges[ChargeKey("s", "order-b")].clawed_back_yen, 5'000);
}

TEST(LedgerClawBackTest, HalfSpentChargeTakesWhatIsAvailableAndTheRestIsDebt) {
  LedgerSnapshot s =
      Snapshot({Lot(1, LotOrigin::kVoucher, 10'000, 4'000)}, {{"order", {1, 10'000, 0}}});
  LedgerWrites w;
  auto r = Apply(s, {ClawBackOp(10'000, "order", "rv")}, &w);
  ASSERT_EQ(r[0].outcome, Outcome::kApplied);
  EXPECT_EQ(r[0].amount_yen, 4'000);
  EXPECT_EQ(r[0].amount2_yen, 6'000);
  EXPECT_EQ(r[0].balance.available_yen, 0);
  EXPECT_EQ(r[0].balance.debt_yen, 6'000);
  EXPECT_EQ(Journal(w), "12:4000[1:4000]/0, 13:6000[]/6000");
  EXPECT_EQ(w.journal[1].debit, Account::kSellerReceivable);
  EXPECT_EQ(w.journal[1].credit, Account::kProviderClearing);
  EXPECT_EQ(w.journal[1].paid_yen, 0);
  EXPECT_EQ(w.wallets[0].wallet.debt_yen, 6'000);
  EXPECT_EQ(w.wallets[0].wallet.version, 8);
}

TEST(LedgerClawBackTest, FullySpentChargeIsAllDebtAndItsFirstEntryIsTheDebt) {
  LedgerSnapshot s = Snapshot({}, {{"order", {1, 3'000, 0}}});
  LedgerWrites w;
  auto r = Apply(s, {ClawBackOp(3'000, "order", "rv")}, &w);
  ASSERT_EQ(r[0].outcome, Outcome::kApplied);
  EXPECT_EQ(r[0].amount_yen, 0);
  EXPECT_EQ(r[0].amount2_yen, 3'000);
  EXPECT_EQ(r[0].entry_seq, 21);
  EXPECT_EQ(Journal(w), "13:3000[]/3000");
}

// The order's lot first while it has Qcash available; the rest in the usual order (free
// first, then the oldest paid), never the held parts.
TEST(LedgerClawBackTest, AcrossLotsTheOrdersLotFirstThenTheUsualOrderNeverHeld) {
  LedgerSnapshot s = Snapshot(
      {Lot(1, LotOrigin::kVoucher, 2'000, 500, 1'000),
       Lot(2, LotOrigin::kPointsConversion, 400, 400),
       Lot(3, LotOrigin::kVoucher, 5'000, 300, 2'000), Lot(4, LotOrigin::kQmoney, 1'000, 1'000)},
      {{"order-3", {3, 5'000, 0}}});
  LedgerWrites w;
  auto r = Apply(s, {ClawBackOp(5'000, "order-3", "rv")}, &w);
  ASSERT_EQ(r[0].outcome, Outcome::kApplied);
  // available 2,200: 300 of lot 3, then free lot 2, then paid lots 1 and 4 oldest first.
  EXPECT_EQ(r[0].amount_yen, 2'200);
  EXPECT_EQ(r[0].amount2_yen, 2'800);
  EXPECT_EQ(Journal(w), "12:2200[3:300 2:400 1:500 4:1000]/0, 13:2800[]/2800");
  EXPECT_EQ(w.journal[0].paid_yen, 1'800);
  EXPECT_EQ(r[0].balance.held_yen, 3'000);  // holds stay valid
  ASSERT_NE(OpenLot(w, 1), nullptr);
  EXPECT_EQ(OpenLot(w, 1)->held_yen, 1'000);
  EXPECT_EQ(OpenLot(w, 3)->held_yen, 2'000);
  EXPECT_EQ(OpenLot(w, 3)->available_yen, 0);
}

TEST(LedgerClawBackTest, PartialReversalsNeverExceedTheCharge) {
  LedgerSnapshot s = Snapshot({Lot(1, LotOrigin::kVoucher, 10'000, 10'000)},
                              {{"order", {1, 10'000, 2'000}}});  // 2,000 taken back before
  LedgerWrites w;
  auto r = Apply(s,
                 {ClawBackOp(8'001, "order", "rv-2"), ClawBackOp(3'000, "order", "rv-3"),
                  ClawBackOp(5'001, "order", "rv-4"), ClawBackOp(5'000, "order", "rv-5")},
                 &w);
  EXPECT_EQ(r[0].outcome, Outcome::kClawBackExceedsCharge);
  EXPECT_EQ(r[1].outcome, Outcome::kApplied);
  EXPECT_EQ(r[2].outcome, Outcome::kClawBackExceedsCharge);  // 2,000 + 3,000 + 5,001
  EXPECT_EQ(r[3].outcome, Outcome::kApplied);
  EXPECT_EQ(r[3].balance.available_yen, 2'000);
  EXPECT_EQ(w.clawbacks.size(), 2u);
  EXPECT_EQ(absl::StatusCode::kFailedPrecondition,
            OutcomeStatus(Outcome::kClawBackExceedsCharge, ClawBackOp(1, "order", "x")).code());
}

TEST(LedgerClawBackTest, UnknownOrderIsChargeNotFound) {
  // The store names every order a claw-back asks for; lot 0 means no credited charge has it.
  LedgerSnapshot s =
      Snapshot({Lot(1, LotOrigin::kVoucher, 1'000, 1'000)}, {{"order-x", {0, 0, 0}}});
  LedgerWrites w;
  auto r = Apply(s, {ClawBackOp(100, "order-x", "rv"), ClawBackOp(100, "order-y", "rv2")}, &w);
  EXPECT_EQ(r[0].outcome, Outcome::kChargeNotFound);
  EXPECT_EQ(r[1].outcome, Outcome::kChargeNotFound);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(OutcomeStatus(Outcome::kChargeNotFound, ClawBackOp(1, "o", "x")).code(),
            absl::StatusCode::kNotFound);
}

TEST(LedgerClawBackTest, ClosedWalletTakesItAllAsDebt) {
  LedgerSnapshot s = Snapshot({}, {{"order", {1, 1'000, 0}}}, 0, WalletState::kClosed);
  LedgerWrites w;
  auto r = Apply(s, {ClawBackOp(1'000, "order", "rv"), CreditOp(OpType::kCredit, 500, "o2")}, &w);
  ASSERT_EQ(r[0].outcome, Outcome::kApplied);
  EXPECT_EQ(r[0].amount2_yen, 1'000);
  EXPECT_EQ(r[0].balance.state, WalletState::kClosed);
  EXPECT_EQ(r[1].outcome, Outcome::kWalletClosed);  // nothing else is accepted (W5)
  EXPECT_EQ(Journal(w), "13:1000[]/1000");
  EXPECT_FALSE(w.wallets[0].closed);  // closed before: not closed again by this batch
}

TEST(LedgerClawBackTest, ReplayAnswersTheStoredResultAndReusedKeyIsRefused) {
  LedgerSnapshot s =
      Snapshot({Lot(1, LotOrigin::kVoucher, 1'000, 600)}, {{"order", {1, 1'000, 0}}});
  LedgerWrites w;
  Op other = ClawBackOp(900, "order", "rv");
  other.reversal_reference = "another";
  other.request_hash = RequestHash(other);
  auto r =
      Apply(s, {ClawBackOp(1'000, "order", "rv"), ClawBackOp(1'000, "order", "rv"), other}, &w);
  ASSERT_EQ(r[0].outcome, Outcome::kApplied);
  ASSERT_EQ(r[1].outcome, Outcome::kReplayed);
  EXPECT_EQ(r[1].amount_yen, 600);
  EXPECT_EQ(r[1].amount2_yen, 400);
  EXPECT_EQ(r[1].balance.debt_yen, 400);
  EXPECT_EQ(r[1].entry_seq, r[0].entry_seq);
  EXPECT_EQ(r[2].outcome, Outcome::kKeyReused);
  EXPECT_EQ(w.journal.size(), 2u);
  ASSERT_EQ(w.records.size(), 1u);
  EXPECT_EQ(w.records[0].result.balance.debt_yen, 400);
}

TEST(LedgerClawBackTest, AChargeRecoversTheDebtFromItsNewLot) {
  LedgerSnapshot s = Snapshot({Lot(1, LotOrigin::kPointsConversion, 500, 200)}, {}, 6'000);
  LedgerWrites w;
  auto r = Apply(
      s,
      {CreditOp(OpType::kCredit, 5'000, "order-1"), CreditOp(OpType::kCredit, 3'000, "order-2"),
       CreditOp(OpType::kCredit, 1'000, "order-3")},
      &w);
  ASSERT_EQ(r[0].outcome, Outcome::kApplied);
  EXPECT_EQ(r[0].entry_seq, 21);      // the credit's own entry, as before
  EXPECT_EQ(r[0].amount_yen, 5'000);  // recovered: all of it (less than the debt)
  EXPECT_EQ(r[0].balance.available_yen, 200);
  EXPECT_EQ(r[0].balance.debt_yen, 1'000);
  EXPECT_EQ(r[1].amount_yen, 1'000);  // more than the debt: the rest becomes available
  EXPECT_EQ(r[1].balance.available_yen, 2'200);
  EXPECT_EQ(r[1].balance.debt_yen, 0);
  EXPECT_EQ(r[2].amount_yen, 0);  // no debt left
  EXPECT_EQ(r[2].balance.available_yen, 3'200);
  EXPECT_EQ(Journal(w),
            "1:5000[21:5000]/6000, 14:5000[21:5000]/1000, 1:3000[23:3000]/1000, "
            "14:1000[23:1000]/0, 1:1000[25:1000]/0");
  EXPECT_EQ(w.journal[1].debit, Account::kSellerAvailable);
  EXPECT_EQ(w.journal[1].credit, Account::kSellerReceivable);
  EXPECT_EQ(w.journal[1].paid_yen, 5'000);
  EXPECT_EQ(w.journal[1].reference, "order-1");
  EXPECT_EQ(OpenLot(w, 21), nullptr);  // all of it paid the debt
  ASSERT_NE(OpenLot(w, 23), nullptr);
  EXPECT_EQ(OpenLot(w, 23)->available_yen, 2'000);
  EXPECT_EQ(w.new_lots.size(), 3u);  // every credit's lot is created whole, as before
  EXPECT_EQ(w.new_lots[0].amount_yen, 5'000);
}

TEST(LedgerClawBackTest, AConversionAndAnInternalFundsChargeRecoverToo) {
  LedgerSnapshot s = Snapshot({}, {}, 1'500);
  s.wallets["s"].qmoney_yen = 10'000;
  LedgerWrites w;
  auto r = Apply(s,
                 {CreditOp(OpType::kCredit, 1'000, "conversion-1", CreditSource::kPointsConversion),
                  CreditOp(OpType::kCreditFunds, 2'000, "settlement-1"),
                  CreditOp(OpType::kChargeFromFunds, 1'000, "order-q")},
                 &w);
  ASSERT_EQ(r[0].outcome, Outcome::kApplied);
  EXPECT_EQ(r[0].amount_yen, 1'000);
  EXPECT_EQ(r[1].outcome, Outcome::kApplied);
  EXPECT_EQ(r[1].amount_yen, 0);  // Qmoney is not Qcash: nothing recovered
  EXPECT_EQ(r[1].balance.debt_yen, 500);
  EXPECT_EQ(r[2].outcome, Outcome::kApplied);
  EXPECT_EQ(r[2].amount_yen, 500);
  EXPECT_EQ(r[2].balance.available_yen, 500);
  EXPECT_EQ(r[2].balance.debt_yen, 0);
  EXPECT_EQ(r[2].balance.qmoney_yen, 11'000);
  EXPECT_EQ(Journal(w),
            "2:1000[21:1000]/1500, 14:1000[21:1000]/500, 10:2000[]/500, 9:1000[24:1000]/500, "
            "14:500[24:500]/0");
  EXPECT_EQ(w.journal[1].paid_yen, 0);    // free Qcash paid it
  EXPECT_EQ(w.journal[4].paid_yen, 500);  // Qmoney lots are paid
}

// A charge credited and reversed in one batch: the claw-back finds the lot the batch created.
TEST(LedgerClawBackTest, ChargeAndItsReversalInOneBatch) {
  LedgerSnapshot s = Snapshot({}, {{"order-n", {0, 0, 0}}});
  LedgerWrites w;
  auto r = Apply(s,
                 {CreditOp(OpType::kCredit, 1'000, "order-n"), SpendOp(300, "spend-1"),
                  ClawBackOp(1'000, "order-n", "rv")},
                 &w);
  ASSERT_EQ(r[2].outcome, Outcome::kApplied);
  EXPECT_EQ(r[2].amount_yen, 700);
  EXPECT_EQ(r[2].amount2_yen, 300);
  EXPECT_EQ(Journal(w), "1:1000[21:1000]/0, 3:300[21:300]/0, 12:700[21:700]/0, 13:300[]/300");
}

// The available balance never goes negative: a spend after a claw-back sees what is left.
TEST(LedgerClawBackTest, SpendAfterClawBackSeesOnlyWhatIsLeft) {
  LedgerSnapshot s =
      Snapshot({Lot(1, LotOrigin::kVoucher, 1'000, 1'000)}, {{"order", {1, 1'000, 0}}});
  LedgerWrites w;
  auto r = Apply(s, {ClawBackOp(800, "order", "rv"), SpendOp(201, "k1"), SpendOp(200, "k2")}, &w);
  EXPECT_EQ(r[1].outcome, Outcome::kInsufficientFunds);
  EXPECT_EQ(r[2].outcome, Outcome::kApplied);
  EXPECT_EQ(r[2].balance.available_yen, 0);
  EXPECT_EQ(r[2].balance.debt_yen, 0);
}

TEST(LedgerClawBackTest, Validation) {
  Op op = ClawBackOp(100, "order", "rv");
  EXPECT_TRUE(ValidateOp(op).ok());
  Op zero = op;
  zero.amount_yen = 0;
  EXPECT_FALSE(ValidateOp(zero).ok());
  Op big = op;
  big.amount_yen = kAmountMaxYen + 1;
  EXPECT_FALSE(ValidateOp(big).ok());
  Op max = op;
  max.amount_yen = kAmountMaxYen;
  EXPECT_TRUE(ValidateOp(max).ok());
  Op kind = op;
  kind.kind = ReversalKind::kNone;
  EXPECT_EQ(ValidateOp(kind).code(), absl::StatusCode::kInvalidArgument);
  Op no_order = op;
  no_order.reference = "";
  EXPECT_FALSE(ValidateOp(no_order).ok());
  Op no_reversal = op;
  no_reversal.reversal_reference = "";
  EXPECT_FALSE(ValidateOp(no_reversal).ok());
  Op long_reversal = op;
  long_reversal.reversal_reference = std::string(kReferenceLengthMax + 1, 'r');
  EXPECT_FALSE(ValidateOp(long_reversal).ok());
  Op long_order = op;
  long_order.reference = std::string(kReferenceLengthMax, 'o');
  EXPECT_TRUE(ValidateOp(long_order).ok());
  // The reversal's id and kind are part of the request.
  Op other = op;
  other.reversal_reference = "rv-other";
  EXPECT_NE(RequestHash(op), RequestHash(other));
  other = op;
  other.kind = ReversalKind::kRefund;
  EXPECT_NE(RequestHash(op), RequestHash(other));
}

// An entry without debt hashes exactly as before claw-backs existed (existing chains verify);
// one with a debt carries it after the lots.
TEST(LedgerClawBackTest, CanonicalEntryAppendsTheDebtOnlyWhenThereIsOne) {
  JournalEntry e;
  e.seller_id = "s";
  e.seq = 3;
  e.type = EntryType::kAdSpend;
  e.amount_yen = 100;
  e.lots = {{1, 100}};
  e.paid_yen = 100;
  e.created_at = kNow;
  const std::string before = CanonicalEntry(e);
  EXPECT_EQ(before.rfind("16:qcash-journal-v1;", 0), 0u);
  // ... created_at, paid_yen 100, one lot: lot 1, 100 yen; nothing after the lots.
  EXPECT_EQ(before.substr(before.size() - 16), "i100;i1;i1;i100;");
  JournalEntry with_debt = e;
  with_debt.debt_after_yen = 250;
  EXPECT_EQ(CanonicalEntry(with_debt), before + "i250;");
  EXPECT_NE(EntryHash("", with_debt), EntryHash("", e));
}

}  // namespace
}  // namespace qcash::wallet
