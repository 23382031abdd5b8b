// A Redis master with one replica behind three Sentinels, for the tests of failover
// (docs/REDIS-HA.md): every process on a free loopback port, its state under the test's
// directory, nothing persisted (a cache).
//
// The data nodes have the ACL users of RedisServer (the rules file of `instance`, `default off`,
// RedisServer::kAdmin) plus two of the topology's own: kReplicationUser (the replica's link to
// its master: PSYNC, REPLCONF, PING) and kSentinelUser (what a sentinel sends to a node when it
// watches and fails over). The sentinels run with `default off` too: they reach each other as
// kSentinelUser, the services' users may only ask where the master is (SENTINEL
// get-master-addr-by-name), kAdmin may do anything. Every user has one password on the nodes
// and the sentinels alike, in RedisPasswordFile(dir, user).
//
// Quorum 2 of 3, down-after 1000 ms, failover-timeout 3000 ms: a killed master is replaced in
// about two to three seconds.
#ifndef QCASH_TESTS_HARNESS_REDIS_HA_H_
#define QCASH_TESTS_HARNESS_REDIS_HA_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/redis.h"
#include "tests/harness/harness.h"

namespace qcash::testing {

class RedisHa {
 public:
  static constexpr const char* kReplicationUser = "qcash-replication";
  static constexpr const char* kSentinelUser = "qcash-sentinel";
  static constexpr int kNodes = 2;      // a master and its replica
  static constexpr int kSentinels = 3;  // quorum 2

  // Starts the nodes (node 0 the master), waits until the replica is linked, then starts the
  // sentinels and waits until each knows the replica and the two other sentinels.
  // Errors: UNAVAILABLE when a process does not come up (see the logs in `dir`).
  static absl::StatusOr<std::unique_ptr<RedisHa>> Start(const std::string& dir,
                                                        const std::string& instance = "main");
  ~RedisHa();
  RedisHa(const RedisHa&) = delete;
  RedisHa& operator=(const RedisHa&) = delete;

  // The name the sentinels know the master by: "qcash-<instance>".
  const std::string& master_name() const { return master_name_; }
  int node_port(int node) const { return node_ports_[node]; }
  int sentinel_port(int sentinel) const { return sentinel_ports_[sentinel]; }

  // The environment that makes a service find the master through the sentinels as `user`:
  // <prefix>_SENTINELS, _SENTINEL_MASTER, _SENTINEL_USER, _SENTINEL_PASSWORD_FILE, _USER,
  // _PASSWORD_FILE (common/redis.h RedisOptionsFromEnv).
  std::map<std::string, std::string> ClientEnv(const std::string& user,
                                               const std::string& prefix = "QCASH_REDIS") const;
  // Client settings as `user` through the sentinels, or straight to one node.
  RedisClient::Options ClientOptions(const std::string& user) const;
  RedisClient::Options NodeOptions(int node, const std::string& user) const;
  std::string PasswordFile(const std::string& user) const;

  // The node the sentinels name as master now. Errors: UNAVAILABLE when none answers or the
  // address is not one of ours.
  absl::StatusOr<int> CurrentMaster() const;
  // SIGKILLs the current master; returns which node it was.
  absl::StatusOr<int> KillMaster();
  // A planned switch (SENTINEL FAILOVER, as an operator does before maintenance): the master
  // becomes a replica of the other node, and the sentinels close its clients' connections.
  // Returns which node was master.
  absl::StatusOr<int> SwitchMaster();
  // Waits until the sentinels name a node other than `old` and that node says it is master.
  // Returns it. Errors: DEADLINE_EXCEEDED.
  absl::StatusOr<int> WaitForNewMaster(int old, std::chrono::milliseconds timeout);

  absl::Status StopNode(int node);
  // Starts the node again on its port with its configuration file (which the sentinels may
  // have rewritten: a former master comes back as whatever they made it). Empty: nothing was
  // persisted.
  absl::Status RestartNode(int node);
  absl::Status StopSentinel(int sentinel);
  absl::Status RestartSentinel(int sentinel);
  // Every node and every sentinel down: Redis lost entirely.
  void StopAll();
  bool node_running(int node) const { return nodes_[node] != nullptr; }

 private:
  RedisHa() = default;
  absl::Status LaunchNode(int node);
  absl::Status LaunchSentinel(int sentinel);
  absl::Status WaitForReplicaLink(std::chrono::milliseconds timeout) const;
  absl::Status WaitForSentinelsToKnowEachOther(std::chrono::milliseconds timeout) const;
  std::string NodeDir(int node) const;
  std::string SentinelDir(int sentinel) const;

  std::string dir_;
  std::string instance_;
  std::string master_name_;
  std::map<std::string, std::string> passwords_;  // user -> password
  std::vector<int> node_ports_;
  std::vector<int> sentinel_ports_;
  std::vector<std::unique_ptr<Process>> nodes_;
  std::vector<std::unique_ptr<Process>> sentinels_;
};

}  // namespace qcash::testing

#endif  // QCASH_TESTS_HARNESS_REDIS_HA_H_
