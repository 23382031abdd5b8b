#include "services/payment/qsign.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace qcash::payment {
namespace {

// P3: a salted, slow hash (argon2id) that verifies only the right password.
TEST(QsignTest, P3Argon2idSaltedHash) {
  auto first = HashQsignPassword("correct horse");
  auto second = HashQsignPassword("correct horse");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->rfind("$argon2id$", 0), 0u) << *first;
  EXPECT_NE(*first, *second) << "two hashes of one password must differ (salt)";
  EXPECT_EQ(first->find("correct horse"), std::string::npos);
  EXPECT_TRUE(VerifyQsignPassword(*first, "correct horse"));
  EXPECT_TRUE(VerifyQsignPassword(*second, "correct horse"));
  EXPECT_FALSE(VerifyQsignPassword(*first, "correct horsE"));
  EXPECT_FALSE(VerifyQsignPassword(*first, ""));
  EXPECT_FALSE(VerifyQsignPassword("not a hash", "correct horse"));
}

TEST(QsignTest, PasswordRules) {
  EXPECT_TRUE(ValidateQsignPassword("12345678").ok());
  EXPECT_TRUE(ValidateQsignPassword("Qサインパスワード").ok());
  EXPECT_EQ(ReasonOf(ValidateQsignPassword("1234567")), "INVALID_QSIGN_PASSWORD");
  EXPECT_EQ(ReasonOf(ValidateQsignPassword(std::string(129, 'a'))), "INVALID_QSIGN_PASSWORD");
  EXPECT_EQ(ReasonOf(ValidateQsignPassword("tab\there!")), "INVALID_QSIGN_PASSWORD");
  EXPECT_EQ(ReasonOf(ValidateQsignPassword("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8")),
            "INVALID_QSIGN_PASSWORD");
}

// P3: five wrong passwords in a row lock; the lock ends; then the count starts again.
TEST(QsignTest, P3FiveWrongPasswordsLock) {
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  const absl::Duration lock = absl::Minutes(30);
  QsignAttempts a;
  for (int i = 1; i < kQsignAttemptsMax; ++i) {
    a = AfterWrongPassword(a, t0, lock);
    EXPECT_EQ(a.failed, i);
    EXPECT_FALSE(IsLocked(a, t0));
    EXPECT_EQ(ReasonOf(WrongPasswordStatus(a)), "WRONG_QSIGN_PASSWORD");
  }
  a = AfterWrongPassword(a, t0, lock);
  EXPECT_EQ(a.failed, 5);
  EXPECT_TRUE(IsLocked(a, t0));
  EXPECT_TRUE(IsLocked(a, t0 + lock - absl::Seconds(1)));
  EXPECT_FALSE(IsLocked(a, t0 + lock));
  EXPECT_EQ(ReasonOf(LockedStatus(a.locked_until)), "QSIGN_LOCKED");
  const QsignAttempts after = AfterWrongPassword(a, t0 + lock + absl::Seconds(1), lock);
  EXPECT_EQ(after.failed, 1);
  EXPECT_FALSE(IsLocked(after, t0 + lock + absl::Seconds(1)));
}

TEST(QsignTest, RedisMirrorRoundTrips) {
  QsignAttempts a;
  a.failed = 5;
  a.locked_until = absl::FromUnixMillis(1'700'000'000'123);
  auto back = DecodeAttempts(EncodeAttempts(a));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->failed, 5);
  EXPECT_EQ(back->locked_until, a.locked_until);
  auto none = DecodeAttempts(EncodeAttempts(QsignAttempts()));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->locked_until, absl::InfinitePast());
  EXPECT_FALSE(DecodeAttempts("garbage").has_value());
  EXPECT_FALSE(DecodeAttempts("1|x").has_value());
  EXPECT_FALSE(DecodeAttempts("-1|0").has_value());
}

}  // namespace
}  // namespace qcash::payment
