// common/seller_token.h SellerTokenVerifier::Verify: the bearer token (JWT, ES256) that says
// which seller an HTTP request acts for. Input: a mode byte, then
//   '0': a raw token as a client would send it (the forger's view);
//   '1': a JOSE header and a claims set (JSON), one per line, signed here with the configured
//        key, so that the fuzzer reaches every claim check behind the signature; verified by a
//        configuration of one key without an id;
//   '2': as '1', verified by a rotation configuration (keys `k1`, signing, and `k2`, another).
// Properties of an accepted token, checked against the rules the header states: alg ES256, the
// key its `kid` names (none only with a single key), issuer, audience (string or array of
// strings), integer exp not passed, integer nbf reached, integer iat, `sub` a seller id, and the
// claims returned are those signed. The same header and claims signed again verify to the same
// claims; a token with any signature byte changed does not verify; the claims of an accepted
// token, issued again by IssueSellerToken, verify to the same seller.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/seller_token.h"
#include "common/status.h"
#include "common/text.h"
#include "fuzz/fuzz_check.h"

namespace {

constexpr char kIssuer[] = "https://login.marketplace.example";
constexpr char kAudience[] = "qcash-gateway";
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

struct Key {
  EVP_PKEY* pkey = nullptr;
  std::string private_pem;
  std::string public_pem;
};

std::string Pem(EVP_PKEY* key, bool is_private) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (is_private) {
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio, key);
  }
  char* text = nullptr;
  const long n = BIO_get_mem_data(bio, &text);
  std::string pem(text, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

// Keys made at start (never a key in the source tree); the properties do not depend on them.
const Key& KeyOf(int which) {
  static const Key* const kKeys = [] {
    auto* keys = new Key[2];
    for (int i = 0; i < 2; ++i) {
      keys[i].pkey = EVP_EC_gen("P-256");
      FUZZ_CHECK(keys[i].pkey != nullptr);
      keys[i].private_pem = Pem(keys[i].pkey, true);
      keys[i].public_pem = Pem(keys[i].pkey, false);
    }
    return keys;
  }();
  return kKeys[which];
}

// header.claims signed with ES256 (JWS: the signature is R || S, 32 bytes each).
std::string SignJws(const std::string& header, const std::string& claims) {
  const std::string input =
      absl::StrCat(absl::WebSafeBase64Escape(header), ".", absl::WebSafeBase64Escape(claims));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(KeyOf(0).pkey, nullptr);
  FUZZ_CHECK(ctx != nullptr && EVP_PKEY_sign_init(ctx) == 1);
  unsigned char der[128];
  size_t der_length = sizeof(der);
  FUZZ_CHECK(EVP_PKEY_sign(ctx, der, &der_length, digest, sizeof(digest)) == 1);
  EVP_PKEY_CTX_free(ctx);
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_length));
  FUZZ_CHECK(sig != nullptr);
  unsigned char raw[64];
  FUZZ_CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32);
  FUZZ_CHECK(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32);
  ECDSA_SIG_free(sig);
  return absl::StrCat(
      input, ".", absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(raw), 64)));
}

bool ParseObject(const std::string& json, google::protobuf::Struct* object) {
  return google::protobuf::util::JsonStringToMessage(json, object).ok();
}

const google::protobuf::Value* Field(const google::protobuf::Struct& object, const char* name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

bool IsString(const google::protobuf::Value* v) {
  return v != nullptr && v->kind_case() == google::protobuf::Value::kStringValue;
}

// An integer NumericDate (the header: "integers", a string or a fraction is refused).
bool IsInteger(const google::protobuf::Value* v, int64_t* out) {
  if (v == nullptr || v->kind_case() != google::protobuf::Value::kNumberValue) return false;
  const double d = v->number_value();
  if (!std::isfinite(d) || std::floor(d) != d || d < 0 || d >= 9007199254740992.0) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

void CheckAccepted(const std::string& token, const qcash::SellerClaims& result, bool rotation) {
  const std::vector<std::string> parts = absl::StrSplit(token, '.');
  FUZZ_CHECK(parts.size() == 3);
  std::string header_json, claims_json;
  FUZZ_CHECK(absl::WebSafeBase64Unescape(parts[0], &header_json));
  FUZZ_CHECK(absl::WebSafeBase64Unescape(parts[1], &claims_json));
  google::protobuf::Struct header, claims;
  FUZZ_CHECK(ParseObject(header_json, &header));
  FUZZ_CHECK(ParseObject(claims_json, &claims));

  const google::protobuf::Value* alg = Field(header, "alg");
  FUZZ_CHECK(IsString(alg) && alg->string_value() == "ES256");
  const google::protobuf::Value* kid = Field(header, "kid");
  if (rotation) {
    FUZZ_CHECK(IsString(kid) && kid->string_value() == "k1");
  } else {
    FUZZ_CHECK(kid == nullptr);
  }
  const google::protobuf::Value* iss = Field(claims, "iss");
  FUZZ_CHECK(IsString(iss) && iss->string_value() == kIssuer);
  const google::protobuf::Value* aud = Field(claims, "aud");
  FUZZ_CHECK(aud != nullptr);
  if (aud->kind_case() == google::protobuf::Value::kStringValue) {
    FUZZ_CHECK(aud->string_value() == kAudience);
  } else {
    FUZZ_CHECK(aud->kind_case() == google::protobuf::Value::kListValue);
    bool found = false;
    for (const auto& item : aud->list_value().values()) {
      FUZZ_CHECK(item.kind_case() == google::protobuf::Value::kStringValue);
      found = found || item.string_value() == kAudience;
    }
    FUZZ_CHECK(found);
  }
  const absl::Duration leeway = qcash::SellerTokenConfig().leeway;
  int64_t exp = 0, nbf = 0, iat = 0;
  FUZZ_CHECK(IsInteger(Field(claims, "exp"), &exp) && exp > 0);
  FUZZ_CHECK(kNow <= absl::FromUnixSeconds(exp) + leeway);
  FUZZ_CHECK(result.expires_at == absl::FromUnixSeconds(exp));
  if (Field(claims, "nbf") != nullptr) {
    FUZZ_CHECK(IsInteger(Field(claims, "nbf"), &nbf));
    FUZZ_CHECK(absl::FromUnixSeconds(nbf) <= kNow + leeway);
  }
  if (Field(claims, "iat") != nullptr) FUZZ_CHECK(IsInteger(Field(claims, "iat"), &iat));
  const google::protobuf::Value* sub = Field(claims, "sub");
  FUZZ_CHECK(IsString(sub) && qcash::IsValidSellerId(sub->string_value()));
  FUZZ_CHECK(result.seller_id == sub->string_value());
  const google::protobuf::Value* jti = Field(claims, "jti");
  FUZZ_CHECK(result.token_id == (IsString(jti) ? jti->string_value() : ""));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char mode = static_cast<char>(data[0]);
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool rotation = mode == '2';

  qcash::SellerTokenConfig config;
  config.issuer = kIssuer;
  config.audience = kAudience;
  if (rotation) {
    config.keys = {{"k1", KeyOf(0).public_pem}, {"k2", KeyOf(1).public_pem}};
  } else {
    config.public_key_pem = KeyOf(0).public_pem;
  }
  const qcash::SellerTokenVerifier verifier(config);

  std::string token;
  std::string header, claims;
  if (mode == '1' || mode == '2') {
    const std::vector<std::string> f = qcash::fuzz::SplitFields(rest, "\n", 2);
    if (f.size() < 2) return 0;
    header = f[0];
    claims = f[1];
    token = SignJws(header, claims);
  } else {
    token = std::string(rest);
  }

  auto result = verifier.Verify(token, kNow);
  if (!result.ok()) {
    FUZZ_CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
    const std::string reason = qcash::ReasonOf(result.status());
    FUZZ_CHECK(reason == "TOKEN_INVALID" || reason == "TOKEN_EXPIRED" ||
               reason == "TOKEN_NOT_YET_VALID");
    return 0;
  }
  CheckAccepted(token, *result, rotation);

  // Only the signed content counts: signed again (ECDSA signatures differ each time), the same
  // claims; a changed signature byte, refused.
  if (mode == '1' || mode == '2') {
    auto again = verifier.Verify(SignJws(header, claims), kNow);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->seller_id == result->seller_id);
    FUZZ_CHECK(again->expires_at == result->expires_at);
    FUZZ_CHECK(again->token_id == result->token_id);
  }
  std::string forged = token;
  const size_t dot = forged.rfind('.');
  char& c = forged[dot + 1 + (forged.size() - dot - 1) / 2];
  c = c == 'A' ? 'B' : 'A';
  FUZZ_CHECK(!verifier.Verify(forged, kNow).ok());
  // The accepted seller, issued a token of our own, is accepted as the same seller.
  auto issued = qcash::IssueSellerToken(KeyOf(0).private_pem, kIssuer, kAudience, result->seller_id,
                                        kNow, absl::Minutes(5), rotation ? "k1" : "");
  FUZZ_CHECK(issued.ok());
  auto reissued = verifier.Verify(*issued, kNow);
  FUZZ_CHECK(reissued.ok() && reissued->seller_id == result->seller_id);
  return 0;
}
