#include "common/seller_token.h"

#include <jwt.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/text.h"

namespace qcash {
namespace {

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

absl::Status Invalid(absl::string_view why) {
  return Unauthenticated("TOKEN_INVALID", absl::StrCat("the seller token is invalid: ", why));
}

// `aud` is a string or an array of strings (RFC 7519 4.1.3).
bool AudienceMatches(jwt_t* jwt, const std::string& audience) {
  const char* single = jwt_get_grant(jwt, "aud");
  if (single != nullptr) return audience == single;
  char* json = jwt_get_grants_json(jwt, "aud");
  if (json == nullptr) return false;
  const std::string quoted = absl::StrCat("\"", audience, "\"");
  const bool found = absl::StrContains(json, quoted);
  std::free(json);
  return found;
}

}  // namespace

absl::StatusOr<SellerClaims> SellerTokenVerifier::Verify(absl::string_view token,
                                                         absl::Time now) const {
  if (token.empty() || token.size() > 8192) return Invalid("missing or too long");
  const std::string text(token);
  jwt_t* raw = nullptr;
  const int rc =
      jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(config_.public_key_pem.data()),
                 static_cast<int>(config_.public_key_pem.size()));
  JwtPtr jwt(raw);
  if (rc != 0 || jwt == nullptr) return Invalid("malformed or bad signature");
  // libjwt verifies with whatever algorithm the token names; an HS256 token "signed" with our
  // public key as the secret would pass that check, so the algorithm is pinned here.
  if (jwt_get_alg(jwt.get()) != JWT_ALG_ES256) return Invalid("algorithm is not ES256");
  const char* issuer = jwt_get_grant(jwt.get(), "iss");
  if (issuer == nullptr || config_.issuer != issuer) return Invalid("wrong issuer");
  if (!AudienceMatches(jwt.get(), config_.audience)) return Invalid("wrong audience");
  const long exp = jwt_get_grant_int(jwt.get(), "exp");
  if (exp <= 0) return Invalid("no expiry");
  const absl::Time expires_at = absl::FromUnixSeconds(exp);
  if (now > expires_at + config_.leeway) {
    return Unauthenticated("TOKEN_EXPIRED", "the seller token has expired; log in again");
  }
  const long nbf = jwt_get_grant_int(jwt.get(), "nbf");
  if (nbf > 0 && now + config_.leeway < absl::FromUnixSeconds(nbf)) {
    return Unauthenticated("TOKEN_NOT_YET_VALID", "the seller token is not valid yet");
  }
  const char* subject = jwt_get_grant(jwt.get(), "sub");
  if (subject == nullptr || !IsValidSellerId(subject)) return Invalid("no seller in `sub`");
  SellerClaims claims;
  claims.seller_id = subject;
  claims.expires_at = expires_at;
  if (const char* jti = jwt_get_grant(jwt.get(), "jti")) claims.token_id = jti;
  return claims;
}

absl::StatusOr<std::string> IssueSellerToken(const std::string& private_key_pem,
                                             const std::string& issuer,
                                             const std::string& audience,
                                             const std::string& seller_id, absl::Time now,
                                             absl::Duration ttl) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Internal("TOKEN_ISSUE_FAILED", "jwt_new failed");
  JwtPtr jwt(raw);
  const long iat = static_cast<long>(absl::ToUnixSeconds(now));
  if (jwt_add_grant(jwt.get(), "iss", issuer.c_str()) != 0 ||
      jwt_add_grant(jwt.get(), "aud", audience.c_str()) != 0 ||
      jwt_add_grant(jwt.get(), "sub", seller_id.c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", iat) != 0 ||
      jwt_add_grant_int(jwt.get(), "nbf", iat) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(absl::ToUnixSeconds(now + ttl))) !=
          0) {
    return Internal("TOKEN_ISSUE_FAILED", "cannot set the token's claims");
  }
  if (jwt_set_alg(jwt.get(), JWT_ALG_ES256,
                  reinterpret_cast<const unsigned char*>(private_key_pem.data()),
                  static_cast<int>(private_key_pem.size())) != 0) {
    return Internal("TOKEN_ISSUE_FAILED", "the signing key is not an EC P-256 private key");
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) return Internal("TOKEN_ISSUE_FAILED", "cannot sign the token");
  std::string token(encoded);
  std::free(encoded);
  return token;
}

}  // namespace qcash
