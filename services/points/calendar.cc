#include "services/points/calendar.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"

namespace qcash::points {

absl::StatusOr<Calendar> Calendar::Load() {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(kPointsTimeZone, &zone)) {
    return Internal(points::v1::TIME_ZONE_DATA_MISSING,
                    absl::StrCat("cannot load the time zone ", kPointsTimeZone,
                                 "; install the zone data (Debian package tzdata)"));
  }
  return Calendar(zone);
}

absl::CivilMonth Calendar::MonthOf(absl::Time t) const {
  return absl::CivilMonth(absl::ToCivilSecond(t, zone_));
}

absl::CivilDay Calendar::DayOf(absl::Time t) const {
  return absl::CivilDay(absl::ToCivilSecond(t, zone_));
}

absl::Time Calendar::StartOf(absl::CivilDay day) const {
  // The first instant of the day: if a zone ever skipped midnight, the day starts at the
  // transition, which is what `trans` of a skipped civil time gives.
  const absl::TimeZone::TimeInfo info = zone_.At(absl::CivilSecond(day));
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

TimeRange Calendar::MonthRange(absl::CivilMonth month) const {
  return {StartOf(absl::CivilDay(month)), StartOf(absl::CivilDay(month + 1))};
}

TimeRange Calendar::DaysRange(const DayRange& days) const {
  return {StartOf(days.from), StartOf(days.to + 1)};
}

std::string FormatMonth(absl::CivilMonth month) {
  return absl::StrFormat("%04d-%02d", month.year(), month.month());
}

int64_t MonthNumber(absl::CivilMonth month) { return month.year() * 100 + month.month(); }

absl::CivilMonth MonthFromNumber(int64_t number) {
  return absl::CivilMonth(number / 100, static_cast<int>(number % 100));
}

absl::StatusOr<absl::CivilMonth> MakeMonth(int64_t year, int64_t month) {
  if (year < kEarliestDay.year() || year > kLatestDay.year() || month < 1 || month > 12) {
    return InvalidArgument(
        points::v1::INVALID_MONTH,
        absl::StrCat("a month needs a year in ", kEarliestDay.year(), "..", kLatestDay.year(),
                     " and a month in 1..12, got ", year, "-", month));
  }
  return absl::CivilMonth(year, static_cast<int>(month));
}

absl::StatusOr<absl::CivilDay> MakeDay(int64_t year, int64_t month, int64_t day,
                                       absl::string_view what) {
  // CivilDay normalises 2023-02-30 to 2023-03-02; a date is real when nothing moved.
  const bool in_bounds = year >= kEarliestDay.year() && year <= kLatestDay.year() && month >= 1 &&
                         month <= 12 && day >= 1 && day <= 31;
  const absl::CivilDay civil(in_bounds ? year : 2000, static_cast<int>(in_bounds ? month : 1),
                             static_cast<int>(in_bounds ? day : 1));
  if (!in_bounds || civil.month() != month || civil.day() != day || civil < kEarliestDay) {
    return InvalidArgument(
        points::v1::INVALID_DATE_RANGE,
        absl::StrCat("`", what, "` is not a date between ", absl::FormatCivilTime(kEarliestDay),
                     " and ", absl::FormatCivilTime(kLatestDay), ": ", year, "-", month, "-", day));
  }
  return civil;
}

DayRange DaysOfMonth(absl::CivilMonth month) {
  return {absl::CivilDay(month), absl::CivilDay(month + 1) - 1};
}

absl::Status CheckViewRange(View view, const DayRange& days) {
  if (days.from > days.to) {
    return InvalidArgument(points::v1::INVALID_DATE_RANGE,
                           absl::StrCat("the range starts (", absl::FormatCivilTime(days.from),
                                        ") after it ends (", absl::FormatCivilTime(days.to), ")"));
  }
  if (days.to - days.from + 1 > kDateRangeDaysMax) {
    return InvalidArgument(points::v1::INVALID_DATE_RANGE,
                           absl::StrCat("a range spans at most ", kDateRangeDaysMax, " days"));
  }
  // S5: the two views never share a date, so a range is answered whole by one view or not at
  // all; mixing old and new scoring in one answer would mislead.
  if (view == View::kCurrent && days.from < kRuleChangeDay) {
    return InvalidArgument(
        points::v1::USE_PAST_SERVICE_POINTS_VIEW,
        "the scoring rules changed on 2019-07-01: this view answers dates from 2019-07-01; "
        "dates up to 2019-06-30 are in the past service points view (过去的服务积分)");
  }
  if (view == View::kPast && days.to >= kRuleChangeDay) {
    return InvalidArgument(
        points::v1::USE_CURRENT_SERVICE_POINTS_VIEW,
        "the scoring rules changed on 2019-07-01: the past service points view (过去的服务积分) "
        "answers dates up to 2019-06-30; dates from 2019-07-01 are in the current service "
        "points views");
  }
  return absl::OkStatus();
}

}  // namespace qcash::points
