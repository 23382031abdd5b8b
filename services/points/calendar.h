// Japan-time calendar arithmetic for service points (DESIGN.md S2, S3, S5).
//
// Points count per calendar month in Asia/Tokyo. Every month, day and window here is turned
// into half-open ranges of absl::Time instants [start, end) by Abseil's time-zone library with
// the zone data of the machine (Debian's tzdata, /usr/share/zoneinfo), so the database only
// ever compares instants and no code assumes a fixed offset or the absence of DST: if the
// zone's rules said otherwise for some date, the ranges would follow them.
#ifndef QCASH_SERVICES_POINTS_CALENDAR_H_
#define QCASH_SERVICES_POINTS_CALENDAR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace qcash::points {

inline constexpr char kPointsTimeZone[] = "Asia/Tokyo";

// S5: the scoring rules changed on this date (JST). Current views answer dates from it;
// the past service points view (过去的服务积分) answers dates before it.
inline constexpr absl::CivilDay kRuleChangeDay(2019, 7, 1);

// Queries span at most this many days (a leap year), so every scan is bounded.
inline constexpr int64_t kDateRangeDaysMax = 366;

// Dates before this are not accepted anywhere (no upstream system has older events).
inline constexpr absl::CivilDay kEarliestDay(2010, 1, 1);
inline constexpr absl::CivilDay kLatestDay(9999, 12, 31);

// Half-open [start, end) in instants.
struct TimeRange {
  absl::Time start;
  absl::Time end;
};

// Which of the two S5 views a query is for.
enum class View {
  kCurrent,  // dates from 2019-07-01
  kPast,     // 过去的服务积分: dates up to 2019-06-30
};

// An inclusive range of JST dates, as the seller picks them.
struct DayRange {
  absl::CivilDay from;
  absl::CivilDay to;
};

// The Asia/Tokyo calendar. Copyable and cheap; constant after construction.
class Calendar {
 public:
  // Loads Asia/Tokyo. Errors: INTERNAL (TIME_ZONE_DATA_MISSING) when the zone data is not on
  // the machine (install Debian's `tzdata`).
  static absl::StatusOr<Calendar> Load();

  // The JST calendar month `t` falls in.
  absl::CivilMonth MonthOf(absl::Time t) const;
  // The JST date `t` falls in.
  absl::CivilDay DayOf(absl::Time t) const;
  // The instants of `month`: from the 1st 00:00:00 JST to the next month's 1st 00:00:00 JST.
  TimeRange MonthRange(absl::CivilMonth month) const;
  // The instants of the inclusive JST date range.
  TimeRange DaysRange(const DayRange& days) const;
  // The instant `day` starts (00:00:00 JST).
  absl::Time StartOf(absl::CivilDay day) const;

 private:
  explicit Calendar(absl::TimeZone zone) : zone_(zone) {}
  absl::TimeZone zone_;
};

// A month as "YYYY-MM" (the form in wallet keys and conversion ids).
std::string FormatMonth(absl::CivilMonth month);

// A month's number, e.g. 202401, as stored in the database.
int64_t MonthNumber(absl::CivilMonth month);
absl::CivilMonth MonthFromNumber(int64_t number);

// Checks a (year, month) from the wire. Errors: INVALID_ARGUMENT (INVALID_MONTH).
absl::StatusOr<absl::CivilMonth> MakeMonth(int64_t year, int64_t month);

// Checks a (year, month, day) from the wire: a real date between 2010-01-01 and 9999-12-31.
// Errors: INVALID_ARGUMENT (INVALID_DATE_RANGE) naming `what` ("from", "to").
absl::StatusOr<absl::CivilDay> MakeDay(int64_t year, int64_t month, int64_t day,
                                       absl::string_view what);

// The days of `month`, 1st to last.
DayRange DaysOfMonth(absl::CivilMonth month);

// S5: checks that `days` is a proper range (from <= to, at most kDateRangeDaysMax days) that
// `view` answers. A range touching the other side of 2019-07-01 fails INVALID_ARGUMENT with
// the reason naming the view that answers it: USE_PAST_SERVICE_POINTS_VIEW (current view,
// dates before 2019-07-01) or USE_CURRENT_SERVICE_POINTS_VIEW (past view, dates from
// 2019-07-01). Errors: INVALID_ARGUMENT (INVALID_DATE_RANGE, and those two).
absl::Status CheckViewRange(View view, const DayRange& days);

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_CALENDAR_H_
