// Claw-backs in the issuer's books (DESIGN.md sections 8 and 9): the qcash-wallet binary with
// its development-only test clock against a real PostgreSQL and Redis. Qcash that a payment
// reversal took back (CLAWBACK) or that a credit used to pay a debt (DEBT_RECOVERY) left the
// sellers without paying for an ad: the base-date report counts its paid part as recovered
// (回収), GetPlatformBalancesAt counts it apart, the receivable account is in the sellers'
// sums, and the identities of the proto's comments hold. Every figure is computed by hand in
// the comments. Ends with the audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/wallet/clock_fixture.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

class ClawBackBooksTest : public WalletClockTest {
 protected:
  void SetUp() override { StartWallet("clawback_books_", {}); }

  pb::CreditResponse Credit(const std::string& seller, int64_t yen, pb::CreditSource source,
                            const std::string& reference) {
    pb::CreditRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_amount_yen(yen);
    r.set_source(source);
    r.set_reference(reference);
    pb::CreditResponse out;
    const grpc::Status s = Call(source == pb::CREDIT_SOURCE_CHARGE ? "payment" : "points",
                                &pb::WalletService::Stub::Credit, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  pb::ClawBackResponse ClawBack(const std::string& seller, int64_t yen, const std::string& order) {
    pb::ClawBackRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(absl::StrCat("reversal:sandbox:rv-", order));
    r.set_amount_yen(yen);
    r.set_order_id(order);
    r.set_reversal_reference(absl::StrCat("rv-", order));
    r.set_kind(pb::REVERSAL_KIND_DEFAULT);
    pb::ClawBackResponse out;
    const grpc::Status s = Call("payment", &pb::WalletService::Stub::ClawBack, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  pb::GetPlatformBalancesAtResponse PlatformAt(absl::Time at) {
    pb::GetPlatformBalancesAtRequest r;
    SetTimestamp(at, r.mutable_at());
    pb::GetPlatformBalancesAtResponse out;
    const grpc::Status s = Call("ops", &pb::WalletService::Stub::GetPlatformBalancesAt, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
};

int64_t AccountIn(const google::protobuf::RepeatedPtrField<pb::AccountBalance>& list,
                  pb::Account account) {
  for (const pb::AccountBalance& b : list) {
    if (b.account() == account) return b.balance_yen();
  }
  ADD_FAILURE() << "no balance for " << pb::Account_Name(account);
  return 0;
}

// Every account, platform and sellers' sums: double entry, so zero.
int64_t SumOfAccounts(const pb::GetPlatformBalancesAtResponse& p) {
  int64_t sum = 0;
  for (const auto* list : {&p.platform(), &p.sellers()}) {
    for (const pb::AccountBalance& b : *list) sum += b.balance_yen();
  }
  return sum;
}

// The September 2026 base date (period 2026-04-01 .. 2026-10-01 00:00 JST):
//   03-20 10:00  charge 10,000 (order-1, lot 1, paid); conversion 1,000 (lot 2, free)
//   03-25 10:00  spend 1,500 = 1,000 free + 500 paid              available 9,500 (all paid)
//   => at the start: paid unused 9,500, free unused 0.
//   05-10 10:00  order-1 reversed (pay-later default) 10,000: 9,500 from lot 1 (CLAWBACK,
//                paid), 500 spent already (DEBT)                   available 0, debt 500
//   06-01 10:00  conversion 2,000 (lot 5, free): 500 pays the debt (DEBT_RECOVERY, free)
//                                                                  available 1,500, debt 0
//   07-01 10:00  charge 3,000 (order-2, paid)                      available 4,500
// Period figures:
//   paid issued 3,000; used 0; forfeited 0; clawed back 9,500; recovered 9,500
//   paid unused 9,500 + 3,000 - 9,500 = 3,000
//   free issued 2,000; used 0; forfeited 0; clawed back 500; free unused 0 + 2,000 - 500 = 1,500
TEST_F(ClawBackBooksTest, BaseDateReportAndPlatformBalancesCountClawedBackQcash) {
  const std::string seller = NewSeller();
  At(Jst(2026, 3, 20, 10));
  Open(seller);
  Credit(seller, 10'000, pb::CREDIT_SOURCE_CHARGE, "order-1");
  Credit(seller, 1'000, pb::CREDIT_SOURCE_POINTS_CONVERSION, "conversion-1");
  At(Jst(2026, 3, 25, 10));
  Spend(seller, 1'500);
  At(Jst(2026, 5, 10, 10));
  const pb::ClawBackResponse clawed = ClawBack(seller, 10'000, "order-1");
  EXPECT_EQ(clawed.clawed_back_yen(), 9'500);
  EXPECT_EQ(clawed.debt_yen(), 500);
  At(Jst(2026, 6, 1, 10));
  const pb::CreditResponse converted =
      Credit(seller, 2'000, pb::CREDIT_SOURCE_POINTS_CONVERSION, "conversion-2");
  EXPECT_EQ(converted.result().debt_recovered_yen(), 500);
  At(Jst(2026, 7, 1, 10));
  Credit(seller, 3'000, pb::CREDIT_SOURCE_CHARGE, "order-2");
  At(Jst(2026, 10, 2, 10));

  // Between the reversal and the conversion: the seller owed 500, on the receivable account.
  const pb::GetPlatformBalancesAtResponse may = PlatformAt(Jst(2026, 5, 20, 0));
  EXPECT_EQ(AccountIn(may.sellers(), pb::ACCOUNT_SELLER_RECEIVABLE), -500);
  EXPECT_EQ(AccountIn(may.sellers(), pb::ACCOUNT_SELLER_AVAILABLE), 0);
  // Provider clearing: -10,000 charged, +9,500 clawed back, +500 owed.
  EXPECT_EQ(AccountIn(may.platform(), pb::ACCOUNT_PLATFORM_PROVIDER_CLEARING), 0);
  EXPECT_EQ(may.paid_clawed_back_yen(), 9'500);
  EXPECT_EQ(may.free_clawed_back_yen(), 0);
  EXPECT_EQ(may.paid_unused_yen(), 0);
  EXPECT_EQ(may.free_unused_yen(), 0);
  EXPECT_EQ(SumOfAccounts(may), 0);
  pb::GetBalanceAtRequest at_may;
  at_may.set_seller_id(seller);
  SetTimestamp(Jst(2026, 5, 20, 0), at_may.mutable_at());
  pb::GetBalanceAtResponse seller_may;
  ASSERT_TRUE(Call("ops", &pb::WalletService::Stub::GetBalanceAt, at_may, &seller_may).ok());
  EXPECT_EQ(seller_may.balance().debt_yen(), 500);
  EXPECT_EQ(seller_may.balance().available_yen(), 0);

  const pb::GetPlatformBalancesAtResponse now = PlatformAt(Jst(2026, 10, 2, 0));
  EXPECT_EQ(AccountIn(now.sellers(), pb::ACCOUNT_SELLER_RECEIVABLE), 0);
  EXPECT_EQ(AccountIn(now.sellers(), pb::ACCOUNT_SELLER_AVAILABLE), 4'500);
  EXPECT_EQ(now.paid_clawed_back_yen(), 9'500);
  EXPECT_EQ(now.free_clawed_back_yen(), 500);
  EXPECT_EQ(now.paid_unused_yen(), 3'000);
  EXPECT_EQ(now.free_unused_yen(), 1'500);
  EXPECT_EQ(SumOfAccounts(now), 0);
  // free unused = issued - used - forfeited - clawed back, over all time.
  EXPECT_EQ(now.free_unused_yen(), now.free_issued_yen() - now.free_used_yen() -
                                       now.free_forfeited_yen() - now.free_clawed_back_yen());

  pb::GetBaseDateReportRequest request;
  request.set_base_date("2026-09-30");
  pb::GetBaseDateReportResponse response;
  const grpc::Status s =
      Call("ops", &pb::WalletService::Stub::GetBaseDateReport, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const pb::BaseDateReport& r = response.report();
  EXPECT_EQ(r.paid_unused_previous_yen(), 9'500) << r.ShortDebugString();
  EXPECT_EQ(r.paid_issued_yen(), 3'000);
  EXPECT_EQ(r.paid_used_yen(), 0);
  EXPECT_EQ(r.paid_forfeited_yen(), 0);
  EXPECT_EQ(r.paid_clawed_back_yen(), 9'500);
  EXPECT_EQ(r.paid_recovered_yen(), 9'500);
  EXPECT_EQ(r.paid_unused_yen(), 3'000);
  EXPECT_EQ(r.free_unused_previous_yen(), 0);
  EXPECT_EQ(r.free_issued_yen(), 2'000);
  EXPECT_EQ(r.free_clawed_back_yen(), 500);
  EXPECT_EQ(r.free_unused_yen(), 1'500);
  // The identities of BaseDateReport's comments.
  EXPECT_EQ(r.paid_recovered_yen(),
            r.paid_used_yen() + r.paid_forfeited_yen() + r.paid_clawed_back_yen());
  EXPECT_EQ(r.paid_unused_yen(), r.paid_unused_previous_yen() + r.paid_issued_yen() -
                                     r.paid_recovered_yen() + r.paid_before_lots_yen());
  EXPECT_EQ(r.free_unused_yen(), r.free_unused_previous_yen() + r.free_issued_yen() -
                                     r.free_used_yen() - r.free_forfeited_yen() -
                                     r.free_clawed_back_yen());

  // The seller's months: May took back 9,500, June's conversion paid 500 of debt.
  pb::GetMonthlyActivityRequest activity;
  activity.set_seller_id(seller);
  activity.set_months(12);
  pb::GetMonthlyActivityResponse months;
  ASSERT_TRUE(Call("ops", &pb::WalletService::Stub::GetMonthlyActivity, activity, &months).ok());
  int64_t clawed_in_may = -1, recovered_in_june = -1, converted_in_june = -1;
  for (const pb::MonthActivity& m : months.months()) {
    if (m.month() == "2026-05") clawed_in_may = m.clawed_back_yen();
    if (m.month() == "2026-06") {
      recovered_in_june = m.debt_recovered_yen();
      converted_in_june = m.converted_yen();
    }
  }
  EXPECT_EQ(clawed_in_may, 9'500);
  EXPECT_EQ(recovered_in_june, 500);
  EXPECT_EQ(converted_in_june, 2'000);

  // ListHistory filters by the new types.
  pb::ListHistoryRequest history;
  history.set_seller_id(seller);
  history.add_types(pb::ENTRY_TYPE_DEBT);
  history.add_types(pb::ENTRY_TYPE_DEBT_RECOVERY);
  pb::ListHistoryResponse entries;
  ASSERT_TRUE(Call("ops", &pb::WalletService::Stub::ListHistory, history, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 2);
  EXPECT_EQ(entries.entries(0).type(), pb::ENTRY_TYPE_DEBT_RECOVERY);
  EXPECT_EQ(entries.entries(0).debt_after_yen(), 0);
  EXPECT_EQ(entries.entries(1).type(), pb::ENTRY_TYPE_DEBT);
  EXPECT_EQ(entries.entries(1).debt_after_yen(), 500);
}

}  // namespace
}  // namespace qcash::testing
