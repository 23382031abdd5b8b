#include "common/seller_scope.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/status.h"

namespace qcash {

absl::StatusOr<std::unique_ptr<SellerScope>> SellerScope::FromEnv() {
  const std::string path = EnvString("QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE", "");
  const std::string dir = EnvString("QCASH_SELLER_TOKEN_PUBLIC_KEY_DIR", "");
  if (path.empty() && dir.empty()) {
    Log(LogLevel::kWarn, "seller_scope_not_enforced",
        {{"note", "QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE is unset: the gateway's calls are not "
                  "checked against the seller's token (development only)"}});
    return std::make_unique<SellerScope>(nullptr);
  }
  // One key file, or a directory of <kid>.pem files for a rotation (common/seller_token.h).
  auto keys = LoadSellerTokenKeys(path, dir);
  if (!keys.ok()) return keys.status();
  SellerTokenConfig config;
  config.keys = *keys;
  config.issuer = EnvString("QCASH_SELLER_TOKEN_ISSUER", "qoo10-login");
  config.audience = EnvString("QCASH_SELLER_TOKEN_AUDIENCE", "qcash-gateway");
  return std::make_unique<SellerScope>(std::make_unique<SellerTokenVerifier>(config));
}

absl::Status SellerScope::Check(const grpc::ServerContextBase& context, absl::string_view caller,
                                absl::string_view seller_id) const {
  // Only the gateway acts for sellers; every other caller is a service acting for itself.
  if (caller != "gateway" || verifier_ == nullptr) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kSellerTokenMetadata);
  if (it == metadata.end() || it->second.empty()) {
    return PermissionDenied("SELLER_TOKEN_MISSING",
                            "the gateway must forward the seller's token with this call");
  }
  auto claims = verifier_->Verify(absl::string_view(it->second.data(), it->second.size()),
                                  absl::Now());
  if (!claims.ok()) {
    return PermissionDenied("SELLER_TOKEN_INVALID",
                            absl::StrCat("the forwarded seller token is not valid: ",
                                         claims.status().message()));
  }
  if (claims->seller_id != seller_id) {
    return PermissionDenied("SELLER_MISMATCH",
                            "the forwarded seller token is for another seller");
  }
  return absl::OkStatus();
}

}  // namespace qcash
