#include "services/wallet/client/refusal.h"

#include "common/status.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::wallet {

WalletErrorKind ErrorKindOf(const absl::Status& status) {
  if (status.ok()) return WalletErrorKind::kNone;
  if (ReasonIs(status, v1::IDEMPOTENCY_KEY_REUSED)) return WalletErrorKind::kKeyReused;
  if (ReasonIs(status, v1::WALLET_NOT_FOUND)) return WalletErrorKind::kWalletNotFound;
  if (ReasonIs(status, v1::HOLD_NOT_FOUND)) return WalletErrorKind::kHoldNotFound;
  if (ReasonIs(status, v1::ENTRY_NOT_FOUND)) return WalletErrorKind::kEntryNotFound;
  if (ReasonIs(status, v1::INSUFFICIENT_FUNDS)) return WalletErrorKind::kInsufficientFunds;
  if (ReasonIs(status, v1::WALLET_CLOSED)) return WalletErrorKind::kWalletClosed;
  if (ReasonIs(status, v1::HOLD_ALREADY_RESOLVED)) return WalletErrorKind::kHoldResolved;
  if (ReasonIs(status, v1::HOLD_EXPIRED)) return WalletErrorKind::kHoldExpired;
  if (ReasonIs(status, v1::CAPTURE_EXCEEDS_HOLD)) return WalletErrorKind::kCaptureExceedsHold;
  if (ReasonIs(status, v1::BALANCE_LIMIT_EXCEEDED)) return WalletErrorKind::kBalanceLimit;
  if (ReasonIs(status, v1::CHARGE_NOT_FOUND)) return WalletErrorKind::kChargeNotFound;
  if (ReasonIs(status, v1::CLAWBACK_EXCEEDS_CHARGE)) {
    return WalletErrorKind::kClawBackExceedsCharge;
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return WalletErrorKind::kInvalidRequest;
    case absl::StatusCode::kPermissionDenied:
      return WalletErrorKind::kNotAllowed;
    case absl::StatusCode::kUnauthenticated:
      return WalletErrorKind::kUnauthenticated;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
      return WalletErrorKind::kUnavailable;
    default:
      return WalletErrorKind::kOther;
  }
}

bool IsDefiniteRefusal(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return true;
    default:  // UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, INTERNAL, UNKNOWN, ...
      return false;
  }
}

}  // namespace qcash::wallet
