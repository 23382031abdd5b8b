#include "services/payment/return_link.h"

#include <uriparser/Uri.h>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::payment {
namespace {

struct Parsed {
  std::string origin;
  std::string url;        // normalized
  bool has_path = false;  // a path other than "" or "/"
  bool has_query = false;
};

absl::string_view Range(const UriTextRangeA& range) {
  if (range.first == nullptr || range.afterLast == nullptr) return {};
  return absl::string_view(range.first, static_cast<size_t>(range.afterLast - range.first));
}

// Owns the members uriparser allocates.
class UriHolder {
 public:
  UriHolder() = default;
  UriHolder(const UriHolder&) = delete;
  UriHolder& operator=(const UriHolder&) = delete;
  ~UriHolder() {
    if (parsed_) uriFreeUriMembersA(&uri_);
  }
  bool Parse(const std::string& text) {
    const char* error_pos = nullptr;
    parsed_ = uriParseSingleUriA(&uri_, text.c_str(), &error_pos) == URI_SUCCESS;
    return parsed_;
  }
  UriUriA* get() { return &uri_; }

 private:
  UriUriA uri_{};
  bool parsed_ = false;
};

bool IsRegNameChar(char c) { return absl::ascii_isalnum(c) || c == '.' || c == '-'; }
bool IsIp6Char(char c) { return absl::ascii_isxdigit(c) || c == ':' || c == '.'; }

// The URL's origin and normalized form, or why it is not an absolute https URL (an error
// message; the caller picks the reason).
absl::StatusOr<Parsed> ParseUrl(absl::string_view text, bool loopback_http) {
  if (text.empty()) return absl::InvalidArgumentError("empty");
  if (text.size() > kReturnUrlLengthMax) {
    return absl::InvalidArgumentError(absl::StrCat("longer than ", kReturnUrlLengthMax));
  }
  // Printable ASCII only: a browser silently drops tabs and newlines and reads "\" as "/", so
  // the parser and the browser could see two different URLs; raw Unicode hosts (IDN) must be
  // given as punycode, which is what the allow-list holds.
  for (char c : text) {
    if (c < 0x21 || c > 0x7e || c == '\\') {
      return absl::InvalidArgumentError("not printable ASCII, or a backslash");
    }
  }
  const std::string owned(text);
  UriHolder holder;
  if (!holder.Parse(owned)) return absl::InvalidArgumentError("not a URL");
  UriUriA* uri = holder.get();
  const std::string scheme = absl::AsciiStrToLower(Range(uri->scheme));
  if (scheme != "https" && scheme != "http") return absl::InvalidArgumentError("not https");
  if (uri->userInfo.first != nullptr) return absl::InvalidArgumentError("user information");
  if (uri->fragment.first != nullptr) return absl::InvalidArgumentError("a fragment");
  if (uri->hostData.ipFuture.first != nullptr) return absl::InvalidArgumentError("host");
  const absl::string_view host_text = Range(uri->hostText);
  if (host_text.empty() || host_text.size() > 253) return absl::InvalidArgumentError("no host");
  std::string host = absl::AsciiStrToLower(host_text);
  if (uri->hostData.ip6 != nullptr) {
    for (char c : host) {
      if (!IsIp6Char(c)) return absl::InvalidArgumentError("host");
    }
    host = absl::StrCat("[", host, "]");
  } else {
    // No percent-encoding (a browser decodes it: "allowed%2Eexample"), no sub-delimiters.
    for (char c : host) {
      if (!IsRegNameChar(c)) return absl::InvalidArgumentError("host");
    }
  }
  const int default_port = scheme == "https" ? 443 : 80;
  int port = default_port;
  if (uri->portText.first != nullptr) {
    const absl::string_view port_text = Range(uri->portText);
    if (!port_text.empty()) {
      if (port_text.size() > 5 || !absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
        return absl::InvalidArgumentError("port");
      }
      for (char c : port_text) {
        if (!absl::ascii_isdigit(c)) return absl::InvalidArgumentError("port");
      }
    }
  }
  if (scheme == "http") {
    const bool loopback = host == "127.0.0.1" || host == "localhost" || host == "[::1]";
    if (!loopback_http || !loopback) return absl::InvalidArgumentError("not https");
  }
  Parsed parsed;
  parsed.origin = absl::StrCat(scheme, "://", host);
  if (port != default_port) absl::StrAppend(&parsed.origin, ":", port);
  parsed.has_query = uri->query.first != nullptr;
  for (const UriPathSegmentA* s = uri->pathHead; s != nullptr; s = s->next) {
    if (!Range(s->text).empty() || s->next != nullptr) parsed.has_path = true;
  }

  if (uriNormalizeSyntaxA(uri) != URI_SUCCESS) return absl::InvalidArgumentError("not a URL");
  int chars = 0;
  if (uriToStringCharsRequiredA(uri, &chars) != URI_SUCCESS || chars < 0) {
    return absl::InvalidArgumentError("not a URL");
  }
  std::vector<char> buffer(static_cast<size_t>(chars) + 1);
  if (uriToStringA(buffer.data(), uri, chars + 1, nullptr) != URI_SUCCESS) {
    return absl::InvalidArgumentError("not a URL");
  }
  const absl::string_view normalized(buffer.data());
  // What follows the authority: the host holds no '/' or '?' and user information was refused.
  const size_t authority = normalized.find("://");
  const size_t rest_at = authority == absl::string_view::npos
                             ? authority
                             : normalized.find_first_of("/?", authority + 3);
  absl::string_view rest =
      rest_at == absl::string_view::npos ? absl::string_view() : normalized.substr(rest_at);
  parsed.url = absl::StrCat(parsed.origin, absl::StartsWith(rest, "/") ? "" : "/", rest);
  if (parsed.url.size() > kReturnUrlLengthMax) return absl::InvalidArgumentError("too long");
  return parsed;
}

}  // namespace

absl::StatusOr<ReturnOrigins> ReturnOrigins::Parse(absl::string_view config, bool loopback_http) {
  std::set<std::string> origins;
  if (absl::StripAsciiWhitespace(config).empty()) return ReturnOrigins({}, loopback_http);
  for (absl::string_view entry : absl::StrSplit(config, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    auto parsed = ParseUrl(entry, loopback_http);
    std::string why;
    if (!parsed.ok()) {
      why = std::string(parsed.status().message());
    } else if (parsed->has_path || parsed->has_query) {
      why = "an origin has no path or query";
    }
    if (!why.empty()) {
      return InvalidArgument(common::v1::INVALID_CONFIG,
                             absl::StrCat("QCASH_PAYMENT_RETURN_ORIGINS: \"", entry.substr(0, 100),
                                          "\" is not an origin like https://ads.example.jp or "
                                          "https://ads.example.jp:8443 (",
                                          why, ")"));
    }
    origins.insert(parsed->origin);
    if (origins.size() > kReturnOriginsMax) {
      return InvalidArgument(
          common::v1::INVALID_CONFIG,
          absl::StrCat("QCASH_PAYMENT_RETURN_ORIGINS: at most ", kReturnOriginsMax, " origins"));
    }
  }
  return ReturnOrigins(std::move(origins), loopback_http);
}

absl::StatusOr<ReturnLink> ReturnOrigins::Check(absl::string_view url) const {
  auto parsed = ParseUrl(url, loopback_http_);
  if (!parsed.ok()) {
    // The URL itself is not echoed: it is the caller's text, and may be an attack.
    return InvalidArgument(
        payment::v1::INVALID_RETURN_URL,
        absl::StrCat("return_url must be an absolute https URL of at most ", kReturnUrlLengthMax,
                     " printable ASCII characters without user information or fragment (",
                     parsed.status().message(), ")"));
  }
  if (origins_.count(parsed->origin) == 0) {
    return InvalidArgument(payment::v1::RETURN_URL_NOT_ALLOWED,
                           "return_url is not on an allowed ad-booking origin");
  }
  return ReturnLink{std::move(parsed->url), std::move(parsed->origin)};
}

}  // namespace qcash::payment
