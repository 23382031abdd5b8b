#include "services/points/rules.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "services/points/calendar.h"

namespace qcash::points {

bool IsPrintableAscii(absl::string_view text, size_t length_max) {
  return !text.empty() && text.size() <= length_max && qcash::IsPrintableAscii(text);
}

bool IsCleanText(absl::string_view text, size_t length_max) {
  return text.size() <= length_max && qcash::IsCleanText(text);
}

absl::Status ValidateEvent(const PointEvent& event, absl::Time now) {
  if (!IsPrintableAscii(event.event_id, kEventIdLengthMax)) {
    return InvalidArgument(points::v1::INVALID_EVENT_ID,
                           "event_id must be 1 to 128 printable ASCII characters");
  }
  if (absl::Status s = CheckSellerId(event.seller_id); !s.ok()) return s;
  if (!IsPrintableAscii(event.product_no, kProductNoLengthMax)) {
    return InvalidArgument(points::v1::INVALID_PRODUCT,
                           "product_no must be 1 to 64 printable ASCII characters");
  }
  if (event.product_name.empty() || !IsCleanText(event.product_name, kProductNameLengthMax)) {
    return InvalidArgument(points::v1::INVALID_PRODUCT,
                           "product_name must be 1 to 256 bytes of UTF-8 without control "
                           "characters");
  }
  if (event.category.empty() || !IsCleanText(event.category, kCategoryLengthMax)) {
    return InvalidArgument(points::v1::INVALID_PRODUCT,
                           "category must be 1 to 128 bytes of UTF-8 without control "
                           "characters");
  }
  // S1: exactly the three components.
  if (event.component != static_cast<int16_t>(Component::kShipping) &&
      event.component != static_cast<int16_t>(Component::kClaim) &&
      event.component != static_cast<int16_t>(Component::kReview)) {
    return InvalidArgument(points::v1::INVALID_COMPONENT,
                           "component must be SHIPPING, CLAIM or REVIEW");
  }
  // S4: every event says how the product was sold, so the shipping split is complete.
  if (event.sale_type != static_cast<int16_t>(SaleType::kGeneral) &&
      event.sale_type != static_cast<int16_t>(SaleType::kReservation)) {
    return InvalidArgument(points::v1::INVALID_SALE_TYPE,
                           "sale_type must be GENERAL or RESERVATION");
  }
  // S1: negative points are legitimate (claims); zero carries no information.
  if (event.points == 0 || event.points > kEventPointsMax || event.points < -kEventPointsMax) {
    return InvalidArgument(points::v1::INVALID_POINTS,
                           absl::StrCat("points must be non-zero and within +-", kEventPointsMax,
                                        ", got ", event.points));
  }
  const absl::Time earliest = absl::FromCivil(absl::CivilSecond(kEarliestDay), absl::UTCTimeZone());
  if (event.occurred_at < earliest || event.occurred_at == absl::InfiniteFuture()) {
    return InvalidArgument(points::v1::INVALID_OCCURRED_AT,
                           "occurred_at must be set, from 2010-01-01");
  }
  if (event.occurred_at > now + kEventFutureTolerance) {
    return InvalidArgument(
        points::v1::OCCURRED_AT_IN_FUTURE,
        absl::StrCat("occurred_at ", absl::FormatTime(event.occurred_at),
                     " is later than the service's clock (", absl::FormatTime(now), ") allows"));
  }
  return absl::OkStatus();
}

std::string EventHash(const PointEvent& event) {
  Fingerprint fp;
  fp.Add(event.event_id)
      .Add(event.seller_id)
      .Add(event.product_no)
      .Add(event.product_name)
      .Add(event.category)
      .Add(int64_t{event.component})
      .Add(int64_t{event.sale_type})
      .Add(event.points)
      .Add(absl::ToUnixMicros(event.occurred_at));
  return fp.Hex();
}

int64_t ConvertiblePoints(int64_t month_total_points) {
  if (month_total_points < kConversionUnitPoints) return 0;
  return month_total_points - month_total_points % kConversionUnitPoints;
}

absl::StatusOr<absl::CivilMonth> ConvertibleMonth(absl::CivilMonth current,
                                                  absl::optional<absl::CivilMonth> requested) {
  const absl::CivilMonth convertible = current - 1;
  if (!requested.has_value() || *requested == convertible) return convertible;
  const absl::CivilMonth window = *requested + 1;
  return FailedPrecondition(
      points::v1::OUTSIDE_CONVERSION_WINDOW,
      absl::StrCat("the points of ", FormatMonth(*requested), " can be converted only during ",
                   FormatMonth(window), " (1st 00:00:00 to the last day 23:59:59 JST), ",
                   window < current ? "which has passed: they have lapsed" : "which has not begun",
                   "; now, during ", FormatMonth(current), ", the points of ",
                   FormatMonth(convertible), " can be converted"));
}

std::string WalletIdempotencyKey(absl::string_view seller_id, absl::CivilMonth month) {
  return absl::StrCat("points-conversion:", seller_id, ":", FormatMonth(month));
}

std::string ConversionId(absl::string_view seller_id, absl::CivilMonth month) {
  return absl::StrCat("pc-", FormatMonth(month), "-", seller_id);
}

std::string ConvertRequestHash(absl::string_view seller_id,
                               absl::optional<absl::CivilMonth> requested) {
  Fingerprint fp;
  fp.Add(seller_id).Add(requested.has_value() ? FormatMonth(*requested) : std::string());
  return fp.Hex();
}

WindowVerdict DecideWindow(absl::CivilMonth month, absl::CivilMonth current,
                           int64_t previous_month_total_points,
                           const ConversionRecord* conversion) {
  if (conversion != nullptr && conversion->state == ConversionState::kCompleted) {
    return {WindowState::kConverted, 0};
  }
  if (conversion != nullptr && conversion->state == ConversionState::kPending) {
    return {WindowState::kInProgress, 0};
  }
  const int64_t convertible = ConvertiblePoints(previous_month_total_points);
  if (convertible == 0) return {WindowState::kBelowMinimum, 0};
  // S3: the window is the whole of `month`; once it has passed, the points have lapsed.
  if (month < current) return {WindowState::kLapsed, 0};
  return {WindowState::kConvertible, convertible};
}

}  // namespace qcash::points
