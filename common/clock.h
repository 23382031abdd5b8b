// The one notion of "now" that domain code reads (DESIGN.md: every rule that depends on time
// — order lifetimes, reconciler back-off, conversion windows, hold expiry — takes it from an
// injected Clock, never from absl::Now()).
//
// A process uses SystemClock. Component tests use ManualClock and move time on with Advance()
// instead of sleeping it away.
#ifndef QCASH_COMMON_CLOCK_H_
#define QCASH_COMMON_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace qcash {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // The process-wide instance (stateless; never destroyed).
  static const Clock* Get();
};

// A clock that moves only when told. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override ABSL_LOCKS_EXCLUDED(mu_);
  void Set(absl::Time t) ABSL_LOCKS_EXCLUDED(mu_);
  // REQUIRES: d >= 0 (a clock never runs backwards by itself).
  void Advance(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace qcash

#endif  // QCASH_COMMON_CLOCK_H_
