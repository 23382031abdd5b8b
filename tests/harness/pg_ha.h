// A highly available PostgreSQL 15 for the tests that are about failover: a pg_auto_failover
// formation (Debian's postgresql-15-auto-failover) of a monitor, a primary and a synchronous
// secondary, every process on loopback ports below the ephemeral range, data under the test's
// state directory. Not a model of failover: the real keepers and monitor decide and act; the
// harness only starts them, kills them and asks the monitor what it sees.
//
// The monitor's timeouts are shortened (health checks every second, a node unhealthy after
// two) so that a failover takes seconds instead of the half minute of the defaults; the
// settings are those of docs/OPERATIONS.md's local HA topology (scripts/up --ha).
#ifndef QCASH_TESTS_HARNESS_PG_HA_H_
#define QCASH_TESTS_HARNESS_PG_HA_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/harness.h"

namespace qcash::testing {

class PgHaCluster {
 public:
  static constexpr int kNodes = 2;

  // Creates and starts the formation in `dir` (about a minute on two cores) and waits until
  // it has a primary and a secondary in sync; the superuser `qcash` exists on it.
  // Errors: INTERNAL / UNAVAILABLE with the log to read.
  static absl::StatusOr<std::unique_ptr<PgHaCluster>> Start(const std::string& dir);
  ~PgHaCluster();

  // The services' URL of `database`: every node, target_session_attrs=read-write, so that
  // libpq finds the primary by itself after a failover.
  std::string Url(const std::string& database) const;
  // One node's URL (no target_session_attrs): for looking at a standby.
  std::string NodeUrl(int node, const std::string& database) const;
  std::string MonitorUrl() const;
  int node_port(int node) const { return ports_[node]; }
  absl::Status CreateDatabase(const std::string& database);

  // The node the monitor reports as primary (primary, wait_primary or single), or NOT_FOUND
  // while there is none.
  absl::StatusOr<int> Primary() const;
  // What the monitor says of each node: "node0 primary/primary, node1 secondary/secondary".
  std::string Describe() const;

  // SIGKILLs every process of `node` (its keeper, PostgreSQL and the backends): the machine
  // is lost. Nothing is shut down cleanly.
  absl::Status KillNode(int node);
  // Kills the current primary; returns its index.
  absl::StatusOr<int> KillPrimary();
  // Waits until a node other than `not_node` is primary and accepts a write through Url();
  // returns it.
  absl::StatusOr<int> WaitForNewPrimary(int not_node, std::chrono::milliseconds wait);
  // Starts a killed node's keeper again: it rejoins as a secondary (pg_rewind if needed).
  absl::Status RestartNode(int node);
  // Waits until the formation has a primary and a secondary in sync again.
  absl::Status WaitForSecondary(std::chrono::milliseconds wait);
  // Stops every process (keepers first, then the monitor).
  void Stop();

 private:
  PgHaCluster() = default;
  absl::Status RunCtl(const std::vector<std::string>& args, const std::string& log,
                      std::chrono::seconds wait);
  absl::Status StartKeeper(const std::string& pgdata, std::unique_ptr<Process>* out);
  absl::Status CreateNode(int node);
  absl::Status WaitForStates(const std::vector<std::string>& states,
                             std::chrono::milliseconds wait);
  std::string NodeData(int node) const;

  std::string dir_;
  std::string bin_dir_;
  int monitor_port_ = 0;
  std::vector<int> ports_;
  std::unique_ptr<Process> monitor_;
  std::vector<std::unique_ptr<Process>> keepers_;
};

}  // namespace qcash::testing

#endif  // QCASH_TESTS_HARNESS_PG_HA_H_
