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

}  // namespace
}  // namespace qcash
