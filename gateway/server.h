// The gateway: Qcash's only HTTP entry. It serves
//   /api/v1/...          the seller JSON API (routes.h), authenticated by the seller's token,
//                        rate-limited per seller, CSRF-checked when the token came by cookie
//   /webhooks/<provider> provider notifications, passed raw to the payment service
//   /, /charge, ...      the seller pages (Japanese, static HTML + a little JavaScript)
//   /openapi.json        the API description, generated from the routes and the protos
//   /healthz, /readyz    liveness and readiness
//   /dev/login           a development login that issues tokens (development builds only,
//                        QCASH_DEVELOPMENT_BUILD, and then only when configured)
// on the HTTP server of http_server.h (Boost.Beast: limits on the wire, a bounded worker pool,
// the health checks answered on the I/O threads), with strict security headers on every
// response. docs/GATEWAY.md says why this library and how the pieces fit.
//
// The gateway's own error reasons (domain gateway.qcash), besides those of auth.h and
// transcode.h: MALFORMED_REQUEST (400), HEADERS_TOO_LARGE (431), BODY_TOO_LARGE (413),
// UNSUPPORTED_CONTENT_ENCODING (415), UNSUPPORTED_MEDIA_TYPE (415: an API body that is not
// application/json), BODY_MISSING (400), UNKNOWN_PROVIDER (404: /webhooks/<name> of no
// provider), NO_SUCH_PAGE (404), RATE_LIMITED (429), GATEWAY_BUSY (503: every worker busy and
// the queue full; retry after Retry-After), GATEWAY_ERROR (500).
#ifndef QCASH_GATEWAY_SERVER_H_
#define QCASH_GATEWAY_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/auth.h"
#include "gateway/documents/documents.h"
#include "gateway/http_server.h"
#include "gateway/rate_limit.h"
#include "gateway/routes.h"
#include "gateway/upstream.h"

namespace qcash::gateway {

class Gateway {
 public:
  struct Options {
    // Limits, timeouts, connection caps and threads of the HTTP server (http_server.h).
    HttpServer::Options http;
    // Secure cookies with the __Host- prefix, and HSTS; false only for plain-HTTP development.
    bool secure_cookies = true;
    std::string token_issuer;
    std::string token_audience;
    absl::Duration session_ttl = absl::Hours(8);
    // Who issues Qcash: named on every receipt and invoice (paperwork.h). Required.
    Issuer issuer;
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
    // Development login (never in production): issues tokens with this private key.
    bool dev_login = false;
    std::string dev_token_private_key_pem;
#endif
  };

  // `limiter` counts per seller; `webhook_limiter` per payment provider and
  // `webhook_address_limiter` per client address, both for /webhooks.
  Gateway(Options options, const Authenticator* auth, Upstreams* upstreams, RateLimiter* limiter,
          RateLimiter* webhook_limiter, RateLimiter* webhook_address_limiter);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds `host`:`port` (0: any free port). Returns the port, or -1.
  int Bind(const std::string& host, int port);
  // Serves until Stop() and the last request in flight has been answered; call from its own
  // thread.
  void Serve();
  // Readiness (/readyz): false from the moment shutdown begins.
  void SetReady(bool ready) { ready_.store(ready); }
  // Stops accepting; in-flight requests finish.
  void Stop();

  // The cookie names: __Host-qcash_session and __Host-qcash_csrf with secure cookies (Secure,
  // Path=/, no Domain: no other origin can set them), the plain names in plain-HTTP development.
  std::string SessionCookieName() const;
  std::string CsrfCookieName() const;

 private:
  // One row of the routing table: method, a path pattern (routes.h MatchPath), and what
  // answers it. The handler gets the pattern's `{name}` segments, not yet decoded.
  struct PathRoute {
    std::string method;
    std::string pattern;
    std::function<void(const HttpRequest&, const std::vector<std::string>&, HttpResponse&)> handle;
  };

  void RegisterRoutes();
  void Handle(const HttpRequest& request, HttpResponse& response);
  void Refuse(HttpRefusal why, const HttpRequest& request, HttpResponse& response);
  // Counts one request of `seller` against the per-seller limit: OK, or RESOURCE_EXHAUSTED
  // (RATE_LIMITED) with the Retry-After header set on `response`.
  absl::Status AllowSeller(const std::string& seller, HttpResponse& response);
  void HandleApi(const Route& route, const HttpRequest& request,
                 const std::vector<std::string>& params, HttpResponse& response);
  void HandleWebhook(const HttpRequest& request, const std::string& provider,
                     HttpResponse& response);
  void HandlePage(const std::string& name, const HttpRequest& request, HttpResponse& response);
  // GET /documents/receipts/<order_id>.pdf and /documents/statements/<YYYY-MM>.pdf|.csv
  // (paperwork.h), for the seller of the token, like the JSON API. A failure a browser
  // navigated to is a short Japanese page with a way back, not a JSON body.
  void HandleDocument(const std::string& kind, const std::string& segment,
                      const HttpRequest& request, HttpResponse& response);
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  void HandleDevLogin(const HttpRequest& request, HttpResponse& response);
#endif
  // The Cookie header as the Authenticator reads it: with secure cookies only the __Host-
  // session cookie counts (under the name auth.h expects), never a plain one.
  std::string CookiesForAuth(const HttpRequest& request) const;

  const Options options_;
  const Authenticator* const auth_;
  Upstreams* const upstreams_;
  RateLimiter* const limiter_;
  RateLimiter* const webhook_limiter_;
  RateLimiter* const webhook_address_limiter_;
  std::vector<PathRoute> routes_;  // constant after construction
  std::atomic<bool> ready_{false};
  std::string openapi_json_;  // built once at start
  std::unique_ptr<HttpServer> server_;
};

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_SERVER_H_
