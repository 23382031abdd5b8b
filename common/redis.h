// A small, bounded Redis client over hiredis (synchronous): a pool of connections with
// command timeouts, pipelining, Lua scripts by SHA, and a circuit breaker.
//
// Redis is a cache and a fast path here, never the only copy of anything (DESIGN.md section
// 2), so every caller treats an error as "Redis is not there" and goes to PostgreSQL. The
// breaker makes that cheap: after a failure, calls fail at once with UNAVAILABLE for a
// cool-down instead of each waiting for a timeout; then one call is let through to probe.
//
// Every connection authenticates as the service's own Redis 7 ACL user (AUTH user password
// on each new connection), so a service can reach only its own key prefix (DESIGN.md section
// 7). The password is never logged.
//
// Sentinel (docs/REDIS-HA.md): with a list of sentinels and a master name, the client asks
// the sentinels in turn for the master's address (SENTINEL get-master-addr-by-name) before it
// opens a connection, and checks that the server it reached says it is the master (HELLO's
// role, in the same round trip as the authentication). A sign that the master moved (a lost
// connection, a refused connect, a -READONLY or -LOADING reply, a server that is not master,
// the sentinels naming another master when asked again, once a second) forgets the address
// and the pooled connections to it; the next connection asks again. Each
// step has the same bound as a command (Options::timeout), so a failover costs calls what a
// Redis outage costs them: UNAVAILABLE and PostgreSQL, never a longer wait.
#ifndef QCASH_COMMON_REDIS_H_
#define QCASH_COMMON_REDIS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/mutex.h"

struct redisContext;

namespace qcash {

struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

using RedisCommand = std::vector<std::string>;

class RedisClient {
 public:
  struct Endpoint {
    std::string host;
    int port = 0;
    bool operator==(const Endpoint& other) const {
      return host == other.host && port == other.port;
    }
  };

  struct Options {
    std::string host = "127.0.0.1";  // where Redis is, unless `sentinels` is set
    int port = 6379;
    // Sentinel: when not empty, the master is wherever these say `sentinel_master` is, and
    // host/port are not used. Asked in order, the last one that answered first.
    std::vector<Endpoint> sentinels;
    std::string sentinel_master;    // the name the sentinels monitor the master by
    std::string sentinel_user;      // ACL user on the sentinels; empty: no AUTH there
    std::string sentinel_password;  // of `sentinel_user`; a secret: never logged
    // How often a call asks the sentinels whether the master is still the same (a planned
    // switch leaves the old master answering as master for a while: its connections show
    // nothing wrong). One call per interval pays that round trip.
    std::chrono::milliseconds sentinel_check_interval{1000};
    std::string user;      // Redis ACL user; empty: no AUTH (the default user)
    std::string password;  // of `user`; a secret: never logged
    int pool_size_max = 8;
    std::chrono::milliseconds timeout{200};   // connect and each command
    std::chrono::milliseconds cooldown{500};  // breaker open time after a failure
  };

  explicit RedisClient(Options options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command. A Redis error reply is returned as a reply of type kError, not as a status.
  // Errors: UNAVAILABLE (REDIS_UNAVAILABLE) when Redis cannot be reached, times out, or the
  // breaker is open.
  absl::StatusOr<RedisReply> Command(const RedisCommand& argv);

  // Several commands in one round trip; the replies in order. Errors as Command().
  absl::StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& commands);

  // Registers a Lua script and returns its SHA1. EVALSHA commands with a registered SHA are
  // retried as EVAL when Redis has forgotten the script (after a restart).
  std::string RegisterScript(const std::string& source);

  // False while the breaker is open.
  bool available() const;

  // With sentinels: the master's address the client connects to now, or nullopt when it does
  // not know one (not asked yet, or forgotten after a sign of failover). Without: host/port.
  std::optional<Endpoint> master() const ABSL_LOCKS_EXCLUDED(mu_);

  // What names the master this client writes to now, for records that must not be read back
  // from another master after a failover (docs/REDIS-HA.md): "host:port" with sentinels (""
  // while none is known; the sentinels name the same one to every client), "" without.
  std::string master_tag() const ABSL_LOCKS_EXCLUDED(mu_);

  // Asks the sentinels where `options.sentinel_master` is, each in turn, all within
  // options.timeout. Errors: UNAVAILABLE (REDIS_UNAVAILABLE) when none answered with an
  // address (all down, unknown master name, refused AUTH).
  static absl::StatusOr<Endpoint> AskSentinels(const Options& options,
                                               size_t* first_to_ask = nullptr);

 private:
  // A pooled connection and the master epoch it was opened in: a connection of an earlier
  // epoch leads to a master that may have been replaced, and is closed instead of reused.
  struct Connection {
    redisContext* ctx = nullptr;
    uint64_t epoch = 0;
  };
  Connection Checkout(absl::Status* status) ABSL_LOCKS_EXCLUDED(mu_);
  void Checkin(Connection connection, bool healthy) ABSL_LOCKS_EXCLUDED(mu_);
  // Gives up a reserved slot of the pool (a connection that could not be opened).
  void Release() ABSL_LOCKS_EXCLUDED(mu_);
  // The master of `epoch` is gone or moved: forget its address and its idle connections.
  void ForgetMaster(uint64_t epoch, absl::string_view why) ABSL_LOCKS_EXCLUDED(mu_);
  // Once per sentinel_check_interval (one caller does it): forgets the master when the
  // sentinels now name another. Sentinels that do not answer change nothing.
  void CheckMasterIfDue() ABSL_LOCKS_EXCLUDED(mu_);
  void Trip();

  const Options options_;
  std::atomic<int64_t> open_until_ns_{0};  // breaker: fail fast until then (steady clock)
  std::atomic<int64_t> next_check_ns_{0};  // CheckMasterIfDue: not before then (steady clock)
  mutable Mutex mu_;
  CondVar cv_;
  std::vector<Connection> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;              // +1 each time the master is forgotten
  std::optional<Endpoint> master_ ABSL_GUARDED_BY(mu_);  // sentinel mode: nullopt = ask again
  size_t first_sentinel_ ABSL_GUARDED_BY(mu_) = 0;       // the last one that answered
  absl::flat_hash_map<std::string, std::string> scripts_ ABSL_GUARDED_BY(mu_);  // sha -> source
};

// The settings of a Redis from the environment, `prefix` naming the variables:
//   <prefix>_HOST, <prefix>_PORT          where                  127.0.0.1 / 6379
//   <prefix>_USER                         the ACL user           (required)
//   <prefix>_PASSWORD_FILE                a file holding its password, 16..512 bytes (required)
//   <prefix>_TIMEOUT_MS                   connect and each command, 10..10000   200
//   <prefix>_SENTINELS                    "host:port,host:port,...": find the master through
//                                         these sentinels (1..16); host/port are then unused
//   <prefix>_SENTINEL_MASTER              the master's name there (required with sentinels)
//   <prefix>_SENTINEL_USER                ACL user on the sentinels        (optional)
//   <prefix>_SENTINEL_PASSWORD_FILE       its password (or the sentinels' requirepass), 16..512
// The user and the password are required: Redis runs with `default off`, and a service that
// would connect as nobody fails at start-up with a message naming the variable (DESIGN.md
// section 7: fail closed). Errors: INVALID_ARGUMENT (INVALID_CONFIG).
absl::StatusOr<RedisClient::Options> RedisOptionsFromEnv(absl::string_view prefix = "QCASH_REDIS");

}  // namespace qcash

#endif  // QCASH_COMMON_REDIS_H_
