#include "common/seller_scope.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/status.h"

namespace qcash {

namespace {

// True when `pem` holds an EC public key on P-256, the only kind ES256 tokens verify with.
bool IsP256PublicKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return false;
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return false;
  char group[64] = {0};
  size_t length = 0;
  const bool p256 = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
                    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                   sizeof(group), &length) == 1 &&
                    std::string(group, length) == "prime256v1";
  EVP_PKEY_free(key);
  return p256;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SellerScope>> SellerScope::FromEnv(bool insecure_dev) {
  const std::string path = EnvString("QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE", "");
  const std::string dir = EnvString("QCASH_SELLER_TOKEN_PUBLIC_KEY_DIR", "");
  if (path.empty() && dir.empty()) {
    // Fail closed: with real credentials, a missing key would let the gateway (or whoever
    // holds its certificate) act for any seller.
    if (!insecure_dev) {
      return InvalidArgument(common::v1::INVALID_CONFIG,
                             "QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE (or _DIR) is required with TLS: "
                             "without it the gateway's calls could act for any seller");
    }
    Log(LogLevel::kWarn, "seller_scope_not_enforced",
        {{"note",
          "QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE is unset: the gateway's calls are not "
          "checked against the seller's token (plaintext development only)"}});
    return std::make_unique<SellerScope>(nullptr);
  }
  // One key file, or a directory of <kid>.pem files for a rotation (common/seller_token.h).
  auto keys = LoadSellerTokenKeys(path, dir);
  if (!keys.ok()) return keys.status();
  // A file that holds something else would refuse every forwarded token at run time: a
  // configuration error at start-up instead.
  for (const SellerTokenKey& key : *keys) {
    if (!IsP256PublicKey(key.public_key_pem)) {
      return InvalidArgument(
          common::v1::INVALID_CONFIG,
          absl::StrCat("seller token key ", key.key_id.empty() ? path : key.key_id,
                       " holds no EC P-256 public key in PEM"));
    }
  }
  SellerTokenConfig config;
  config.keys = *keys;
  config.issuer = EnvString("QCASH_SELLER_TOKEN_ISSUER", "qoo10-login");
  config.audience = EnvString("QCASH_SELLER_TOKEN_AUDIENCE", "qcash-gateway");
  return std::make_unique<SellerScope>(std::make_unique<SellerTokenVerifier>(config));
}

absl::Status SellerScope::Check(absl::string_view caller, absl::string_view seller_id,
                                const absl::string_view* token) const {
  // Only the gateway acts for sellers; every other caller is a service acting for itself.
  if (caller != "gateway" || verifier_ == nullptr) return absl::OkStatus();
  if (token == nullptr || token->empty()) {
    return PermissionDenied(common::v1::SELLER_TOKEN_MISSING,
                            "the gateway must forward the seller's token with this call");
  }
  auto claims = verifier_->Verify(*token, absl::Now());
  if (!claims.ok()) {
    return PermissionDenied(
        common::v1::SELLER_TOKEN_INVALID,
        absl::StrCat("the forwarded seller token is not valid: ", claims.status().message()));
  }
  if (claims->seller_id != seller_id) {
    return PermissionDenied(common::v1::SELLER_MISMATCH,
                            "the forwarded seller token is for another seller");
  }
  return absl::OkStatus();
}

}  // namespace qcash
