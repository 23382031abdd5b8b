#include "common/seller_token.h"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qcash {
namespace {

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

// A fresh EC P-256 key pair, PEM-encoded.
KeyPair NewKeyPair() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  KeyPair pair;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  pair.private_pem.assign(data, n);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  n = BIO_get_mem_data(bio, &data);
  pair.public_pem.assign(data, n);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pair;
}

class SellerTokenTest : public ::testing::Test {
 protected:
  SellerTokenTest()
      : keys_(NewKeyPair()), verifier_({keys_.public_pem, "qoo10-login", "qcash-gateway"}) {}

  std::string Issue(const std::string& seller, absl::Time at, absl::Duration ttl,
                    const std::string& issuer = "qoo10-login",
                    const std::string& audience = "qcash-gateway") {
    auto token = IssueSellerToken(keys_.private_pem, issuer, audience, seller, at, ttl);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  std::string Reason(absl::string_view token, absl::Time at = kNow) {
    auto claims = verifier_.Verify(token, at);
    EXPECT_FALSE(claims.ok());
    if (!claims.ok()) {
      EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
    }
    return claims.ok() ? "" : ReasonOf(claims.status());
  }

  static inline const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
  KeyPair keys_;
  SellerTokenVerifier verifier_;
};

TEST_F(SellerTokenTest, ValidTokenNamesTheSeller) {
  auto claims = verifier_.Verify(Issue("shop-42", kNow, absl::Hours(1)), kNow + absl::Minutes(5));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->seller_id, "shop-42");
  EXPECT_EQ(claims->expires_at, kNow + absl::Hours(1));
}

TEST_F(SellerTokenTest, ExpiredAndNotYetValid) {
  const std::string token = Issue("shop-42", kNow, absl::Hours(1));
  EXPECT_EQ(Reason(token, kNow + absl::Hours(1) + absl::Minutes(1)), "TOKEN_EXPIRED");
  EXPECT_EQ(Reason(token, kNow - absl::Minutes(5)), "TOKEN_NOT_YET_VALID");
  EXPECT_TRUE(verifier_.Verify(token, kNow - absl::Seconds(10)).ok());  // within the leeway
}

TEST_F(SellerTokenTest, WrongIssuerAudienceOrKey) {
  EXPECT_EQ(Reason(Issue("s", kNow, absl::Hours(1), "someone-else")), "TOKEN_INVALID");
  EXPECT_EQ(Reason(Issue("s", kNow, absl::Hours(1), "qoo10-login", "other-app")), "TOKEN_INVALID");
  KeyPair other = NewKeyPair();
  auto forged = IssueSellerToken(other.private_pem, "qoo10-login", "qcash-gateway", "s", kNow,
                                 absl::Hours(1));
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(Reason(*forged), "TOKEN_INVALID");
}

TEST_F(SellerTokenTest, TamperedOrGarbage) {
  std::string token = Issue("shop-42", kNow, absl::Hours(1));
  const size_t dot = token.find('.');
  token[dot + 5] = token[dot + 5] == 'A' ? 'B' : 'A';  // flip a payload character
  EXPECT_EQ(Reason(token), "TOKEN_INVALID");
  EXPECT_EQ(Reason("not.a.token"), "TOKEN_INVALID");
  EXPECT_EQ(Reason(""), "TOKEN_INVALID");
}

// The classic confusions: HS256 "signed" with the public key as its secret, and alg "none".
TEST_F(SellerTokenTest, AlgorithmIsPinned) {
  for (jwt_alg_t alg : {JWT_ALG_HS256, JWT_ALG_NONE}) {
    jwt_t* jwt = nullptr;
    ASSERT_EQ(jwt_new(&jwt), 0);
    jwt_add_grant(jwt, "iss", "qoo10-login");
    jwt_add_grant(jwt, "aud", "qcash-gateway");
    jwt_add_grant(jwt, "sub", "victim-shop");
    jwt_add_grant_int(jwt, "exp", static_cast<long>(absl::ToUnixSeconds(kNow + absl::Hours(1))));
    if (alg == JWT_ALG_NONE) {
      jwt_set_alg(jwt, JWT_ALG_NONE, nullptr, 0);
    } else {
      jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(keys_.public_pem.data()),
                  static_cast<int>(keys_.public_pem.size()));
    }
    char* encoded = jwt_encode_str(jwt);
    ASSERT_NE(encoded, nullptr);
    EXPECT_EQ(Reason(encoded), "TOKEN_INVALID") << jwt_alg_str(alg);
    std::free(encoded);
    jwt_free(jwt);
  }
}

// A token with exactly these claims (JSON) and, if not empty, this `kid`, signed ES256.
std::string SignClaims(const std::string& private_pem, const std::string& claims_json,
                       const std::string& kid = "") {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, claims_json.c_str()), 0) << claims_json;
  if (!kid.empty()) {
    EXPECT_EQ(jwt_add_header(jwt, "kid", kid.c_str()), 0);
  }
  EXPECT_EQ(
      jwt_set_alg(jwt, JWT_ALG_ES256, reinterpret_cast<const unsigned char*>(private_pem.data()),
                  static_cast<int>(private_pem.size())),
      0);
  char* encoded = jwt_encode_str(jwt);
  std::string token = encoded == nullptr ? "" : encoded;
  std::free(encoded);
  jwt_free(jwt);
  return token;
}

std::string Claims(const std::string& aud, const std::string& times) {
  return absl::StrCat(R"({"iss":"qoo10-login","sub":"shop-42","aud":)", aud, ",", times, "}");
}

const std::string kGoodTimes = R"("iat":1800000000,"nbf":1800000000,"exp":1800003600)";

// Issue 10: `aud` was a substring of its JSON text, so {"qcash-gateway":1} passed.
TEST_F(SellerTokenTest, AudienceIsAStringOrAnArrayOfStrings) {
  EXPECT_TRUE(
      verifier_
          .Verify(SignClaims(keys_.private_pem, Claims(R"("qcash-gateway")", kGoodTimes)), kNow)
          .ok());
  EXPECT_TRUE(
      verifier_
          .Verify(SignClaims(keys_.private_pem, Claims(R"(["other","qcash-gateway"])", kGoodTimes)),
                  kNow)
          .ok());
  for (const std::string& aud :
       {std::string(R"({"qcash-gateway":1})"), std::string(R"(["qcash-gateway",1])"),
        std::string(R"([["qcash-gateway"]])"), std::string(R"("qcash-gateway-evil")"),
        std::string(R"(["xqcash-gateway"])"), std::string(R"("\"qcash-gateway\"")"),
        std::string("null"), std::string("[]"), std::string("1")}) {
    EXPECT_EQ(Reason(SignClaims(keys_.private_pem, Claims(aud, kGoodTimes))), "TOKEN_INVALID")
        << aud;
  }
}

// Issue 10: a non-integer `nbf` was ignored (libjwt reads it as 0, which counted as absent).
TEST_F(SellerTokenTest, TimeClaimsMustBeIntegers) {
  const std::string aud = R"("qcash-gateway")";
  for (const std::string& times :
       {std::string(R"("nbf":"1900000000","exp":1800003600)"),
        std::string(R"("nbf":1800000000.5,"exp":1800003600)"),
        std::string(R"("nbf":{"t":1},"exp":1800003600)"),
        std::string(R"("nbf":true,"exp":1800003600)"),
        std::string(R"("iat":"yesterday","exp":1800003600)"), std::string(R"("exp":"1800003600")"),
        std::string(R"("exp":1800003600.25)"), std::string(R"("exp":null)"),
        std::string(R"("nbf":1800000000)")}) {
    EXPECT_EQ(Reason(SignClaims(keys_.private_pem, Claims(aud, times))), "TOKEN_INVALID") << times;
  }
  // Integers, with or without the optional claims, are fine.
  EXPECT_TRUE(
      verifier_.Verify(SignClaims(keys_.private_pem, Claims(aud, R"("exp":1800003600)")), kNow)
          .ok());
  EXPECT_EQ(
      Reason(SignClaims(keys_.private_pem, Claims(aud, R"("nbf":1900000000,"exp":1900003600)"))),
      "TOKEN_NOT_YET_VALID");
}

// Issue 10: two keys valid at once during a rotation, chosen by the token's `kid`.
TEST(SellerTokenRotationTest, KeysAreChosenByKidAndUnknownKidsAreRefused) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const KeyPair old_key = NewKeyPair();
  const KeyPair new_key = NewKeyPair();
  SellerTokenConfig config;
  config.issuer = "qoo10-login";
  config.audience = "qcash-gateway";
  config.keys = {{"2026-10", old_key.public_pem}, {"2026-11", new_key.public_pem}};
  ASSERT_TRUE(ValidateSellerTokenConfig(config).ok());
  SellerTokenVerifier verifier(config);
  auto issue = [&](const KeyPair& key, const std::string& kid) {
    auto token = IssueSellerToken(key.private_pem, "qoo10-login", "qcash-gateway", "shop-1", now,
                                  absl::Hours(1), kid);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  };
  EXPECT_TRUE(verifier.Verify(issue(old_key, "2026-10"), now).ok());
  EXPECT_TRUE(verifier.Verify(issue(new_key, "2026-11"), now).ok());
  // The right key under the wrong id, an unknown id, and no id while two keys are configured.
  for (const std::string& token : {issue(old_key, "2026-11"), issue(new_key, "2026-12"),
                                   issue(new_key, ""), issue(old_key, "")}) {
    auto claims = verifier.Verify(token, now);
    ASSERT_FALSE(claims.ok());
    EXPECT_EQ(ReasonOf(claims.status()), "TOKEN_INVALID") << claims.status();
  }
  // One key only (the simple configuration): tokens without kid are accepted; with a kid the
  // key must carry that id.
  SellerTokenVerifier single({new_key.public_pem, "qoo10-login", "qcash-gateway"});
  EXPECT_TRUE(single.Verify(issue(new_key, ""), now).ok());
  EXPECT_FALSE(single.Verify(issue(new_key, "2026-11"), now).ok());
  SellerTokenConfig one_named = config;
  one_named.keys = {{"2026-11", new_key.public_pem}};
  SellerTokenVerifier named(one_named);
  EXPECT_TRUE(named.Verify(issue(new_key, ""), now).ok());
  EXPECT_TRUE(named.Verify(issue(new_key, "2026-11"), now).ok());
  EXPECT_FALSE(named.Verify(issue(new_key, "2026-10"), now).ok());
}

TEST(SellerTokenRotationTest, ConfigurationsThatCannotChooseAKeyAreRefused) {
  const KeyPair a = NewKeyPair();
  SellerTokenConfig config;
  config.issuer = "qoo10-login";
  config.audience = "qcash-gateway";
  EXPECT_FALSE(ValidateSellerTokenConfig(config).ok());  // no key
  config.public_key_pem = a.public_pem;
  config.keys = {{"k1", a.public_pem}};
  EXPECT_FALSE(ValidateSellerTokenConfig(config).ok());  // an unnamed key beside a named one
  config.public_key_pem.clear();
  config.keys = {{"k1", a.public_pem}, {"k1", a.public_pem}};
  EXPECT_FALSE(ValidateSellerTokenConfig(config).ok());  // the same id twice
  config.keys = {{"../etc", a.public_pem}};
  EXPECT_FALSE(ValidateSellerTokenConfig(config).ok());
  // A verifier built from a refused configuration accepts nothing.
  config.keys = {{"k1", a.public_pem}, {"k1", a.public_pem}};
  SellerTokenVerifier broken(config);
  auto token = IssueSellerToken(a.private_pem, "qoo10-login", "qcash-gateway", "s",
                                absl::FromUnixSeconds(1'800'000'000), absl::Hours(1), "k1");
  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(broken.Verify(*token, absl::FromUnixSeconds(1'800'000'000)).ok());
}

TEST(SellerTokenRotationTest, KeysLoadFromADirectoryNamedByKid) {
  const KeyPair a = NewKeyPair();
  const KeyPair b = NewKeyPair();
  const std::string dir = ::testing::TempDir() + "/seller-token-keys-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/..data");  // as a mounted Kubernetes Secret has
  std::ofstream(dir + "/2026-10.pem") << a.public_pem;
  std::ofstream(dir + "/2026-11.pem") << b.public_pem;
  std::ofstream(dir + "/README") << "not a key";
  auto keys = LoadSellerTokenKeys("", dir);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].key_id, "2026-10");
  EXPECT_EQ((*keys)[1].key_id, "2026-11");
  EXPECT_EQ((*keys)[1].public_key_pem, b.public_pem);
  // A file and a directory with keys cannot be combined (the unnamed key would be ambiguous).
  std::ofstream(dir + "/single.pub") << a.public_pem;
  EXPECT_FALSE(LoadSellerTokenKeys(dir + "/single.pub", dir).ok());
  auto single = LoadSellerTokenKeys(dir + "/single.pub", "");
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(single->size(), 1u);
  EXPECT_FALSE(LoadSellerTokenKeys("", dir + "/missing").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qcash
