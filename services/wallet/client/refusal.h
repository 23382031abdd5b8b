// How a caller of the wallet reads a failed call, in one place for every caller (the payment
// and points services, the ad-booking service through the client library): which rule
// refused it, and whether the refusal is definite. Without gRPC, so that domain code that
// holds a wallet port (not the client) links it too.
#ifndef QCASH_SERVICES_WALLET_CLIENT_REFUSAL_H_
#define QCASH_SERVICES_WALLET_CLIENT_REFUSAL_H_

#include "absl/status/status.h"

namespace qcash::wallet {

// What refused a call, from its ErrorInfo reason and code.
enum class WalletErrorKind {
  kNone,            // OK
  kInvalidRequest,  // INVALID_ARGUMENT other than a reused key: fix the request
  kKeyReused,       // the idempotency key was used for a different request
  kWalletNotFound,
  kHoldNotFound,
  kEntryNotFound,      // GetEntryLots: no journal entry with that seq (yet)
  kInsufficientFunds,  // FAILED_PRECONDITION: wait for a charge
  kWalletClosed,       // W5: the shop has closed; nothing more will succeed
  kHoldResolved,       // already captured, released or expired
  kHoldExpired,
  kCaptureExceedsHold,
  kBalanceLimit,
  kChargeNotFound,         // ClawBack: no credited charge of the seller has that order id
  kClawBackExceedsCharge,  // ClawBack: more than the charge left after earlier claw-backs
  kNotAllowed,             // PERMISSION_DENIED: this caller may not do that
  kUnauthenticated,
  kUnavailable,  // still UNAVAILABLE, ABORTED or DEADLINE_EXCEEDED after every retry
  kOther,
};
WalletErrorKind ErrorKindOf(const absl::Status& status);

// Whether the wallet answered and said no, so that sending the same request again (same
// key) gets the same answer: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, OUT_OF_RANGE,
// ALREADY_EXISTS, PERMISSION_DENIED, UNAUTHENTICATED. Everything else — UNAVAILABLE, ABORTED,
// DEADLINE_EXCEEDED, INTERNAL, UNKNOWN — leaves the outcome open: the caller keeps the work
// and retries it later with the same idempotency key (the reconciler, the conversion step).
bool IsDefiniteRefusal(const absl::Status& status);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_CLIENT_REFUSAL_H_
