// Who may call what on the payment service (DESIGN.md section 2): one table, consulted for
// every call by the authorization interceptor (common/authorization.h) before any handler
// runs. Identities are the common names of the callers' client certificates (or, in
// insecure development mode, the x-qcash-caller metadata).
#ifndef QCASH_SERVICES_PAYMENT_POLICY_H_
#define QCASH_SERVICES_PAYMENT_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/policy.h"

namespace qcash::payment {

enum class Permission {
  kRead,     // GetChargeOrder, ListChargeOrders
  kSeller,   // ListChargeOptions, CreateChargeOrder, CompleteRedirect, CancelChargeOrder,
             // SetQsignPassword: acting for the seller of a token
  kNotify,   // HandleProviderNotification (webhooks)
  kOperate,  // ListStuckOrders, RetryCredit
};

// The one table of qcash.payment.v1.PaymentService: its grants and, for every method, the
// permission it needs and whether it acts for the request's seller.
const AccessTable& AccessPolicy();

// OK when `caller` holds `permission`. Errors: PERMISSION_DENIED (CALLER_NOT_ALLOWED).
absl::Status Authorize(absl::string_view caller, Permission permission);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_POLICY_H_
