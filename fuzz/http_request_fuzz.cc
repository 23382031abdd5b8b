// gateway/http_server.h: what one connection of the gateway's HTTP server makes of the bytes a
// client sends (ServeBytes: the served connection's parser, limits, refusals and response
// writing, without a socket). The first input byte sets how many bytes a read hands the parser
// (a socket delivers any split); the rest is what the client sent.
// Properties: the handler gets only requests within the limits (body at most the body limit, no
// Content-Encoding, no transfer coding but chunked), with header values free of CR, LF and NUL
// and a path and query that make up the target; reading the same bytes in other splits gives the
// same requests (and the same answers unless a broken request is refused differently); what is
// written back is a sequence of well-formed HTTP/1.1 responses, one per request handled (after any
// 100 Continue), plus one for a refusal, which is the last and closes the connection; a HEAD answer
// has the GET answer's Content-Length and no body.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "fuzz/fuzz_check.h"
#include "gateway/http_server.h"

namespace {

namespace gateway = qcash::gateway;
namespace http = boost::beast::http;

gateway::HttpServer::Options Limits() {
  gateway::HttpServer::Options options;
  options.header_bytes_max = 1024;  // the least gateway/main.cc allows
  options.body_bytes_max = 2048;
  options.default_headers = {{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "no-store"}};
  return options;
}

// The answer depends on the request, so that a request read differently shows in the answers.
void Handle(const gateway::HttpRequest& request, gateway::HttpResponse& response) {
  response.status = request.path == "/missing" ? 404 : 200;
  response.SetHeader("X-Seen", absl::StrCat(request.headers.size()));
  response.SetContent(absl::StrCat(request.method, " ", request.target, " ", request.body.size()),
                      "text/plain");
}

void Refuse(gateway::HttpRefusal why, const gateway::HttpRequest&,
            gateway::HttpResponse& response) {
  response.SetContent(absl::StrCat("refused ", gateway::HttpStatusOf(why)), "text/plain");
}

bool Same(const gateway::HttpRequest& a, const gateway::HttpRequest& b) {
  return a.method == b.method && a.target == b.target && a.headers == b.headers && a.body == b.body;
}

void CheckRequest(const gateway::HttpRequest& request, const gateway::HttpServer::Options& limits) {
  FUZZ_CHECK(!request.method.empty());
  FUZZ_CHECK(request.body.size() <= limits.body_bytes_max);
  FUZZ_CHECK(request.target ==
             request.path +
                 (request.target.find('?') == std::string::npos ? "" : "?" + request.query));
  for (const auto& [name, value] : request.headers) {
    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
    FUZZ_CHECK(name.find_first_of(std::string(":\r\n\0 ", 5)) == std::string::npos);
  }
  const std::string encoding = request.Header("Content-Encoding");
  FUZZ_CHECK(encoding.empty() || absl::EqualsIgnoreCase(encoding, "identity"));
  const std::string transfer = request.Header("Transfer-Encoding");
  FUZZ_CHECK(transfer.empty() || absl::EqualsIgnoreCase(transfer, "chunked"));
}

// The responses in `written`, with 100 Continue skipped; false when they are not well-formed.
bool ReadResponses(const std::string& written, std::vector<http::response<http::string_body>>* out,
                   std::vector<bool>* heads, size_t* continues) {
  boost::beast::flat_buffer buffer;
  buffer.commit(
      boost::asio::buffer_copy(buffer.prepare(written.size()), boost::asio::buffer(written)));
  size_t next = 0;
  while (buffer.size() > 0) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    parser.skip(next < heads->size() && (*heads)[next]);  // an answer to HEAD has no body
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      const size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) {
        if (buffer.size() == 0) {
          parser.put_eof(ec);
          if (ec) return false;
          break;
        }
        ec = {};
        continue;
      }
      if (ec) return false;
      if (used == 0 && !parser.is_done()) return false;
    }
    if (parser.get().result_int() == 100) {
      ++*continues;
      continue;
    }
    out->push_back(parser.release());
    ++next;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const gateway::HttpServer::Options limits = Limits();
  const size_t read_size = 1 + data[0] % 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  const gateway::HttpExchange whole = gateway::ServeBytes(limits, bytes, 1 << 20, Handle, Refuse);
  const gateway::HttpExchange split = gateway::ServeBytes(limits, bytes, read_size, Handle, Refuse);
  FUZZ_CHECK(whole.requests.size() == split.requests.size());
  for (size_t i = 0; i < whole.requests.size(); ++i) {
    FUZZ_CHECK(Same(whole.requests[i], split.requests[i]));
  }
  // A request broken before its header ends is refused as soon as the parser sees the fault,
  // which depends on the split: with a whole header in hand Beast finds a bad byte at once, a
  // header still arriving is only scanned for its end (then 431, or silence if the client stops).
  // Whatever the split, the handler gets the same requests and they get the same answers.
  if (whole.refusal == split.refusal) {
    // Whether "100 Continue" goes out depends on how much of the body came with the header.
    const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    FUZZ_CHECK(absl::StrReplaceAll(whole.written, {{kContinue, ""}}) ==
               absl::StrReplaceAll(split.written, {{kContinue, ""}}));
  }

  std::vector<bool> heads;
  for (const gateway::HttpRequest& request : whole.requests) {
    CheckRequest(request, limits);
    heads.push_back(request.method == "HEAD");
  }
  std::vector<http::response<http::string_body>> responses;
  size_t continues = 0;
  FUZZ_CHECK(ReadResponses(whole.written, &responses, &heads, &continues));
  FUZZ_CHECK(responses.size() == whole.requests.size() + (whole.refusal.has_value() ? 1 : 0));
  for (size_t i = 0; i < whole.requests.size(); ++i) {
    const gateway::HttpRequest& request = whole.requests[i];
    const auto& response = responses[i];
    FUZZ_CHECK(response.result_int() == (request.path == "/missing" ? 404u : 200u));
    const std::string body =
        absl::StrCat(request.method, " ", request.target, " ", request.body.size());
    FUZZ_CHECK(response[http::field::content_length] == std::to_string(body.size()));
    FUZZ_CHECK(response.body() == (heads[i] ? "" : body));
    FUZZ_CHECK(response["X-Content-Type-Options"] == "nosniff");
  }
  if (whole.refusal.has_value()) {
    const auto& last = responses.back();
    FUZZ_CHECK(last.result_int() == static_cast<unsigned>(gateway::HttpStatusOf(*whole.refusal)));
    FUZZ_CHECK(!last.keep_alive());
  }
  return 0;
}
