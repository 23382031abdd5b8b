// RedisOptionsFromEnv: every service's Redis user and password come from the environment, and a
// service without them does not start (DESIGN.md section 7: fail closed).
#include "common/redis.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "common/status.h"

namespace qcash {
namespace {

class RedisOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/qcash-redis-test-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    password_file_ = path;
    Write("0123456789abcdef0123456789abcdef\n");
    setenv("QCASH_TEST_REDIS_HOST", "redis.example", 1);
    setenv("QCASH_TEST_REDIS_PORT", "6380", 1);
    setenv("QCASH_TEST_REDIS_USER", "wallet", 1);
    setenv("QCASH_TEST_REDIS_PASSWORD_FILE", password_file_.c_str(), 1);
  }
  void TearDown() override {
    for (const char* v : {"QCASH_TEST_REDIS_HOST", "QCASH_TEST_REDIS_PORT", "QCASH_TEST_REDIS_USER",
                          "QCASH_TEST_REDIS_PASSWORD_FILE", "QCASH_TEST_REDIS_TIMEOUT_MS"}) {
      unsetenv(v);
    }
    unlink(password_file_.c_str());
  }
  void Write(const std::string& text) { std::ofstream(password_file_, std::ios::trunc) << text; }
  std::string password_file_;
};

TEST_F(RedisOptionsTest, ReadsUserAndPasswordWithoutTheNewline) {
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->host, "redis.example");
  EXPECT_EQ(options->port, 6380);
  EXPECT_EQ(options->user, "wallet");
  EXPECT_EQ(options->password, "0123456789abcdef0123456789abcdef");
}

TEST_F(RedisOptionsTest, TimeoutIs200MsUnlessSetWithinBounds) {
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->timeout, std::chrono::milliseconds(200));
  setenv("QCASH_TEST_REDIS_TIMEOUT_MS", "800", 1);
  options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->timeout, std::chrono::milliseconds(800));
  for (const char* refused : {"0", "9", "10001", "soon"}) {
    setenv("QCASH_TEST_REDIS_TIMEOUT_MS", refused, 1);
    EXPECT_EQ(RedisOptionsFromEnv("QCASH_TEST_REDIS").status().code(),
              absl::StatusCode::kInvalidArgument)
        << refused;
  }
}

TEST_F(RedisOptionsTest, RefusesToRunWithoutUserOrPassword) {
  unsetenv("QCASH_TEST_REDIS_USER");
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  EXPECT_EQ(ReasonOf(options.status()), "INVALID_CONFIG");
  EXPECT_NE(options.status().message().find("QCASH_TEST_REDIS_USER"), std::string::npos);
  setenv("QCASH_TEST_REDIS_USER", "wallet", 1);
  unsetenv("QCASH_TEST_REDIS_PASSWORD_FILE");
  options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  EXPECT_NE(options.status().message().find("QCASH_TEST_REDIS_PASSWORD_FILE"), std::string::npos);
  setenv("QCASH_TEST_REDIS_PASSWORD_FILE", "/nonexistent/qcash", 1);
  EXPECT_FALSE(RedisOptionsFromEnv("QCASH_TEST_REDIS").ok());
}

TEST_F(RedisOptionsTest, RefusesShortPasswordsAndNeverShowsThem) {
  Write("short-secret\n");
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().message().find("short-secret"), std::string::npos);
  EXPECT_NE(options.status().message().find("16 to 512 bytes"), std::string::npos);
}

}  // namespace
}  // namespace qcash
