// The Qcash provider protocol (provider_api.proto) as a Connector, and one base class per
// family (P2) that checks what a provider's answer must hold for that family. The method
// files in instant/, redirect/ and counter/ derive from these and say which provider product
// they buy.
#ifndef QCASH_SERVICES_PAYMENT_CONNECTORS_QCASH_PROTOCOL_H_
#define QCASH_SERVICES_PAYMENT_CONNECTORS_QCASH_PROTOCOL_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/payment/connectors/connector.h"

namespace qcash::payment::provider::v1 {
class Payment;
}  // namespace qcash::payment::provider::v1

namespace qcash::payment {

inline constexpr size_t kProviderBodyLengthMax = 64 * 1024;

// The provider's wire status as ours. Errors: INVALID_ARGUMENT (MALFORMED_NOTIFICATION).
absl::StatusOr<ProviderStatus> ParseProviderStatus(absl::string_view status);
ProviderPayment FromWire(const provider::v1::Payment& payment);

// Parses and authenticates a protocol notification; shared by every connector of the protocol.
absl::StatusOr<ProviderNotification> ParseQcashNotification(
    absl::string_view secret, absl::Duration skew, absl::string_view body,
    const std::map<std::string, std::string>& headers, absl::Time now);

class QcashProtocolConnector : public Connector {
 public:
  explicit QcashProtocolConnector(ConnectorConfig config);

  absl::StatusOr<ProviderPayment> Start(const StartRequest& request) override;
  absl::StatusOr<ProviderPayment> Lookup(absl::string_view order_id) override;
  absl::StatusOr<ProviderPayment> Cancel(absl::string_view order_id) override;
  absl::StatusOr<ProviderNotification> ParseNotification(
      absl::string_view body, const std::map<std::string, std::string>& headers,
      absl::Time now) const override;

 protected:
  // The provider's product for this method, e.g. "konbini" or "paypal_checkout".
  virtual absl::string_view product() const = 0;
  // What the family requires of the answer to Start. Errors: UNAVAILABLE
  // (PROVIDER_BAD_ANSWER): the answer is unusable; the outcome stays unknown.
  virtual absl::Status CheckStarted(const ProviderPayment& payment) const = 0;

 private:
  // POSTs `body` (JSON) to `path` under the base URL, signed; returns the answer's body.
  absl::StatusOr<std::string> Post(absl::string_view path, const std::string& body);
  absl::StatusOr<ProviderPayment> Call(absl::string_view path, const std::string& body,
                                       absl::string_view order_id);

  const ConnectorConfig config_;  // constant after construction
  std::string scheme_host_port_;  // "https://api.example:443"
  std::string path_prefix_;       // "/providers/paypal"
};

// Instant (card): the provider decides at once; the answer is paid or declined.
class InstantConnector : public QcashProtocolConnector {
 public:
  using QcashProtocolConnector::QcashProtocolConnector;

 protected:
  absl::Status CheckStarted(const ProviderPayment& payment) const override;
};

// Redirect-and-confirm: the answer is pending with the URL of the provider's page.
class RedirectConnector : public QcashProtocolConnector {
 public:
  using QcashProtocolConnector::QcashProtocolConnector;

 protected:
  absl::Status CheckStarted(const ProviderPayment& payment) const override;
};

// Pay later at a counter: the answer is pending with the instructions.
class CounterConnector : public QcashProtocolConnector {
 public:
  using QcashProtocolConnector::QcashProtocolConnector;

 protected:
  absl::Status CheckStarted(const ProviderPayment& payment) const override;
};

// One factory per method file.
std::unique_ptr<Connector> NewCardConnector(ConnectorConfig config);
std::unique_ptr<Connector> NewAtoneConnector(ConnectorConfig config);
std::unique_ptr<Connector> NewPaypalConnector(ConnectorConfig config);
std::unique_ptr<Connector> NewPaidyConnector(ConnectorConfig config);
std::unique_ptr<Connector> NewLinePayConnector(ConnectorConfig config);
std::unique_ptr<Connector> NewAuEasyPaymentConnector(ConnectorConfig config);
std::unique_ptr<Connector> NewBankTransferConnector(ConnectorConfig config);
std::unique_ptr<Connector> NewConvenienceStoreConnector(ConnectorConfig config);
std::unique_ptr<Connector> NewNetBankingConnector(ConnectorConfig config);

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_CONNECTORS_QCASH_PROTOCOL_H_
