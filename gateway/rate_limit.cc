#include "gateway/rate_limit.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace qcash::gateway {
namespace {

// KEYS[1] counter; ARGV[1] window in ms. Returns {count, ms left in the window}.
constexpr const char* kCountLua = R"lua(
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {n, ttl}
)lua";

}  // namespace

RateLimiter::RateLimiter(RedisClient* redis, int64_t limit, absl::Duration window,
                         size_t local_keys_max)
    : redis_(redis),
      limit_(limit),
      window_(window),
      local_keys_max_(std::max<size_t>(1, local_keys_max)),
      script_sha_(redis->RegisterScript(kCountLua)) {}

RateLimiter::Decision RateLimiter::Allow(const std::string& key, absl::Time now) {
  auto reply =
      redis_->Command({"EVALSHA", script_sha_, "1", absl::StrCat("qcash:gateway:rate:{", key, "}"),
                       absl::StrCat(absl::ToInt64Milliseconds(window_))});
  if (!reply.ok() || reply->type != RedisReply::Type::kArray || reply->elements.size() != 2) {
    Log(LogLevel::kWarn, "rate_limit_redis_unavailable", {{"key", key}, {"fallback", "local"}});
    return AllowLocally(key, now);
  }
  const int64_t count = reply->elements[0].integer;
  const int64_t left_ms = reply->elements[1].integer;
  if (count <= limit_) return {};
  return {false, std::max<int64_t>(1, (left_ms + 999) / 1000)};
}

RateLimiter::Decision RateLimiter::AllowLocally(const std::string& key, absl::Time now) {
  MutexLock lock(&mu_);
  auto ended = [&](const Window& w) { return now >= w.start + window_ || now < w.start; };
  Window* window = nullptr;
  auto it = local_.find(key);
  if (it != local_.end()) {
    window = &it->second;
  } else {
    if (local_.size() >= local_keys_max_) {
      // Full: forget the windows that have ended (bounded by the table's size, and only
      // when the table is full).
      absl::erase_if(local_, [&](const auto& entry) { return ended(entry.second); });
    }
    if (local_.size() < local_keys_max_) {
      window = &local_.emplace(key, Window{now, 0}).first->second;
    } else {
      window = &overflow_;
    }
  }
  if (ended(*window)) *window = Window{now, 0};
  if (window->count >= limit_) {
    const absl::Duration left = window->start + window_ - now;
    return {false, std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(left, absl::Seconds(1))))};
  }
  ++window->count;
  return {};
}

size_t RateLimiter::local_keys() const {
  MutexLock lock(&mu_);
  return local_.size();
}

}  // namespace qcash::gateway
