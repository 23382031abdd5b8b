// ThreadSanitizer builds only: tells TSan about the synchronisation of absl::Mutex, CondVar and
// Notification. Debian's libabsl is not instrumented, so TSan cannot see that a lock hands
// memory from one thread to the next, and it reports every access guarded by an absl::Mutex (in
// our code and in gRPC's) as a race: the QsignHashSlots of the payment service was the first.
// Rather than suppress those reports, which would hide real races in the same code, this file
// is linked into every executable of a TSan build (tests/sanitizers/CMakeLists.txt): its
// definitions of those functions take precedence over the library's (the executable is first in
// the dynamic linker's search), call the library's own (dlsym RTLD_NEXT) and add the
// happens-before edges: a release before every unlock (and before a wait, which unlocks), an
// acquire after every lock (and after a wait, which locks again).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

template <typename Fn>
Fn Real(const char* symbol) {
  void* fn = dlsym(RTLD_NEXT, symbol);
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: %s not found in the libraries\n", symbol);
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

// absl evaluates a wait's condition inside the library, holding the lock, in the waiting thread
// or in the one that unlocks: the condition must see what earlier holders wrote, so each
// evaluation acquires the lock's clock first.
struct Guarded {
  const absl::Condition* condition;
  absl::Mutex* mu;
};

bool EvalGuarded(void* arg) {
  const auto* guarded = static_cast<const Guarded*>(arg);
  __tsan_acquire(guarded->mu);
  const bool result = guarded->condition->Eval();
  // What it read is ordered before whoever holds the lock next (the evaluator holds it now).
  __tsan_release(guarded->mu);
  return result;
}

// The condition handed to the library in place of the caller's (a temporary of the call).
class GuardedCondition {
 public:
  GuardedCondition(const absl::Condition& condition, absl::Mutex* mu)
      : guarded_{&condition, mu}, condition_(&EvalGuarded, &guarded_) {
    __tsan_release(mu);  // the thread that evaluates it may be another: it reads guarded_
  }
  GuardedCondition(const GuardedCondition&) = delete;
  operator const absl::Condition&() const { return condition_; }

 private:
  Guarded guarded_;
  absl::Condition condition_;
};

}  // namespace

// One definition per function: the symbol it replaces, the library's, and the annotation.
#define QCASH_LOCK(name, symbol, params, args)             \
  extern "C" void name params __asm__(symbol);             \
  extern "C" void name params {                            \
    static const auto real = Real<void(*) params>(symbol); \
    real args;                                             \
    __tsan_acquire(mu);                                    \
  }
#define QCASH_TRY_LOCK(name, symbol, params, args)         \
  extern "C" bool name params __asm__(symbol);             \
  extern "C" bool name params {                            \
    static const auto real = Real<bool(*) params>(symbol); \
    const bool locked = real args;                         \
    if (locked) __tsan_acquire(mu);                        \
    return locked;                                         \
  }
#define QCASH_UNLOCK(name, symbol, params, args)           \
  extern "C" void name params __asm__(symbol);             \
  extern "C" void name params {                            \
    static const auto real = Real<void(*) params>(symbol); \
    __tsan_release(mu);                                    \
    real args;                                             \
  }
// Waits unlock and lock again, whatever they return.
#define QCASH_WAIT(name, symbol, ret, params, args)       \
  extern "C" ret name params __asm__(symbol);             \
  extern "C" ret name params {                            \
    static const auto real = Real<ret(*) params>(symbol); \
    __tsan_release(mu);                                   \
    ret result = real args;                               \
    __tsan_acquire(mu);                                   \
    return result;                                        \
  }

#define QCASH_WAIT_VOID(name, symbol, params, args)        \
  extern "C" void name params __asm__(symbol);             \
  extern "C" void name params {                            \
    static const auto real = Real<void(*) params>(symbol); \
    __tsan_release(mu);                                    \
    real args;                                             \
    __tsan_acquire(mu);                                    \
  }

using absl::Condition;
using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

QCASH_LOCK(QcashMutexLock, "_ZN4absl7debian35Mutex4LockEv", (Mutex * mu), (mu))
QCASH_LOCK(QcashMutexReaderLock, "_ZN4absl7debian35Mutex10ReaderLockEv", (Mutex * mu), (mu))
QCASH_LOCK(QcashMutexLockWhen, "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE",
           (Mutex * mu, const Condition& c), (mu, GuardedCondition(c, mu)))
QCASH_LOCK(QcashMutexReaderLockWhen, "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE",
           (Mutex * mu, const Condition& c), (mu, GuardedCondition(c, mu)))
QCASH_TRY_LOCK(QcashMutexLockWhenWithTimeout,
               "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE",
               (Mutex * mu, const Condition& c, Duration d), (mu, GuardedCondition(c, mu), d))
QCASH_TRY_LOCK(QcashMutexLockWhenWithDeadline,
               "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE",
               (Mutex * mu, const Condition& c, Time t), (mu, GuardedCondition(c, mu), t))
QCASH_TRY_LOCK(QcashMutexTryLock, "_ZN4absl7debian35Mutex7TryLockEv", (Mutex * mu), (mu))
QCASH_TRY_LOCK(QcashMutexReaderTryLock, "_ZN4absl7debian35Mutex13ReaderTryLockEv", (Mutex * mu),
               (mu))
QCASH_UNLOCK(QcashMutexUnlock, "_ZN4absl7debian35Mutex6UnlockEv", (Mutex * mu), (mu))
QCASH_UNLOCK(QcashMutexReaderUnlock, "_ZN4absl7debian35Mutex12ReaderUnlockEv", (Mutex * mu), (mu))
QCASH_WAIT_VOID(QcashMutexAwait, "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE",
                (Mutex * mu, const Condition& c), (mu, GuardedCondition(c, mu)))
QCASH_WAIT(QcashMutexAwaitWithTimeout,
           "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE", bool,
           (Mutex * mu, const Condition& c, Duration d), (mu, GuardedCondition(c, mu), d))
QCASH_WAIT(QcashMutexAwaitWithDeadline,
           "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE", bool,
           (Mutex * mu, const Condition& c, Time t), (mu, GuardedCondition(c, mu), t))
QCASH_WAIT_VOID(QcashCondVarWait, "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE",
                (CondVar * cv, Mutex* mu), (cv, mu))
QCASH_WAIT(QcashCondVarWaitWithTimeout,
           "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE", bool,
           (CondVar * cv, Mutex* mu, Duration d), (cv, mu, d))
QCASH_WAIT(QcashCondVarWaitWithDeadline,
           "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE", bool,
           (CondVar * cv, Mutex* mu, Time t), (cv, mu, t))

// A notification hands everything before Notify() to whoever sees it notified.
extern "C" void QcashNotify(Notification* n) __asm__("_ZN4absl7debian312Notification6NotifyEv");
extern "C" void QcashNotify(Notification* n) {
  static const auto real = Real<void (*)(Notification*)>("_ZN4absl7debian312Notification6NotifyEv");
  __tsan_release(n);
  real(n);
}
extern "C" void QcashWaitForNotification(const Notification* n) __asm__(
    "_ZNK4absl7debian312Notification19WaitForNotificationEv");
extern "C" void QcashWaitForNotification(const Notification* n) {
  static const auto real =
      Real<void (*)(const Notification*)>("_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(n);
  __tsan_acquire(const_cast<Notification*>(n));
}
