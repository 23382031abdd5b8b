// A service that the gateway calls on behalf of a seller (DESIGN.md section 2: "the gateway may
// act for the seller in the token it forwards") checks that the seller token the gateway
// forwards in `x-qcash-seller-token` is valid and names the seller of the request. So a bug or a
// compromise in the gateway cannot reach another seller's money: it would need that seller's
// token, signed by the marketplace's login.
#ifndef QCASH_COMMON_SELLER_SCOPE_H_
#define QCASH_COMMON_SELLER_SCOPE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/seller_token.h"

namespace qcash {

inline constexpr char kSellerTokenMetadata[] = "x-qcash-seller-token";

class SellerScope {
 public:
  // From QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE (one key) or _DIR (<kid>.pem files, for a key
  // rotation: common/seller_token.h), and _ISSUER, _AUDIENCE (defaults qoo10-login and
  // qcash-gateway). Fail closed (DESIGN.md section 7): a key is required, except in plaintext
  // development mode (`insecure_dev`, development builds only), where without one the scope is
  // not enforced (logged at start-up).
  // Errors: INVALID_ARGUMENT (INVALID_CONFIG) when no key is configured outside plaintext
  // development, a key cannot be read or is no EC P-256 public key, or the keys cannot choose
  // (two keys without ids, an id twice).
  static absl::StatusOr<std::unique_ptr<SellerScope>> FromEnv(bool insecure_dev);
  explicit SellerScope(std::unique_ptr<SellerTokenVerifier> verifier)
      : verifier_(std::move(verifier)) {}

  // OK when `caller` does not act for sellers, or when it forwarded a valid token for
  // `seller_id`; `token` is the call's kSellerTokenMetadata, null when it has none.
  // Errors: PERMISSION_DENIED (SELLER_TOKEN_MISSING, SELLER_TOKEN_INVALID, SELLER_MISMATCH).
  absl::Status Check(absl::string_view caller, absl::string_view seller_id,
                     const absl::string_view* token) const;

  bool enforced() const { return verifier_ != nullptr; }

 private:
  std::unique_ptr<SellerTokenVerifier> verifier_;
};

}  // namespace qcash

#endif  // QCASH_COMMON_SELLER_SCOPE_H_
