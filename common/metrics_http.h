// Serves the process's metrics (common/metrics.h) at GET /metrics on their own port, apart from
// the service's gRPC port, so that scraping never competes with or reaches the API.
#ifndef QCASH_COMMON_METRICS_HTTP_H_
#define QCASH_COMMON_METRICS_HTTP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace qcash::metrics {

class MetricsServer {
 public:
  // Listens on `address` (host:port) from a background thread.
  // Errors: INVALID_ARGUMENT (bad address), UNAVAILABLE (cannot listen).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address);
  // Start() on QCASH_METRICS_LISTEN; nullptr when that is empty (no metrics port).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> StartFromEnv();
  virtual ~MetricsServer() = default;
  virtual int port() const = 0;
};

}  // namespace qcash::metrics

#endif  // QCASH_COMMON_METRICS_HTTP_H_
