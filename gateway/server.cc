#include "gateway/server.h"

#include <httplib.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "gateway/assets.h"
#include "gateway/errors.h"
#include "gateway/openapi.h"
#include "gateway/transcode.h"
#include "qcash/payment/v1/payment.pb.h"
#include "qcash/wallet/v1/wallet.pb.h"

namespace qcash::gateway {
namespace {

constexpr char kDomain[] = "gateway.qcash";

// Every response: no sniffing, no framing, no referrers, and a policy that allows only our
// own scripts, styles and API (pages never inline script or style).
const httplib::Headers& SecurityHeaders() {
  static const auto* const kHeaders = new httplib::Headers{
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"},
      {"Cache-Control", "no-store"},
  };
  return *kHeaders;
}

std::string RandomHex(int bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  return absl::BytesToHexString(raw);
}

// The caller's X-Request-Id when it is sane, else a new one.
std::string RequestId(const httplib::Request& request) {
  const std::string given = request.get_header_value("X-Request-Id");
  if (!given.empty() && given.size() <= 64 &&
      std::all_of(given.begin(), given.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      })) {
    return given;
  }
  return RandomHex(8);
}

metrics::Counter* HttpRequests() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_http_requests_total", "HTTP requests by route pattern and status.",
      {"route", "status"});
  return counter;
}

metrics::Histogram* HttpSeconds() {
  static auto* const histogram = metrics::Registry::Global().NewHistogram(
      "qcash_http_request_seconds", "Time to answer an HTTP request, by route pattern.",
      {"route"});
  return histogram;
}

// Counts one request under its route pattern (never the raw path, which is unbounded).
class RequestTimer {
 public:
  RequestTimer(std::string route, const httplib::Response& response)
      : route_(std::move(route)), response_(response), start_(absl::Now()) {}
  ~RequestTimer() {
    // A handler that only sets content leaves the status unset (-1): cpp-httplib sends 200.
    HttpRequests()->Add({route_, absl::StrCat(response_.status < 0 ? 200 : response_.status)});
    HttpSeconds()->Observe({route_}, absl::ToDoubleSeconds(absl::Now() - start_));
  }

 private:
  const std::string route_;
  const httplib::Response& response_;
  const absl::Time start_;
};

void SendError(httplib::Response& response, const absl::Status& status) {
  response.status = HttpStatusFor(status.code());
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    response.set_header("WWW-Authenticate", "Bearer realm=\"qcash\"");
  }
  response.set_content(ErrorBody(status, kDomain), "application/json");
}

// `/api/v1/charge/orders/{order_id}` -> `^/api/v1/charge/orders/([^/]+)$` and {"order_id"}.
std::pair<std::string, std::vector<std::string>> PathPattern(const std::string& path) {
  static const std::regex param(R"(\{([a-z_]+)\})");
  std::vector<std::string> names;
  for (std::sregex_iterator it(path.begin(), path.end(), param), end; it != end; ++it) {
    names.push_back((*it)[1].str());
  }
  std::string pattern = std::regex_replace(path, param, "([^/]+)");
  pattern = absl::StrReplaceAll(pattern, {{".", "\\."}});
  return {pattern, names};
}

size_t HeadersSize(const httplib::Request& request) {
  size_t n = 0;
  for (const auto& [name, value] : request.headers) n += name.size() + value.size() + 4;
  return n;
}

}  // namespace

Gateway::Gateway(Options options, const Authenticator* auth, Upstreams* upstreams,
                 RateLimiter* limiter, RateLimiter* webhook_limiter)
    : options_(std::move(options)),
      auth_(auth),
      upstreams_(upstreams),
      limiter_(limiter),
      webhook_limiter_(webhook_limiter),
      server_(std::make_unique<httplib::Server>()),
      openapi_json_(GenerateOpenApi(Routes())) {
  const int threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(options_.body_max_bytes);
  server_->set_read_timeout(10, 0);
  server_->set_write_timeout(10, 0);
  server_->set_keep_alive_max_count(1000);
  httplib::Headers headers = SecurityHeaders();
  if (options_.secure_cookies) {
    headers.emplace("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  }
  server_->set_default_headers(headers);
  server_->set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        response.set_header("X-Request-Id", RequestId(request));
        if (HeadersSize(request) > options_.headers_max_bytes) {
          SendError(response, InvalidArgument("HEADERS_TOO_LARGE", "the request headers are too "
                                                                  "large"));
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  server_->set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (!response.body.empty()) return;
    if (response.status == 413) {
      response.set_content(ErrorBody(InvalidArgument("BODY_TOO_LARGE", "the request body is "
                                                                        "too large"),
                                     kDomain),
                           "application/json");
    } else if (response.status == 404) {
      response.set_content(ErrorBody(NotFound("NO_SUCH_PAGE", "there is nothing here"), kDomain),
                           "application/json");
    }
  });
  server_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
        SendError(response, Internal("GATEWAY_ERROR", "the gateway failed; retry"));
      });
  server_->set_logger([](const httplib::Request& request, const httplib::Response& response) {
    // Never the query string or the body: they may carry what must not be logged.
    Log(LogLevel::kInfo, "http",
        {{"method", request.method},
         {"path", request.path},
         {"status", response.status},
         {"request_id", response.get_header_value("X-Request-Id")}});
  });
  RegisterRoutes();
}

Gateway::~Gateway() = default;

int Gateway::Bind(const std::string& host, int port) {
  if (port == 0) return server_->bind_to_any_port(host);
  return server_->bind_to_port(host, port) ? port : -1;
}

void Gateway::Serve() {
  ready_.store(true);
  server_->listen_after_bind();
}

void Gateway::Stop() {
  ready_.store(false);
  server_->stop();
}

void Gateway::RegisterRoutes() {
  for (const Route& route : Routes()) {
    const std::string pattern = PathPattern(route.path).first;
    auto handler = [this, &route](const httplib::Request& request,
                                  httplib::Response& response) {
      HandleApi(route, request, response);
    };
    if (route.http_method == "GET") {
      server_->Get(pattern, handler);
    } else if (route.http_method == "POST") {
      server_->Post(pattern, handler);
    } else if (route.http_method == "PUT") {
      server_->Put(pattern, handler);
    }
  }
  server_->Post(R"(/webhooks/([a-z0-9_-]{1,32}))",
                [this](const httplib::Request& request, httplib::Response& response) {
                  HandleWebhook(request, response);
                });
  server_->Get("/openapi.json", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(openapi_json_, "application/json");
  });
  server_->Get("/favicon.ico", [](const httplib::Request&, httplib::Response& response) {
    response.status = 204;  // no icon; and no 404 in every page load's console
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& response) {
    const bool ready = ready_.load();
    response.status = ready ? 200 : 503;
    response.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
  if (options_.dev_login) {
    server_->Get("/dev/login", [this](const httplib::Request& request,
                                      httplib::Response& response) {
      HandlePage("login.html", request, response);
    });
    server_->Post("/dev/login", [this](const httplib::Request& request,
                                       httplib::Response& response) {
      HandleDevLogin(request, response);
    });
  }
  for (const auto& [path, page] : std::vector<std::pair<std::string, std::string>>{
           {"/", "index.html"},
           {"/charge", "charge.html"},
           {"/charge/done", "charge_done.html"},
           {"/history", "history.html"},
           {"/vouchers", "vouchers.html"},
           {"/points", "points.html"},
           {"/points/products", "products.html"},
           {"/points/past", "past.html"}}) {
    server_->Get(path, [this, page = page](const httplib::Request& request,
                                           httplib::Response& response) {
      HandlePage(page, request, response);
    });
  }
  server_->Get(R"(/static/([a-z_]+\.(js|css)))",
               [](const httplib::Request& request, httplib::Response& response) {
                 const Asset* asset = FindAsset(request.matches[1].str());
                 if (asset == nullptr) {
                   response.status = 404;
                   return;
                 }
                 response.set_header("Cache-Control", "no-cache");
                 response.set_content(asset->body, asset->content_type);
               });
}

void Gateway::HandleApi(const Route& route, const httplib::Request& request,
                        httplib::Response& response) {
  RequestTimer timer(absl::StrCat(route.http_method, " ", route.path), response);
  auto caller = auth_->Authenticate(request.get_header_value("Authorization"),
                                    request.get_header_value("Cookie"), absl::Now());
  if (!caller.ok()) return SendError(response, caller.status());
  if (route.http_method != "GET") {
    if (absl::Status csrf = auth_->CheckCsrf(*caller, request.get_header_value(kCsrfHeader));
        !csrf.ok()) {
      return SendError(response, csrf);
    }
  }
  const RateLimiter::Decision decision = limiter_->Allow(caller->claims.seller_id);
  if (!decision.allowed) {
    response.set_header("Retry-After", absl::StrCat(decision.retry_after_s));
    return SendError(response, Error(absl::StatusCode::kResourceExhausted, "RATE_LIMITED",
                                     "too many requests; retry after the Retry-After seconds"));
  }
  HttpInput input;
  input.method = route.http_method;
  const auto [pattern, names] = PathPattern(route.path);
  for (size_t i = 0; i < names.size() && i + 1 < request.matches.size(); ++i) {
    input.path_params[names[i]] = request.matches[i + 1].str();
  }
  for (const auto& [key, value] : request.params) input.query.emplace(key, value);
  input.body = request.body;
  input.idempotency_key = request.get_header_value("Idempotency-Key");
  auto message = BuildRequest(route, input, caller->claims.seller_id);
  if (!message.ok()) return SendError(response, message.status());
  std::unique_ptr<google::protobuf::Message> answer = NewMessage(route.response);
  CallMeta meta{response.get_header_value("X-Request-Id"), caller->token};
  if (absl::Status s = upstreams_->Call(route.upstream, route.rpc, **message, answer.get(), meta);
      !s.ok()) {
    Log(LogLevel::kInfo, "api_refused",
        {{"rpc", route.rpc},
         {"seller_id", caller->claims.seller_id},
         {"code", absl::StatusCodeToString(s.code())},
         {"reason", ReasonOf(s)},
         {"request_id", meta.request_id}});
    return SendError(response, s);
  }
  response.set_content(ToJson(*answer), "application/json");
}

void Gateway::HandleWebhook(const httplib::Request& request, httplib::Response& response) {
  RequestTimer timer("POST /webhooks/{provider}", response);
  const std::string provider = request.matches[1].str();
  // A flood of junk must not fill the payment service's record of rejected notifications.
  const RateLimiter::Decision decision = webhook_limiter_->Allow("webhook:" + provider);
  if (!decision.allowed) {
    response.set_header("Retry-After", absl::StrCat(decision.retry_after_s));
    return SendError(response, Error(absl::StatusCode::kResourceExhausted, "RATE_LIMITED",
                                     "too many notifications; deliver again later"));
  }
  // Untouched: the raw body and the headers, for the payment service to verify (P7).
  payment::v1::HandleProviderNotificationRequest notification;
  notification.set_provider(provider);
  notification.set_body(request.body);
  for (const auto& [name, value] : request.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    (*notification.mutable_headers())[lower] = value;
  }
  payment::v1::HandleProviderNotificationResponse recorded;
  CallMeta meta{response.get_header_value("X-Request-Id"), ""};
  if (absl::Status s = upstreams_->Call(Upstream::kPayment,
                                        "/qcash.payment.v1.PaymentService/"
                                        "HandleProviderNotification",
                                        notification, &recorded, meta);
      !s.ok()) {
    // Not recorded, or refused: the provider gets no 2xx and delivers again (or gives up on
    // a forgery). The reason says which.
    return SendError(response, s);
  }
  // 2xx only now: the payment service has durably recorded the notification.
  response.set_content(ToJson(recorded), "application/json");
}

void Gateway::HandleDevLogin(const httplib::Request& request, httplib::Response& response) {
  const std::string seller = request.get_param_value("seller_id");
  const absl::Time now = absl::Now();
  auto token = IssueSellerToken(options_.dev_token_private_key_pem, options_.token_issuer,
                                options_.token_audience, seller, now, options_.session_ttl);
  if (!token.ok()) return SendError(response, token.status());
  auto verified = auth_->Authenticate("Bearer " + *token, "", now);
  if (!verified.ok()) return SendError(response, verified.status());
  // A seller who logs in for the first time gets an (empty) wallet.
  wallet::v1::OpenWalletRequest open;
  open.set_seller_id(seller);
  open.set_idempotency_key(absl::StrCat("dev-login-open/", seller));
  wallet::v1::OpenWalletResponse opened;
  CallMeta meta{response.get_header_value("X-Request-Id"), *token};
  if (absl::Status s = upstreams_->Call(Upstream::kWallet,
                                        "/qcash.wallet.v1.WalletService/OpenWallet", open,
                                        &opened, meta);
      !s.ok()) {
    return SendError(response, s);
  }
  const std::string flags = absl::StrCat("; Path=/; SameSite=Strict; Max-Age=",
                                         absl::ToInt64Seconds(options_.session_ttl),
                                         options_.secure_cookies ? "; Secure" : "");
  response.headers.emplace("Set-Cookie",
                           absl::StrCat(kSessionCookie, "=", *token, flags, "; HttpOnly"));
  response.headers.emplace("Set-Cookie",
                           absl::StrCat(kCsrfCookie, "=", auth_->CsrfToken(*token), flags));
  if (request.get_header_value("Accept").find("application/json") != std::string::npos) {
    response.set_content(absl::StrCat("{\"token\":", JsonQuote(*token), "}"),
                         "application/json");
    return;
  }
  response.status = 303;
  response.set_header("Location", "/");
}

void Gateway::HandlePage(const std::string& name, const httplib::Request& request,
                         httplib::Response& response) {
  RequestTimer timer("page " + name, response);
  if (name != "login.html") {
    auto caller = auth_->Authenticate("", request.get_header_value("Cookie"), absl::Now());
    if (!caller.ok()) {
      if (options_.dev_login) {
        response.status = 303;
        response.set_header("Location", "/dev/login");
        return;
      }
      response.status = 401;
      response.set_content(
          "<!doctype html><meta charset=\"utf-8\"><title>Qキャッシュ</title>"
          "<p>J・QSMにログインしてから開いてください。</p>",
          "text/html; charset=utf-8");
      return;
    }
  }
  const Asset* asset = FindAsset(name);
  if (asset == nullptr) {
    response.status = 404;
    return;
  }
  // Pages are static: whatever they show, app.js sets with textContent, never as HTML.
  response.set_content(asset->body, asset->content_type);
}

}  // namespace qcash::gateway
