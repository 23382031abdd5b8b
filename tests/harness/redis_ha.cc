#include "tests/harness/redis_ha.h"

#include <openssl/sha.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace qcash::testing {
namespace {

namespace fs = std::filesystem;

std::string Sha256Of(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// What a sentinel sends to the nodes it watches and fails over (Redis's Sentinel
// documentation, "Redis Access Control List authentication").
constexpr const char* kSentinelNodeRules =
    "allchannels -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish "
    "+info +client|setname +client|kill +script|kill";
// What a replica sends to its master.
constexpr const char* kReplicationRules = "-@all +psync +replconf +ping";
// What a service may ask a sentinel: where the master is.
constexpr const char* kDiscoveryRules = "-@all +sentinel|get-master-addr-by-name +ping";

// The value after `field` in a flat field/value reply (SENTINEL MASTER, HELLO), or "".
std::string Field(const RedisReply& reply, const std::string& field) {
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (reply.elements[i].str == field) return reply.elements[i + 1].str;
  }
  return "";
}

RedisClient::Options AdminOn(int port, const std::string& password) {
  RedisClient::Options options;
  options.port = port;
  options.user = RedisServer::kAdmin;
  options.password = password;
  options.cooldown = std::chrono::milliseconds(0);
  options.timeout = Scaled(std::chrono::milliseconds(500));
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisHa>> RedisHa::Start(const std::string& dir,
                                                        const std::string& instance) {
  auto ha = std::unique_ptr<RedisHa>(new RedisHa());
  ha->dir_ = dir;
  ha->instance_ = instance;
  ha->master_name_ = absl::StrCat("qcash-", instance);
  auto passwords = WriteRedisAclFile(
      dir, instance, {{kReplicationUser, kReplicationRules}, {kSentinelUser, kSentinelNodeRules}});
  if (!passwords.ok()) return passwords.status();
  ha->passwords_ = std::move(*passwords);
  for (int i = 0; i < kNodes; ++i) ha->node_ports_.push_back(FreePort());
  for (int i = 0; i < kSentinels; ++i) ha->sentinel_ports_.push_back(FreePort());
  ha->nodes_.resize(kNodes);
  ha->sentinels_.resize(kSentinels);

  for (int i = 0; i < kNodes; ++i) {
    fs::create_directories(ha->NodeDir(i));
    std::ofstream conf(ha->NodeDir(i) + "/redis.conf", std::ios::trunc);
    conf << "port " << ha->node_ports_[i] << "\n"
         << "bind 127.0.0.1\n"
         << "save \"\"\n"
         << "appendonly no\n"
         << "dir " << ha->NodeDir(i) << "\n"
         << "aclfile " << dir
         << "/users.acl\n"
         // Every node, the master too: after a failover any of them may be a replica.
         << "masteruser " << kReplicationUser << "\n"
         << "masterauth " << ha->passwords_[kReplicationUser] << "\n"
         << "replica-announce-ip 127.0.0.1\n"
         // A replica (re)joining is served at once, not after the default 5 s wait.
         << "repl-diskless-sync-delay 0\n";
    if (i > 0) conf << "replicaof 127.0.0.1 " << ha->node_ports_[0] << "\n";
  }
  for (int i = 0; i < kNodes; ++i) {
    if (absl::Status s = ha->LaunchNode(i); !s.ok()) return s;
  }
  if (absl::Status s = ha->WaitForReplicaLink(Scaled(std::chrono::seconds(20))); !s.ok()) return s;

  // The sentinels' own users: in their configuration file, which they rewrite as they learn.
  std::vector<std::string> users = {
      absl::StrCat("user default reset off"),
      absl::StrCat("user ", kSentinelUser, " reset on #", Sha256Of(ha->passwords_[kSentinelUser]),
                   " ~* &* +@all"),
      absl::StrCat("user ", RedisServer::kAdmin, " reset on #",
                   Sha256Of(ha->passwords_[RedisServer::kAdmin]), " ~* &* +@all")};
  for (const auto& [user, password] : ha->passwords_) {
    if (user == kSentinelUser || user == kReplicationUser || user == RedisServer::kAdmin) continue;
    users.push_back(
        absl::StrCat("user ", user, " reset on #", Sha256Of(password), " ", kDiscoveryRules));
  }
  for (int i = 0; i < kSentinels; ++i) {
    fs::create_directories(ha->SentinelDir(i));
    const std::string& name = ha->master_name_;
    std::ofstream conf(ha->SentinelDir(i) + "/sentinel.conf", std::ios::trunc);
    conf << "port " << ha->sentinel_ports_[i] << "\n"
         << "bind 127.0.0.1\n"
         << "daemonize no\n"
         << "dir " << ha->SentinelDir(i) << "\n"
         << "sentinel announce-ip 127.0.0.1\n"
         << "sentinel announce-port " << ha->sentinel_ports_[i] << "\n"
         << absl::StrJoin(users, "\n") << "\n"
         << "sentinel sentinel-user " << kSentinelUser << "\n"
         << "sentinel sentinel-pass " << ha->passwords_[kSentinelUser] << "\n"
         << "sentinel monitor " << name << " 127.0.0.1 " << ha->node_ports_[0] << " 2\n"
         << "sentinel auth-user " << name << " " << kSentinelUser << "\n"
         << "sentinel auth-pass " << name << " " << ha->passwords_[kSentinelUser] << "\n"
         << "sentinel down-after-milliseconds " << name << " 1000\n"
         << "sentinel failover-timeout " << name << " 3000\n"
         << "sentinel parallel-syncs " << name << " 1\n";
  }
  for (int i = 0; i < kSentinels; ++i) {
    if (absl::Status s = ha->LaunchSentinel(i); !s.ok()) return s;
  }
  if (absl::Status s = ha->WaitForSentinelsToKnowEachOther(Scaled(std::chrono::seconds(30)));
      !s.ok()) {
    return s;
  }
  return ha;
}

RedisHa::~RedisHa() { StopAll(); }

std::string RedisHa::NodeDir(int node) const { return absl::StrCat(dir_, "/node", node); }
std::string RedisHa::SentinelDir(int sentinel) const {
  return absl::StrCat(dir_, "/sentinel", sentinel);
}

std::string RedisHa::PasswordFile(const std::string& user) const {
  return RedisPasswordFile(dir_, user);
}

std::map<std::string, std::string> RedisHa::ClientEnv(const std::string& user,
                                                      const std::string& prefix) const {
  std::vector<std::string> sentinels;
  sentinels.reserve(sentinel_ports_.size());
  for (int port : sentinel_ports_) sentinels.push_back(absl::StrCat("127.0.0.1:", port));
  std::map<std::string, std::string> env = {
      {prefix + "_SENTINELS", absl::StrJoin(sentinels, ",")},
      {prefix + "_SENTINEL_MASTER", master_name_},
      {prefix + "_SENTINEL_USER", user},
      {prefix + "_SENTINEL_PASSWORD_FILE", PasswordFile(user)},
      {prefix + "_USER", user},
      {prefix + "_PASSWORD_FILE", PasswordFile(user)}};
  if (TimeScale() > 1) env[prefix + "_TIMEOUT_MS"] = absl::StrCat(200 * TimeScale());
  return env;
}

RedisClient::Options RedisHa::ClientOptions(const std::string& user) const {
  RedisClient::Options options;
  for (int port : sentinel_ports_) options.sentinels.push_back({"127.0.0.1", port});
  options.sentinel_master = master_name_;
  options.user = user;
  options.sentinel_user = user;
  if (auto it = passwords_.find(user); it != passwords_.end()) {
    options.password = it->second;
    options.sentinel_password = it->second;
  }
  options.cooldown = std::chrono::milliseconds(0);
  options.timeout = Scaled(std::chrono::milliseconds(500));
  return options;
}

RedisClient::Options RedisHa::NodeOptions(int node, const std::string& user) const {
  RedisClient::Options options;
  options.port = node_ports_[node];
  options.user = user;
  if (auto it = passwords_.find(user); it != passwords_.end()) options.password = it->second;
  options.cooldown = std::chrono::milliseconds(0);
  options.timeout = Scaled(std::chrono::milliseconds(500));
  return options;
}

absl::Status RedisHa::LaunchNode(int node) {
  Process::Spec spec;
  spec.argv = {"/usr/bin/redis-server", NodeDir(node) + "/redis.conf"};
  spec.log_file = NodeDir(node) + "/redis.log";
  auto p = Process::Start(spec);
  if (!p.ok()) return p.status();
  nodes_[node] = std::move(*p);
  RedisClient admin(AdminOn(node_ports_[node], passwords_[RedisServer::kAdmin]));
  const auto deadline = std::chrono::steady_clock::now() + Scaled(std::chrono::seconds(20));
  while (std::chrono::steady_clock::now() < deadline) {
    auto pong = admin.Command({"PING"});
    if (pong.ok() && pong->str == "PONG") return absl::OkStatus();
    if (!nodes_[node]->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::UnavailableError(
      absl::StrCat("redis node ", node, " did not start; see ", spec.log_file));
}

absl::Status RedisHa::LaunchSentinel(int sentinel) {
  Process::Spec spec;
  spec.argv = {"/usr/bin/redis-sentinel", SentinelDir(sentinel) + "/sentinel.conf"};
  spec.log_file = SentinelDir(sentinel) + "/sentinel.log";
  auto p = Process::Start(spec);
  if (!p.ok()) return p.status();
  sentinels_[sentinel] = std::move(*p);
  RedisClient admin(AdminOn(sentinel_ports_[sentinel], passwords_[RedisServer::kAdmin]));
  const auto deadline = std::chrono::steady_clock::now() + Scaled(std::chrono::seconds(20));
  while (std::chrono::steady_clock::now() < deadline) {
    auto pong = admin.Command({"PING"});
    if (pong.ok() && pong->str == "PONG") return absl::OkStatus();
    if (!sentinels_[sentinel]->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::UnavailableError(
      absl::StrCat("sentinel ", sentinel, " did not start; see ", spec.log_file));
}

absl::Status RedisHa::WaitForReplicaLink(std::chrono::milliseconds timeout) const {
  RedisClient admin(AdminOn(node_ports_[1], passwords_.at(RedisServer::kAdmin)));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    // A replica's ROLE: ["slave", master host, master port, link state, offset].
    auto role = admin.Command({"ROLE"});
    if (role.ok() && role->elements.size() >= 4 && role->elements[3].str == "connected") {
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError(
      absl::StrCat("the replica did not link to its master; see ", NodeDir(1), "/redis.log"));
}

absl::Status RedisHa::WaitForSentinelsToKnowEachOther(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < kSentinels; ++i) {
    RedisClient admin(AdminOn(sentinel_ports_[i], passwords_.at(RedisServer::kAdmin)));
    while (true) {
      auto master = admin.Command({"SENTINEL", "MASTER", master_name_});
      if (master.ok() && Field(*master, "num-slaves") == absl::StrCat(kNodes - 1) &&
          Field(*master, "num-other-sentinels") == absl::StrCat(kSentinels - 1)) {
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return absl::UnavailableError(
            absl::StrCat("sentinel ", i, " does not know the replica and the other sentinels; see ",
                         SentinelDir(i), "/sentinel.log"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RedisHa::CurrentMaster() const {
  std::string errors;
  for (int i = 0; i < kSentinels; ++i) {
    if (sentinels_[i] == nullptr) continue;
    RedisClient admin(AdminOn(sentinel_ports_[i], passwords_.at(RedisServer::kAdmin)));
    auto reply = admin.Command({"SENTINEL", "get-master-addr-by-name", master_name_});
    if (!reply.ok() || reply->elements.size() != 2) {
      absl::StrAppend(&errors, " sentinel ", i, ": ",
                      reply.ok() ? reply->str : reply.status().message());
      continue;
    }
    for (int node = 0; node < kNodes; ++node) {
      if (reply->elements[1].str == absl::StrCat(node_ports_[node])) return node;
    }
    return absl::UnavailableError(
        absl::StrCat("the sentinels name an unknown master port ", reply->elements[1].str));
  }
  return absl::UnavailableError(absl::StrCat("no sentinel named the master:", errors));
}

absl::StatusOr<int> RedisHa::KillMaster() {
  auto master = CurrentMaster();
  if (!master.ok()) return master.status();
  if (nodes_[*master] == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("the master, node ", *master, ", is down"));
  }
  nodes_[*master]->Stop(SIGKILL);
  nodes_[*master].reset();
  return *master;
}

absl::StatusOr<int> RedisHa::SwitchMaster() {
  auto master = CurrentMaster();
  if (!master.ok()) return master.status();
  for (int i = 0; i < kSentinels; ++i) {
    if (sentinels_[i] == nullptr) continue;
    RedisClient admin(AdminOn(sentinel_ports_[i], passwords_[RedisServer::kAdmin]));
    auto reply = admin.Command({"SENTINEL", "FAILOVER", master_name_});
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) return absl::FailedPreconditionError(reply->str);
    return *master;
  }
  return absl::UnavailableError("no sentinel is running");
}

absl::StatusOr<int> RedisHa::WaitForNewMaster(int old, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto master = CurrentMaster();
    if (master.ok() && *master != old && nodes_[*master] != nullptr) {
      RedisClient admin(AdminOn(node_ports_[*master], passwords_[RedisServer::kAdmin]));
      auto role = admin.Command({"ROLE"});
      if (role.ok() && !role->elements.empty() && role->elements[0].str == "master") {
        return *master;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError("the sentinels did not name a new master in time");
}

absl::Status RedisHa::StopNode(int node) {
  if (nodes_[node] != nullptr) nodes_[node]->Stop(SIGTERM, std::chrono::seconds(10));
  nodes_[node].reset();
  return absl::OkStatus();
}

absl::Status RedisHa::RestartNode(int node) {
  if (absl::Status s = StopNode(node); !s.ok()) return s;
  return LaunchNode(node);
}

absl::Status RedisHa::StopSentinel(int sentinel) {
  if (sentinels_[sentinel] != nullptr) {
    sentinels_[sentinel]->Stop(SIGTERM, std::chrono::seconds(10));
  }
  sentinels_[sentinel].reset();
  return absl::OkStatus();
}

absl::Status RedisHa::RestartSentinel(int sentinel) {
  if (absl::Status s = StopSentinel(sentinel); !s.ok()) return s;
  return LaunchSentinel(sentinel);
}

void RedisHa::StopAll() {
  for (int i = 0; i < static_cast<int>(sentinels_.size()); ++i) (void)StopSentinel(i);
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) (void)StopNode(i);
}

}  // namespace qcash::testing
