#include "common/clock.h"

#include <cassert>

namespace qcash {

const Clock* SystemClock::Get() {
  static const SystemClock* const clock = new SystemClock();
  return clock;
}

absl::Time ManualClock::Now() const {
  MutexLock lock(&mu_);
  return now_;
}

void ManualClock::Set(absl::Time t) {
  MutexLock lock(&mu_);
  now_ = t;
}

void ManualClock::Advance(absl::Duration d) {
  assert(d >= absl::ZeroDuration());
  MutexLock lock(&mu_);
  now_ += d;
}

}  // namespace qcash
