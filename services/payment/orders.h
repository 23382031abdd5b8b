// Charge orders as sellers see them: the charge options (P4), creating an order, reading it,
// the seller's return from a provider's page, cancelling, and the purchase history (P6). The
// moves themselves (the P5 state machine applied to the store, crediting) are OrderFlow's.
//
// RULE: no database connection is held across a remote call. Every operation here loads what
// it needs in one short OrderStore session (lease, read, release), then asks the wallet or the
// provider holding no lease, then applies the outcome in a fresh session as a change guarded
// by the state it saw (a move that finds the order moved on writes nothing). A slow provider
// therefore slows its own request only. Held by payment_components_test NoLeaseAcrossRemoteCall.
#ifndef QCASH_SERVICES_PAYMENT_ORDERS_H_
#define QCASH_SERVICES_PAYMENT_ORDERS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/payment/connectors/registry.h"
#include "services/payment/order.h"
#include "services/payment/order_flow.h"
#include "services/payment/qsign_vault.h"
#include "services/payment/return_link.h"
#include "services/payment/store.h"
#include "services/payment/wallet_port.h"

namespace qcash::payment {

// DESIGN.md section 9: the methods not offered while the seller has a debt from a reversed
// payment (a buyer of a pay-later method may never pay, which is how many debts start).
bool IsPayLater(Method method);

class Orders {
 public:
  // REQUIRES: every pointer outlives this object. `return_origins`: the ad-booking origins a
  // return link may lead to (none: every return URL is refused).
  Orders(OrderStore* store, OrderFlow* flow, QsignVault* vault, WalletPort* wallet,
         const ConnectorRegistry* connectors, const Clock* clock,
         ReturnOrigins return_origins = ReturnOrigins());
  Orders(const Orders&) = delete;
  Orders& operator=(const Orders&) = delete;

  struct MethodAvailability {
    const MethodInfo* info = nullptr;
    bool available = false;
    std::string unavailable_reason;
    std::vector<int64_t> denominations_yen;  // the denominations it can pay now
    int64_t funds_balance_yen = 0;           // internal funds
  };
  struct ChargeOptions {
    std::vector<MethodAvailability> methods;  // catalog order
    int64_t qcash_available_yen = 0;
    // Charging from an ad application (issue 15): what it needs, what is missing, and the
    // voucher that covers it (0: no shortfall); the accepted return link, if one was given.
    int64_t needed_yen = 0;
    int64_t shortfall_yen = 0;
    int64_t suggested_denomination_yen = 0;
    std::optional<ReturnLink> return_link;
    // The seller's debt from reversed payments (issue 16); the pay-later methods are not
    // offered while it is above 0.
    int64_t debt_yen = 0;
  };
  struct OptionsRequest {
    std::string seller_id;
    int64_t denomination_yen = 0;  // 0: availability for the smallest denomination
    int64_t needed_yen = 0;        // 0..kNeededYenMax
    std::string return_url;        // optional
  };
  static constexpr int64_t kNeededYenMax = 1'000'000'000;
  // P4. Errors: INVALID_ARGUMENT (UNKNOWN_DENOMINATION, INVALID_NEEDED_AMOUNT,
  // INVALID_RETURN_URL, RETURN_URL_NOT_ALLOWED, a bad seller id), FAILED_PRECONDITION
  // (WALLET_CLOSED), the wallet's definite refusal, the database's.
  absl::StatusOr<ChargeOptions> ListChargeOptions(const OptionsRequest& request);

  struct OrderResult {
    Order order;
    bool replayed = false;
  };
  // Creates the order (or resumes the one this idempotency key made) and takes it as far as
  // it goes now: started at the provider, or charged from internal funds and credited.
  // A pay-later method (atone, Paidy) while the seller has a debt from a reversed payment is
  // refused FAILED_PRECONDITION (DEBT_OUTSTANDING) before anything is stored (DESIGN.md 9).
  absl::StatusOr<OrderResult> CreateOrder(const CreateRequest& request);

  struct OrderView {
    Order order;
    std::vector<Transition> transitions;
    std::vector<Reversal> reversals;  // issue 16, oldest first
  };
  // Errors: NOT_FOUND (ORDER_NOT_FOUND) also for another seller's order.
  absl::StatusOr<OrderView> GetOrder(const std::string& seller_id, const std::string& order_id);

  // The seller came back from a redirect provider's page: ask the provider (never trust the
  // browser, P2) and resume. Errors: FAILED_PRECONDITION (NOT_A_REDIRECT_ORDER), the provider's.
  absl::StatusOr<Order> CompleteRedirect(const std::string& caller, const std::string& seller_id,
                                         const std::string& order_id);

  // Cancels an unpaid provider order once the provider confirms. Errors: FAILED_PRECONDITION
  // (ORDER_ALREADY_PAID, ORDER_CLOSED, ORDER_IN_PROGRESS), UNAVAILABLE (PROVIDER_UNAVAILABLE).
  absl::StatusOr<OrderResult> CancelOrder(const std::string& caller, const std::string& seller_id,
                                          const std::string& idempotency_key,
                                          const std::string& order_id);

  struct Receipt {
    Order order;
    ReceiptIssue issue;
  };
  // Records one issue of the receipt of a paid order (PAID or CREDITED), in one transaction.
  // Errors: NOT_FOUND (ORDER_NOT_FOUND) also for another seller's order,
  // FAILED_PRECONDITION (RECEIPT_NOT_AVAILABLE) for an order not paid.
  absl::StatusOr<Receipt> IssueReceipt(const std::string& seller_id, const std::string& order_id);

  // P6: newest first.
  absl::StatusOr<std::vector<Order>> ListOrders(const std::string& seller_id,
                                                const std::optional<PageCursor>& after,
                                                const std::vector<int16_t>& states, int limit);

 private:
  OrderStore* const store_;
  OrderFlow* const flow_;
  QsignVault* const vault_;
  WalletPort* const wallet_;
  const ConnectorRegistry* const connectors_;
  const Clock* const clock_;
  const ReturnOrigins return_origins_;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_ORDERS_H_
