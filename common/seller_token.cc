#include "common/seller_token.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <jwt.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/optional.h"
#include "common/config.h"
#include "common/status.h"
#include "common/text.h"

namespace qcash {
namespace {

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

absl::Status Invalid(absl::string_view why) {
  return Unauthenticated(common::v1::TOKEN_INVALID,
                         absl::StrCat("the seller token is invalid: ", why));
}

absl::Status BadConfig(absl::string_view why) {
  return InvalidArgument(common::v1::INVALID_CONFIG, absl::StrCat("seller token keys: ", why));
}

bool IsKeyId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

// One base64url part of the token as a JSON object. The parts are read here rather than
// through libjwt's getters, which cannot tell a missing claim from one of the wrong type
// (jwt_get_grant_int gives 0 for "nbf":"soon", which then counted as absent).
absl::StatusOr<google::protobuf::Struct> ParsePart(absl::string_view part) {
  std::string json;
  if (!absl::WebSafeBase64Unescape(part, &json)) return Invalid("malformed");
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(json, &object).ok()) {
    return Invalid("malformed");
  }
  return object;
}

const google::protobuf::Value* Field(const google::protobuf::Struct& object,
                                     const std::string& name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

// A NumericDate we accept: a JSON number with an integer value in [0, 2^53).
bool IsIntegerSeconds(const google::protobuf::Value& value, int64_t* seconds) {
  if (value.kind_case() != google::protobuf::Value::kNumberValue) return false;
  const double v = value.number_value();
  if (!std::isfinite(v) || v < 0 || v >= 9007199254740992.0 || std::floor(v) != v) return false;
  *seconds = static_cast<int64_t>(v);
  return true;
}

// An optional time claim: absent, or an integer (anything else is refused, issue 10).
absl::Status OptionalSeconds(const google::protobuf::Struct& claims, const std::string& name,
                             absl::optional<int64_t>* out) {
  const google::protobuf::Value* value = Field(claims, name);
  if (value == nullptr) return absl::OkStatus();
  int64_t seconds = 0;
  if (!IsIntegerSeconds(*value, &seconds)) {
    return Invalid(absl::StrCat("`", name, "` is not an integer"));
  }
  *out = seconds;
  return absl::OkStatus();
}

// `aud` is a string or an array of strings (RFC 7519 4.1.3); any other shape is refused, and
// the audience must equal one of the strings (issue 10: it was a substring of the JSON text).
bool AudienceMatches(const google::protobuf::Struct& claims, const std::string& audience) {
  const google::protobuf::Value* aud = Field(claims, "aud");
  if (aud == nullptr) return false;
  if (aud->kind_case() == google::protobuf::Value::kStringValue) {
    return aud->string_value() == audience;
  }
  if (aud->kind_case() != google::protobuf::Value::kListValue) return false;
  bool found = false;
  for (const google::protobuf::Value& item : aud->list_value().values()) {
    if (item.kind_case() != google::protobuf::Value::kStringValue) return false;
    found = found || item.string_value() == audience;
  }
  return found;
}

std::string StringClaim(const google::protobuf::Struct& claims, const std::string& name) {
  const google::protobuf::Value* value = Field(claims, name);
  if (value == nullptr || value->kind_case() != google::protobuf::Value::kStringValue) return "";
  return value->string_value();
}

std::vector<SellerTokenKey> AllKeys(const SellerTokenConfig& config) {
  std::vector<SellerTokenKey> keys = config.keys;
  if (!config.public_key_pem.empty()) keys.push_back({"", config.public_key_pem});
  return keys;
}

}  // namespace

absl::Status ValidateSellerTokenConfig(const SellerTokenConfig& config) {
  const std::vector<SellerTokenKey> keys = AllKeys(config);
  if (keys.empty()) return BadConfig("no public key is configured");
  if (keys.size() > kSellerTokenKeysMax) {
    return BadConfig(absl::StrCat("more than ", kSellerTokenKeysMax, " keys"));
  }
  absl::flat_hash_set<std::string> ids;
  for (const SellerTokenKey& key : keys) {
    if (key.public_key_pem.empty())
      return BadConfig(absl::StrCat("key `", key.key_id, "` is empty"));
    if (key.key_id.empty()) {
      if (keys.size() > 1) {
        return BadConfig("with more than one key, every key needs a key id (kid)");
      }
      continue;
    }
    if (!IsKeyId(key.key_id)) {
      return BadConfig(absl::StrCat("`", key.key_id, "` is not a key id ([A-Za-z0-9._-]{1,64})"));
    }
    if (!ids.insert(key.key_id).second) {
      return BadConfig(absl::StrCat("key id `", key.key_id, "` is given twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SellerTokenKey>> LoadSellerTokenKeys(const std::string& key_file,
                                                                const std::string& key_dir) {
  auto read = [](const std::string& path) -> absl::StatusOr<std::string> {
    auto text = ReadConfigFile(path);
    if (!text.ok()) return BadConfig(text.status().message());
    if (text->empty()) return BadConfig(absl::StrCat(path, " is empty"));
    return text;
  };
  SellerTokenConfig config;
  if (!key_file.empty()) {
    auto pem = read(key_file);
    if (!pem.ok()) return pem.status();
    config.public_key_pem = *pem;
  }
  if (!key_dir.empty()) {
    std::error_code error;
    std::filesystem::directory_iterator it(key_dir, error);
    if (error) return BadConfig(absl::StrCat("cannot list ", key_dir));
    std::vector<std::string> names;
    for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
      if (error) return BadConfig(absl::StrCat("cannot list ", key_dir));
      const std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.' || !absl::EndsWith(name, ".pem")) continue;
      if (names.size() >= kSellerTokenKeysMax) {
        return BadConfig(absl::StrCat("more than ", kSellerTokenKeysMax, " keys in ", key_dir));
      }
      names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      auto pem = read((std::filesystem::path(key_dir) / name).string());
      if (!pem.ok()) return pem.status();
      config.keys.push_back({name.substr(0, name.size() - 4), *pem});
    }
  }
  if (absl::Status s = ValidateSellerTokenConfig(config); !s.ok()) return s;
  return AllKeys(config);
}

SellerTokenVerifier::SellerTokenVerifier(SellerTokenConfig config)
    : config_(std::move(config)),
      config_status_(ValidateSellerTokenConfig(config_)),
      keys_(AllKeys(config_)) {}

const SellerTokenKey* SellerTokenVerifier::KeyFor(const std::string& key_id) const {
  if (key_id.empty()) return keys_.size() == 1 ? &keys_[0] : nullptr;
  for (const SellerTokenKey& key : keys_) {
    if (!key.key_id.empty() && key.key_id == key_id) return &key;
  }
  return nullptr;
}

absl::StatusOr<SellerClaims> SellerTokenVerifier::Verify(absl::string_view token,
                                                         absl::Time now) const {
  if (!config_status_.ok()) return Invalid("the verifier has no usable key");
  if (token.empty() || token.size() > 8192) return Invalid("missing or too long");
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Invalid("malformed");
  auto header = ParsePart(parts[0]);
  if (!header.ok()) return header.status();
  // The algorithm is pinned before any key is used: libjwt verifies with whatever algorithm
  // the token names, and an HS256 token "signed" with our public key as the secret would pass.
  if (StringClaim(*header, "alg") != "ES256") return Invalid("algorithm is not ES256");
  const google::protobuf::Value* kid = Field(*header, "kid");
  if (kid != nullptr &&
      (kid->kind_case() != google::protobuf::Value::kStringValue || kid->string_value().empty())) {
    return Invalid("`kid` is not a key id");
  }
  const SellerTokenKey* key = KeyFor(kid == nullptr ? "" : kid->string_value());
  if (key == nullptr) {
    return Invalid(kid == nullptr ? "no `kid`, and more than one key is configured"
                                  : "unknown key id");
  }
  const std::string text(token);
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, text.c_str(),
                            reinterpret_cast<const unsigned char*>(key->public_key_pem.data()),
                            static_cast<int>(key->public_key_pem.size()));
  JwtPtr jwt(raw);
  if (rc != 0 || jwt == nullptr) return Invalid("malformed or bad signature");
  if (jwt_get_alg(jwt.get()) != JWT_ALG_ES256) return Invalid("algorithm is not ES256");
  // The claims as signed (the same bytes libjwt has just verified).
  auto claims = ParsePart(parts[1]);
  if (!claims.ok()) return claims.status();
  if (StringClaim(*claims, "iss") != config_.issuer || config_.issuer.empty()) {
    return Invalid("wrong issuer");
  }
  if (!AudienceMatches(*claims, config_.audience)) return Invalid("wrong audience");
  const google::protobuf::Value* exp_value = Field(*claims, "exp");
  int64_t exp = 0;
  if (exp_value == nullptr || !IsIntegerSeconds(*exp_value, &exp) || exp <= 0) {
    return Invalid("no integer expiry");
  }
  absl::optional<int64_t> nbf;
  absl::optional<int64_t> iat;
  if (absl::Status s = OptionalSeconds(*claims, "nbf", &nbf); !s.ok()) return s;
  if (absl::Status s = OptionalSeconds(*claims, "iat", &iat); !s.ok()) return s;
  const absl::Time expires_at = absl::FromUnixSeconds(exp);
  if (now > expires_at + config_.leeway) {
    return Unauthenticated(common::v1::TOKEN_EXPIRED, "the seller token has expired; log in again");
  }
  if (nbf.has_value() && now + config_.leeway < absl::FromUnixSeconds(*nbf)) {
    return Unauthenticated(common::v1::TOKEN_NOT_YET_VALID, "the seller token is not valid yet");
  }
  const std::string subject = StringClaim(*claims, "sub");
  if (!IsValidSellerId(subject)) return Invalid("no seller in `sub`");
  SellerClaims result;
  result.seller_id = subject;
  result.expires_at = expires_at;
  result.token_id = StringClaim(*claims, "jti");
  return result;
}

absl::StatusOr<std::string> IssueSellerToken(const std::string& private_key_pem,
                                             const std::string& issuer, const std::string& audience,
                                             const std::string& seller_id, absl::Time now,
                                             absl::Duration ttl, const std::string& key_id) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Internal(common::v1::TOKEN_ISSUE_FAILED, "jwt_new failed");
  JwtPtr jwt(raw);
  const long iat = static_cast<long>(absl::ToUnixSeconds(now));
  if (jwt_add_grant(jwt.get(), "iss", issuer.c_str()) != 0 ||
      jwt_add_grant(jwt.get(), "aud", audience.c_str()) != 0 ||
      jwt_add_grant(jwt.get(), "sub", seller_id.c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", iat) != 0 ||
      jwt_add_grant_int(jwt.get(), "nbf", iat) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(absl::ToUnixSeconds(now + ttl))) != 0) {
    return Internal(common::v1::TOKEN_ISSUE_FAILED, "cannot set the token's claims");
  }
  if (!key_id.empty() && jwt_add_header(jwt.get(), "kid", key_id.c_str()) != 0) {
    return Internal(common::v1::TOKEN_ISSUE_FAILED, "cannot set the token's key id");
  }
  if (jwt_set_alg(jwt.get(), JWT_ALG_ES256,
                  reinterpret_cast<const unsigned char*>(private_key_pem.data()),
                  static_cast<int>(private_key_pem.size())) != 0) {
    return Internal(common::v1::TOKEN_ISSUE_FAILED,
                    "the signing key is not an EC P-256 private key");
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) return Internal(common::v1::TOKEN_ISSUE_FAILED, "cannot sign the token");
  std::string token(encoded);
  std::free(encoded);
  return token;
}

}  // namespace qcash
