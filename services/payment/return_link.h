// Return links (issue 15, seed 000 ワンポイントアドバイス): a paid-ad application page sends the
// seller to Qcash's charge page with the URL to come back to after the payment. That URL is
// the seller's next click, so an unchecked one would make Qcash an open redirect: a link on
// Qcash's own domain that lands anywhere. Only URLs on the ad-booking origins that operators
// allow (QCASH_PAYMENT_RETURN_ORIGINS) are accepted; every other one is refused.
//
// Parsing is RFC 3986 by uriparser (Debian's liburiparser), never by hand, and stricter than
// a browser on every point where a browser would read the text differently from the parser:
// anything but printable ASCII (tabs and newlines, which browsers drop; raw Unicode, IDN must
// come as punycode), backslashes (a browser reads "\" as "/" in https URLs), percent-encoding
// in the host (a browser decodes it), user information ("https://allowed@evil") and fragments
// are refused before the origin is compared. The origin is then compared exactly: scheme and
// host lower-cased, the scheme's default port dropped.
#ifndef QCASH_SERVICES_PAYMENT_RETURN_LINK_H_
#define QCASH_SERVICES_PAYMENT_RETURN_LINK_H_

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qcash::payment {

inline constexpr size_t kReturnUrlLengthMax = 2048;
inline constexpr size_t kReturnOriginsMax = 64;

// A return URL that was accepted: safe to show and to follow.
struct ReturnLink {
  std::string url;     // normalized: lower-case scheme and host, no default port, dot segments
                       // removed, path at least "/"
  std::string origin;  // scheme://host[:port], one of the allowed origins
};

class ReturnOrigins {
 public:
  // No origin: every return URL is refused (RETURN_URL_NOT_ALLOWED).
  ReturnOrigins() = default;

  // `config`: comma-separated origins ("https://ads.example.jp,https://ads.example.jp:8443"),
  // spaces around entries ignored, "" for none. `loopback_http`: development builds only, an
  // http origin on 127.0.0.1, localhost or [::1] is allowed too.
  // Errors: INVALID_ARGUMENT (INVALID_CONFIG) naming the first malformed entry (an empty one,
  // a path, a query, user information, a fragment, a port outside 1..65535, another scheme).
  static absl::StatusOr<ReturnOrigins> Parse(absl::string_view config, bool loopback_http);

  // The accepted link for `url`. Errors: INVALID_ARGUMENT with INVALID_RETURN_URL (not an
  // absolute https URL of at most 2,048 printable ASCII characters without user information
  // or fragment; http only for loopback hosts when `loopback_http`) or RETURN_URL_NOT_ALLOWED
  // (its origin is not one of the allowed ones).
  absl::StatusOr<ReturnLink> Check(absl::string_view url) const;

  const std::set<std::string>& origins() const { return origins_; }

 private:
  ReturnOrigins(std::set<std::string> origins, bool loopback_http)
      : origins_(std::move(origins)), loopback_http_(loopback_http) {}

  std::set<std::string> origins_;
  bool loopback_http_ = false;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_RETURN_LINK_H_
