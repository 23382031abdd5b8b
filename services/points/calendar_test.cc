// S2, S3, S5: JST months, days and windows, each checked against UTC instants written out by
// hand (JST = UTC+9 for every date here; the code never assumes it, the tests state it).
#include "services/points/calendar.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace qcash::points {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

class CalendarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = Calendar::Load();
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    calendar_.emplace(*loaded);
  }
  const Calendar& cal() const { return *calendar_; }

 private:
  absl::optional<Calendar> calendar_;
};

// S2: a month's last second and the next month's first, as UTC instants.
TEST_F(CalendarTest, S2MonthOfInstantFollowsJapanTime) {
  // 2024-01-31 23:59:59 JST = 2024-01-31 14:59:59 UTC.
  EXPECT_EQ(cal().MonthOf(Utc(2024, 1, 31, 14, 59, 59)), absl::CivilMonth(2024, 1));
  // 2024-02-01 00:00:00 JST = 2024-01-31 15:00:00 UTC: already February in Japan.
  EXPECT_EQ(cal().MonthOf(Utc(2024, 1, 31, 15, 0, 0)), absl::CivilMonth(2024, 2));
  // New year: 2025-01-01 00:00:00 JST = 2024-12-31 15:00:00 UTC.
  EXPECT_EQ(cal().MonthOf(Utc(2024, 12, 31, 14, 59, 59)), absl::CivilMonth(2024, 12));
  EXPECT_EQ(cal().MonthOf(Utc(2024, 12, 31, 15, 0, 0)), absl::CivilMonth(2025, 1));
  EXPECT_EQ(cal().DayOf(Utc(2019, 6, 30, 15, 0, 0)), absl::CivilDay(2019, 7, 1));
  EXPECT_EQ(cal().DayOf(Utc(2019, 6, 30, 14, 59, 59)), absl::CivilDay(2019, 6, 30));
}

TEST_F(CalendarTest, S3MonthRangeIsTheWholeJapaneseMonth) {
  // Leap February: 2024-02-01 00:00 JST .. 2024-03-01 00:00 JST.
  const TimeRange feb = cal().MonthRange(absl::CivilMonth(2024, 2));
  EXPECT_EQ(feb.start, Utc(2024, 1, 31, 15, 0, 0));
  EXPECT_EQ(feb.end, Utc(2024, 2, 29, 15, 0, 0));
  EXPECT_EQ(feb.end - feb.start, absl::Hours(24 * 29));
  // The last second of the window (2024-02-29 23:59:59 JST) is inside, the next is not.
  EXPECT_LT(Utc(2024, 2, 29, 14, 59, 59), feb.end);
  EXPECT_EQ(cal().MonthOf(Utc(2024, 2, 29, 14, 59, 59)), absl::CivilMonth(2024, 2));
  const TimeRange feb23 = cal().MonthRange(absl::CivilMonth(2023, 2));
  EXPECT_EQ(feb23.end - feb23.start, absl::Hours(24 * 28));
  const TimeRange dec = cal().MonthRange(absl::CivilMonth(2024, 12));
  EXPECT_EQ(dec.start, Utc(2024, 11, 30, 15, 0, 0));
  EXPECT_EQ(dec.end, Utc(2024, 12, 31, 15, 0, 0));
}

TEST_F(CalendarTest, DaysRangeIsInclusiveOfTheLastDay) {
  const TimeRange r = cal().DaysRange({absl::CivilDay(2019, 7, 1), absl::CivilDay(2019, 7, 1)});
  EXPECT_EQ(r.start, Utc(2019, 6, 30, 15, 0, 0));
  EXPECT_EQ(r.end, Utc(2019, 7, 1, 15, 0, 0));
  EXPECT_EQ(cal().StartOf(absl::CivilDay(2024, 3, 1)), Utc(2024, 2, 29, 15, 0, 0));
}

TEST(CalendarFormatTest, MonthsAndNumbers) {
  EXPECT_EQ(FormatMonth(absl::CivilMonth(2024, 1)), "2024-01");
  EXPECT_EQ(MonthNumber(absl::CivilMonth(2024, 12)), 202412);
  EXPECT_EQ(MonthFromNumber(202401), absl::CivilMonth(2024, 1));
  EXPECT_EQ(absl::CivilMonth(2024, 1) - 1, absl::CivilMonth(2023, 12));
  const DayRange feb = DaysOfMonth(absl::CivilMonth(2024, 2));
  EXPECT_EQ(feb.from, absl::CivilDay(2024, 2, 1));
  EXPECT_EQ(feb.to, absl::CivilDay(2024, 2, 29));
}

TEST(CalendarFormatTest, WireMonthsAndDaysAreChecked) {
  EXPECT_TRUE(MakeMonth(2024, 12).ok());
  for (auto [y, m] : {std::pair<int, int>{2024, 0}, {2024, 13}, {0, 1}, {2009, 12}, {10000, 1}}) {
    auto month = MakeMonth(y, m);
    ASSERT_FALSE(month.ok()) << y << "-" << m;
    EXPECT_EQ(ReasonOf(month.status()), "INVALID_MONTH");
  }
  EXPECT_EQ(*MakeDay(2024, 2, 29, "from"), absl::CivilDay(2024, 2, 29));
  // Dates that absl would normalise are refused, not moved.
  for (auto d : {std::array<int, 3>{2023, 2, 29},
                 {2024, 4, 31},
                 {2024, 0, 1},
                 {2024, 1, 0},
                 {2024, 1, 32},
                 {0, 0, 0},
                 {2009, 12, 31}}) {
    auto day = MakeDay(d[0], d[1], d[2], "from");
    ASSERT_FALSE(day.ok()) << d[0] << "-" << d[1] << "-" << d[2];
    EXPECT_EQ(ReasonOf(day.status()), "INVALID_DATE_RANGE");
  }
}

// S5: each view answers only its side of 2019-07-01, and the error names the other view.
TEST(CalendarViewTest, S5RangesAreRoutedToTheirView) {
  const absl::CivilDay june30(2019, 6, 30), july1(2019, 7, 1);
  EXPECT_TRUE(CheckViewRange(View::kCurrent, {july1, july1 + 30}).ok());
  EXPECT_TRUE(CheckViewRange(View::kPast, {june30 - 29, june30}).ok());

  const absl::Status crossing_current = CheckViewRange(View::kCurrent, {june30 - 5, july1 + 5});
  EXPECT_EQ(crossing_current.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(crossing_current), "USE_PAST_SERVICE_POINTS_VIEW");
  EXPECT_NE(crossing_current.message().find("2019-06-30"), absl::string_view::npos);
  EXPECT_NE(crossing_current.message().find("2019-07-01"), absl::string_view::npos);
  EXPECT_EQ(ReasonOf(CheckViewRange(View::kCurrent, {june30, june30})),
            "USE_PAST_SERVICE_POINTS_VIEW");

  const absl::Status crossing_past = CheckViewRange(View::kPast, {june30 - 5, july1 + 5});
  EXPECT_EQ(crossing_past.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(crossing_past), "USE_CURRENT_SERVICE_POINTS_VIEW");
  EXPECT_EQ(ReasonOf(CheckViewRange(View::kPast, {july1, july1})),
            "USE_CURRENT_SERVICE_POINTS_VIEW");
}

TEST(CalendarViewTest, RangesAreProperAndBounded) {
  const absl::CivilDay d(2024, 1, 10);
  EXPECT_EQ(ReasonOf(CheckViewRange(View::kCurrent, {d, d - 1})), "INVALID_DATE_RANGE");
  EXPECT_TRUE(CheckViewRange(View::kCurrent, {d, d + (kDateRangeDaysMax - 1)}).ok());
  EXPECT_EQ(ReasonOf(CheckViewRange(View::kCurrent, {d, d + kDateRangeDaysMax})),
            "INVALID_DATE_RANGE");
}

}  // namespace
}  // namespace qcash::points
