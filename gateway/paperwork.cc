#include "gateway/paperwork.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/payment/catalog.h"

namespace qcash::gateway {
namespace {

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace

absl::string_view AdProductLabel(wallet::v1::AdProduct product) {
  switch (product) {
    case wallet::v1::AD_PRODUCT_GROUP_BUYING:
      return "共同購入";
    case wallet::v1::AD_PRODUCT_PLUS_KEYWORD:
      return "プラス展示-キーワード別";
    case wallet::v1::AD_PRODUCT_PLUS_CATEGORY:
      return "プラス展示-カテゴリ別";
    case wallet::v1::AD_PRODUCT_TIME_SALE:
      return "タイムセール掲載";
    case wallet::v1::AD_PRODUCT_TODAYS_SPECIAL:
      return "今日の特価掲載";
    case wallet::v1::AD_PRODUCT_POWER_RANK_UP:
      return "パワーランクアップ";
    case wallet::v1::AD_PRODUCT_QSPECIAL_PREMIUM:
      return "Qspecialプレミアム";
    case wallet::v1::AD_PRODUCT_PREMIUM_DISPLAY:
      return "プレミアム展示";
    default:
      return "";
  }
}

absl::string_view EntryKindLabel(wallet::v1::EntryType type) {
  switch (type) {
    case wallet::v1::ENTRY_TYPE_AD_SPEND:
      return "広告利用";
    case wallet::v1::ENTRY_TYPE_AD_CAPTURE:
      return "広告承認（使用）";
    case wallet::v1::ENTRY_TYPE_CHARGE:
      return "チャージ";
    case wallet::v1::ENTRY_TYPE_POINTS_CONVERSION:
      return "サービスポイント交換";
    case wallet::v1::ENTRY_TYPE_FORFEIT:
      return "退店による失効";
    case wallet::v1::ENTRY_TYPE_CLAWBACK:
      return "お支払い取り消しによる回収";
    case wallet::v1::ENTRY_TYPE_DEBT:
      return "未回収額の発生";
    case wallet::v1::ENTRY_TYPE_DEBT_RECOVERY:
      return "未回収額への充当";
    default:
      return "";
  }
}

absl::string_view ReversalKindLabel(payment::v1::ReversalKind kind) {
  switch (kind) {
    case payment::v1::REVERSAL_KIND_CHARGEBACK:
      return "チャージバック";
    case payment::v1::REVERSAL_KIND_DEFAULT:
      return "後払い未払い";
    case payment::v1::REVERSAL_KIND_REFUND:
      return "返金";
    default:
      return "";
  }
}

absl::string_view PaymentMethodLabel(payment::v1::PaymentMethod method) {
  for (const payment::MethodInfo& info : payment::kMethods) {
    if (static_cast<int>(info.method) == static_cast<int>(method)) return info.label;
  }
  return "";
}

std::string VoucherLabel(int64_t amount_yen) {
  return absl::StrCat("Qキャッシュ(", amount_yen, "Qキャッシュのチャージ)");
}

bool SplitDocumentName(absl::string_view segment, std::string* name, std::string* extension) {
  const size_t dot = segment.rfind('.');
  if (dot == absl::string_view::npos || dot == 0 || dot > 64) return false;
  const absl::string_view base = segment.substr(0, dot);
  const absl::string_view ext = segment.substr(dot + 1);
  if (!std::all_of(base.begin(), base.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      })) {
    return false;
  }
  if (ext != "pdf" && ext != "csv") return false;
  *name = std::string(base);
  *extension = std::string(ext);
  return true;
}

bool IsStatementMonth(absl::string_view month) {
  int year = 0;
  int number = 0;
  return month.size() == 7 && month[4] == '-' && absl::ascii_isdigit(month[5]) &&
         absl::ascii_isdigit(month[6]) && absl::SimpleAtoi(month.substr(0, 4), &year) &&
         absl::ascii_isdigit(month[0]) && absl::SimpleAtoi(month.substr(5, 2), &number) &&
         year >= 2000 && year <= 2999 && number >= 1 && number <= 12;
}

Receipt ReceiptOf(const payment::v1::IssueReceiptResponse& issued, const Issuer& issuer) {
  const payment::v1::ChargeOrder& order = issued.order();
  Receipt receipt;
  receipt.issuer = issuer;
  receipt.seller_id = order.seller_id();
  receipt.receipt_number = issued.receipt_number();
  receipt.order_id = order.order_id();
  receipt.issue_number = issued.issue_number();
  receipt.issued_at = TimeOf(issued.issued_at());
  // An internal-funds charge is paid and credited in one step: credited_at is its payment.
  receipt.paid_at = TimeOf(order.has_paid_at() ? order.paid_at() : order.credited_at());
  receipt.amount_yen = order.amount_yen();
  receipt.voucher_label = VoucherLabel(order.amount_yen());
  receipt.method_label = std::string(PaymentMethodLabel(order.method()));
  receipt.reversed_yen = order.reversed_yen();
  // Each kind once, in the order the provider took them.
  for (const payment::v1::Reversal& r : order.reversals()) {
    const absl::string_view label = ReversalKindLabel(r.kind());
    if (label.empty() || absl::StrContains(receipt.reversal_kinds, label)) continue;
    absl::StrAppend(&receipt.reversal_kinds, receipt.reversal_kinds.empty() ? "" : "・", label);
  }
  return receipt;
}

Statement StatementOf(const std::vector<wallet::v1::GetMonthlyStatementResponse>& pages,
                      const std::string& seller_id, const Issuer& issuer, absl::Time now) {
  Statement statement;
  statement.issuer = issuer;
  statement.seller_id = seller_id;
  if (pages.empty()) return statement;
  // The totals of the last page: it read the month to its end in its snapshot, which holds
  // every line of the earlier pages too (the journal only grows), so in a month still open the
  // totals cover exactly the lines listed. In a closed month every page answers the same.
  const wallet::v1::GetMonthlyStatementResponse& first = pages.back();
  statement.month = first.month();
  statement.period_start = TimeOf(first.period_start());
  statement.period_end = TimeOf(first.period_end());
  statement.closed = first.closed();
  statement.issued_at = first.closed() ? statement.period_end : now;
  statement.total_yen = first.total_yen();
  statement.free_yen = first.free_yen();
  statement.taxable_yen = first.taxable_yen();
  statement.tax_rate_percent = first.tax_rate_percent();
  statement.tax_yen = first.tax_yen();
  for (const wallet::v1::StatementProductTotal& p : first.products()) {
    statement.products.push_back(
        {std::string(AdProductLabel(p.product())), p.lines(), p.amount_yen(), p.free_yen()});
  }
  for (const wallet::v1::GetMonthlyStatementResponse& page : pages) {
    for (const wallet::v1::StatementLine& l : page.lines()) {
      StatementLine line;
      line.entry_seq = l.entry_seq();
      line.at = TimeOf(l.created_at());
      line.kind_label = std::string(EntryKindLabel(l.type()));
      line.product_label = std::string(AdProductLabel(l.product()));
      line.reference = l.reference();
      line.amount_yen = l.amount_yen();
      line.paid_yen = l.paid_yen();
      line.free_yen = l.free_yen();
      statement.lines.push_back(std::move(line));
    }
  }
  return statement;
}

}  // namespace qcash::gateway
