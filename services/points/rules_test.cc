// S1, S3: the point rules without I/O.
#include "services/points/rules.h"

#include <gtest/gtest.h>

#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::points {
namespace {

// S3, the guide's worked example: 12,352 points -> 12,300 converted, 52 left over.
TEST(RulesTest, S3WorkedExampleRoundsDownToHundreds) {
  EXPECT_EQ(ConvertiblePoints(12'352), 12'300);
  EXPECT_EQ(12'352 - ConvertiblePoints(12'352), 52);
}

TEST(RulesTest, S3BoundariesOfTheMinimum) {
  EXPECT_EQ(ConvertiblePoints(99), 0);
  EXPECT_EQ(ConvertiblePoints(100), 100);
  EXPECT_EQ(ConvertiblePoints(101), 100);
  EXPECT_EQ(ConvertiblePoints(199), 100);
  EXPECT_EQ(ConvertiblePoints(200), 200);
  EXPECT_EQ(ConvertiblePoints(0), 0);
  // S1/S3: a negative month converts nothing (and -150 must not round to -100 or -200).
  EXPECT_EQ(ConvertiblePoints(-1), 0);
  EXPECT_EQ(ConvertiblePoints(-150), 0);
  EXPECT_EQ(ConvertiblePoints(INT64_MIN), 0);
  EXPECT_EQ(ConvertiblePoints(INT64_MAX), INT64_MAX - INT64_MAX % 100);
}

TEST(RulesTest, S3OnlyLastMonthConverts) {
  const absl::CivilMonth march(2024, 3);
  EXPECT_EQ(*ConvertibleMonth(march, absl::nullopt), absl::CivilMonth(2024, 2));
  EXPECT_EQ(*ConvertibleMonth(march, absl::CivilMonth(2024, 2)), absl::CivilMonth(2024, 2));
  EXPECT_EQ(*ConvertibleMonth(absl::CivilMonth(2025, 1), absl::nullopt),
            absl::CivilMonth(2024, 12));
  for (absl::CivilMonth requested : {absl::CivilMonth(2024, 1), absl::CivilMonth(2024, 3),
                                     absl::CivilMonth(2024, 4), absl::CivilMonth(2023, 2)}) {
    auto m = ConvertibleMonth(march, requested);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ReasonOf(m.status()), "OUTSIDE_CONVERSION_WINDOW");
  }
  auto lapsed = ConvertibleMonth(march, absl::CivilMonth(2024, 1));
  EXPECT_NE(lapsed.status().message().find("lapsed"), absl::string_view::npos);
}

ConversionRecord Record(ConversionState state) {
  ConversionRecord r;
  r.state = state;
  r.month_total_points = 12'352;
  r.converted_points = 12'300;
  return r;
}

// S3: 本月可以转换的积分 during the window, after conversion, below 100, and after the window.
TEST(RulesTest, S3WindowVerdicts) {
  const absl::CivilMonth feb(2024, 2), mar(2024, 3);
  WindowVerdict v = DecideWindow(feb, feb, 12'352, nullptr);
  EXPECT_EQ(v.state, WindowState::kConvertible);
  EXPECT_EQ(v.convertible_points, 12'300);

  const ConversionRecord done = Record(ConversionState::kCompleted);
  v = DecideWindow(feb, feb, 12'352, &done);
  EXPECT_EQ(v.state, WindowState::kConverted);
  EXPECT_EQ(v.convertible_points, 0);

  const ConversionRecord pending = Record(ConversionState::kPending);
  v = DecideWindow(feb, feb, 12'352, &pending);
  EXPECT_EQ(v.state, WindowState::kInProgress);
  EXPECT_EQ(v.convertible_points, 0);

  // A refused attempt credited nothing: still convertible.
  const ConversionRecord failed = Record(ConversionState::kFailed);
  v = DecideWindow(feb, feb, 12'352, &failed);
  EXPECT_EQ(v.state, WindowState::kConvertible);
  EXPECT_EQ(v.convertible_points, 12'300);

  EXPECT_EQ(DecideWindow(feb, feb, 99, nullptr).state, WindowState::kBelowMinimum);
  EXPECT_EQ(DecideWindow(feb, feb, 99, nullptr).convertible_points, 0);
  EXPECT_EQ(DecideWindow(feb, feb, -500, nullptr).convertible_points, 0);
  EXPECT_EQ(DecideWindow(feb, feb, 100, nullptr).convertible_points, 100);

  // Viewed from March, February's window has closed: January's points lapsed.
  v = DecideWindow(feb, mar, 12'352, nullptr);
  EXPECT_EQ(v.state, WindowState::kLapsed);
  EXPECT_EQ(v.convertible_points, 0);
}

TEST(RulesTest, WalletKeyIsOnePerSellerAndMonth) {
  EXPECT_EQ(WalletIdempotencyKey("shop-1", absl::CivilMonth(2024, 1)),
            "points-conversion:shop-1:2024-01");
  EXPECT_NE(WalletIdempotencyKey("shop-1", absl::CivilMonth(2024, 1)),
            WalletIdempotencyKey("shop-1", absl::CivilMonth(2024, 2)));
  EXPECT_NE(WalletIdempotencyKey("shop-1", absl::CivilMonth(2024, 1)),
            WalletIdempotencyKey("shop-2", absl::CivilMonth(2024, 1)));
  EXPECT_EQ(ConversionId("shop-1", absl::CivilMonth(2024, 1)), "pc-2024-01-shop-1");
  // Fits the wallet's 128-character limits with the longest seller id.
  const std::string longest(kSellerIdLengthMax, 'x');
  EXPECT_LE(WalletIdempotencyKey(longest, absl::CivilMonth(9999, 12)).size(), 128u);
  EXPECT_LE(ConversionId(longest, absl::CivilMonth(9999, 12)).size(), 128u);
}

TEST(RulesTest, ConvertRequestHashTellsRequestsApart) {
  const absl::CivilMonth jan(2024, 1);
  EXPECT_EQ(ConvertRequestHash("a", jan), ConvertRequestHash("a", jan));
  EXPECT_NE(ConvertRequestHash("a", jan), ConvertRequestHash("b", jan));
  EXPECT_NE(ConvertRequestHash("a", jan), ConvertRequestHash("a", absl::nullopt));
  EXPECT_NE(ConvertRequestHash("a", jan), ConvertRequestHash("a", absl::CivilMonth(2024, 2)));
}

PointEvent ValidEvent() {
  PointEvent e;
  e.event_id = "ev-1";
  e.seller_id = "shop-1";
  e.product_no = "P100";
  e.product_name = "保温杯 500ml";
  e.category = "キッチン";
  e.component = static_cast<int16_t>(Component::kShipping);
  e.sale_type = static_cast<int16_t>(SaleType::kGeneral);
  e.points = -30;  // S1: negative is legitimate
  e.occurred_at = absl::FromUnixSeconds(1'706'000'000);
  return e;
}

TEST(RulesTest, S1ValidEventsPass) {
  const absl::Time now = absl::FromUnixSeconds(1'706'000'000);
  EXPECT_TRUE(ValidateEvent(ValidEvent(), now).ok());
  PointEvent e = ValidEvent();
  e.occurred_at = now + kEventFutureTolerance;  // the edge of the tolerance
  EXPECT_TRUE(ValidateEvent(e, now).ok());
}

TEST(RulesTest, S1EachBrokenRuleHasItsReason) {
  const absl::Time now = absl::FromUnixSeconds(1'706'000'000);
  struct Case {
    const char* reason;
    void (*mutate)(PointEvent&);
  };
  const Case cases[] = {
      {"INVALID_EVENT_ID", [](PointEvent& e) { e.event_id = ""; }},
      {"INVALID_EVENT_ID", [](PointEvent& e) { e.event_id = std::string(129, 'e'); }},
      {"INVALID_EVENT_ID", [](PointEvent& e) { e.event_id = "tab\there"; }},
      {"INVALID_SELLER_ID", [](PointEvent& e) { e.seller_id = "shop/1"; }},
      {"INVALID_SELLER_ID", [](PointEvent& e) { e.seller_id = ""; }},
      {"INVALID_PRODUCT", [](PointEvent& e) { e.product_no = ""; }},
      {"INVALID_PRODUCT", [](PointEvent& e) { e.product_name = ""; }},
      {"INVALID_PRODUCT", [](PointEvent& e) { e.product_name = "bad\xff"; }},
      {"INVALID_PRODUCT", [](PointEvent& e) { e.category = std::string(129, 'c'); }},
      {"INVALID_COMPONENT", [](PointEvent& e) { e.component = 0; }},
      {"INVALID_COMPONENT", [](PointEvent& e) { e.component = 4; }},
      {"INVALID_SALE_TYPE", [](PointEvent& e) { e.sale_type = 0; }},
      {"INVALID_SALE_TYPE", [](PointEvent& e) { e.sale_type = 3; }},
      {"INVALID_POINTS", [](PointEvent& e) { e.points = 0; }},
      {"INVALID_POINTS", [](PointEvent& e) { e.points = kEventPointsMax + 1; }},
      {"INVALID_POINTS", [](PointEvent& e) { e.points = -kEventPointsMax - 1; }},
      {"INVALID_OCCURRED_AT", [](PointEvent& e) { e.occurred_at = absl::UnixEpoch(); }},
      {"OCCURRED_AT_IN_FUTURE",
       [](PointEvent& e) { e.occurred_at += kEventFutureTolerance + absl::Seconds(1); }},
  };
  for (const Case& c : cases) {
    PointEvent e = ValidEvent();
    c.mutate(e);
    const absl::Status s = ValidateEvent(e, now);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.reason;
    EXPECT_EQ(ReasonOf(s), c.reason);
  }
}

TEST(RulesTest, EventHashCoversEveryField) {
  const PointEvent base = ValidEvent();
  const std::string h = EventHash(base);
  EXPECT_EQ(h, EventHash(ValidEvent()));
  void (*mutations[])(PointEvent&) = {
      [](PointEvent& e) { e.event_id += "x"; },
      [](PointEvent& e) { e.seller_id += "x"; },
      [](PointEvent& e) { e.product_no += "x"; },
      [](PointEvent& e) { e.product_name += "x"; },
      [](PointEvent& e) { e.category += "x"; },
      [](PointEvent& e) { e.component = 2; },
      [](PointEvent& e) { e.sale_type = 2; },
      [](PointEvent& e) { e.points += 1; },
      [](PointEvent& e) { e.occurred_at += absl::Microseconds(1); },
  };
  for (auto mutate : mutations) {
    PointEvent e = base;
    mutate(e);
    EXPECT_NE(EventHash(e), h);
  }
}

TEST(RulesTest, KeysAndIds) {
  EXPECT_TRUE(CheckIdempotencyKey("k-1").ok());
  EXPECT_EQ(ReasonOf(CheckIdempotencyKey("")), "INVALID_IDEMPOTENCY_KEY");
  EXPECT_EQ(ReasonOf(CheckIdempotencyKey(std::string(129, 'k'))), "INVALID_IDEMPOTENCY_KEY");
  EXPECT_EQ(ReasonOf(CheckIdempotencyKey("caf\xc3\xa9")), "INVALID_IDEMPOTENCY_KEY");
  EXPECT_TRUE(IsValidSellerId("Shop_1.a-b"));
  EXPECT_FALSE(IsValidSellerId(std::string(65, 's')));
  EXPECT_FALSE(IsValidSellerId("{shop}"));
}

}  // namespace
}  // namespace qcash::points
