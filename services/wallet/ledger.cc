#include "services/wallet/ledger.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/status.h"

namespace qcash::wallet {
namespace {

bool IsPrintableAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// Valid UTF-8 without control characters.
bool IsCleanText(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    if (c < 0x20 || c == 0x7f) return false;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

absl::Status CheckAmount(int64_t amount_yen) {
  if (amount_yen <= 0) {
    return InvalidArgument("INVALID_AMOUNT", absl::StrCat("amount_yen must be positive, got ",
                                                          amount_yen));
  }
  if (amount_yen > kAmountMaxYen) {
    return InvalidArgument("INVALID_AMOUNT", absl::StrCat("amount_yen must be at most ",
                                                          kAmountMaxYen, ", got ", amount_yen));
  }
  return absl::OkStatus();
}

absl::Status CheckReference(absl::string_view reference, bool required, size_t length_max) {
  if (required && reference.empty()) {
    return InvalidArgument("MISSING_REFERENCE", "a reference (booking, order or settlement id) "
                                                "is required");
  }
  if (reference.size() > length_max || !IsCleanText(reference)) {
    return InvalidArgument("INVALID_REFERENCE",
                           absl::StrCat("the reference must be at most ", length_max,
                                        " bytes of UTF-8 text without control characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckHoldId(int64_t hold_id) {
  if (hold_id <= 0) return InvalidArgument("INVALID_HOLD_ID", "hold_id must be positive");
  return absl::OkStatus();
}

absl::Status CheckDenomination(int64_t amount_yen) {
  if (!IsDenomination(amount_yen)) {
    return InvalidArgument("UNKNOWN_DENOMINATION",
                           absl::StrCat(amount_yen, " yen is not a charge voucher denomination "
                                                    "(100, 500, 1,000 ... 1,000,000)"));
  }
  return absl::OkStatus();
}

absl::Status CheckFundsAccount(int16_t code) {
  if (code != static_cast<int16_t>(FundsAccount::kQmoney) &&
      code != static_cast<int16_t>(FundsAccount::kPendingSettlement)) {
    return InvalidArgument("UNKNOWN_FUNDS_ACCOUNT",
                           "the funds account must be QMONEY or PENDING_SETTLEMENT");
  }
  return absl::OkStatus();
}

absl::Status ValidateByType(Op& op) {
  switch (op.type) {
    case OpType::kOpen:
      return absl::OkStatus();
    case OpType::kCredit: {
      if (absl::Status s = CheckAmount(op.amount_yen); !s.ok()) return s;
      if (op.code == static_cast<int16_t>(CreditSource::kCharge)) {
        if (absl::Status s = CheckDenomination(op.amount_yen); !s.ok()) return s;  // W2
      } else if (op.code == static_cast<int16_t>(CreditSource::kPointsConversion)) {
        if (op.amount_yen % kConversionUnitPoints != 0) {  // S3
          return InvalidArgument("INVALID_CONVERSION_AMOUNT",
                                 absl::StrCat("points convert in whole hundreds, got ",
                                              op.amount_yen));
        }
      } else {
        return InvalidArgument("UNKNOWN_CREDIT_SOURCE",
                               "the credit source must be CHARGE or POINTS_CONVERSION");
      }
      return CheckReference(op.reference, /*required=*/true, kReferenceLengthMax);
    }
    case OpType::kSpend:
    case OpType::kHold: {
      if (absl::Status s = CheckAmount(op.amount_yen); !s.ok()) return s;
      if (!IsAdProduct(op.code)) {  // W3
        return InvalidArgument("UNKNOWN_AD_PRODUCT",
                               absl::StrCat("unknown ad product ", op.code,
                                            "; Qcash pays for the eight products of W3"));
      }
      if (op.type == OpType::kHold) {
        if (op.hold_ttl_s == 0) op.hold_ttl_s = kHoldTtlDefaultS;
        if (op.hold_ttl_s < kHoldTtlMinS || op.hold_ttl_s > kHoldTtlMaxS) {
          return InvalidArgument("INVALID_HOLD_TTL",
                                 absl::StrCat("ttl_seconds must be in [", kHoldTtlMinS, ", ",
                                              kHoldTtlMaxS, "], got ", op.hold_ttl_s));
        }
      }
      return CheckReference(op.reference, /*required=*/true, kReferenceLengthMax);
    }
    case OpType::kCapture:
      if (absl::Status s = CheckHoldId(op.hold_id); !s.ok()) return s;
      return CheckAmount(op.amount_yen);
    case OpType::kRelease:
    case OpType::kExpire:
      return CheckHoldId(op.hold_id);
    case OpType::kChargeFromFunds: {
      if (absl::Status s = CheckFundsAccount(op.code); !s.ok()) return s;
      if (absl::Status s = CheckDenomination(op.amount_yen); !s.ok()) return s;  // W2
      return CheckReference(op.reference, /*required=*/true, kReferenceLengthMax);
    }
    case OpType::kCreditFunds: {
      if (absl::Status s = CheckFundsAccount(op.code); !s.ok()) return s;
      if (absl::Status s = CheckAmount(op.amount_yen); !s.ok()) return s;
      return CheckReference(op.reference, /*required=*/true, kReferenceLengthMax);
    }
    case OpType::kClose:
      return CheckReference(op.reference, /*required=*/false, kCloseReasonLengthMax);
    default:
      return InvalidArgument("UNKNOWN_OPERATION", "unknown operation");
  }
}

}  // namespace

bool IsDenomination(int64_t amount_yen) {
  return std::find(kDenominationsYen.begin(), kDenominationsYen.end(), amount_yen) !=
         kDenominationsYen.end();
}

bool IsAdProduct(int64_t code) {
  return code >= static_cast<int64_t>(AdProduct::kGroupBuying) &&
         code <= static_cast<int64_t>(AdProduct::kPremiumDisplay);
}

bool IsValidSellerId(absl::string_view seller_id) {
  if (seller_id.empty() || seller_id.size() > kSellerIdLengthMax) return false;
  return std::all_of(seller_id.begin(), seller_id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

absl::string_view OpTypeName(OpType type) {
  switch (type) {
    case OpType::kOpen:
      return "open";
    case OpType::kCredit:
      return "credit";
    case OpType::kSpend:
      return "spend";
    case OpType::kHold:
      return "hold";
    case OpType::kCapture:
      return "capture";
    case OpType::kRelease:
      return "release";
    case OpType::kExpire:
      return "expire";
    case OpType::kChargeFromFunds:
      return "charge_from_funds";
    case OpType::kCreditFunds:
      return "credit_funds";
    case OpType::kClose:
      return "close";
    default:
      return "unknown";
  }
}

absl::Status ValidateOp(Op& op) {
  if (!IsValidSellerId(op.seller_id)) {
    return InvalidArgument("INVALID_SELLER_ID",
                           "seller_id must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
  }
  if (op.type == OpType::kExpire) {
    if (!op.idempotency_key.empty()) {
      return InvalidArgument("INVALID_IDEMPOTENCY_KEY", "expiry is not keyed");
    }
  } else if (op.idempotency_key.empty() || op.idempotency_key.size() > kIdempotencyKeyLengthMax ||
             !IsPrintableAscii(op.idempotency_key)) {
    return InvalidArgument("INVALID_IDEMPOTENCY_KEY",
                           "idempotency_key must be 1 to 128 printable ASCII characters");
  }
  return ValidateByType(op);
}

std::string RequestHash(const Op& op) {
  Fingerprint fp;
  fp.Add(static_cast<int64_t>(op.type))
      .Add(op.seller_id)
      .Add(op.caller)
      .Add(op.amount_yen)
      .Add(int64_t{op.code})
      .Add(op.reference)
      .Add(op.hold_id)
      .Add(op.hold_ttl_s);
  return fp.Hex();
}

absl::Status OutcomeStatus(Outcome outcome, const Op& op) {
  switch (outcome) {
    case Outcome::kApplied:
    case Outcome::kReplayed:
      return absl::OkStatus();
    case Outcome::kKeyReused:
      return InvalidArgument("IDEMPOTENCY_KEY_REUSED",
                             absl::StrCat("idempotency key ", op.idempotency_key,
                                          " was already used for a different request"));
    case Outcome::kWalletNotFound:
      return NotFound("WALLET_NOT_FOUND", absl::StrCat("no wallet for seller ", op.seller_id));
    case Outcome::kWalletClosed:
      return FailedPrecondition("WALLET_CLOSED",
                                absl::StrCat("the wallet of seller ", op.seller_id,
                                             " is closed; its Qcash was forfeited (W5)"));
    case Outcome::kInsufficientFunds:
      return FailedPrecondition("INSUFFICIENT_FUNDS",
                                absl::StrCat("seller ", op.seller_id, " has less than ",
                                             op.amount_yen, " yen available"));
    case Outcome::kHoldNotFound:
      return NotFound("HOLD_NOT_FOUND", absl::StrCat("no hold ", op.hold_id, " for seller ",
                                                     op.seller_id));
    case Outcome::kHoldResolved:
      return FailedPrecondition("HOLD_ALREADY_RESOLVED",
                                absl::StrCat("hold ", op.hold_id, " was already captured, "
                                                                  "released or expired"));
    case Outcome::kHoldExpired:
      return FailedPrecondition("HOLD_EXPIRED", absl::StrCat("hold ", op.hold_id,
                                                             " has expired"));
    case Outcome::kCaptureExceedsHold:
      return FailedPrecondition("CAPTURE_EXCEEDS_HOLD",
                                absl::StrCat("capturing ", op.amount_yen,
                                             " yen exceeds the amount of hold ", op.hold_id));
    case Outcome::kBalanceLimit:
      return FailedPrecondition("BALANCE_LIMIT_EXCEEDED",
                                "the balance would exceed the largest representable amount");
    case Outcome::kHoldNotDue:
      return FailedPrecondition("HOLD_NOT_DUE", absl::StrCat("hold ", op.hold_id,
                                                             " has not expired yet"));
    default:
      return Internal("UNKNOWN_OUTCOME", absl::StrCat("unknown ledger outcome ",
                                                      static_cast<int>(outcome)));
  }
}

}  // namespace qcash::wallet
