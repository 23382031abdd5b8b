// The wallet's domain enums (ledger.h) <-> the contract's (qcash.wallet.v1), checked: see
// common/enum_case.h. ToProto covers every domain value (-Wswitch); FromProto answers nullopt
// for a wire value the domain does not have (UNSPECIFIED, or a number from a newer client),
// and enums_test.cc proves that every other proto value has its domain value.
#ifndef QCASH_SERVICES_WALLET_ENUMS_H_
#define QCASH_SERVICES_WALLET_ENUMS_H_

#include <optional>

#include "common/enum_case.h"
#include "qcash/wallet/v1/wallet.pb.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {

constexpr v1::AdProduct ToProto(AdProduct p) {
  switch (p) {
    QCASH_ENUM_CASE(AdProduct::kNone, v1::AD_PRODUCT_UNSPECIFIED);
    QCASH_ENUM_CASE(AdProduct::kGroupBuying, v1::AD_PRODUCT_GROUP_BUYING);
    QCASH_ENUM_CASE(AdProduct::kPlusKeyword, v1::AD_PRODUCT_PLUS_KEYWORD);
    QCASH_ENUM_CASE(AdProduct::kPlusCategory, v1::AD_PRODUCT_PLUS_CATEGORY);
    QCASH_ENUM_CASE(AdProduct::kTimeSale, v1::AD_PRODUCT_TIME_SALE);
    QCASH_ENUM_CASE(AdProduct::kTodaysSpecial, v1::AD_PRODUCT_TODAYS_SPECIAL);
    QCASH_ENUM_CASE(AdProduct::kPowerRankUp, v1::AD_PRODUCT_POWER_RANK_UP);
    QCASH_ENUM_CASE(AdProduct::kQspecialPremium, v1::AD_PRODUCT_QSPECIAL_PREMIUM);
    QCASH_ENUM_CASE(AdProduct::kPremiumDisplay, v1::AD_PRODUCT_PREMIUM_DISPLAY);
  }
  return v1::AD_PRODUCT_UNSPECIFIED;
}
constexpr std::optional<AdProduct> FromProto(v1::AdProduct p) {
  switch (p) {
    QCASH_PROTO_CASE(v1::AD_PRODUCT_GROUP_BUYING, AdProduct::kGroupBuying);
    QCASH_PROTO_CASE(v1::AD_PRODUCT_PLUS_KEYWORD, AdProduct::kPlusKeyword);
    QCASH_PROTO_CASE(v1::AD_PRODUCT_PLUS_CATEGORY, AdProduct::kPlusCategory);
    QCASH_PROTO_CASE(v1::AD_PRODUCT_TIME_SALE, AdProduct::kTimeSale);
    QCASH_PROTO_CASE(v1::AD_PRODUCT_TODAYS_SPECIAL, AdProduct::kTodaysSpecial);
    QCASH_PROTO_CASE(v1::AD_PRODUCT_POWER_RANK_UP, AdProduct::kPowerRankUp);
    QCASH_PROTO_CASE(v1::AD_PRODUCT_QSPECIAL_PREMIUM, AdProduct::kQspecialPremium);
    QCASH_PROTO_CASE(v1::AD_PRODUCT_PREMIUM_DISPLAY, AdProduct::kPremiumDisplay);
    default:
      return std::nullopt;
  }
}
// A stored product code (0 for entries that are not ad entries).
inline v1::AdProduct AdProductToProto(int64_t code) {
  return IsAdProduct(code) ? ToProto(static_cast<AdProduct>(code)) : v1::AD_PRODUCT_UNSPECIFIED;
}

constexpr v1::CreditSource ToProto(CreditSource s) {
  switch (s) {
    QCASH_ENUM_CASE(CreditSource::kNone, v1::CREDIT_SOURCE_UNSPECIFIED);
    QCASH_ENUM_CASE(CreditSource::kCharge, v1::CREDIT_SOURCE_CHARGE);
    QCASH_ENUM_CASE(CreditSource::kPointsConversion, v1::CREDIT_SOURCE_POINTS_CONVERSION);
  }
  return v1::CREDIT_SOURCE_UNSPECIFIED;
}
constexpr std::optional<CreditSource> FromProto(v1::CreditSource s) {
  switch (s) {
    QCASH_PROTO_CASE(v1::CREDIT_SOURCE_CHARGE, CreditSource::kCharge);
    QCASH_PROTO_CASE(v1::CREDIT_SOURCE_POINTS_CONVERSION, CreditSource::kPointsConversion);
    default:
      return std::nullopt;
  }
}

constexpr v1::FundsAccount ToProto(FundsAccount a) {
  switch (a) {
    QCASH_ENUM_CASE(FundsAccount::kNone, v1::FUNDS_ACCOUNT_UNSPECIFIED);
    QCASH_ENUM_CASE(FundsAccount::kQmoney, v1::FUNDS_ACCOUNT_QMONEY);
    QCASH_ENUM_CASE(FundsAccount::kPendingSettlement, v1::FUNDS_ACCOUNT_PENDING_SETTLEMENT);
  }
  return v1::FUNDS_ACCOUNT_UNSPECIFIED;
}
constexpr std::optional<FundsAccount> FromProto(v1::FundsAccount a) {
  switch (a) {
    QCASH_PROTO_CASE(v1::FUNDS_ACCOUNT_QMONEY, FundsAccount::kQmoney);
    QCASH_PROTO_CASE(v1::FUNDS_ACCOUNT_PENDING_SETTLEMENT, FundsAccount::kPendingSettlement);
    default:
      return std::nullopt;
  }
}

constexpr v1::WalletState ToProto(WalletState s) {
  switch (s) {
    QCASH_ENUM_CASE(WalletState::kOpen, v1::WALLET_STATE_OPEN);
    QCASH_ENUM_CASE(WalletState::kClosed, v1::WALLET_STATE_CLOSED);
  }
  return v1::WALLET_STATE_UNSPECIFIED;
}
constexpr std::optional<WalletState> FromProto(v1::WalletState s) {
  switch (s) {
    QCASH_PROTO_CASE(v1::WALLET_STATE_OPEN, WalletState::kOpen);
    QCASH_PROTO_CASE(v1::WALLET_STATE_CLOSED, WalletState::kClosed);
    default:
      return std::nullopt;
  }
}

constexpr v1::HoldState ToProto(HoldState s) {
  switch (s) {
    QCASH_ENUM_CASE(HoldState::kPending, v1::HOLD_STATE_PENDING);
    QCASH_ENUM_CASE(HoldState::kCaptured, v1::HOLD_STATE_CAPTURED);
    QCASH_ENUM_CASE(HoldState::kReleased, v1::HOLD_STATE_RELEASED);
    QCASH_ENUM_CASE(HoldState::kExpired, v1::HOLD_STATE_EXPIRED);
    QCASH_ENUM_CASE(HoldState::kForfeited, v1::HOLD_STATE_FORFEITED);
  }
  return v1::HOLD_STATE_UNSPECIFIED;
}
constexpr std::optional<HoldState> FromProto(v1::HoldState s) {
  switch (s) {
    QCASH_PROTO_CASE(v1::HOLD_STATE_PENDING, HoldState::kPending);
    QCASH_PROTO_CASE(v1::HOLD_STATE_CAPTURED, HoldState::kCaptured);
    QCASH_PROTO_CASE(v1::HOLD_STATE_RELEASED, HoldState::kReleased);
    QCASH_PROTO_CASE(v1::HOLD_STATE_EXPIRED, HoldState::kExpired);
    QCASH_PROTO_CASE(v1::HOLD_STATE_FORFEITED, HoldState::kForfeited);
    default:
      return std::nullopt;
  }
}

constexpr v1::EntryType ToProto(EntryType t) {
  switch (t) {
    QCASH_ENUM_CASE(EntryType::kCharge, v1::ENTRY_TYPE_CHARGE);
    QCASH_ENUM_CASE(EntryType::kPointsConversion, v1::ENTRY_TYPE_POINTS_CONVERSION);
    QCASH_ENUM_CASE(EntryType::kAdSpend, v1::ENTRY_TYPE_AD_SPEND);
    QCASH_ENUM_CASE(EntryType::kAdHold, v1::ENTRY_TYPE_AD_HOLD);
    QCASH_ENUM_CASE(EntryType::kAdCapture, v1::ENTRY_TYPE_AD_CAPTURE);
    QCASH_ENUM_CASE(EntryType::kAdHoldRemainder, v1::ENTRY_TYPE_AD_HOLD_REMAINDER);
    QCASH_ENUM_CASE(EntryType::kAdRelease, v1::ENTRY_TYPE_AD_RELEASE);
    QCASH_ENUM_CASE(EntryType::kAdHoldExpired, v1::ENTRY_TYPE_AD_HOLD_EXPIRED);
    QCASH_ENUM_CASE(EntryType::kInternalFundsCharge, v1::ENTRY_TYPE_INTERNAL_FUNDS_CHARGE);
    QCASH_ENUM_CASE(EntryType::kInternalFundsCredit, v1::ENTRY_TYPE_INTERNAL_FUNDS_CREDIT);
    QCASH_ENUM_CASE(EntryType::kForfeit, v1::ENTRY_TYPE_FORFEIT);
    QCASH_ENUM_CASE(EntryType::kClawBack, v1::ENTRY_TYPE_CLAWBACK);
    QCASH_ENUM_CASE(EntryType::kDebt, v1::ENTRY_TYPE_DEBT);
    QCASH_ENUM_CASE(EntryType::kDebtRecovery, v1::ENTRY_TYPE_DEBT_RECOVERY);
  }
  return v1::ENTRY_TYPE_UNSPECIFIED;
}
constexpr std::optional<EntryType> FromProto(v1::EntryType t) {
  switch (t) {
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_CHARGE, EntryType::kCharge);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_POINTS_CONVERSION, EntryType::kPointsConversion);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_AD_SPEND, EntryType::kAdSpend);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_AD_HOLD, EntryType::kAdHold);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_AD_CAPTURE, EntryType::kAdCapture);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_AD_HOLD_REMAINDER, EntryType::kAdHoldRemainder);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_AD_RELEASE, EntryType::kAdRelease);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_AD_HOLD_EXPIRED, EntryType::kAdHoldExpired);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_INTERNAL_FUNDS_CHARGE, EntryType::kInternalFundsCharge);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_INTERNAL_FUNDS_CREDIT, EntryType::kInternalFundsCredit);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_FORFEIT, EntryType::kForfeit);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_CLAWBACK, EntryType::kClawBack);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_DEBT, EntryType::kDebt);
    QCASH_PROTO_CASE(v1::ENTRY_TYPE_DEBT_RECOVERY, EntryType::kDebtRecovery);
    default:
      return std::nullopt;
  }
}

constexpr v1::Account ToProto(Account a) {
  switch (a) {
    QCASH_ENUM_CASE(Account::kSellerAvailable, v1::ACCOUNT_SELLER_AVAILABLE);
    QCASH_ENUM_CASE(Account::kSellerHeld, v1::ACCOUNT_SELLER_HELD);
    QCASH_ENUM_CASE(Account::kSellerQmoney, v1::ACCOUNT_SELLER_QMONEY);
    QCASH_ENUM_CASE(Account::kSellerPending, v1::ACCOUNT_SELLER_PENDING_SETTLEMENT);
    QCASH_ENUM_CASE(Account::kSellerReceivable, v1::ACCOUNT_SELLER_RECEIVABLE);
    QCASH_ENUM_CASE(Account::kProviderClearing, v1::ACCOUNT_PLATFORM_PROVIDER_CLEARING);
    QCASH_ENUM_CASE(Account::kPointsProgramme, v1::ACCOUNT_PLATFORM_POINTS_PROGRAMME);
    QCASH_ENUM_CASE(Account::kAdRevenue, v1::ACCOUNT_PLATFORM_AD_REVENUE);
    QCASH_ENUM_CASE(Account::kForfeiture, v1::ACCOUNT_PLATFORM_FORFEITURE);
    QCASH_ENUM_CASE(Account::kSettlement, v1::ACCOUNT_PLATFORM_SETTLEMENT);
  }
  return v1::ACCOUNT_UNSPECIFIED;
}
constexpr std::optional<Account> FromProto(v1::Account a) {
  switch (a) {
    QCASH_PROTO_CASE(v1::ACCOUNT_SELLER_AVAILABLE, Account::kSellerAvailable);
    QCASH_PROTO_CASE(v1::ACCOUNT_SELLER_HELD, Account::kSellerHeld);
    QCASH_PROTO_CASE(v1::ACCOUNT_SELLER_QMONEY, Account::kSellerQmoney);
    QCASH_PROTO_CASE(v1::ACCOUNT_SELLER_PENDING_SETTLEMENT, Account::kSellerPending);
    QCASH_PROTO_CASE(v1::ACCOUNT_SELLER_RECEIVABLE, Account::kSellerReceivable);
    QCASH_PROTO_CASE(v1::ACCOUNT_PLATFORM_PROVIDER_CLEARING, Account::kProviderClearing);
    QCASH_PROTO_CASE(v1::ACCOUNT_PLATFORM_POINTS_PROGRAMME, Account::kPointsProgramme);
    QCASH_PROTO_CASE(v1::ACCOUNT_PLATFORM_AD_REVENUE, Account::kAdRevenue);
    QCASH_PROTO_CASE(v1::ACCOUNT_PLATFORM_FORFEITURE, Account::kForfeiture);
    QCASH_PROTO_CASE(v1::ACCOUNT_PLATFORM_SETTLEMENT, Account::kSettlement);
    default:
      return std::nullopt;
  }
}

constexpr v1::ReversalKind ToProto(ReversalKind k) {
  switch (k) {
    QCASH_ENUM_CASE(ReversalKind::kNone, v1::REVERSAL_KIND_UNSPECIFIED);
    QCASH_ENUM_CASE(ReversalKind::kChargeback, v1::REVERSAL_KIND_CHARGEBACK);
    QCASH_ENUM_CASE(ReversalKind::kDefault, v1::REVERSAL_KIND_DEFAULT);
    QCASH_ENUM_CASE(ReversalKind::kRefund, v1::REVERSAL_KIND_REFUND);
  }
  return v1::REVERSAL_KIND_UNSPECIFIED;
}
constexpr std::optional<ReversalKind> FromProto(v1::ReversalKind k) {
  switch (k) {
    QCASH_PROTO_CASE(v1::REVERSAL_KIND_CHARGEBACK, ReversalKind::kChargeback);
    QCASH_PROTO_CASE(v1::REVERSAL_KIND_DEFAULT, ReversalKind::kDefault);
    QCASH_PROTO_CASE(v1::REVERSAL_KIND_REFUND, ReversalKind::kRefund);
    default:
      return std::nullopt;
  }
}

constexpr v1::LotOrigin ToProto(LotOrigin o) {
  switch (o) {
    QCASH_ENUM_CASE(LotOrigin::kNone, v1::LOT_ORIGIN_UNSPECIFIED);
    QCASH_ENUM_CASE(LotOrigin::kVoucher, v1::LOT_ORIGIN_VOUCHER);
    QCASH_ENUM_CASE(LotOrigin::kPointsConversion, v1::LOT_ORIGIN_POINTS_CONVERSION);
    QCASH_ENUM_CASE(LotOrigin::kQmoney, v1::LOT_ORIGIN_QMONEY);
    QCASH_ENUM_CASE(LotOrigin::kPendingSettlement, v1::LOT_ORIGIN_PENDING_SETTLEMENT);
    QCASH_ENUM_CASE(LotOrigin::kOpening, v1::LOT_ORIGIN_OPENING);
  }
  return v1::LOT_ORIGIN_UNSPECIFIED;
}
constexpr std::optional<LotOrigin> FromProto(v1::LotOrigin o) {
  switch (o) {
    QCASH_PROTO_CASE(v1::LOT_ORIGIN_VOUCHER, LotOrigin::kVoucher);
    QCASH_PROTO_CASE(v1::LOT_ORIGIN_POINTS_CONVERSION, LotOrigin::kPointsConversion);
    QCASH_PROTO_CASE(v1::LOT_ORIGIN_QMONEY, LotOrigin::kQmoney);
    QCASH_PROTO_CASE(v1::LOT_ORIGIN_PENDING_SETTLEMENT, LotOrigin::kPendingSettlement);
    QCASH_PROTO_CASE(v1::LOT_ORIGIN_OPENING, LotOrigin::kOpening);
    default:
      return std::nullopt;
  }
}

// A request's AdProduct, CreditSource, FundsAccount or ReversalKind as the domain's, or kNone
// (which ValidateOp refuses) for a value the domain does not have (UNSPECIFIED, or a newer
// client's).
template <typename Proto>
auto DomainOf(Proto value) {
  using Domain = typename decltype(FromProto(value))::value_type;
  return FromProto(value).value_or(Domain::kNone);
}

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_ENUMS_H_
