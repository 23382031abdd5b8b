// The HTTP server (http_server.h) over real loopback sockets, with a handler of the test's own:
// each limit holds on the wire, the health checks bypass a full worker queue, and Stop() lets a
// request in flight finish. The gateway's own edge tests (tests/gateway/edge_test.cc) repeat the
// attacks against the real qcash-gateway process.
#include "gateway/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/mutex.h"
#include "tests/gateway/raw_http.h"

namespace qcash::gateway {
namespace {

namespace raw = ::qcash::testing::raw;
using std::chrono::milliseconds;

TEST(HttpQueryTest, DecodesLikeAFormAndKeepsOrder) {
  const auto params = ParseQuery("a=1&b=x+y%21&a=2&flag&=v&c=%FF%zz");
  ASSERT_EQ(params.size(), 6u);
  EXPECT_EQ(params[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(params[1].second, "x y!");
  EXPECT_EQ(params[2].second, "2");
  EXPECT_EQ(params[3], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(params[4].first, "");
  EXPECT_EQ(params[5].second, "\xff%zz");  // a malformed escape stays as it is
  EXPECT_EQ(PercentDecode("a+b%2Fc", false), "a+b/c");
  EXPECT_TRUE(ParseQuery("").empty());
}

// A server on a free port with `options` and a handler that counts calls and, for /slow, waits
// until `release` is notified.
class TestServer {
 public:
  explicit TestServer(HttpServer::Options options) {
    server_ = std::make_unique<HttpServer>(
        std::move(options),
        [this](const HttpRequest& request, HttpResponse& response) {
          calls_.fetch_add(1);
          if (request.path == "/slow") {
            started_.fetch_add(1);
            release_.WaitForNotification();
          }
          last_body_size_.store(request.body.size());
          response.SetContent(
              "handled " + request.method + " " + request.path + " " + request.client_address,
              "text/plain");
        },
        [](const HttpRequest& request) { return request.path == "/healthz"; },
        [](HttpRefusal why, const HttpRequest&, HttpResponse& response) {
          response.SetContent("{\"refused\":true}", "application/json");
        });
    port_ = server_->Bind("127.0.0.1", 0);
    serving_ = std::thread([this] { server_->Serve(); });
  }
  ~TestServer() {
    Release();
    server_->Stop();
    serving_.join();
  }

  int port() const { return port_; }
  int calls() const { return calls_.load(); }
  int started() const { return started_.load(); }
  size_t last_body_size() const { return last_body_size_.load(); }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  HttpServer& server() { return *server_; }

 private:
  std::unique_ptr<HttpServer> server_;
  int port_ = -1;
  std::thread serving_;
  std::atomic<int> calls_{0};
  std::atomic<int> started_{0};
  std::atomic<size_t> last_body_size_{0};
  Notification release_;
};

std::string Get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
}

TEST(HttpServerTest, AnswersAndKeepsConnectionsAlive) {
  TestServer server({});
  ASSERT_GT(server.port(), 0);
  const int fd = raw::Connect(server.port());
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(raw::SendAll(fd, "GET /x?q=1 HTTP/1.1\r\nHost: t\r\n\r\n"));
    const std::string response = raw::ReadResponse(fd, milliseconds(5000));
    EXPECT_EQ(raw::StatusOf(response), 200) << response;
    EXPECT_NE(response.find("handled GET /x 127.0.0.1"), std::string::npos) << response;
  }
  close(fd);
  EXPECT_EQ(server.calls(), 3);
}

// HEAD: the headers of the answer with its Content-Length, no body; the connection stays usable.
TEST(HttpServerTest, HeadGetsNoBody) {
  TestServer server({});
  const int fd = raw::Connect(server.port());
  ASSERT_TRUE(raw::SendAll(fd,
                           "HEAD /x HTTP/1.1\r\nHost: t\r\n\r\nGET /y HTTP/1.1\r\nHost: t\r\n"
                           "Connection: close\r\n\r\n"));
  const std::string both = raw::ReadFor(fd, milliseconds(3000));
  close(fd);
  const size_t second = both.find("HTTP/1.1 200", 1);
  ASSERT_NE(second, std::string::npos) << both;
  const std::string head = both.substr(0, second);
  EXPECT_EQ(raw::StatusOf(head), 200) << head;
  // "handled HEAD /x 127.0.0.1": 25 bytes.
  EXPECT_NE(head.find("Content-Length: 25"), std::string::npos) << head;
  EXPECT_EQ(head.find("handled"), std::string::npos) << head;
  EXPECT_NE(both.find("handled GET /y"), std::string::npos) << both;
}

TEST(HttpServerTest, ChunkedBodyIsCountedDecodedAndCutAtTheLimit) {
  HttpServer::Options options;
  options.body_bytes_max = 1024;
  TestServer server(options);
  // Within the limit: the decoded body reaches the handler.
  const std::string small = raw::Exchange(
      server.port(),
      "POST /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
      "200\r\n" +
          std::string(512, 'a') + "\r\n200\r\n" + std::string(512, 'b') + "\r\n0\r\n\r\n");
  EXPECT_EQ(raw::StatusOf(small), 200) << small;
  EXPECT_EQ(server.last_body_size(), 1024u);
  // One byte over, in small chunks: 413 and the connection closes; the handler never runs.
  const int fd = raw::Connect(server.port());
  ASSERT_TRUE(
      raw::SendAll(fd, "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string received;
  bool closed = false;
  for (int i = 0; i < 10'000 && !closed; ++i) {
    if (!raw::SendAll(fd, "40\r\n" + std::string(64, 'x') + "\r\n")) break;
    received += raw::ReadFor(fd, milliseconds(0), &closed);
  }
  received += raw::ReadFor(fd, milliseconds(3000), &closed);
  close(fd);
  EXPECT_EQ(raw::StatusOf(received), 413) << received;
  EXPECT_EQ(server.calls(), 1);
}

TEST(HttpServerTest, EncodedBodiesAreRefusedUnread) {
  TestServer server({});
  for (const char* header : {"Content-Encoding: gzip\r\nContent-Length: 4",
                             "Content-Encoding: deflate, identity\r\n"
                             "Content-Length: 4",
                             "Transfer-Encoding: gzip, chunked"}) {
    const std::string response = raw::Exchange(
        server.port(), std::string("POST /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n") +
                           header + "\r\n\r\n4\r\nabcd\r\n0\r\n\r\n");
    EXPECT_EQ(raw::StatusOf(response), 415) << header << "\n" << response;
  }
  const std::string identity = raw::Exchange(
      server.port(),
      "POST /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Encoding: identity\r\n"
      "Content-Length: 4\r\n\r\nabcd");
  EXPECT_EQ(raw::StatusOf(identity), 200) << identity;
  EXPECT_EQ(server.calls(), 1);
}

// A chunked body's trailer fields would join the headers after their checks (a trailer
// Content-Encoding, or a webhook signature sent after the body): such a request is refused
// and never reaches the handler (found by fuzz/http_request_fuzz.cc).
TEST(HttpServerTest, TrailerFieldsAreRefused) {
  TestServer server({});
  for (const char* trailer : {"Content-Encoding: gzip\r\n", "X-Signature: t=1,v1=00\r\n"}) {
    const std::string response = raw::Exchange(
        server.port(), std::string("POST /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n") +
                           trailer + "\r\n");
    EXPECT_EQ(raw::StatusOf(response), 400) << trailer << "\n" << response;
  }
  EXPECT_EQ(server.calls(), 0);
  const std::string plain = raw::Exchange(
      server.port(),
      "POST /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
      "\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(raw::StatusOf(plain), 200) << plain;
  EXPECT_EQ(server.calls(), 1);
}

TEST(HttpServerTest, EndlessHeaderLineIsCutAtTheHeaderLimit) {
  HttpServer::Options options;
  options.header_bytes_max = 4096;
  TestServer server(options);
  const int fd = raw::Connect(server.port());
  ASSERT_TRUE(raw::SendAll(fd, "GET /x HTTP/1.1\r\nHost: t\r\nX-Long: "));
  std::string received;
  bool closed = false;
  size_t sent = 0;
  while (sent < (64u << 20) && !closed) {
    if (!raw::SendAll(fd, std::string(4096, 'a'))) break;
    sent += 4096;
    received += raw::ReadFor(fd, milliseconds(0), &closed);
  }
  received += raw::ReadFor(fd, milliseconds(3000), &closed);
  close(fd);
  EXPECT_EQ(raw::StatusOf(received), 431) << received;
  EXPECT_LT(sent, 64u << 20) << "the server kept reading the header";
  EXPECT_EQ(server.calls(), 0);
}

TEST(HttpServerTest, MalformedRequestsGetA400WithoutParserText) {
  TestServer server({});
  const std::string response = raw::Exchange(server.port(), "GET /x HTTP/9.9 nonsense\r\n\r\n");
  EXPECT_EQ(raw::StatusOf(response), 400) << response;
  EXPECT_NE(response.find("{\"refused\":true}"), std::string::npos) << response;
  EXPECT_EQ(server.calls(), 0);
}

TEST(HttpServerTest, RangeIsIgnored) {
  TestServer server({});
  const std::string response = raw::Exchange(
      server.port(),
      "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\nRange: bytes=0-1,0-1,0-1,0-1\r\n\r\n");
  EXPECT_EQ(raw::StatusOf(response), 200) << response;
  EXPECT_EQ(response.find("multipart"), std::string::npos);
}

// A slow-loris client (a byte now and then, never a whole request) is disconnected at the
// request deadline, however it trickles.
TEST(HttpServerTest, SlowRequestsAreCutAtTheRequestDeadline) {
  HttpServer::Options options;
  options.request_timeout = milliseconds(500);
  TestServer server(options);
  const int fd = raw::Connect(server.port());
  ASSERT_TRUE(raw::SendAll(fd, "GET /x HTTP/1.1\r\n"));
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {  // 100 x 100 ms: far past the deadline
    if (!raw::SendAll(fd, "X")) closed = true;
    if (!closed) raw::ReadFor(fd, milliseconds(100), &closed);
  }
  close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(server.calls(), 0);
  // A silent connection too.
  const int silent = raw::Connect(server.port());
  EXPECT_TRUE(raw::PeerCloses(silent, milliseconds(10'000)));
  close(silent);
}

TEST(HttpServerTest, ConnectionsPerAddressAreCapped) {
  HttpServer::Options options;
  options.connections_per_address_max = 3;
  TestServer server(options);
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    const int fd = raw::Connect(server.port(), "127.0.0.9");
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(raw::SendAll(fd, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"));
    EXPECT_EQ(raw::StatusOf(raw::ReadResponse(fd, milliseconds(5000))), 200);
    held.push_back(fd);
  }
  // The fourth from that address is closed unanswered; another address is served.
  const int over = raw::Connect(server.port(), "127.0.0.9");
  ASSERT_GE(over, 0);
  raw::SendAll(over, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
  bool closed = false;
  const std::string nothing = raw::ReadFor(over, milliseconds(5000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(nothing, "");
  close(over);
  EXPECT_EQ(raw::StatusOf(raw::Exchange(server.port(), Get("/x"))), 200);
  // A slot comes back when a connection ends.
  close(held.back());
  held.pop_back();
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    const int fd = raw::Connect(server.port(), "127.0.0.9");
    raw::SendAll(fd, Get("/x"));
    status = raw::StatusOf(raw::ReadResponse(fd, milliseconds(1000)));
    close(fd);
  }
  EXPECT_EQ(status, 200);
  for (int fd : held) close(fd);
}

// Every worker busy and the queue full: the next request is 503 with Retry-After at once, and
// the health check (inline) is still answered.
TEST(HttpServerTest, FullQueueIs503AndHealthChecksBypassIt) {
  HttpServer::Options options;
  options.workers = 2;
  options.queue_max = 1;
  TestServer server(options);
  std::vector<int> slow;
  for (int i = 0; i < 3; ++i) {  // two on the workers (one after the other), one in the queue
    const int fd = raw::Connect(server.port());
    ASSERT_TRUE(raw::SendAll(fd, Get("/slow")));
    slow.push_back(fd);
    for (int j = 0; j < 500 && i < 2 && server.started() < i + 1; ++j) {
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  ASSERT_EQ(server.started(), 2);
  std::this_thread::sleep_for(milliseconds(100));  // the third reaches the queue
  const std::string busy = raw::Exchange(server.port(), Get("/other"), milliseconds(5000));
  EXPECT_EQ(raw::StatusOf(busy), 503) << busy;
  EXPECT_NE(busy.find("Retry-After: 1"), std::string::npos) << busy;
  const std::string health = raw::Exchange(server.port(), Get("/healthz"), milliseconds(5000));
  EXPECT_EQ(raw::StatusOf(health), 200) << health;
  server.Release();
  for (int fd : slow) {
    EXPECT_EQ(raw::StatusOf(raw::ReadResponse(fd, milliseconds(5000))), 200);
    close(fd);
  }
}

// Stop(): no new connections, idle ones closed, the request in flight answered; Serve returns.
TEST(HttpServerTest, StopLetsTheRequestInFlightFinish) {
  HttpServer::Options options;
  auto server = std::make_unique<TestServer>(options);
  const int idle = raw::Connect(server->port());
  const int busy = raw::Connect(server->port());
  ASSERT_TRUE(raw::SendAll(busy, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (int i = 0; i < 500 && server->started() < 1; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(server->started(), 1);
  std::thread stopper([&] { server->server().Stop(); });
  stopper.join();
  EXPECT_TRUE(raw::PeerCloses(idle, milliseconds(5000)));
  server->Release();
  const std::string answer = raw::ReadResponse(busy, milliseconds(5000));
  EXPECT_EQ(raw::StatusOf(answer), 200) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  const int port = server->port();
  server.reset();  // Serve() has returned: the destructor's join does not hang
  const int late = raw::Connect(port);
  EXPECT_LT(late, 0) << "still accepting after Stop()";
  if (late >= 0) close(late);
  close(idle);
  close(busy);
}

}  // namespace
}  // namespace qcash::gateway
