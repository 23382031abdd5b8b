// The rules of service points (服务积分, DESIGN.md S1-S5) that need no I/O: what a valid point
// event is, how much of a month's total may be converted into Qcash, which month may be
// converted when, and what "points convertible this month" (本月可以转换的积分) shows. No gRPC
// and no SQL here: server.cc translates the contract to these types, store.cc persists them,
// points.cc puts the pieces together.
#ifndef QCASH_SERVICES_POINTS_RULES_H_
#define QCASH_SERVICES_POINTS_RULES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/text.h"

namespace qcash::points {

// S1: the three components. Numbers as in the schema and qcash.points.v1.Component (checked in
// enums.h).
enum class Component : int16_t { kShipping = 1, kClaim = 2, kReview = 3 };
// S4: 一般商品 / 预约商品. Numbers as in the schema and qcash.points.v1.SaleType (checked in
// enums.h).
enum class SaleType : int16_t { kGeneral = 1, kReservation = 2 };

// S3: conversions are whole hundreds of points; 1 point = 1 Qcash = 1 yen.
inline constexpr int64_t kConversionUnitPoints = 100;

// Bounds of the input. One event's points are far below anything that could overflow a
// month's int64 total.
inline constexpr int64_t kEventPointsMax = 1'000'000;
inline constexpr size_t kEventsPerCallMax = 500;
inline constexpr size_t kEventIdLengthMax = 128;
inline constexpr size_t kProductNoLengthMax = 64;
inline constexpr size_t kProductNameLengthMax = 256;
inline constexpr size_t kCategoryLengthMax = 128;
// How far after the service's clock an event may claim to have happened (upstream clocks
// drift a little; an event from next month would corrupt that month's conversion).
inline constexpr absl::Duration kEventFutureTolerance = absl::Minutes(10);

// One scoring event from an upstream system, for one product of one seller.
struct PointEvent {
  std::string event_id;
  std::string seller_id;
  std::string product_no;
  std::string product_name;
  std::string category;
  int16_t component = 0;  // Component
  int16_t sale_type = 0;  // SaleType
  int64_t points = 0;     // may be negative (S1)
  absl::Time occurred_at;
};

// Seller ids and idempotency keys: common/text.h.
// Valid UTF-8 without control characters, at most `length_max` bytes.
bool IsCleanText(absl::string_view text, size_t length_max);
bool IsPrintableAscii(absl::string_view text, size_t length_max);

// Checks every field of `event` (S1); `now` is the service's clock.
// Errors: INVALID_ARGUMENT with the reason of the broken rule (INVALID_EVENT_ID,
// INVALID_SELLER_ID, INVALID_PRODUCT, INVALID_COMPONENT, INVALID_SALE_TYPE, INVALID_POINTS,
// INVALID_OCCURRED_AT, OCCURRED_AT_IN_FUTURE).
absl::Status ValidateEvent(const PointEvent& event, absl::Time now);

// The fingerprint that tells a replay of an event (same content) from a reuse of its id.
std::string EventHash(const PointEvent& event);

// Points per component over some period; total = shipping + claim + review.
struct Totals {
  int64_t total = 0;
  int64_t shipping = 0;
  int64_t claim = 0;
  int64_t review = 0;
};

// S3: the Qcash a month's total converts into: the largest multiple of 100 not above it when
// it is at least 100, otherwise 0 (a negative month converts nothing). 12,352 -> 12,300.
int64_t ConvertiblePoints(int64_t month_total_points);

// S3: the month whose points may be converted at `current` (the clock's JST month): the
// previous one. `requested`, when the caller names a month, must be that one.
// Errors: FAILED_PRECONDITION (OUTSIDE_CONVERSION_WINDOW) naming the requested month's window.
absl::StatusOr<absl::CivilMonth> ConvertibleMonth(absl::CivilMonth current,
                                                  absl::optional<absl::CivilMonth> requested);

// The wallet idempotency key of a seller's conversion of `month`'s points: one per seller and
// month, so that the wallet credits a month's conversion at most once however often and from
// wherever it is retried (crash recovery included).
std::string WalletIdempotencyKey(absl::string_view seller_id, absl::CivilMonth month);
// The conversion's id, the reference of the wallet's journal entry.
std::string ConversionId(absl::string_view seller_id, absl::CivilMonth month);

// The request fingerprint of ConvertPoints (seller and the requested month, if any).
std::string ConvertRequestHash(absl::string_view seller_id,
                               absl::optional<absl::CivilMonth> requested);

// A conversion's life as stored: recorded as an intent before the wallet is called
// (kPending), then kCompleted once the wallet confirmed the credit, or kFailed when the
// wallet refused it (nothing credited; it may be requested again within its window).
enum class ConversionState : int16_t { kPending = 1, kCompleted = 2, kFailed = 3 };

struct ConversionRecord {
  std::string seller_id;
  absl::CivilMonth points_month;
  std::string conversion_id;
  ConversionState state = ConversionState::kPending;
  int64_t month_total_points = 0;
  int64_t converted_points = 0;
  std::string wallet_key;
  std::string caller;  // who requested it, with which key (the latest attempt)
  std::string idempotency_key;
  std::string request_hash;
  absl::Time requested_at;  // the service's clock, inside the window
  int64_t wallet_entry_seq = 0;
  std::string failure_reason;  // kFailed: the wallet's reason

  int64_t leftover_points() const { return month_total_points - converted_points; }
};

// What 本月可以转换的积分 shows. Numbers as in qcash.points.v1.ConversionState (checked in
// enums.h).
enum class WindowState : int16_t {
  kConvertible = 1,
  kBelowMinimum = 2,
  kConverted = 3,
  kInProgress = 4,
  kLapsed = 5,
};

struct WindowVerdict {
  WindowState state = WindowState::kBelowMinimum;
  int64_t convertible_points = 0;
};

// S3: "points convertible this month" for the summary of `month` when the clock's month is
// `current`: month-1's total rounded down to 100 when that is at least 100, the window (all of
// `month`) is open now, and month-1 is not converted (nor being converted); otherwise 0.
// `conversion` is month-1's conversion record, if any.
// REQUIRES: month <= current.
WindowVerdict DecideWindow(absl::CivilMonth month, absl::CivilMonth current,
                           int64_t previous_month_total_points, const ConversionRecord* conversion);

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_RULES_H_
