#include "services/wallet/policy.h"

#include <cstdint>

namespace qcash::wallet {
namespace {

constexpr uint32_t Bit(Permission p) { return PermissionBit(p); }

// The whole policy. Money enters a seller's Qcash only from payment (charges) and points
// (conversions); only the ad-booking service spends it; only settlement moves the seller's
// proceeds in or closes a shop; operators read (and in test configurations set the test clock).
// Only payment, which credited the charge, takes it back when its provider reverses it.
// The services read many sellers at once (GetBalances); the gateway reads only the seller of
// the token it forwards, so it may not.
constexpr Grant kGrants[] = {
    {"payment", Bit(Permission::kRead) | Bit(Permission::kReadMany) |
                    Bit(Permission::kCreditCharge) | Bit(Permission::kChargeFromFunds) |
                    Bit(Permission::kClawBack)},
    {"points",
     Bit(Permission::kRead) | Bit(Permission::kReadMany) | Bit(Permission::kCreditConversion)},
    {"adbooking",
     Bit(Permission::kRead) | Bit(Permission::kReadMany) | Bit(Permission::kAdBooking)},
    {"settlement", Bit(Permission::kRead) | Bit(Permission::kReadMany) | Bit(Permission::kOpen) |
                       Bit(Permission::kCreditFunds) | Bit(Permission::kClose)},
    {"gateway", Bit(Permission::kRead) | Bit(Permission::kOpen)},
    {"ops", Bit(Permission::kRead) | Bit(Permission::kReadMany) | Bit(Permission::kSweep) |
                Bit(Permission::kBooks) | Bit(Permission::kSetTestClock)},
};

constexpr int P(Permission p) { return static_cast<int>(p); }
constexpr SellerScoped kSeller = SellerScoped::kRequestSeller;

// Every method, what it needs, and whether it acts for the seller its request names (then the
// gateway must forward that seller's token).
const MethodRule kMethods[] = {
    {"/qcash.wallet.v1.WalletService/OpenWallet", P(Permission::kOpen), kSeller},
    {"/qcash.wallet.v1.WalletService/GetBalance", P(Permission::kRead), kSeller},
    // Many sellers at once: acts for no single seller, so not the gateway's (kReadMany).
    {"/qcash.wallet.v1.WalletService/GetBalances", P(Permission::kReadMany), SellerScoped::kNo},
    // Money enters from a charge (payment) or a points conversion (points): one permission each.
    {"/qcash.wallet.v1.WalletService/Credit", P(Permission::kCreditCharge), kSeller, "source",
     kCreditSourcePointsConversion, P(Permission::kCreditConversion)},
    {"/qcash.wallet.v1.WalletService/Spend", P(Permission::kAdBooking), kSeller},
    {"/qcash.wallet.v1.WalletService/Hold", P(Permission::kAdBooking), kSeller},
    {"/qcash.wallet.v1.WalletService/CaptureHold", P(Permission::kAdBooking), kSeller},
    {"/qcash.wallet.v1.WalletService/ReleaseHold", P(Permission::kAdBooking), kSeller},
    // Spends, holds, captures and releases of many sellers in one call: the ad-booking
    // service's, and nobody acts for one seller's token here.
    {"/qcash.wallet.v1.WalletService/ExecuteBatch", P(Permission::kAdBooking), SellerScoped::kNo},
    {"/qcash.wallet.v1.WalletService/GetHold", P(Permission::kRead), kSeller},
    // The seller's holds, read like GetHold: the gateway only for its token's seller.
    {"/qcash.wallet.v1.WalletService/ListHolds", P(Permission::kRead), kSeller},
    {"/qcash.wallet.v1.WalletService/ChargeFromInternalFunds", P(Permission::kChargeFromFunds),
     kSeller},
    {"/qcash.wallet.v1.WalletService/CreditInternalFunds", P(Permission::kCreditFunds), kSeller},
    {"/qcash.wallet.v1.WalletService/CloseWallet", P(Permission::kClose), kSeller},
    {"/qcash.wallet.v1.WalletService/ClawBack", P(Permission::kClawBack), kSeller},
    {"/qcash.wallet.v1.WalletService/ListHistory", P(Permission::kRead), kSeller},
    // Every seller's expired holds at once: acts for none.
    {"/qcash.wallet.v1.WalletService/ReleaseExpiredHolds", P(Permission::kSweep),
     SellerScoped::kNo},
    {"/qcash.wallet.v1.WalletService/GetEntryLots", P(Permission::kRead), kSeller},
    {"/qcash.wallet.v1.WalletService/ListLots", P(Permission::kRead), kSeller},
    {"/qcash.wallet.v1.WalletService/GetBalanceAt", P(Permission::kRead), kSeller},
    // The platform's books: every seller at once, operators only.
    {"/qcash.wallet.v1.WalletService/GetPlatformBalancesAt", P(Permission::kBooks),
     SellerScoped::kNo},
    {"/qcash.wallet.v1.WalletService/GetBaseDateReport", P(Permission::kBooks), SellerScoped::kNo},
    // One seller's statement and activity: the gateway asks for the seller of its token, as it
    // does for ListHistory; operators read them too.
    {"/qcash.wallet.v1.WalletService/GetMonthlyStatement", P(Permission::kRead), kSeller},
    {"/qcash.wallet.v1.WalletService/GetMonthlyActivity", P(Permission::kRead), kSeller},
};

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
const MethodRule kTestClockMethods[] = {
    {"/qcash.wallet.v1.WalletTestClock/SetTime", P(Permission::kSetTestClock), SellerScoped::kNo},
};
#endif

absl::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kRead:
      return "read";
    case Permission::kOpen:
      return "open wallets";
    case Permission::kCreditCharge:
      return "credit charges";
    case Permission::kCreditConversion:
      return "credit point conversions";
    case Permission::kAdBooking:
      return "spend, hold, capture or release";
    case Permission::kChargeFromFunds:
      return "charge from internal funds";
    case Permission::kCreditFunds:
      return "credit internal funds";
    case Permission::kClose:
      return "close wallets";
    case Permission::kSweep:
      return "release expired holds";
    case Permission::kBooks:
      return "read the issuer's books";
    case Permission::kSetTestClock:
      return "set the test clock";
    case Permission::kClawBack:
      return "claw back reversed charges";
    case Permission::kReadMany:
      return "read many sellers at once";
    default:
      return "unknown";
  }
}

absl::string_view PermissionNameOf(int p) { return PermissionName(static_cast<Permission>(p)); }

}  // namespace

const AccessTable& AccessPolicy() {
  static const AccessTable table{"wallet.qcash", kGrants, kMethods, PermissionNameOf};
  return table;
}

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
const AccessTable& TestClockAccessPolicy() {
  static const AccessTable table{"wallet.qcash", kGrants, kTestClockMethods, PermissionNameOf};
  return table;
}
#endif

absl::Status Authorize(absl::string_view caller, Permission permission) {
  return AuthorizeCaller(kGrants, caller, Bit(permission), PermissionName(permission));
}

}  // namespace qcash::wallet
