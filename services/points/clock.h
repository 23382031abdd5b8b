// The points service's notion of "now", injected into the domain.
//
// Months, conversion windows (S3) and the future-event check all depend on the time, and
// their edges (the last day 23:59:59 JST, the 1st 00:00:00 JST) must be testable against a
// running process. So domain code never reads the wall clock: it asks a Clock. The process
// uses SystemClock; a test configuration of a development build may use SettableClock, which
// the test clock gRPC service (qcash.points.v1.PointsTestClock, registered only then) sets.
// Release builds do not contain SettableClock (DESIGN.md section 7).
#ifndef QCASH_SERVICES_POINTS_CLOCK_H_
#define QCASH_SERVICES_POINTS_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace qcash::points {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
// Reads the system clock until Set() is called; from then on it stands still at the instant
// last set. Thread-safe. Development builds only.
class SettableClock final : public Clock {
 public:
  absl::Time Now() const override;
  void Set(absl::Time t);

 private:
  mutable Mutex mu_;
  bool set_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};
#endif

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_CLOCK_H_
