// The seller's monthly statement (the qualified invoice of its ad usage, docs/INVOICES.md), its
// monthly activity (the balance page's chart) and the history's origin words, end to end: the
// qcash-wallet binary with its development-only test clock (QCASH_WALLET_TEST_CLOCK=1), which
// dates every ledger batch, against a real PostgreSQL and Redis. Every figure asserted below is
// computed by hand in the comments; debits take free lots before paid ones, oldest first within
// each, a hold reserves in that order and its capture consumes its reservations in the order
// they were made (ledger.h ConsumedBefore). Each test has a stack of its own and ends with the
// audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/migrate.h"
#include "common/pg.h"
#include "common/proto_time.h"
#include "qcash/wallet/v1/test_clock.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/statements.h"
#include "services/wallet/store.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/wallet/clock_fixture.h"

namespace qcash::wallet {
const std::vector<Migration>& Migrations();
}

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

class StatementsTest : public WalletClockTest {
 protected:
  void SetUp() override { StartWallet("statements_"); }

  // A card voucher (paid). Returns the entry's seq.
  int64_t Charge(const std::string& seller, int64_t yen) {
    pb::CreditRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_amount_yen(yen);
    r.set_source(pb::CREDIT_SOURCE_CHARGE);
    r.set_reference(absl::StrCat("order-", r.idempotency_key()));
    r.set_payment_method("card");
    r.set_price_paid_yen(yen);
    pb::CreditResponse out;
    const grpc::Status s = Call("payment", &pb::WalletService::Stub::Credit, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.result().entry_seq();
  }

  // A points conversion (free Qcash) of the points of `month`.
  int64_t Convert(const std::string& seller, int64_t yen, const std::string& month = "2026-07") {
    pb::CreditRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_amount_yen(yen);
    r.set_source(pb::CREDIT_SOURCE_POINTS_CONVERSION);
    r.set_reference(absl::StrCat("conversion-", r.idempotency_key()));
    r.set_points_month(month);
    pb::CreditResponse out;
    const grpc::Status s = Call("points", &pb::WalletService::Stub::Credit, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.result().entry_seq();
  }

  void ChargeFromQmoney(const std::string& seller, int64_t yen) {
    pb::CreditInternalFundsRequest credit;
    credit.set_seller_id(seller);
    credit.set_idempotency_key(NewKey());
    credit.set_account(pb::FUNDS_ACCOUNT_QMONEY);
    credit.set_amount_yen(yen);
    credit.set_settlement_reference("settlement");
    pb::CreditInternalFundsResponse credited;
    grpc::Status s =
        Call("settlement", &pb::WalletService::Stub::CreditInternalFunds, credit, &credited);
    EXPECT_TRUE(s.ok()) << s.error_message();
    pb::ChargeFromInternalFundsRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_source(pb::FUNDS_ACCOUNT_QMONEY);
    r.set_amount_yen(yen);
    r.set_order_id(absl::StrCat("order-", NewKey()));
    pb::ChargeFromInternalFundsResponse out;
    s = Call("payment", &pb::WalletService::Stub::ChargeFromInternalFunds, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
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

  grpc::Status Statement(const std::string& seller, const std::string& month,
                         pb::GetMonthlyStatementResponse* out, int page_size = 0,
                         const std::string& page_token = "") {
    pb::GetMonthlyStatementRequest r;
    r.set_seller_id(seller);
    r.set_month(month);
    r.set_page_size(page_size);
    r.set_page_token(page_token);
    out->Clear();
    return Call("ops", &pb::WalletService::Stub::GetMonthlyStatement, r, out);
  }

  pb::GetMonthlyStatementResponse StatementOk(const std::string& seller, const std::string& month) {
    pb::GetMonthlyStatementResponse out;
    const grpc::Status s = Statement(seller, month, &out);
    EXPECT_TRUE(s.ok()) << month << ": " << s.error_message();
    return out;
  }

  grpc::Status Activity(const std::string& seller, int months,
                        pb::GetMonthlyActivityResponse* out) {
    pb::GetMonthlyActivityRequest r;
    r.set_seller_id(seller);
    r.set_months(months);
    out->Clear();
    return Call("ops", &pb::WalletService::Stub::GetMonthlyActivity, r, out);
  }

  // The seller's history filtered as a statement is: spends and captures in [from, to), oldest
  // first.
  std::vector<pb::HistoryEntry> AdHistory(const std::string& seller, absl::Time from,
                                          absl::Time to) {
    std::vector<pb::HistoryEntry> out;
    pb::ListHistoryRequest r;
    r.set_seller_id(seller);
    r.add_types(pb::ENTRY_TYPE_AD_SPEND);
    r.add_types(pb::ENTRY_TYPE_AD_CAPTURE);
    SetTimestamp(from, r.mutable_from());
    SetTimestamp(to, r.mutable_to());
    for (int pages = 0; pages < 100; ++pages) {
      pb::ListHistoryResponse page;
      const grpc::Status s = Call("ops", &pb::WalletService::Stub::ListHistory, r, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const pb::HistoryEntry& e : page.entries()) out.insert(out.begin(), e);
      if (!s.ok() || page.next_page_token().empty()) break;
      r.set_page_token(page.next_page_token());
    }
    return out;
  }

  std::vector<pb::HistoryEntry> History(const std::string& seller) {
    pb::ListHistoryRequest r;
    r.set_seller_id(seller);
    pb::ListHistoryResponse out;
    const grpc::Status s = Call("ops", &pb::WalletService::Stub::ListHistory, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {out.entries().rbegin(), out.entries().rend()};  // oldest first
  }
};

std::string Text(const google::protobuf::Message& m) { return m.ShortDebugString(); }

// The month's totals (everything but the page) as text, to compare pages.
std::string Totals(pb::GetMonthlyStatementResponse r) {
  r.clear_lines();
  r.clear_next_page_token();
  return Text(r);
}

const pb::StatementProductTotal* ProductTotal(const pb::GetMonthlyStatementResponse& r,
                                              pb::AdProduct product) {
  for (const pb::StatementProductTotal& t : r.products()) {
    if (t.product() == product) return &t;
  }
  return nullptr;
}

constexpr absl::Duration kMicro = absl::Microseconds(1);

// The fixture (seller S; every time JST):
//   08-20 10:00  charge 10,000 (card, paid lot P); conversion 300 (free lot F1)
//   08-31 20:00  hold 2,000 GROUP_BUYING "application-1": reserves F1 300 + P 1,700 (free
//                first)                                    available 8,300, all of it paid
//   08-31 23:59:59.999999  spend 1,000 TIME_SALE "b-aug" = 1,000 paid         (August's last)
//   09-01 00:00:00         spend 500 TIME_SALE "b-sep-1" = 500 paid       (September's first)
//   09-01 10:00  capture 1,500 of the hold: consumes its reservations in order, F1 300 then
//                P 1,200; the remainder 500 (P) returns              (September, not August)
//   09-05 09:00  conversion 400 (free lot F2); spend 1,099 PLUS_KEYWORD "b-sep-2" = F2 400
//                free + 699 paid (paid and free within one spend)
//   09-30 23:59:59.999999  spend 100 PLUS_KEYWORD "b-sep-3" = 100 paid   (September's last)
//   10-01 00:00:00         spend 200 TIME_SALE "b-oct-1" = 200 paid        (October's first)
//
// August:    1 line, total 1,000, free 0, taxable 1,000, tax floor(1,000 * 10 / 110) = 90. The
//            hold (08-31) is on no statement; it counts when captured.
// September: lines in journal order
//              spend 500 TIME_SALE       paid   500  free   0
//              capture 1,500 GROUP_BUYING paid 1,200  free 300
//              spend 1,099 PLUS_KEYWORD  paid   699  free 400
//              spend 100 PLUS_KEYWORD    paid   100  free   0
//            total 3,199, free 700, taxable 2,499, tax floor(24,990 / 110) = floor(227.18) = 227.
//            Tax per line rounded down and summed would be 45 + 109 + 63 + 9 = 226: rounding
//            once per invoice (the rule) differs by a yen.
//            products: GROUP_BUYING 1 line 1,500 (1,200 + 300), PLUS_KEYWORD 2 lines 1,199
//            (799 + 400), TIME_SALE 1 line 500 (500 + 0), in AdProduct order (1, 2, 4).
// Seller T (tax at the rounding edge):
//   08-20 10:00 charge 5,000; 09-10 12:00 spend 1,099 PREMIUM_DISPLAY; 10-01 09:00 spend 1,100
//   September taxable 1,099 -> tax 99 (99.9 rounded down); October 1,100 -> tax 100.
TEST_F(StatementsTest, MonthlyStatementMatchesHandComputedFigures) {
  const std::string s = NewSeller(), t = NewSeller();
  At(Jst(2026, 8, 20, 10));
  Open(s);
  Open(t);
  Charge(s, 10'000);
  Convert(s, 300);
  Charge(t, 5'000);
  At(Jst(2026, 8, 31, 20));
  const int64_t hold = Hold(s, 2'000, pb::AD_PRODUCT_GROUP_BUYING, "application-1");
  At(Jst(2026, 9, 1, 0) - kMicro);
  const int64_t aug_spend = Spend(s, 1'000, pb::AD_PRODUCT_TIME_SALE, "b-aug");

  // August is the current month: preliminary (not closed), and September has not begun.
  pb::GetMonthlyStatementResponse st;
  ASSERT_TRUE(Statement(s, "2026-08", &st).ok());
  EXPECT_FALSE(st.closed());
  EXPECT_EQ(st.line_count(), 1);
  EXPECT_GRPC_ERROR(Statement(s, "2026-09", &st), INVALID_ARGUMENT, "MONTH_IN_FUTURE");

  At(Jst(2026, 9, 1, 0));
  const int64_t sep_first = Spend(s, 500, pb::AD_PRODUCT_TIME_SALE, "b-sep-1");
  At(Jst(2026, 9, 1, 10));
  const int64_t capture = Capture(s, hold, 1'500);
  At(Jst(2026, 9, 5, 9));
  Convert(s, 400);
  const int64_t mixed = Spend(s, 1'099, pb::AD_PRODUCT_PLUS_KEYWORD, "b-sep-2");
  At(Jst(2026, 9, 10, 12));
  const int64_t t_sep = Spend(t, 1'099, pb::AD_PRODUCT_PREMIUM_DISPLAY, "t-sep");
  At(Jst(2026, 10, 1, 0) - kMicro);
  const int64_t sep_last = Spend(s, 100, pb::AD_PRODUCT_PLUS_KEYWORD, "b-sep-3");
  At(Jst(2026, 10, 1, 0));
  Spend(s, 200, pb::AD_PRODUCT_TIME_SALE, "b-oct-1");

  // Within ten minutes of the month's end an entry of it may still be committing: not closed.
  At(Jst(2026, 10, 1, 0, 9, 59));
  EXPECT_FALSE(StatementOk(s, "2026-09").closed());
  EXPECT_TRUE(StatementOk(s, "2026-08").closed());
  At(Jst(2026, 10, 1, 0, 10, 0));

  // August: the spend at 23:59:59.999999 only; neither the hold nor its capture.
  const pb::GetMonthlyStatementResponse aug = StatementOk(s, "2026-08");
  EXPECT_EQ(aug.month(), "2026-08");
  EXPECT_EQ(TimeOf(aug.period_start()), Jst(2026, 8, 1, 0));
  EXPECT_EQ(TimeOf(aug.period_end()), Jst(2026, 9, 1, 0));
  EXPECT_TRUE(aug.closed());
  ASSERT_EQ(aug.lines_size(), 1);
  EXPECT_EQ(aug.lines(0).entry_seq(), aug_spend);
  EXPECT_EQ(TimeOf(aug.lines(0).created_at()), Jst(2026, 9, 1, 0) - kMicro);
  EXPECT_EQ(aug.line_count(), 1);
  EXPECT_EQ(aug.total_yen(), 1'000);
  EXPECT_EQ(aug.free_yen(), 0);
  EXPECT_EQ(aug.taxable_yen(), 1'000);
  EXPECT_EQ(aug.tax_rate_percent(), 10);
  EXPECT_EQ(aug.tax_yen(), 90);

  // September, closed.
  const pb::GetMonthlyStatementResponse sep = StatementOk(s, "2026-09");
  EXPECT_TRUE(sep.closed());
  EXPECT_TRUE(sep.next_page_token().empty());
  ASSERT_EQ(sep.lines_size(), 4);
  struct Want {
    int64_t seq;
    pb::EntryType type;
    pb::AdProduct product;
    const char* reference;
    int64_t amount, paid, free;
  };
  const Want want[] = {
      {sep_first, pb::ENTRY_TYPE_AD_SPEND, pb::AD_PRODUCT_TIME_SALE, "b-sep-1", 500, 500, 0},
      {capture, pb::ENTRY_TYPE_AD_CAPTURE, pb::AD_PRODUCT_GROUP_BUYING, "application-1", 1'500,
       1'200, 300},
      {mixed, pb::ENTRY_TYPE_AD_SPEND, pb::AD_PRODUCT_PLUS_KEYWORD, "b-sep-2", 1'099, 699, 400},
      {sep_last, pb::ENTRY_TYPE_AD_SPEND, pb::AD_PRODUCT_PLUS_KEYWORD, "b-sep-3", 100, 100, 0},
  };
  for (int i = 0; i < 4; ++i) {
    const pb::StatementLine& line = sep.lines(i);
    EXPECT_EQ(line.entry_seq(), want[i].seq) << i;
    EXPECT_EQ(line.type(), want[i].type) << i;
    EXPECT_EQ(line.product(), want[i].product) << i;
    EXPECT_EQ(line.reference(), want[i].reference) << i;
    EXPECT_EQ(line.amount_yen(), want[i].amount) << i;
    EXPECT_EQ(line.paid_yen(), want[i].paid) << i;
    EXPECT_EQ(line.free_yen(), want[i].free) << i;
  }
  EXPECT_EQ(TimeOf(sep.lines(0).created_at()), Jst(2026, 9, 1, 0));
  EXPECT_EQ(TimeOf(sep.lines(3).created_at()), Jst(2026, 10, 1, 0) - kMicro);
  EXPECT_EQ(sep.line_count(), 4);
  EXPECT_EQ(sep.total_yen(), 3'199);
  EXPECT_EQ(sep.free_yen(), 700);
  EXPECT_EQ(sep.taxable_yen(), 2'499);
  EXPECT_EQ(sep.tax_yen(), 227);
  int64_t per_line_tax = 0;
  for (const pb::StatementLine& line : sep.lines()) per_line_tax += line.paid_yen() * 10 / 110;
  EXPECT_EQ(per_line_tax, 226) << "the fixture shows why the tax is rounded once per invoice";
  ASSERT_EQ(sep.products_size(), 3);
  EXPECT_EQ(sep.products(0).product(), pb::AD_PRODUCT_GROUP_BUYING);
  EXPECT_EQ(sep.products(1).product(), pb::AD_PRODUCT_PLUS_KEYWORD);
  EXPECT_EQ(sep.products(2).product(), pb::AD_PRODUCT_TIME_SALE);
  EXPECT_EQ(Text(sep.products(0)),
            "product: AD_PRODUCT_GROUP_BUYING lines: 1 amount_yen: 1500 paid_yen: 1200 "
            "free_yen: 300");
  EXPECT_EQ(Text(sep.products(1)),
            "product: AD_PRODUCT_PLUS_KEYWORD lines: 2 amount_yen: 1199 paid_yen: 799 "
            "free_yen: 400");
  EXPECT_EQ(Text(sep.products(2)),
            "product: AD_PRODUCT_TIME_SALE lines: 1 amount_yen: 500 paid_yen: 500");

  // Seller T at the rounding edge: 1,099 -> 99, 1,100 -> 100.
  const pb::GetMonthlyStatementResponse t_sept = StatementOk(t, "2026-09");
  ASSERT_EQ(t_sept.lines_size(), 1);
  EXPECT_EQ(t_sept.lines(0).entry_seq(), t_sep);
  EXPECT_EQ(t_sept.taxable_yen(), 1'099);
  EXPECT_EQ(t_sept.tax_yen(), 99);

  // The statement is the history filtered to spends and captures of the period: never
  // disagreeing with it.
  for (const pb::GetMonthlyStatementResponse* m : {&aug, &sep}) {
    const std::vector<pb::HistoryEntry> history =
        AdHistory(s, *TimeOf(m->period_start()), *TimeOf(m->period_end()));
    ASSERT_EQ(static_cast<int>(history.size()), m->lines_size()) << m->month();
    for (int i = 0; i < m->lines_size(); ++i) {
      const pb::HistoryEntry& e = history[static_cast<size_t>(i)];
      const pb::StatementLine& line = m->lines(i);
      EXPECT_EQ(line.entry_seq(), e.seq());
      EXPECT_EQ(line.type(), e.type());
      EXPECT_EQ(line.product(), e.product());
      EXPECT_EQ(line.reference(), e.reference());
      EXPECT_EQ(line.amount_yen(), e.amount_yen());
      EXPECT_EQ(line.paid_yen(), e.paid_yen());
      EXPECT_EQ(Text(line.created_at()), Text(e.created_at()));
    }
  }

  // Paging by two: the same lines in the same order, and the same totals on every page.
  {
    std::vector<std::string> lines;
    std::string token;
    int pages = 0;
    do {
      pb::GetMonthlyStatementResponse page;
      ASSERT_TRUE(Statement(s, "2026-09", &page, 2, token).ok());
      EXPECT_LE(page.lines_size(), 2);
      EXPECT_EQ(Totals(page), Totals(sep));
      for (const pb::StatementLine& line : page.lines()) lines.push_back(Text(line));
      token = page.next_page_token();
      ++pages;
    } while (!token.empty() && pages < 10);
    EXPECT_EQ(pages, 2);
    std::vector<std::string> whole;
    for (const pb::StatementLine& line : sep.lines()) whole.push_back(Text(line));
    EXPECT_EQ(lines, whole);
    // A page token names its month: another month's is refused.
    pb::GetMonthlyStatementResponse first;
    ASSERT_TRUE(Statement(s, "2026-09", &first, 2).ok());
    ASSERT_FALSE(first.next_page_token().empty());
    pb::GetMonthlyStatementResponse other;
    EXPECT_GRPC_ERROR(Statement(s, "2026-08", &other, 2, first.next_page_token()), INVALID_ARGUMENT,
                      "INVALID_PAGE_TOKEN");
  }

  // A closed month answers the same again, and after later activity (October).
  const std::string sep_text = Text(sep);
  EXPECT_EQ(Text(StatementOk(s, "2026-09")), sep_text);
  At(Jst(2026, 10, 1, 9));
  Spend(t, 1'100, pb::AD_PRODUCT_PREMIUM_DISPLAY, "t-oct");
  Spend(s, 300, pb::AD_PRODUCT_TIME_SALE, "b-oct-2");
  EXPECT_EQ(Text(StatementOk(s, "2026-09")), sep_text);
  EXPECT_EQ(Text(StatementOk(s, "2026-08")), Text(aug));
  // October is the current month: preliminary. T's: 1,100 -> 100.
  const pb::GetMonthlyStatementResponse t_oct = StatementOk(t, "2026-10");
  EXPECT_FALSE(t_oct.closed());
  EXPECT_EQ(t_oct.taxable_yen(), 1'100);
  EXPECT_EQ(t_oct.tax_yen(), 100);
  // S in October so far: 200 + 300, all paid: tax floor(5,000 / 110) = 45.
  const pb::GetMonthlyStatementResponse s_oct = StatementOk(s, "2026-10");
  EXPECT_FALSE(s_oct.closed());
  EXPECT_EQ(s_oct.total_yen(), 500);
  EXPECT_EQ(s_oct.tax_yen(), 45);

  // The activity of the last 12 complete months and October so far, oldest first: 2025-10 ..
  // 2026-10, every month present.
  //   2026-08  charged 10,000, converted 300, spent TIME_SALE 1,000
  //   2026-09  converted 400, spent GROUP_BUYING 1,500, PLUS_KEYWORD 1,199, TIME_SALE 500
  //   2026-10  spent TIME_SALE 500 (partial)
  //   the rest zero
  pb::GetMonthlyActivityResponse activity;
  ASSERT_TRUE(Activity(s, 0, &activity).ok());
  ASSERT_EQ(activity.months_size(), 13);
  EXPECT_EQ(activity.months(0).month(), "2025-10");
  EXPECT_EQ(activity.months(12).month(), "2026-10");
  for (int i = 0; i < 13; ++i) {
    const pb::MonthActivity& m = activity.months(i);
    EXPECT_EQ(m.partial(), i == 12) << m.month();
    EXPECT_EQ(m.forfeited_yen(), 0) << m.month();
    if (i < 10) {
      EXPECT_EQ(Text(m), absl::StrCat("month: \"", m.month(), "\"")) << "empty month";
    }
    // Per product, the statement of the month.
    const pb::GetMonthlyStatementResponse month = StatementOk(s, m.month());
    int64_t spent = 0;
    for (const pb::ProductAmount& p : m.spent()) {
      const pb::StatementProductTotal* total = ProductTotal(month, p.product());
      ASSERT_NE(total, nullptr) << m.month() << " " << pb::AdProduct_Name(p.product());
      EXPECT_EQ(p.amount_yen(), total->amount_yen()) << m.month();
      spent += p.amount_yen();
    }
    EXPECT_EQ(m.spent_size(), month.products_size()) << m.month();
    EXPECT_EQ(m.spent_yen(), spent) << m.month();
    EXPECT_EQ(m.spent_yen(), month.total_yen()) << m.month();
  }
  EXPECT_EQ(activity.months(10).month(), "2026-08");
  EXPECT_EQ(activity.months(10).charged_yen(), 10'000);
  EXPECT_EQ(activity.months(10).converted_yen(), 300);
  EXPECT_EQ(activity.months(10).spent_yen(), 1'000);
  EXPECT_EQ(activity.months(11).month(), "2026-09");
  EXPECT_EQ(activity.months(11).charged_yen(), 0);
  EXPECT_EQ(activity.months(11).converted_yen(), 400);
  EXPECT_EQ(activity.months(11).spent_yen(), 3'199);
  ASSERT_EQ(activity.months(11).spent_size(), 3);
  EXPECT_EQ(activity.months(11).spent(0).product(), pb::AD_PRODUCT_GROUP_BUYING);
  EXPECT_EQ(activity.months(11).spent(1).product(), pb::AD_PRODUCT_PLUS_KEYWORD);
  EXPECT_EQ(activity.months(11).spent(1).amount_yen(), 1'199);
  EXPECT_EQ(activity.months(11).spent(2).product(), pb::AD_PRODUCT_TIME_SALE);
  EXPECT_EQ(activity.months(12).spent_yen(), 500);
  // Two complete months and the current one.
  ASSERT_TRUE(Activity(s, 2, &activity).ok());
  ASSERT_EQ(activity.months_size(), 3);
  EXPECT_EQ(activity.months(0).month(), "2026-08");
  EXPECT_TRUE(activity.months(2).partial());
}

// Charged counts vouchers of every method (card and Qmoney), forfeited what a shop exit took:
//   07-10 10:00  U charge 1,000 (card); Qmoney 500 credited, then charged into Qcash (paid)
//   07-20 10:00  U spends 300 TIME_SALE; the shop closes: forfeits 1,200
//   => July: charged 1,500, spent 300, forfeited 1,200; seen from 2026-09-15 with months = 3:
//      2026-06 (empty), 2026-07, 2026-08 (empty), 2026-09 (partial, empty).
TEST_F(StatementsTest, ActivityCountsEveryChargeAndTheForfeiture) {
  const std::string u = NewSeller();
  At(Jst(2026, 7, 10, 10));
  Open(u);
  Charge(u, 1'000);
  ChargeFromQmoney(u, 500);
  At(Jst(2026, 7, 20, 10));
  Spend(u, 300, pb::AD_PRODUCT_TIME_SALE, "u-jul");
  Close(u);
  At(Jst(2026, 9, 15, 12));
  pb::GetMonthlyActivityResponse activity;
  ASSERT_TRUE(Activity(u, 3, &activity).ok());
  ASSERT_EQ(activity.months_size(), 4);
  EXPECT_EQ(Text(activity.months(0)), "month: \"2026-06\"");
  EXPECT_EQ(Text(activity.months(1)),
            "month: \"2026-07\" charged_yen: 1500 spent_yen: 300 spent { product: "
            "AD_PRODUCT_TIME_SALE amount_yen: 300 } forfeited_yen: 1200");
  EXPECT_EQ(Text(activity.months(2)), "month: \"2026-08\"");
  EXPECT_EQ(Text(activity.months(3)), "month: \"2026-09\" partial: true");
  // A closed shop's statements still answer (its wallet exists, closed).
  const pb::GetMonthlyStatementResponse jul = StatementOk(u, "2026-07");
  EXPECT_EQ(jul.total_yen(), 300);
  EXPECT_EQ(jul.tax_yen(), 27);
  // An empty month of an existing wallet: zeros, no lines.
  const pb::GetMonthlyStatementResponse jun = StatementOk(u, "2026-06");
  EXPECT_EQ(jun.line_count(), 0);
  EXPECT_EQ(jun.tax_yen(), 0);
  EXPECT_TRUE(jun.closed());
}

TEST_F(StatementsTest, RequestsAreChecked) {
  const std::string s = NewSeller();
  At(Jst(2026, 9, 15, 12));
  Open(s);
  pb::GetMonthlyStatementResponse st;
  for (const char* month : {"", "2026-9", "2026-13", "2026-00", "1999-12", "3000-01", "2026-09-01",
                            "2026/09", "+026-09", "２０２６-09"}) {
    SCOPED_TRACE(month);
    EXPECT_GRPC_ERROR(Statement(s, month, &st), INVALID_ARGUMENT, "INVALID_MONTH");
  }
  EXPECT_GRPC_ERROR(Statement(s, "2026-10", &st), INVALID_ARGUMENT, "MONTH_IN_FUTURE");
  EXPECT_GRPC_ERROR(Statement(s, "2999-12", &st), INVALID_ARGUMENT, "MONTH_IN_FUTURE");
  EXPECT_TRUE(Statement(s, "2000-01", &st).ok());
  EXPECT_TRUE(Statement(s, "2026-09", &st).ok());
  EXPECT_FALSE(st.closed());
  EXPECT_GRPC_ERROR(Statement(s, "2026-09", &st, -1), INVALID_ARGUMENT, "INVALID_PAGE_SIZE");
  EXPECT_GRPC_ERROR(Statement(s, "2026-09", &st, 1001), INVALID_ARGUMENT, "INVALID_PAGE_SIZE");
  EXPECT_TRUE(Statement(s, "2026-09", &st, 1000).ok());
  EXPECT_GRPC_ERROR(Statement(s, "2026-09", &st, 0, "not-a-token"), INVALID_ARGUMENT,
                    "INVALID_PAGE_TOKEN");
  EXPECT_GRPC_ERROR(Statement(NewSeller(), "2026-09", &st), NOT_FOUND, "WALLET_NOT_FOUND");

  pb::GetMonthlyActivityResponse activity;
  EXPECT_GRPC_ERROR(Activity(s, -1, &activity), INVALID_ARGUMENT, "INVALID_MONTH");
  EXPECT_GRPC_ERROR(Activity(s, 25, &activity), INVALID_ARGUMENT, "INVALID_MONTH");
  ASSERT_TRUE(Activity(s, 24, &activity).ok());
  EXPECT_EQ(activity.months_size(), 25);
  EXPECT_EQ(activity.months(0).month(), "2024-09");
  EXPECT_GRPC_ERROR(Activity(NewSeller(), 0, &activity), NOT_FOUND, "WALLET_NOT_FOUND");

  // Callers that hold no read permission are refused.
  pb::GetMonthlyStatementRequest r;
  r.set_seller_id(s);
  r.set_month("2026-09");
  EXPECT_GRPC_ERROR(Call("nobody", &pb::WalletService::Stub::GetMonthlyStatement, r, &st),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
}

// The history's words for credits: where each credit's own lot came from.
//   a card charge of a 1,000 voucher paid 1,000; a Qmoney charge of 500; a conversion of 300
//   of the points of 2026-08. Spends carry no origin.
TEST_F(StatementsTest, HistoryNamesTheOriginOfEachCredit) {
  const std::string h = NewSeller();
  At(Jst(2026, 9, 15, 12));
  Open(h);
  const int64_t card = Charge(h, 1'000);
  ChargeFromQmoney(h, 500);
  const int64_t conversion = Convert(h, 300, "2026-08");
  const int64_t spend = Spend(h, 100, pb::AD_PRODUCT_TIME_SALE, "h-sep");
  std::map<int64_t, pb::HistoryEntry> by_seq;
  int64_t qmoney = 0;
  for (const pb::HistoryEntry& e : History(h)) {
    by_seq[e.seq()] = e;
    if (e.type() == pb::ENTRY_TYPE_INTERNAL_FUNDS_CHARGE) qmoney = e.seq();
  }
  ASSERT_NE(qmoney, 0);
  EXPECT_EQ(by_seq[card].origin(), pb::LOT_ORIGIN_VOUCHER);
  EXPECT_EQ(by_seq[card].payment_method(), "card");
  EXPECT_EQ(by_seq[card].price_paid_yen(), 1'000);
  EXPECT_EQ(by_seq[card].points_month(), "");
  EXPECT_EQ(by_seq[qmoney].origin(), pb::LOT_ORIGIN_QMONEY);
  EXPECT_EQ(by_seq[qmoney].payment_method(), "qmoney");
  EXPECT_EQ(by_seq[qmoney].price_paid_yen(), 500);
  EXPECT_EQ(by_seq[conversion].origin(), pb::LOT_ORIGIN_POINTS_CONVERSION);
  EXPECT_EQ(by_seq[conversion].payment_method(), "");
  EXPECT_EQ(by_seq[conversion].points_month(), "2026-08");
  EXPECT_EQ(by_seq[spend].origin(), pb::LOT_ORIGIN_UNSPECIFIED);
  EXPECT_EQ(by_seq[spend].payment_method(), "");
  // The Qmoney credit before the charge moves no Qcash: no lot, no origin.
  for (const auto& [seq, e] : by_seq) {
    if (e.type() == pb::ENTRY_TYPE_INTERNAL_FUNDS_CREDIT) {
      EXPECT_EQ(e.origin(), pb::LOT_ORIGIN_UNSPECIFIED);
    }
  }
}

// Entries written before lots existed name no lots and have paid_yen 0: on the statement all of
// such an entry is paid (as the opening lot that replaced the balance of that time is paid).
// A database at migration 0001 gets 0001-era rows, then every migration, then the ledger
// writes on (as journal_verify_test's migration test does):
//   03-31 10:00  charge 1,000 (before lots)        04-10 10:00  spend 500 TIME_SALE (before lots)
//   => the opening lot 0: 500 paid
//   04-15 10:00  conversion 300 (free lot)         04-20 10:00  spend 400 PLUS_KEYWORD = 300
//                                                               free + 100 paid (lot 0)
//   April: total 900, free 300, taxable 600, tax floor(6,000 / 110) = 54.
TEST_F(StatementsTest, EntriesWrittenBeforeLotsCountPaid) {
  ASSERT_TRUE(stack_->pg->CreateDatabase("before_lots").ok());
  auto conn = PgConnection::Connect(stack_->pg->Url("before_lots"), "statements_test");
  ASSERT_TRUE(conn.ok()) << conn.status();
  PgConnection& db = **conn;
  const std::vector<Migration>& all = wallet::Migrations();
  ASSERT_TRUE(ApplyMigrations(db, {all[0]}).ok());
  ASSERT_TRUE(
      db.ExecScript("INSERT INTO wallets (seller_id, available_yen, held_yen, version, last_seq) "
                    "VALUES ('old-1', 500, 0, 2, 2);"
                    "INSERT INTO journal (seller_id, seq, entry_type, debit_account, "
                    "credit_account, amount_yen, available_after, held_after, qmoney_after, "
                    "pending_after, product, reference, hold_id, caller, created_at) VALUES "
                    "('old-1', 1, 1, 101, 1, 1000, 1000, 0, 0, 0, 0, 'order-old', 0, 'payment', "
                    "'2026-03-31 10:00:00+09'),"
                    "('old-1', 2, 3, 1, 103, 500, 500, 0, 0, 0, 4, 'b-old', 0, 'adbooking', "
                    "'2026-04-10 10:00:00+09')")
          .ok());
  ASSERT_TRUE(ApplyMigrations(db, all).ok());

  wallet::Op convert;
  convert.type = wallet::OpType::kCredit;
  convert.seller_id = "old-1";
  convert.caller = "points";
  convert.idempotency_key = "old-convert";
  convert.amount_yen = 300;
  convert.source = wallet::CreditSource::kPointsConversion;
  convert.reference = "conversion-old";
  convert.points_month = "2026-03";
  ASSERT_TRUE(wallet::ValidateOp(convert).ok());
  convert.request_hash = wallet::RequestHash(convert);
  auto applied = wallet::ApplyBatch(db, {&convert}, Jst(2026, 4, 15, 10));
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ((*applied)[0].outcome, wallet::Outcome::kApplied);
  wallet::Op spend;
  spend.type = wallet::OpType::kSpend;
  spend.seller_id = "old-1";
  spend.caller = "adbooking";
  spend.idempotency_key = "old-spend";
  spend.amount_yen = 400;
  spend.product = wallet::AdProduct::kPlusKeyword;
  spend.reference = "b-new";
  ASSERT_TRUE(wallet::ValidateOp(spend).ok());
  spend.request_hash = wallet::RequestHash(spend);
  applied = wallet::ApplyBatch(db, {&spend}, Jst(2026, 4, 20, 10));
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ((*applied)[0].outcome, wallet::Outcome::kApplied);

  wallet::StatementQuery query;
  query.seller_id = "old-1";
  query.period = *wallet::ParseMonth("2026-04");
  auto st = wallet::LoadMonthlyStatement(db, query, Jst(2026, 5, 1, 1));
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->closed);
  ASSERT_EQ(st->lines.size(), 2u);
  EXPECT_EQ(st->lines[0].entry_seq, 2);
  EXPECT_EQ(st->lines[0].amount_yen, 500);
  EXPECT_EQ(st->lines[0].paid_yen, 500);
  EXPECT_EQ(st->lines[0].free_yen(), 0);
  EXPECT_EQ(st->lines[1].entry_seq, 4);
  EXPECT_EQ(st->lines[1].paid_yen, 100);
  EXPECT_EQ(st->lines[1].free_yen(), 300);
  EXPECT_EQ(st->total_yen, 900);
  EXPECT_EQ(st->free_yen, 300);
  EXPECT_EQ(st->taxable_yen(), 600);
  EXPECT_EQ(st->tax_yen(), 54);

  // The history: the charge before lots has no origin; the conversion names its month.
  wallet::HistoryQuery history;
  history.seller_id = "old-1";
  auto entries = wallet::ListHistory(db, history);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 4u);  // newest first: spend, conversion, spend, charge
  EXPECT_EQ((*entries)[3].origin, wallet::LotOrigin::kNone);
  EXPECT_EQ((*entries)[1].origin, wallet::LotOrigin::kPointsConversion);
  EXPECT_EQ((*entries)[1].points_month, "2026-03");
  EXPECT_EQ((*entries)[0].origin, wallet::LotOrigin::kNone);
}

}  // namespace
}  // namespace qcash::testing
