// The payment service's domain enums (catalog.h, order.h) <-> the contract's
// (qcash.payment.v1), checked: see common/enum_case.h. ToProto covers every domain value
// (-Wswitch); FromProto answers nullopt for a wire value the domain does not have, and
// enums_test.cc proves that every other proto value has its domain value.
#ifndef QCASH_SERVICES_PAYMENT_ENUMS_H_
#define QCASH_SERVICES_PAYMENT_ENUMS_H_

#include <cstdint>
#include <optional>

#include "common/enum_case.h"
#include "qcash/payment/v1/payment.pb.h"
#include "services/payment/catalog.h"
#include "services/payment/order.h"

namespace qcash::payment {

// W2: a denomination's number is its price in yen. UNSPECIFIED for any other amount.
constexpr v1::Denomination DenominationOf(int64_t yen) {
  switch (yen) {
    case v1::DENOMINATION_100:
    case v1::DENOMINATION_500:
    case v1::DENOMINATION_1000:
    case v1::DENOMINATION_3000:
    case v1::DENOMINATION_5000:
    case v1::DENOMINATION_10000:
    case v1::DENOMINATION_30000:
    case v1::DENOMINATION_50000:
    case v1::DENOMINATION_100000:
    case v1::DENOMINATION_300000:
    case v1::DENOMINATION_500000:
    case v1::DENOMINATION_1000000:
      return static_cast<v1::Denomination>(yen);
    default:
      return v1::DENOMINATION_UNSPECIFIED;
  }
}
// Every voucher of the catalog is a value of the contract, at its price.
constexpr bool AllDenominationsInContract() {
  for (int64_t yen : kDenominationsYen) {
    if (DenominationOf(yen) != yen) return false;
  }
  return true;
}
static_assert(AllDenominationsInContract(), "kDenominationsYen and v1::Denomination differ");

constexpr v1::PaymentMethod ToProto(Method m) {
  switch (m) {
    QCASH_ENUM_CASE(Method::kAtone, v1::PAYMENT_METHOD_ATONE);
    QCASH_ENUM_CASE(Method::kCard, v1::PAYMENT_METHOD_CARD);
    QCASH_ENUM_CASE(Method::kPaypal, v1::PAYMENT_METHOD_PAYPAL);
    QCASH_ENUM_CASE(Method::kBankTransfer, v1::PAYMENT_METHOD_BANK_TRANSFER);
    QCASH_ENUM_CASE(Method::kConvenienceStore, v1::PAYMENT_METHOD_CONVENIENCE_STORE);
    QCASH_ENUM_CASE(Method::kPaidy, v1::PAYMENT_METHOD_PAIDY);
    QCASH_ENUM_CASE(Method::kLinePay, v1::PAYMENT_METHOD_LINE_PAY);
    QCASH_ENUM_CASE(Method::kAuEasyPayment, v1::PAYMENT_METHOD_AU_EASY_PAYMENT);
    QCASH_ENUM_CASE(Method::kNetBanking, v1::PAYMENT_METHOD_NET_BANKING);
    QCASH_ENUM_CASE(Method::kQmoney, v1::PAYMENT_METHOD_QMONEY);
    QCASH_ENUM_CASE(Method::kPendingSettlement, v1::PAYMENT_METHOD_PENDING_SETTLEMENT);
  }
  return v1::PAYMENT_METHOD_UNSPECIFIED;
}
constexpr std::optional<Method> FromProto(v1::PaymentMethod m) {
  switch (m) {
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_ATONE, Method::kAtone);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_CARD, Method::kCard);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_PAYPAL, Method::kPaypal);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_BANK_TRANSFER, Method::kBankTransfer);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_CONVENIENCE_STORE, Method::kConvenienceStore);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_PAIDY, Method::kPaidy);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_LINE_PAY, Method::kLinePay);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_AU_EASY_PAYMENT, Method::kAuEasyPayment);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_NET_BANKING, Method::kNetBanking);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_QMONEY, Method::kQmoney);
    QCASH_PROTO_CASE(v1::PAYMENT_METHOD_PENDING_SETTLEMENT, Method::kPendingSettlement);
    default:
      return std::nullopt;
  }
}

constexpr v1::PaymentFamily ToProto(Family f) {
  switch (f) {
    QCASH_ENUM_CASE(Family::kInstant, v1::PAYMENT_FAMILY_INSTANT);
    QCASH_ENUM_CASE(Family::kRedirect, v1::PAYMENT_FAMILY_REDIRECT);
    QCASH_ENUM_CASE(Family::kCounter, v1::PAYMENT_FAMILY_COUNTER);
    QCASH_ENUM_CASE(Family::kInternalFunds, v1::PAYMENT_FAMILY_INTERNAL_FUNDS);
  }
  return v1::PAYMENT_FAMILY_UNSPECIFIED;
}
constexpr std::optional<Family> FromProto(v1::PaymentFamily f) {
  switch (f) {
    QCASH_PROTO_CASE(v1::PAYMENT_FAMILY_INSTANT, Family::kInstant);
    QCASH_PROTO_CASE(v1::PAYMENT_FAMILY_REDIRECT, Family::kRedirect);
    QCASH_PROTO_CASE(v1::PAYMENT_FAMILY_COUNTER, Family::kCounter);
    QCASH_PROTO_CASE(v1::PAYMENT_FAMILY_INTERNAL_FUNDS, Family::kInternalFunds);
    default:
      return std::nullopt;
  }
}

constexpr v1::OrderState ToProto(OrderState s) {
  switch (s) {
    QCASH_ENUM_CASE(OrderState::kCreated, v1::ORDER_STATE_CREATED);
    QCASH_ENUM_CASE(OrderState::kAwaitingPayment, v1::ORDER_STATE_AWAITING_PAYMENT);
    QCASH_ENUM_CASE(OrderState::kPaid, v1::ORDER_STATE_PAID);
    QCASH_ENUM_CASE(OrderState::kCredited, v1::ORDER_STATE_CREDITED);
    QCASH_ENUM_CASE(OrderState::kFailed, v1::ORDER_STATE_FAILED);
    QCASH_ENUM_CASE(OrderState::kExpired, v1::ORDER_STATE_EXPIRED);
    QCASH_ENUM_CASE(OrderState::kCancelled, v1::ORDER_STATE_CANCELLED);
  }
  return v1::ORDER_STATE_UNSPECIFIED;
}
constexpr std::optional<OrderState> FromProto(v1::OrderState s) {
  switch (s) {
    QCASH_PROTO_CASE(v1::ORDER_STATE_CREATED, OrderState::kCreated);
    QCASH_PROTO_CASE(v1::ORDER_STATE_AWAITING_PAYMENT, OrderState::kAwaitingPayment);
    QCASH_PROTO_CASE(v1::ORDER_STATE_PAID, OrderState::kPaid);
    QCASH_PROTO_CASE(v1::ORDER_STATE_CREDITED, OrderState::kCredited);
    QCASH_PROTO_CASE(v1::ORDER_STATE_FAILED, OrderState::kFailed);
    QCASH_PROTO_CASE(v1::ORDER_STATE_EXPIRED, OrderState::kExpired);
    QCASH_PROTO_CASE(v1::ORDER_STATE_CANCELLED, OrderState::kCancelled);
    default:
      return std::nullopt;
  }
}

constexpr v1::ReversalKind ToProto(ReversalKind k) {
  switch (k) {
    QCASH_ENUM_CASE(ReversalKind::kChargeback, v1::REVERSAL_KIND_CHARGEBACK);
    QCASH_ENUM_CASE(ReversalKind::kDefault, v1::REVERSAL_KIND_DEFAULT);
    QCASH_ENUM_CASE(ReversalKind::kRefund, v1::REVERSAL_KIND_REFUND);
  }
  return v1::REVERSAL_KIND_UNSPECIFIED;
}

constexpr v1::ReversalState ToProto(ReversalState s) {
  switch (s) {
    QCASH_ENUM_CASE(ReversalState::kWaitingForCredit, v1::REVERSAL_STATE_WAITING_FOR_CREDIT);
    QCASH_ENUM_CASE(ReversalState::kApplying, v1::REVERSAL_STATE_APPLYING);
    QCASH_ENUM_CASE(ReversalState::kApplied, v1::REVERSAL_STATE_APPLIED);
  }
  return v1::REVERSAL_STATE_UNSPECIFIED;
}

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_ENUMS_H_
