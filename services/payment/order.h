// The charge order and its state machine (P5), and the rules that need no state: request
// validation (W2, P1), fingerprints for idempotency, and what a provider's report does to an
// order. No gRPC, no SQL, no I/O: store.cc persists these types, order_flow.cc drives them.
//
//   CREATED ──► AWAITING_PAYMENT ──► PAID ──► CREDITED
//      │  │            │   │
//      │  └──► PAID    │   └──► FAILED / EXPIRED / CANCELLED
//      └──► FAILED / EXPIRED / CANCELLED / CREDITED (internal funds: moved and credited in one
//                                                    wallet transaction)
// PAID leads only to CREDITED: after payment there is no cancellation (P5).
#ifndef QCASH_SERVICES_PAYMENT_ORDER_H_
#define QCASH_SERVICES_PAYMENT_ORDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/text.h"
#include "services/payment/catalog.h"

namespace qcash::payment {

inline constexpr size_t kPaymentTokenLengthMax = 256;
inline constexpr size_t kOrderIdLength = 35;  // "co_" + 32 hex digits

// Numbers as in the schema and qcash.payment.v1.OrderState (checked in enums.h).
enum class OrderState : int16_t {
  kCreated = 1,
  kAwaitingPayment = 2,
  kPaid = 3,
  kCredited = 4,
  kFailed = 5,
  kExpired = 6,
  kCancelled = 7,
};

absl::string_view StateName(OrderState state);
bool IsFinal(OrderState state);
bool IsOrderState(int64_t code);

// P5: whether an order of `family` may move from `from` to `to`.
bool CanTransition(Family family, OrderState from, OrderState to);

// How to pay at a counter, as the provider issued it.
struct Instructions {
  std::string institution;
  std::string payment_number;
  std::string confirmation_number;
  std::string payee_name;
  std::string url;
  absl::Time pay_by = absl::InfinitePast();

  bool empty() const { return institution.empty() && payment_number.empty() && url.empty(); }
};

struct Order {
  std::string order_id;
  std::string seller_id;
  std::string caller;           // who created it (the gateway)
  std::string idempotency_key;  // scoped to (caller, seller)
  std::string request_hash;
  int64_t amount_yen = 0;
  Method method = Method::kCard;
  Family family = Family::kInstant;
  std::string provider;  // "" for internal funds
  OrderState state = OrderState::kCreated;
  std::string provider_payment_id;
  std::string redirect_url;
  Instructions instructions;
  std::string failure_reason;
  std::string attention;  // operators must look (credit refused for good, late payment)
  absl::Time created_at = absl::InfinitePast();
  absl::Time deadline = absl::InfinitePast();
  absl::Time paid_at = absl::InfinitePast();
  absl::Time credited_at = absl::InfinitePast();
  int64_t wallet_entry_seq = 0;
  int64_t credit_attempts = 0;
  bool credit_blocked = false;
  std::string credit_error;
  // An accepted return link (return_link.h) when the order was made from an ad application.
  std::string return_url;
  // What the provider took back after payment, the sum of the order's reversals (issue 16).
  int64_t reversed_yen = 0;
};

// One recorded move of an order: who, when, why.
struct Transition {
  std::optional<OrderState> from;  // none for the creation
  OrderState to = OrderState::kCreated;
  std::string actor;  // gateway, ops, provider:<name>, reconciler
  std::string reason;
  absl::Time at = absl::InfinitePast();
};

// ---------------------------------------------------------------------------- requests

struct CreateRequest {
  std::string seller_id;
  std::string caller;
  std::string idempotency_key;
  int64_t denomination_yen = 0;  // the wire number of the Denomination enum = its price
  int64_t method_code = 0;       // the wire number of the PaymentMethod enum
  std::string payment_token;     // card only
  std::string qsign_password;    // internal funds only; never stored or logged
  std::string return_url;        // optional; checked against the allowed origins, kept on the
                                 // order, not part of the fingerprint
};

// Seller ids and idempotency keys: common/text.h.
// Errors: INVALID_ARGUMENT (INVALID_ORDER_ID).
absl::Status CheckOrderId(absl::string_view order_id);

// The rules of a charge order that need no state: seller id and key formats, one of the
// twelve denominations (W2), one of the eleven methods (P1), a card token for the card and
// only for it, a Q-sign password for the internal-funds methods and only for them (P3).
// Returns the method. Errors: INVALID_ARGUMENT with the reason of the broken rule.
absl::StatusOr<const MethodInfo*> ValidateCreate(const CreateRequest& request);

// What tells "the same request" from "another request with the same key": seller,
// denomination, method and the card token. Never the password.
std::string CreateRequestHash(const CreateRequest& request);

// A new order id: "co_" + 128 random bits in hex.
std::string NewOrderId();

// ---------------------------------------------------------------------------- provider reports

// What a provider says about a payment.
enum class ProviderStatus {
  kPending,  // created, not paid yet
  kPaid,
  kDeclined,   // refused (card declined, the seller declined on the provider's page)
  kCancelled,  // cancelled at the provider
  kExpired,    // the provider's deadline passed
  kNotFound,   // the provider has no payment for the order
};
absl::string_view ProviderStatusName(ProviderStatus status);

// Why we asked, or were told: the same report means different things in each.
enum class ReportContext {
  kObserved,      // a notification, a lookup after the redirect return, a poll
  kSellerCancel,  // we asked the provider to cancel for the seller
  kExpiry,        // we asked the provider to cancel because the deadline passed
};

struct Decision {
  std::optional<OrderState> to;  // none: the order stays as it is
  std::string reason;            // for the transition record
  std::string attention;         // set: operators must look at the order
};

// P5 applied to a provider's report: only forward moves, so duplicates and out-of-order
// reports change nothing; a payment is never undone; a payment reported for an order that
// already closed unpaid is not credited but flagged for operators (the money must go back).
Decision DecideOnReport(const Order& order, ProviderStatus status, ReportContext context,
                        absl::string_view detail);

// ---------------------------------------------------------------------------- crediting

// The wait before the reconciler's attempt number `attempts` + 1 at crediting or asking a
// provider: 1 s, 2 s, 4 s, ... at most `max`.
absl::Duration RetryBackoff(int64_t attempts, absl::Duration max);

// ---------------------------------------------------------------------------- reversals

// A payment taken back after it was paid (DESIGN.md section 9). Numbers as in the schema and
// qcash.payment.v1.ReversalKind / ReversalState (checked in enums.h).
enum class ReversalKind : int16_t { kChargeback = 1, kDefault = 2, kRefund = 3 };
enum class ReversalState : int16_t { kWaitingForCredit = 1, kApplying = 2, kApplied = 3 };

inline constexpr size_t kReversalIdLengthMax = 64;

// The provider protocol's words: chargeback | default | refund.
absl::string_view ReversalKindName(ReversalKind kind);
std::optional<ReversalKind> ParseReversalKind(absl::string_view name);
absl::string_view ReversalStateName(ReversalState state);
// Reversal ids: 1..64 of [A-Za-z0-9_.-], so that the wallet key below stays within 128.
bool IsValidReversalId(absl::string_view reversal_id);
// The wallet's idempotency key of a reversal's claw-back: one reversal is applied once,
// however often it is delivered or retried.
std::string ReversalKey(absl::string_view provider, absl::string_view reversal_id);

struct Reversal {
  std::string provider;
  std::string reversal_id;
  std::string order_id;
  std::string seller_id;
  ReversalKind kind = ReversalKind::kChargeback;
  int64_t amount_yen = 0;
  ReversalState state = ReversalState::kWaitingForCredit;
  absl::Time reversed_at = absl::InfinitePast();  // the provider's time
  absl::Time received_at = absl::InfinitePast();
  absl::Time applied_at = absl::InfinitePast();
  int64_t clawed_back_yen = 0;  // the wallet's answer, once applied
  int64_t debt_yen = 0;
  int64_t wallet_entry_seq = 0;
  int64_t attempts = 0;
  std::string last_error;
};

// What a reversal notification does to its order, decided under the order's row lock.
enum class ReversalOutcome {
  kKnown,           // this reversal id was recorded before: nothing changes
  kExceedsOrder,    // with the earlier reversals it would take back more than was paid
  kRecordWaiting,   // recorded; applied once the order is credited
  kRecordApplying,  // recorded; the wallet's claw-back starts now (the order is credited)
};
// `known`: the reversal id is recorded already. Only a CREDITED order gets its claw-back at
// once; any other state waits for the credit (a reversal before the paid notification, or of
// an order never paid, which operators see).
ReversalOutcome DecideOnReversal(const Order& order, bool known, int64_t amount_yen);

// ---------------------------------------------------------------------------- history pages

struct PageCursor {
  int64_t created_at_us = 0;
  std::string order_id;
};
std::string EncodePageToken(const PageCursor& cursor);
// Errors: INVALID_ARGUMENT (INVALID_PAGE_TOKEN).
absl::StatusOr<std::optional<PageCursor>> DecodePageToken(absl::string_view token);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_ORDER_H_
