#include "common/mutex.h"

#include <gtest/gtest.h>

#include <thread>

namespace qcash {
namespace {

// A flag another thread sets, with the lock, as the tests' condition.
struct Flag {
  Mutex mu;
  CondVar cv;
  bool set ABSL_GUARDED_BY(mu) = false;
  int evaluations ABSL_GUARDED_BY(mu) = 0;  // how often a predicate looked at `set`

  void Set() ABSL_LOCKS_EXCLUDED(mu) {
    MutexLock lock(&mu);
    set = true;
    cv.SignalAll();
  }
  // The predicate: counts its evaluations and checks that it runs with the lock held.
  bool IsSet() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    mu.AssertHeld();
    ++evaluations;
    return set;
  }
};

TEST(CondVarTest, WaitReturnsOnceAnotherThreadMakesThePredicateTrue) {
  Flag flag;
  std::thread setter([&flag] { flag.Set(); });
  {
    MutexLock lock(&flag.mu);
    flag.cv.Wait(&flag.mu,
                 [&flag]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flag.mu) { return flag.IsSet(); });
    EXPECT_TRUE(flag.set);
    flag.mu.AssertHeld();  // the lock is held again on return
  }
  setter.join();
}

TEST(CondVarTest, WaitDoesNotBlockWhenThePredicateAlreadyHolds) {
  Flag flag;
  flag.Set();
  MutexLock lock(&flag.mu);
  flag.cv.Wait(&flag.mu, [&flag]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flag.mu) { return flag.IsSet(); });
  EXPECT_EQ(flag.evaluations, 1);
}

TEST(CondVarTest, WaitUntilReturnsFalseOnlyOnceTheDeadlinePassed) {
  Flag flag;
  const CondVar::Clock::time_point deadline = CondVar::Clock::now() + std::chrono::milliseconds(20);
  MutexLock lock(&flag.mu);
  const bool ready =
      flag.cv.WaitUntil(&flag.mu, deadline,
                        [&flag]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flag.mu) { return flag.IsSet(); });
  EXPECT_FALSE(ready);
  // The contract, not a timing guess: false means the deadline has passed.
  EXPECT_GE(CondVar::Clock::now(), deadline);
  EXPECT_GE(flag.evaluations, 2);  // before the first wait and once more after the deadline
  flag.mu.AssertHeld();
}

TEST(CondVarTest, WaitUntilReturnsTrueWhenThePredicateHoldsBeforeTheDeadline) {
  Flag flag;
  std::thread setter([&flag] { flag.Set(); });
  {
    MutexLock lock(&flag.mu);
    // A deadline far enough away that only the setter can end the wait.
    const bool ready = flag.cv.WaitUntil(
        &flag.mu, CondVar::Clock::now() + std::chrono::hours(1),
        [&flag]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flag.mu) { return flag.IsSet(); });
    EXPECT_TRUE(ready);
  }
  setter.join();
}

TEST(CondVarTest, WaitUntilWithAPastDeadlineStillReportsAPredicateThatHolds) {
  Flag flag;
  flag.Set();
  MutexLock lock(&flag.mu);
  EXPECT_TRUE(
      flag.cv.WaitUntil(&flag.mu, CondVar::Clock::now() - std::chrono::seconds(1),
                        [&flag]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flag.mu) { return flag.IsSet(); }));
}

TEST(CondVarTest, WaitForWithANegativeOrZeroTimeoutDoesNotBlock) {
  Flag flag;
  MutexLock lock(&flag.mu);
  auto is_set = [&flag]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flag.mu) { return flag.IsSet(); };
  EXPECT_FALSE(flag.cv.WaitFor(&flag.mu, -absl::Seconds(1), is_set));
  EXPECT_FALSE(flag.cv.WaitFor(&flag.mu, absl::ZeroDuration(), is_set));
}

TEST(CondVarTest, WaitForWithAnInfiniteTimeoutWaitsForThePredicate) {
  Flag flag;
  std::thread setter([&flag] { flag.Set(); });
  {
    MutexLock lock(&flag.mu);
    EXPECT_TRUE(
        flag.cv.WaitFor(&flag.mu, absl::InfiniteDuration(),
                        [&flag]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flag.mu) { return flag.IsSet(); }));
  }
  setter.join();
}

TEST(CondVarTest, WaitUntilWithoutAPredicateReportsTheTimeout) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  // Nobody signals: the wait can only end spuriously (true) or at the deadline (false); loop
  // until the deadline, as callers of the single wait do.
  const CondVar::Clock::time_point deadline = CondVar::Clock::now() + std::chrono::milliseconds(5);
  while (cv.WaitUntil(&mu, deadline)) {
  }
  EXPECT_GE(CondVar::Clock::now(), deadline);
  mu.AssertHeld();
}

TEST(MutexTest, TryLockFailsWhileAnotherThreadHoldsTheLock) {
  Mutex mu;
  mu.Lock();
  bool taken = true;
  std::thread other([&mu, &taken] {
    // The analysis follows a TryLock() only as the condition of the branch that unlocks.
    if (mu.TryLock()) {
      mu.Unlock();
    } else {
      taken = false;
    }
  });
  other.join();
  EXPECT_FALSE(taken);
  mu.Unlock();
  bool retaken = false;
  if (mu.TryLock()) {
    retaken = true;
    mu.Unlock();
  }
  EXPECT_TRUE(retaken);
}

TEST(MutexDeathTest, AssertHeldAbortsWhenTheLockIsNotHeld) {
  Mutex mu;
  EXPECT_DEATH(mu.AssertHeld(), "does not hold the mutex");
}

TEST(MutexDeathTest, AssertHeldAbortsWhenAnotherThreadHoldsTheLock) {
  EXPECT_DEATH(
      {
        Mutex mu;
        MutexLock lock(&mu);
        std::thread other([&mu] { mu.AssertHeld(); });
        other.join();
      },
      "does not hold the mutex");
}

TEST(NotificationTest, WaitReturnsAfterNotifyFromAnotherThread) {
  Notification done;
  EXPECT_FALSE(done.HasBeenNotified());
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::ZeroDuration()));
  std::thread notifier([&done] { done.Notify(); });
  done.WaitForNotification();
  EXPECT_TRUE(done.HasBeenNotified());
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::ZeroDuration()));
  notifier.join();
  done.Notify();  // a second call changes nothing
  EXPECT_TRUE(done.HasBeenNotified());
}

}  // namespace
}  // namespace qcash
