#include "gateway/auth.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "qcash/gateway/v1/error_reason.pb.h"

namespace qcash::gateway {

std::string CookieValue(absl::string_view cookies, absl::string_view name) {
  for (absl::string_view part : absl::StrSplit(cookies, ';')) {
    part = absl::StripAsciiWhitespace(part);
    const size_t eq = part.find('=');
    if (eq != absl::string_view::npos && part.substr(0, eq) == name) {
      return std::string(part.substr(eq + 1));
    }
  }
  return "";
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(SellerTokenConfig token,
                                                                     std::string csrf_secret) {
  while (!csrf_secret.empty() && (csrf_secret.back() == '\n' || csrf_secret.back() == '\r')) {
    csrf_secret.pop_back();
  }
  if (csrf_secret.size() < kCsrfSecretBytesMin) {
    return InvalidArgument(
        common::v1::INVALID_CONFIG,
        absl::StrCat("the CSRF secret has ", csrf_secret.size(), " bytes; at least ",
                     kCsrfSecretBytesMin, " are required (e.g. `openssl rand -hex 32`)"));
  }
  return std::make_unique<Authenticator>(std::move(token), std::move(csrf_secret));
}

absl::StatusOr<Caller> Authenticator::Authenticate(absl::string_view authorization,
                                                   absl::string_view cookies,
                                                   absl::Time now) const {
  Caller caller;
  if (!authorization.empty()) {
    if (!absl::StartsWithIgnoreCase(authorization, "Bearer ")) {
      return Unauthenticated(gateway::v1::NO_TOKEN, "use `Authorization: Bearer <seller token>`");
    }
    caller.token = std::string(absl::StripAsciiWhitespace(authorization.substr(7)));
  } else {
    caller.token = CookieValue(cookies, kSessionCookie);
    caller.via_cookie = true;
  }
  if (caller.token.empty()) {
    return Unauthenticated(gateway::v1::NO_TOKEN, "log in first: no seller token in the request");
  }
  auto claims = verifier_.Verify(caller.token, now);
  if (!claims.ok()) return claims.status();
  caller.claims = std::move(*claims);
  return caller;
}

std::string Authenticator::CsrfToken(absl::string_view session_token) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), csrf_secret_.data(), static_cast<int>(csrf_secret_.size()),
       reinterpret_cast<const unsigned char*>(session_token.data()), session_token.size(), mac,
       &length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), length));
}

absl::Status Authenticator::CheckCsrf(const Caller& caller, absl::string_view csrf_header) const {
  if (!caller.via_cookie) return absl::OkStatus();  // a bearer token is not sent by browsers
  const std::string expected = CsrfToken(caller.token);
  if (csrf_header.size() != expected.size() ||
      CRYPTO_memcmp(csrf_header.data(), expected.data(), expected.size()) != 0) {
    return PermissionDenied(gateway::v1::CSRF_TOKEN_INVALID,
                            "this request did not come from a Qcash page; reload the page");
  }
  return absl::OkStatus();
}

}  // namespace qcash::gateway
