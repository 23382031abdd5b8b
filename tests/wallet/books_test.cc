// The issuer's books end to end (DESIGN.md section 8, issue 14): the qcash-wallet binary with
// its development-only test clock (QCASH_WALLET_TEST_CLOCK=1, QCASH_INSECURE_DEV=1), which
// dates every ledger batch, against a real PostgreSQL and Redis. Every figure asserted below is
// computed by hand in the comments from the fixture's operations; debits take free lots before
// paid ones, oldest first within each (ledger.h ConsumedBefore). Each test has a stack of its
// own, so that the platform's figures are those of its fixture alone, and ends with the audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/pg.h"
#include "common/proto_time.h"
#include "qcash/wallet/v1/test_clock.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/audit.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/wallet/clock_fixture.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

class BooksTest : public WalletClockTest {
 protected:
  // The checkpoint job runs while the test writes: checkpoints written concurrently with the
  // answers must not change them.
  void SetUp() override { StartWallet("books_", {{"QCASH_WALLET_CHECKPOINT_INTERVAL_S", "1"}}); }

  // A paid voucher (W2) or a points conversion (S3, free). Returns the entry's seq.
  int64_t Credit(const std::string& seller, int64_t yen, pb::CreditSource source) {
    pb::CreditRequest r;
    r.set_seller_id(seller);
    const std::string key = NewKey();
    r.set_idempotency_key(key);
    r.set_amount_yen(yen);
    r.set_source(source);
    r.set_reference(absl::StrCat("ref-", key));
    pb::CreditResponse out;
    const grpc::Status s = Call(source == pb::CREDIT_SOURCE_CHARGE ? "payment" : "points",
                                &pb::WalletService::Stub::Credit, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.result().entry_seq();
  }
  int64_t Charge(const std::string& seller, int64_t yen) {
    return Credit(seller, yen, pb::CREDIT_SOURCE_CHARGE);
  }
  int64_t Convert(const std::string& seller, int64_t yen) {
    return Credit(seller, yen, pb::CREDIT_SOURCE_POINTS_CONVERSION);
  }

  void Close(const std::string& seller) {
    pb::CloseWalletRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_reason("shop exit");
    pb::CloseWalletResponse out;
    const grpc::Status s = Call("settlement", &pb::WalletService::Stub::CloseWallet, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  void CreditQmoney(const std::string& seller, int64_t yen) {
    pb::CreditInternalFundsRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_account(pb::FUNDS_ACCOUNT_QMONEY);
    r.set_amount_yen(yen);
    r.set_settlement_reference("settlement");
    pb::CreditInternalFundsResponse out;
    const grpc::Status s =
        Call("settlement", &pb::WalletService::Stub::CreditInternalFunds, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  void ChargeFromQmoney(const std::string& seller, int64_t yen) {
    pb::ChargeFromInternalFundsRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_source(pb::FUNDS_ACCOUNT_QMONEY);
    r.set_amount_yen(yen);
    r.set_order_id(absl::StrCat("order-", NewKey()));
    pb::ChargeFromInternalFundsResponse out;
    const grpc::Status s =
        Call("payment", &pb::WalletService::Stub::ChargeFromInternalFunds, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  grpc::Status Report(const std::string& base_date, pb::BaseDateReport* out,
                      const std::string& caller = "ops") {
    pb::GetBaseDateReportRequest r;
    r.set_base_date(base_date);
    pb::GetBaseDateReportResponse response;
    grpc::Status s = Call(caller, &pb::WalletService::Stub::GetBaseDateReport, r, &response);
    *out = response.report();
    return s;
  }

  pb::GetPlatformBalancesAtResponse PlatformAt(absl::Time at) {
    pb::GetPlatformBalancesAtRequest r;
    SetTimestamp(at, r.mutable_at());
    pb::GetPlatformBalancesAtResponse out;
    const grpc::Status s = Call("ops", &pb::WalletService::Stub::GetPlatformBalancesAt, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  pb::GetBalanceAtResponse SellerAt(const std::string& seller, absl::Time at) {
    pb::GetBalanceAtRequest r;
    r.set_seller_id(seller);
    SetTimestamp(at, r.mutable_at());
    pb::GetBalanceAtResponse out;
    const grpc::Status s = Call("ops", &pb::WalletService::Stub::GetBalanceAt, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
};

int64_t Account(const google::protobuf::RepeatedPtrField<pb::AccountBalance>& list,
                pb::Account account) {
  for (const pb::AccountBalance& b : list) {
    if (b.account() == account) return b.balance_yen();
  }
  ADD_FAILURE() << "no balance for " << pb::Account_Name(account);
  return 0;
}

std::string Text(const pb::BaseDateReport& r) { return r.ShortDebugString(); }

// The fixture of the September 2026 base date, crossing its end (2026-10-01 00:00:00 JST).
//
// Before the period (it starts 2026-04-01 00:00 JST):
//   03-20 10:00  A charge 10,000 (paid lot); A conversion 1,000 (free lot)
//   03-25 10:00  A spend 3,000 = 1,000 free + 2,000 paid            A: 8,000 paid left
//   03-28 12:00  B conversion 500 (free)                            B: 500 free
//   => at the start: paid unused 8,000, free unused 500.
// In the period, a month of mixed paid and free credits (C), charges bought with Qmoney (D), a
// forfeiture of available and held Qcash (E), a hold open over the base date (A) and the
// boundary (B, C):
//   09-01 09:00  C charge 5,000
//   09-02 10:00  D Qmoney +50,000 (settlement); 11:00 D charge from Qmoney 30,000 (paid)
//   09-05 09:00  C conversion 700
//   09-10 09:00  C charge 3,000;  12:00 E charge 10,000, E conversion 600
//   09-12 12:00  E spend 500 = 500 free                             E: 100 free, 10,000 paid
//   09-14 12:00  E hold 2,000 reserves 100 free + 1,900 paid
//   09-15 09:00  C conversion 300;  12:00 E closes: forfeits available 8,100 (paid) and held
//                2,000 (100 free + 1,900 paid) = 10,000 paid + 100 free
//   09-20 09:00  C spend 1,500 = 700 + 300 free (oldest first) + 500 paid
//   09-25 09:00  C spend 2,000 = 2,000 paid                         C: 5,500 paid
//   09-28 09:00  C conversion 400                                   C: 400 free
//   09-29 10:00  B charge 1,000
//   09-30 20:00  A hold 4,000 (paid; open over the base date: unused)
//   09-30 23:59:59  B spend 700 = 500 free + 200 paid; C charge 100  (in the period)
//   10-01 00:00:00  B spend 300 (paid); C charge 500                  (the next period)
//   10-01 10:00  A captures 2,500 of its hold (paid, next period); 1,500 back to available
// Period figures:
//   paid issued    C 5,000 + 3,000 + 100, D 30,000, B 1,000, E 10,000         = 49,100
//   paid used      C 500 + 2,000, B 200                                       =  2,700
//   paid forfeited E 10,000;  recovered 2,700 + 10,000                        = 12,700
//   paid unused    8,000 + 49,100 - 12,700 = 44,400
//                  (A 4,000 available + 4,000 held, B 800, C 5,600, D 30,000, E 0)
//   free issued    C 700 + 300 + 400, E 600 = 2,000; used C 1,000, B 500, E 500 = 2,000;
//   free forfeited E 100; free unused 500 + 2,000 - 2,000 - 100 = 400 (C's last conversion)
TEST_F(BooksTest, BaseDateReportMatchesHandComputedFigures) {
  const std::string a = NewSeller(), b = NewSeller(), c = NewSeller(), d = NewSeller(),
                    e = NewSeller();
  At(Jst(2026, 3, 20, 10));
  for (const std::string& s : {a, b, c, d, e}) Open(s);
  Charge(a, 10'000);
  Convert(a, 1'000);
  At(Jst(2026, 3, 25, 10));
  Spend(a, 3'000);
  At(Jst(2026, 3, 28, 12));
  Convert(b, 500);

  At(Jst(2026, 9, 1, 9));
  Charge(c, 5'000);
  At(Jst(2026, 9, 2, 10));
  CreditQmoney(d, 50'000);
  At(Jst(2026, 9, 2, 11));
  ChargeFromQmoney(d, 30'000);
  At(Jst(2026, 9, 5, 9));
  Convert(c, 700);
  At(Jst(2026, 9, 10, 9));
  Charge(c, 3'000);
  At(Jst(2026, 9, 10, 12));
  Charge(e, 10'000);
  Convert(e, 600);
  At(Jst(2026, 9, 12, 12));
  Spend(e, 500);
  At(Jst(2026, 9, 14, 12));
  Hold(e, 2'000, pb::AD_PRODUCT_GROUP_BUYING, "application", 30 * 86'400);
  At(Jst(2026, 9, 15, 9));
  Convert(c, 300);
  At(Jst(2026, 9, 15, 12));
  Close(e);
  At(Jst(2026, 9, 20, 9));
  Spend(c, 1'500);
  At(Jst(2026, 9, 25, 9));
  Spend(c, 2'000);
  At(Jst(2026, 9, 28, 9));
  Convert(c, 400);
  At(Jst(2026, 9, 29, 10));
  const int64_t b_charge = Charge(b, 1'000);
  At(Jst(2026, 9, 30, 20));
  const int64_t a_hold = Hold(a, 4'000, pb::AD_PRODUCT_GROUP_BUYING, "application", 3 * 86'400);
  At(Jst(2026, 9, 30, 23, 59, 59));
  const int64_t b_last_in_period = Spend(b, 700);
  Charge(c, 100);

  // Not past until the period has ended ten minutes ago (the checkpoints' safety margin).
  pb::BaseDateReport report;
  EXPECT_GRPC_ERROR(Report("2026-09-30", &report), FAILED_PRECONDITION, "BASE_DATE_NOT_PAST");
  At(Jst(2026, 10, 1, 0, 0, 0));
  const int64_t b_first_after = Spend(b, 300);
  Charge(c, 500);
  At(Jst(2026, 10, 1, 0, 5));
  EXPECT_GRPC_ERROR(Report("2026-09-30", &report), FAILED_PRECONDITION, "BASE_DATE_NOT_PAST");
  At(Jst(2026, 10, 1, 10));
  Capture(a, a_hold, 2'500);

  ASSERT_TRUE(Report("2026-09-30", &report).ok());
  EXPECT_EQ(report.base_date(), "2026-09-30");
  EXPECT_EQ(TimeOf(report.period_start()), Jst(2026, 4, 1, 0));
  EXPECT_EQ(TimeOf(report.period_end()), Jst(2026, 10, 1, 0));
  EXPECT_EQ(report.paid_unused_previous_yen(), 8'000);
  EXPECT_EQ(report.paid_issued_yen(), 49'100);
  EXPECT_EQ(report.paid_used_yen(), 2'700);
  EXPECT_EQ(report.paid_forfeited_yen(), 10'000);
  EXPECT_EQ(report.paid_recovered_yen(), 12'700);
  EXPECT_EQ(report.paid_before_lots_yen(), 0);
  EXPECT_EQ(report.paid_unused_yen(), 44'400);
  EXPECT_FALSE(report.above_threshold());
  EXPECT_EQ(report.deposit_required_yen(), 0);
  EXPECT_EQ(report.free_unused_previous_yen(), 500);
  EXPECT_EQ(report.free_issued_yen(), 2'000);
  EXPECT_EQ(report.free_used_yen(), 2'000);
  EXPECT_EQ(report.free_forfeited_yen(), 100);
  EXPECT_EQ(report.free_unused_yen(), 400);
  const std::string first = Text(report);
  pb::BaseDateReport again;
  ASSERT_TRUE(Report("2026-09-30", &again).ok());
  EXPECT_EQ(Text(again), first);

  // The platform at the last instant of the period, by hand:
  //   provider clearing  -(A 10,000 + C 5,000 + 3,000 + 100 + B 1,000 + E 10,000) = -29,100
  //   points programme   -(A 1,000 + B 500 + C 700 + 300 + 400 + E 600)            =  -3,500
  //   ad revenue         A 3,000 + E 500 + C 1,500 + 2,000 + B 700                 =   7,700
  //   forfeiture         E 8,100 + 2,000                                           =  10,100
  //   settlement         -(D 50,000)                                               = -50,000
  //   sellers: available A 4,000 + B 800 + C 6,000 + D 30,000 = 40,800; held A 4,000;
  //            Qmoney D 20,000; pending 0. All together: 0.
  const pb::GetPlatformBalancesAtResponse end =
      PlatformAt(Jst(2026, 10, 1, 0) - absl::Microseconds(1));
  EXPECT_EQ(Account(end.platform(), pb::ACCOUNT_PLATFORM_PROVIDER_CLEARING), -29'100);
  EXPECT_EQ(Account(end.platform(), pb::ACCOUNT_PLATFORM_POINTS_PROGRAMME), -3'500);
  EXPECT_EQ(Account(end.platform(), pb::ACCOUNT_PLATFORM_AD_REVENUE), 7'700);
  EXPECT_EQ(Account(end.platform(), pb::ACCOUNT_PLATFORM_FORFEITURE), 10'100);
  EXPECT_EQ(Account(end.platform(), pb::ACCOUNT_PLATFORM_SETTLEMENT), -50'000);
  EXPECT_EQ(Account(end.sellers(), pb::ACCOUNT_SELLER_AVAILABLE), 40'800);
  EXPECT_EQ(Account(end.sellers(), pb::ACCOUNT_SELLER_HELD), 4'000);
  EXPECT_EQ(Account(end.sellers(), pb::ACCOUNT_SELLER_QMONEY), 20'000);
  EXPECT_EQ(Account(end.sellers(), pb::ACCOUNT_SELLER_PENDING_SETTLEMENT), 0);
  EXPECT_EQ(end.paid_unused_yen(), 44'400);
  EXPECT_EQ(end.free_unused_yen(), 400);
  // At 00:00:00 JST the next period's first entries count: + C 500 - B 300.
  const pb::GetPlatformBalancesAtResponse next = PlatformAt(Jst(2026, 10, 1, 0));
  EXPECT_EQ(next.paid_unused_yen(), 44'600);
  EXPECT_EQ(Account(next.platform(), pb::ACCOUNT_PLATFORM_AD_REVENUE), 8'000);

  // At any instant, checkpoint + journal = the journal alone, summed here independently: hour
  // boundaries (checkpoint instants), a microsecond either side of the base date's end, and
  // instants between entries.
  {
    auto conn = PgConnection::Connect(stack_->wallet_db_url, "books-test");
    ASSERT_TRUE(conn.ok()) << conn.status();
    for (const absl::Time t :
         {Jst(2026, 3, 20, 10), Jst(2026, 3, 20, 11), Jst(2026, 9, 1, 0), Jst(2026, 9, 14, 13),
          Jst(2026, 9, 15, 12), Jst(2026, 9, 30, 23), Jst(2026, 9, 30, 23, 59, 59),
          Jst(2026, 10, 1, 0) - absl::Microseconds(1), Jst(2026, 10, 1, 0),
          Jst(2026, 10, 1, 0) + absl::Microseconds(1), Jst(2026, 10, 1, 1)}) {
      const pb::GetPlatformBalancesAtResponse got = PlatformAt(t);
      auto sums = (*conn)->Exec(
          "SELECT coalesce(sum(CASE WHEN credit_account = 103 THEN amount_yen ELSE 0 END), "
          "0)::bigint, coalesce(sum(CASE WHEN credit_account IN (1, 2) AND debit_account NOT IN "
          "(1, 2) THEN amount_yen WHEN debit_account IN (1, 2) AND credit_account NOT IN (1, 2) "
          "THEN -amount_yen ELSE 0 END), 0)::bigint, coalesce(sum(CASE WHEN entry_type IN (1, 2, "
          "9) THEN amount_yen - paid_yen WHEN entry_type IN (3, 5, 11) THEN paid_yen - "
          "amount_yen ELSE 0 END), 0)::bigint, count(*) FROM journal "
          "WHERE created_at <= 'epoch'::timestamptz + $1::bigint * interval '1 microsecond'",
          {absl::StrCat(absl::ToUnixMicros(t))});
      ASSERT_TRUE(sums.ok()) << sums.status();
      const std::string when = absl::FormatTime(t, absl::FixedTimeZone(9 * 3600));
      EXPECT_EQ(Account(got.platform(), pb::ACCOUNT_PLATFORM_AD_REVENUE), sums->GetInt64(0, 0))
          << when;
      EXPECT_EQ(got.paid_unused_yen() + got.free_unused_yen(), sums->GetInt64(0, 1)) << when;
      EXPECT_EQ(got.free_unused_yen(), sums->GetInt64(0, 2)) << when;
      EXPECT_EQ(got.entries(), sums->GetInt64(0, 3)) << when;
    }
  }

  // The checkpoint at the period's end was written (the job or on demand) and holds the same.
  {
    auto conn = PgConnection::Connect(stack_->wallet_db_url, "books-test");
    ASSERT_TRUE(conn.ok()) << conn.status();
    auto row = (*conn)->Exec(
        "SELECT seller_available + seller_held - (free_issued - free_used - free_forfeited) "
        "FROM books_checkpoints WHERE at = '2026-10-01 00:00:00+09'");
    ASSERT_TRUE(row.ok()) << row.status();
    ASSERT_EQ(row->rows(), 1);
    EXPECT_EQ(row->GetInt64(0, 0), 44'400);
  }

  // A seller before, at and after its entries (B: 500 free, then + 1,000 paid at 09-29 10:00,
  // - 700 at 23:59:59 taking the 500 free first, - 300 at 00:00:00).
  pb::GetBalanceAtResponse before = SellerAt(b, Jst(2026, 3, 1, 0));
  EXPECT_EQ(before.last_entry_seq(), 0);
  EXPECT_EQ(before.balance().total_yen(), 0);
  pb::GetBalanceAtResponse bs = SellerAt(b, Jst(2026, 9, 30, 23, 59, 58));
  EXPECT_EQ(bs.last_entry_seq(), b_charge);
  EXPECT_EQ(bs.balance().available_yen(), 1'500);
  EXPECT_EQ(bs.paid_unused_yen(), 1'000);
  EXPECT_EQ(bs.free_unused_yen(), 500);
  bs = SellerAt(b, Jst(2026, 9, 30, 23, 59, 59));
  EXPECT_EQ(bs.last_entry_seq(), b_last_in_period);
  EXPECT_EQ(bs.balance().available_yen(), 800);
  EXPECT_EQ(bs.paid_unused_yen(), 800);
  EXPECT_EQ(bs.free_unused_yen(), 0);
  bs = SellerAt(b, Jst(2026, 10, 1, 0, 0, 0));
  EXPECT_EQ(bs.last_entry_seq(), b_first_after);
  EXPECT_EQ(bs.balance().available_yen(), 500);
  // A's hold is unused while open; E is closed from its closing on.
  pb::GetBalanceAtResponse as = SellerAt(a, Jst(2026, 9, 30, 21));
  EXPECT_EQ(as.balance().available_yen(), 4'000);
  EXPECT_EQ(as.balance().held_yen(), 4'000);
  EXPECT_EQ(as.paid_unused_yen(), 8'000);
  as = SellerAt(a, Jst(2026, 10, 1, 10));
  EXPECT_EQ(as.balance().available_yen(), 5'500);
  EXPECT_EQ(as.balance().held_yen(), 0);
  EXPECT_EQ(SellerAt(e, Jst(2026, 9, 15, 11, 59, 59)).balance().state(), pb::WALLET_STATE_OPEN);
  pb::GetBalanceAtResponse es = SellerAt(e, Jst(2026, 9, 15, 12));
  EXPECT_EQ(es.balance().state(), pb::WALLET_STATE_CLOSED);
  EXPECT_EQ(es.balance().total_yen(), 0);
  pb::GetBalanceAtResponse ds = SellerAt(d, Jst(2026, 9, 2, 11));
  EXPECT_EQ(ds.balance().qmoney_yen(), 20'000);
  EXPECT_EQ(ds.paid_unused_yen(), 30'000);

  // The platform now (everything is dated at or before the clock) = the audit's totals.
  {
    const pb::GetPlatformBalancesAtResponse now = PlatformAt(Jst(2026, 10, 1, 10));
    auto conn = PgConnection::Connect(stack_->wallet_db_url, "books-test");
    ASSERT_TRUE(conn.ok()) << conn.status();
    auto audit = wallet::AuditLedger(**conn);
    ASSERT_TRUE(audit.ok()) << audit.status();
    ASSERT_TRUE(audit->ok()) << audit->ToString();
    for (const pb::AccountBalance& p : now.platform()) {
      EXPECT_EQ(p.balance_yen(), audit->platform_balances[static_cast<int>(p.account())])
          << pb::Account_Name(p.account());
    }
    auto sums = (*conn)->Exec(
        "SELECT sum(available_yen)::bigint, sum(held_yen)::bigint, sum(qmoney_yen)::bigint, "
        "sum(pending_yen)::bigint FROM wallets");
    ASSERT_TRUE(sums.ok()) << sums.status();
    EXPECT_EQ(Account(now.sellers(), pb::ACCOUNT_SELLER_AVAILABLE), sums->GetInt64(0, 0));
    EXPECT_EQ(Account(now.sellers(), pb::ACCOUNT_SELLER_HELD), sums->GetInt64(0, 1));
    EXPECT_EQ(Account(now.sellers(), pb::ACCOUNT_SELLER_QMONEY), sums->GetInt64(0, 2));
    EXPECT_EQ(Account(now.sellers(), pb::ACCOUNT_SELLER_PENDING_SETTLEMENT), sums->GetInt64(0, 3));
  }

  // More activity later does not change a past report.
  At(Jst(2026, 10, 15, 9));
  Spend(a, 1'000);
  Convert(c, 200);
  ChargeFromQmoney(d, 10'000);
  ASSERT_TRUE(Report("2026-09-30", &again).ok());
  EXPECT_EQ(Text(again), first);

  // The next half-year, from 2026-10-01 00:00:00 JST:
  //   paid issued  C 500 (at 00:00:00) + D 10,000 = 10,500
  //   paid used    B 300 (at 00:00:00) + A capture 2,500 + A spend 1,000 = 3,800 (A's lots
  //                are all paid)
  //   paid unused  44,400 + 10,500 - 3,800 = 51,100 (A 4,500, B 500, C 6,100, D 40,000)
  //   free         400 before, + C 200, nothing used: 600
  At(Jst(2027, 4, 1, 1));
  ASSERT_TRUE(Report("2027-03-31", &report).ok());
  EXPECT_EQ(TimeOf(report.period_start()), Jst(2026, 10, 1, 0));
  EXPECT_EQ(report.paid_unused_previous_yen(), 44'400);
  EXPECT_EQ(report.paid_issued_yen(), 10'500);
  EXPECT_EQ(report.paid_used_yen(), 3'800);
  EXPECT_EQ(report.paid_forfeited_yen(), 0);
  EXPECT_EQ(report.paid_recovered_yen(), 3'800);
  EXPECT_EQ(report.paid_unused_yen(), 51'100);
  EXPECT_EQ(report.free_unused_previous_yen(), 400);
  EXPECT_EQ(report.free_issued_yen(), 200);
  EXPECT_EQ(report.free_used_yen(), 0);
  EXPECT_EQ(report.free_unused_yen(), 600);
  ASSERT_TRUE(Report("2026-09-30", &again).ok());
  EXPECT_EQ(Text(again), first);
}

TEST_F(BooksTest, RequestsAreCheckedAndOnlyOperatorsReadTheBooks) {
  At(Jst(2026, 10, 1, 1));
  pb::BaseDateReport report;
  EXPECT_GRPC_ERROR(Report("2026-09-31", &report), INVALID_ARGUMENT, "INVALID_BASE_DATE");
  EXPECT_GRPC_ERROR(Report("2026-12-31", &report), INVALID_ARGUMENT, "INVALID_BASE_DATE");
  EXPECT_GRPC_ERROR(Report("2027-03-31", &report), FAILED_PRECONDITION, "BASE_DATE_NOT_PAST");
  EXPECT_GRPC_ERROR(Report("2026-09-30", &report, "adbooking"), PERMISSION_DENIED,
                    "CALLER_NOT_ALLOWED");
  // An empty ledger reports zeros.
  ASSERT_TRUE(Report("2026-09-30", &report).ok());
  EXPECT_EQ(report.paid_unused_yen(), 0);
  EXPECT_EQ(report.free_unused_yen(), 0);

  pb::GetPlatformBalancesAtRequest platform;  // no `at`
  pb::GetPlatformBalancesAtResponse platform_out;
  EXPECT_GRPC_ERROR(
      Call("ops", &pb::WalletService::Stub::GetPlatformBalancesAt, platform, &platform_out),
      INVALID_ARGUMENT, "INVALID_TIME");
  SetTimestamp(Jst(2026, 9, 1, 0), platform.mutable_at());
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::WalletService::Stub::GetPlatformBalancesAt, platform, &platform_out),
      PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  pb::GetBalanceAtRequest seller;
  seller.set_seller_id(NewSeller());
  SetTimestamp(Jst(2026, 9, 1, 0), seller.mutable_at());
  pb::GetBalanceAtResponse seller_out;
  EXPECT_GRPC_ERROR(Call("ops", &pb::WalletService::Stub::GetBalanceAt, seller, &seller_out),
                    NOT_FOUND, "WALLET_NOT_FOUND");
  seller.clear_at();
  EXPECT_GRPC_ERROR(Call("ops", &pb::WalletService::Stub::GetBalanceAt, seller, &seller_out),
                    INVALID_ARGUMENT, "INVALID_TIME");

  // Only operators set the test clock, and only to a time.
  pb::SetTimeRequest set;
  pb::SetTimeResponse set_out;
  EXPECT_GRPC_ERROR(CallOn(clock_.get(), "ops", &pb::WalletTestClock::Stub::SetTime, set, &set_out),
                    INVALID_ARGUMENT, "INVALID_TIME");
  SetTimestamp(Jst(2026, 10, 2, 0), set.mutable_time());
  EXPECT_GRPC_ERROR(
      CallOn(clock_.get(), "payment", &pb::WalletTestClock::Stub::SetTime, set, &set_out),
      PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
}

// Output of qcashctl run against this stack's wallet.
std::string Qcashctl(const std::string& address, const std::string& args) {
  const std::string command =
      absl::StrCat("QCASHCTL_WALLET=", address, " ", QCASHCTL_BINARY, " ", args, " 2>&1");
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

// Above 10,000,000 yen of unused paid Qcash a deposit of at least half is required:
//   2027-05-01  F buys eleven 1,000,000-yen vouchers (11,000,000 paid) and converts 100 points
//   2027-05-02  F spends 101 = 100 free + 1 paid
//   => 2027-09-30: paid issued 11,000,000, used 1, unused 10,999,999 > 10,000,000;
//      deposit = ceil(10,999,999 / 2) = 5,500,000. Free: issued 100, used 100, unused 0.
TEST_F(BooksTest, AboveTheThresholdADepositOfHalfRoundedUpIsRequired) {
  const std::string f = NewSeller();
  At(Jst(2027, 5, 1, 10));
  Open(f);
  for (int i = 0; i < 11; ++i) Charge(f, 1'000'000);
  Convert(f, 100);
  At(Jst(2027, 5, 2, 10));
  Spend(f, 101);
  At(Jst(2027, 10, 1, 1));
  pb::BaseDateReport report;
  ASSERT_TRUE(Report("2027-09-30", &report).ok());
  EXPECT_EQ(report.paid_unused_previous_yen(), 0);
  EXPECT_EQ(report.paid_issued_yen(), 11'000'000);
  EXPECT_EQ(report.paid_used_yen(), 1);
  EXPECT_EQ(report.paid_recovered_yen(), 1);
  EXPECT_EQ(report.paid_unused_yen(), 10'999'999);
  EXPECT_TRUE(report.above_threshold());
  EXPECT_EQ(report.deposit_required_yen(), 5'500'000);
  EXPECT_EQ(report.free_issued_yen(), 100);
  EXPECT_EQ(report.free_used_yen(), 100);
  EXPECT_EQ(report.free_unused_yen(), 0);

  // The same figures from qcashctl, in each format.
  const std::string& address = stack_->wallet.address;
  const std::string csv = Qcashctl(address, "report base-date 2027-09-30");
  EXPECT_TRUE(absl::StrContains(csv, "paid_unused_yen,10999999\n")) << csv;
  EXPECT_TRUE(absl::StrContains(csv, "deposit_required_yen,5500000\n")) << csv;
  EXPECT_TRUE(absl::StrContains(csv, "above_threshold,true\n")) << csv;
  EXPECT_TRUE(absl::StrContains(csv, "period_end,2027-10-01T00:00:00+09:00\n")) << csv;
  const std::string json = Qcashctl(address, "report base-date 2027-09-30 --format json");
  EXPECT_TRUE(absl::StrContains(json, "\"deposit_required_yen\": 5500000,")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"above_threshold\": true")) << json;
  const std::string html = Qcashctl(address, "report base-date 2027-09-30 --format html");
  EXPECT_TRUE(absl::StartsWith(html, "<!DOCTYPE html>")) << html;
  for (const char* label : {"基準日", "未使用残高", "発行額", "回収額", "発行保証金",
                            "10,999,999 円", "5,500,000 円", "11,000,000 円"}) {
    EXPECT_TRUE(absl::StrContains(html, label)) << label;
  }
  // Self-contained: nothing to fetch.
  for (const char* fetch : {"http://", "https://", "src=", "<link", "@import", "url("}) {
    EXPECT_FALSE(absl::StrContains(html, fetch)) << fetch;
  }
  const std::string platform = Qcashctl(address, "balance --at 2027-05-02T10:00:00+09:00");
  EXPECT_TRUE(absl::StrContains(platform, "10,999,999 yen")) << platform;
  const std::string seller =
      Qcashctl(address, absl::StrCat("balance --at 2027-05-01T10:00:00+09:00 ", f));
  EXPECT_TRUE(absl::StrContains(seller, "11,000,100 yen")) << seller;
  const std::string refused = Qcashctl(address, "report base-date 2028-03-31");
  EXPECT_TRUE(absl::StrContains(refused, "is final from")) << refused;
}

}  // namespace
}  // namespace qcash::testing
