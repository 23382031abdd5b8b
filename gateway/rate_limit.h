// Per-seller rate limits: at most `limit` requests per `window` for each key (a seller, a
// provider), counted in Redis in a key that expires with its window, so every gateway replica
// shares the count.
//
// When Redis is unreachable the limiter does not fail open (issue 10): each process falls back
// to its own fixed-window counters with the same limit. Across N replicas a key may then get up
// to N x limit a window, which still bounds the load, where letting everything through would
// turn a Redis outage into an invitation. The fallback's memory is bounded: at most
// `local_keys_max` keys are counted one by one; when the table is full and no window has ended,
// further keys share a single overflow counter, so a flood of distinct keys is limited as one.
#ifndef QCASH_GATEWAY_RATE_LIMIT_H_
#define QCASH_GATEWAY_RATE_LIMIT_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "common/redis.h"

namespace qcash::gateway {

class RateLimiter {
 public:
  static constexpr size_t kLocalKeysMaxDefault = 10'000;

  RateLimiter(RedisClient* redis, int64_t limit, absl::Duration window,
              size_t local_keys_max = kLocalKeysMaxDefault);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  struct Decision {
    bool allowed = true;
    int64_t retry_after_s = 0;  // when refused: seconds until the window ends (at least 1)
  };
  Decision Allow(const std::string& key) { return Allow(key, absl::Now()); }
  // `now` is the wall clock; only the per-process fallback reads it.
  Decision Allow(const std::string& key, absl::Time now);

  // Keys the per-process fallback counts one by one (at most local_keys_max).
  size_t local_keys() const;

 private:
  Decision AllowLocally(const std::string& key, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  struct Window {
    absl::Time start;
    int64_t count = 0;
  };

  RedisClient* const redis_;
  const int64_t limit_;
  const absl::Duration window_;
  const size_t local_keys_max_;
  const std::string script_sha_;
  mutable Mutex mu_;
  absl::flat_hash_map<std::string, Window> local_ ABSL_GUARDED_BY(mu_);
  Window overflow_ ABSL_GUARDED_BY(mu_);  // every key that finds the table full
};

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_RATE_LIMIT_H_
