// The integration-test harness: real PostgreSQL, Redis and service processes on free
// loopback ports, with their data under the build tree.
//
// PostgreSQL's initdb refuses to run as root, so when the tests run as root the database
// processes run as the unprivileged `postgres` user that Debian's package creates.
#ifndef QCASH_TESTS_HARNESS_HARNESS_H_
#define QCASH_TESTS_HARNESS_HARNESS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/status.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/redis.h"

namespace qcash::testing {

// How much longer than normal the tests' own deadlines are: $QCASH_TEST_TIME_SCALE (a whole
// number, default 1; scripts/sanitize sets it, instrumented code runs several times slower).
int TimeScale();
// `wait` stretched by TimeScale(): the deadline of a wait for something that must happen.
template <typename Duration>
Duration Scaled(Duration wait) {
  return wait * TimeScale();
}

// A free TCP port on 127.0.0.1 below the ephemeral range (bound and released; the window for
// a race is small). Never the same port twice in one process.
int FreePort();

// A fresh directory for one test binary's state: under $QCASH_TEST_STATE_DIR when set, else
// under the build tree's test-state/. Aborts when that would be inside the source tree
// (outside its build tree): generated state never lands where git would see it.
std::string MakeStateDir(const std::string& name);

// Where MakeStateDir puts `name`'s state, given the base (empty: `build_dir`/test-state).
// Errors: FAILED_PRECONDITION when the result lies in `source_dir` but not in `build_dir`.
absl::StatusOr<std::string> StateDirFor(const std::string& name, const std::string& base,
                                        const std::string& source_dir,
                                        const std::string& build_dir);

// The issuer's registration number (適格請求書発行事業者登録番号) of every gateway the harness
// starts: fictitious, with a valid check digit, as tests of the invoices expect to read it.
inline constexpr char kTestRegistrationNumber[] = "T7123456789012";

// True in a sanitizer build (-DQCASH_SANITIZE=...): our binaries are instrumented too.
inline constexpr bool kSanitizerBuild = QCASH_SANITIZER_BUILD;

// A child process with its stdout and stderr appended to a log file.
//
// In a sanitizer build a process started from a binary of this build tree (a service, the
// sandbox, qcashctl) writes its sanitizer reports to `<log_file>.sanitizer.<pid>` instead of
// its log (log_path in ASAN_/UBSAN_/TSAN_OPTIONS), and is stopped with SIGTERM before SIGKILL,
// so that LeakSanitizer runs at its exit. When the Process is destroyed and such a report
// exists, the running test fails with the report's first lines: an error inside a service
// fails the test that drove it, not just the service's log.
class Process {
 public:
  struct Spec {
    std::vector<std::string> argv;
    std::map<std::string, std::string> env;  // added to the parent's environment
    std::string log_file;
    bool as_postgres_user = false;  // drop root to the `postgres` user first
  };

  // Errors: INTERNAL when fork/exec fails.
  static absl::StatusOr<std::unique_ptr<Process>> Start(const Spec& spec);
  ~Process();  // SIGKILL if still running

  pid_t pid() const { return pid_; }
  bool Running();
  // Sends `signal` and waits up to `wait` for the exit; SIGKILL after that.
  // Returns the exit status (as from waitpid), or -1 if it had to be killed.
  int Stop(int signal, std::chrono::milliseconds wait = std::chrono::seconds(10));
  // Sends `signal` to the process's whole process group (it is the group's leader): its
  // children too, e.g. the PostgreSQL that a pg_auto_failover keeper started.
  void SignalGroup(int signal);
  // Exit status if the process has exited, waiting at most `wait`.
  absl::StatusOr<int> WaitExit(std::chrono::milliseconds wait);
  // The sanitizer report this process wrote so far (empty: none, or not a sanitizer build).
  std::string SanitizerReport() const;

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
  std::string binary_;
  std::string sanitizer_log_;  // log_path given to the sanitizers; empty: not instrumented
};

// Harness internals shared by its files: whether the `postgres` user can reach `dir` (every
// ancestor searchable), and chown -R of `path` to it (both no-ops unless running as root).
bool PostgresCanReach(const std::string& dir);
void GiveToPostgres(const std::string& path);
// `dir` (created) when the postgres user can reach it, else a fresh directory named
// `fallback`XXXXXX (mode 0755) that it can.
absl::StatusOr<std::string> DirForPostgres(const std::string& dir, const std::string& fallback);

// A PostgreSQL 15 cluster of our own: initdb'd on first start, trust authentication on
// loopback, superuser `qcash`.
class PostgresServer {
 public:
  // Errors: INTERNAL / UNAVAILABLE when initdb or the server fails (see log in `dir`).
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(const std::string& dir);
  ~PostgresServer();

  int port() const { return port_; }
  // postgresql:// URL of `database` on this server.
  std::string Url(const std::string& database) const;
  absl::Status CreateDatabase(const std::string& database);
  // Fast shutdown and start again on the same port and data.
  absl::Status Restart();
  absl::Status Stop();
  const std::string& bin_dir() const { return bin_dir_; }

 private:
  absl::Status Launch();
  std::string dir_;
  std::string bin_dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

// A Redis server of our own, without persistence (a cache: losing it loses speed only), with
// the ACL users of deploy/kustomize/components/in-cluster-data/redis-users.acl.rules for its
// `instance` ("main": the wallet's; "gateway": the gateway's rate limits), `default off`, and a
// test-only admin user. Each user's password is made at Start and kept in a file under `dir`
// (mode 0600).
class RedisServer {
 public:
  static constexpr const char* kAdmin = "qcash-test-admin";

  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(const std::string& dir,
                                                            const std::string& instance = "main");
  ~RedisServer();

  int port() const { return port_; }
  absl::Status Stop();
  // Starts again on the same port and users (empty: nothing was persisted).
  absl::Status Restart();
  bool running() const { return process_ != nullptr; }

  // The environment that makes a service connect as `user`: <prefix>_HOST, _PORT, _USER and
  // _PASSWORD_FILE (common/redis.h RedisOptionsFromEnv).
  std::map<std::string, std::string> ClientEnv(const std::string& user,
                                               const std::string& prefix = "QCASH_REDIS") const;
  // Client settings as `user` (kAdmin: every command on every key, for tests that play an
  // attacker who owns Redis). An unknown user gets no password.
  RedisClient::Options ClientOptions(const std::string& user) const;
  std::string PasswordFile(const std::string& user) const;

 private:
  absl::Status Launch();
  std::string dir_;
  std::string instance_;
  int port_ = 0;
  std::map<std::string, std::string> passwords_;  // user -> password
  std::unique_ptr<Process> process_;
};

// Writes `dir`/users.acl for the Redis `instance` as RedisServer::Start does (`default off`, the
// users of the rules file, kAdmin) plus `extra_rules` (user -> ACL rules), each user with a new
// password in RedisPasswordFile(dir, user). Returns user -> password.
absl::StatusOr<std::map<std::string, std::string>> WriteRedisAclFile(
    const std::string& dir, const std::string& instance,
    const std::map<std::string, std::string>& extra_rules = {});
std::string RedisPasswordFile(const std::string& dir, const std::string& user);

// A fresh secret file at `path` (mode 0600): `bytes` random bytes as hex. Returns the path.
std::string NewSecretFile(const std::string& path, size_t bytes = 32);

// A service binary of ours, started on a free port and SERVING.
struct ServiceProcess {
  std::unique_ptr<Process> process;
  std::string address;  // 127.0.0.1:port
};

// Starts `binary` with `env` plus `<listen_env>`=`address` (default: 127.0.0.1:<free port>)
// and QCASH_INSECURE_DEV=1 (unless env sets TLS), and waits until it is SERVING.
absl::StatusOr<ServiceProcess> StartService(const std::string& binary,
                                            std::map<std::string, std::string> env,
                                            const std::string& listen_env,
                                            const std::string& log_file,
                                            const std::string& address = "");

// What every service's integration tests start with: PostgreSQL (with the wallet's database
// and `databases`), Redis, and a running wallet. The directory is removed on destruction unless
// `keep` was set (a test binary sets it when a test failed, to keep the logs).
//
// Redis: `redis` is the wallet's (user wallet; payment uses no Redis), `gateway_redis` the
// gateway's own for its rate limits (user gateway). The wallet gets its replay key
// (QCASH_WALLET_REPLAY_KEY_FILE) in `wallet_env`.
class PgHaCluster;  // pg_ha.h

struct StackOptions {
  // The databases on a pg_auto_failover formation (pg_ha.h) instead of one PostgreSQL: for
  // the tests about failover.
  bool ha_postgres = false;
};

struct Stack {
  std::string dir;
  std::unique_ptr<PostgresServer> pg;  // one of these two
  std::unique_ptr<PgHaCluster> pg_ha;
  std::unique_ptr<RedisServer> redis;
  std::unique_ptr<RedisServer> gateway_redis;
  ServiceProcess wallet;
  std::string wallet_db_url;
  std::map<std::string, std::string> wallet_env;
  bool keep = false;

  // Stops the wallet (SIGKILL when `kill`, else SIGTERM) and starts it again on its address.
  absl::Status RestartWallet(bool kill = false);
  // The services' URL of `database` (multi-host, read-write, on the HA formation).
  std::string DatabaseUrl(const std::string& database) const;
  absl::Status CreateDatabase(const std::string& database);
  ~Stack();
};
absl::StatusOr<std::unique_ptr<Stack>> StartStack(
    const std::string& name, const std::vector<std::string>& databases = {},
    std::map<std::string, std::string> wallet_env = {}, StackOptions options = {});

// Waits until a gRPC server at `address` answers the standard health check SERVING (for
// `service`, default the overall status), over `credentials` (default plaintext).
absl::Status WaitForServing(const std::string& address, std::chrono::milliseconds wait,
                            std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr,
                            const std::string& service = "");

// One health check: SERVING, NOT_SERVING, or the call's error.
absl::StatusOr<bool> IsServing(const std::string& address,
                               std::shared_ptr<grpc::ChannelCredentials> credentials,
                               const std::string& service);

// A development PKI made by scripts/dev-pki in `dir`: a CA and one certificate per identity.
struct Pki {
  std::string dir;
  std::string Cert(const std::string& identity) const { return dir + "/" + identity + ".pem"; }
  std::string Key(const std::string& identity) const { return dir + "/" + identity + ".key"; }
  std::string Ca() const { return dir + "/ca.pem"; }
  // The key pair of the seller tokens a TLS service checks (made by MakePki): a service with
  // TLS refuses to start without the public key (DESIGN.md section 7).
  std::string SellerTokenPublicKey() const { return dir + "/seller-token.pub"; }
  std::string SellerTokenPrivateKeyPem() const;
  // The environment that makes a service use `identity`'s certificate (mTLS on) and check the
  // seller tokens signed with SellerTokenPrivateKeyPem().
  std::map<std::string, std::string> ServiceEnv(const std::string& identity) const;
  // Client credentials as `identity`.
  std::shared_ptr<grpc::ChannelCredentials> Client(const std::string& identity) const;
};
absl::StatusOr<Pki> MakePki(const std::string& dir, const std::vector<std::string>& identities);

// The gateway (qcash-gateway) in front of `stack`'s wallet, with a key pair made for the test:
// tests sign seller tokens with `token_private_key_pem` (IssueSellerToken). `env` adds or
// overrides settings (QCASH_PAYMENT_TARGET, rate limits, ...).
struct GatewayProcess {
  std::unique_ptr<Process> process;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token_private_key_pem;
  std::string token_issuer = "qoo10-login";
  std::string token_audience = "qcash-gateway";
  std::string Url(const std::string& path) const;
  std::string base_url() const { return Url(""); }
};
absl::StatusOr<GatewayProcess> StartGateway(const Stack& stack,
                                            std::map<std::string, std::string> env = {});

// The payment service with its provider sandbox, for a gateway at `gateway_url` (the sandbox
// sends notifications to its /webhooks, providers return sellers to its /charge/done).
// `payment_address` fixes the payment service's address (empty: a free port).
struct PaymentProcesses {
  std::unique_ptr<Process> sandbox;
  std::string sandbox_url;
  std::string secrets_file;  // provider=secret lines shared by both
  ServiceProcess payment;
};
absl::StatusOr<PaymentProcesses> StartPaymentWithSandbox(
    const Stack& stack, const std::string& gateway_url, const std::string& payment_address = "",
    std::map<std::string, std::string> extra_env = {});

// The points service on `stack`'s database `qcash_points` (which StartStack must have made).
absl::StatusOr<ServiceProcess> StartPoints(const Stack& stack,
                                           std::map<std::string, std::string> extra_env = {});

// A fresh EC P-256 key pair as PEM: {private, public}.
std::pair<std::string, std::string> NewEcKeyPair();

// What the server reflection service said when asked to list its services.
struct ReflectionAnswer {
  grpc::Status status;  // the call's final status (UNIMPLEMENTED where reflection is off)
  std::string reply;    // the raw ServerReflectionResponse, where service names are plain text
};
ReflectionAnswer ListServicesByReflection(const std::string& address,
                                          std::shared_ptr<grpc::ChannelCredentials> credentials);

// The same in plaintext; returns the reply bytes, or UNAVAILABLE when the call failed.
absl::StatusOr<std::string> ReflectionListServices(const std::string& address);

// Runs the ledger audit on the wallet database at `url`; OK when every check passes,
// otherwise FAILED_PRECONDITION with the report.
absl::Status AuditWalletLedger(const std::string& url);

}  // namespace qcash::testing

#endif  // QCASH_TESTS_HARNESS_HARNESS_H_
