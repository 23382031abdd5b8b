#include "gateway/rate_limit.h"

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

RateLimiter::RateLimiter(RedisClient* redis, int64_t limit, absl::Duration window)
    : redis_(redis), limit_(limit), window_(window), script_sha_(redis->RegisterScript(kCountLua)) {}

RateLimiter::Decision RateLimiter::Allow(const std::string& seller_id) {
  auto reply = redis_->Command({"EVALSHA", script_sha_, "1",
                                absl::StrCat("qcash:gateway:rate:{", seller_id, "}"),
                                absl::StrCat(absl::ToInt64Milliseconds(window_))});
  if (!reply.ok() || reply->type != RedisReply::Type::kArray || reply->elements.size() != 2) {
    Log(LogLevel::kWarn, "rate_limit_unavailable", {{"seller_id", seller_id}});
    return {};
  }
  const int64_t count = reply->elements[0].integer;
  const int64_t left_ms = reply->elements[1].integer;
  if (count <= limit_) return {};
  return {false, std::max<int64_t>(1, (left_ms + 999) / 1000)};
}

}  // namespace qcash::gateway
