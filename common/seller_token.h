// Seller tokens: the signed bearer token (a JWT signed with ES256) that says which seller an
// HTTP request acts for. The marketplace's login issues them; the gateway only verifies them with
// the public key, and takes the seller id from the token's subject and nowhere else.
//
// A token is accepted when: it is three base64url parts signed with ES256 by the configured key
// (any other algorithm, "none" included, is refused whatever the signature), `iss` and `aud`
// match, `exp` is in the future and `nbf` (if present) in the past, within a small leeway for
// clock skew, and `sub` is a seller id.
#ifndef QCASH_COMMON_SELLER_TOKEN_H_
#define QCASH_COMMON_SELLER_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qcash {

struct SellerTokenConfig {
  std::string public_key_pem;  // EC P-256 public key
  std::string issuer;          // expected `iss`
  std::string audience;        // expected in `aud`
  absl::Duration leeway = absl::Seconds(30);
};

struct SellerClaims {
  std::string seller_id;  // `sub`
  absl::Time expires_at;
  std::string token_id;   // `jti`, may be empty
};

class SellerTokenVerifier {
 public:
  explicit SellerTokenVerifier(SellerTokenConfig config) : config_(std::move(config)) {}

  // Errors: UNAUTHENTICATED with reason TOKEN_INVALID (malformed, bad signature, wrong
  // algorithm, issuer, audience or subject), TOKEN_EXPIRED or TOKEN_NOT_YET_VALID.
  absl::StatusOr<SellerClaims> Verify(absl::string_view token, absl::Time now) const;

 private:
  const SellerTokenConfig config_;
};

// Signs a token for `seller_id` valid from `now` for `ttl`. Only the development login and the
// tests issue tokens; in production the marketplace's login does.
absl::StatusOr<std::string> IssueSellerToken(const std::string& private_key_pem,
                                             const std::string& issuer,
                                             const std::string& audience,
                                             const std::string& seller_id, absl::Time now,
                                             absl::Duration ttl);

}  // namespace qcash

#endif  // QCASH_COMMON_SELLER_TOKEN_H_
