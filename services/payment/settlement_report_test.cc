// The settlement report's reader and the line rule (DESIGN.md section 9), without I/O.
#include "services/payment/settlement_report.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::payment {
namespace {

const std::string kHeader(kSettlementHeader);

std::string Report(const std::vector<std::string>& lines) {
  std::string out = kHeader + "\n";
  for (const std::string& line : lines) absl::StrAppend(&out, line, "\n");
  return out;
}

// The line number a refusal names, or -1.
int64_t BadLine(const absl::Status& status) {
  auto metadata = MetadataOf(status);
  auto it = metadata.find("line");
  if (it == metadata.end()) return -1;
  return std::stoll(it->second);
}

TEST(SettlementReportTest, ReadsTheProvidersFormat) {
  auto lines =
      ParseSettlementReport(Report({"2026-11-30,pay_1,co_1,payment,10000,360,9640,JPY,2026-11-27",
                                    "2026-11-30,pay_2,co_2,payment,100,100,0,JPY,2026-11-30"}));
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 2u);
  const SettlementLine& first = (*lines)[0];
  EXPECT_EQ(first.line_number, 2);
  EXPECT_EQ(FormatDay(first.settlement_date), "2026-11-30");
  EXPECT_EQ(first.transaction_id, "pay_1");
  EXPECT_EQ(first.merchant_reference, "co_1");
  EXPECT_EQ(first.amount_yen, 10000);
  EXPECT_EQ(first.fee_yen, 360);
  EXPECT_EQ(first.net_yen, 9640);
  EXPECT_EQ(FormatDay(first.paid_date), "2026-11-27");
  EXPECT_EQ((*lines)[1].line_number, 3);
}

TEST(SettlementReportTest, AcceptsCrLfABomAndAnEmptyDay) {
  auto crlf = ParseSettlementReport(absl::StrCat(
      "\xEF\xBB\xBF", kHeader, "\r\n2026-11-30,pay_1,co_1,payment,500,18,482,JPY,2026-11-30\r\n"));
  ASSERT_TRUE(crlf.ok()) << crlf.status();
  EXPECT_EQ(crlf->size(), 1u);
  auto empty = ParseSettlementReport(kHeader + "\n");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  auto no_newline = ParseSettlementReport(kHeader);
  EXPECT_TRUE(no_newline.ok()) << no_newline.status();
}

TEST(SettlementReportTest, RefusesTheWholeFileNamingTheBadLine) {
  const std::string good = "2026-11-30,pay_1,co_1,payment,1000,36,964,JPY,2026-11-30";
  struct Case {
    std::string content;
    int64_t line;
  };
  const Case cases[] = {
      {"", 1},
      {"date,tx\n" + good + "\n", 1},
      {Report({good, "2026-11-30,pay_2,co_2,payment,1000,36,963,JPY,2026-11-30"}), 3},  // net
      {Report({good, "2026-02-30,pay_2,co_2,payment,1000,36,964,JPY,2026-11-30"}), 3},  // date
      {Report({good, "2026-11-30,pay_2,co_2,refund,1000,36,964,JPY,2026-11-30"}), 3},   // type
      {Report({good, "2026-11-30,pay_2,co_2,payment,1000,36,964,USD,2026-11-30"}), 3},  // JPY
      {Report({"2026-11-30,pay_2,co_2,payment,-1000,36,964,JPY,2026-11-30"}), 2},       // sign
      {Report({"2026-11-30,pay_2,co_2,payment,0,0,0,JPY,2026-11-30"}), 2},              // > 0
      {Report({"2026-11-30,pay_2,co_2,payment,100,101,0,JPY,2026-11-30"}), 2},          // fee
      {Report({"2026-11-30,pay_2,co_2,payment,0100,0,100,JPY,2026-11-30"}), 2},         // 0100
      {Report({"2026-11-30,pay 2,co_2,payment,100,0,100,JPY,2026-11-30"}), 2},          // id
      {Report({"2026-11-30,,co_2,payment,100,0,100,JPY,2026-11-30"}), 2},               // empty
      {Report({"2026-11-30,\"pay_2\",co_2,payment,100,0,100,JPY,2026-11-30"}), 2},      // quote
      {Report({"2026-11-30,pay_2,co_2,payment,100,0,100,JPY"}), 2},                     // fields
      {Report({good, "", good}), 3},                                                    // blank
      {Report({good, std::string(2000, 'x')}), 3},                                      // long
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.content);
    auto parsed = ParseSettlementReport(c.content);
    ASSERT_FALSE(parsed.ok());
    EXPECT_TRUE(ReasonIs(parsed.status(), payment::v1::INVALID_SETTLEMENT_REPORT))
        << parsed.status();
    EXPECT_EQ(BadLine(parsed.status()), c.line) << parsed.status();
  }
}

TEST(SettlementReportTest, RefusesAFileOverItsLimits) {
  std::string big = kHeader + "\n";
  const std::string line = "2026-11-30,pay_1,co_1,payment,1000,36,964,JPY,2026-11-30\n";
  while (big.size() <= kSettlementReportBytesMax) big += line;
  auto too_big = ParseSettlementReport(big);
  ASSERT_FALSE(too_big.ok());
  EXPECT_TRUE(ReasonIs(too_big.status(), payment::v1::SETTLEMENT_REPORT_TOO_LARGE));
  std::string many = kHeader + "\n";
  for (int64_t i = 0; i <= kSettlementReportLinesMax; ++i) many += "x\n";
  auto too_many = ParseSettlementReport(many);
  ASSERT_FALSE(too_many.ok());
  EXPECT_TRUE(ReasonIs(too_many.status(), payment::v1::SETTLEMENT_REPORT_TOO_LARGE));
}

TEST(SettlementReportTest, DaysAreStrict) {
  EXPECT_TRUE(ParseDay("2026-11-30").ok());
  for (const char* bad : {"2026-11-31", "2026-1-30", "26-11-30", "2026/11/30", "", "2026-11-30x"}) {
    auto day = ParseDay(bad);
    ASSERT_FALSE(day.ok()) << bad;
    EXPECT_TRUE(ReasonIs(day.status(), payment::v1::INVALID_SETTLEMENT_DATE));
  }
  // JST: 2026-11-30 15:00 UTC is already December 1st in Japan.
  EXPECT_EQ(FormatDay(JstDay(
                absl::FromCivil(absl::CivilSecond(2026, 11, 30, 15, 0, 0), absl::UTCTimeZone()))),
            "2026-12-01");
}

class ClassifyTest : public ::testing::Test {
 protected:
  const absl::Time paid_at =
      absl::FromCivil(absl::CivilSecond(2026, 11, 27, 10, 0, 0), Jst());  // a Friday, JST
  const absl::Duration due = absl::Hours(72);  // due by the JST day 2026-11-30

  SettlementLine Line(absl::CivilDay settled, int64_t yen = 10'000) const {
    SettlementLine line;
    line.settlement_date = settled;
    line.transaction_id = "pay_1";
    line.merchant_reference = "co_1";
    line.amount_yen = yen;
    line.fee_yen = 360;
    line.net_yen = yen - 360;
    line.paid_date = absl::CivilDay(2026, 11, 27);
    return line;
  }
  LineFacts Facts(OrderState state = OrderState::kCredited, bool settled = false) const {
    LineFacts facts;
    facts.order = LineFacts::OrderFacts{10'000, state, paid_at, settled};
    return facts;
  }
};

TEST_F(ClassifyTest, EveryKindOfLine) {
  const absl::CivilDay on_time(2026, 11, 30), late(2026, 12, 1);
  EXPECT_EQ(ClassifyLine(Line(on_time), Facts(), due), MismatchKind::kNone);
  EXPECT_EQ(ClassifyLine(Line(on_time), Facts(OrderState::kPaid), due), MismatchKind::kNone);
  EXPECT_EQ(ClassifyLine(Line(late), Facts(), due), MismatchKind::kSettledLate);
  EXPECT_EQ(ClassifyLine(Line(on_time, 10'001), Facts(), due), MismatchKind::kAmountMismatch);
  EXPECT_EQ(ClassifyLine(Line(on_time, 9'999), Facts(), due), MismatchKind::kAmountMismatch);
  for (OrderState state : {OrderState::kCreated, OrderState::kAwaitingPayment, OrderState::kFailed,
                           OrderState::kExpired, OrderState::kCancelled}) {
    EXPECT_EQ(ClassifyLine(Line(on_time), Facts(state), due), MismatchKind::kSettledNotCredited);
  }
  EXPECT_EQ(ClassifyLine(Line(on_time), LineFacts{}, due), MismatchKind::kUnknownTransaction);
  LineFacts seen = Facts();
  seen.transaction_seen = true;
  EXPECT_EQ(ClassifyLine(Line(on_time), seen, due), MismatchKind::kDuplicate);
  // Seen before wins over everything: a known transaction is never settled twice.
  LineFacts seen_unknown;
  seen_unknown.transaction_seen = true;
  EXPECT_EQ(ClassifyLine(Line(on_time), seen_unknown, due), MismatchKind::kDuplicate);
  // The order was settled by another transaction: a second settlement of it.
  EXPECT_EQ(ClassifyLine(Line(on_time), Facts(OrderState::kCredited, true), due),
            MismatchKind::kDuplicate);
}

TEST_F(ClassifyTest, WhatSettlesTheOrder) {
  EXPECT_TRUE(SettlesOrder(MismatchKind::kNone));
  EXPECT_TRUE(SettlesOrder(MismatchKind::kAmountMismatch));
  EXPECT_TRUE(SettlesOrder(MismatchKind::kSettledLate));
  EXPECT_FALSE(SettlesOrder(MismatchKind::kDuplicate));
  EXPECT_FALSE(SettlesOrder(MismatchKind::kUnknownTransaction));
  EXPECT_FALSE(SettlesOrder(MismatchKind::kSettledNotCredited));
  EXPECT_FALSE(SettlesOrder(MismatchKind::kNotSettled));
}

TEST_F(ClassifyTest, LateIsAfterTheDayTheDuePeriodEnds) {
  EXPECT_FALSE(SettledLate(absl::CivilDay(2026, 11, 27), paid_at, due));
  EXPECT_FALSE(SettledLate(absl::CivilDay(2026, 11, 30), paid_at, due));
  EXPECT_TRUE(SettledLate(absl::CivilDay(2026, 12, 1), paid_at, due));
  // A due period of seconds (tests): the next day is late.
  EXPECT_FALSE(SettledLate(absl::CivilDay(2026, 11, 27), paid_at, absl::Seconds(2)));
  EXPECT_TRUE(SettledLate(absl::CivilDay(2026, 11, 28), paid_at, absl::Seconds(2)));
}

}  // namespace
}  // namespace qcash::payment
