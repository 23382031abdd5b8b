#include "services/points/clock.h"

namespace qcash::points {

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
absl::Time SettableClock::Now() const {
  MutexLock lock(&mu_);
  return set_ ? now_ : absl::Now();
}

void SettableClock::Set(absl::Time t) {
  MutexLock lock(&mu_);
  set_ = true;
  now_ = t;
}
#endif

}  // namespace qcash::points
