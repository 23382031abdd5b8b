// The points service's settable clock, for tests that drive a running process.
//
// Months, conversion windows (S3) and the future-event check all depend on the time, and
// their edges (the last day 23:59:59 JST, the 1st 00:00:00 JST) must be testable against a
// running process. Domain code reads the injected qcash::Clock (common/clock.h); the process
// uses SystemClock, and a test configuration of a development build may use SettableClock,
// which the test clock gRPC service (qcash.points.v1.PointsTestClock, registered only then)
// sets. Release builds do not contain SettableClock (DESIGN.md section 7). In-process tests
// use ManualClock instead.
#ifndef QCASH_SERVICES_POINTS_CLOCK_H_
#define QCASH_SERVICES_POINTS_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace qcash::points {

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
