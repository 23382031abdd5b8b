// The seller's paperwork at the gateway (issue 15, docs/INVOICES.md): what the payment service
// (IssueReceipt) and the wallet (GetMonthlyStatement) answer, turned into the documents of
// gateway/documents/documents.h, with the Japanese names the pages use for products, entry
// kinds, vouchers and payment methods. The gateway serves them as
//   GET /documents/receipts/<order_id>.pdf     the receipt (領収書) of a paid voucher
//   GET /documents/statements/<YYYY-MM>.pdf    the month's statement and qualified invoice
//   GET /documents/statements/<YYYY-MM>.csv    the same as CSV
#ifndef QCASH_GATEWAY_PAPERWORK_H_
#define QCASH_GATEWAY_PAPERWORK_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/documents/documents.h"
#include "qcash/payment/v1/payment.pb.h"
#include "qcash/wallet/v1/wallet.pb.h"

namespace qcash::gateway {

// The seed's names of the eight ad products (共同購入, ...); "" for UNSPECIFIED.
absl::string_view AdProductLabel(wallet::v1::AdProduct product);
// "広告利用" (AD_SPEND), "広告承認（使用）" (AD_CAPTURE), the history page's words otherwise.
absl::string_view EntryKindLabel(wallet::v1::EntryType type);
// The pages' name of why a provider took a payment back: チャージバック, 後払い未払い, 返金.
absl::string_view ReversalKindLabel(payment::v1::ReversalKind kind);
// The seller guide's name of a payment method (the payment catalog's label).
absl::string_view PaymentMethodLabel(payment::v1::PaymentMethod method);
// "Qキャッシュ(1000Qキャッシュのチャージ)", as the purchase history names a voucher.
std::string VoucherLabel(int64_t amount_yen);

// A document request's last path segment: `<name>.<extension>` with a name of 1-64
// [A-Za-z0-9_-] characters; false for anything else.
bool SplitDocumentName(absl::string_view segment, std::string* name, std::string* extension);
// "YYYY-MM" with a month 01-12 and a year 2000-2999.
bool IsStatementMonth(absl::string_view month);

Receipt ReceiptOf(const payment::v1::IssueReceiptResponse& issued, const Issuer& issuer);

// The statement of every page of one month, in order, with the totals of the last page.
// `now` is the time of the download: an open month's statement is issued now, a closed one at
// the end of its month, so a closed month's document is the same at every download.
Statement StatementOf(const std::vector<wallet::v1::GetMonthlyStatementResponse>& pages,
                      const std::string& seller_id, const Issuer& issuer, absl::Time now);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_PAPERWORK_H_
