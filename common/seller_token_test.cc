#include "common/seller_token.h"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>

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
  EXPECT_EQ(Reason(Issue("s", kNow, absl::Hours(1), "qoo10-login", "other-app")),
            "TOKEN_INVALID");
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

}  // namespace
}  // namespace qcash
