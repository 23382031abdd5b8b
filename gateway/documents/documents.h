// The seller's paperwork as documents (issue 15, docs/INVOICES.md): the receipt (領収書) of a
// paid charge voucher and the monthly statement with the qualified invoice (適格請求書) of ad
// usage, as PDF (cairo + pango, IPA fonts) and the statement also as CSV.
//
// These are pure functions of their input: the same input gives the same bytes (no creation
// time, no random subset tag), so a closed month's statement downloaded twice is identical.
// Every text is Japanese; amounts are yen with thousands separators; times are shown in Japan
// time (JST). Callers fill the structs from the payment service (IssueReceipt) and the wallet
// (GetMonthlyStatement); nothing here talks to a service.
#ifndef QCASH_GATEWAY_DOCUMENTS_DOCUMENTS_H_
#define QCASH_GATEWAY_DOCUMENTS_DOCUMENTS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qcash::gateway {

// Who issues Qcash and its paperwork, from configuration (QCASH_GATEWAY_ISSUER_NAME,
// QCASH_GATEWAY_ISSUER_ADDRESS, QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER).
struct Issuer {
  std::string name;                 // e.g. "eBay Japan合同会社"
  std::string address;              // one line
  std::string registration_number;  // 適格請求書発行事業者登録番号: "T" + 13 digits
};

// Whether `number` is "T" followed by a 13-digit corporate number whose first digit is the
// check digit of the other twelve (the National Tax Agency's rule: 9 - (sum of the digits,
// weighted 1 and 2 alternately from the lowest, mod 9)).
bool IsValidRegistrationNumber(absl::string_view number);

struct Receipt {
  Issuer issuer;
  std::string seller_id;       // the addressee: "<seller_id> 様"
  std::string seller_name;     // the shop's name when known: "<seller_name>（<seller_id>）様"
  std::string receipt_number;  // "R-" + order id
  std::string order_id;
  int32_t issue_number = 1;   // 1: original; 2+: reissue, marked 再発行 (with the count)
  absl::Time issued_at;       // this issue
  absl::Time paid_at;         // 支払日
  int64_t amount_yen = 0;     // the price paid = the voucher's Qcash
  std::string voucher_label;  // "Qキャッシュ(1000Qキャッシュのチャージ)"
  std::string method_label;   // the seller guide's name of the method, e.g. "銀行振込"
  // What the provider took back after the payment (issue 16: chargeback, pay-later default,
  // refund), noted under the amount received, which stays what was paid; 0: nothing. The
  // kinds as the pages name them ("チャージバック・返金"); empty: not known.
  int64_t reversed_yen = 0;
  std::string reversal_kinds;
};

// One ad spend or capture (the wallet's StatementLine).
struct StatementLine {
  int64_t entry_seq = 0;
  absl::Time at;
  std::string kind_label;     // "広告利用" or "広告承認（使用）"
  std::string product_label;  // one of the eight products, e.g. "タイムセール掲載"
  std::string reference;      // the booking reference
  int64_t amount_yen = 0;     // tax included
  int64_t paid_yen = 0;
  int64_t free_yen = 0;  // paid with Qcash from points conversions
};

struct StatementProductTotal {
  std::string product_label;
  int64_t lines = 0;
  int64_t amount_yen = 0;
  int64_t free_yen = 0;
};

struct Statement {
  Issuer issuer;
  std::string seller_id;
  std::string seller_name;  // the shop's name when known (the invoice's recipient), as Receipt
  std::string month;        // "YYYY-MM"
  absl::Time period_start;  // inclusive (00:00 JST on the first)
  absl::Time period_end;    // exclusive
  bool closed = false;      // false: a preliminary statement (速報), marked so
  absl::Time issued_at;     // closed: the end of the month; open: now
  std::vector<StatementLine> lines;
  std::vector<StatementProductTotal> products;
  int64_t total_yen = 0;
  int64_t free_yen = 0;     // the points-conversion discount (値引き), not taxable
  int64_t taxable_yen = 0;  // subject to 10 %, tax included
  int32_t tax_rate_percent = 10;
  int64_t tax_yen = 0;
};

// The receipt as a one-page A4 PDF. Errors: INVALID_ARGUMENT when issue_number < 1 or
// amount_yen <= 0; FAILED_PRECONDITION when fontconfig has no IPA font (the image lacks
// fonts-ipafont-*); INTERNAL when cairo fails.
absl::StatusOr<std::string> RenderReceiptPdf(const Receipt& receipt);

// The statement and qualified invoice as an A4 PDF: the invoice part first (issuer and
// registration number, addressee, period, totals per rate, tax), then every line, as many
// pages as the lines need, each page numbered. Errors: FAILED_PRECONDITION when the issuer's
// registration number fails IsValidRegistrationNumber (a configuration mistake: no invoice
// goes out with a wrong number) or when there is no IPA font; INVALID_ARGUMENT for more than
// kStatementPdfLinesMax lines or 16 products, or a period that ends before it starts;
// INTERNAL when cairo fails.
inline constexpr size_t kStatementPdfLinesMax = 10000;  // some 220 pages
absl::StatusOr<std::string> RenderStatementPdf(const Statement& statement);

// The statement as CSV (UTF-8 with a BOM, CRLF, RFC 4180 quoting): a header row, one row per
// line, then the totals rows.
std::string RenderStatementCsv(const Statement& statement);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_DOCUMENTS_DOCUMENTS_H_
