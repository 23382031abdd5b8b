// The ledger's rules as ApplyOps() applies them to a batch (DESIGN.md section 3, W3, W5),
// without a database: the snapshot is what the store would have loaded under row locks.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

LedgerSnapshot Snapshot(std::initializer_list<WalletRecord> wallets) {
  LedgerSnapshot s;
  s.now = kNow;
  for (const WalletRecord& w : wallets) {
    s.wallets[w.seller_id] = w;
    // As after the migration to lots: what the wallet holds is its opening lot (holds placed
    // before lots reserved from it), and the store loads it for every debited seller.
    std::vector<LotRecord>& lots = s.lots[w.seller_id];
    if (w.available_yen + w.held_yen > 0) {
      LotRecord lot;
      lot.seller_id = w.seller_id;
      lot.lot_id = 0;
      lot.origin = LotOrigin::kOpening;
      lot.amount_yen = w.available_yen + w.held_yen;
      lot.available_yen = w.available_yen;
      lot.held_yen = w.held_yen;
      lots.push_back(lot);
    }
  }
  return s;
}

WalletRecord Wallet(const std::string& seller, int64_t available, int64_t held = 0) {
  WalletRecord w;
  w.seller_id = seller;
  w.available_yen = available;
  w.held_yen = held;
  w.version = 3;
  w.last_seq = 10;
  return w;
}

Op MakeOp(OpType type, const std::string& seller, int64_t amount, const std::string& key) {
  Op op;
  op.type = type;
  op.seller_id = seller;
  op.caller = "adbooking";
  op.idempotency_key = key;
  op.amount_yen = amount;
  op.reference = "ref";
  if (type == OpType::kSpend || type == OpType::kHold) {
    op.product = AdProduct::kTimeSale;
  }
  if (type == OpType::kCredit) op.source = CreditSource::kCharge;
  if (type == OpType::kHold) op.hold_ttl_s = 3600;
  op.request_hash = RequestHash(op);
  return op;
}

Op HoldOp(OpType type, const std::string& seller, int64_t hold_id, int64_t amount,
          const std::string& key) {
  Op op = MakeOp(type, seller, amount, key);
  op.hold_id = hold_id;
  op.request_hash = RequestHash(op);
  return op;
}

std::vector<OpResult> Apply(LedgerSnapshot& s, std::initializer_list<Op> ops, LedgerWrites* w) {
  std::vector<Op> owned(ops);
  std::vector<const Op*> ptrs;
  ptrs.reserve(owned.size());
  for (const Op& op : owned) ptrs.push_back(&op);
  return ApplyOps(ptrs, s, w);
}

TEST(LedgerApplyTest, SpendsInOrderAndRefusesWhatNoLongerFits) {
  LedgerSnapshot s = Snapshot({Wallet("a", 1'000)});
  LedgerWrites w;
  auto r = Apply(s,
                 {MakeOp(OpType::kSpend, "a", 700, "k1"), MakeOp(OpType::kSpend, "a", 400, "k2"),
                  MakeOp(OpType::kSpend, "a", 300, "k3")},
                 &w);
  EXPECT_EQ(r[0].outcome, Outcome::kApplied);
  EXPECT_EQ(r[0].balance.available_yen, 300);
  EXPECT_EQ(r[0].entry_seq, 11);
  EXPECT_EQ(r[1].outcome, Outcome::kInsufficientFunds);
  EXPECT_EQ(r[2].outcome, Outcome::kApplied);
  EXPECT_EQ(r[2].balance.available_yen, 0);
  EXPECT_EQ(r[2].entry_seq, 12);
  ASSERT_EQ(w.journal.size(), 2u);
  EXPECT_EQ(w.journal[1].available_after_yen, 0);
  ASSERT_EQ(w.wallets.size(), 1u);  // one final write per wallet, however many ops
  EXPECT_EQ(w.wallets[0].wallet.available_yen, 0);
  EXPECT_EQ(w.wallets[0].wallet.version, 5);  // two applied ops
  EXPECT_EQ(w.wallets[0].old_version, 3);
  EXPECT_EQ(w.records.size(), 2u);  // refusals record nothing
}

TEST(LedgerApplyTest, RefusalChangesNothing) {
  LedgerSnapshot s = Snapshot({Wallet("a", 100)});
  LedgerWrites w;
  auto r =
      Apply(s, {MakeOp(OpType::kSpend, "a", 101, "k1"), MakeOp(OpType::kSpend, "zz", 1, "k2")}, &w);
  EXPECT_EQ(r[0].outcome, Outcome::kInsufficientFunds);
  EXPECT_EQ(r[1].outcome, Outcome::kWalletNotFound);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(s.wallets["a"].available_yen, 100);
}

TEST(LedgerApplyTest, CreditBeyondInt64IsRefused) {
  WalletRecord big = Wallet("a", std::numeric_limits<int64_t>::max() - 500);
  LedgerSnapshot s = Snapshot({big});
  LedgerWrites w;
  auto r = Apply(
      s, {MakeOp(OpType::kCredit, "a", 1'000, "k1"), MakeOp(OpType::kCredit, "a", 500, "k2")}, &w);
  EXPECT_EQ(r[0].outcome, Outcome::kBalanceLimit);
  EXPECT_EQ(r[1].outcome, Outcome::kApplied);
  EXPECT_EQ(r[1].balance.available_yen, std::numeric_limits<int64_t>::max());
}

// W3: a hold made and captured for less in one batch is written once, in its final state.
TEST(LedgerApplyTest, HoldThenCaptureForLessInOneBatch) {
  LedgerSnapshot s = Snapshot({Wallet("a", 1'000)});
  LedgerWrites w;
  auto r =
      Apply(s,
            {MakeOp(OpType::kHold, "a", 600, "k1"), HoldOp(OpType::kCapture, "a", 11, 450, "k2"),
             HoldOp(OpType::kCapture, "a", 11, 10, "k3")},
            &w);
  ASSERT_EQ(r[0].outcome, Outcome::kApplied);
  EXPECT_EQ(r[0].hold_id, 11);
  EXPECT_EQ(r[0].expires_at, kNow + absl::Hours(1));
  EXPECT_EQ(r[0].balance.held_yen, 600);
  ASSERT_EQ(r[1].outcome, Outcome::kApplied);
  EXPECT_EQ(r[1].amount_yen, 450);
  EXPECT_EQ(r[1].amount2_yen, 150);
  EXPECT_EQ(r[1].balance.available_yen, 550);
  EXPECT_EQ(r[1].balance.held_yen, 0);
  EXPECT_EQ(r[2].outcome, Outcome::kHoldResolved);  // a hold resolves once
  ASSERT_EQ(w.new_holds.size(), 1u);
  EXPECT_EQ(w.new_holds[0].state, HoldState::kCaptured);
  EXPECT_EQ(w.new_holds[0].captured_yen, 450);
  EXPECT_TRUE(w.resolved_holds.empty());
  ASSERT_EQ(w.journal.size(), 3u);  // hold, capture, remainder
  EXPECT_EQ(w.journal[1].type, EntryType::kAdCapture);
  EXPECT_EQ(w.journal[1].held_after_yen, 150);
  EXPECT_EQ(w.journal[2].type, EntryType::kAdHoldRemainder);
  EXPECT_EQ(w.journal[2].amount_yen, 150);
  EXPECT_EQ(w.journal[2].available_after_yen, 550);
}

TEST(LedgerApplyTest, ExistingHoldRules) {
  LedgerSnapshot s = Snapshot({Wallet("a", 0, 500)});
  HoldRecord live{
      "a", 7, 300, 1, "app", HoldState::kPending, 0, kNow - absl::Hours(1), kNow + absl::Hours(1)};
  HoldRecord due{"a",
                 8,
                 200,
                 1,
                 "app",
                 HoldState::kPending,
                 0,
                 kNow - absl::Hours(2),
                 kNow - absl::Seconds(1)};
  s.holds[{"a", 7}] = live;
  s.holds[{"a", 8}] = due;
  LedgerWrites w;
  Op expire_live = HoldOp(OpType::kExpire, "a", 7, 0, "");
  Op expire_due = HoldOp(OpType::kExpire, "a", 8, 0, "");
  auto r =
      Apply(s,
            {HoldOp(OpType::kCapture, "a", 7, 301, "k1"),
             HoldOp(OpType::kCapture, "a", 8, 100, "k2"), expire_live, expire_due,
             HoldOp(OpType::kRelease, "a", 9, 0, "k3"), HoldOp(OpType::kRelease, "a", 7, 0, "k4")},
            &w);
  EXPECT_EQ(r[0].outcome, Outcome::kCaptureExceedsHold);
  EXPECT_EQ(r[1].outcome, Outcome::kHoldExpired);
  EXPECT_EQ(r[2].outcome, Outcome::kHoldNotDue);
  EXPECT_EQ(r[3].outcome, Outcome::kApplied);
  EXPECT_EQ(r[4].outcome, Outcome::kHoldNotFound);
  EXPECT_EQ(r[5].outcome, Outcome::kApplied);
  EXPECT_EQ(r[5].balance.available_yen, 500);
  EXPECT_EQ(r[5].balance.held_yen, 0);
  ASSERT_EQ(w.resolved_holds.size(), 2u);
  EXPECT_EQ(w.resolved_holds[0].state, HoldState::kExpired);
  EXPECT_EQ(w.resolved_holds[1].state, HoldState::kReleased);
}

// W5: closing voids pending holds, forfeits everything, and then refuses all but reads.
TEST(LedgerApplyTest, CloseForfeitsHeldAndAvailable) {
  LedgerSnapshot s = Snapshot({Wallet("a", 1'000, 300)});
  s.holds[{"a", 4}] =
      HoldRecord{"a", 4, 300, 2, "app", HoldState::kPending, 0, kNow, kNow + absl::Hours(1)};
  LedgerWrites w;
  Op close = MakeOp(OpType::kClose, "a", 0, "k2");
  auto r = Apply(
      s, {MakeOp(OpType::kHold, "a", 200, "k1"), close, MakeOp(OpType::kCredit, "a", 1'000, "k3")},
      &w);
  ASSERT_EQ(r[1].outcome, Outcome::kApplied);
  EXPECT_EQ(r[1].amount_yen, 1'300);  // 300 + 200 held, 800 available
  EXPECT_EQ(r[1].balance.state, WalletState::kClosed);
  EXPECT_EQ(r[1].balance.total_yen(), 0);
  EXPECT_EQ(r[2].outcome, Outcome::kWalletClosed);
  ASSERT_EQ(w.journal.size(), 4u);  // hold, forfeit hold 4, forfeit hold 11, forfeit available
  EXPECT_EQ(w.journal[1].hold_id, 4);
  EXPECT_EQ(w.journal[2].hold_id, 11);
  EXPECT_EQ(w.journal[3].debit, Account::kSellerAvailable);
  EXPECT_EQ(w.journal[3].credit, Account::kForfeiture);
  EXPECT_EQ(w.journal[3].amount_yen, 800);
  ASSERT_EQ(w.wallets.size(), 1u);
  EXPECT_TRUE(w.wallets[0].closed);
  ASSERT_EQ(w.new_holds.size(), 1u);
  EXPECT_EQ(w.new_holds[0].state, HoldState::kForfeited);
  ASSERT_EQ(w.resolved_holds.size(), 1u);
  EXPECT_EQ(w.resolved_holds[0].state, HoldState::kForfeited);
}

TEST(LedgerApplyTest, RecordedKeysReplayOrRefuse) {
  LedgerSnapshot s = Snapshot({Wallet("a", 1'000)});
  Op earlier = MakeOp(OpType::kSpend, "a", 100, "k1");
  IdempotencyRecord record{"adbooking", "k1", "a", OpType::kSpend, earlier.request_hash, {}};
  record.result.entry_seq = 9;
  record.result.balance.available_yen = 1'000;
  s.records[{"adbooking", "k1"}] = record;
  LedgerWrites w;
  auto r = Apply(s,
                 {earlier, MakeOp(OpType::kSpend, "a", 999, "k1"),
                  MakeOp(OpType::kSpend, "a", 50, "k2"), MakeOp(OpType::kSpend, "a", 50, "k2")},
                 &w);
  EXPECT_EQ(r[0].outcome, Outcome::kReplayed);
  EXPECT_EQ(r[0].entry_seq, 9);
  EXPECT_EQ(r[1].outcome, Outcome::kKeyReused);
  EXPECT_EQ(r[2].outcome, Outcome::kApplied);
  EXPECT_EQ(r[3].outcome, Outcome::kReplayed);  // the same key twice in one batch: once
  EXPECT_EQ(r[3].entry_seq, r[2].entry_seq);
  EXPECT_EQ(w.journal.size(), 1u);
  EXPECT_EQ(w.records.size(), 1u);
}

TEST(LedgerApplyTest, OpenReportsCreatedOnce) {
  LedgerSnapshot s = Snapshot({Wallet("new", 0)});
  s.created.insert("new");
  LedgerWrites w;
  auto r =
      Apply(s, {MakeOp(OpType::kOpen, "new", 0, "k1"), MakeOp(OpType::kOpen, "new", 0, "k2")}, &w);
  EXPECT_TRUE(r[0].created);
  EXPECT_FALSE(r[1].created);
  EXPECT_TRUE(w.wallets.empty());  // opening changes no balance
}

// The store inserts the row of a wallet being opened before the batch runs. Ops queued
// before the open must still find no wallet (found by the model test: a spend ahead of the
// open answered INSUFFICIENT_FUNDS, a credit would have been applied).
TEST(LedgerApplyTest, OpsBeforeTheOpenInTheSameBatchFindNoWallet) {
  LedgerSnapshot s = Snapshot({Wallet("new", 0)});
  s.wallets["new"].version = 0;
  s.wallets["new"].last_seq = 0;
  s.created.insert("new");
  LedgerWrites w;
  auto r =
      Apply(s,
            {MakeOp(OpType::kCredit, "new", 1'000, "k1"), MakeOp(OpType::kOpen, "new", 0, "k2"),
             MakeOp(OpType::kCredit, "new", 1'000, "k3")},
            &w);
  EXPECT_EQ(r[0].outcome, Outcome::kWalletNotFound);
  EXPECT_EQ(r[1].outcome, Outcome::kApplied);
  EXPECT_TRUE(r[1].created);
  EXPECT_EQ(r[1].balance.available_yen, 0);
  EXPECT_EQ(r[2].outcome, Outcome::kApplied);
  EXPECT_EQ(r[2].balance.available_yen, 1'000);
  EXPECT_EQ(r[2].entry_seq, 1);
  EXPECT_TRUE(w.unopened.empty());
}

// An open refused because its key was used for another request leaves no wallet behind: the
// row the store inserted for it is listed for deletion, and no other op may use it (found by
// the model test: the wallet existed afterwards although no open had succeeded).
TEST(LedgerApplyTest, OpenRefusedForAReusedKeyLeavesNoWallet) {
  LedgerSnapshot s = Snapshot({Wallet("old", 0), Wallet("new", 0)});
  s.created.insert("new");
  Op earlier = MakeOp(OpType::kOpen, "old", 0, "k1");
  s.records[{"adbooking", "k1"}] =
      IdempotencyRecord{"adbooking", "k1", "old", OpType::kOpen, earlier.request_hash, {}};
  LedgerWrites w;
  auto r = Apply(
      s, {MakeOp(OpType::kOpen, "new", 0, "k1"), MakeOp(OpType::kCredit, "new", 500, "k2")}, &w);
  EXPECT_EQ(r[0].outcome, Outcome::kKeyReused);
  EXPECT_EQ(r[1].outcome, Outcome::kWalletNotFound);
  EXPECT_TRUE(w.wallets.empty());
  EXPECT_TRUE(w.journal.empty());
  EXPECT_EQ(w.unopened, std::vector<std::string>{"new"});
}

// Double entry, for any sequence: each wallet's final balances equal its starting balances
// plus the journal's credits minus its debits, every amount is positive, seqs have no gaps,
// and no balance is ever negative.
TEST(LedgerApplyTest, RandomBatchesKeepTheBooksBalanced) {
  std::mt19937_64 rng(20261127);
  // A number in [0, n), as the int64_t amounts and ids are.
  const auto below = [&rng](int64_t n) { return static_cast<int64_t>(rng() % n); };
  for (int round = 0; round < 200; ++round) {
    LedgerSnapshot s = Snapshot({Wallet("a", 5'000, 0), Wallet("b", 0, 0)});
    const LedgerSnapshot start = s;
    std::vector<Op> ops;
    for (int i = 0; i < 40; ++i) {
      const std::string seller = rng() % 2 ? "a" : "b";
      const std::string key = absl::StrCat("k", i);
      switch (rng() % 7) {
        case 0:
          ops.push_back(MakeOp(OpType::kCredit, seller, 1'000, key));
          break;
        case 1:
          ops.push_back(MakeOp(OpType::kSpend, seller, 1 + below(2'000), key));
          break;
        case 2:
          ops.push_back(MakeOp(OpType::kHold, seller, 1 + below(2'000), key));
          break;
        case 3:
          ops.push_back(HoldOp(OpType::kCapture, seller, 11 + below(20), 1 + below(1'000), key));
          break;
        case 4:
          ops.push_back(HoldOp(OpType::kRelease, seller, 11 + below(20), 0, key));
          break;
        case 5: {
          Op funds = MakeOp(OpType::kCreditFunds, seller, 1 + below(5'000), key);
          funds.funds = FundsAccount::kQmoney;
          funds.request_hash = RequestHash(funds);
          ops.push_back(funds);
          break;
        }
        default: {
          Op charge = MakeOp(OpType::kChargeFromFunds, seller, 1'000, key);
          charge.funds = FundsAccount::kQmoney;
          charge.request_hash = RequestHash(charge);
          ops.push_back(charge);
          break;
        }
      }
    }
    if (round % 10 == 0) ops.push_back(MakeOp(OpType::kClose, "a", 0, "close"));
    std::vector<const Op*> ptrs;
    ptrs.reserve(ops.size());
    for (const Op& op : ops) ptrs.push_back(&op);
    LedgerWrites w;
    ApplyOps(ptrs, s, &w);

    std::map<std::pair<std::string, Account>, int64_t> delta;
    std::map<std::string, int64_t> seq;
    for (const JournalEntry& e : w.journal) {
      ASSERT_GT(e.amount_yen, 0);
      ASSERT_NE(e.debit, e.credit);
      ASSERT_GE(e.available_after_yen, 0);
      ASSERT_GE(e.held_after_yen, 0);
      ASSERT_GE(e.qmoney_after_yen, 0);
      delta[{e.seller_id, e.debit}] -= e.amount_yen;
      delta[{e.seller_id, e.credit}] += e.amount_yen;
      const int64_t expected = seq.count(e.seller_id) ? seq[e.seller_id] + 1 : 11;
      ASSERT_EQ(e.seq, expected);
      seq[e.seller_id] = e.seq;
    }
    for (const auto& [seller, final_wallet] : s.wallets) {
      const WalletRecord& before = start.wallets.at(seller);
      const int64_t available = delta[{seller, Account::kSellerAvailable}];
      const int64_t held = delta[{seller, Account::kSellerHeld}];
      const int64_t qmoney = delta[{seller, Account::kSellerQmoney}];
      EXPECT_EQ(final_wallet.available_yen, before.available_yen + available);
      EXPECT_EQ(final_wallet.held_yen, before.held_yen + held);
      EXPECT_EQ(final_wallet.qmoney_yen, before.qmoney_yen + qmoney);
      int64_t pending_holds = 0;
      for (const auto& [key, hold] : s.holds) {
        if (key.first == seller && hold.state == HoldState::kPending) {
          pending_holds += hold.amount_yen;
        }
      }
      EXPECT_EQ(final_wallet.held_yen, pending_holds);
    }
  }
}

// ---------------------------------------------------------------------- lots (section 8)

Op Credit(const std::string& seller, CreditSource source, int64_t amount, const std::string& key) {
  Op op = MakeOp(OpType::kCredit, seller, amount, key);
  op.caller = source == CreditSource::kCharge ? "payment" : "points";
  op.source = source;
  if (source == CreditSource::kCharge) {
    op.payment_method = "credit_card";
  } else {
    op.points_month = "2026-10";
  }
  EXPECT_TRUE(ValidateOp(op).ok());
  op.request_hash = RequestHash(op);
  return op;
}

std::vector<LotPart> Parts(std::initializer_list<std::pair<int64_t, int64_t>> parts) {
  std::vector<LotPart> out;
  for (const auto& [id, amount] : parts) out.push_back({id, amount});
  return out;
}

const LotRecord& LotOf(const LedgerSnapshot& s, const std::string& seller, int64_t lot_id) {
  for (const LotRecord& lot : s.lots.at(seller)) {
    if (lot.lot_id == lot_id) return lot;
  }
  ADD_FAILURE() << "no lot " << lot_id;
  static const LotRecord kNone;
  return kNone;
}

// Free lots first, then paid ones, each oldest first; the journal names them in that order.
TEST(LedgerLotsTest, DebitsTakeFreeBeforePaidOldestFirst) {
  LedgerSnapshot s = Snapshot({Wallet("a", 0)});
  LedgerWrites w;
  auto r = Apply(s,
                 {Credit("a", CreditSource::kCharge, 1'000, "c1"),          // lot 11, paid
                  Credit("a", CreditSource::kPointsConversion, 300, "c2"),  // lot 12, free
                  Credit("a", CreditSource::kCharge, 500, "c3"),            // lot 13, paid
                  Credit("a", CreditSource::kPointsConversion, 200, "c4"),  // lot 14, free
                  MakeOp(OpType::kSpend, "a", 1'200, "s1")},
                 &w);
  for (const OpResult& result : r) ASSERT_EQ(result.outcome, Outcome::kApplied);
  ASSERT_EQ(w.journal.size(), 5u);
  EXPECT_EQ(w.journal[0].lots, Parts({{11, 1'000}}));
  EXPECT_EQ(w.journal[0].paid_yen, 1'000);
  EXPECT_EQ(w.journal[1].paid_yen, 0);
  // 300 + 200 free, then 700 of the oldest paid lot.
  EXPECT_EQ(w.journal[4].lots, Parts({{12, 300}, {14, 200}, {11, 700}}));
  EXPECT_EQ(w.journal[4].paid_yen, 700);
  ASSERT_EQ(w.new_lots.size(), 4u);
  EXPECT_EQ(w.new_lots[0].lot_id, 11);
  EXPECT_EQ(w.new_lots[0].available_yen, 300);
  EXPECT_EQ(w.new_lots[0].payment_method, "credit_card");
  EXPECT_EQ(w.new_lots[0].price_paid_yen, 1'000);  // ValidateOp: the amount when not told
  EXPECT_EQ(w.new_lots[1].origin, LotOrigin::kPointsConversion);
  EXPECT_EQ(w.new_lots[1].points_month, "2026-10");
  EXPECT_EQ(w.new_lots[1].available_yen, 0);
  // What is left of the lots is written with the wallet: those with Qcash left, by id.
  ASSERT_EQ(w.wallets[0].open_lots.size(), 2u);
  EXPECT_EQ(w.wallets[0].open_lots[0].lot_id, 11);
  EXPECT_EQ(w.wallets[0].open_lots[0].available_yen, 300);
  EXPECT_EQ(w.wallets[0].open_lots[1].lot_id, 13);
  EXPECT_EQ(w.wallets[0].open_lots[1].available_yen, 500);
}

// A hold reserves lots; a capture for less consumes the first reservations and returns the
// rest to the same lots; a release returns everything.
TEST(LedgerLotsTest, HoldsReserveCaptureConsumesReleaseReturns) {
  LedgerSnapshot s = Snapshot({Wallet("a", 0)});
  LedgerWrites w;
  auto r = Apply(s,
                 {Credit("a", CreditSource::kCharge, 500, "c1"),            // lot 11
                  Credit("a", CreditSource::kPointsConversion, 100, "c2"),  // lot 12
                  MakeOp(OpType::kHold, "a", 400, "h1"),                    // seq 13
                  HoldOp(OpType::kCapture, "a", 13, 250, "k1"),             // 14, 15
                  MakeOp(OpType::kHold, "a", 300, "h2"),                    // seq 16
                  HoldOp(OpType::kRelease, "a", 16, 0, "k2")},              // 17
                 &w);
  for (const OpResult& result : r) ASSERT_EQ(result.outcome, Outcome::kApplied);
  ASSERT_EQ(w.journal.size(), 7u);
  EXPECT_EQ(w.journal[2].lots, Parts({{12, 100}, {11, 300}}));  // reserved, free first
  EXPECT_EQ(w.journal[3].type, EntryType::kAdCapture);
  EXPECT_EQ(w.journal[3].lots, Parts({{12, 100}, {11, 150}}));  // consumed
  EXPECT_EQ(w.journal[3].paid_yen, 150);
  EXPECT_EQ(w.journal[4].type, EntryType::kAdHoldRemainder);
  EXPECT_EQ(w.journal[4].lots, Parts({{11, 150}}));  // returned
  EXPECT_EQ(w.journal[5].lots, Parts({{11, 300}}));  // the free lot is used up
  EXPECT_EQ(w.journal[6].lots, Parts({{11, 300}}));
  const LotRecord& paid = LotOf(s, "a", 11);
  EXPECT_EQ(paid.available_yen, 350);
  EXPECT_EQ(paid.held_yen, 0);
  EXPECT_EQ(LotOf(s, "a", 12).remaining_yen(), 0);
  ASSERT_EQ(w.wallets[0].open_lots.size(), 1u);  // the used-up free lot is no longer listed
  EXPECT_EQ(w.wallets[0].open_lots[0].lot_id, 11);
}

// W5: the forfeiture consumes the held parts hold by hold, then the available rest.
TEST(LedgerLotsTest, CloseForfeitsEveryLot) {
  LedgerSnapshot s = Snapshot({Wallet("a", 0)});
  LedgerWrites w;
  Op close = MakeOp(OpType::kClose, "a", 0, "x");
  close.reference = "shop exit";
  close.request_hash = RequestHash(close);
  auto r = Apply(s,
                 {Credit("a", CreditSource::kPointsConversion, 200, "c1"),  // lot 11
                  Credit("a", CreditSource::kCharge, 1'000, "c2"),          // lot 12
                  MakeOp(OpType::kHold, "a", 300, "h1"),                    // 13: 200 + 100
                  close},
                 &w);
  for (const OpResult& result : r) ASSERT_EQ(result.outcome, Outcome::kApplied);
  ASSERT_EQ(w.journal.size(), 5u);
  EXPECT_EQ(w.journal[3].type, EntryType::kForfeit);
  EXPECT_EQ(w.journal[3].lots, Parts({{11, 200}, {12, 100}}));
  EXPECT_EQ(w.journal[4].lots, Parts({{12, 900}}));
  EXPECT_EQ(w.journal[4].paid_yen, 900);
  for (const LotRecord& lot : s.lots.at("a")) EXPECT_EQ(lot.remaining_yen(), 0);
  EXPECT_TRUE(w.wallets[0].open_lots.empty());  // nothing left
}

// A debit whose seller's lots do not hold its balance is refused and changes nothing.
TEST(LedgerLotsTest, LotsThatDisagreeWithTheBalanceRefuseDebits) {
  LedgerSnapshot s = Snapshot({Wallet("a", 1'000)});
  s.lots["a"][0].available_yen = 900;  // as if a lot row had been edited
  LedgerWrites w;
  auto r = Apply(s,
                 {MakeOp(OpType::kSpend, "a", 100, "s1"), MakeOp(OpType::kHold, "a", 100, "h1"),
                  Credit("a", CreditSource::kCharge, 500, "c1")},
                 &w);
  EXPECT_EQ(r[0].outcome, Outcome::kLotsDisagree);
  EXPECT_EQ(r[1].outcome, Outcome::kLotsDisagree);
  EXPECT_EQ(r[2].outcome, Outcome::kApplied);  // credits need no old lots
  ASSERT_EQ(w.journal.size(), 1u);
  EXPECT_EQ(OutcomeStatus(Outcome::kLotsDisagree, MakeOp(OpType::kSpend, "a", 1, "k")).code(),
            absl::StatusCode::kInternal);
}

// Each entry's hash chains to the seller's previous one; the chains of two sellers are apart.
TEST(LedgerLotsTest, EntriesChainPerSeller) {
  WalletRecord a = Wallet("a", 1'000);
  a.chain_head = std::string(32, 'x');
  LedgerSnapshot s = Snapshot({a, Wallet("b", 1'000)});
  LedgerWrites w;
  Apply(s,
        {MakeOp(OpType::kSpend, "a", 100, "s1"), MakeOp(OpType::kSpend, "b", 100, "s2"),
         MakeOp(OpType::kSpend, "a", 100, "s3")},
        &w);
  ASSERT_EQ(w.journal.size(), 3u);
  EXPECT_EQ(w.journal[0].hash, EntryHash(std::string(32, 'x'), w.journal[0]));
  EXPECT_EQ(w.journal[1].hash, EntryHash("", w.journal[1]));
  EXPECT_EQ(w.journal[2].hash, EntryHash(w.journal[0].hash, w.journal[2]));
  EXPECT_EQ(w.journal[2].hash.size(), 32u);
  EXPECT_EQ(s.wallets["a"].chain_head, w.journal[2].hash);
  JournalEntry edited = w.journal[2];
  edited.amount_yen += 1;
  EXPECT_NE(EntryHash(w.journal[0].hash, edited), w.journal[2].hash);
  edited = w.journal[2];
  edited.lots[0].amount_yen -= 1;
  EXPECT_NE(EntryHash(w.journal[0].hash, edited), w.journal[2].hash);
}

TEST(LedgerLotsTest, ProvenanceFieldsAreCheckedPerSource) {
  Op charge = Credit("a", CreditSource::kCharge, 1'000, "c");
  charge.payment_method = "Credit Card";
  EXPECT_EQ(ValidateOp(charge).code(), absl::StatusCode::kInvalidArgument);
  charge.payment_method = "paypay";
  charge.price_paid_yen = -1;
  EXPECT_EQ(ValidateOp(charge).code(), absl::StatusCode::kInvalidArgument);
  charge.price_paid_yen = 950;
  EXPECT_TRUE(ValidateOp(charge).ok());
  EXPECT_EQ(charge.price_paid_yen, 950);
  charge.points_month = "2026-10";  // a charge has no points month
  EXPECT_EQ(ValidateOp(charge).code(), absl::StatusCode::kInvalidArgument);
  Op conversion = Credit("a", CreditSource::kPointsConversion, 100, "p");
  for (const char* month : {"2026-13", "2026-1", "26-10-01", "2026/10"}) {
    conversion.points_month = month;
    EXPECT_EQ(ValidateOp(conversion).code(), absl::StatusCode::kInvalidArgument) << month;
  }
  conversion.points_month = "2026-12";
  EXPECT_TRUE(ValidateOp(conversion).ok());
  conversion.payment_method = "credit_card";  // a conversion has no payment method
  EXPECT_EQ(ValidateOp(conversion).code(), absl::StatusCode::kInvalidArgument);
  // Provenance describes the credit: a retry that tells it differently is the same request.
  Op a = Credit("a", CreditSource::kCharge, 1'000, "c");
  Op b = a;
  b.payment_method = "paypay";
  EXPECT_EQ(RequestHash(a), RequestHash(b));
}

}  // namespace
}  // namespace qcash::wallet
