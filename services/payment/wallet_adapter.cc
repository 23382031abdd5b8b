#include "services/payment/wallet_adapter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/enum_case.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/enums.h"
#include "services/payment/order.h"
#include "services/wallet/client/refusal.h"

namespace qcash::payment {
namespace {

namespace wpb = ::qcash::wallet::v1;

// The wallet's refusals keep their code and reason (WALLET_CLOSED, INSUFFICIENT_FUNDS, ...);
// a wallet that could not be reached after the client's retries is WALLET_UNAVAILABLE, so
// the order's record says what happened.
absl::Status Normalize(const absl::Status& status) {
  if (wallet::IsDefiniteRefusal(status)) {
    return Relay(status, ::qcash::payment::v1::WALLET_REFUSED);
  }
  const std::string reason = ReasonOf(status);
  return Unavailable(payment::v1::WALLET_UNAVAILABLE,
                     absl::StrCat("the wallet did not answer: ", status.message(),
                                  reason.empty() ? "" : absl::StrCat(" (", reason, ")")));
}

// The lot's payment_method: the contract's name of the method without its prefix, lowercased
// ("card", "bank_transfer", "convenience_store"), which the wallet accepts (lowercase letters,
// digits and '_') and an auditor reads without a table.
std::string MethodToken(Method method) {
  std::string name = v1::PaymentMethod_Name(ToProto(method));
  constexpr absl::string_view kPrefix = "PAYMENT_METHOD_";
  if (absl::StartsWith(name, kPrefix)) name.erase(0, kPrefix.size());
  absl::AsciiStrToLower(&name);
  return name;
}

// The same numbers in both contracts (payment.proto says so), checked at compile time.
constexpr wpb::ReversalKind WalletKind(ReversalKind kind) {
  switch (kind) {
    QCASH_ENUM_CASE(ReversalKind::kChargeback, wpb::REVERSAL_KIND_CHARGEBACK);
    QCASH_ENUM_CASE(ReversalKind::kDefault, wpb::REVERSAL_KIND_DEFAULT);
    QCASH_ENUM_CASE(ReversalKind::kRefund, wpb::REVERSAL_KIND_REFUND);
  }
  return wpb::REVERSAL_KIND_UNSPECIFIED;
}

}  // namespace

absl::StatusOr<WalletBalance> WalletAdapter::GetBalance(const std::string& seller_id) {
  wpb::GetBalanceRequest request;
  request.set_seller_id(seller_id);
  auto response = client_->GetBalance(request);
  if (!response.ok()) return Normalize(response.status());
  WalletBalance balance;
  balance.available_yen = response->balance().available_yen();
  balance.qmoney_yen = response->balance().qmoney_yen();
  balance.pending_settlement_yen = response->balance().pending_settlement_yen();
  balance.closed = response->balance().state() == wpb::WALLET_STATE_CLOSED;
  balance.debt_yen = response->balance().debt_yen();
  return balance;
}

absl::StatusOr<int64_t> WalletAdapter::CreditCharge(const std::string& seller_id,
                                                    const std::string& order_id, int64_t amount_yen,
                                                    Method method, int64_t price_paid_yen) {
  wpb::CreditRequest request;
  request.set_seller_id(seller_id);
  request.set_idempotency_key(order_id);  // P5: one order, one credit, however often asked
  request.set_amount_yen(amount_yen);
  request.set_source(wpb::CREDIT_SOURCE_CHARGE);
  request.set_reference(order_id);
  request.set_payment_method(MethodToken(method));
  request.set_price_paid_yen(price_paid_yen);
  auto response = client_->Credit(request);
  if (!response.ok()) return Normalize(response.status());
  return response->result().entry_seq();
}

absl::StatusOr<int64_t> WalletAdapter::ChargeFromInternalFunds(const std::string& seller_id,
                                                               const std::string& order_id,
                                                               int64_t amount_yen,
                                                               FundsSource source) {
  wpb::ChargeFromInternalFundsRequest request;
  request.set_seller_id(seller_id);
  request.set_idempotency_key(order_id);
  request.set_source(source == FundsSource::kQmoney ? wpb::FUNDS_ACCOUNT_QMONEY
                                                    : wpb::FUNDS_ACCOUNT_PENDING_SETTLEMENT);
  request.set_amount_yen(amount_yen);
  request.set_order_id(order_id);
  auto response = client_->ChargeFromInternalFunds(request);
  if (!response.ok()) return Normalize(response.status());
  return response->result().entry_seq();
}

absl::StatusOr<ClawBackResult> WalletAdapter::ClawBack(const std::string& seller_id,
                                                       const std::string& idempotency_key,
                                                       const std::string& order_id,
                                                       const std::string& reversal_id,
                                                       ReversalKind kind, int64_t amount_yen) {
  wpb::ClawBackRequest request;
  request.set_seller_id(seller_id);
  request.set_idempotency_key(idempotency_key);
  request.set_amount_yen(amount_yen);
  request.set_order_id(order_id);
  request.set_reversal_reference(reversal_id);
  request.set_kind(WalletKind(kind));
  auto response = client_->ClawBack(request);
  if (!response.ok()) return Normalize(response.status());
  ClawBackResult result;
  result.clawed_back_yen = response->clawed_back_yen();
  result.debt_yen = response->debt_yen();
  result.entry_seq = response->result().entry_seq();
  return result;
}

}  // namespace qcash::payment
