#include "common/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/status.h"

namespace qcash {
namespace {

TEST(ConfigTest, IntUsesFallbackWhenUnset) {
  unsetenv("QCASH_TEST_INT");
  EXPECT_EQ(*EnvInt("QCASH_TEST_INT", 7, 0, 10), 7);
}

TEST(ConfigTest, IntRejectsOutOfBoundsAndGarbage) {
  setenv("QCASH_TEST_INT", "11", 1);
  auto out = EnvInt("QCASH_TEST_INT", 7, 0, 10);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(out.status()), "INVALID_CONFIG");
  setenv("QCASH_TEST_INT", "12abc", 1);
  EXPECT_FALSE(EnvInt("QCASH_TEST_INT", 7, 0, 100).ok());
  setenv("QCASH_TEST_INT", "5", 1);
  EXPECT_EQ(*EnvInt("QCASH_TEST_INT", 7, 0, 10), 5);
  unsetenv("QCASH_TEST_INT");
}

TEST(ConfigTest, Bool) {
  setenv("QCASH_TEST_BOOL", "yes", 1);
  EXPECT_TRUE(*EnvBool("QCASH_TEST_BOOL", false));
  setenv("QCASH_TEST_BOOL", "0", 1);
  EXPECT_FALSE(*EnvBool("QCASH_TEST_BOOL", true));
  setenv("QCASH_TEST_BOOL", "maybe", 1);
  EXPECT_FALSE(EnvBool("QCASH_TEST_BOOL", true).ok());
  unsetenv("QCASH_TEST_BOOL");
}

TEST(ConfigTest, RedactUrlHidesPasswords) {
  EXPECT_EQ(RedactUrl("postgresql://qcash:s3cret@db:5432/wallet"),
            "postgresql://qcash:***@db:5432/wallet");
  EXPECT_EQ(RedactUrl("postgresql://qcash@db/wallet"), "postgresql://qcash@db/wallet");
  EXPECT_EQ(RedactUrl("host=db password=s3cret dbname=w"), "host=db password=*** dbname=w");
}

// Issue 10: `?password=` was printed whenever the URL also had `user@host:port`.
TEST(ConfigTest, RedactUrlHidesPasswordQueryParametersBesideUserinfo) {
  EXPECT_EQ(RedactUrl("postgresql://qcash@db:5432/wallet?password=s3cret"),
            "postgresql://qcash@db:5432/wallet?password=***");
  EXPECT_EQ(RedactUrl("postgresql://qcash:one@db:5432/w?sslmode=require&password=two&x=1"),
            "postgresql://qcash:***@db:5432/w?sslmode=require&password=***&x=1");
  EXPECT_EQ(RedactUrl("postgresql:///wallet?host=/tmp&password=s3cret"),
            "postgresql:///wallet?host=/tmp&password=***");
  EXPECT_EQ(RedactUrl("postgresql://db/w?PassWord=a&sslpassword=b"),
            "postgresql://db/w?PassWord=***&sslpassword=***");
  // libpq decodes %XX in query keywords, so an escaped name is still a password.
  EXPECT_EQ(RedactUrl("postgresql://db/w?pass%77ord=s3cret"), "postgresql://db/w?pass%77ord=***");
  EXPECT_EQ(RedactUrl("redis://:s3cret@cache:6379/0"), "redis://:***@cache:6379/0");
}

TEST(ConfigTest, RedactUrlHidesPasswordsWithAwkwardCharacters) {
  // An unescaped '@', '?' or ':' in the password must not leave part of it visible.
  const std::string redacted = RedactUrl("postgresql://u:pa@ss?w:rd@db:5432/w");
  EXPECT_EQ(redacted, "postgresql://u:***@db:5432/w");
  EXPECT_EQ(redacted.find("pa"), std::string::npos);
}

TEST(ConfigTest, RedactUrlHidesKeywordValuePasswordsInAnyForm) {
  EXPECT_EQ(RedactUrl("password=s3cret host=db"), "password=*** host=db");
  EXPECT_EQ(RedactUrl("host=db password = s3cret dbname=w"), "host=db password = *** dbname=w");
  EXPECT_EQ(RedactUrl("host=db password='s3 cr\\'et' dbname=w"), "host=db password=*** dbname=w");
  EXPECT_EQ(RedactUrl("host=db sslpassword=k"), "host=db sslpassword=***");
  EXPECT_EQ(RedactUrl("host=db user=password"), "host=db user=password");
  // Not parseable as keyword/value: anything that might hold a password is hidden.
  const std::string odd = RedactUrl("host=db garbage password s3cret");
  EXPECT_EQ(odd.find("s3cret"), std::string::npos) << odd;
}

}  // namespace
}  // namespace qcash
