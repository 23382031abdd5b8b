// The only file of the gateway that includes Boost (http_server.h says why and what it bounds).
//
// Shape: one acceptor and every connection on a strand of one io_context run by a few I/O
// threads; each connection is a Session that reads one request at a time with a
// beast::http::request_parser whose header and body limits are the gateway's, then hands the
// request to the worker pool (or answers it on the spot), then writes the answer and waits for
// the next request. Nothing blocks an I/O thread: slow clients cost a socket and a small buffer,
// never a thread.
#include "gateway/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <deque>
#include <iterator>
#include <map>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/mutex.h"

namespace qcash::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// After a refusal that closes the connection, what the client still sends is read and dropped
// for at most this long and this much, so that our answer is not destroyed by a reset (a
// close with unread data sends RST) and a flood is still cut off.
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr size_t kLingerBytesMax = 256 * 1024;

// Bounded worker pool: `workers` threads, at most `queue_max` jobs waiting.
class WorkerPool {
 public:
  WorkerPool(int workers, int queue_max) : queue_max_(static_cast<size_t>(queue_max)) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() {
    {
      MutexLock lock(&mu_);
      done_ = true;
    }
    ready_.SignalAll();
    for (std::thread& t : threads_) t.join();
  }

  // False when the queue is full (the caller answers 503).
  bool TrySubmit(std::function<void()> job) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      MutexLock lock(&mu_);
      if (jobs_.size() >= queue_max_) return false;
      jobs_.push_back(std::move(job));
    }
    ready_.Signal();
    return true;
  }

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_) {
    while (true) {
      std::function<void()> job;
      {
        MutexLock lock(&mu_);
        ready_.Wait(
            &mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // done_ and nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  const size_t queue_max_;
  Mutex mu_;
  CondVar ready_;  // signalled when a job is queued or the pool is done
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // constant after construction
};

bool IEquals(beast::string_view a, absl::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()), b);
}

std::string Str(beast::string_view s) { return std::string(s.data(), s.size()); }

using RequestParser = http::request_parser<http::string_body>;
using ResponseMessage = http::response<http::string_body>;

constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

// What follows is shared by a served connection (Session) and ServeBytes, so that the fuzz
// target exercises the code that serves.

void LimitParser(RequestParser& parser, const HttpServer::Options& options) {
  parser.header_limit(static_cast<std::uint32_t>(options.header_bytes_max));
  parser.body_limit(options.body_bytes_max);
}

// After the header: no request decompression (a 65 KB gzip body must not become 64 MB), and no
// transfer coding but chunked, which the parser decodes and counts against the body limit.
std::optional<HttpRefusal> RefusalOfHeader(const RequestParser& parser) {
  const auto& head = parser.get();
  const auto encoding = head[http::field::content_encoding];
  const auto transfer = head[http::field::transfer_encoding];
  if ((!encoding.empty() && !IEquals(encoding, "identity")) ||
      (!transfer.empty() && !IEquals(transfer, "chunked"))) {
    return HttpRefusal::kContentEncoding;
  }
  return std::nullopt;
}

// The number of fields the request has now: after the header, its header fields.
size_t FieldCount(const RequestParser& parser) {
  const auto& head = parser.get();
  return static_cast<size_t>(std::distance(head.begin(), head.end()));
}

// After the body. The parser adds a chunked body's trailer fields to the header fields, where
// they would arrive after RefusalOfHeader's checks: a trailer "Content-Encoding: gzip", or a
// webhook's signature header sent after the body it signs (fuzz/http_request_fuzz.cc found
// the first). A request with trailer fields is refused: no client of ours sends them.
std::optional<HttpRefusal> RefusalOfTrailers(const RequestParser& parser, size_t header_fields) {
  if (FieldCount(parser) != header_fields) return HttpRefusal::kMalformed;
  return std::nullopt;
}

// Whether the client waits for "100 Continue" before it sends the body.
bool WantsContinue(const RequestParser& parser) {
  return IEquals(parser.get()[http::field::expect], "100-continue") && !parser.is_done();
}

// The refusal a read error deserves; none when the session just ends.
std::optional<HttpRefusal> RefusalOfReadError(beast::error_code ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return HttpRefusal::kHeadersTooLarge;
  }
  if (ec == http::error::body_limit) return HttpRefusal::kBodyTooLarge;
  // Any other parse error gets a 400 (never the parser's words). The client closing, a reset,
  // or the request deadline passing end the session without an answer.
  static const auto& kHttpErrors = make_error_code(http::error::end_of_stream).category();
  if (ec.category() == kHttpErrors && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    return HttpRefusal::kMalformed;
  }
  return std::nullopt;
}

// What was read of the request (the request line and headers once complete), without the body.
HttpRequest RequestOf(const std::optional<RequestParser>& parser, const std::string& address) {
  HttpRequest request;
  request.client_address = address;
  if (!parser || !parser->is_header_done()) return request;
  const auto& head = parser->get();
  request.method = Str(head.method_string());
  request.target = Str(head.target());
  const size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  if (q != std::string::npos) request.query = request.target.substr(q + 1);
  for (const auto& field : head) {
    request.headers.emplace_back(Str(field.name_string()), Str(field.value()));
  }
  return request;
}

// The handler, with a throw turned into a 500.
void RunHandler(const HttpServer::Handler& handler, const HttpServer::RefusalHandler& refusal,
                const HttpRequest& request, HttpResponse& response) {
  try {
    handler(request, response);
  } catch (...) {
    response = HttpResponse();
    refusal(HttpRefusal::kHandlerFailed, request, response);
    response.status = HttpStatusOf(HttpRefusal::kHandlerFailed);
  }
}

// The answer to a refused request.
HttpResponse RefusalResponse(const HttpServer::RefusalHandler& refusal, HttpRefusal why,
                             const HttpRequest& request) {
  HttpResponse response;
  refusal(why, request, response);
  response.status = HttpStatusOf(why);
  if (why == HttpRefusal::kBusy) response.SetHeader("Retry-After", "1");
  return response;
}

// The message written for `response`: the default headers unless the handler set its own, and
// for a HEAD request the headers GET would send, Content-Length included, without the body
// (RFC 9110 9.3.2).
ResponseMessage MessageOf(HttpResponse response, const HttpServer::Options& options,
                          unsigned version, bool close, bool head_request) {
  ResponseMessage message;
  message.version(version == 10 ? 10 : 11);
  message.result(static_cast<unsigned>(response.status));
  for (const auto& [name, value] : options.default_headers) message.insert(name, value);
  for (const auto& [name, value] : response.headers) message.erase(name);  // handler wins
  for (const auto& [name, value] : response.headers) message.insert(name, value);
  message.keep_alive(!close);
  if (head_request) {
    message.content_length(response.body.size());
  } else {
    message.body() = std::move(response.body);
    message.prepare_payload();
  }
  return message;
}

// A SyncReadStream over the bytes a client sent, at most `read_size_max` at a time.
class BytesStream {
 public:
  BytesStream(std::string_view bytes, size_t read_size_max)
      : bytes_(bytes), read_size_max_(read_size_max) {}

  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    if (bytes_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    ec = {};
    const size_t n = net::buffer_copy(
        buffers, net::buffer(bytes_.data(), std::min(bytes_.size(), read_size_max_)));
    bytes_.remove_prefix(n);
    return n;
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view bytes_;
  const size_t read_size_max_;
};

std::string Serialize(ResponseMessage& message) {
  http::response_serializer<http::string_body> serializer(message);
  std::string out;
  beast::error_code ec;
  do {
    serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
      for (auto buffer : beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(buffer.data()), buffer.size());
      }
      serializer.consume(beast::buffer_bytes(buffers));
    });
  } while (!ec && !serializer.is_done());
  return out;
}

}  // namespace

std::string HttpRequest::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

void HttpResponse::SetHeader(const std::string& name, const std::string& value) {
  headers.erase(
      std::remove_if(headers.begin(), headers.end(),
                     [&](const auto& h) { return absl::EqualsIgnoreCase(h.first, name); }),
      headers.end());
  headers.emplace_back(name, value);
}

void HttpResponse::AddHeader(const std::string& name, const std::string& value) {
  headers.emplace_back(name, value);
}

std::string HttpResponse::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

void HttpResponse::SetContent(std::string content, const std::string& content_type) {
  body = std::move(content);
  SetHeader("Content-Type", content_type);
}

int HttpStatusOf(HttpRefusal why) {
  switch (why) {
    case HttpRefusal::kMalformed:
      return 400;
    case HttpRefusal::kHeadersTooLarge:
      return 431;
    case HttpRefusal::kBodyTooLarge:
      return 413;
    case HttpRefusal::kContentEncoding:
      return 415;
    case HttpRefusal::kBusy:
      return 503;
    case HttpRefusal::kHandlerFailed:
    default:
      return 500;
  }
}

std::string PercentDecode(const std::string& text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      auto hex = [](char h) {
        return std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                                                           : (absl::ascii_tolower(h) - 'a' + 10);
      };
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string part = query.substr(start, end - start);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      if (eq == std::string::npos) {
        params.emplace_back(PercentDecode(part, true), "");
      } else {
        params.emplace_back(PercentDecode(part.substr(0, eq), true),
                            PercentDecode(part.substr(eq + 1), true));
      }
    }
    start = end + 1;
  }
  return params;
}

class HttpServer::Impl {
 public:
  class Session;

  Impl(Options options, Handler handler, InlinePredicate is_inline, RefusalHandler refusal)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        is_inline_(std::move(is_inline)),
        refusal_(std::move(refusal)),
        acceptor_(net::make_strand(ioc_)),
        retry_timer_(acceptor_.get_executor()),
        pool_(options_.workers, options_.queue_max) {}

  int Bind(const std::string& host, int port) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || results.empty()) return -1;
    const tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return -1;
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    acceptor_.bind(endpoint, ec);
    if (ec) return -1;
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return -1;
    return acceptor_.local_endpoint().port();
  }

  void Serve() {
    net::post(acceptor_.get_executor(), [this] { Accept(); });
    std::vector<std::thread> threads;
    for (int i = 1; i < options_.io_threads; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (std::thread& t : threads) t.join();
  }

  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  int connections() const { return connections_.load(); }

 private:
  void Accept() {
    if (stopping_.load()) return;
    acceptor_.async_accept(
        net::make_strand(ioc_),
        [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
  }
  void OnAccept(beast::error_code ec, tcp::socket socket) ABSL_LOCKS_EXCLUDED(mu_);
  // A Session's place in the counts, taken at accept and given back when it ends.
  void Release(Session* session, const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);
  // The handler, with a throw turned into a 500.
  void RunHandler(const HttpRequest& request, HttpResponse& response) const;

  const Options options_;
  const Handler handler_;
  const InlinePredicate is_inline_;
  const RefusalHandler refusal_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  // Declared before the io_context: sessions its queue still holds end (and Release) in its
  // destructor.
  Mutex mu_;
  std::map<Session*, std::weak_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> per_address_ ABSL_GUARDED_BY(mu_);
  net::io_context ioc_;
  tcp::acceptor acceptor_;         // on its own strand
  net::steady_timer retry_timer_;  // after an accept error (e.g. out of descriptors)
  WorkerPool pool_;                // destroyed (joined) first
};

class HttpServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Impl* server, tcp::socket socket, std::string address)
      : server_(server),
        stream_(std::move(socket)),
        address_(std::move(address)),
        buffer_(server->options_.header_bytes_max + 8192) {}
  ~Session() { server_->Release(this, address_); }

  auto executor() { return stream_.get_executor(); }

  void Start() { WaitForRequest(/*first=*/true); }

  // On the session's strand, from Stop(): a connection waiting for its next request is closed;
  // one in the middle of a request finishes it (and is closed after the answer).
  void OnStop() {
    if (waiting_) stream_.close();
  }

 private:
  const HttpServer::Options& options() const { return server_->options_; }

  // Waits for the first bytes of the next request (unless some are buffered already): the idle
  // timeout between requests, the request timeout before the first.
  void WaitForRequest(bool first) {
    if (server_->stopping_.load()) return;  // the last answer said Connection: close
    if (buffer_.size() > 0) return ReadHeader();
    waiting_ = true;
    stream_.expires_after(first ? options().request_timeout : options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->waiting_ = false;
                              // Closed, reset, idle timeout or Stop(): the session ends.
                              if (ec) return;
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    head_request_ = false;
    parser_.emplace();
    LimitParser(*parser_, options());
    // One deadline for the whole request, headers and body: a slow-loris client ends here.
    stream_.expires_after(options().request_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    if (const std::optional<HttpRefusal> why = RefusalOfHeader(*parser_)) return Refuse(*why);
    header_fields_ = FieldCount(*parser_);
    if (WantsContinue(*parser_)) {
      return net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                              [self = shared_from_this()](beast::error_code ec, size_t) {
                                if (!ec) self->ReadBody();
                              });
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       if (const std::optional<HttpRefusal> why =
                               RefusalOfTrailers(*self->parser_, self->header_fields_)) {
                         return self->Refuse(*why);
                       }
                       self->Dispatch();
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (const std::optional<HttpRefusal> why = RefusalOfReadError(ec)) Refuse(*why);
  }

  // What was read of the request, for the refusal handler and the log.
  HttpRequest Head() const { return RequestOf(parser_, address_); }

  void Dispatch() {
    HttpRequest request = Head();
    request.body = std::move(parser_->get().body());
    keep_alive_ = parser_->get().keep_alive();
    version_ = parser_->get().version();
    head_request_ = parser_->get().method() == http::verb::head;
    if (server_->is_inline_ && server_->is_inline_(request)) {
      HttpResponse response;
      server_->RunHandler(request, response);
      return Write(std::move(response), !keep_alive_);
    }
    auto self = shared_from_this();
    // The guard keeps Serve() running while the request is on a worker.
    auto work = net::make_work_guard(server_->ioc_);
    // Shared so that the job stays copyable (std::function) without copying the body.
    auto shared_request = std::make_shared<HttpRequest>(std::move(request));
    const bool queued = server_->pool_.TrySubmit([self, shared_request, work]() mutable {
      auto response = std::make_shared<HttpResponse>();
      self->server_->RunHandler(*shared_request, *response);
      net::post(self->executor(),
                [self, response] { self->Write(std::move(*response), !self->keep_alive_); });
      work.reset();
    });
    if (!queued) Refuse(HttpRefusal::kBusy, /*close=*/!keep_alive_);
  }

  // Answers without the handler. Unless `close` is false, the connection closes after the
  // answer: what is left of the request is unread (and never will be).
  void Refuse(HttpRefusal why, bool close = true) {
    HttpResponse response = RefusalResponse(server_->refusal_, why, Head());
    if (parser_ && parser_->is_header_done()) version_ = parser_->get().version();
    Write(std::move(response), close, /*linger=*/close);
  }

  void Write(HttpResponse response, bool close, bool linger = false) {
    if (server_->stopping_.load()) close = true;
    auto message = std::make_shared<ResponseMessage>(
        MessageOf(std::move(response), options(), version_, close, head_request_));
    stream_.expires_after(options().request_timeout);
    http::async_write(
        stream_, *message,
        [self = shared_from_this(), message, close, linger](beast::error_code ec, size_t) {
          if (ec) return;
          if (linger) return self->Linger();
          if (close) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            return;
          }
          self->parser_.reset();
          self->WaitForRequest(/*first=*/false);
        });
  }

  // Half-closes and drops what the client still sends, bounded in time and bytes (kLinger*),
  // so that closing with unread data (a reset) does not destroy the answer on its way.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ >= kLingerBytesMax) return;  // closes
                              self->DrainSome();
                            });
  }

  Impl* const server_;
  beast::tcp_stream stream_;
  const std::string address_;
  beast::flat_buffer buffer_;  // unparsed bytes: at most the header limit and a little
  std::optional<RequestParser> parser_;
  size_t header_fields_ = 0;  // of parser_'s request, once its header is read
  bool waiting_ = false;      // between requests (Stop() may close the connection)
  bool keep_alive_ = false;
  bool head_request_ = false;  // the request being answered is a HEAD
  unsigned version_ = 11;
  size_t drained_ = 0;
  std::array<char, 4096> scratch_;
};

void HttpServer::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
  });
  std::vector<std::shared_ptr<Session>> sessions;
  {
    MutexLock lock(&mu_);
    for (const auto& [raw, weak] : sessions_) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
  }
  for (auto& session : sessions) {
    net::post(session->executor(), [session] { session->OnStop(); });
  }
}

void HttpServer::Impl::Release(Session* session, const std::string& address) {
  MutexLock lock(&mu_);
  sessions_.erase(session);
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
  connections_.fetch_sub(1);
}

void HttpServer::Impl::RunHandler(const HttpRequest& request, HttpResponse& response) const {
  qcash::gateway::RunHandler(handler_, refusal_, request, response);
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping_.load() || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors or memory for a moment: try again shortly rather than spin.
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec) Accept();
    });
    return;
  }
  beast::error_code endpoint_ec;
  const std::string address = socket.remote_endpoint(endpoint_ec).address().to_string();
  bool admitted = false;
  if (!endpoint_ec) {
    MutexLock lock(&mu_);
    int& from_address = per_address_[address];
    if (connections_.load() < options_.connections_max &&
        from_address < options_.connections_per_address_max) {
      ++from_address;
      connections_.fetch_add(1);
      admitted = true;
    } else if (from_address == 0) {
      per_address_.erase(address);
    }
  }
  if (admitted) {
    auto session = std::make_shared<Session>(this, std::move(socket), address);
    {
      MutexLock lock(&mu_);
      sessions_[session.get()] = session;
    }
    net::dispatch(session->executor(), [session] { session->Start(); });
  } else {
    // Over a cap: closed before anything is read, with a reset so that nothing lingers.
    beast::error_code ignored;
    socket.set_option(net::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
  }
  Accept();
}

HttpServer::HttpServer(Options options, Handler handler, InlinePredicate is_inline,
                       RefusalHandler refusal)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(is_inline),
                                   std::move(refusal))) {}

HttpServer::~HttpServer() = default;

int HttpServer::Bind(const std::string& host, int port) { return impl_->Bind(host, port); }

void HttpServer::Serve() { impl_->Serve(); }

void HttpServer::Stop() { impl_->Stop(); }

int HttpServer::connections() const { return impl_->connections(); }

HttpExchange ServeBytes(const HttpServer::Options& options, std::string_view bytes,
                        size_t read_size_max, const HttpServer::Handler& handler,
                        const HttpServer::RefusalHandler& refusal) {
  static const std::string kAddress = "192.0.2.1";  // documentation range (RFC 5737)
  BytesStream stream(bytes, std::max<size_t>(read_size_max, 1));
  beast::flat_buffer buffer(options.header_bytes_max + 8192);  // as Session's buffer_
  HttpExchange exchange;
  unsigned version = 11;
  std::optional<RequestParser> parser;
  while (true) {
    parser.emplace();
    LimitParser(*parser, options);
    beast::error_code ec;
    http::read_header(stream, buffer, *parser, ec);
    std::optional<HttpRefusal> why = ec ? RefusalOfReadError(ec) : RefusalOfHeader(*parser);
    if (ec && !why) break;  // the client is done: no answer
    if (!why) {
      const size_t header_fields = FieldCount(*parser);
      if (WantsContinue(*parser)) exchange.written += kContinue;
      http::read(stream, buffer, *parser, ec);
      if (ec) {
        why = RefusalOfReadError(ec);
        if (!why) break;
      } else {
        why = RefusalOfTrailers(*parser, header_fields);
      }
    }
    if (why) {
      HttpResponse response = RefusalResponse(refusal, *why, RequestOf(parser, kAddress));
      if (parser->is_header_done()) version = parser->get().version();
      ResponseMessage message = MessageOf(std::move(response), options, version, true, false);
      exchange.written += Serialize(message);
      exchange.refusal = why;
      break;
    }
    HttpRequest request = RequestOf(parser, kAddress);
    request.body = std::move(parser->get().body());
    const bool keep_alive = parser->get().keep_alive();
    version = parser->get().version();
    const bool head_request = parser->get().method() == http::verb::head;
    HttpResponse response;
    RunHandler(handler, refusal, request, response);
    exchange.requests.push_back(std::move(request));
    ResponseMessage message =
        MessageOf(std::move(response), options, version, !keep_alive, head_request);
    exchange.written += Serialize(message);
    if (!keep_alive) break;
  }
  return exchange;
}

}  // namespace qcash::gateway
