// Who may do what to the wallet (DESIGN.md section 2): one table, consulted for every call.
//
// Caller identities are the common names of the services' client certificates (or, in
// insecure development mode, the x-qcash-caller metadata).
#ifndef QCASH_SERVICES_WALLET_POLICY_H_
#define QCASH_SERVICES_WALLET_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace qcash::wallet {

enum class Permission {
  kRead,              // GetBalance, ListHistory, GetHold
  kOpen,              // OpenWallet
  kCreditCharge,      // Credit(CHARGE)
  kCreditConversion,  // Credit(POINTS_CONVERSION)
  kAdBooking,         // Spend, Hold, CaptureHold, ReleaseHold
  kChargeFromFunds,   // ChargeFromInternalFunds
  kCreditFunds,       // CreditInternalFunds
  kClose,             // CloseWallet
  kSweep,             // ReleaseExpiredHolds
};

// OK when `caller` holds `permission`. Errors: PERMISSION_DENIED (CALLER_NOT_ALLOWED).
absl::Status Authorize(absl::string_view caller, Permission permission);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_POLICY_H_
