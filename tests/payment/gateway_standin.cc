#include "tests/payment/gateway_standin.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "qcash/payment/v1/payment.grpc.pb.h"

namespace qcash::testing {

namespace pb = ::qcash::payment::v1;

int WebhookHttpStatus(int grpc_code) {
  switch (static_cast<grpc::StatusCode>(grpc_code)) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 409;
    default:
      return 503;  // retry later
  }
}

absl::StatusOr<std::unique_ptr<GatewayStandIn>> GatewayStandIn::Start(
    const std::string& payment_address) {
  std::unique_ptr<GatewayStandIn> standin(new GatewayStandIn());
  standin->server_ = std::make_unique<httplib::Server>();
  std::shared_ptr<pb::PaymentService::Stub> stub = pb::PaymentService::NewStub(
      grpc::CreateChannel(payment_address, grpc::InsecureChannelCredentials()));
  standin->server_->Post(R"(/webhooks/([^/]+))", [stub](const httplib::Request& req,
                                                        httplib::Response& res) {
    pb::HandleProviderNotificationRequest request;
    request.set_provider(req.matches[1]);
    request.set_body(req.body);  // raw bytes, untouched
    for (const auto& [name, value] : req.headers) {
      (*request.mutable_headers())[absl::AsciiStrToLower(name)] = value;
    }
    pb::HandleProviderNotificationResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    context.AddMetadata("x-qcash-caller", "gateway");
    const grpc::Status status = stub->HandleProviderNotification(&context, request, &response);
    res.status = WebhookHttpStatus(status.error_code());
    res.set_content(status.ok() ? "ok\n" : ReasonOf(FromGrpcStatus(status)) + "\n", "text/plain");
  });
  standin->port_ = standin->server_->bind_to_any_port("127.0.0.1");
  if (standin->port_ <= 0) return absl::UnavailableError("the stand-in cannot listen");
  httplib::Server* server = standin->server_.get();
  standin->thread_ = std::thread([server] { server->listen_after_bind(); });
  return standin;
}

GatewayStandIn::~GatewayStandIn() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string GatewayStandIn::base_url() const { return absl::StrCat("http://127.0.0.1:", port_); }

}  // namespace qcash::testing
