#include "services/payment/settlement_report.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::payment {
namespace {

constexpr size_t kIdLengthMax = 128;
constexpr size_t kYenDigitsMax = 12;  // up to 999,999,999,999 yen a line

absl::Status BadLine(int64_t line, absl::string_view why) {
  return WithMetadata(InvalidArgument(payment::v1::INVALID_SETTLEMENT_REPORT,
                                      absl::StrCat("settlement report line ", line, ": ", why)),
                      "line", absl::StrCat(line));
}

bool IsId(absl::string_view id) {
  if (id.empty() || id.size() > kIdLengthMax) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != ':') {
      return false;
    }
  }
  return true;
}

std::optional<int64_t> Yen(absl::string_view text) {
  if (text.empty() || text.size() > kYenDigitsMax) return std::nullopt;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  if (text.size() > 1 && text[0] == '0') return std::nullopt;  // one spelling per number
  int64_t yen = 0;
  if (!absl::SimpleAtoi(text, &yen)) return std::nullopt;
  return yen;
}

}  // namespace

absl::string_view MismatchKindName(MismatchKind kind) {
  switch (kind) {
    case MismatchKind::kNone:
      return "SETTLED";
    case MismatchKind::kNotSettled:
      return "NOT_SETTLED";
    case MismatchKind::kSettledNotCredited:
      return "SETTLED_NOT_CREDITED";
    case MismatchKind::kAmountMismatch:
      return "AMOUNT_MISMATCH";
    case MismatchKind::kUnknownTransaction:
      return "UNKNOWN_TRANSACTION";
    case MismatchKind::kDuplicate:
      return "DUPLICATE";
    case MismatchKind::kSettledLate:
      return "SETTLED_LATE";
    default:
      return "UNKNOWN";
  }
}

absl::TimeZone Jst() { return absl::FixedTimeZone(9 * 3600); }

absl::CivilDay JstDay(absl::Time t) { return absl::ToCivilDay(t, Jst()); }

std::string FormatDay(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

absl::StatusOr<absl::CivilDay> ParseDay(absl::string_view text) {
  bool shape = text.size() == 10 && text[4] == '-' && text[7] == '-';
  for (size_t i = 0; shape && i < text.size(); ++i) {
    if (i != 4 && i != 7 && !absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
      shape = false;
    }
  }
  absl::CivilDay day;
  // absl normalizes 2026-02-30 to March 2nd: a real date formats back to itself.
  if (!shape || !absl::ParseCivilTime(text, &day) || FormatDay(day) != text) {
    return InvalidArgument(payment::v1::INVALID_SETTLEMENT_DATE,
                           absl::StrCat("'", text.substr(0, 32), "' is not a YYYY-MM-DD date"));
  }
  return day;
}

absl::StatusOr<std::vector<SettlementLine>> ParseSettlementReport(absl::string_view content) {
  if (content.size() > kSettlementReportBytesMax) {
    return InvalidArgument(
        payment::v1::SETTLEMENT_REPORT_TOO_LARGE,
        absl::StrCat("a settlement report holds at most ", kSettlementReportBytesMax, " bytes"));
  }
  if (absl::StartsWith(content, "\xEF\xBB\xBF")) content.remove_prefix(3);
  std::vector<absl::string_view> rows = absl::StrSplit(content, '\n');
  // The file's final newline leaves one empty piece; no other empty line is allowed.
  if (!rows.empty() && rows.back().empty()) rows.pop_back();
  if (static_cast<int64_t>(rows.size()) - 1 > kSettlementReportLinesMax) {
    return InvalidArgument(
        payment::v1::SETTLEMENT_REPORT_TOO_LARGE,
        absl::StrCat("a settlement report holds at most ", kSettlementReportLinesMax, " lines"));
  }
  for (absl::string_view& row : rows) {
    if (absl::EndsWith(row, "\r")) row.remove_suffix(1);
  }
  if (rows.empty() || rows[0] != kSettlementHeader) {
    return BadLine(1, absl::StrCat("the header must be ", kSettlementHeader));
  }
  std::vector<SettlementLine> lines;
  lines.reserve(rows.size() - 1);
  for (size_t i = 1; i < rows.size(); ++i) {
    const int64_t number = static_cast<int64_t>(i) + 1;
    const absl::string_view row = rows[i];
    if (row.size() > kSettlementLineBytesMax) return BadLine(number, "longer than 1024 bytes");
    if (row.find('"') != absl::string_view::npos) {
      return BadLine(number, "quoted fields are not part of the format");
    }
    const std::vector<absl::string_view> f = absl::StrSplit(row, ',');
    if (f.size() != 9) return BadLine(number, absl::StrCat(f.size(), " fields, not 9"));
    SettlementLine line;
    line.line_number = number;
    auto settlement_date = ParseDay(f[0]);
    if (!settlement_date.ok()) return BadLine(number, "settlement_date is not YYYY-MM-DD");
    line.settlement_date = *settlement_date;
    if (!IsId(f[1])) return BadLine(number, "transaction_id: 1..128 of [A-Za-z0-9_.:-]");
    line.transaction_id = std::string(f[1]);
    if (!IsId(f[2])) return BadLine(number, "merchant_reference: 1..128 of [A-Za-z0-9_.:-]");
    line.merchant_reference = std::string(f[2]);
    if (f[3] != "payment") return BadLine(number, "type must be payment");
    const std::optional<int64_t> amount = Yen(f[4]), fee = Yen(f[5]), net = Yen(f[6]);
    if (!amount.has_value() || *amount <= 0) return BadLine(number, "amount: whole yen > 0");
    if (!fee.has_value() || *fee > *amount) return BadLine(number, "fee: whole yen <= amount");
    if (!net.has_value() || *net != *amount - *fee) return BadLine(number, "net != amount - fee");
    line.amount_yen = *amount;
    line.fee_yen = *fee;
    line.net_yen = *net;
    if (f[7] != "JPY") return BadLine(number, "currency must be JPY");
    auto paid_date = ParseDay(f[8]);
    if (!paid_date.ok()) return BadLine(number, "paid_date is not YYYY-MM-DD");
    line.paid_date = *paid_date;
    lines.push_back(std::move(line));
  }
  return lines;
}

MismatchKind ClassifyLine(const SettlementLine& line, const LineFacts& facts, absl::Duration due) {
  if (facts.transaction_seen) return MismatchKind::kDuplicate;
  if (!facts.order.has_value()) return MismatchKind::kUnknownTransaction;
  const LineFacts::OrderFacts& order = *facts.order;
  if (order.settled) return MismatchKind::kDuplicate;
  if (order.state != OrderState::kPaid && order.state != OrderState::kCredited) {
    return MismatchKind::kSettledNotCredited;
  }
  if (line.amount_yen != order.amount_yen) return MismatchKind::kAmountMismatch;
  if (SettledLate(line.settlement_date, order.paid_at, due)) return MismatchKind::kSettledLate;
  return MismatchKind::kNone;
}

bool SettlesOrder(MismatchKind kind) {
  return kind == MismatchKind::kNone || kind == MismatchKind::kAmountMismatch ||
         kind == MismatchKind::kSettledLate;
}

bool SettledLate(absl::CivilDay settlement_date, absl::Time paid_at, absl::Duration due) {
  if (paid_at == absl::InfinitePast()) return false;
  return settlement_date > JstDay(paid_at + due);
}

}  // namespace qcash::payment
