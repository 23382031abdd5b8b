// Who is calling the gateway: the seller of a signed token (common/seller_token.h), sent as
// `Authorization: Bearer <token>` by API clients or as the `qcash_session` cookie by the pages.
//
// Cookies travel with every request a browser makes, so a cookie-authenticated request that
// changes something must also prove it comes from our own pages (CSRF): the cookies are
// SameSite=Strict, and the request must carry `X-CSRF-Token`, equal to an HMAC of the session
// token under a server secret. The pages read it from the `qcash_csrf` cookie, which another
// site can neither read nor compute.
#ifndef QCASH_GATEWAY_AUTH_H_
#define QCASH_GATEWAY_AUTH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/seller_token.h"

namespace qcash::gateway {

inline constexpr char kSessionCookie[] = "qcash_session";
inline constexpr char kCsrfCookie[] = "qcash_csrf";
inline constexpr char kCsrfHeader[] = "X-CSRF-Token";

struct Caller {
  SellerClaims claims;
  std::string token;
  bool via_cookie = false;
};

// The CSRF secret's minimum length in bytes (after a trailing newline of its file is dropped):
// 256 bits, the HMAC-SHA256 key size, so that the CSRF tokens cannot be brute-forced offline.
inline constexpr size_t kCsrfSecretBytesMin = 32;

class Authenticator {
 public:
  // The authenticator, or INVALID_ARGUMENT (INVALID_CONFIG) when `csrf_secret` is shorter than
  // kCsrfSecretBytesMin: the process must not start with a guessable secret (fail closed).
  // A trailing newline (as `openssl rand -hex 32 > file` writes) is not part of the secret.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(SellerTokenConfig token,
                                                               std::string csrf_secret);

  // REQUIRES: `csrf_secret` holds at least kCsrfSecretBytesMin bytes. Prefer Create(), which
  // checks it; this constructor stays for callers that checked already.
  Authenticator(SellerTokenConfig token, std::string csrf_secret)
      : verifier_(std::move(token)), csrf_secret_(std::move(csrf_secret)) {}

  // The seller of a request from its Authorization and Cookie headers (a bearer token wins).
  // Errors: UNAUTHENTICATED (NO_TOKEN, TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_NOT_YET_VALID).
  absl::StatusOr<Caller> Authenticate(absl::string_view authorization, absl::string_view cookies,
                                      absl::Time now) const;

  // OK unless `caller` came by cookie and `csrf_header` is not CsrfToken(caller.token).
  // Errors: PERMISSION_DENIED (CSRF_TOKEN_INVALID).
  absl::Status CheckCsrf(const Caller& caller, absl::string_view csrf_header) const;

  // The CSRF token that goes with a session token: hex HMAC-SHA256 under the server secret.
  std::string CsrfToken(absl::string_view session_token) const;

 private:
  SellerTokenVerifier verifier_;
  const std::string csrf_secret_;
};

// The value of cookie `name` in a Cookie header, or "".
std::string CookieValue(absl::string_view cookies, absl::string_view name);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_AUTH_H_
