// Seller tokens: the signed bearer token (a JWT signed with ES256) that says which seller an
// HTTP request acts for. The marketplace's login issues them; the gateway only verifies them with
// the public key, and takes the seller id from the token's subject and nowhere else.
//
// A token is accepted when: it is three base64url parts signed with ES256 by a configured key
// (any other algorithm, "none" included, is refused whatever the signature); `iss` is the
// expected issuer; `aud` is a string equal to the expected audience or an array of strings that
// contains it (anything else, e.g. an object, is refused); `exp` is an integer in the future and
// `nbf` and `iat`, when present, are integers (a string or a fraction is refused), `nbf` in the
// past, within a small leeway for clock skew; and `sub` is a seller id.
//
// Key rotation (issue 10): the verifier holds a set of public keys, each with its key id (the
// `kid` of the JWT header). A token with a `kid` is checked with that key only; an unknown `kid`
// is refused. A token without `kid` is accepted only while exactly one key is configured, so
// that a configuration with one key keeps working for issuers that do not send `kid`, and a
// rotation (two keys) never has to guess. Rotation: (1) configure the current key under its id,
// (2) the issuer sends that `kid`, (3) add the next key, (4) the issuer signs with it, (5) after
// the longest token lifetime remove the old key.
#ifndef QCASH_COMMON_SELLER_TOKEN_H_
#define QCASH_COMMON_SELLER_TOKEN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qcash {

// One verification key: its id (the JWT header's `kid`) and an EC P-256 public key in PEM.
struct SellerTokenKey {
  std::string key_id;
  std::string public_key_pem;
};

struct SellerTokenConfig {
  std::string public_key_pem;  // a single EC P-256 public key without a key id, or empty
  std::string issuer;          // expected `iss`
  std::string audience;        // expected in `aud`
  absl::Duration leeway = absl::Seconds(30);
  std::vector<SellerTokenKey> keys = {};  // keys with ids (rotation); with `public_key_pem`, at
                                          // most one key in all may lack an id
};

// OK when the keys of `config` are usable: at least one, at most kSellerTokenKeysMax, ids
// unique and of [A-Za-z0-9._-]{1,64}, and a key without id only when it is the only key.
// Errors: INVALID_ARGUMENT (INVALID_CONFIG) saying which rule is broken.
inline constexpr size_t kSellerTokenKeysMax = 16;
absl::Status ValidateSellerTokenConfig(const SellerTokenConfig& config);

// The verification keys configured by a file and/or a directory: `key_file` (if not empty) is
// one PEM key without an id; every `<kid>.pem` file in `key_dir` (if not empty) is the key of
// id <kid> (a Kubernetes Secret mounted as a directory gives exactly that; names starting with
// '.' are skipped). Errors: INVALID_ARGUMENT (INVALID_CONFIG) when a file cannot be read, a
// name is not a valid id, or the result breaks ValidateSellerTokenConfig's rules.
absl::StatusOr<std::vector<SellerTokenKey>> LoadSellerTokenKeys(const std::string& key_file,
                                                                const std::string& key_dir);

struct SellerClaims {
  std::string seller_id;  // `sub`
  absl::Time expires_at;
  std::string token_id;  // `jti`, may be empty
};

class SellerTokenVerifier {
 public:
  // A configuration ValidateSellerTokenConfig refuses makes every Verify fail (fail closed);
  // start-up code checks it first to stop with a clear message.
  explicit SellerTokenVerifier(SellerTokenConfig config);

  // Errors: UNAUTHENTICATED with reason TOKEN_INVALID (malformed, bad signature, wrong
  // algorithm, issuer, audience or subject, unknown or missing key id, a time claim that is
  // not an integer, or a configuration ValidateSellerTokenConfig refuses), TOKEN_EXPIRED or
  // TOKEN_NOT_YET_VALID.
  absl::StatusOr<SellerClaims> Verify(absl::string_view token, absl::Time now) const;

 private:
  // The key for a token whose header names `key_id` (empty: none), or nullptr.
  const SellerTokenKey* KeyFor(const std::string& key_id) const;

  const SellerTokenConfig config_;
  const absl::Status config_status_;
  std::vector<SellerTokenKey> keys_;  // config_.keys and the key without id; constant
};

// Signs a token for `seller_id` valid from `now` for `ttl`, with `kid` = `key_id` in its header
// when that is not empty. Only the development login and the tests issue tokens; in production
// the marketplace's login does.
absl::StatusOr<std::string> IssueSellerToken(const std::string& private_key_pem,
                                             const std::string& issuer, const std::string& audience,
                                             const std::string& seller_id, absl::Time now,
                                             absl::Duration ttl, const std::string& key_id = "");

}  // namespace qcash

#endif  // QCASH_COMMON_SELLER_TOKEN_H_
