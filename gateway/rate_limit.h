// Per-seller rate limits in Redis: at most `limit` requests per `window` for each seller, counted
// in a key that expires with its window, so every gateway replica shares the count. When Redis is
// unreachable the limiter lets requests through (and says so in the logs): a rate limit protects
// capacity, and refusing every seller because a cache is down would be the worse failure.
#ifndef QCASH_GATEWAY_RATE_LIMIT_H_
#define QCASH_GATEWAY_RATE_LIMIT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "common/redis.h"

namespace qcash::gateway {

class RateLimiter {
 public:
  RateLimiter(RedisClient* redis, int64_t limit, absl::Duration window);

  struct Decision {
    bool allowed = true;
    int64_t retry_after_s = 0;  // when refused: seconds until the window ends (at least 1)
  };
  Decision Allow(const std::string& seller_id);

 private:
  RedisClient* const redis_;
  const int64_t limit_;
  const absl::Duration window_;
  const std::string script_sha_;
};

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_RATE_LIMIT_H_
