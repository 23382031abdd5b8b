#include "services/payment/sampler.h"

namespace qcash::payment {

bool LogSampler::Sample(absl::Time now, int64_t* suppressed) {
  MutexLock lock(&mu_);
  if (now - window_start_ >= window_) {
    window_start_ = now;
    logged_ = 0;
  }
  if (logged_ >= per_window_) {
    ++suppressed_;
    return false;
  }
  ++logged_;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace qcash::payment
