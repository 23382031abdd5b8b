// Settlement reconciliation, the pure part (DESIGN.md section 9): reading a provider's
// settlement report (the CSV of services/payment/connectors/provider_api.proto) strictly, and
// the rule that says what one line is (settled, or which MismatchKind). No I/O here: the
// importer (settlement.h) loads the facts, asks these functions, and stores the answer.
#ifndef QCASH_SERVICES_PAYMENT_SETTLEMENT_REPORT_H_
#define QCASH_SERVICES_PAYMENT_SETTLEMENT_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/payment/order.h"

namespace qcash::payment {

// Bounds of one report (SETTLEMENT_REPORT_TOO_LARGE beyond them).
inline constexpr size_t kSettlementReportBytesMax = 4 * 1024 * 1024;
inline constexpr int64_t kSettlementReportLinesMax = 100'000;  // lines after the header
inline constexpr size_t kSettlementLineBytesMax = 1024;
inline constexpr absl::string_view kSettlementHeader =
    "settlement_date,transaction_id,merchant_reference,type,amount,fee,net,currency,paid_date";

// What a line turned out to be; the numbers are payment.v1.MismatchKind's (kNone: the line
// settled its order exactly and on time).
enum class MismatchKind : int16_t {
  kNone = 0,
  kNotSettled = 1,
  kSettledNotCredited = 2,
  kAmountMismatch = 3,
  kUnknownTransaction = 4,
  kDuplicate = 5,
  kSettledLate = 6,
};
inline constexpr int kMismatchKinds = 6;
absl::string_view MismatchKindName(MismatchKind kind);  // "NOT_SETTLED", ...

struct SettlementLine {
  int64_t line_number = 0;  // in the file: 1 is the header
  absl::CivilDay settlement_date;
  std::string transaction_id;
  std::string merchant_reference;
  int64_t amount_yen = 0;
  int64_t fee_yen = 0;
  int64_t net_yen = 0;
  absl::CivilDay paid_date;
};

// Japan's time (UTC+9, no daylight saving): settlement days are JST days.
absl::TimeZone Jst();
absl::CivilDay JstDay(absl::Time t);
std::string FormatDay(absl::CivilDay day);  // "YYYY-MM-DD"
// Exactly "YYYY-MM-DD", a real date. Errors: INVALID_ARGUMENT (INVALID_SETTLEMENT_DATE).
absl::StatusOr<absl::CivilDay> ParseDay(absl::string_view text);

// Reads a whole report. Strict: the header exactly (a UTF-8 BOM before it is allowed), nine
// fields a line, no quoting, type "payment", currency "JPY", whole yen with amount > 0,
// 0 <= fee <= amount, net = amount - fee, real dates, ids of 1..128 characters of
// [A-Za-z0-9_.:-]; lines end in \n or \r\n; no empty line except the file's end.
// Errors: INVALID_ARGUMENT with SETTLEMENT_REPORT_TOO_LARGE (over kSettlementReportBytesMax,
// or more than kSettlementReportLinesMax lines), or INVALID_SETTLEMENT_REPORT with the
// number of the first bad line in the ErrorInfo metadata "line" (1 = the header).
absl::StatusOr<std::vector<SettlementLine>> ParseSettlementReport(absl::string_view content);

// What the importer knows about a line when it classifies it.
struct LineFacts {
  // The transaction was imported before (from another file, or earlier in this one).
  bool transaction_seen = false;
  // The order the line names (by merchant reference, else by the provider's payment id),
  // of this provider; none when no order is known.
  struct OrderFacts {
    int64_t amount_yen = 0;
    OrderState state = OrderState::kCreated;
    absl::Time paid_at = absl::InfinitePast();
    bool settled = false;  // by another transaction already
  };
  std::optional<OrderFacts> order;
};

// The rule (DESIGN.md section 9), first match wins: a transaction seen before, or an order
// settled before by another transaction: DUPLICATE; no order: UNKNOWN_TRANSACTION; an order
// not PAID or CREDITED: SETTLED_NOT_CREDITED; another amount: AMOUNT_MISMATCH; settled after
// the due period: SETTLED_LATE; else kNone (settled).
MismatchKind ClassifyLine(const SettlementLine& line, const LineFacts& facts, absl::Duration due);

// Whether a line settles its order (records settled_at, the amount and the fee on it):
// settled, AMOUNT_MISMATCH and SETTLED_LATE do; the others name no order we can settle.
bool SettlesOrder(MismatchKind kind);

// Late: the settlement day is after the JST day on which the due period after payment ends.
bool SettledLate(absl::CivilDay settlement_date, absl::Time paid_at, absl::Duration due);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_SETTLEMENT_REPORT_H_
