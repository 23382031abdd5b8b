// A log that cannot be flooded: at most `per_window` lines per window, the rest counted and
// reported with the next line that is written. For events an unauthenticated sender can cause
// at will (rejected provider notifications, P7): each is counted in the metrics, and only a
// sample reaches the log, so the log neither grows without bound nor hides that it was busy.
#ifndef QCASH_SERVICES_PAYMENT_SAMPLER_H_
#define QCASH_SERVICES_PAYMENT_SAMPLER_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace qcash::payment {

class LogSampler {
 public:
  // REQUIRES: per_window >= 0, window > 0.
  LogSampler(int per_window, absl::Duration window) : per_window_(per_window), window_(window) {}
  LogSampler(const LogSampler&) = delete;
  LogSampler& operator=(const LogSampler&) = delete;

  // Whether the event at `now` is logged. When it is, `*suppressed` is the number of events
  // not logged since the previous logged one.
  bool Sample(absl::Time now, int64_t* suppressed);

 private:
  const int per_window_;         // constant
  const absl::Duration window_;  // constant
  Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int logged_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace qcash::payment

#endif  // QCASH_SERVICES_PAYMENT_SAMPLER_H_
