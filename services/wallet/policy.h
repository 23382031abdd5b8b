// Who may do what to the wallet (DESIGN.md section 2): one table, consulted for every call by
// the authorization interceptor (common/authorization.h) before any handler runs.
//
// Caller identities are the common names of the services' client certificates (or, in
// insecure development mode, the x-qcash-caller metadata).
#ifndef QCASH_SERVICES_WALLET_POLICY_H_
#define QCASH_SERVICES_WALLET_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/policy.h"

namespace qcash::wallet {

enum class Permission {
  kRead,  // GetBalance, ListHistory, GetHold, ListHolds, GetEntryLots, ListLots, GetBalanceAt,
          // GetMonthlyStatement, GetMonthlyActivity
  kOpen,  // OpenWallet
  kCreditCharge,      // Credit(CHARGE)
  kCreditConversion,  // Credit(POINTS_CONVERSION)
  kAdBooking,         // Spend, Hold, CaptureHold, ReleaseHold
  kChargeFromFunds,   // ChargeFromInternalFunds
  kCreditFunds,       // CreditInternalFunds
  kClose,             // CloseWallet
  kSweep,             // ReleaseExpiredHolds
  kBooks,             // GetPlatformBalancesAt, GetBaseDateReport: the issuer's books
  kSetTestClock,      // WalletTestClock.SetTime (registered only in test configurations)
  kClawBack,          // ClawBack: a payment reversal after credit (DESIGN.md section 9)
  kReadMany,          // GetBalances: many sellers' balances at once (not the gateway's)
};

// The wallet's one table: its grants and, for every method of qcash.wallet.v1.WalletService,
// the permission it needs (Credit: by its source) and whether it acts for the request's seller.
const AccessTable& AccessPolicy();

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
// The table of qcash.wallet.v1.WalletTestClock (development builds only, served only in test
// configurations): SetTime, for operators.
const AccessTable& TestClockAccessPolicy();
#endif

// The value of CreditRequest.source that needs kCreditConversion (CREDIT_SOURCE_POINTS_CONVERSION;
// the table test holds the two equal).
inline constexpr int kCreditSourcePointsConversion = 2;

// OK when `caller` holds `permission`. Errors: PERMISSION_DENIED (CALLER_NOT_ALLOWED).
absl::Status Authorize(absl::string_view caller, Permission permission);

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_POLICY_H_
