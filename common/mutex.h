// The project's lock types: a mutex, its scoped lock and a condition variable, annotated so
// that clang's -Wthread-safety checks every ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED /
// ABSL_LOCKS_EXCLUDED in the code (a member read without its mutex, or a helper called without
// the lock it requires, does not build under clang with -Werror).
//
// Why not absl::Mutex, which carries the same annotations: Debian's libabsl is not built with
// ThreadSanitizer, so absl::Mutex's lock and unlock (implemented in the uninstrumented
// libabsl_synchronization) are invisible to TSan, which would then report every member it
// guards as a data race in the TSan run. These types are thin wrappers over std::mutex and
// std::condition_variable, which go through pthread, which TSan intercepts: the TSan run sees
// exactly the synchronisation the code has. For the same reason Notification below replaces
// absl::Notification. Use these, never std::mutex or absl::Mutex directly.
//
// Use:
//   qcash::Mutex mu_;
//   qcash::CondVar cv_;
//   std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
//   ...
//   qcash::MutexLock lock(&mu_);
//   cv_.Wait(&mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty(); });
// The predicate lambda is annotated ABSL_EXCLUSIVE_LOCKS_REQUIRED so that its body (which the
// analysis checks as a function of its own) may read the guarded members.
#ifndef QCASH_COMMON_MUTEX_H_
#define QCASH_COMMON_MUTEX_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace qcash {

class CondVar;

// An exclusive, non-recursive lock. It remembers which thread holds it, so that AssertHeld()
// checks at run time what the analysis cannot see (a lock taken by a caller through a path the
// annotations do not follow).
class ABSL_LOCKABLE Mutex {
 public:
  constexpr Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.lock();
    owner_.store(ThisThread(), std::memory_order_relaxed);
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    owner_.store(nullptr, std::memory_order_relaxed);
    mu_.unlock();
  }
  // Takes the lock if it is free; true when taken.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    if (!mu_.try_lock()) return false;
    owner_.store(ThisThread(), std::memory_order_relaxed);
    return true;
  }
  // Aborts unless the calling thread holds the lock; tells the analysis that it does.
  // (Relaxed order is enough: only this thread ever stores its own tag.)
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {
    if (owner_.load(std::memory_order_relaxed) != ThisThread()) {
      std::fputs("qcash::Mutex::AssertHeld: the calling thread does not hold the mutex\n", stderr);
      std::abort();
    }
  }

 private:
  friend class CondVar;
  // A per-thread address: unique among the live threads, and cheaper than std::thread::id
  // (which would also cost Mutex its constexpr constructor).
  static const void* ThisThread() {
    static thread_local char tag;
    return &tag;
  }

  std::mutex mu_;
  std::atomic<const void*> owner_{nullptr};
};

// Holds `mu` for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable for qcash::Mutex. Every wait requires the mutex held, releases it while
// blocked and holds it again on return; predicates are evaluated with it held.
class CondVar {
 public:
  using Clock = std::chrono::steady_clock;  // deadlines do not move with the wall clock

  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Blocks until signalled (or spuriously woken): callers loop on their condition.
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu) { WaitOnce(mu, nullptr); }

  // Blocks until signalled, woken spuriously or `deadline` passed. Returns false when it
  // returned because the deadline passed.
  bool WaitUntil(Mutex* mu, Clock::time_point deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu) {
    return WaitOnce(mu, &deadline);
  }

  // Blocks until `ready()` holds.
  template <typename Predicate>
  void Wait(Mutex* mu, Predicate ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu) {
    while (!Holds(ready)) WaitOnce(mu, nullptr);
  }

  // Blocks until `ready()` holds or `deadline` passes. Returns `ready()` as last evaluated:
  // false only when the deadline passed with the condition still false.
  template <typename Predicate>
  bool WaitUntil(Mutex* mu, Clock::time_point deadline, Predicate ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu) {
    while (!Holds(ready)) {
      if (!WaitOnce(mu, &deadline)) return Holds(ready);
    }
    return true;
  }

  // As WaitUntil, with the deadline `timeout` from now (a negative timeout does not block;
  // an infinite one waits for as long as it takes).
  template <typename Predicate>
  bool WaitFor(Mutex* mu, absl::Duration timeout, Predicate ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu) {
    if (timeout == absl::InfiniteDuration()) {
      Wait(mu, std::move(ready));
      return true;
    }
    // Clamped so that now + timeout cannot overflow the clock's representation.
    const absl::Duration bounded = std::min(timeout, absl::Hours(24 * 365 * 100));
    return WaitUntil(mu, Clock::now() + absl::ToChronoNanoseconds(bounded), std::move(ready));
  }

  // Wakes one waiter / every waiter. The mutex may but need not be held.
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  // One wait on `cv_`, adopting the lock `mu` already holds. False when `deadline` (if any)
  // passed.
  bool WaitOnce(Mutex* mu, const Clock::time_point* deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(*mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    mu->owner_.store(nullptr, std::memory_order_relaxed);
    bool in_time = true;
    if (deadline == nullptr) {
      cv_.wait(lock);
    } else {
      in_time = cv_.wait_until(lock, *deadline) == std::cv_status::no_timeout;
    }
    mu->owner_.store(Mutex::ThisThread(), std::memory_order_relaxed);
    lock.release();  // the caller's lock stays held
    return in_time;
  }

  // Evaluates the caller's predicate. The one place the analysis is switched off, because it
  // cannot follow a capability through a lambda: the predicate is annotated with the caller's
  // own mutex (ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) naming the caller's member), which the
  // analysis has no way to equate with this function's `mu`. Every caller of Holds() requires
  // `*mu` held (checked), so the predicate always runs under the lock it names.
  template <typename Predicate>
  static bool Holds(Predicate& ready) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return ready();
  }

  std::condition_variable cv_;
};

// A one-shot event: Notify() once, and every WaitForNotification() returns from then on.
// Replaces absl::Notification, whose synchronisation TSan cannot see (see the top).
class Notification {
 public:
  Notification() = default;
  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;

  // Further calls do nothing.
  void Notify() ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    notified_ = true;
    cv_.SignalAll();
  }
  bool HasBeenNotified() const ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    return notified_;
  }
  void WaitForNotification() const ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    cv_.Wait(&mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_; });
  }
  // Waits at most `timeout`; whether it was notified.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) const ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    return cv_.WaitFor(&mu_, timeout,
                       [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_; });
  }

 private:
  mutable Mutex mu_;
  mutable CondVar cv_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace qcash

#endif  // QCASH_COMMON_MUTEX_H_
