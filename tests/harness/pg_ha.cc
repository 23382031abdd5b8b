#include "tests/harness/pg_ha.h"

#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config.h"
#include "common/pg.h"

namespace qcash::testing {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

// The monitor's failure detection, shortened from the defaults (5 s checks, 20 s to call a
// node unhealthy, 30 s for a primary to demote): seconds instead of a minute per failover.
// The same values as scripts/lib-ha.sh (scripts/up --ha) and docs/OPERATIONS.md.
constexpr const char* kMonitorSettings[][2] = {
    {"pgautofailover.health_check_period", "1000"},
    {"pgautofailover.health_check_timeout", "1000"},
    {"pgautofailover.health_check_max_retries", "1"},
    {"pgautofailover.health_check_retry_delay", "500"},
    {"pgautofailover.node_considered_unhealthy_timeout", "2000"},
    {"pgautofailover.primary_demote_timeout", "3000"},
    {"pgautofailover.startup_grace_period", "3000"},
};

// PostgreSQL settings of both nodes (the secondary copies them with its base backup).
constexpr const char* kNodeSettings =
    "\n# qcash tests (tests/harness/pg_ha.cc)\n"
    "max_connections = 300\n"
    "log_min_messages = warning\n";

}  // namespace

absl::StatusOr<std::unique_ptr<PgHaCluster>> PgHaCluster::Start(const std::string& dir) {
  auto cluster = std::unique_ptr<PgHaCluster>(new PgHaCluster());
  auto reachable = DirForPostgres(dir, "/tmp/qcash-test-pgha-");
  if (!reachable.ok()) return reachable.status();
  cluster->dir_ = *reachable;
  cluster->bin_dir_ = EnvString("QCASH_PG_BIN", "/usr/lib/postgresql/15/bin");
  for (const char* sub : {"/xdg/config", "/xdg/data", "/xdg/run"}) {
    fs::create_directories(cluster->dir_ + sub);
  }
  GiveToPostgres(cluster->dir_);
  cluster->monitor_port_ = FreePort();
  for (int i = 0; i < kNodes; ++i) cluster->ports_.push_back(FreePort());
  cluster->keepers_.resize(kNodes);

  // The monitor: created (initdb, the extension), then run by its keeper.
  if (absl::Status s = cluster->RunCtl({"create", "monitor", "--pgdata", cluster->dir_ + "/monitor",
                                        "--pgport", absl::StrCat(cluster->monitor_port_),
                                        "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"},
                                       "create-monitor.log", std::chrono::seconds(180));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = cluster->StartKeeper(cluster->dir_ + "/monitor", &cluster->monitor_);
      !s.ok()) {
    return s;
  }
  const auto deadline = Steady::now() + Scaled(std::chrono::seconds(60));
  while (PQping(cluster->MonitorUrl().c_str()) != PQPING_OK) {
    if (Steady::now() > deadline) return absl::UnavailableError("the monitor did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  {
    auto conn = PgConnection::Connect(cluster->MonitorUrl(), "qcash-test-harness");
    if (!conn.ok()) return conn.status();
    for (const auto& setting : kMonitorSettings) {
      if (absl::Status s =
              (*conn)->ExecScript(absl::StrCat("ALTER SYSTEM SET ", setting[0], " = ", setting[1]));
          !s.ok()) {
        return s;
      }
    }
    if (auto r = (*conn)->Exec("SELECT pg_reload_conf()"); !r.ok()) return r.status();
  }
  // The primary first (it is "single" until a secondary joins), then the secondary, which
  // takes a base backup of it.
  if (absl::Status s = cluster->CreateNode(0); !s.ok()) return s;
  if (absl::Status s = cluster->WaitForStates({"single"}, Scaled(std::chrono::seconds(90)));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = cluster->CreateNode(1); !s.ok()) return s;
  if (absl::Status s = cluster->WaitForSecondary(Scaled(std::chrono::seconds(120))); !s.ok()) {
    return s;
  }
  // The services' superuser, as in PostgresServer (it replicates to the secondary).
  auto conn = PgConnection::Connect(
      absl::StrCat("postgresql://postgres@127.0.0.1:", cluster->ports_[0], "/postgres"),
      "qcash-test-harness");
  if (!conn.ok()) return conn.status();
  if (absl::Status s = (*conn)->ExecScript("CREATE ROLE qcash SUPERUSER LOGIN"); !s.ok()) return s;
  return cluster;
}

PgHaCluster::~PgHaCluster() {
  Stop();
  if (dir_.rfind("/tmp/qcash-test-pgha-", 0) == 0) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void PgHaCluster::Stop() {
  for (int i = 0; i < static_cast<int>(keepers_.size()); ++i) {
    if (keepers_[i] == nullptr) continue;
    // pg_autoctl stops its PostgreSQL (fast) on SIGTERM; whatever is left goes with SIGKILL.
    keepers_[i]->Stop(SIGTERM, std::chrono::seconds(20));
    (void)KillNode(i);
  }
  if (monitor_ != nullptr) {
    monitor_->Stop(SIGTERM, std::chrono::seconds(20));
    monitor_->SignalGroup(SIGKILL);
    monitor_.reset();
  }
}

std::string PgHaCluster::NodeData(int node) const { return absl::StrCat(dir_, "/node", node); }

std::string PgHaCluster::Url(const std::string& database) const {
  std::vector<std::string> hosts;
  for (int port : ports_) hosts.push_back(absl::StrCat("127.0.0.1:", port));
  return absl::StrCat("postgresql://qcash@", absl::StrJoin(hosts, ","), "/", database,
                      "?target_session_attrs=read-write");
}

std::string PgHaCluster::NodeUrl(int node, const std::string& database) const {
  return absl::StrCat("postgresql://qcash@127.0.0.1:", ports_[node], "/", database);
}

std::string PgHaCluster::MonitorUrl() const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", monitor_port_, "/pg_auto_failover");
}

absl::Status PgHaCluster::RunCtl(const std::vector<std::string>& args, const std::string& log,
                                 std::chrono::seconds wait) {
  Process::Spec spec;
  spec.argv = {"/usr/bin/pg_autoctl"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = {{"PATH", absl::StrCat(bin_dir_, ":/usr/bin:/bin")},
              {"XDG_CONFIG_HOME", dir_ + "/xdg/config"},
              {"XDG_DATA_HOME", dir_ + "/xdg/data"},
              {"XDG_RUNTIME_DIR", dir_ + "/xdg/run"},
              {"PG_AUTOCTL_DEBUG", ""}};
  spec.log_file = absl::StrCat(dir_, "/", log);
  spec.as_postgres_user = true;
  auto p = Process::Start(spec);
  if (!p.ok()) return p.status();
  auto exit = (*p)->WaitExit(Scaled(std::chrono::milliseconds(wait)));
  if (!exit.ok() || *exit != 0) {
    return absl::InternalError(absl::StrCat("pg_autoctl ", args[0], " ",
                                            args.size() > 1 ? args[1] : "", " failed; see ",
                                            spec.log_file));
  }
  return absl::OkStatus();
}

absl::Status PgHaCluster::StartKeeper(const std::string& pgdata, std::unique_ptr<Process>* out) {
  Process::Spec spec;
  spec.argv = {"/usr/bin/pg_autoctl", "run", "--pgdata", pgdata};
  spec.env = {{"PATH", absl::StrCat(bin_dir_, ":/usr/bin:/bin")},
              {"XDG_CONFIG_HOME", dir_ + "/xdg/config"},
              {"XDG_DATA_HOME", dir_ + "/xdg/data"},
              {"XDG_RUNTIME_DIR", dir_ + "/xdg/run"}};
  spec.log_file = pgdata + ".keeper.log";
  spec.as_postgres_user = true;
  auto p = Process::Start(spec);
  if (!p.ok()) return p.status();
  *out = std::move(*p);
  return absl::OkStatus();
}

absl::Status PgHaCluster::CreateNode(int node) {
  const std::string pgdata = NodeData(node);
  if (absl::Status s = RunCtl({"create", "postgres", "--pgdata", pgdata, "--pgport",
                               absl::StrCat(ports_[node]), "--hostname", "127.0.0.1", "--listen",
                               "127.0.0.1", "--name", absl::StrCat("node", node), "--monitor",
                               absl::StrCat("postgres://autoctl_node@127.0.0.1:", monitor_port_,
                                            "/pg_auto_failover?sslmode=disable"),
                               "--auth", "trust", "--no-ssl", "--dbname", "postgres"},
                              absl::StrCat("create-node", node, ".log"), std::chrono::seconds(180));
      !s.ok()) {
    return s;
  }
  if (node == 0) {
    std::ofstream(pgdata + "/postgresql.conf", std::ios::app) << kNodeSettings;
  }
  return StartKeeper(pgdata, &keepers_[node]);
}

absl::Status PgHaCluster::WaitForStates(const std::vector<std::string>& states,
                                        std::chrono::milliseconds wait) {
  const auto deadline = Steady::now() + wait;
  std::string seen;
  while (Steady::now() < deadline) {
    auto conn = PgConnection::Connect(MonitorUrl(), "qcash-test-harness");
    if (conn.ok()) {
      auto r = (*conn)->Exec(
          "SELECT reportedstate::text, goalstate::text FROM pgautofailover.node ORDER BY nodeid");
      if (r.ok()) {
        std::vector<std::string> now;
        bool settled = r->rows() == static_cast<int>(states.size());
        for (int i = 0; i < r->rows(); ++i) {
          const std::string reported(r->Get(i, 0));
          now.push_back(reported);
          settled = settled && reported == std::string(r->Get(i, 1)) && reported == states[i];
        }
        seen = absl::StrJoin(now, ",");
        if (settled) return absl::OkStatus();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("the formation did not reach ",
                                                  absl::StrJoin(states, ","), "; it is ", seen,
                                                  "; logs in ", dir_));
}

absl::Status PgHaCluster::WaitForSecondary(std::chrono::milliseconds wait) {
  const auto deadline = Steady::now() + wait;
  while (Steady::now() < deadline) {
    auto primary = Primary();
    if (primary.ok()) {
      std::vector<std::string> states(kNodes, "secondary");
      states[*primary] = "primary";
      if (WaitForStates(states, std::chrono::milliseconds(200)).ok()) return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no primary with a secondary in time: ", Describe()));
}

absl::Status PgHaCluster::CreateDatabase(const std::string& database) {
  auto conn = PgConnection::Connect(Url("postgres"), "qcash-test-harness");
  if (!conn.ok()) return conn.status();
  return (*conn)->Exec(absl::StrCat("CREATE DATABASE \"", database, "\"")).status();
}

absl::StatusOr<int> PgHaCluster::Primary() const {
  auto conn = PgConnection::Connect(MonitorUrl(), "qcash-test-harness");
  if (!conn.ok()) return conn.status();
  auto r = (*conn)->Exec(
      "SELECT nodeport FROM pgautofailover.node WHERE reportedstate IN "
      "('primary', 'wait_primary', 'single') AND goalstate = reportedstate");
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) {
    const int64_t port = r->GetInt64(i, 0);
    for (int node = 0; node < kNodes; ++node) {
      if (ports_[node] == port) return node;
    }
  }
  return absl::NotFoundError(absl::StrCat("no primary now: ", Describe()));
}

std::string PgHaCluster::Describe() const {
  auto conn = PgConnection::Connect(MonitorUrl(), "qcash-test-harness");
  if (!conn.ok()) return std::string(conn.status().message());
  auto r = (*conn)->Exec(
      "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node "
      "ORDER BY nodeid");
  if (!r.ok()) return std::string(r.status().message());
  std::vector<std::string> nodes;
  for (int i = 0; i < r->rows(); ++i) {
    nodes.push_back(absl::StrCat(r->Get(i, 0), " ", r->Get(i, 1), "/", r->Get(i, 2)));
  }
  return absl::StrJoin(nodes, ", ");
}

absl::Status PgHaCluster::KillNode(int node) {
  // The postmaster's pid before its keeper goes: it is in the keeper's process group, but a
  // keeper restarted by hand may have left one that is not.
  pid_t postmaster = 0;
  {
    std::ifstream pidfile(NodeData(node) + "/postmaster.pid");
    std::string first;
    int parsed = 0;
    if (std::getline(pidfile, first) && absl::SimpleAtoi(first, &parsed)) postmaster = parsed;
  }
  if (keepers_[node] != nullptr) {
    keepers_[node]->SignalGroup(SIGKILL);
    keepers_[node]->Stop(SIGKILL, std::chrono::seconds(10));
    keepers_[node].reset();
  }
  if (postmaster > 0) {
    kill(-postmaster, SIGKILL);  // when it leads a group of its own
    kill(postmaster, SIGKILL);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PgHaCluster::KillPrimary() {
  auto primary = Primary();
  if (!primary.ok()) return primary.status();
  if (absl::Status s = KillNode(*primary); !s.ok()) return s;
  return *primary;
}

absl::StatusOr<int> PgHaCluster::WaitForNewPrimary(int not_node, std::chrono::milliseconds wait) {
  const auto deadline = Steady::now() + wait;
  while (Steady::now() < deadline) {
    auto conn = PgConnection::Connect(Url("postgres"), "qcash-test-harness");
    if (conn.ok()) {
      // A write that must commit (the standby's acknowledgement included, when there is one).
      auto r = (*conn)->Exec(
          "SELECT inet_server_port(), txid_current() > 0 AND NOT pg_is_in_recovery()");
      if (r.ok() && r->GetBool(0, 1)) {
        const int64_t port = r->GetInt64(0, 0);
        for (int node = 0; node < kNodes; ++node) {
          if (node != not_node && ports_[node] == port) return node;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("no new primary in time: ", Describe()));
}

absl::Status PgHaCluster::RestartNode(int node) {
  if (keepers_[node] != nullptr) return absl::OkStatus();
  return StartKeeper(NodeData(node), &keepers_[node]);
}

}  // namespace qcash::testing
