// The issuer's books without a database: base dates, their periods in JST, checkpoint hours,
// and the report's arithmetic (threshold, deposit rounded up). The database side is tested end
// to end in tests/wallet/books_test.cc.
#include "services/wallet/books.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace qcash::wallet {
namespace {

absl::Time Utc(const char* rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return t;
}

TEST(BooksTest, SeptemberBaseDateClosesTheHalfYearFromApril) {
  auto p = ParseBaseDate("2026-09-30");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->base_date, absl::CivilDay(2026, 9, 30));
  // 2026-04-01 00:00 JST = 2026-03-31 15:00 UTC; 2026-10-01 00:00 JST = 2026-09-30 15:00 UTC.
  EXPECT_EQ(p->start, Utc("2026-03-31T15:00:00Z"));
  EXPECT_EQ(p->end, Utc("2026-09-30T15:00:00Z"));
}

TEST(BooksTest, MarchBaseDateClosesTheHalfYearFromTheOctoberBefore) {
  auto p = ParseBaseDate("2027-03-31");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->start, Utc("2026-09-30T15:00:00Z"));  // the September period's end
  EXPECT_EQ(p->end, Utc("2027-03-31T15:00:00Z"));
  // Consecutive periods meet exactly: nothing falls between them or in both.
  EXPECT_EQ(ParseBaseDate("2026-09-30")->end, p->start);
  EXPECT_EQ(p->end, ParseBaseDate("2027-09-30")->start);
}

TEST(BooksTest, OnlyTheTwoBaseDatesParse) {
  for (const char* bad :
       {"", "2026-09-29", "2026-03-30", "2026-12-31", "2026-9-30", "26-09-30", "2026/09/30",
        "1999-09-30", "3000-03-31", "+026-09-30", "2026-09-30x", "abcd-09-30"}) {
    const auto p = ParseBaseDate(bad);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(ReasonOf(p.status()), "INVALID_BASE_DATE") << bad;
  }
}

TEST(BooksTest, ABaseDateIsPastOnlyOnceTheMarginHasPassed) {
  const BasePeriod p = *ParseBaseDate("2026-09-30");
  const absl::Status early = CheckBaseDatePast(p, p.end + kCheckpointMargin - absl::Seconds(1));
  EXPECT_EQ(early.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(early), "BASE_DATE_NOT_PAST");
  EXPECT_EQ(ReasonOf(CheckBaseDatePast(p, p.start)), "BASE_DATE_NOT_PAST");
  EXPECT_TRUE(CheckBaseDatePast(p, p.end + kCheckpointMargin).ok());
}

TEST(BooksTest, CheckpointHoursAreWholeJstHours) {
  // JST is UTC+9: whole hours coincide with UTC's.
  EXPECT_EQ(FloorToJstHour(Utc("2026-09-30T14:59:59.999999Z")), Utc("2026-09-30T14:00:00Z"));
  EXPECT_EQ(FloorToJstHour(Utc("2026-09-30T15:00:00Z")), Utc("2026-09-30T15:00:00Z"));
  EXPECT_EQ(CeilToJstHour(Utc("2026-09-30T14:00:00.000001Z")), Utc("2026-09-30T15:00:00Z"));
  EXPECT_EQ(CeilToJstHour(Utc("2026-09-30T15:00:00Z")), Utc("2026-09-30T15:00:00Z"));
}

TEST(BooksTest, ReportSubtractsTheFiguresAtTheTwoEnds) {
  BooksFigures s, e;
  // Before the period: 5,000 paid issued, 1,000 of it used; 300 free issued, 100 used.
  s.paid_issued_yen = 5'000;
  s.paid_used_yen = 1'000;
  s.free_issued_yen = 300;
  s.free_used_yen = 100;
  s.seller_available_yen = 4'200;  // (5,000 - 1,000) + (300 - 100)
  // By the end: +10,000 paid issued, +2,500 paid used, +500 paid forfeited; +200 free issued,
  // +50 free forfeited.
  e = s;
  e.paid_issued_yen += 10'000;
  e.paid_used_yen += 2'500;
  e.paid_forfeited_yen += 500;
  e.free_issued_yen += 200;
  e.free_forfeited_yen += 50;
  e.seller_available_yen = 4'200 + 10'000 - 2'500 - 500 + 200 - 50;  // 11,350
  const BaseDateReport r = MakeBaseDateReport(*ParseBaseDate("2026-09-30"), s, e);
  EXPECT_EQ(r.paid_unused_previous_yen, 4'000);
  EXPECT_EQ(r.paid_issued_yen, 10'000);
  EXPECT_EQ(r.paid_used_yen, 2'500);
  EXPECT_EQ(r.paid_forfeited_yen, 500);
  EXPECT_EQ(r.paid_recovered_yen, 3'000);
  EXPECT_EQ(r.paid_unused_yen, 11'000);  // 4,000 + 10,000 - 3,000
  EXPECT_EQ(r.free_unused_previous_yen, 200);
  EXPECT_EQ(r.free_issued_yen, 200);
  EXPECT_EQ(r.free_used_yen, 0);
  EXPECT_EQ(r.free_forfeited_yen, 50);
  EXPECT_EQ(r.free_unused_yen, 350);
  EXPECT_FALSE(r.above_threshold);
  EXPECT_EQ(r.deposit_required_yen, 0);
}

TEST(BooksTest, EntriesFromBeforeLotsCountAsPaidAndKeepTheIdentityExact) {
  // A wallet of before lots: 1,000 credited by entries that name no lots; in the period, 500
  // more by such entries (before the migration), then a 2,000 voucher and a 300 spend.
  BooksFigures s, e;
  s.before_lots_yen = 1'000;
  s.seller_available_yen = 1'000;
  e.before_lots_yen = 1'500;
  e.paid_issued_yen = 2'000;
  e.paid_used_yen = 300;
  e.seller_available_yen = 1'500 + 2'000 - 300;
  const BaseDateReport r = MakeBaseDateReport(*ParseBaseDate("2026-03-31"), s, e);
  EXPECT_EQ(r.paid_unused_previous_yen, 1'000);
  EXPECT_EQ(r.paid_before_lots_yen, 500);
  EXPECT_EQ(r.paid_issued_yen, 2'000);  // the opening lot is never issued
  EXPECT_EQ(r.paid_unused_yen, 3'200);
  EXPECT_EQ(r.paid_unused_yen, r.paid_unused_previous_yen + r.paid_issued_yen -
                                   r.paid_recovered_yen + r.paid_before_lots_yen);
}

TEST(BooksTest, DepositIsHalfRoundedUpAboveTenMillionOnly) {
  BooksFigures e;
  const BasePeriod p = *ParseBaseDate("2026-09-30");
  e.seller_available_yen = 10'000'000;  // at the threshold: not above
  EXPECT_FALSE(MakeBaseDateReport(p, {}, e).above_threshold);
  EXPECT_EQ(MakeBaseDateReport(p, {}, e).deposit_required_yen, 0);
  e.seller_available_yen = 10'000'001;  // odd: half is 5,000,000.5, rounded up
  EXPECT_TRUE(MakeBaseDateReport(p, {}, e).above_threshold);
  EXPECT_EQ(MakeBaseDateReport(p, {}, e).deposit_required_yen, 5'000'001);
  e.seller_held_yen = 1;  // held is unused too: 10,000,002, even
  EXPECT_EQ(MakeBaseDateReport(p, {}, e).deposit_required_yen, 5'000'001);
  e.free_issued_yen = 3;  // free Qcash is not a prepaid payment instrument: 9,999,999 paid
  EXPECT_FALSE(MakeBaseDateReport(p, {}, e).above_threshold);
}

}  // namespace
}  // namespace qcash::wallet
