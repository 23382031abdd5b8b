// The gateway's HTTP/1.1 server: Boost.Beast on Asio, kept in one translation unit
// (http_server.cc) behind these plain structs, so that nothing else in the gateway includes Boost.
//
// Every limit holds on the wire, before anything is allocated for a request (DESIGN.md 7):
//   - headers at most `header_bytes_max` and bodies at most `body_bytes_max`, counted by the
//     parser as it reads (a chunked body counts its decoded bytes): 431 / 413, then the
//     connection is closed;
//   - no request decompression: a body with a Content-Encoding other than identity is refused
//     with 415 before it is read;
//   - one deadline for reading a whole request (headers and body) and writing its answer, and an
//     idle timeout between keep-alive requests: a slow client is disconnected, it holds no thread;
//   - at most `connections_max` connections in all and `connections_per_address_max` from one
//     client address; a connection over either cap is closed before anything is read from it;
//   - handlers run on a bounded worker pool with a bounded queue (503 with Retry-After when it is
//     full); requests the `is_inline` predicate selects (the health checks) are answered on the
//     I/O thread itself and never wait behind the queue.
// The server never serves ranges or compresses: handlers produce whole bodies. The answer to a
// HEAD request is sent without its body.
#ifndef QCASH_GATEWAY_HTTP_SERVER_H_
#define QCASH_GATEWAY_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qcash::gateway {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;          // as sent: GET, POST, ...
  std::string target;          // the request target as sent
  std::string path;            // the target before '?', not decoded
  std::string query;           // the target after '?', not decoded ("" when none)
  HttpHeaders headers;         // in the order sent, names as sent
  std::string body;            // whole (never more than the body limit)
  std::string client_address;  // the peer's IP address, e.g. 127.0.0.1 or ::1

  // The first value of header `name` (case-insensitive), or "".
  std::string Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;

  // Replaces every header `name` (case-insensitive) with one of `value`.
  void SetHeader(const std::string& name, const std::string& value);
  // Adds a header, keeping others of the same name (Set-Cookie).
  void AddHeader(const std::string& name, const std::string& value);
  std::string Header(const std::string& name) const;
  void SetContent(std::string body, const std::string& content_type);
};

// Why the server answered a request itself, without calling the handler.
enum class HttpRefusal {
  kMalformed,        // 400: not HTTP/1.x the parser accepts
  kHeadersTooLarge,  // 431
  kBodyTooLarge,     // 413
  kContentEncoding,  // 415: a compressed (or otherwise encoded) request body
  kBusy,             // 503 with Retry-After: the worker queue is full
  kHandlerFailed,    // 500: the handler threw
};

class HttpServer {
 public:
  struct Options {
    size_t header_bytes_max = 16 * 1024;
    size_t body_bytes_max = 64 * 1024;
    // From the first byte of a request to its last (headers and body), and for writing the
    // answer. A keep-alive connection may wait `idle_timeout` for its next request.
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds idle_timeout{30'000};
    int connections_max = 1000;
    int connections_per_address_max = 64;
    int io_threads = 2;
    int workers = 32;
    int queue_max = 256;  // requests waiting for a worker
    // Added to every response, refusals included (the security headers).
    HttpHeaders default_headers;
  };

  // Fills `response` for `request`; runs on a worker (or on the I/O thread when `is_inline`).
  using Handler = std::function<void(const HttpRequest& request, HttpResponse& response)>;
  // True for the requests answered on the I/O thread: they must never block.
  using InlinePredicate = std::function<bool(const HttpRequest& request)>;
  // Fills the answer to a refused request. `request` holds what was read of it (the request
  // line and headers when they were complete; nothing else). Runs on the I/O thread.
  using RefusalHandler =
      std::function<void(HttpRefusal why, const HttpRequest& request, HttpResponse& response)>;

  HttpServer(Options options, Handler handler, InlinePredicate is_inline, RefusalHandler refusal);
  ~HttpServer();  // REQUIRES: Serve() has returned, or was never called.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `host`:`port` (0: any free port). Returns the port, or -1.
  int Bind(const std::string& host, int port);
  // Serves until Stop() and until the last connection has ended. Call once, from its own thread.
  void Serve();
  // Stops accepting and closes idle connections; requests being read or handled finish and are
  // answered with `Connection: close`. Serve() returns when the last one has been written.
  void Stop();

  // Connections open now (for tests and metrics).
  int connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// One connection without a socket: what a connection of a server with `options` reads from
// `bytes` (all the client sent, handed to the parser at most `read_size_max` bytes at a time, as
// a socket may deliver it) and what it writes back, with the same parser, limits, refusals and
// response writing as a served connection; `handler` runs inline (no worker pool, no timers).
// For the fuzz target (fuzz/http_request_fuzz.cc) and tests.
struct HttpExchange {
  std::vector<HttpRequest> requests;   // as the handler got them, in order
  std::optional<HttpRefusal> refusal;  // the refusal that ended the connection, if one did
  std::string written;                 // the bytes written back: every answer, in order
};
// REQUIRES: read_size_max >= 1.
HttpExchange ServeBytes(const HttpServer::Options& options, std::string_view bytes,
                        size_t read_size_max, const HttpServer::Handler& handler,
                        const HttpServer::RefusalHandler& refusal);

// The status line number of a refusal (400, 431, 413, 415, 503, 500).
int HttpStatusOf(HttpRefusal why);

// Percent-decodes `text` (`+` as a space when `plus_is_space`); malformed escapes stay as they are.
std::string PercentDecode(const std::string& text, bool plus_is_space);

// The query string's parameters, decoded, in order; a parameter without `=` has an empty value.
std::vector<std::pair<std::string, std::string>> ParseQuery(const std::string& query);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_HTTP_SERVER_H_
