#include "services/payment/qsign.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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
  const QsignLockPolicy policy{absl::Minutes(30), absl::Hours(24)};
  const absl::Duration lock = policy.first_lock;
  QsignAttempts a;
  for (int i = 1; i < kQsignAttemptsMax; ++i) {
    a = AfterWrongPassword(a, t0, policy);
    EXPECT_EQ(a.failed, i);
    EXPECT_FALSE(IsLocked(a, t0));
    EXPECT_EQ(ReasonOf(WrongPasswordStatus(a)), "WRONG_QSIGN_PASSWORD");
    // What the seller's message says: how many more wrong passwords lock (4, 3, 2, 1).
    EXPECT_EQ(MetadataOf(WrongPasswordStatus(a)).at("attempts_left"),
              absl::StrCat(kQsignAttemptsMax - i));
  }
  a = AfterWrongPassword(a, t0, policy);
  EXPECT_EQ(a.failed, 5);
  EXPECT_EQ(a.lockouts, 1);
  EXPECT_TRUE(IsLocked(a, t0));
  EXPECT_TRUE(IsLocked(a, t0 + lock - absl::Seconds(1)));
  EXPECT_FALSE(IsLocked(a, t0 + lock));
  EXPECT_EQ(ReasonOf(LockedStatus(a.locked_until)), "QSIGN_LOCKED");
  EXPECT_EQ(MetadataOf(LockedStatus(a.locked_until)).at("locked_until"),
            "2023-11-14T22:43:20Z");  // t0 + 30 min, RFC 3339 in UTC
  const QsignAttempts after = AfterWrongPassword(a, t0 + lock + absl::Seconds(1), policy);
  EXPECT_EQ(after.failed, 1);
  EXPECT_FALSE(IsLocked(after, t0 + lock + absl::Seconds(1)));
}

// P3 (issue 10): each lockout within a day of the previous one's end lasts twice as long, up
// to 24 hours, instead of five fresh tries every 30 minutes.
TEST(QsignTest, P3RepeatedLockoutsEscalateUpToTheMaximum) {
  const QsignLockPolicy policy{absl::Minutes(30), absl::Hours(24)};
  EXPECT_EQ(LockDuration(1, policy), absl::Minutes(30));
  EXPECT_EQ(LockDuration(2, policy), absl::Hours(1));
  EXPECT_EQ(LockDuration(3, policy), absl::Hours(2));
  EXPECT_EQ(LockDuration(6, policy), absl::Hours(16));
  EXPECT_EQ(LockDuration(7, policy), absl::Hours(24));
  EXPECT_EQ(LockDuration(1'000'000, policy), absl::Hours(24));

  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  QsignAttempts a;
  std::vector<absl::Duration> locks;
  for (int lockout = 1; lockout <= 8; ++lockout) {
    for (int i = 0; i < kQsignAttemptsMax; ++i) a = AfterWrongPassword(a, now, policy);
    ASSERT_TRUE(IsLocked(a, now));
    EXPECT_EQ(a.lockouts, lockout);
    locks.push_back(a.locked_until - now);
    now = a.locked_until + absl::Minutes(1);  // the attacker comes back when it ends
  }
  EXPECT_EQ(locks[0], absl::Minutes(30));
  EXPECT_EQ(locks[1], absl::Hours(1));
  EXPECT_EQ(locks[2], absl::Hours(2));
  EXPECT_EQ(locks[7], absl::Hours(24));

  // A right password resets the count of wrong ones, not the streak.
  a = AfterRightPassword(a);
  EXPECT_EQ(a.failed, 0);
  EXPECT_EQ(a.lockouts, 8);
  for (int i = 0; i < kQsignAttemptsMax; ++i) a = AfterWrongPassword(a, now, policy);
  EXPECT_EQ(a.locked_until - now, absl::Hours(24));

  // A day after the last lock ended, the streak starts again.
  now = a.locked_until + kQsignLockoutMemory;
  for (int i = 0; i < kQsignAttemptsMax; ++i) a = AfterWrongPassword(a, now, policy);
  EXPECT_EQ(a.lockouts, 1);
  EXPECT_EQ(a.locked_until - now, absl::Minutes(30));
}

// P3 (issue 10): the per-seller limit on setting and checking, with a retry delay.
TEST(QsignTest, P3ChecksPerSellerAreLimitedPerWindow) {
  const QsignThrottlePolicy policy{3, absl::Minutes(1)};
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  for (int checks = 1; checks <= 3; ++checks) {
    EXPECT_TRUE(ThrottleStatus({start, checks}, start + absl::Seconds(5), policy).ok());
  }
  const absl::Status limited = ThrottleStatus({start, 4}, start + absl::Seconds(20), policy);
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(limited), "QSIGN_RATE_LIMITED");
  EXPECT_EQ(RetryAfterOf(limited), absl::Seconds(40));
  // At the very end of the window the delay is still a positive second.
  EXPECT_EQ(RetryAfterOf(ThrottleStatus({start, 4}, start + absl::Minutes(1), policy)),
            absl::Seconds(1));
}

// P3 (issue 10): a bounded wait for a hashing slot; past it UNAVAILABLE with a retry delay;
// a released slot serves the next caller.
TEST(QsignTest, HashSlotsAreBoundedAndRefuseWithARetryDelay) {
  QsignHashSlots slots(2, absl::Milliseconds(20), absl::Seconds(1));
  auto first = slots.Acquire();
  auto second = slots.Acquire();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  auto third = slots.Acquire();
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(third.status()), "QSIGN_BUSY");
  EXPECT_EQ(RetryAfterOf(third.status()), absl::Seconds(1));
  { QsignHashSlots::Slot released = std::move(*first); }
  EXPECT_TRUE(slots.Acquire().ok());
  // A waiter gets the slot another caller releases within its wait.
  QsignHashSlots patient(1, absl::Seconds(30), absl::Seconds(1));
  auto held = std::make_unique<absl::StatusOr<QsignHashSlots::Slot>>(patient.Acquire());
  ASSERT_TRUE(held->ok());
  std::thread releaser([&held] {
    absl::SleepFor(absl::Milliseconds(50));
    held.reset();
  });
  EXPECT_TRUE(patient.Acquire().ok());
  releaser.join();
}

}  // namespace
}  // namespace qcash::payment
