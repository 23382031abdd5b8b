#include "common/redis.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"

namespace qcash {
namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = ms.count() / 1000;
  tv.tv_usec = (ms.count() % 1000) * 1000;
  return tv;
}

// Redis round trips by their first command (GET, EVALSHA, SET...) and how many commands.
metrics::Histogram* RedisSeconds() {
  static auto* const histogram = metrics::Registry::Global().NewHistogram(
      "qcash_redis_seconds", "Redis round trips, by first command.", {"command"});
  return histogram;
}

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    case REDIS_REPLY_NIL:
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

void Append(redisContext* ctx, const RedisCommand& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), args.data(), lengths.data());
}

}  // namespace

RedisClient::RedisClient(Options options) : options_(std::move(options)) {}

RedisClient::~RedisClient() {
  MutexLock lock(&mu_);
  for (redisContext* ctx : idle_) redisFree(ctx);
}

bool RedisClient::available() const { return SteadyNowNs() >= open_until_ns_.load(); }

void RedisClient::Trip() {
  open_until_ns_.store(
      SteadyNowNs() +
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.cooldown).count());
}

redisContext* RedisClient::Checkout(absl::Status* status) {
  if (!available()) {
    *status = Unavailable(common::v1::REDIS_UNAVAILABLE, "redis circuit breaker open");
    return nullptr;
  }
  {
    MutexLock lock(&mu_);
    const bool ready = cv_.WaitFor(&mu_, absl::FromChrono(options_.timeout),
                                   [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                                     return !idle_.empty() || open_ < options_.pool_size_max;
                                   });
    if (!ready) {
      *status =
          Unavailable(common::v1::REDIS_UNAVAILABLE, "no redis connection became free in time");
      return nullptr;
    }
    if (!idle_.empty()) {
      redisContext* ctx = idle_.back();
      idle_.pop_back();
      return ctx;
    }
    ++open_;
  }
  redisContext* ctx =
      redisConnectWithTimeout(options_.host.c_str(), options_.port, ToTimeval(options_.timeout));
  if (ctx == nullptr || ctx->err != 0) {
    *status = Unavailable(common::v1::REDIS_UNAVAILABLE,
                          absl::StrCat("cannot connect to redis: ", ctx ? ctx->errstr : "oom"));
    if (ctx != nullptr) redisFree(ctx);
    Trip();
    MutexLock lock(&mu_);
    --open_;
    cv_.Signal();
    return nullptr;
  }
  redisSetTimeout(ctx, ToTimeval(options_.timeout));
  if (!options_.user.empty()) {
    // Each new connection authenticates as the service's ACL user before it is used.
    auto* reply = static_cast<redisReply*>(
        redisCommand(ctx, "AUTH %b %b", options_.user.data(), options_.user.size(),
                     options_.password.data(), options_.password.size()));
    const bool authenticated = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
    std::string why = reply == nullptr                   ? ctx->errstr
                      : reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                         : "unexpected reply";
    if (reply != nullptr) freeReplyObject(reply);
    if (!authenticated) {
      // Wrong password or unknown user: a configuration error that no retry fixes, so it is
      // logged (without the password) and Redis is treated as down: PostgreSQL decides.
      static std::atomic<int64_t> logged_at_ns{0};
      const int64_t now = SteadyNowNs();
      if (now - logged_at_ns.load() > 10'000'000'000) {
        logged_at_ns.store(now);
        Log(LogLevel::kError, "redis_auth_failed", {{"user", options_.user}, {"error", why}});
      }
      redisFree(ctx);
      Trip();
      MutexLock lock(&mu_);
      --open_;
      cv_.Signal();
      *status = Unavailable(common::v1::REDIS_UNAVAILABLE,
                            absl::StrCat("redis AUTH as ", options_.user, " failed: ", why));
      return nullptr;
    }
  }
  return ctx;
}

void RedisClient::Checkin(redisContext* ctx, bool healthy) {
  MutexLock lock(&mu_);
  if (healthy) {
    idle_.push_back(ctx);
  } else {
    redisFree(ctx);
    --open_;
  }
  cv_.Signal();
}

absl::StatusOr<RedisReply> RedisClient::Command(const RedisCommand& argv) {
  auto replies = Pipeline({argv});
  if (!replies.ok()) return replies.status();
  return std::move((*replies)[0]);
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<RedisCommand>& commands) {
  std::vector<RedisReply> out;
  if (commands.empty()) return out;
  const auto start = std::chrono::steady_clock::now();
  struct Observe {
    const std::string& command;
    std::chrono::steady_clock::time_point start;
    ~Observe() {
      RedisSeconds()->Observe(
          {command.size() <= 16 ? command : "other"},
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  };
  static const std::string kNone = "none";
  Observe observe{commands[0].empty() ? kNone : commands[0][0], start};
  absl::Status status;
  redisContext* ctx = Checkout(&status);
  if (ctx == nullptr) return status;
  for (const RedisCommand& argv : commands) Append(ctx, argv);
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
      std::string why = ctx->errstr;
      Checkin(ctx, /*healthy=*/false);
      Trip();
      return Unavailable(common::v1::REDIS_UNAVAILABLE, absl::StrCat("redis: ", why));
    }
    out.push_back(Convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  // Scripts Redis has forgotten (restart, SCRIPT FLUSH): run them once more by source.
  std::vector<size_t> retry;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].is_error() && absl::StartsWith(out[i].str, "NOSCRIPT") &&
        commands[i][0] == "EVALSHA") {
      retry.push_back(i);
    }
  }
  if (!retry.empty()) {
    std::vector<RedisCommand> evals;
    {
      MutexLock lock(&mu_);
      for (size_t i : retry) {
        RedisCommand eval = commands[i];
        auto it = scripts_.find(eval[1]);
        if (it == scripts_.end()) continue;
        eval[0] = "EVAL";
        eval[1] = it->second;
        evals.push_back(std::move(eval));
      }
    }
    if (evals.size() == retry.size()) {
      for (const RedisCommand& argv : evals) Append(ctx, argv);
      for (size_t i : retry) {
        void* raw = nullptr;
        if (redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
          Checkin(ctx, false);
          Trip();
          return Unavailable(common::v1::REDIS_UNAVAILABLE, "redis lost while reloading a script");
        }
        out[i] = Convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
      }
    }
  }
  Checkin(ctx, /*healthy=*/true);
  return out;
}

std::string RedisClient::RegisterScript(const std::string& source) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source.data()), source.size(), digest);
  std::string sha = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  MutexLock lock(&mu_);
  scripts_[sha] = source;
  return sha;
}

absl::StatusOr<RedisClient::Options> RedisOptionsFromEnv(absl::string_view prefix) {
  RedisClient::Options options;
  options.host = EnvString(absl::StrCat(prefix, "_HOST"), "127.0.0.1");
  auto port = EnvInt(absl::StrCat(prefix, "_PORT"), 6379, 1, 65535);
  if (!port.ok()) return port.status();
  options.port = static_cast<int>(*port);
  // Longer in the sanitizer test runs, whose instrumented services answer several times slower.
  auto timeout_ms = EnvInt(absl::StrCat(prefix, "_TIMEOUT_MS"), 200, 10, 10'000);
  if (!timeout_ms.ok()) return timeout_ms.status();
  options.timeout = std::chrono::milliseconds(*timeout_ms);
  const std::string user_variable = absl::StrCat(prefix, "_USER");
  options.user = EnvString(user_variable, "");
  if (options.user.empty()) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(user_variable,
                                        " is required: Redis runs with ACL users per service "
                                        "and the default user off"));
  }
  if (options.user.size() > 64 || options.user.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(user_variable, " is not a user name"));
  }
  auto password = EnvSecretFile(absl::StrCat(prefix, "_PASSWORD_FILE"), 16, 512);
  if (!password.ok()) return password.status();
  options.password = std::move(*password);
  return options;
}

}  // namespace qcash
