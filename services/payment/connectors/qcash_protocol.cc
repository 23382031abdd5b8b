#include "services/payment/connectors/qcash_protocol.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "services/payment/connectors/provider_api.pb.h"

namespace qcash::payment {
namespace {

namespace wire = ::qcash::payment::provider::v1;

absl::Status ProviderUnavailable(absl::string_view provider, absl::string_view what) {
  return Unavailable(payment::v1::PROVIDER_UNAVAILABLE, absl::StrCat(provider, ": ", what));
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // Cannot fail for our own well-formed messages.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

bool FromJson(absl::string_view json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // providers add fields; that must not break us
  return google::protobuf::util::JsonStringToMessage(std::string(json), message, options).ok();
}

}  // namespace

absl::StatusOr<ProviderStatus> ParseProviderStatus(absl::string_view status) {
  if (status == "pending") return ProviderStatus::kPending;
  if (status == "paid") return ProviderStatus::kPaid;
  if (status == "declined") return ProviderStatus::kDeclined;
  if (status == "cancelled") return ProviderStatus::kCancelled;
  if (status == "expired") return ProviderStatus::kExpired;
  return InvalidArgument(payment::v1::MALFORMED_NOTIFICATION,
                         absl::StrCat("unknown payment status '", status.substr(0, 32), "'"));
}

ProviderPayment FromWire(const wire::Payment& payment) {
  ProviderPayment out;
  out.payment_id = payment.payment_id();
  out.merchant_reference = payment.merchant_reference();
  out.amount_yen = payment.amount_yen();
  out.currency = payment.currency();
  out.redirect_url = payment.redirect_url();
  out.decline_reason = payment.decline_reason();
  out.instructions.institution = payment.instructions().institution();
  out.instructions.payment_number = payment.instructions().payment_number();
  out.instructions.confirmation_number = payment.instructions().confirmation_number();
  out.instructions.payee_name = payment.instructions().payee_name();
  out.instructions.url = payment.instructions().url();
  if (payment.pay_by_unix() > 0) {
    out.instructions.pay_by = absl::FromUnixSeconds(payment.pay_by_unix());
  }
  return out;
}

absl::StatusOr<ProviderNotification> ParseQcashNotification(
    absl::string_view secret, absl::Duration skew, absl::string_view body,
    const std::map<std::string, std::string>& headers, absl::Time now) {
  if (absl::Status s = VerifySignature(secret, headers, body, now, skew); !s.ok()) return s;
  wire::Event event;
  if (!FromJson(body, &event)) {
    return InvalidArgument(payment::v1::MALFORMED_NOTIFICATION, "the body is not a provider event");
  }
  if (event.event_id().empty() || event.event_id().size() > 128 ||
      event.payment().merchant_reference().empty()) {
    return InvalidArgument(payment::v1::MALFORMED_NOTIFICATION,
                           "an event needs an event_id (1..128) and the merchant_reference");
  }
  auto status = ParseProviderStatus(event.payment().status());
  if (!status.ok()) return status.status();
  ProviderNotification notification;
  notification.event_id = event.event_id();
  notification.type = event.type().substr(0, 64);
  notification.payment = FromWire(event.payment());
  notification.payment.status = *status;
  if (event.type() == kReversedEventType) {
    // Issue 16: the payment as it is, and what was taken back of it.
    const wire::Reversal& r = event.reversal();
    const std::optional<ReversalKind> kind = ParseReversalKind(r.kind());
    if (!IsValidReversalId(r.reversal_id()) || !kind.has_value() || r.amount_yen() <= 0) {
      return InvalidArgument(payment::v1::MALFORMED_NOTIFICATION,
                             "a payment.reversed event needs a reversal with a reversal_id "
                             "(1..64 of [A-Za-z0-9_.-]), a kind (chargeback, default, refund) "
                             "and an amount_yen above 0");
    }
    ProviderReversal reversal;
    reversal.reversal_id = r.reversal_id();
    reversal.kind = *kind;
    reversal.amount_yen = r.amount_yen();
    if (r.created_unix() > 0) reversal.reversed_at = absl::FromUnixSeconds(r.created_unix());
    notification.reversal = std::move(reversal);
  }
  return notification;
}

QcashProtocolConnector::QcashProtocolConnector(ConnectorConfig config)
    : config_(std::move(config)) {
  // "https://host:port/prefix" -> "https://host:port" + "/prefix"
  const size_t scheme = config_.base_url.find("://");
  const size_t slash = config_.base_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  scheme_host_port_ = config_.base_url.substr(0, slash);
  path_prefix_ = slash == std::string::npos ? "" : config_.base_url.substr(slash);
  while (absl::EndsWith(path_prefix_, "/")) path_prefix_.pop_back();
}

absl::StatusOr<std::string> QcashProtocolConnector::Post(absl::string_view path,
                                                         const std::string& body) {
  httplib::Client client(scheme_host_port_);
  client.set_connection_timeout(config_.connect_timeout);
  client.set_read_timeout(config_.read_timeout);
  client.set_write_timeout(config_.read_timeout);
  const int64_t now_s = absl::ToUnixSeconds(absl::Now());
  httplib::Headers headers = {
      {std::string(kTimestampHeader), absl::StrCat(now_s)},
      {std::string(kSignatureHeader), Sign(config_.secret, now_s, body)},
  };
  const std::string url = absl::StrCat(path_prefix_, path);
  httplib::Result result = client.Post(url.c_str(), headers, body, "application/json");
  if (!result) {
    // The request may or may not have arrived: the outcome is unknown.
    return ProviderUnavailable(provider(), httplib::to_string(result.error()));
  }
  const httplib::Response& response = *result;
  if (response.has_header(std::string(kSandboxHeader).c_str()) && !config_.allow_sandbox) {
    return FailedPrecondition(payment::v1::SANDBOX_REFUSED,
                              absl::StrCat(provider(),
                                           " answered from the development sandbox; "
                                           "set QCASH_PAYMENT_DEV_SANDBOX=1 only in "
                                           "development"));
  }
  if (response.body.size() > kProviderBodyLengthMax) {
    return Unavailable(payment::v1::PROVIDER_BAD_ANSWER,
                       absl::StrCat(provider(), ": answer too large"));
  }
  if (response.status == 200) return response.body;
  wire::Error error;
  (void)FromJson(response.body, &error);
  const std::string detail =
      absl::StrCat(provider(), " answered ", response.status, " ", error.code().substr(0, 64), ": ",
                   error.message().substr(0, 200));
  if (response.status == 404) return NotFound(payment::v1::PAYMENT_NOT_FOUND, detail);
  if (response.status == 401 || response.status == 403) {
    // Our credentials are wrong (a rotated or mistyped secret): a fault of this deployment,
    // not of the order, which stays open until the configuration is fixed.
    return Unavailable(payment::v1::PROVIDER_AUTH_FAILED, detail);
  }
  if (response.status >= 400 && response.status < 500 && response.status != 408 &&
      response.status != 429) {
    return InvalidArgument(payment::v1::PROVIDER_REJECTED, detail);
  }
  return Unavailable(payment::v1::PROVIDER_UNAVAILABLE, detail);
}

absl::StatusOr<ProviderPayment> QcashProtocolConnector::Call(absl::string_view path,
                                                             const std::string& body,
                                                             absl::string_view order_id) {
  auto answer = Post(path, body);
  if (!answer.ok()) return answer.status();
  wire::Payment payment;
  if (!FromJson(*answer, &payment)) {
    return Unavailable(payment::v1::PROVIDER_BAD_ANSWER,
                       absl::StrCat(provider(), ": the answer is not a payment"));
  }
  auto status = ParseProviderStatus(payment.status());
  if (!status.ok()) {
    return Unavailable(payment::v1::PROVIDER_BAD_ANSWER, std::string(status.status().message()));
  }
  // An answer about another payment is a provider bug; never apply it to this order.
  if (payment.merchant_reference() != order_id) {
    return Unavailable(payment::v1::PROVIDER_BAD_ANSWER,
                       absl::StrCat(provider(), ": the answer is about another order"));
  }
  ProviderPayment out = FromWire(payment);
  out.status = *status;
  return out;
}

absl::StatusOr<ProviderPayment> QcashProtocolConnector::Start(const StartRequest& request) {
  wire::CreatePayment create;
  create.set_merchant_reference(request.order_id);
  create.set_amount_yen(request.amount_yen);
  create.set_currency("JPY");
  create.set_method(std::string(product()));
  create.set_return_url(request.return_url);
  create.set_pay_by_unix(absl::ToUnixSeconds(request.deadline));
  create.set_payment_token(request.payment_token);
  create.set_description(DenominationLabel(request.amount_yen));
  auto payment = Call("/v1/payments", ToJson(create), request.order_id);
  if (!payment.ok()) return payment.status();
  if (payment->amount_yen != request.amount_yen || payment->currency != "JPY") {
    return Unavailable(payment::v1::PROVIDER_BAD_ANSWER,
                       absl::StrCat(provider(), ": the payment is for another amount"));
  }
  if (absl::Status s = CheckStarted(*payment); !s.ok()) return s;
  return payment;
}

absl::StatusOr<ProviderPayment> QcashProtocolConnector::Lookup(absl::string_view order_id) {
  wire::PaymentRef ref;
  ref.set_merchant_reference(std::string(order_id));
  return Call("/v1/payments/lookup", ToJson(ref), order_id);
}

absl::StatusOr<ProviderPayment> QcashProtocolConnector::Cancel(absl::string_view order_id) {
  wire::PaymentRef ref;
  ref.set_merchant_reference(std::string(order_id));
  return Call("/v1/payments/cancel", ToJson(ref), order_id);
}

absl::StatusOr<ProviderNotification> QcashProtocolConnector::ParseNotification(
    absl::string_view body, const std::map<std::string, std::string>& headers,
    absl::Time now) const {
  return ParseQcashNotification(config_.secret, config_.skew, body, headers, now);
}

absl::Status InstantConnector::CheckStarted(const ProviderPayment& payment) const {
  if (payment.status != ProviderStatus::kPaid && payment.status != ProviderStatus::kDeclined) {
    return Unavailable(payment::v1::PROVIDER_BAD_ANSWER,
                       absl::StrCat(provider(), ": an instant payment must be decided at once"));
  }
  return absl::OkStatus();
}

absl::Status RedirectConnector::CheckStarted(const ProviderPayment& payment) const {
  if (payment.status == ProviderStatus::kPending &&
      !absl::StartsWith(payment.redirect_url, "https://") &&
      !absl::StartsWith(payment.redirect_url, "http://")) {
    return Unavailable(payment::v1::PROVIDER_BAD_ANSWER,
                       absl::StrCat(provider(), ": a pending redirect payment needs its URL"));
  }
  return absl::OkStatus();
}

absl::Status CounterConnector::CheckStarted(const ProviderPayment& payment) const {
  if (payment.status == ProviderStatus::kPending && payment.instructions.empty()) {
    return Unavailable(payment::v1::PROVIDER_BAD_ANSWER,
                       absl::StrCat(provider(), ": a counter payment needs its instructions"));
  }
  return absl::OkStatus();
}

}  // namespace qcash::payment
