// RedisOptionsFromEnv: every service's Redis user and password come from the environment, and a
// service without them does not start (DESIGN.md section 7: fail closed). RedisClient behind
// Sentinel, against fake sentinels and servers in this process: it finds the master, refuses a
// replica, and follows a failover (docs/REDIS-HA.md).
#include "common/redis.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/mutex.h"
#include "common/status.h"

namespace qcash {
namespace {

class RedisOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/qcash-redis-test-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    password_file_ = path;
    Write("0123456789abcdef0123456789abcdef\n");
    setenv("QCASH_TEST_REDIS_HOST", "redis.example", 1);
    setenv("QCASH_TEST_REDIS_PORT", "6380", 1);
    setenv("QCASH_TEST_REDIS_USER", "wallet", 1);
    setenv("QCASH_TEST_REDIS_PASSWORD_FILE", password_file_.c_str(), 1);
  }
  void TearDown() override {
    for (const char* v :
         {"QCASH_TEST_REDIS_HOST", "QCASH_TEST_REDIS_PORT", "QCASH_TEST_REDIS_USER",
          "QCASH_TEST_REDIS_PASSWORD_FILE", "QCASH_TEST_REDIS_TIMEOUT_MS",
          "QCASH_TEST_REDIS_SENTINELS", "QCASH_TEST_REDIS_SENTINEL_MASTER",
          "QCASH_TEST_REDIS_SENTINEL_USER", "QCASH_TEST_REDIS_SENTINEL_PASSWORD_FILE"}) {
      unsetenv(v);
    }
    unlink(password_file_.c_str());
  }
  void Write(const std::string& text) { std::ofstream(password_file_, std::ios::trunc) << text; }
  std::string password_file_;
};

TEST_F(RedisOptionsTest, ReadsUserAndPasswordWithoutTheNewline) {
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->host, "redis.example");
  EXPECT_EQ(options->port, 6380);
  EXPECT_EQ(options->user, "wallet");
  EXPECT_EQ(options->password, "0123456789abcdef0123456789abcdef");
}

TEST_F(RedisOptionsTest, TimeoutIs200MsUnlessSetWithinBounds) {
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->timeout, std::chrono::milliseconds(200));
  setenv("QCASH_TEST_REDIS_TIMEOUT_MS", "800", 1);
  options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->timeout, std::chrono::milliseconds(800));
  for (const char* refused : {"0", "9", "10001", "soon"}) {
    setenv("QCASH_TEST_REDIS_TIMEOUT_MS", refused, 1);
    EXPECT_EQ(RedisOptionsFromEnv("QCASH_TEST_REDIS").status().code(),
              absl::StatusCode::kInvalidArgument)
        << refused;
  }
}

TEST_F(RedisOptionsTest, RefusesToRunWithoutUserOrPassword) {
  unsetenv("QCASH_TEST_REDIS_USER");
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  EXPECT_EQ(ReasonOf(options.status()), "INVALID_CONFIG");
  EXPECT_NE(options.status().message().find("QCASH_TEST_REDIS_USER"), std::string::npos);
  setenv("QCASH_TEST_REDIS_USER", "wallet", 1);
  unsetenv("QCASH_TEST_REDIS_PASSWORD_FILE");
  options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  EXPECT_NE(options.status().message().find("QCASH_TEST_REDIS_PASSWORD_FILE"), std::string::npos);
  setenv("QCASH_TEST_REDIS_PASSWORD_FILE", "/nonexistent/qcash", 1);
  EXPECT_FALSE(RedisOptionsFromEnv("QCASH_TEST_REDIS").ok());
}

TEST_F(RedisOptionsTest, RefusesShortPasswordsAndNeverShowsThem) {
  Write("short-secret\n");
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().message().find("short-secret"), std::string::npos);
  EXPECT_NE(options.status().message().find("16 to 512 bytes"), std::string::npos);
}

TEST_F(RedisOptionsTest, WithoutSentinelsHostAndPortAreUsed) {
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->sentinels.empty());
  EXPECT_TRUE(options->sentinel_master.empty());
}

TEST_F(RedisOptionsTest, ReadsSentinelsMasterNameAndTheirOwnUser) {
  setenv("QCASH_TEST_REDIS_SENTINELS", "10.0.0.1:26379, sentinel-b:26380 ,127.0.0.1:1", 1);
  setenv("QCASH_TEST_REDIS_SENTINEL_MASTER", "qcash-main", 1);
  setenv("QCASH_TEST_REDIS_SENTINEL_USER", "wallet-discovery", 1);
  setenv("QCASH_TEST_REDIS_SENTINEL_PASSWORD_FILE", password_file_.c_str(), 1);
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  ASSERT_TRUE(options.ok()) << options.status();
  ASSERT_EQ(options->sentinels.size(), 3u);
  EXPECT_EQ(options->sentinels[0], (RedisClient::Endpoint{"10.0.0.1", 26379}));
  EXPECT_EQ(options->sentinels[1], (RedisClient::Endpoint{"sentinel-b", 26380}));
  EXPECT_EQ(options->sentinels[2], (RedisClient::Endpoint{"127.0.0.1", 1}));
  EXPECT_EQ(options->sentinel_master, "qcash-main");
  EXPECT_EQ(options->sentinel_user, "wallet-discovery");
  EXPECT_EQ(options->sentinel_password, "0123456789abcdef0123456789abcdef");
  // The data connections keep the service's own user.
  EXPECT_EQ(options->user, "wallet");
}

TEST_F(RedisOptionsTest, SentinelSettingsAreCheckedAtStart) {
  setenv("QCASH_TEST_REDIS_SENTINELS", "127.0.0.1:26379", 1);
  auto options = RedisOptionsFromEnv("QCASH_TEST_REDIS");  // no master name
  EXPECT_EQ(ReasonOf(options.status()), "INVALID_CONFIG");
  EXPECT_NE(options.status().message().find("QCASH_TEST_REDIS_SENTINEL_MASTER"), std::string::npos);
  setenv("QCASH_TEST_REDIS_SENTINEL_MASTER", "qcash-main", 1);
  EXPECT_TRUE(RedisOptionsFromEnv("QCASH_TEST_REDIS").ok());  // sentinels without a password
  for (const char* refused : {"127.0.0.1", ":26379", "127.0.0.1:0", "127.0.0.1:65536",
                              "127.0.0.1:port", "127.0.0.1:26379,,nohost", " , "}) {
    setenv("QCASH_TEST_REDIS_SENTINELS", refused, 1);
    options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
    EXPECT_EQ(ReasonOf(options.status()), "INVALID_CONFIG") << refused;
  }
  std::vector<std::string> many(17);
  for (int i = 0; i < 17; ++i) many[i] = absl::StrCat("127.0.0.1:", 26379 + i);
  setenv("QCASH_TEST_REDIS_SENTINELS", absl::StrJoin(many, ",").c_str(), 1);
  EXPECT_EQ(ReasonOf(RedisOptionsFromEnv("QCASH_TEST_REDIS").status()), "INVALID_CONFIG");
  setenv("QCASH_TEST_REDIS_SENTINELS", "127.0.0.1:26379", 1);
  setenv("QCASH_TEST_REDIS_SENTINEL_USER", "wallet", 1);  // a user without a password
  options = RedisOptionsFromEnv("QCASH_TEST_REDIS");
  EXPECT_NE(options.status().message().find("QCASH_TEST_REDIS_SENTINEL_PASSWORD_FILE"),
            std::string::npos);
  setenv("QCASH_TEST_REDIS_SENTINEL_PASSWORD_FILE", "/nonexistent/qcash", 1);
  EXPECT_EQ(ReasonOf(RedisOptionsFromEnv("QCASH_TEST_REDIS").status()), "INVALID_CONFIG");
}

// ------------------------------------------------------------------ RedisClient and Sentinel

// A server that speaks enough RESP for these tests, on a loopback port below the ephemeral
// range. `answer` gets each command and returns the raw reply; it runs on the connection's
// thread. Close() drops every connection and stops listening (a process that died).
class FakeRedis {
 public:
  using Answer = std::function<std::string(const std::vector<std::string>& argv)>;

  explicit FakeRedis(Answer answer) : answer_(std::move(answer)) {
    std::mt19937 random(std::random_device{}());
    for (int attempt = 0; attempt < 200 && listen_fd_ < 0; ++attempt) {
      const int port = 20000 + static_cast<int>(random() % 12000);
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port));
      if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && listen(fd, 16) == 0) {
        listen_fd_ = fd;
        port_ = port;
      } else {
        close(fd);
      }
    }
    if (listen_fd_ < 0) std::abort();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~FakeRedis() {
    Close();
    accept_thread_.join();
    for (std::thread& t : connection_threads_) t.join();
  }

  RedisClient::Endpoint endpoint() const { return {"127.0.0.1", port_}; }
  int commands() const { return commands_.load(); }
  int connections() const { return accepted_.load(); }

  void Close() {
    stopping_.store(true);
    MutexLock lock(&mu_);
    for (int fd : connections_) shutdown(fd, SHUT_RDWR);
  }

  static std::string Bulk(const std::string& s) {
    return absl::StrCat("$", s.size(), "\r\n", s, "\r\n");
  }
  static std::string Array(const std::vector<std::string>& items) {
    std::string out = absl::StrCat("*", items.size(), "\r\n");
    for (const std::string& item : items) out += Bulk(item);
    return out;
  }
  // HELLO's reply in RESP2 (a flat list of fields and values), saying `role`.
  static std::string Hello(const std::string& role) {
    std::string out = "*14\r\n";
    for (const char* item : {"server", "redis", "version", "7.0.15", "proto", "2", "id", "1",
                             "mode", "standalone", "role"}) {
      out += Bulk(item);
    }
    out += Bulk(role) + Bulk("modules");
    return out + "*0\r\n";
  }

 private:
  void AcceptLoop() {
    while (!stopping_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      accepted_.fetch_add(1);
      MutexLock lock(&mu_);
      connections_.push_back(fd);
      connection_threads_.emplace_back([this, fd] { Serve(fd); });
    }
    close(listen_fd_);  // refused from now on
  }

  void Serve(int fd) {
    std::string buffer;
    char chunk[4096];
    bool closed = false;
    while (!closed && !stopping_.load()) {
      std::vector<std::string> argv;
      size_t used = 0;
      while (!closed && !stopping_.load() && !Parse(buffer, &argv, &used)) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        const ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n <= 0) {
          closed = true;
        } else {
          buffer.append(chunk, static_cast<size_t>(n));
        }
      }
      if (closed || stopping_.load()) break;
      buffer.erase(0, used);
      commands_.fetch_add(1);
      const std::string reply = answer_(argv);
      if (reply.empty()) continue;  // no answer at all: a server that hangs
      if (write(fd, reply.data(), reply.size()) < 0) break;
    }
    // Out of the list before the number can be reused by another socket, which Close() would
    // then shut down.
    MutexLock lock(&mu_);
    connections_.erase(std::find(connections_.begin(), connections_.end(), fd));
    close(fd);
  }

  // One "*N\r\n$len\r\narg\r\n..." command from the front of `in`.
  static bool Parse(const std::string& in, std::vector<std::string>* argv, size_t* used) {
    argv->clear();
    size_t pos = 0;
    auto line = [&](std::string* out) {
      const size_t end = in.find("\r\n", pos);
      if (end == std::string::npos) return false;
      *out = in.substr(pos, end - pos);
      pos = end + 2;
      return true;
    };
    std::string header;
    if (!line(&header) || header.empty() || header[0] != '*') return false;
    const int count = std::stoi(header.substr(1));
    for (int i = 0; i < count; ++i) {
      std::string size;
      if (!line(&size) || size.empty() || size[0] != '$') return false;
      const size_t length = std::stoul(size.substr(1));
      if (in.size() < pos + length + 2) return false;
      argv->push_back(in.substr(pos, length));
      pos += length + 2;
    }
    *used = pos;
    return true;
  }

  const Answer answer_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> commands_{0};
  std::atomic<int> accepted_{0};
  Mutex mu_;
  std::vector<int> connections_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> connection_threads_;  // written by the accept thread only
  std::thread accept_thread_;
};

// A sentinel that says the master is wherever `master` points now (nullptr: it does not know
// the name), and records what it was asked.
class FakeSentinel {
 public:
  explicit FakeSentinel(std::string password = "")
      : password_(std::move(password)),
        server_([this](const std::vector<std::string>& argv) { return Answer(argv); }) {}
  void PointTo(const FakeRedis* master) { master_.store(master); }
  RedisClient::Endpoint endpoint() const { return server_.endpoint(); }
  int asked() const { return asked_.load(); }
  void Close() { server_.Close(); }

 private:
  std::string Answer(const std::vector<std::string>& argv) {
    if (argv[0] == "AUTH") {
      authenticated_ = argv.size() == 3 && argv[1] == "wallet" && argv[2] == password_;
      return authenticated_ ? "+OK\r\n" : "-WRONGPASS invalid username-password pair\r\n";
    }
    if (!password_.empty() && !authenticated_) return "-NOAUTH Authentication required.\r\n";
    if (argv.size() == 3 && argv[0] == "SENTINEL" && argv[1] == "get-master-addr-by-name" &&
        argv[2] == "qcash-main") {
      asked_.fetch_add(1);
      const FakeRedis* master = master_.load();
      if (master == nullptr) return "*-1\r\n";
      return FakeRedis::Array({"127.0.0.1", absl::StrCat(master->endpoint().port)});
    }
    return "-ERR unknown command\r\n";
  }

  const std::string password_;
  // Per connection: each connection is served by a thread of its own.
  static thread_local bool authenticated_;
  std::atomic<const FakeRedis*> master_{nullptr};
  std::atomic<int> asked_{0};
  FakeRedis server_;
};
thread_local bool FakeSentinel::authenticated_ = false;

// A data server of a given role: HELLO answers with the role, GET with `name` (so a test sees
// which server answered), SET with -READONLY once it is a replica.
class FakeNode {
 public:
  FakeNode(std::string name, std::string role)
      : name_(std::move(name)),
        role_(std::move(role)),
        server_([this](const std::vector<std::string>& argv) { return Answer(argv); }) {}
  void SetRole(const std::string& role) {
    MutexLock lock(&mu_);
    role_ = role;
  }
  const FakeRedis* server() const { return &server_; }
  int commands() const { return server_.commands(); }
  void Close() { server_.Close(); }
  std::string hello() const {
    MutexLock lock(&mu_);
    return hello_;
  }

 private:
  std::string Answer(const std::vector<std::string>& argv) {
    MutexLock lock(&mu_);
    if (argv[0] == "HELLO") {
      hello_ = absl::StrJoin(argv, " ");
      return FakeRedis::Hello(role_);
    }
    if (argv[0] == "GET") return FakeRedis::Bulk(name_);
    if (argv[0] == "SET") {
      return role_ == "master" ? "+OK\r\n"
                               : "-READONLY You can't write against a read only replica.\r\n";
    }
    return "-ERR unknown command\r\n";
  }

  const std::string name_;
  mutable Mutex mu_;
  std::string role_ ABSL_GUARDED_BY(mu_);
  std::string hello_ ABSL_GUARDED_BY(mu_);
  FakeRedis server_;
};

RedisClient::Options SentinelOptions(const std::vector<RedisClient::Endpoint>& sentinels) {
  RedisClient::Options options;
  options.sentinels = sentinels;
  options.sentinel_master = "qcash-main";
  options.user = "wallet";
  options.password = "wallet-password-of-the-test";
  options.timeout = std::chrono::milliseconds(1000);
  options.cooldown = std::chrono::milliseconds(0);
  return options;
}

// A port where nothing listens: a sentinel that is down.
RedisClient::Endpoint NobodyThere() {
  FakeRedis closed([](const std::vector<std::string>&) { return std::string(); });
  return closed.endpoint();  // closed when `closed` goes
}

std::string Get(RedisClient* client) {
  auto reply = client->Command({"GET", "qcash:wallet:k"});
  if (!reply.ok()) return absl::StrCat("error: ", reply.status().message());
  return reply->str;
}

TEST(RedisSentinelTest, FindsTheMasterThroughTheFirstSentinelThatAnswers) {
  FakeNode master("master-a", "master");
  FakeSentinel down;
  down.Close();
  FakeSentinel sentinel("sentinel-password-of-the-test");
  sentinel.PointTo(master.server());
  RedisClient::Options options =
      SentinelOptions({NobodyThere(), down.endpoint(), sentinel.endpoint()});
  options.sentinel_user = "wallet";
  options.sentinel_password = "sentinel-password-of-the-test";
  RedisClient client(options);
  EXPECT_FALSE(client.master().has_value());  // not asked before the first call
  EXPECT_EQ(Get(&client), "master-a");
  ASSERT_TRUE(client.master().has_value());
  EXPECT_EQ(*client.master(), master.server()->endpoint());
  // The data connection authenticates as the service's user and learns the role at once.
  EXPECT_EQ(master.hello(), "HELLO 2 AUTH wallet wallet-password-of-the-test");
  EXPECT_EQ(sentinel.asked(), 1);
  EXPECT_EQ(Get(&client), "master-a");  // pooled: the sentinels are not asked again
  EXPECT_EQ(sentinel.asked(), 1);
}

TEST(RedisSentinelTest, AsksTheSentinelThatAnsweredLastFirst) {
  FakeNode master("master-a", "master");
  FakeSentinel unaware;  // up, but does not know the master (yet)
  FakeSentinel sentinel;
  sentinel.PointTo(master.server());
  RedisClient::Options options = SentinelOptions({unaware.endpoint(), sentinel.endpoint()});
  size_t first = 0;
  auto found = RedisClient::AskSentinels(options, &first);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, master.server()->endpoint());
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(unaware.asked(), 1);
  ASSERT_TRUE(RedisClient::AskSentinels(options, &first).ok());
  EXPECT_EQ(unaware.asked(), 1);  // the one that answered was asked first
}

TEST(RedisSentinelTest, NoSentinelKnowingTheMasterIsUnavailableNotAWrongServer) {
  FakeSentinel unaware;
  FakeSentinel refusing("sentinel-password-of-the-test");  // and we have no password
  RedisClient client(SentinelOptions({NobodyThere(), unaware.endpoint(), refusing.endpoint()}));
  auto reply = client.Command({"GET", "qcash:wallet:k"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(reply.status()), "REDIS_UNAVAILABLE");
  EXPECT_NE(reply.status().message().find("qcash-main"), std::string::npos);
  EXPECT_FALSE(client.master().has_value());
}

// A sentinel that hangs gets only its share of the time: the next one is still asked.
TEST(RedisSentinelTest, ASentinelThatHangsDoesNotUseUpTheOthersTime) {
  FakeNode master("master-a", "master");
  FakeRedis hanging([](const std::vector<std::string>&) { return std::string(); });
  FakeSentinel sentinel;
  sentinel.PointTo(master.server());
  RedisClient client(SentinelOptions({hanging.endpoint(), sentinel.endpoint()}));
  EXPECT_EQ(Get(&client), "master-a");
  EXPECT_EQ(hanging.commands(), 1);
}

TEST(RedisSentinelTest, AReplicaIsNeverUsedAsTheMaster) {
  FakeNode replica("replica-b", "replica");
  FakeNode master("master-a", "master");
  FakeSentinel sentinel;
  sentinel.PointTo(replica.server());  // a stale answer, before the failover is over
  RedisClient client(SentinelOptions({sentinel.endpoint()}));
  const std::string first = Get(&client);
  EXPECT_NE(first.find("not the master"), std::string::npos) << first;
  EXPECT_FALSE(client.master().has_value());  // forgotten: asked again next time
  EXPECT_EQ(replica.commands(), 1);           // HELLO only: nothing was sent to it
  sentinel.PointTo(master.server());
  EXPECT_EQ(Get(&client), "master-a");
  EXPECT_EQ(sentinel.asked(), 2);
}

// The master becomes a replica while connected (the sentinels moved it): its -READONLY makes
// the client forget it, and the next call reaches the new master.
TEST(RedisSentinelTest, AReadonlyReplyFollowsTheFailover) {
  FakeNode a("master-a", "master");
  FakeNode b("master-b", "replica");
  FakeSentinel sentinel;
  sentinel.PointTo(a.server());
  RedisClient client(SentinelOptions({sentinel.endpoint()}));
  ASSERT_TRUE(client.Command({"SET", "qcash:wallet:k", "1"}).ok());
  a.SetRole("replica");
  b.SetRole("master");
  sentinel.PointTo(b.server());
  auto refused = client.Command({"SET", "qcash:wallet:k", "2"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_NE(refused.status().message().find("READONLY"), std::string::npos);
  EXPECT_FALSE(client.master().has_value());
  auto written = client.Command({"SET", "qcash:wallet:k", "3"});
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->str, "OK");
  EXPECT_EQ(*client.master(), b.server()->endpoint());
  EXPECT_EQ(Get(&client), "master-b");
}

// The master dies: the broken connection makes the client forget it; once the sentinels name
// the new master, calls reach it.
TEST(RedisSentinelTest, ALostMasterIsFollowedToTheNewOne) {
  FakeNode a("master-a", "master");
  FakeNode b("master-b", "master");
  FakeSentinel sentinel;
  sentinel.PointTo(a.server());
  RedisClient client(SentinelOptions({sentinel.endpoint()}));
  EXPECT_EQ(Get(&client), "master-a");
  a.Close();
  // Until the sentinels have failed over they still name the dead master: unavailable.
  EXPECT_NE(Get(&client).find("error"), std::string::npos);
  EXPECT_FALSE(client.master().has_value());
  EXPECT_NE(Get(&client).find("error"), std::string::npos);
  sentinel.PointTo(b.server());
  EXPECT_EQ(Get(&client), "master-b");
  EXPECT_EQ(*client.master(), b.server()->endpoint());
}

// A planned switch: the sentinels name a new master while the old one still answers as master
// (it is demoted only later). The next check moves the client without a failed call.
TEST(RedisSentinelTest, ASwitchTheSentinelsAnnounceIsFollowedWithoutAFailedCall) {
  FakeNode a("master-a", "master");
  FakeNode b("master-b", "replica");
  FakeSentinel sentinel;
  sentinel.PointTo(a.server());
  RedisClient::Options options = SentinelOptions({sentinel.endpoint()});
  options.sentinel_check_interval = std::chrono::milliseconds(0);  // every call checks
  RedisClient client(options);
  EXPECT_EQ(Get(&client), "master-a");
  EXPECT_EQ(Get(&client), "master-a");
  b.SetRole("master");
  sentinel.PointTo(b.server());
  const int sent_to_a = a.commands();
  const int asked = sentinel.asked();
  EXPECT_EQ(Get(&client), "master-b");
  EXPECT_EQ(a.commands(), sent_to_a);
  EXPECT_EQ(*client.master(), b.server()->endpoint());
  EXPECT_EQ(sentinel.asked(), asked + 1);  // the check's answer was used, not asked for again
}

// Sentinels that stop answering do not take the master away from a client that has one.
TEST(RedisSentinelTest, SentinelsDownKeepTheMasterInUse) {
  FakeNode a("master-a", "master");
  FakeSentinel sentinel;
  sentinel.PointTo(a.server());
  RedisClient::Options options = SentinelOptions({sentinel.endpoint()});
  options.sentinel_check_interval = std::chrono::milliseconds(0);
  RedisClient client(options);
  EXPECT_EQ(Get(&client), "master-a");
  sentinel.Close();
  EXPECT_EQ(Get(&client), "master-a");
  EXPECT_EQ(*client.master(), a.server()->endpoint());
}

// Without sentinels a -READONLY reply (a managed endpoint that moved) drops the pooled
// connections too, so the next call reconnects instead of writing to a replica forever.
TEST(RedisSentinelTest, WithoutSentinelsAReadonlyReplyReconnects) {
  FakeNode node("node", "master");
  RedisClient::Options options;
  options.port = node.server()->endpoint().port;
  options.cooldown = std::chrono::milliseconds(0);
  RedisClient client(options);
  ASSERT_TRUE(client.Command({"SET", "qcash:wallet:k", "1"}).ok());
  ASSERT_TRUE(client.Command({"SET", "qcash:wallet:k", "1"}).ok());
  EXPECT_EQ(node.server()->connections(), 1);
  node.SetRole("replica");
  EXPECT_EQ(client.Command({"SET", "qcash:wallet:k", "1"}).status().code(),
            absl::StatusCode::kUnavailable);
  node.SetRole("master");
  EXPECT_TRUE(client.Command({"SET", "qcash:wallet:k", "1"}).ok());
  EXPECT_EQ(node.server()->connections(), 2);
  EXPECT_EQ(client.master()->port, node.server()->endpoint().port);
}

}  // namespace
}  // namespace qcash
