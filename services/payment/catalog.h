// What a seller can buy and how they can pay: the twelve charge vouchers (W2), the eleven
// payment methods (P1) and their families (P2), with the names the seller guide uses
// (/work/shared/seeds/000_7599fd3937ed459f.txt). Constants only; the numbers are the payment
// schema's and qcash.payment.v1's and never change (enums.h fails the build if one differs).
#ifndef QCASH_SERVICES_PAYMENT_CATALOG_H_
#define QCASH_SERVICES_PAYMENT_CATALOG_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace qcash::payment {

// W2: the twelve charge voucher denominations; price in yen = Qcash credited.
inline constexpr std::array<int64_t, 12> kDenominationsYen = {
    100, 500, 1'000, 3'000, 5'000, 10'000, 30'000, 50'000, 100'000, 300'000, 500'000, 1'000'000};

bool IsDenomination(int64_t amount_yen);

// The voucher to preselect for a shortfall (issue 15): the smallest that covers it, the
// largest when none does (the seller buys more than one), 0 when nothing is missing.
int64_t CoveringDenomination(int64_t shortfall_yen);

// The guide's name of a voucher: Qキャッシュ(1000Qキャッシュのチャージ).
// REQUIRES: IsDenomination(amount_yen).
std::string DenominationLabel(int64_t amount_yen);

// P1, in the order of the guide.
enum class Method : int16_t {
  kAtone = 1,
  kCard = 2,
  kPaypal = 3,
  kBankTransfer = 4,
  kConvenienceStore = 5,
  kPaidy = 6,
  kLinePay = 7,
  kAuEasyPayment = 8,
  kNetBanking = 9,
  kQmoney = 10,
  kPendingSettlement = 11,
};

// P2.
enum class Family : int16_t {
  kInstant = 1,        // the provider answers at once
  kRedirect = 2,       // the seller confirms on the provider's page
  kCounter = 3,        // paid later at a bank, store or ATM; the provider notifies
  kInternalFunds = 4,  // moved inside the wallet ledger
};

struct MethodInfo {
  Method method;
  Family family;
  // The provider that carries the method: the <provider> of POST /webhooks/<provider>, and the
  // suffix of its secret's variable. Empty for the internal-funds methods (no provider).
  absl::string_view provider;
  absl::string_view label;  // the guide's name
};

inline constexpr std::array<MethodInfo, 11> kMethods = {{
    {Method::kAtone, Family::kRedirect, "atone", "Atone(コンビニ翌月払い)"},
    {Method::kCard, Family::kInstant, "card", "VISA/MasterCard/JCB"},
    {Method::kPaypal, Family::kRedirect, "paypal", "PayPal(AMEXを含むクレジットカード、銀行)"},
    {Method::kBankTransfer, Family::kCounter, "bank_transfer", "銀行振込"},
    {Method::kConvenienceStore, Family::kCounter, "konbini", "コンビニ、ATM、支払秘書"},
    {Method::kPaidy, Family::kRedirect, "paidy", "あと払い(ペイディ)3回あと払いも可能"},
    {Method::kLinePay, Family::kRedirect, "linepay", "LINE Pay"},
    {Method::kAuEasyPayment, Family::kRedirect, "au", "auかんたん決済"},
    {Method::kNetBanking, Family::kCounter, "paygent", "ネットバンキング(PAYGENT)"},
    {Method::kQmoney, Family::kInternalFunds, "", "Qmoney"},
    {Method::kPendingSettlement, Family::kInternalFunds, "", "精算予定金"},
}};

// The method with wire number `code`, or nullptr (UNKNOWN_PAYMENT_METHOD).
const MethodInfo* FindMethod(int64_t code);

// The method a provider carries, or nullptr for an unknown provider name.
const MethodInfo* FindProvider(absl::string_view provider);

const MethodInfo& InfoOf(Method method);

absl::string_view FamilyName(Family family);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_CATALOG_H_
