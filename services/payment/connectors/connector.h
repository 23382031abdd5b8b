// A connector is what the payment service knows about one payment method's provider: how to
// start a payment, look it up, cancel it, and read (and authenticate) its notifications. One
// implementation per method, grouped by family (P2) in instant/, redirect/ and counter/; the
// internal-funds methods have no provider and no connector.
//
// Adding a real provider is one new file: a class implementing Connector (its own request
// signing and notification parsing) and a line in registry.cc. The connectors in this folder
// all speak the Qcash provider protocol (provider_api.proto, qcash_protocol.h), which the
// development sandbox plays.
//
// Every call names the payment by our order id (the provider's merchant reference), so a
// retried Start never pays twice and a payment whose Start answer was lost can still be
// found, cancelled or completed.
#ifndef QCASH_SERVICES_PAYMENT_CONNECTORS_CONNECTOR_H_
#define QCASH_SERVICES_PAYMENT_CONNECTORS_CONNECTOR_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/payment/catalog.h"
#include "services/payment/order.h"
#include "services/payment/signature.h"

namespace qcash::payment {

struct ConnectorConfig {
  std::string base_url;  // scheme://host[:port][/path prefix]
  std::string secret;    // signs our requests and the provider's notifications (P7)
  // Development only: accept answers from the sandbox (they carry X-Qcash-Sandbox: 1).
  bool allow_sandbox = false;
  absl::Duration skew = kSkewDefault;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{5000};
};

struct StartRequest {
  std::string order_id;
  std::string seller_id;
  int64_t amount_yen = 0;
  std::string return_url;  // redirect family
  absl::Time deadline;
  std::string payment_token;  // card
};

// What the provider says about one payment.
struct ProviderPayment {
  ProviderStatus status = ProviderStatus::kPending;
  std::string payment_id;
  std::string merchant_reference;  // our order id
  int64_t amount_yen = 0;
  std::string currency;
  std::string redirect_url;
  Instructions instructions;
  std::string decline_reason;
};

// A payment the provider took back after it was paid (event "payment.reversed", issue 16).
struct ProviderReversal {
  std::string reversal_id;  // IsValidReversalId
  ReversalKind kind = ReversalKind::kChargeback;
  int64_t amount_yen = 0;  // > 0; this part of the payment
  absl::Time reversed_at = absl::InfinitePast();
};

inline constexpr absl::string_view kReversedEventType = "payment.reversed";

struct ProviderNotification {
  std::string event_id;
  std::string type;
  ProviderPayment payment;
  std::optional<ProviderReversal> reversal;  // set exactly for type kReversedEventType
};

class Connector {
 public:
  virtual ~Connector() = default;

  virtual Method method() const = 0;
  Family family() const { return InfoOf(method()).family; }
  absl::string_view provider() const { return InfoOf(method()).provider; }

  // Creates the payment at the provider (idempotent per order id). Instant: the answer is
  // paid or declined. Redirect: pending with the URL of the provider's page. Counter: pending
  // with the instructions.
  // Errors: UNAVAILABLE (PROVIDER_UNAVAILABLE, PROVIDER_BAD_ANSWER): the outcome is unknown,
  // ask again with the same order id; UNAVAILABLE (PROVIDER_AUTH_FAILED): the provider refused
  // our credentials, a configuration fault; INVALID_ARGUMENT (PROVIDER_REJECTED): the provider
  // refused the request;
  // FAILED_PRECONDITION (SANDBOX_REFUSED): the answer came from the development sandbox and
  // this process is not configured for development.
  virtual absl::StatusOr<ProviderPayment> Start(const StartRequest& request) = 0;

  // The payment as the provider sees it now. Errors: as Start, plus NOT_FOUND
  // (PAYMENT_NOT_FOUND) when the provider has none for the order.
  virtual absl::StatusOr<ProviderPayment> Lookup(absl::string_view order_id) = 0;

  // Asks the provider to cancel an unpaid payment; the answer is the payment afterwards:
  // cancelled, or paid when the seller was faster. Errors: as Lookup.
  virtual absl::StatusOr<ProviderPayment> Cancel(absl::string_view order_id) = 0;

  // Authenticates (P7: signature over the timestamp and the raw body, bounded skew) and
  // parses one notification. Errors: UNAUTHENTICATED (MISSING_SIGNATURE, INVALID_SIGNATURE,
  // STALE_TIMESTAMP), INVALID_ARGUMENT (MALFORMED_NOTIFICATION).
  virtual absl::StatusOr<ProviderNotification> ParseNotification(
      absl::string_view body, const std::map<std::string, std::string>& headers,
      absl::Time now) const = 0;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_CONNECTORS_CONNECTOR_H_
