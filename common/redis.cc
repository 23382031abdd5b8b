#include "common/redis.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

// Times the master was forgotten after a sign of failover, by what the sign was.
metrics::Counter* MasterLost() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_redis_master_lost_total",
      "Times the Redis client forgot the master's address after a sign of failover.", {"why"});
  return counter;
}

// A reply that says this server cannot take our commands now although it answers: it is a
// replica (the master moved), it is loading its data, or it lost its own master.
bool IsFailoverReply(const RedisReply& reply) {
  if (!reply.is_error()) return false;
  for (absl::string_view prefix : {"READONLY", "LOADING", "MASTERDOWN"}) {
    if (absl::StartsWith(reply.str, prefix)) return true;
  }
  return false;
}

std::chrono::milliseconds Remaining(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
}

// One command on `ctx` with its own timeout. A reply of type kError is returned as a reply.
absl::StatusOr<RedisReply> RunCommand(redisContext* ctx, const RedisCommand& argv,
                                      std::chrono::milliseconds timeout) {
  redisSetTimeout(ctx, ToTimeval(timeout));
  Append(ctx, argv);
  void* raw = nullptr;
  if (redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
    return Unavailable(common::v1::REDIS_UNAVAILABLE, ctx->errstr);
  }
  RedisReply reply = Convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return reply;
}

// The sentinel at `at`, asked where `options.sentinel_master` is, within `budget`.
absl::StatusOr<RedisClient::Endpoint> AskSentinel(const RedisClient::Options& options,
                                                  const RedisClient::Endpoint& at,
                                                  std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  redisContext* ctx = redisConnectWithTimeout(at.host.c_str(), at.port, ToTimeval(budget));
  if (ctx == nullptr || ctx->err != 0) {
    std::string why = ctx != nullptr ? ctx->errstr : "oom";
    if (ctx != nullptr) redisFree(ctx);
    return Unavailable(common::v1::REDIS_UNAVAILABLE, why);
  }
  auto ask = [&]() -> absl::StatusOr<RedisClient::Endpoint> {
    if (!options.sentinel_password.empty()) {
      RedisCommand auth = {"AUTH"};
      if (!options.sentinel_user.empty()) auth.push_back(options.sentinel_user);
      auth.push_back(options.sentinel_password);
      auto reply = RunCommand(ctx, auth, Remaining(deadline));
      if (!reply.ok()) return reply.status();
      if (reply->type != RedisReply::Type::kStatus) {
        return Unavailable(common::v1::REDIS_UNAVAILABLE,
                           absl::StrCat("AUTH as ", options.sentinel_user, ": ", reply->str));
      }
    }
    const std::chrono::milliseconds left = Remaining(deadline);
    if (left.count() <= 0) return Unavailable(common::v1::REDIS_UNAVAILABLE, "timed out");
    auto reply =
        RunCommand(ctx, {"SENTINEL", "get-master-addr-by-name", options.sentinel_master}, left);
    if (!reply.ok()) return reply.status();
    // [ip, port] when it monitors that name; nil when it does not.
    RedisClient::Endpoint master;
    if (reply->type != RedisReply::Type::kArray || reply->elements.size() != 2 ||
        reply->elements[0].str.empty() || !absl::SimpleAtoi(reply->elements[1].str, &master.port) ||
        master.port < 1 || master.port > 65535) {
      return Unavailable(
          common::v1::REDIS_UNAVAILABLE,
          reply->is_error() ? reply->str : absl::StrCat("does not know ", options.sentinel_master));
    }
    master.host = reply->elements[0].str;
    return master;
  };
  auto master = ask();
  redisFree(ctx);
  return master;
}

}  // namespace

RedisClient::RedisClient(Options options) : options_(std::move(options)) {}

RedisClient::~RedisClient() {
  MutexLock lock(&mu_);
  for (const Connection& connection : idle_) redisFree(connection.ctx);
}

bool RedisClient::available() const { return SteadyNowNs() >= open_until_ns_.load(); }

void RedisClient::Trip() {
  open_until_ns_.store(
      SteadyNowNs() +
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.cooldown).count());
}

std::optional<RedisClient::Endpoint> RedisClient::master() const {
  if (options_.sentinels.empty()) return Endpoint{options_.host, options_.port};
  MutexLock lock(&mu_);
  return master_;
}

std::string RedisClient::master_tag() const {
  if (options_.sentinels.empty()) return "";
  MutexLock lock(&mu_);
  return master_.has_value() ? absl::StrCat(master_->host, ":", master_->port) : "";
}

absl::StatusOr<RedisClient::Endpoint> RedisClient::AskSentinels(const Options& options,
                                                                size_t* first_to_ask) {
  const size_t count = options.sentinels.size();
  if (count == 0) {
    return Unavailable(common::v1::REDIS_UNAVAILABLE, "no sentinels are configured");
  }
  const size_t first = first_to_ask != nullptr ? *first_to_ask % count : 0;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  std::string errors;
  for (size_t k = 0; k < count; ++k) {
    const std::chrono::milliseconds left = Remaining(deadline);
    if (left.count() <= 0) break;
    // Each sentinel not yet asked gets an equal share of the time left, so that one that
    // hangs cannot use up the others' time (a refused one costs nothing and leaves its share).
    const std::chrono::milliseconds share =
        std::max(std::chrono::milliseconds(1), left / static_cast<int64_t>(count - k));
    const size_t i = (first + k) % count;
    const Endpoint& sentinel = options.sentinels[i];
    auto master = AskSentinel(options, sentinel, share);
    if (master.ok()) {
      if (first_to_ask != nullptr) *first_to_ask = i;
      return master;
    }
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", sentinel.host, ":", sentinel.port, ": ",
                    master.status().message());
  }
  return Unavailable(common::v1::REDIS_UNAVAILABLE,
                     absl::StrCat("no sentinel said where redis master ", options.sentinel_master,
                                  " is in ", options.timeout.count(), " ms: ", errors));
}

void RedisClient::Release() {
  MutexLock lock(&mu_);
  --open_;
  cv_.Signal();
}

void RedisClient::ForgetMaster(uint64_t epoch, absl::string_view why) {
  std::vector<Connection> closing;
  std::optional<Endpoint> forgotten;
  {
    MutexLock lock(&mu_);
    if (epoch != epoch_) return;  // already forgotten by another call
    ++epoch_;
    forgotten = std::move(master_);
    master_.reset();
    closing.swap(idle_);
    open_ -= static_cast<int>(closing.size());
    cv_.SignalAll();
  }
  for (const Connection& connection : closing) redisFree(connection.ctx);
  MasterLost()->Add({std::string(why)});
  if (!options_.sentinels.empty()) {
    Log(LogLevel::kWarn, "redis_master_lost",
        {{"master", options_.sentinel_master},
         {"address", forgotten ? absl::StrCat(forgotten->host, ":", forgotten->port) : "-"},
         {"why", std::string(why)}});
  }
}

void RedisClient::CheckMasterIfDue() {
  const int64_t now = SteadyNowNs();
  int64_t due = next_check_ns_.load();
  if (now < due) return;
  const int64_t next =
      now + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.sentinel_check_interval)
                .count();
  if (!next_check_ns_.compare_exchange_strong(due, next)) return;  // another call checks
  uint64_t epoch = 0;
  std::optional<Endpoint> known;
  size_t first_sentinel = 0;
  {
    MutexLock lock(&mu_);
    epoch = epoch_;
    known = master_;
    first_sentinel = first_sentinel_;
  }
  if (!known.has_value()) return;  // the next connection asks anyway
  auto named = AskSentinels(options_, &first_sentinel);
  if (!named.ok()) return;  // sentinels down say nothing about the master
  {
    MutexLock lock(&mu_);
    first_sentinel_ = first_sentinel;
  }
  if (*named == *known) return;
  ForgetMaster(epoch, "switched");
  // The answer is fresh: the next connection uses it without asking the sentinels again.
  MutexLock lock(&mu_);
  if (epoch_ == epoch + 1 && !master_.has_value()) {
    master_ = *named;
    Log(LogLevel::kInfo, "redis_master_found",
        {{"master", options_.sentinel_master},
         {"address", absl::StrCat(named->host, ":", named->port)}});
  }
}

RedisClient::Connection RedisClient::Checkout(absl::Status* status) {
  if (!available()) {
    *status = Unavailable(common::v1::REDIS_UNAVAILABLE, "redis circuit breaker open");
    return {};
  }
  const bool sentinel = !options_.sentinels.empty();
  if (sentinel) CheckMasterIfDue();
  uint64_t epoch = 0;
  std::optional<Endpoint> target;
  size_t first_sentinel = 0;
  {
    MutexLock lock(&mu_);
    const bool ready = cv_.WaitFor(&mu_, absl::FromChrono(options_.timeout),
                                   [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                                     return !idle_.empty() || open_ < options_.pool_size_max;
                                   });
    if (!ready) {
      *status =
          Unavailable(common::v1::REDIS_UNAVAILABLE, "no redis connection became free in time");
      return {};
    }
    if (!idle_.empty()) {  // idle connections are all of the current epoch (ForgetMaster)
      Connection connection = idle_.back();
      idle_.pop_back();
      return connection;
    }
    ++open_;
    epoch = epoch_;
    target = master_;
    first_sentinel = first_sentinel_;
  }
  if (!sentinel) target = Endpoint{options_.host, options_.port};
  if (!target.has_value()) {
    auto found = AskSentinels(options_, &first_sentinel);
    if (!found.ok()) {
      *status = found.status();
      Trip();
      Release();
      return {};
    }
    target = *found;
    MutexLock lock(&mu_);
    first_sentinel_ = first_sentinel;
    if (epoch_ == epoch && !master_.has_value()) {
      master_ = target;
      Log(LogLevel::kInfo, "redis_master_found",
          {{"master", options_.sentinel_master},
           {"address", absl::StrCat(target->host, ":", target->port)}});
    }
  }
  redisContext* ctx =
      redisConnectWithTimeout(target->host.c_str(), target->port, ToTimeval(options_.timeout));
  if (ctx == nullptr || ctx->err != 0) {
    *status = Unavailable(common::v1::REDIS_UNAVAILABLE,
                          absl::StrCat("cannot connect to redis: ", ctx ? ctx->errstr : "oom"));
    if (ctx != nullptr) redisFree(ctx);
    Trip();
    if (sentinel) ForgetMaster(epoch, "connect");
    Release();
    return {};
  }
  redisSetTimeout(ctx, ToTimeval(options_.timeout));
  if (options_.user.empty() && !sentinel) return {ctx, epoch};
  // Each new connection authenticates as the service's ACL user before it is used. Behind
  // Sentinel, HELLO does it and says the server's role in the same round trip (ROLE itself is
  // an admin command the services' users may not run; HELLO is open to every user).
  RedisCommand hello = {"AUTH", options_.user, options_.password};
  if (sentinel) {
    hello = {"HELLO", "2"};
    if (!options_.user.empty()) {
      hello.insert(hello.end(), {"AUTH", options_.user, options_.password});
    }
  }
  auto reply = RunCommand(ctx, hello, options_.timeout);
  const bool authenticated = reply.ok() && (sentinel ? reply->type == RedisReply::Type::kArray
                                                     : reply->type == RedisReply::Type::kStatus);
  if (!authenticated) {
    const std::string why = !reply.ok()         ? std::string(reply.status().message())
                            : reply->is_error() ? reply->str
                                                : "unexpected reply";
    redisFree(ctx);
    Trip();
    if (reply.ok() && IsFailoverReply(*reply)) {  // LOADING: not ready yet, not a config error
      if (sentinel) ForgetMaster(epoch, "loading");
    } else if (reply.ok()) {
      // Wrong password or unknown user: a configuration error that no retry fixes, so it is
      // logged (without the password) and Redis is treated as down: PostgreSQL decides.
      static std::atomic<int64_t> logged_at_ns{0};
      const int64_t now = SteadyNowNs();
      if (now - logged_at_ns.load() > 10'000'000'000) {
        logged_at_ns.store(now);
        Log(LogLevel::kError, "redis_auth_failed", {{"user", options_.user}, {"error", why}});
      }
    } else if (sentinel) {
      ForgetMaster(epoch, "connect");
    }
    Release();
    *status = Unavailable(common::v1::REDIS_UNAVAILABLE,
                          absl::StrCat("redis AUTH as ", options_.user, " failed: ", why));
    return {};
  }
  if (sentinel) {
    // HELLO's reply is a flat list of field, value pairs; one of them is the role.
    std::string role;
    for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
      if (reply->elements[i].str == "role") role = reply->elements[i + 1].str;
    }
    if (role != "master") {
      // The sentinels have not noticed yet, or a failover is under way: ask again after the
      // breaker's cool-down rather than write to a replica.
      redisFree(ctx);
      Trip();
      ForgetMaster(epoch, "role");
      Release();
      *status = Unavailable(common::v1::REDIS_UNAVAILABLE,
                            absl::StrCat("redis at ", target->host, ":", target->port, " is ",
                                         role.empty() ? "of no role" : role, ", not the master"));
      return {};
    }
  }
  return {ctx, epoch};
}

void RedisClient::Checkin(Connection connection, bool healthy) {
  MutexLock lock(&mu_);
  if (healthy && connection.epoch == epoch_) {
    idle_.push_back(connection);
  } else {
    redisFree(connection.ctx);
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
  const Connection connection = Checkout(&status);
  if (connection.ctx == nullptr) return status;
  redisContext* const ctx = connection.ctx;
  // The connection broke: the server is gone, or (behind Sentinel) a failover closed it.
  auto lost = [&](const std::string& why) {
    Checkin(connection, /*healthy=*/false);
    Trip();
    if (!options_.sentinels.empty()) ForgetMaster(connection.epoch, "connection");
    return Unavailable(common::v1::REDIS_UNAVAILABLE, absl::StrCat("redis: ", why));
  };
  // The server answers but cannot serve us: it became a replica or is loading. Every pooled
  // connection to it goes; the next one asks the sentinels (or reconnects to host:port).
  auto moved = [&](const RedisReply& reply) {
    Checkin(connection, /*healthy=*/false);
    if (absl::StartsWith(reply.str, "LOADING")) Trip();
    ForgetMaster(connection.epoch,
                 absl::StartsWith(reply.str, "READONLY") ? "readonly" : "loading");
    return Unavailable(common::v1::REDIS_UNAVAILABLE, absl::StrCat("redis: ", reply.str));
  };
  for (const RedisCommand& argv : commands) Append(ctx, argv);
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) return lost(ctx->errstr);
    out.push_back(Convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  for (const RedisReply& reply : out) {
    if (IsFailoverReply(reply)) return moved(reply);
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
          return lost(absl::StrCat("lost while reloading a script: ", ctx->errstr));
        }
        out[i] = Convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        if (IsFailoverReply(out[i])) return moved(out[i]);
      }
    }
  }
  Checkin(connection, /*healthy=*/true);
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

namespace {

// A name as Redis takes it in a command: not empty, printable, no spaces, bounded.
bool IsPlainName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// <prefix>_SENTINELS and the settings that go with it (see RedisOptionsFromEnv).
absl::Status SentinelOptionsFromEnv(absl::string_view prefix, RedisClient::Options* options) {
  constexpr size_t kSentinelsMax = 16;
  const std::string list_variable = absl::StrCat(prefix, "_SENTINELS");
  const std::string list = EnvString(list_variable, "");
  if (list.empty()) return absl::OkStatus();
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    const size_t colon = item.rfind(':');
    RedisClient::Endpoint sentinel;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(item.substr(colon + 1), &sentinel.port) || sentinel.port < 1 ||
        sentinel.port > 65535 || !IsPlainName(item.substr(0, colon))) {
      return InvalidArgument(
          common::v1::INVALID_CONFIG,
          absl::StrCat(list_variable, " must be host:port[,host:port...], not \"", item, "\""));
    }
    sentinel.host = std::string(item.substr(0, colon));
    options->sentinels.push_back(std::move(sentinel));
  }
  if (options->sentinels.empty() || options->sentinels.size() > kSentinelsMax) {
    return InvalidArgument(
        common::v1::INVALID_CONFIG,
        absl::StrCat(list_variable, " must name 1 to ", kSentinelsMax, " sentinels"));
  }
  const std::string master_variable = absl::StrCat(prefix, "_SENTINEL_MASTER");
  options->sentinel_master = EnvString(master_variable, "");
  if (!IsPlainName(options->sentinel_master)) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(master_variable, " is required with ", list_variable,
                                        ": the name the sentinels know the master by"));
  }
  const std::string user_variable = absl::StrCat(prefix, "_SENTINEL_USER");
  options->sentinel_user = EnvString(user_variable, "");
  if (!options->sentinel_user.empty() && !IsPlainName(options->sentinel_user)) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(user_variable, " is not a user name"));
  }
  const std::string password_variable = absl::StrCat(prefix, "_SENTINEL_PASSWORD_FILE");
  if (!EnvString(password_variable, "").empty()) {
    auto password = EnvSecretFile(password_variable, 16, 512);
    if (!password.ok()) return password.status();
    options->sentinel_password = std::move(*password);
  } else if (!options->sentinel_user.empty()) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(password_variable, " is required with ", user_variable));
  }
  return absl::OkStatus();
}

}  // namespace

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
  if (absl::Status s = SentinelOptionsFromEnv(prefix, &options); !s.ok()) return s;
  return options;
}

}  // namespace qcash
