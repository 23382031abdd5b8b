#include "tests/harness/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "common/redis.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/wallet/audit.h"
#include "tests/harness/pg_ha.h"

extern char** environ;

namespace qcash::testing {
namespace {

namespace fs = std::filesystem;

struct PostgresUser {
  uid_t uid = 0;
  gid_t gid = 0;
  bool found = false;
};

PostgresUser LookupPostgresUser() {
  PostgresUser user;
  if (const passwd* pw = getpwnam("postgres")) {
    user.uid = pw->pw_uid;
    user.gid = pw->pw_gid;
    user.found = true;
  }
  return user;
}

bool RunningAsRoot() { return geteuid() == 0; }

}  // namespace

void GiveToPostgres(const std::string& path) {
  if (!RunningAsRoot()) return;
  const PostgresUser user = LookupPostgresUser();
  if (!user.found) return;
  std::error_code ec;
  if (chown(path.c_str(), user.uid, user.gid) != 0) return;
  for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
    (void)chown(entry.path().c_str(), user.uid, user.gid);
  }
}

int TimeScale() {
  static const int scale = [] {
    int value = 1;
    const char* text = std::getenv("QCASH_TEST_TIME_SCALE");
    if (text != nullptr && (!absl::SimpleAtoi(text, &value) || value < 1 || value > 20)) {
      std::fprintf(stderr, "QCASH_TEST_TIME_SCALE must be a whole number 1..20, not %s\n", text);
      std::abort();
    }
    return value;
  }();
  return scale;
}

int FreePort() {
  // A port below Linux's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by
  // default): a server there can be stolen while it is down, because the kernel may give its
  // port to an outgoing connection as the source port — a client that connects to a stopped
  // PostgreSQL on such a port can connect to itself, and the TIME-WAIT socket then keeps the
  // restarted server from binding for a minute. So the harness picks at random in
  // [kLow, kHigh), checks the port by binding it (without SO_REUSEADDR, so a TIME-WAIT socket on
  // it also counts as taken), and never hands out the same port twice in one process.
  constexpr int kLow = 20000;
  constexpr int kHigh = 32768;
  static Mutex mu;
  static auto* const given = new std::set<int>();
  auto fail = [](const char* what) {
    std::fprintf(stderr, "harness: FreePort: %s: %s\n", what, std::strerror(errno));
    std::abort();
  };
  thread_local std::mt19937 random(std::random_device{}() ^ static_cast<unsigned>(getpid()));
  std::uniform_int_distribution<int> pick(kLow, kHigh - 1);
  MutexLock lock(&mu);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = pick(random);
    if (given->count(port) != 0) continue;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (free) {
      given->insert(port);
      return port;
    }
  }
  errno = EADDRINUSE;
  fail("no free port below the ephemeral range after 1000 tries");
  return 0;
}

absl::StatusOr<std::string> StateDirFor(const std::string& name, const std::string& base,
                                        const std::string& source_dir,
                                        const std::string& build_dir) {
  // Compared lexically after normalising, so "build/../test-state" is seen for what it is.
  auto inside = [](const fs::path& path, const fs::path& root) {
    const fs::path relative = path.lexically_normal().lexically_relative(root.lexically_normal());
    return !relative.empty() && *relative.begin() != "..";
  };
  const fs::path root =
      fs::absolute(base.empty() ? fs::path(build_dir) / "test-state" : fs::path(base));
  if (inside(root, source_dir) && !inside(root, build_dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat("test state must not be written into the source tree (", root.string(),
                     "): use the build tree or a temporary directory"));
  }
  return (root / absl::StrCat(name, "-", getpid())).string();
}

std::string MakeStateDir(const std::string& name) {
  const char* base = std::getenv("QCASH_TEST_STATE_DIR");
  auto dir = StateDirFor(name, base != nullptr ? base : "", QCASH_SOURCE_DIR, QCASH_BUILD_DIR);
  if (!dir.ok()) {
    std::fprintf(stderr, "%s\n", std::string(dir.status().message()).c_str());
    std::abort();
  }
  fs::remove_all(*dir);
  fs::create_directories(*dir);
  return *dir;
}

absl::StatusOr<std::unique_ptr<Process>> Process::Start(const Spec& spec) {
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe
  // calls are allowed in a multithreaded parent.
  std::map<std::string, std::string> child_env = spec.env;
  const std::string binary = spec.argv.empty() ? "" : spec.argv[0];
  std::string sanitizer_log;
  if (kSanitizerBuild && binary.rfind(std::string(QCASH_BUILD_DIR) + "/", 0) == 0) {
    // Our binary, instrumented like this one: its reports go to a file of their own that the
    // destructor checks (see the class comment). The sanitizers read their options in order,
    // so log_path appended here wins over one the environment may carry.
    sanitizer_log = spec.log_file + ".sanitizer";
    for (const char* var : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"}) {
      std::string options;
      if (auto it = child_env.find(var); it != child_env.end()) {
        options = it->second;
      } else if (const char* inherited = std::getenv(var); inherited != nullptr) {
        options = inherited;
      }
      child_env[var] =
          absl::StrCat(options, options.empty() ? "" : ":", "log_path=", sanitizer_log);
    }
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    if (child_env.count(key) == 0) env_strings.push_back(entry);
  }
  for (const auto& [key, value] : child_env) env_strings.push_back(absl::StrCat(key, "=", value));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const int log_fd = open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("cannot open ", spec.log_file));
  const PostgresUser user = LookupPostgresUser();
  const bool drop = spec.as_postgres_user && RunningAsRoot();
  if (drop && !user.found) {
    close(log_fd);
    return absl::InternalError("running as root and there is no `postgres` user to drop to");
  }
  if (drop) (void)fchown(log_fd, user.uid, user.gid);

  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    setpgid(0, 0);
    if (drop) {
      if (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) _exit(126);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test binary
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  auto process = std::unique_ptr<Process>(new Process(pid));
  process->binary_ = binary;
  process->sanitizer_log_ = sanitizer_log;
  return process;
}

Process::~Process() {
  if (sanitizer_log_.empty()) {
    if (!reaped_) Stop(SIGKILL, std::chrono::seconds(5));
    return;
  }
  // An instrumented binary of ours: a normal exit first, so that LeakSanitizer checks it (a
  // SIGKILLed process reports nothing). Every service drains and exits on SIGTERM.
  if (!reaped_) Stop(SIGTERM, Scaled(std::chrono::seconds(30)));
  const std::string report = SanitizerReport();
  if (report.empty()) return;
  // The first lines name the error and where it happened; the whole report stays in the file.
  std::vector<std::string> lines = absl::StrSplit(report, '\n');
  if (lines.size() > 40) lines.resize(40);
  const std::string message =
      absl::StrCat("sanitizer report from ", binary_, " (pid ", pid_, ", ", sanitizer_log_, ".",
                   pid_, "):\n", absl::StrJoin(lines, "\n"));
  std::fprintf(stderr, "%s\n", message.c_str());
  ADD_FAILURE() << message;
}

std::string Process::SanitizerReport() const {
  if (sanitizer_log_.empty()) return "";
  std::ifstream in(absl::StrCat(sanitizer_log_, ".", pid_));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

bool Process::Running() {
  if (reaped_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = status;
    return false;
  }
  return true;
}

absl::StatusOr<int> Process::WaitExit(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError("process still running");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

void Process::SignalGroup(int signal) {
  if (Running()) kill(-pid_, signal);
}

int Process::Stop(int signal, std::chrono::milliseconds wait) {
  if (!Running()) return status_;
  kill(pid_, signal);
  auto status = WaitExit(wait);
  if (status.ok()) return *status;
  kill(pid_, SIGKILL);
  (void)WaitExit(std::chrono::seconds(10));
  return -1;
}

// ---------------------------------------------------------------------------- PostgreSQL

// True when the postgres user can reach `dir`: every ancestor searchable by others.
bool PostgresCanReach(const std::string& dir) {
  if (!RunningAsRoot()) return true;
  for (fs::path p = fs::absolute(dir);; p = p.parent_path()) {
    struct stat st;
    if (stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) return false;
    if (p == p.root_path()) return true;
  }
}

absl::StatusOr<std::string> DirForPostgres(const std::string& dir, const std::string& fallback) {
  fs::create_directories(dir);
  if (PostgresCanReach(dir)) return dir;
  // A checkout under /root, say: keep the cluster where its owner can reach it.
  std::string temp = fallback + "XXXXXX";
  if (mkdtemp(temp.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  chmod(temp.c_str(), 0755);
  return temp;
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(const std::string& dir) {
  auto server = std::unique_ptr<PostgresServer>(new PostgresServer());
  auto reachable = DirForPostgres(dir, "/tmp/qcash-test-pg-");
  if (!reachable.ok()) return reachable.status();
  server->dir_ = *reachable;
  server->bin_dir_ = EnvString("QCASH_PG_BIN", "/usr/lib/postgresql/15/bin");
  const std::string data = server->dir_ + "/pgdata";
  if (!fs::exists(data + "/PG_VERSION")) {
    fs::create_directories(data);
    GiveToPostgres(server->dir_);
    Process::Spec initdb;
    initdb.argv = {
        server->bin_dir_ + "/initdb", "-D",       data, "-U", "qcash", "--auth=trust", "-E", "UTF8",
        "--locale=C.UTF-8",           "--no-sync"};
    initdb.log_file = server->dir_ + "/initdb.log";
    initdb.as_postgres_user = true;
    auto p = Process::Start(initdb);
    if (!p.ok()) return p.status();
    auto exit = (*p)->WaitExit(std::chrono::seconds(120));
    if (!exit.ok() || *exit != 0) {
      return absl::InternalError(absl::StrCat("initdb failed; see ", initdb.log_file));
    }
  }
  server->port_ = FreePort();
  if (absl::Status s = server->Launch(); !s.ok()) return s;
  return server;
}

absl::Status PostgresServer::Launch() {
  Process::Spec spec;
  spec.argv = {bin_dir_ + "/postgres",
               "-D",
               dir_ + "/pgdata",
               "-p",
               absl::StrCat(port_),
               "-c",
               "listen_addresses=127.0.0.1",
               "-c",
               "unix_socket_directories=",
               "-c",
               "max_connections=300",
               "-c",
               "shared_buffers=256MB",
               "-c",
               "log_min_messages=warning"};
  spec.log_file = dir_ + "/postgres.log";
  spec.as_postgres_user = true;
  auto p = Process::Start(spec);
  if (!p.ok()) return p.status();
  process_ = std::move(*p);
  const std::string url = Url("postgres");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(url.c_str()) == PQPING_OK) return absl::OkStatus();
    if (!process_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError(absl::StrCat("postgres did not start; see ", spec.log_file));
}

PostgresServer::~PostgresServer() {
  (void)Stop();
  if (dir_.rfind("/tmp/qcash-test-pg-", 0) == 0) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string PostgresServer::Url(const std::string& database) const {
  return absl::StrCat("postgresql://qcash@127.0.0.1:", port_, "/", database);
}

absl::Status PostgresServer::CreateDatabase(const std::string& database) {
  auto conn = PgConnection::Connect(Url("postgres"), "qcash-test-harness");
  if (!conn.ok()) return conn.status();
  return (*conn)->Exec(absl::StrCat("CREATE DATABASE \"", database, "\"")).status();
}

absl::Status PostgresServer::Restart() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  return Launch();
}

absl::Status PostgresServer::Stop() {
  if (process_ == nullptr) return absl::OkStatus();
  process_->Stop(SIGINT, std::chrono::seconds(30));  // fast shutdown
  process_.reset();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------- Redis

namespace {

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  return absl::BytesToHexString(raw);
}

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// The ACL rules of `instance` from the rules file every deployment shares: user -> rules.
absl::StatusOr<std::map<std::string, std::string>> RedisAclRules(const std::string& instance) {
  const std::string path = std::string(QCASH_SOURCE_DIR) +
                           "/deploy/kustomize/components/in-cluster-data/redis-users.acl.rules";
  std::ifstream in(path);
  if (!in) return absl::InternalError(absl::StrCat("cannot read ", path));
  std::map<std::string, std::string> rules;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string on, user, rest;
    if (!(fields >> on) || on[0] == '#' || on != instance || !(fields >> user)) continue;
    std::getline(fields, rest);
    rules[user] = rest;
  }
  if (rules.empty()) return absl::InternalError(absl::StrCat("no users for ", instance));
  return rules;
}

}  // namespace

std::string NewSecretFile(const std::string& path, size_t bytes) {
  fs::create_directories(fs::path(path).parent_path());
  {
    std::ofstream out(path, std::ios::trunc);
    out << RandomHex(bytes) << "\n";
  }
  chmod(path.c_str(), 0600);
  return path;
}

absl::StatusOr<std::map<std::string, std::string>> WriteRedisAclFile(
    const std::string& dir, const std::string& instance,
    const std::map<std::string, std::string>& extra_rules) {
  fs::create_directories(dir);
  auto rules = RedisAclRules(instance);
  if (!rules.ok()) return rules.status();
  std::ofstream acl(dir + "/users.acl", std::ios::trunc);
  acl << "user default reset off\n";
  (*rules)[RedisServer::kAdmin] = "~* &* +@all";
  for (const auto& [user, rule] : extra_rules) (*rules)[user] = rule;
  std::map<std::string, std::string> passwords;
  for (const auto& [user, rule] : *rules) {
    const std::string file = NewSecretFile(RedisPasswordFile(dir, user), 24);
    std::ifstream in(file);
    std::getline(in, passwords[user]);
    acl << "user " << user << " reset on #" << Sha256Hex(passwords[user]) << " " << rule << "\n";
  }
  return passwords;
}

std::string RedisPasswordFile(const std::string& dir, const std::string& user) {
  return absl::StrCat(dir, "/redis-", user, ".password");
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(const std::string& dir,
                                                                const std::string& instance) {
  auto server = std::unique_ptr<RedisServer>(new RedisServer());
  server->dir_ = dir;
  server->instance_ = instance;
  auto passwords = WriteRedisAclFile(dir, instance);
  if (!passwords.ok()) return passwords.status();
  server->passwords_ = std::move(*passwords);
  server->port_ = FreePort();
  if (absl::Status s = server->Launch(); !s.ok()) return s;
  return server;
}

std::string RedisServer::PasswordFile(const std::string& user) const {
  return RedisPasswordFile(dir_, user);
}

std::map<std::string, std::string> RedisServer::ClientEnv(const std::string& user,
                                                          const std::string& prefix) const {
  std::map<std::string, std::string> env = {{prefix + "_HOST", "127.0.0.1"},
                                            {prefix + "_PORT", absl::StrCat(port_)},
                                            {prefix + "_USER", user},
                                            {prefix + "_PASSWORD_FILE", PasswordFile(user)}};
  // Instrumented services are slower: the default 200 ms of a Redis call, stretched.
  if (TimeScale() > 1) env[prefix + "_TIMEOUT_MS"] = absl::StrCat(200 * TimeScale());
  return env;
}

RedisClient::Options RedisServer::ClientOptions(const std::string& user) const {
  RedisClient::Options options;
  options.port = port_;
  options.user = user;
  if (auto it = passwords_.find(user); it != passwords_.end()) options.password = it->second;
  options.cooldown = std::chrono::milliseconds(0);
  return options;
}

absl::Status RedisServer::Launch() {
  Process::Spec spec;
  spec.argv = {"/usr/bin/redis-server",
               "--port",
               absl::StrCat(port_),
               "--bind",
               "127.0.0.1",
               "--save",
               "",
               "--appendonly",
               "no",
               "--dir",
               dir_,
               "--daemonize",
               "no",
               "--aclfile",
               dir_ + "/users.acl"};
  spec.log_file = dir_ + "/redis.log";
  auto p = Process::Start(spec);
  if (!p.ok()) return p.status();
  process_ = std::move(*p);
  RedisClient client(ClientOptions(kAdmin));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto pong = client.Command({"PING"});
    if (pong.ok() && pong->str == "PONG") return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::UnavailableError(absl::StrCat("redis did not start; see ", spec.log_file));
}

RedisServer::~RedisServer() { (void)Stop(); }

absl::Status RedisServer::Stop() {
  if (process_ == nullptr) return absl::OkStatus();
  process_->Stop(SIGTERM, std::chrono::seconds(10));
  process_.reset();
  return absl::OkStatus();
}

absl::Status RedisServer::Restart() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  return Launch();
}

// ---------------------------------------------------------------------------- checks

absl::StatusOr<bool> IsServing(const std::string& address,
                               std::shared_ptr<grpc::ChannelCredentials> credentials,
                               const std::string& service) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, credentials));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + Scaled(std::chrono::milliseconds(500)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("health check: ", status.error_message()));
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

absl::Status WaitForServing(const std::string& address, std::chrono::milliseconds wait,
                            std::shared_ptr<grpc::ChannelCredentials> credentials,
                            const std::string& service) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    auto serving = IsServing(address, credentials, service);
    if (serving.ok() && *serving) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError(absl::StrCat(address, " did not become SERVING"));
}

std::map<std::string, std::string> Pki::ServiceEnv(const std::string& identity) const {
  return {{"QCASH_TLS_CERT", Cert(identity)},
          {"QCASH_TLS_KEY", Key(identity)},
          {"QCASH_TLS_CA", Ca()},
          {"QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE", SellerTokenPublicKey()},
          {"QCASH_INSECURE_DEV", "0"}};
}

std::string Pki::SellerTokenPrivateKeyPem() const {
  std::ifstream in(dir + "/seller-token.key");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::shared_ptr<grpc::ChannelCredentials> Pki::Client(const std::string& identity) const {
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  };
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = read(Ca());
  options.pem_private_key = read(Key(identity));
  options.pem_cert_chain = read(Cert(identity));
  return grpc::SslCredentials(options);
}

absl::StatusOr<Pki> MakePki(const std::string& dir, const std::vector<std::string>& identities) {
  Process::Spec spec;
  spec.argv = {std::string(QCASH_SOURCE_DIR) + "/scripts/dev-pki", dir};
  for (const std::string& id : identities) spec.argv.push_back(id);
  fs::create_directories(fs::path(dir).parent_path());
  spec.log_file = dir + ".log";
  auto p = Process::Start(spec);
  if (!p.ok()) return p.status();
  auto exit = (*p)->WaitExit(std::chrono::seconds(60));
  if (!exit.ok() || *exit != 0) {
    return absl::InternalError(absl::StrCat("scripts/dev-pki failed; see ", spec.log_file));
  }
  Pki pki{dir};
  if (!fs::exists(pki.SellerTokenPublicKey())) {
    const auto [private_pem, public_pem] = NewEcKeyPair();
    std::ofstream(dir + "/seller-token.key") << private_pem;
    std::ofstream(pki.SellerTokenPublicKey()) << public_pem;
  }
  return pki;
}

absl::StatusOr<ServiceProcess> StartService(const std::string& binary,
                                            std::map<std::string, std::string> env,
                                            const std::string& listen_env,
                                            const std::string& log_file,
                                            const std::string& address) {
  ServiceProcess service;
  service.address = address.empty() ? absl::StrCat("127.0.0.1:", FreePort()) : address;
  env[listen_env] = service.address;
  if (env.count("QCASH_TLS_CERT") == 0) env["QCASH_INSECURE_DEV"] = "1";
  Process::Spec spec;
  spec.argv = {binary};
  spec.env = env;
  spec.log_file = log_file;
  auto p = Process::Start(spec);
  if (!p.ok()) return p.status();
  service.process = std::move(*p);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (spec.env.count("QCASH_TLS_CERT") != 0 && spec.env["QCASH_INSECURE_DEV"] != "1") {
    Pki pki{fs::path(spec.env["QCASH_TLS_CA"]).parent_path().string()};
    credentials = pki.Client(fs::path(spec.env["QCASH_TLS_CERT"]).stem().string());
  }
  const auto deadline = std::chrono::steady_clock::now() + Scaled(std::chrono::seconds(30));
  while (std::chrono::steady_clock::now() < deadline) {
    auto serving = IsServing(service.address, credentials, "");
    if (serving.ok() && *serving) return service;
    if (!service.process->Running()) {  // it failed at start: no point waiting longer
      return absl::UnavailableError(absl::StrCat(binary, " exited at start; see ", log_file));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError(absl::StrCat(binary, " did not become SERVING; see ", log_file));
}

std::string Stack::DatabaseUrl(const std::string& database) const {
  return pg_ha != nullptr ? pg_ha->Url(database) : pg->Url(database);
}

absl::Status Stack::CreateDatabase(const std::string& database) {
  return pg_ha != nullptr ? pg_ha->CreateDatabase(database) : pg->CreateDatabase(database);
}

absl::StatusOr<std::unique_ptr<Stack>> StartStack(const std::string& name,
                                                  const std::vector<std::string>& databases,
                                                  std::map<std::string, std::string> wallet_env,
                                                  StackOptions options) {
  auto stack = std::make_unique<Stack>();
  stack->dir = MakeStateDir(name);
  // A stack that failed to start keeps its logs for the failure message to point at.
  struct KeepUnlessStarted {
    Stack* stack;
    bool started = false;
    ~KeepUnlessStarted() {
      if (!started) stack->keep = true;
    }
  } keep_logs{stack.get()};
  if (options.ha_postgres) {
    auto pg = PgHaCluster::Start(stack->dir + "/pg-ha");
    if (!pg.ok()) return pg.status();
    stack->pg_ha = std::move(*pg);
  } else {
    auto pg = PostgresServer::Start(stack->dir + "/pg");
    if (!pg.ok()) return pg.status();
    stack->pg = std::move(*pg);
  }
  for (const std::string& db : databases) {
    if (absl::Status s = stack->CreateDatabase(db); !s.ok()) return s;
  }
  if (absl::Status s = stack->CreateDatabase("qcash_wallet"); !s.ok()) return s;
  stack->wallet_db_url = stack->DatabaseUrl("qcash_wallet");
  auto redis = RedisServer::Start(stack->dir + "/redis");
  if (!redis.ok()) return redis.status();
  stack->redis = std::move(*redis);
  auto gateway_redis = RedisServer::Start(stack->dir + "/gateway-redis", "gateway");
  if (!gateway_redis.ok()) return gateway_redis.status();
  stack->gateway_redis = std::move(*gateway_redis);
  wallet_env["QCASH_WALLET_DATABASE_URL"] = stack->wallet_db_url;
  for (auto& [k, v] : stack->redis->ClientEnv("wallet")) wallet_env.try_emplace(k, v);
  wallet_env.try_emplace("QCASH_WALLET_REPLAY_KEY_FILE",
                         NewSecretFile(stack->dir + "/wallet-replay.key"));
  if (wallet_env.count("QCASH_WALLET_SWEEP_INTERVAL_MS") == 0) {
    wallet_env["QCASH_WALLET_SWEEP_INTERVAL_MS"] = "100";
  }
  stack->wallet_env = wallet_env;
  auto wallet = StartService(QCASH_WALLET_BINARY, wallet_env, "QCASH_WALLET_LISTEN",
                             stack->dir + "/wallet.log");
  if (!wallet.ok()) return wallet.status();
  stack->wallet = std::move(*wallet);
  keep_logs.started = true;
  return stack;
}

absl::Status Stack::RestartWallet(bool kill) {
  wallet.process->Stop(kill ? SIGKILL : SIGTERM);
  auto restarted = StartService(QCASH_WALLET_BINARY, wallet_env, "QCASH_WALLET_LISTEN",
                                dir + "/wallet.log", wallet.address);
  if (!restarted.ok()) return restarted.status();
  wallet = std::move(*restarted);
  return absl::OkStatus();
}

Stack::~Stack() {
  wallet.process.reset();
  gateway_redis.reset();
  redis.reset();
  pg.reset();
  pg_ha.reset();
  if (!keep && !dir.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

absl::StatusOr<PaymentProcesses> StartPaymentWithSandbox(
    const Stack& stack, const std::string& gateway_url, const std::string& payment_address,
    std::map<std::string, std::string> extra_env) {
  PaymentProcesses p;
  p.secrets_file = stack.dir + "/provider-secrets.txt";
  {
    // The providers of scripts/up.d/20-payment.sh; a provider missing here stops the payment
    // service at start with INVALID_CONFIG naming it.
    std::ofstream out(p.secrets_file);
    for (const char* provider : {"atone", "card", "paypal", "bank_transfer", "konbini", "paidy",
                                 "linepay", "au", "paygent"}) {
      out << provider << "=test-secret-of-" << provider << "\n";
    }
  }
  const int sandbox_port = FreePort();
  p.sandbox_url = absl::StrCat("http://127.0.0.1:", sandbox_port);
  Process::Spec sandbox;
  sandbox.argv = {QCASH_SANDBOX_BINARY};
  sandbox.env = {{"QCASH_SANDBOX_LISTEN", absl::StrCat("127.0.0.1:", sandbox_port)},
                 {"QCASH_SANDBOX_WEBHOOK_BASE", gateway_url},
                 {"QCASH_PAYMENT_SECRETS_FILE", p.secrets_file}};
  sandbox.log_file = stack.dir + "/sandbox.log";
  auto started = Process::Start(sandbox);
  if (!started.ok()) return started.status();
  p.sandbox = std::move(*started);
  httplib::Client probe("127.0.0.1", sandbox_port);
  probe.set_connection_timeout(0, 200000);
  bool up = false;
  for (int i = 0; i < 200 * TimeScale() && !up; ++i) {
    auto r = probe.Get("/healthz");
    up = r && r->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!up) return absl::UnavailableError("the provider sandbox did not start; see sandbox.log");
  std::map<std::string, std::string> env = {
      {"QCASH_PAYMENT_DATABASE_URL", stack.DatabaseUrl("qcash_payment")},
      {"QCASH_WALLET_TARGET", stack.wallet.address},
      {"QCASH_PAYMENT_DEV_SANDBOX", "1"},
      {"QCASH_PAYMENT_SANDBOX_URL", p.sandbox_url},
      {"QCASH_PAYMENT_SECRETS_FILE", p.secrets_file},
      {"QCASH_PAYMENT_RETURN_URL", gateway_url + "/charge/done"},
      {"QCASH_PAYMENT_RECONCILE_INTERVAL_MS", "200"},
  };
  for (auto& [k, v] : extra_env) env[k] = v;
  auto payment = StartService(QCASH_PAYMENT_BINARY, env, "QCASH_PAYMENT_LISTEN",
                              stack.dir + "/payment.log", payment_address);
  if (!payment.ok()) return payment.status();
  p.payment = std::move(*payment);
  return p;
}

absl::StatusOr<ServiceProcess> StartPoints(const Stack& stack,
                                           std::map<std::string, std::string> extra_env) {
  std::map<std::string, std::string> env = {
      {"QCASH_POINTS_DATABASE_URL", stack.DatabaseUrl("qcash_points")},
      {"QCASH_WALLET_TARGET", stack.wallet.address}};
  for (auto& [k, v] : extra_env) env[k] = v;
  return StartService(QCASH_POINTS_BINARY, env, "QCASH_POINTS_LISTEN", stack.dir + "/points.log");
}

std::pair<std::string, std::string> NewEcKeyPair() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  std::pair<std::string, std::string> pem;
  for (int part = 0; part < 2; ++part) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (part == 0) {
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio, key);
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    (part == 0 ? pem.first : pem.second).assign(data, n);
    BIO_free(bio);
  }
  EVP_PKEY_free(key);
  return pem;
}

std::string GatewayProcess::Url(const std::string& path) const {
  return absl::StrCat("http://", host, ":", port, path);
}

absl::StatusOr<GatewayProcess> StartGateway(const Stack& stack,
                                            std::map<std::string, std::string> env) {
  GatewayProcess gateway;
  const auto [private_pem, public_pem] = NewEcKeyPair();
  gateway.token_private_key_pem = private_pem;
  const std::string secrets = stack.dir + "/gateway-secrets";
  fs::create_directories(secrets);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(secrets + "/" + name) << text;
    return secrets + "/" + name;
  };
  gateway.port = FreePort();
  if (auto it = env.find("QCASH_GATEWAY_LISTEN"); it != env.end()) {
    const std::string& listen = it->second;
    if (!absl::SimpleAtoi(listen.substr(listen.rfind(':') + 1), &gateway.port)) {
      return absl::InvalidArgumentError("QCASH_GATEWAY_LISTEN must be host:port");
    }
  }
  std::map<std::string, std::string> all = {
      {"QCASH_INSECURE_DEV", "1"},
      {"QCASH_GATEWAY_LISTEN", absl::StrCat(gateway.host, ":", gateway.port)},
      {"QCASH_WALLET_TARGET", stack.wallet.address},
      {"QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE", write("token.pub", public_pem)},
      {"QCASH_GATEWAY_CSRF_SECRET_FILE",
       write("csrf.secret", "test-csrf-secret-of-at-least-32-bytes")},
      {"QCASH_GATEWAY_DEV_LOGIN", "1"},
      {"QCASH_GATEWAY_DEV_TOKEN_PRIVATE_KEY_FILE", write("token.key", private_pem)},
      {"QCASH_GATEWAY_SECURE_COOKIES", "false"},
      {"QCASH_GATEWAY_ISSUER_NAME", "Qキャッシュ発行者（テスト）"},
      {"QCASH_GATEWAY_ISSUER_ADDRESS", "東京都千代田区（テストの架空の住所）"},
      {"QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER", kTestRegistrationNumber},
  };
  all.merge(stack.gateway_redis->ClientEnv("gateway", "QCASH_GATEWAY_REDIS"));
  for (auto& [key, value] : env) all[key] = value;
  Process::Spec spec;
  spec.argv = {QCASH_GATEWAY_BINARY};
  spec.env = std::move(all);
  spec.log_file = stack.dir + "/gateway.log";
  auto p = Process::Start(spec);
  if (!p.ok()) return p.status();
  gateway.process = std::move(*p);
  httplib::Client client(gateway.host, gateway.port);
  client.set_connection_timeout(1, 0);
  const auto deadline = std::chrono::steady_clock::now() + Scaled(std::chrono::seconds(30));
  while (std::chrono::steady_clock::now() < deadline) {
    auto response = client.Get("/readyz");
    if (response && response->status == 200) return gateway;
    if (!gateway.process->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError(
      absl::StrCat("the gateway did not become ready; see ", spec.log_file));
}

ReflectionAnswer ListServicesByReflection(const std::string& address,
                                          std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::GenericStub stub(grpc::CreateChannel(address, credentials));
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + Scaled(std::chrono::seconds(5)));
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t id) {
    return cq.Next(&tag, &ok) && ok && reinterpret_cast<intptr_t>(tag) == id;
  };
  ReflectionAnswer answer;
  call->StartCall(reinterpret_cast<void*>(1));
  bool alive = step(1);
  if (alive) {
    // ServerReflectionRequest{list_services: "*"}: field 7, length-delimited, one byte.
    const std::string request("\x3a\x01*", 3);
    grpc::Slice slice(request);
    grpc::ByteBuffer out(&slice, 1);
    call->Write(out, reinterpret_cast<void*>(2));
    alive = step(2);
  }
  if (alive) {
    call->WritesDone(reinterpret_cast<void*>(3));
    alive = step(3);
  }
  if (alive) {
    grpc::ByteBuffer in;
    call->Read(&in, reinterpret_cast<void*>(4));
    std::vector<grpc::Slice> slices;
    if (step(4) && in.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        answer.reply.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      // Drain to the end of the stream, so that Finish reports the server's status.
      grpc::ByteBuffer more;
      call->Read(&more, reinterpret_cast<void*>(5));
      cq.Next(&tag, &ok);
    }
  }
  call->Finish(&answer.status, reinterpret_cast<void*>(6));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return answer;
}

absl::StatusOr<std::string> ReflectionListServices(const std::string& address) {
  ReflectionAnswer answer = ListServicesByReflection(address, grpc::InsecureChannelCredentials());
  if (!answer.status.ok()) {
    return absl::UnavailableError(absl::StrCat("reflection: ", answer.status.error_message()));
  }
  return answer.reply;
}

absl::Status AuditWalletLedger(const std::string& url) {
  auto conn = PgConnection::Connect(url, "qcash-test-audit");
  if (!conn.ok()) return conn.status();
  auto report = wallet::AuditLedger(**conn);
  if (!report.ok()) return report.status();
  if (!report->ok()) return absl::FailedPreconditionError(report->ToString());
  return absl::OkStatus();
}

}  // namespace qcash::testing
