#include "gateway/server.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "gateway/assets.h"
#include "gateway/errors.h"
#include "gateway/openapi.h"
#include "gateway/paperwork.h"
#include "gateway/transcode.h"
#include "qcash/gateway/v1/error_reason.pb.h"
#include "qcash/payment/v1/payment.pb.h"
#include "qcash/wallet/v1/wallet.pb.h"

namespace qcash::gateway {
namespace {

constexpr char kDomain[] = "gateway.qcash";
// Cookies served over TLS carry this prefix: the browser then keeps them only when they are
// Secure, for Path=/ and without a Domain, so no other origin (a sibling subdomain, a plain-HTTP
// page) can set or overwrite them.
constexpr char kHostPrefix[] = "__Host-";

// Every response: no sniffing, no framing, no referrers, and a policy that allows only our
// own scripts, styles and API (pages never inline script or style).
HttpHeaders SecurityHeaders(bool tls) {
  HttpHeaders headers = {
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
  if (tls) headers.emplace_back("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  return headers;
}

std::string RandomHex(int bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  return absl::BytesToHexString(raw);
}

// The caller's X-Request-Id when it is sane, else a new one.
std::string RequestId(const HttpRequest& request) {
  std::string given = request.Header("X-Request-Id");
  if (!given.empty() && given.size() <= 64 && std::all_of(given.begin(), given.end(), [](char c) {
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
      "qcash_http_request_seconds", "Time to answer an HTTP request, by route pattern.", {"route"});
  return histogram;
}

// Counts one request under its route pattern (never the raw path, which is unbounded).
class RequestTimer {
 public:
  RequestTimer(std::string route, const HttpResponse& response)
      : route_(std::move(route)), response_(response), start_(absl::Now()) {}
  ~RequestTimer() {
    HttpRequests()->Add({route_, absl::StrCat(response_.status)});
    HttpSeconds()->Observe({route_}, absl::ToDoubleSeconds(absl::Now() - start_));
  }

 private:
  const std::string route_;
  const HttpResponse& response_;
  const absl::Time start_;
};

// `http_status` 0: the one HttpStatusFor gives the code.
void SendError(HttpResponse& response, const absl::Status& status, int http_status = 0) {
  response.status = http_status != 0 ? http_status : HttpStatusFor(status.code());
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    response.SetHeader("WWW-Authenticate", "Bearer realm=\"qcash\"");
  }
  if (const int64_t retry_after_s = RetryAfterSeconds(status);
      retry_after_s > 0 && response.Header("Retry-After").empty()) {
    response.SetHeader("Retry-After", absl::StrCat(retry_after_s));
  }
  // The body carries the reason, a Japanese message and the request id, never the internal
  // text; that goes to the log under the same request id, where support finds it.
  const std::string request_id = response.Header("X-Request-Id");
  Log(LogLevel::kInfo, "http_error",
      {{"request_id", request_id},
       {"code", absl::StatusCodeToString(status.code())},
       {"message", std::string(status.message())}});
  response.SetContent(ErrorBody(status, kDomain, request_id), "application/json");
}

// The `{name}`s of a route's path, in order.
std::vector<std::string> PathParamNames(const std::string& path) {
  std::vector<std::string> names;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (absl::StartsWith(segment, "{") && absl::EndsWith(segment, "}") && segment.size() > 2) {
      names.emplace_back(segment.substr(1, segment.size() - 2));
    }
  }
  return names;
}

// A name /static/<name> serves: [a-z_]+\.(js|css).
bool IsStaticName(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return false;
  const std::string extension = name.substr(dot + 1);
  const std::string_view stem(name.data(), dot);
  return (extension == "js" || extension == "css") &&
         std::all_of(stem.begin(), stem.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

// A provider name as /webhooks/<name> takes it: [a-z0-9_-]{1,32}.
bool IsProviderName(const std::string& name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// The media type of a Content-Type header, lowercased, without parameters.
std::string MediaType(const std::string& content_type) {
  return absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
}

}  // namespace

Gateway::Gateway(Options options, const Authenticator* auth, Upstreams* upstreams,
                 RateLimiter* limiter, RateLimiter* webhook_limiter,
                 RateLimiter* webhook_address_limiter)
    : options_(std::move(options)),
      auth_(auth),
      upstreams_(upstreams),
      limiter_(limiter),
      webhook_limiter_(webhook_limiter),
      webhook_address_limiter_(webhook_address_limiter),
      openapi_json_(GenerateOpenApi(Routes())) {
  RegisterRoutes();
  HttpServer::Options http = options_.http;
  http.default_headers = SecurityHeaders(options_.secure_cookies);
  server_ = std::make_unique<HttpServer>(
      http,
      [this](const HttpRequest& request, HttpResponse& response) { Handle(request, response); },
      // The probes never wait behind seller traffic: answered on the I/O thread, no I/O of theirs.
      [](const HttpRequest& request) {
        return request.method == "GET" && (request.path == "/healthz" || request.path == "/readyz");
      },
      [this](HttpRefusal why, const HttpRequest& request, HttpResponse& response) {
        Refuse(why, request, response);
      });
}

Gateway::~Gateway() = default;

int Gateway::Bind(const std::string& host, int port) { return server_->Bind(host, port); }

void Gateway::Serve() {
  ready_.store(true);
  server_->Serve();
}

void Gateway::Stop() {
  ready_.store(false);
  server_->Stop();
}

std::string Gateway::SessionCookieName() const {
  return options_.secure_cookies ? absl::StrCat(kHostPrefix, kSessionCookie) : kSessionCookie;
}

std::string Gateway::CsrfCookieName() const {
  return options_.secure_cookies ? absl::StrCat(kHostPrefix, kCsrfCookie) : kCsrfCookie;
}

std::string Gateway::CookiesForAuth(const HttpRequest& request) const {
  std::string cookies = request.Header("Cookie");
  if (!options_.secure_cookies) return cookies;
  const std::string session = CookieValue(cookies, SessionCookieName());
  return session.empty() ? "" : absl::StrCat(kSessionCookie, "=", session);
}

void Gateway::Handle(const HttpRequest& request, HttpResponse& response) {
  response.SetHeader("X-Request-Id", RequestId(request));
  const PathRoute* found = nullptr;
  std::vector<std::string> params;
  // HEAD is answered as GET (the server sends no body).
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  for (const PathRoute& route : routes_) {
    if (route.method == method && MatchPath(route.pattern, request.path, &params)) {
      found = &route;
      break;
    }
  }
  if (found != nullptr) {
    found->handle(request, params, response);
  } else {
    SendError(response, NotFound(gateway::v1::NO_SUCH_PAGE, "there is nothing here"));
  }
  // Never the query string or the body: they may carry what must not be logged.
  Log(LogLevel::kInfo, "http",
      {{"method", request.method},
       {"path", request.path},
       {"status", response.status},
       {"request_id", response.Header("X-Request-Id")}});
}

void Gateway::Refuse(HttpRefusal why, const HttpRequest& request, HttpResponse& response) {
  const std::string request_id = RequestId(request);
  response.SetHeader("X-Request-Id", request_id);
  absl::Status status;
  switch (why) {
    case HttpRefusal::kMalformed:
      status =
          InvalidArgument(gateway::v1::MALFORMED_REQUEST, "the request is not HTTP/1.1 we accept");
      break;
    case HttpRefusal::kHeadersTooLarge:
      status = InvalidArgument(gateway::v1::HEADERS_TOO_LARGE, "the request headers are too large");
      break;
    case HttpRefusal::kBodyTooLarge:
      status = InvalidArgument(gateway::v1::BODY_TOO_LARGE, "the request body is too large");
      break;
    case HttpRefusal::kContentEncoding:
      status = InvalidArgument(gateway::v1::UNSUPPORTED_CONTENT_ENCODING,
                               "send the request body uncompressed (no Content-Encoding)");
      break;
    case HttpRefusal::kBusy:
      status =
          Unavailable(gateway::v1::GATEWAY_BUSY, "the gateway is busy; retry after Retry-After");
      break;
    case HttpRefusal::kHandlerFailed:
    default:
      status = Internal(gateway::v1::GATEWAY_ERROR, "the gateway failed; retry");
      break;
  }
  SendError(response, status, HttpStatusOf(why));
  HttpRequests()->Add({"refused", absl::StrCat(response.status)});
  Log(LogLevel::kInfo, "http",
      {{"method", request.method},
       {"path", request.path},
       {"status", response.status},
       {"reason", ReasonOf(status)},
       {"request_id", request_id}});
}

void Gateway::RegisterRoutes() {
  using Params = std::vector<std::string>;
  auto add = [this](std::string method, const std::string& pattern,
                    std::function<void(const HttpRequest&, const Params&, HttpResponse&)> handle) {
    routes_.push_back({std::move(method), pattern, std::move(handle)});
  };
  for (const Route& route : Routes()) {
    add(route.http_method, route.path,
        [this, &route](const HttpRequest& request, const Params& params, HttpResponse& response) {
          HandleApi(route, request, params, response);
        });
  }
  add("POST", "/webhooks/{provider}",
      [this](const HttpRequest& request, const Params& params, HttpResponse& response) {
        if (!IsProviderName(params[0])) {
          return SendError(response, NotFound(gateway::v1::NO_SUCH_PAGE, "there is nothing here"));
        }
        HandleWebhook(request, params[0], response);
      });
  for (const std::string kind : {"receipts", "statements"}) {
    add("GET", absl::StrCat("/documents/", kind, "/{file}"),
        [this, kind](const HttpRequest& request, const Params& params, HttpResponse& response) {
          HandleDocument(kind, params[0], request, response);
        });
  }
  add("GET", "/openapi.json", [this](const HttpRequest&, const Params&, HttpResponse& response) {
    response.SetContent(openapi_json_, "application/json");
  });
  add("GET", "/favicon.ico", [](const HttpRequest&, const Params&, HttpResponse& response) {
    response.status = 204;  // no icon; and no 404 in every page load's console
  });
  add("GET", "/healthz", [](const HttpRequest&, const Params&, HttpResponse& response) {
    response.SetContent("ok\n", "text/plain");
  });
  add("GET", "/readyz", [this](const HttpRequest&, const Params&, HttpResponse& response) {
    const bool ready = ready_.load();
    response.status = ready ? 200 : 503;
    response.SetContent(ready ? "ready\n" : "not ready\n", "text/plain");
  });
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  if (options_.dev_login) {
    add("GET", "/dev/login",
        [this](const HttpRequest& request, const Params&, HttpResponse& response) {
          HandlePage("login.html", request, response);
        });
    add("POST", "/dev/login",
        [this](const HttpRequest& request, const Params&, HttpResponse& response) {
          HandleDevLogin(request, response);
        });
  }
#endif
  for (const auto& [path, page] :
       std::vector<std::pair<std::string, std::string>>{{"/", "index.html"},
                                                        {"/charge", "charge.html"},
                                                        {"/charge/done", "charge_done.html"},
                                                        {"/history", "history.html"},
                                                        {"/vouchers", "vouchers.html"},
                                                        {"/charge/order", "order.html"},
                                                        {"/statements", "statements.html"},
                                                        {"/points", "points.html"},
                                                        {"/points/products", "products.html"},
                                                        {"/points/past", "past.html"}}) {
    add("GET", path,
        [this, page = page](const HttpRequest& request, const Params&, HttpResponse& response) {
          HandlePage(page, request, response);
        });
  }
  // Only the scripts and style sheets ([a-z_]+.js|css): the pages have paths of their own.
  add("GET", "/static/{file}",
      [](const HttpRequest&, const Params& params, HttpResponse& response) {
        const Asset* asset = IsStaticName(params[0]) ? FindAsset(params[0]) : nullptr;
        if (asset == nullptr) {
          return SendError(response, NotFound(gateway::v1::NO_SUCH_PAGE, "there is nothing here"));
        }
        response.SetContent(asset->body, asset->content_type);
        response.SetHeader("Cache-Control", "no-cache");
      });
}

absl::Status Gateway::AllowSeller(const std::string& seller, HttpResponse& response) {
  const RateLimiter::Decision decision = limiter_->Allow(seller);
  if (decision.allowed) return absl::OkStatus();
  response.SetHeader("Retry-After", absl::StrCat(decision.retry_after_s));
  return Error(absl::StatusCode::kResourceExhausted, gateway::v1::RATE_LIMITED,
               "too many requests; retry after the Retry-After seconds");
}

void Gateway::HandleApi(const Route& route, const HttpRequest& request,
                        const std::vector<std::string>& params, HttpResponse& response) {
  RequestTimer timer(absl::StrCat(route.http_method, " ", route.path), response);
  auto caller =
      auth_->Authenticate(request.Header("Authorization"), CookiesForAuth(request), absl::Now());
  if (!caller.ok()) return SendError(response, caller.status());
  if (route.http_method != "GET") {
    if (absl::Status csrf = auth_->CheckCsrf(*caller, request.Header(kCsrfHeader)); !csrf.ok()) {
      return SendError(response, csrf);
    }
  }
  if (absl::Status allowed = AllowSeller(caller->claims.seller_id, response); !allowed.ok()) {
    return SendError(response, allowed);
  }
  // A body is JSON or nothing: a text/plain or form body must not become a charge order.
  if (route.http_method != "GET" && request.body.empty()) {
    return SendError(response, InvalidArgument(gateway::v1::BODY_MISSING,
                                               "the request has no body: send a JSON object "
                                               "({} when there is nothing to say)"));
  }
  if (!request.body.empty() && MediaType(request.Header("Content-Type")) != "application/json") {
    return SendError(response,
                     InvalidArgument(gateway::v1::UNSUPPORTED_MEDIA_TYPE,
                                     "send the request body as Content-Type: application/json"),
                     415);
  }
  HttpInput input;
  input.method = route.http_method;
  const std::vector<std::string> names = PathParamNames(route.path);
  for (size_t i = 0; i < names.size() && i < params.size(); ++i) {
    input.path_params[names[i]] = PercentDecode(params[i], /*plus_is_space=*/false);
  }
  for (auto& [key, value] : ParseQuery(request.query)) input.query.emplace(key, value);
  input.body = request.body;
  input.idempotency_key = request.Header("Idempotency-Key");
  auto message = BuildRequest(route, input, caller->claims.seller_id);
  if (!message.ok()) return SendError(response, message.status());
  std::unique_ptr<google::protobuf::Message> answer = NewMessage(route.response);
  CallMeta meta{response.Header("X-Request-Id"), caller->token};
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
  response.SetContent(ToJson(*answer), "application/json");
}

namespace {

// A document failure as a page: the seller followed a link, so a JSON body would strand them.
// The message is the one the API would answer (errors.h), never the internal text.
void SendDocumentError(HttpResponse& response, const absl::Status& status, const char* back_href,
                       const char* back_label) {
  SendError(response, status);
  const std::string request_id = response.Header("X-Request-Id");
  std::string page = absl::StrCat(
      "<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>書類を表示できません | Qキャッシュ</title>"
      "<link rel=\"stylesheet\" href=\"/static/app.css\"><main><section>"
      "<h2>書類を表示できません</h2><p class=\"error\" role=\"alert\">",
      SellerMessageFor(status, ReasonOf(status)));
  // The request id is [A-Za-z0-9_-] (RequestId), safe in HTML as it is.
  if (!request_id.empty()) absl::StrAppend(&page, "（お問い合わせ番号：", request_id, "）");
  absl::StrAppend(&page, "</p><p><a href=\"", back_href, "\">", back_label,
                  "</a></p></section></main></html>");
  response.SetContent(page, "text/html; charset=utf-8");
}

}  // namespace

void Gateway::HandleDocument(const std::string& kind, const std::string& segment,
                             const HttpRequest& request, HttpResponse& response) {
  RequestTimer timer(absl::StrCat("GET /documents/", kind, "/{file}"), response);
  const bool receipt = kind == "receipts";
  const char* back_href = receipt ? "/vouchers" : "/statements";
  const char* back_label = receipt ? "チャージ券の購入履歴に戻る" : "利用明細・請求書に戻る";
  const bool page = absl::StrContains(request.Header("Accept"), "text/html");
  auto fail = [&](const absl::Status& status) {
    if (page) return SendDocumentError(response, status, back_href, back_label);
    SendError(response, status);
  };
  auto caller =
      auth_->Authenticate(request.Header("Authorization"), CookiesForAuth(request), absl::Now());
  if (!caller.ok()) return fail(caller.status());
  if (absl::Status allowed = AllowSeller(caller->claims.seller_id, response); !allowed.ok()) {
    return fail(allowed);
  }
  std::string name;
  std::string extension;
  if (!SplitDocumentName(segment, &name, &extension) || (receipt && extension != "pdf") ||
      (!receipt && !IsStatementMonth(name))) {
    return fail(NotFound(gateway::v1::NO_SUCH_PAGE, "there is no such document"));
  }
  const std::string& seller = caller->claims.seller_id;
  CallMeta meta{response.Header("X-Request-Id"), caller->token};
  std::string body;
  std::string filename;
  if (receipt) {
    payment::v1::IssueReceiptRequest ask;
    ask.set_seller_id(seller);
    ask.set_order_id(name);
    payment::v1::IssueReceiptResponse issued;
    if (absl::Status s =
            upstreams_->Call(Upstream::kPayment, "/qcash.payment.v1.PaymentService/IssueReceipt",
                             ask, &issued, meta);
        !s.ok()) {
      return fail(s);
    }
    auto pdf = RenderReceiptPdf(ReceiptOf(issued, options_.issuer));
    if (!pdf.ok()) return fail(pdf.status());
    body = *std::move(pdf);
    filename =
        absl::StrCat("qcash-receipt-", name, issued.issue_number() > 1 ? "-reissue" : "", ".pdf");
  } else {
    // Every page of the month: the wallet answers at most 1,000 lines a page, and a month has
    // at most as many lines as the seller's ad bookings; 200 pages bound the work of one
    // download all the same.
    std::vector<wallet::v1::GetMonthlyStatementResponse> pages;
    std::string token;
    do {
      if (pages.size() >= 200) {
        return fail(Error(absl::StatusCode::kResourceExhausted, gateway::v1::BODY_TOO_LARGE,
                          "the statement has more than 200,000 lines"));
      }
      wallet::v1::GetMonthlyStatementRequest ask;
      ask.set_seller_id(seller);
      ask.set_month(name);
      ask.set_page_size(1000);
      ask.set_page_token(token);
      wallet::v1::GetMonthlyStatementResponse answer;
      if (absl::Status s = upstreams_->Call(Upstream::kWallet,
                                            "/qcash.wallet.v1.WalletService/GetMonthlyStatement",
                                            ask, &answer, meta);
          !s.ok()) {
        return fail(s);
      }
      token = answer.next_page_token();
      pages.push_back(std::move(answer));
    } while (!token.empty());
    const Statement statement = StatementOf(pages, seller, options_.issuer, absl::Now());
    if (extension == "pdf") {
      auto pdf = RenderStatementPdf(statement);
      if (!pdf.ok()) return fail(pdf.status());
      body = *std::move(pdf);
    } else {
      body = RenderStatementCsv(statement);
    }
    filename = absl::StrCat("qcash-statement-", name, statement.closed ? "" : "-preliminary", ".",
                            extension);
  }
  response.SetContent(std::move(body),
                      extension == "pdf" ? "application/pdf" : "text/csv; charset=utf-8");
  // The filename is ASCII of [A-Za-z0-9_.-] (checked above), safe in the header as it is.
  response.SetHeader("Content-Disposition",
                     absl::StrCat("attachment; filename=\"", filename, "\""));
}

void Gateway::HandleWebhook(const HttpRequest& request, const std::string& provider,
                            HttpResponse& response) {
  RequestTimer timer("POST /webhooks/{provider}", response);
  // Only the payment service's providers: any other name costs the payment service nothing.
  if (!IsWebhookProvider(provider)) {
    return SendError(response,
                     NotFound(gateway::v1::UNKNOWN_PROVIDER, "no payment provider of that name"));
  }
  // A flood of junk must neither fill the payment service's record of rejected notifications
  // nor use up a real provider's budget: limited per client address first, then per provider.
  const std::pair<RateLimiter*, std::string> limits[] = {
      {webhook_address_limiter_, absl::StrCat("webhook-ip:", request.client_address)},
      {webhook_limiter_, absl::StrCat("webhook:", provider)}};
  for (const auto& [limiter, key] : limits) {
    const RateLimiter::Decision decision = limiter->Allow(key);
    if (!decision.allowed) {
      response.SetHeader("Retry-After", absl::StrCat(decision.retry_after_s));
      return SendError(response,
                       Error(absl::StatusCode::kResourceExhausted, gateway::v1::RATE_LIMITED,
                             "too many notifications; deliver again later"));
    }
  }
  // Untouched: the raw body (whatever its content type) and the headers, for the payment
  // service to verify (P7).
  payment::v1::HandleProviderNotificationRequest notification;
  notification.set_provider(provider);
  notification.set_body(request.body);
  for (const auto& [name, value] : request.headers) {
    (*notification.mutable_headers())[absl::AsciiStrToLower(name)] = value;
  }
  payment::v1::HandleProviderNotificationResponse recorded;
  CallMeta meta{response.Header("X-Request-Id"), ""};
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
  response.SetContent(ToJson(recorded), "application/json");
}

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
void Gateway::HandleDevLogin(const HttpRequest& request, HttpResponse& response) {
  // The login page posts a form; a script may send the seller in the query.
  std::string seller;
  std::vector<std::pair<std::string, std::string>> fields = ParseQuery(request.query);
  if (MediaType(request.Header("Content-Type")) == "application/x-www-form-urlencoded") {
    for (auto& field : ParseQuery(request.body)) fields.push_back(std::move(field));
  }
  for (const auto& [name, value] : fields) {
    if (name == "seller_id") seller = value;
  }
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
  CallMeta meta{response.Header("X-Request-Id"), *token};
  if (absl::Status s = upstreams_->Call(
          Upstream::kWallet, "/qcash.wallet.v1.WalletService/OpenWallet", open, &opened, meta);
      !s.ok()) {
    return SendError(response, s);
  }
  const std::string flags = absl::StrCat(
      "; Path=/; SameSite=Strict; Max-Age=", absl::ToInt64Seconds(options_.session_ttl),
      options_.secure_cookies ? "; Secure" : "");
  response.AddHeader("Set-Cookie",
                     absl::StrCat(SessionCookieName(), "=", *token, flags, "; HttpOnly"));
  response.AddHeader("Set-Cookie",
                     absl::StrCat(CsrfCookieName(), "=", auth_->CsrfToken(*token), flags));
  if (absl::StrContains(request.Header("Accept"), "application/json")) {
    response.SetContent(absl::StrCat("{\"token\":", JsonQuote(*token), "}"), "application/json");
    return;
  }
  response.status = 303;
  response.SetHeader("Location", "/");
}
#endif

void Gateway::HandlePage(const std::string& name, const HttpRequest& request,
                         HttpResponse& response) {
  RequestTimer timer("page " + name, response);
  if (name != "login.html") {
    auto caller = auth_->Authenticate("", CookiesForAuth(request), absl::Now());
    if (!caller.ok()) {
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
      if (options_.dev_login) {
        response.status = 303;
        response.SetHeader("Location", "/dev/login");
        return;
      }
#endif
      response.status = 401;
      response.SetContent(
          "<!doctype html><meta charset=\"utf-8\"><title>Qキャッシュ</title>"
          "<p>J・QSMにログインしてから開いてください。</p>",
          "text/html; charset=utf-8");
      return;
    }
  }
  const Asset* asset = FindAsset(name);
  if (asset == nullptr)
    return SendError(response, NotFound(gateway::v1::NO_SUCH_PAGE, "there is nothing here"));
  // Pages are static: whatever they show, app.js sets with textContent, never as HTML.
  response.SetContent(asset->body, asset->content_type);
}

}  // namespace qcash::gateway
