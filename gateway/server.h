// The gateway: Qcash's only HTTP entry. It serves
//   /api/v1/...          the seller JSON API (routes.h), authenticated by the seller's token,
//                        rate-limited per seller, CSRF-checked when the token came by cookie
//   /webhooks/<provider> provider notifications, passed raw to the payment service
//   /, /charge, ...      the seller pages (Japanese, static HTML + a little JavaScript)
//   /openapi.json        the API description, generated from the routes and the protos
//   /healthz, /readyz    liveness and readiness
//   /dev/login           a development login that issues tokens (development configuration only)
// on cpp-httplib's worker pool, with bounded bodies and headers and strict security headers on
// every response. docs/GATEWAY.md says why this library and how the pieces fit.
#ifndef QCASH_GATEWAY_SERVER_H_
#define QCASH_GATEWAY_SERVER_H_

#include <atomic>
#include <memory>
#include <string>

#include "gateway/auth.h"
#include "gateway/rate_limit.h"
#include "gateway/upstream.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace qcash::gateway {

class Gateway {
 public:
  struct Options {
    int threads = 32;
    size_t body_max_bytes = 64 * 1024;
    size_t headers_max_bytes = 16 * 1024;
    bool secure_cookies = true;      // false only for plain-HTTP development
    // Development login (never in production): issues tokens with this private key.
    bool dev_login = false;
    std::string dev_token_private_key_pem;
    std::string token_issuer;
    std::string token_audience;
    absl::Duration session_ttl = absl::Hours(8);
  };

  // `limiter` counts per seller; `webhook_limiter` per payment provider.
  Gateway(Options options, const Authenticator* auth, Upstreams* upstreams, RateLimiter* limiter,
          RateLimiter* webhook_limiter);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds `host`:`port` (0: any free port). Returns the port, or -1.
  int Bind(const std::string& host, int port);
  // Serves until Stop(); call from its own thread.
  void Serve();
  // Readiness (/readyz): false from the moment shutdown begins.
  void SetReady(bool ready) { ready_.store(ready); }
  // Stops accepting; in-flight requests finish.
  void Stop();

 private:
  void RegisterRoutes();
  void HandleApi(const Route& route, const httplib::Request& request,
                 httplib::Response& response);
  void HandleWebhook(const httplib::Request& request, httplib::Response& response);
  void HandleDevLogin(const httplib::Request& request, httplib::Response& response);
  void HandlePage(const std::string& name, const httplib::Request& request,
                  httplib::Response& response);

  const Options options_;
  const Authenticator* const auth_;
  Upstreams* const upstreams_;
  RateLimiter* const limiter_;
  RateLimiter* const webhook_limiter_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> ready_{false};
  std::string openapi_json_;  // built once at start
};

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_SERVER_H_
