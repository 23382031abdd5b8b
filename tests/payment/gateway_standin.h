// THE GATEWAY'S STAND-IN, for these tests only, until the gateway (issue #6) exists.
//
// It does exactly what the gateway will do for provider webhooks: POST /webhooks/<provider>
// with the raw body and the request headers -> PaymentService.HandleProviderNotification as
// caller `gateway` -> 2xx only when the call returned OK (the notification is durably
// recorded), otherwise 4xx/5xx so that the provider delivers again. Nothing else.
#ifndef QCASH_TESTS_PAYMENT_GATEWAY_STANDIN_H_
#define QCASH_TESTS_PAYMENT_GATEWAY_STANDIN_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace qcash::testing {

class GatewayStandIn {
 public:
  // Listens on a free loopback port and forwards to the payment service at `payment_address`.
  static absl::StatusOr<std::unique_ptr<GatewayStandIn>> Start(const std::string& payment_address);
  ~GatewayStandIn();

  int port() const { return port_; }
  std::string base_url() const;

 private:
  GatewayStandIn() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// The HTTP status the gateway answers a provider for a notification call's gRPC code.
int WebhookHttpStatus(int grpc_code);

}  // namespace qcash::testing

#endif  // QCASH_TESTS_PAYMENT_GATEWAY_STANDIN_H_
