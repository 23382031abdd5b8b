#include "common/metrics_http.h"

#include <httplib.h>

#include <thread>

#include "absl/strings/numbers.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"

namespace qcash::metrics {
namespace {

class HttpMetricsServer final : public MetricsServer {
 public:
  HttpMetricsServer() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(2); };
    server_.Get("/metrics", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(Registry::Global().Render(), "text/plain; version=0.0.4");
    });
  }
  ~HttpMetricsServer() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  bool Listen(const std::string& host, int port) {
    port_ =
        port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
    if (port_ < 0) return false;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    return true;
  }
  int port() const override { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::StartFromEnv() {
  const std::string address = EnvString("QCASH_METRICS_LISTEN", "");
  if (address.empty()) return std::unique_ptr<MetricsServer>();
  return Start(address);
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return InvalidArgument(common::v1::INVALID_CONFIG, "the metrics address must be host:port");
  }
  auto server = std::make_unique<HttpMetricsServer>();
  if (!server->Listen(address.substr(0, colon), port)) {
    return Unavailable(common::v1::LISTEN_FAILED, "cannot listen on " + address + " for metrics");
  }
  return server;
}

}  // namespace qcash::metrics
