#include "services/payment/policy.h"

#include <cstdint>

namespace qcash::payment {
namespace {

constexpr uint32_t Bit(Permission p) { return PermissionBit(p); }

// The whole policy. The gateway is the only way in for sellers and for providers' webhooks
// (it authenticates the seller's token and passes webhooks through untouched); operators
// read and unblock paid orders, but never buy or cancel for a seller.
constexpr Grant kGrants[] = {
    {"gateway", Bit(Permission::kRead) | Bit(Permission::kSeller) | Bit(Permission::kNotify)},
    {"ops", Bit(Permission::kRead) | Bit(Permission::kOperate)},
};

constexpr int P(Permission p) { return static_cast<int>(p); }
constexpr SellerScoped kSeller = SellerScoped::kRequestSeller;

// Every method, what it needs, and whether it acts for the seller its request names (then the
// gateway must forward that seller's token).
const MethodRule kMethods[] = {
    {"/qcash.payment.v1.PaymentService/ListChargeOptions", P(Permission::kSeller), kSeller},
    {"/qcash.payment.v1.PaymentService/CreateChargeOrder", P(Permission::kSeller), kSeller},
    {"/qcash.payment.v1.PaymentService/GetChargeOrder", P(Permission::kRead), kSeller},
    {"/qcash.payment.v1.PaymentService/CompleteRedirect", P(Permission::kSeller), kSeller},
    {"/qcash.payment.v1.PaymentService/CancelChargeOrder", P(Permission::kSeller), kSeller},
    {"/qcash.payment.v1.PaymentService/ListChargeOrders", P(Permission::kRead), kSeller},
    // Each issue is counted (the second and later say 再発行): acting for the seller, so the
    // gateway only; operators read the orders themselves.
    {"/qcash.payment.v1.PaymentService/IssueReceipt", P(Permission::kSeller), kSeller},
    {"/qcash.payment.v1.PaymentService/SetQsignPassword", P(Permission::kSeller), kSeller},
    // Webhooks and operators' lists act for no seller.
    {"/qcash.payment.v1.PaymentService/HandleProviderNotification", P(Permission::kNotify),
     SellerScoped::kNo},
    {"/qcash.payment.v1.PaymentService/ListStuckOrders", P(Permission::kOperate),
     SellerScoped::kNo},
    {"/qcash.payment.v1.PaymentService/RetryCredit", P(Permission::kOperate), kSeller},
    // Settlement reconciliation (DESIGN.md section 9): operators only.
    {"/qcash.payment.v1.PaymentService/ImportSettlementReport", P(Permission::kOperate),
     SellerScoped::kNo},
    {"/qcash.payment.v1.PaymentService/ListSettlementMismatches", P(Permission::kOperate),
     SellerScoped::kNo},
    {"/qcash.payment.v1.PaymentService/ResolveSettlementMismatch", P(Permission::kOperate),
     SellerScoped::kNo},
    {"/qcash.payment.v1.PaymentService/GetSettlementSummary", P(Permission::kOperate),
     SellerScoped::kNo},
};

absl::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kRead:
      return "read charge orders";
    case Permission::kSeller:
      return "act for a seller";
    case Permission::kNotify:
      return "deliver provider notifications";
    case Permission::kOperate:
      return "operate on stuck orders";
    default:
      return "unknown";
  }
}

absl::string_view PermissionNameOf(int p) { return PermissionName(static_cast<Permission>(p)); }

}  // namespace

const AccessTable& AccessPolicy() {
  static const AccessTable table{"payment.qcash", kGrants, kMethods, PermissionNameOf};
  return table;
}

absl::Status Authorize(absl::string_view caller, Permission permission) {
  return AuthorizeCaller(kGrants, caller, Bit(permission), PermissionName(permission));
}

}  // namespace qcash::payment
