// The statements without a database: months in JST, when a month is closed, the consumption tax
// rounded down once, and the statement's page tokens. The database side is tested end to end in
// tests/wallet/wallet_statements_test.cc.
#include "services/wallet/statements.h"

#include <gtest/gtest.h>

#include "common/status.h"
#include "services/wallet/books.h"
#include "services/wallet/page_token.h"

namespace qcash::wallet {
namespace {

absl::Time Utc(const char* rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return t;
}

TEST(StatementsTest, AMonthRunsFromMidnightJstOnItsFirstDay) {
  auto p = ParseMonth("2026-09");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Name(), "2026-09");
  // 2026-09-01 00:00 JST = 2026-08-31 15:00 UTC; 2026-10-01 00:00 JST = 2026-09-30 15:00 UTC.
  EXPECT_EQ(p->start, Utc("2026-08-31T15:00:00Z"));
  EXPECT_EQ(p->end, Utc("2026-09-30T15:00:00Z"));
  auto december = ParseMonth("2026-12");
  ASSERT_TRUE(december.ok());
  EXPECT_EQ(december->end, ParseMonth("2027-01")->start);  // over the year's end
  EXPECT_EQ(JstMonthOf(Utc("2026-08-31T14:59:59.999999Z")), absl::CivilMonth(2026, 8));
  EXPECT_EQ(JstMonthOf(Utc("2026-08-31T15:00:00Z")), absl::CivilMonth(2026, 9));
}

TEST(StatementsTest, OnlyYyyyMmOfTheYears2000To2999Parse) {
  for (const char* good : {"2000-01", "2999-12", "2024-02"}) {
    EXPECT_TRUE(ParseMonth(good).ok()) << good;
  }
  for (const char* bad : {"", "2026-9", "2026-13", "2026-00", "1999-12", "3000-01", "2026-09-01",
                          "2026/09", "+026-09", "2026-+9", " 2026-09", "2026-09 ", "26-09"}) {
    const absl::Status s = ParseMonth(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(ReasonOf(s), "INVALID_MONTH") << bad;
  }
}

TEST(StatementsTest, AMonthIsClosedTenMinutesAfterItsEnd) {
  const MonthPeriod p = *ParseMonth("2026-09");
  EXPECT_FALSE(MonthClosed(p, p.end));
  EXPECT_FALSE(MonthClosed(p, p.end + kCheckpointMargin - absl::Microseconds(1)));
  EXPECT_TRUE(MonthClosed(p, p.end + kCheckpointMargin));
}

TEST(StatementsTest, TheTaxIncludedIsRoundedDown) {
  EXPECT_EQ(IncludedConsumptionTax(0), 0);
  EXPECT_EQ(IncludedConsumptionTax(10), 0);      // 0.9
  EXPECT_EQ(IncludedConsumptionTax(11), 1);      // 1
  EXPECT_EQ(IncludedConsumptionTax(1'099), 99);  // 99.9
  EXPECT_EQ(IncludedConsumptionTax(1'100), 100);
  EXPECT_EQ(IncludedConsumptionTax(2'499), 227);  // 227.18
  EXPECT_EQ(IncludedConsumptionTax(110'000'000'000'000), 10'000'000'000'000);
}

TEST(StatementsTest, PageTokensNameTheirMonth) {
  const std::string token = EncodeStatementPageToken("2026-09", 42);
  EXPECT_EQ(*DecodeStatementPageToken(token, "2026-09"), 42);
  EXPECT_EQ(*DecodeStatementPageToken("", "2026-09"), 0);
  for (const std::string& bad :
       {DecodeStatementPageToken(token, "2026-08").status().ToString(),
        DecodeStatementPageToken(EncodeHistoryPageToken(42), "2026-09").status().ToString(),
        DecodeStatementPageToken("bogus", "2026-09").status().ToString()}) {
    EXPECT_NE(bad, "OK");
  }
  EXPECT_EQ(ReasonOf(DecodeStatementPageToken(token, "2026-10").status()), "INVALID_PAGE_TOKEN");
  // And a statement token is not a history token.
  EXPECT_FALSE(DecodeHistoryPageToken(token).ok());
}

}  // namespace
}  // namespace qcash::wallet
