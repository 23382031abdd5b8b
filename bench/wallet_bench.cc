// wallet_bench: a load generator for the running wallet, compared in the same run with
// pgbench on the same PostgreSQL, with the CPU each process spent on every figure.
//
// For each client count N of --clients (default 1, 8, 32, 64) it measures, over --seconds each:
//   pgbench -N, -S    tps of PostgreSQL's own simple-update and select-only runs (-M prepared,
//                     N clients), the yardsticks
//   gRPC floor        standard health checks/s over the same mTLS connections as the balance
//                     reads: what a unary call costs here with no work
//   spends (uniform)  durable spends/s and p50/p99/p99.9 latency, spread over --sellers sellers
//   spends (hot)      the same with every spend on one seller
//   balance reads     GetBalance/s over the same sellers
// and for each N of --batch-clients (default 1, 8, 32) and size B of --batch-sizes (default
// 100, 1000):
//   ExecuteBatch      B durable 1-yen spends per call (uniform over the sellers, a key each):
//                     operations/s, calls/s, p50/p99 per call, operations that failed
//   GetBalances       B sellers per call: sellers/s, calls/s, p50/p99 per call, failures
// (an RPC the wallet answers UNIMPLEMENTED is shown as "-").
//
// It prints one table per workload, a row per client count. Each wallet figure is divided by
// pgbench's figure at the same N and by pgbench's best over every N of the run (pgbench peaks
// at a few clients and falls after, so the same-N ratio alone flatters the wallet at 64); the
// reads also by the gRPC floor. Every row ends with the cores each process used over the row's
// wall time (CPU seconds from /proc/<pid>/stat divided by seconds): gen = this load generator
// (in the pgbench rows: pgbench itself), wal = the wallet, pg = every process of the
// PostgreSQL cluster (the postmaster and its children, exited ones included), redis = the
// wallet's Redis, all = the whole machine (/proc/stat), out of the machine's core count. A
// summary against issue 17's goals and the wallet's peak RSS (VmHWM) close the report.
//
// A client is one connection doing one call at a time (gRPC's callback API: no thread per
// client); every call goes over mTLS with --pki; all traffic stays on loopback.
//
//   wallet_bench --wallet 127.0.0.1:25051 --pgbench-url postgresql://.../pgbench
//                [--pgbench /usr/lib/postgresql/15/bin/pgbench] [--clients 1,8,32,64]
//                [--batch-clients 1,8,32] [--batch-sizes 100,1000] [--seconds 5]
//                [--sellers 10000] [--wallet-pid PID] [--pg-pid POSTMASTER_PID]
//                [--redis-pid PID] [--pki DIR]
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"

namespace {

namespace pb = ::qcash::wallet::v1;
using Clock = std::chrono::steady_clock;

// The contract's bound on ExecuteBatch and GetBalances (wallet.proto).
constexpr int kBatchSizeMax = 1'000;
constexpr int kClientsMax = 256;
constexpr int kConnectionsMax = 64;
constexpr int kSetupThreads = 32;

struct Flags {
  std::string wallet = "127.0.0.1:25051";
  std::string pgbench = "/usr/lib/postgresql/15/bin/pgbench";
  std::string pgbench_url;
  std::vector<int> clients = {1, 8, 32, 64};
  std::vector<int> batch_clients = {1, 8, 32};
  std::vector<int> batch_sizes = {100, 1'000};
  int seconds = 5;
  int sellers = 10'000;
  int wallet_pid = 0;
  int pg_pid = 0;  // the postmaster
  int redis_pid = 0;
  std::string pki;  // a scripts/dev-pki directory: mTLS as each identity; empty: plaintext
  std::string run_id;
};

// "1,8,32" -> {1, 8, 32}, keeping the values in 1..max; exits on a list with none.
std::vector<int> ParseList(const std::string& name, const std::string& value, int max) {
  std::vector<int> out;
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    int n = 0;
    if (absl::SimpleAtoi(item, &n) && n > 0 && n <= max) out.push_back(n);
  }
  if (out.empty()) {
    std::fprintf(stderr, "%s: no value in 1..%d in \"%s\"\n", name.c_str(), max, value.c_str());
    std::exit(2);
  }
  return out;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  f.run_id =
      absl::StrCat(std::chrono::system_clock::now().time_since_epoch().count() % 1'000'000'007);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--wallet")
      f.wallet = value;
    else if (name == "--pgbench")
      f.pgbench = value;
    else if (name == "--pgbench-url")
      f.pgbench_url = value;
    else if (name == "--seconds")
      f.seconds = std::max(1, std::atoi(value.c_str()));
    else if (name == "--sellers")
      f.sellers = std::max(1, std::atoi(value.c_str()));
    else if (name == "--wallet-pid")
      f.wallet_pid = std::atoi(value.c_str());
    else if (name == "--pg-pid")
      f.pg_pid = std::atoi(value.c_str());
    else if (name == "--redis-pid")
      f.redis_pid = std::atoi(value.c_str());
    else if (name == "--pki")
      f.pki = value;
    else if (name == "--clients")
      f.clients = ParseList(name, value, kClientsMax);
    else if (name == "--batch-clients")
      f.batch_clients = ParseList(name, value, kClientsMax);
    else if (name == "--batch-sizes")
      f.batch_sizes = ParseList(name, value, kBatchSizeMax);
    else {
      std::fprintf(stderr, "unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  return f;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// --- CPU: who spends the cores -------------------------------------------------------------

// A process's CPU from /proc/<pid>/stat, in clock ticks: its own (utime + stime, all threads)
// and that of its children it has waited for (cutime + cstime).
struct ProcTicks {
  bool found = false;
  int parent = 0;
  int64_t own = 0;
  int64_t reaped_children = 0;
};

ProcTicks ReadProcTicks(const std::string& pid) {
  ProcTicks t;
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return t;
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(paren + 1), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  constexpr size_t kParent = 1, kUtime = 11, kStime = 12, kCutime = 13, kCstime = 14;
  if (fields.size() <= kCstime) return t;
  int64_t utime = 0, stime = 0, cutime = 0, cstime = 0;
  if (!absl::SimpleAtoi(fields[kParent], &t.parent) || !absl::SimpleAtoi(fields[kUtime], &utime) ||
      !absl::SimpleAtoi(fields[kStime], &stime) || !absl::SimpleAtoi(fields[kCutime], &cutime) ||
      !absl::SimpleAtoi(fields[kCstime], &cstime)) {
    return t;
  }
  t.found = true;
  t.own = utime + stime;
  t.reaped_children = cutime + cstime;
  return t;
}

// The machine's busy time (everything but idle and iowait) from /proc/stat, in clock ticks.
int64_t HostBusyTicks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return user + nice + system + irq + softirq + steal;
}

// CPU seconds so far of each process that shares the machine; -1: not measured (no pid given,
// or the process is gone).
struct CpuSample {
  Clock::time_point at;
  double gen_s = 0;
  double wallet_s = -1;
  double pg_s = -1;
  double redis_s = -1;
  double host_s = 0;
};

// Cores used over an interval: CPU seconds / wall seconds; -1: not measured.
struct Cores {
  double gen = -1, wallet = -1, pg = -1, redis = -1, host = -1;
};

class CpuMeter {
 public:
  CpuMeter(int wallet_pid, int pg_pid, int redis_pid)
      : wallet_pid_(wallet_pid), pg_pid_(pg_pid), redis_pid_(redis_pid) {}

  CpuSample Now() const {
    CpuSample s;
    s.at = Clock::now();
    // This process and the children it waited for: pgbench in the pgbench rows.
    const ProcTicks self = ReadProcTicks("self");
    s.gen_s = Seconds(self.own + self.reaped_children);
    s.wallet_s = OwnSeconds(wallet_pid_);
    s.redis_s = OwnSeconds(redis_pid_);
    s.pg_s = ClusterSeconds();
    s.host_s = Seconds(HostBusyTicks());
    return s;
  }

  static Cores Between(const CpuSample& a, const CpuSample& b) {
    const double wall_s = std::chrono::duration<double>(b.at - a.at).count();
    auto cores = [wall_s](double from, double to) {
      return from < 0 || to < 0 || wall_s <= 0 ? -1.0 : (to - from) / wall_s;
    };
    Cores c;
    c.gen = cores(a.gen_s, b.gen_s);
    c.wallet = cores(a.wallet_s, b.wallet_s);
    c.pg = cores(a.pg_s, b.pg_s);
    c.redis = cores(a.redis_s, b.redis_s);
    c.host = cores(a.host_s, b.host_s);
    return c;
  }

 private:
  static double Seconds(int64_t ticks) {
    static const double kTicksPerSecond = static_cast<double>(sysconf(_SC_CLK_TCK));
    return ticks / kTicksPerSecond;
  }

  static double OwnSeconds(int pid) {
    if (pid <= 0) return -1;
    const ProcTicks t = ReadProcTicks(absl::StrCat(pid));
    return t.found ? Seconds(t.own) : -1;
  }

  // The postmaster with the backends it has reaped, plus every live child (backends, the
  // checkpointer, the WAL writer, autovacuum...): a backend that exits between two samples
  // moves from the second term to the first, so the difference of two sums stays right.
  double ClusterSeconds() const {
    if (pg_pid_ <= 0) return -1;
    const ProcTicks postmaster = ReadProcTicks(absl::StrCat(pg_pid_));
    if (!postmaster.found) return -1;
    int64_t ticks = postmaster.own + postmaster.reaped_children;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
      const std::string name = entry.path().filename().string();
      int pid = 0;
      if (!absl::SimpleAtoi(name, &pid)) continue;
      const ProcTicks t = ReadProcTicks(name);
      if (t.found && t.parent == pg_pid_) ticks += t.own;
    }
    return Seconds(ticks);
  }

  const int wallet_pid_;
  const int pg_pid_;
  const int redis_pid_;
};

// --- gRPC ----------------------------------------------------------------------------------

// mTLS as `identity` from a scripts/dev-pki directory, or plaintext when there is none (then the
// identity travels as x-qcash-caller metadata, which only a development wallet accepts).
std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(const std::string& pki,
                                                         const std::string& identity) {
  if (pki.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(pki + "/ca.pem");
  options.pem_private_key = ReadFile(pki + "/" + identity + ".key");
  options.pem_cert_chain = ReadFile(pki + "/" + identity + ".pem");
  return grpc::SslCredentials(options);
}

// One connection per client (up to 64), so that clients do not queue behind one socket. The
// wallet's stub and the health stub of a client share its connection: the gRPC floor goes
// over the same mTLS connections as the calls it is compared with.
class Channels {
 public:
  Channels(const std::string& address, int count,
           const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
    for (int i = 0; i < count; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("qcash.bench.channel", i);  // distinct args: a connection of its own
      auto channel = grpc::CreateCustomChannel(address, credentials, args);
      stubs_.push_back(pb::WalletService::NewStub(channel));
      health_.push_back(grpc::health::v1::Health::NewStub(channel));
    }
  }
  pb::WalletService::Stub* For(int client) { return stubs_[client % stubs_.size()].get(); }
  grpc::health::v1::Health::Stub* Health(int client) {
    return health_[client % health_.size()].get();
  }

 private:
  std::vector<std::unique_ptr<pb::WalletService::Stub>> stubs_;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health_;
};

grpc::Status Call(const char* caller, const std::function<grpc::Status(grpc::ClientContext*)>& f) {
  grpc::ClientContext context;
  context.AddMetadata("x-qcash-caller", caller);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return f(&context);
}

// --- Driving the load ----------------------------------------------------------------------

// The operations of one successful call: a single call is one operation; a batch call counts
// its results.
struct Tally {
  int64_t ok = 1;
  int64_t failed = 0;
  std::string first_error;  // of the first failed operation
};

// A figure; every number -1 when not measured (shown as "-").
struct Result {
  double calls_per_second = -1;
  double ops_per_second = -1;
  double p50_ms = -1, p99_ms = -1, p999_ms = -1;
  int64_t errors = 0;  // calls that failed as a whole
  std::string first_error;
  int64_t op_failures = 0;  // operations of successful batch calls that failed
  std::string first_op_error;
  Cores cores;
};

double Percentile(const std::vector<uint32_t>& sorted_us, double q) {
  if (sorted_us.empty()) return -1;
  const size_t i = std::min(sorted_us.size() - 1, static_cast<size_t>(q * sorted_us.size()));
  return sorted_us[i] / 1000.0;
}

// "UNIMPLEMENTED: message", as grpc/status.h names the codes.
std::string StatusText(int code, const std::string& message) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  const std::string name =
      code >= 0 && code < static_cast<int>(std::size(kNames)) ? kNames[code] : absl::StrCat(code);
  return message.empty() ? name : absl::StrCat(name, ": ", message);
}

using Done = std::function<void(const grpc::Status&, const Tally&)>;
// Starts one call for client `c` (its i-th) and arranges for `done` to run when it ends.
using StartCall = std::function<void(int c, int64_t i, Done done)>;

// Keeps `clients` calls in flight for `seconds`, each client starting its next call when the
// previous one ends (gRPC's callback API: no thread per client). Every call's latency counts;
// the rates count the calls (and their operations) that ended within the `seconds`, so that a
// batch still in flight at the end does not inflate them. The cores are those of the same
// window.
Result Drive(int clients, int seconds, const CpuMeter& meter, const StartCall& start) {
  struct Client {
    std::vector<uint32_t> latencies_us;
    int64_t next = 0;
    int64_t calls_in_window = 0;
    int64_t ops_in_window = 0;
    int64_t op_failures = 0;
    Clock::time_point t0;
  };
  std::vector<Client> state(clients);
  std::atomic<int64_t> errors{0};
  std::atomic<bool> stop{false};
  struct Shared {
    qcash::Mutex mu;
    qcash::CondVar cv;
    int running ABSL_GUARDED_BY(mu) = 0;  // clients whose chain of calls has not ended
    std::string first_error ABSL_GUARDED_BY(mu);
    std::string first_op_error ABSL_GUARDED_BY(mu);
  } shared;
  {
    qcash::MutexLock lock(&shared.mu);
    shared.running = clients;
  }
  std::function<void(int)> issue = [&](int c) {
    Client& client = state[c];
    client.t0 = Clock::now();
    start(c, client.next++, [&, c](const grpc::Status& s, const Tally& tally) {
      Client& cl = state[c];
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - cl.t0);
      const bool stopping = stop.load(std::memory_order_relaxed);
      if (s.ok()) {
        cl.latencies_us.push_back(static_cast<uint32_t>(us.count()));
        if (!stopping) {
          ++cl.calls_in_window;
          cl.ops_in_window += tally.ok;
        }
        cl.op_failures += tally.failed;
        if (tally.failed > 0) {
          qcash::MutexLock lock(&shared.mu);
          if (shared.first_op_error.empty()) shared.first_op_error = tally.first_error;
        }
      } else if (errors.fetch_add(1) == 0) {
        qcash::MutexLock lock(&shared.mu);
        shared.first_error = StatusText(s.error_code(), s.error_message());
      }
      if (stopping) {
        qcash::MutexLock lock(&shared.mu);
        if (--shared.running == 0) shared.cv.SignalAll();
        return;
      }
      issue(c);
    });
  };
  const CpuSample begin = meter.Now();
  for (int c = 0; c < clients; ++c) {
    state[c].latencies_us.reserve(200'000);
    issue(c);
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  const CpuSample end = meter.Now();
  const double elapsed = std::chrono::duration<double>(end.at - begin.at).count();
  Result r;
  r.cores = CpuMeter::Between(begin, end);
  {
    qcash::MutexLock lock(&shared.mu);
    shared.cv.Wait(&shared.mu, [&shared]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared.mu) {
      return shared.running == 0;
    });
    r.first_error = shared.first_error;
    r.first_op_error = shared.first_op_error;
  }
  std::vector<uint32_t> all;
  int64_t calls = 0, ops = 0;
  for (auto& cl : state) {
    all.insert(all.end(), cl.latencies_us.begin(), cl.latencies_us.end());
    calls += cl.calls_in_window;
    ops += cl.ops_in_window;
    r.op_failures += cl.op_failures;
  }
  std::sort(all.begin(), all.end());
  r.calls_per_second = calls / elapsed;
  r.ops_per_second = ops / elapsed;
  r.p50_ms = Percentile(all, 0.50);
  r.p99_ms = Percentile(all, 0.99);
  r.p999_ms = Percentile(all, 0.999);
  r.errors = errors.load();
  return r;
}

// A single call's tally: one operation.
struct CountOne {
  template <typename Response>
  Tally operator()(const Response& /*response*/) const {
    return Tally{};
  }
};

// A batch call's tally: its results with status OK, the others, and results missing.
struct CountResults {
  int expected = 0;
  template <typename Response>
  Tally operator()(const Response& response) const {
    Tally t;
    t.ok = 0;
    for (const auto& result : response.results()) {
      if (result.status().code() == 0) {
        ++t.ok;
        continue;
      }
      if (t.failed++ == 0)
        t.first_error = StatusText(result.status().code(), result.status().message());
    }
    if (response.results_size() < expected) {
      if (t.failed == 0) {
        t.first_error = absl::StrCat(response.results_size(), " results for ", expected, " asked");
      }
      t.failed += expected - response.results_size();
    }
    return t;
  }
};

// One asynchronous unary call as `caller`; the request, response and context live until it ends.
template <typename Request, typename Response, typename Method, typename Count = CountOne>
void AsyncCall(const char* caller, Request request, Method method, Done done,
               Count count = Count{}) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
  };
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->context.AddMetadata("x-qcash-caller", caller);
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  method(&call->context, &call->request, &call->response,
         [call, count, done = std::move(done)](const grpc::Status& s) {
           done(s, s.ok() ? count(call->response) : Tally{});
         });
}

// --- pgbench -------------------------------------------------------------------------------

struct PgResult {
  double tps = -1;  // excluding connection time
  double latency_ms = -1;
  Cores cores;  // gen: pgbench itself
};

// Runs pgbench `mode` with prepared statements (as the wallet's lanes use them) and `clients`
// connections; -1 on failure.
PgResult PgBench(const Flags& f, const CpuMeter& meter, const std::string& mode, int clients) {
  const int threads = std::min(clients, 2);
  const std::string command =
      absl::StrCat(f.pgbench, " ", mode, " -M prepared -n -c ", clients, " -j ", threads, " -T ",
                   f.seconds, " '", f.pgbench_url, "' 2>&1");
  PgResult r;
  const CpuSample begin = meter.Now();
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  pclose(pipe);  // waits: pgbench's CPU is then in this process's children's time
  r.cores = CpuMeter::Between(begin, meter.Now());
  std::smatch m;
  static const std::regex tps_re(R"(tps = ([0-9.]+) \(without initial connection time\))");
  static const std::regex latency_re(R"(latency average = ([0-9.]+) ms)");
  if (std::regex_search(output, m, tps_re)) {
    r.tps = std::atof(m[1].str().c_str());
    if (std::regex_search(output, m, latency_re)) r.latency_ms = std::atof(m[1].str().c_str());
    return r;
  }
  std::fprintf(stderr, "pgbench failed:\n%s\n", output.c_str());
  return r;
}

std::string ProcStatus(int pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::string v = line.substr(field.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "?";
}

// --- Printing ------------------------------------------------------------------------------

// `v` right-aligned in `width` with `precision` decimals, or "-" when not measured.
std::string Num(double v, int width, int precision) {
  if (v < 0 || !std::isfinite(v)) return absl::StrFormat("%*s", width, "-");
  return absl::StrFormat("%*.*f", width, precision, v);
}

double Ratio(double a, double b) { return a < 0 || b <= 0 ? -1 : a / b; }

constexpr char kCoresHeader[] = "  gen   wal    pg redis   all";

std::string CoresText(const Cores& c) {
  return absl::StrCat(Num(c.gen, 5, 2), " ", Num(c.wallet, 5, 2), " ", Num(c.pg, 5, 2), " ",
                      Num(c.redis, 5, 2), " ", Num(c.host, 5, 2));
}

// A table: a title, the header of its figures and ratios, then a row per client count.
void PrintTitle(const std::string& title) { std::printf("\n%s\n", title.c_str()); }
void PrintHeader(const std::string& figures, const std::string& ratios) {
  std::printf("%5s | %s | %s | %s\n", "N", figures.c_str(), ratios.c_str(), kCoresHeader);
}
void PrintRow(int clients, const std::string& figures, const std::string& ratios,
              const Cores& cores) {
  std::printf("%5d | %s | %s | %s\n", clients, figures.c_str(), ratios.c_str(),
              CoresText(cores).c_str());
}

// The calls that failed as a whole and the operations that failed, below their table.
void PrintFailures(const std::string& what, int clients, const Result& r) {
  if (r.errors > 0) {
    std::printf("      %s N=%d: %lld calls failed, first: %s\n", what.c_str(), clients,
                static_cast<long long>(r.errors), r.first_error.c_str());
  }
  if (r.op_failures > 0) {
    std::printf("      %s N=%d: %lld operations failed, first: %s\n", what.c_str(), clients,
                static_cast<long long>(r.op_failures), r.first_op_error.c_str());
  }
}

std::string Latencies(const Result& r, bool with_p999) {
  std::string s = absl::StrCat(Num(r.p50_ms, 7, 2), " ", Num(r.p99_ms, 7, 2));
  if (with_p999) absl::StrAppend(&s, " ", Num(r.p999_ms, 8, 2));
  return s;
}

// The best of `rows` by `figure`, with the client count it was reached at (0: none).
template <typename Rows, typename Figure>
std::pair<double, int> Best(const Rows& rows, Figure figure) {
  std::pair<double, int> best = {-1, 0};
  for (const auto& row : rows) {
    const double v = figure(row);
    if (v > best.first) best = {v, row.clients};
  }
  return best;
}

int RunBench(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const Flags f = ParseFlags(argc, argv);
  const int max_clients =
      std::max(*std::max_element(f.clients.begin(), f.clients.end()),
               *std::max_element(f.batch_clients.begin(), f.batch_clients.end()));
  const int connections = std::min(max_clients, kConnectionsMax);
  const CpuMeter meter(f.wallet_pid, f.pg_pid, f.redis_pid);
  Channels setup_settlement(f.wallet, kSetupThreads, CredentialsFor(f.pki, "settlement"));
  Channels setup_payment(f.wallet, kSetupThreads, CredentialsFor(f.pki, "payment"));
  Channels adbooking(f.wallet, connections, CredentialsFor(f.pki, "adbooking"));
  Channels ops(f.wallet, connections, CredentialsFor(f.pki, "ops"));
  const std::string prefix = absl::StrCat("bench", f.run_id, "-");
  auto seller = [&](int64_t n) { return absl::StrCat(prefix, n); };
  auto random_seller = [&] {
    thread_local std::mt19937_64 rng(std::random_device{}());
    return seller(static_cast<int64_t>(rng() % f.sellers));
  };
  const std::string hot = absl::StrCat(prefix, "hot");

  // Set up: open and fund every seller (1,000,000 yen each: more than any run spends).
  std::printf("setting up %d sellers + 1 hot seller on %s ...\n", f.sellers, f.wallet.c_str());
  std::fflush(stdout);
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> setup_errors{0};
  std::vector<std::thread> setup;
  setup.reserve(kSetupThreads);
  for (int c = 0; c < kSetupThreads; ++c) {
    setup.emplace_back([&, c] {
      for (int64_t n = next++; n <= f.sellers; n = next++) {
        const std::string id = n == f.sellers ? hot : seller(n);
        pb::OpenWalletRequest open;
        open.set_seller_id(id);
        open.set_idempotency_key("open-" + id);
        pb::OpenWalletResponse opened;
        grpc::Status s = Call("settlement", [&](grpc::ClientContext* ctx) {
          return setup_settlement.For(c)->OpenWallet(ctx, open, &opened);
        });
        for (int k = 0; k < (id == hot ? 10 : 1) && s.ok(); ++k) {
          pb::CreditRequest credit;
          credit.set_seller_id(id);
          credit.set_idempotency_key(absl::StrCat("fund-", k, "-", id));
          credit.set_amount_yen(1'000'000);
          credit.set_source(pb::CREDIT_SOURCE_CHARGE);
          credit.set_reference(absl::StrCat("bench-order-", k, "-", id));
          pb::CreditResponse credited;
          s = Call("payment", [&](grpc::ClientContext* ctx) {
            return setup_payment.For(c)->Credit(ctx, credit, &credited);
          });
        }
        if (!s.ok() && setup_errors++ == 0) {
          std::fprintf(stderr, "setup: %s\n", s.error_message().c_str());
        }
      }
    });
  }
  for (auto& t : setup) t.join();
  if (setup_errors > 0) {
    std::fprintf(stderr, "setup failed for %lld sellers\n", static_cast<long long>(setup_errors));
    return 1;
  }

  auto progress = [](const std::string& what) {
    std::printf("%s ...\n", what.c_str());
    std::fflush(stdout);
  };

  // --- Single calls, and the yardsticks, at each client count.
  struct Row {
    int clients = 0;
    Result uniform, hot, reads, floor;
    PgResult pg_update, pg_select;
  };
  std::vector<Row> rows;
  for (int n : f.clients) {
    Row row;
    row.clients = n;
    // One durable 1-yen spend per call, on the seller `pick` names; `tag` keeps the keys apart.
    auto spends = [&](const char* tag, pb::AdProduct product, auto pick) {
      return [&, tag, product, pick](int c, int64_t i, Done done) {
        pb::SpendRequest r;
        r.set_seller_id(pick());
        r.set_idempotency_key(absl::StrCat(prefix, tag, n, "-", c, "-", i));
        r.set_amount_yen(1);
        r.set_product(product);
        r.set_booking_reference("bench");
        AsyncCall<pb::SpendRequest, pb::SpendResponse>(
            "adbooking", std::move(r),
            [&, c](auto* ctx, auto* req, auto* resp, auto cb) {
              adbooking.For(c)->async()->Spend(ctx, req, resp, std::move(cb));
            },
            std::move(done));
      };
    };
    progress(absl::StrCat("N=", n, ": spends (uniform)"));
    row.uniform = Drive(n, f.seconds, meter,
                        spends("u", pb::AD_PRODUCT_PLUS_KEYWORD, [&] { return random_seller(); }));
    progress(absl::StrCat("N=", n, ": spends (hot seller)"));
    row.hot =
        Drive(n, f.seconds, meter,
              spends("h", pb::AD_PRODUCT_TIME_SALE, [&]() -> const std::string& { return hot; }));
    progress(absl::StrCat("N=", n, ": balance reads"));
    row.reads = Drive(n, f.seconds, meter, [&](int c, int64_t, Done done) {
      pb::GetBalanceRequest r;
      r.set_seller_id(random_seller());
      AsyncCall<pb::GetBalanceRequest, pb::GetBalanceResponse>(
          "ops", std::move(r),
          [&, c](auto* ctx, auto* req, auto* resp, auto cb) {
            ops.For(c)->async()->GetBalance(ctx, req, resp, std::move(cb));
          },
          std::move(done));
    });
    progress(absl::StrCat("N=", n, ": gRPC floor (health checks)"));
    row.floor = Drive(n, f.seconds, meter, [&](int c, int64_t, Done done) {
      AsyncCall<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>(
          "ops", {},
          [&, c](auto* ctx, auto* req, auto* resp, auto cb) {
            ops.Health(c)->async()->Check(ctx, req, resp, std::move(cb));
          },
          std::move(done));
    });
    if (!f.pgbench_url.empty()) {
      progress(absl::StrCat("N=", n, ": pgbench -N, -S"));
      row.pg_update = PgBench(f, meter, "-N", n);
      row.pg_select = PgBench(f, meter, "-S", n);
    }
    rows.push_back(row);
  }

  // --- Batches: ExecuteBatch of spends, GetBalances; skipped if the wallet lacks them.
  // One call of each, to learn whether the wallet implements it; "" when it does.
  auto probe = [&](const char* rpc, const std::function<grpc::Status(grpc::ClientContext*)>& call,
                   const char* caller) -> std::string {
    const grpc::Status s = Call(caller, call);
    if (s.ok()) return "";
    std::printf("%s: %s\n", rpc, StatusText(s.error_code(), s.error_message()).c_str());
    return s.error_code() == grpc::StatusCode::UNIMPLEMENTED ? "UNIMPLEMENTED" : "failed";
  };
  const std::string batch_missing = probe(
      "ExecuteBatch",
      [&](grpc::ClientContext* ctx) {
        pb::ExecuteBatchRequest r;
        pb::SpendRequest* spend = r.add_operations()->mutable_spend();
        spend->set_seller_id(seller(0));
        spend->set_idempotency_key(absl::StrCat(prefix, "probe"));
        spend->set_amount_yen(1);
        spend->set_product(pb::AD_PRODUCT_PLUS_KEYWORD);
        spend->set_booking_reference("bench");
        pb::ExecuteBatchResponse response;
        return adbooking.For(0)->ExecuteBatch(ctx, r, &response);
      },
      "adbooking");
  const std::string balances_missing = probe(
      "GetBalances",
      [&](grpc::ClientContext* ctx) {
        pb::GetBalancesRequest r;
        r.add_seller_ids(seller(0));
        pb::GetBalancesResponse response;
        return ops.For(0)->GetBalances(ctx, r, &response);
      },
      "ops");
  struct BatchRow {
    int size = 0;
    int clients = 0;
    Result spends, balances;
  };
  std::vector<BatchRow> batch_rows;
  for (int size : f.batch_sizes) {
    for (int n : f.batch_clients) {
      BatchRow row;
      row.size = size;
      row.clients = n;
      if (batch_missing.empty()) {
        progress(absl::StrCat("N=", n, ": ExecuteBatch of ", size, " spends"));
        row.spends = Drive(n, f.seconds, meter, [&, size, n](int c, int64_t i, Done done) {
          pb::ExecuteBatchRequest r;
          r.mutable_operations()->Reserve(size);
          for (int k = 0; k < size; ++k) {
            pb::SpendRequest* spend = r.add_operations()->mutable_spend();
            spend->set_seller_id(random_seller());
            spend->set_idempotency_key(
                absl::StrCat(prefix, "b", size, "-", n, "-", c, "-", i, "-", k));
            spend->set_amount_yen(1);
            spend->set_product(pb::AD_PRODUCT_PLUS_KEYWORD);
            spend->set_booking_reference("bench");
          }
          AsyncCall<pb::ExecuteBatchRequest, pb::ExecuteBatchResponse>(
              "adbooking", std::move(r),
              [&, c](auto* ctx, auto* req, auto* resp, auto cb) {
                adbooking.For(c)->async()->ExecuteBatch(ctx, req, resp, std::move(cb));
              },
              std::move(done), CountResults{size});
        });
      }
      if (balances_missing.empty()) {
        progress(absl::StrCat("N=", n, ": GetBalances of ", size, " sellers"));
        row.balances = Drive(n, f.seconds, meter, [&, size](int c, int64_t, Done done) {
          pb::GetBalancesRequest r;
          r.mutable_seller_ids()->Reserve(size);
          for (int k = 0; k < size; ++k) r.add_seller_ids(random_seller());
          AsyncCall<pb::GetBalancesRequest, pb::GetBalancesResponse>(
              "ops", std::move(r),
              [&, c](auto* ctx, auto* req, auto* resp, auto cb) {
                ops.For(c)->async()->GetBalances(ctx, req, resp, std::move(cb));
              },
              std::move(done), CountResults{size});
        });
      }
      batch_rows.push_back(row);
    }
  }

  // --- The report.
  const auto best_update = Best(rows, [](const Row& r) { return r.pg_update.tps; });
  const auto best_select = Best(rows, [](const Row& r) { return r.pg_select.tps; });
  const auto best_floor = Best(rows, [](const Row& r) { return r.floor.calls_per_second; });
  const auto best_uniform = Best(rows, [](const Row& r) { return r.uniform.ops_per_second; });
  const auto best_reads = Best(rows, [](const Row& r) { return r.reads.ops_per_second; });
  const long cores_online = sysconf(_SC_NPROCESSORS_ONLN);

  std::printf(
      "\nWallet over gRPC (%s) vs pgbench -M prepared on the same PostgreSQL, %d s per "
      "row, %ld cores\n",
      f.pki.empty() ? "plaintext" : "mTLS", f.seconds, cores_online);
  std::printf(
      "Ratios: /-N, /-S = pgbench at the same N; /best-N, /best-S = pgbench's best over "
      "N = %s (-N %s tps at N=%d, -S %s tps at N=%d).\n",
      absl::StrJoin(f.clients, ",").c_str(), Num(best_update.first, 0, 0).c_str(),
      best_update.second, Num(best_select.first, 0, 0).c_str(), best_select.second);
  std::printf(
      "Cores used over each row: gen = this load generator (pgbench rows: pgbench), "
      "wal = wallet, pg = all of\nPostgreSQL, redis = the wallet's Redis, all = the "
      "whole machine.\n");

  PrintTitle("pgbench -N -M prepared (simple update: an update, a select, an insert)");
  PrintHeader("     tps  lat ms", "/best-N");
  for (const Row& r : rows) {
    PrintRow(r.clients,
             absl::StrCat(Num(r.pg_update.tps, 8, 0), " ", Num(r.pg_update.latency_ms, 7, 2)),
             Num(Ratio(r.pg_update.tps, best_update.first), 7, 2), r.pg_update.cores);
  }
  PrintTitle("pgbench -S -M prepared (select only)");
  PrintHeader("     tps  lat ms", "/best-S");
  for (const Row& r : rows) {
    PrintRow(r.clients,
             absl::StrCat(Num(r.pg_select.tps, 8, 0), " ", Num(r.pg_select.latency_ms, 7, 2)),
             Num(Ratio(r.pg_select.tps, best_select.first), 7, 2), r.pg_select.cores);
  }
  PrintTitle("gRPC floor: health checks over the same mTLS connections as the reads");
  PrintHeader(" calls/s  p50 ms  p99 ms p99.9 ms", "   /-S /best-S");
  for (const Row& r : rows) {
    PrintRow(r.clients,
             absl::StrCat(Num(r.floor.calls_per_second, 8, 0), " ", Latencies(r.floor, true)),
             absl::StrCat(Num(Ratio(r.floor.calls_per_second, r.pg_select.tps), 6, 2), " ",
                          Num(Ratio(r.floor.calls_per_second, best_select.first), 7, 2)),
             r.floor.cores);
  }
  for (const Row& r : rows) PrintFailures("floor", r.clients, r.floor);

  PrintTitle(absl::StrCat("Spends, uniform over ", f.sellers, " sellers (durable, 1 yen each)"));
  PrintHeader("spends/s  p50 ms  p99 ms p99.9 ms", "   /-N /best-N");
  for (const Row& r : rows) {
    PrintRow(r.clients,
             absl::StrCat(Num(r.uniform.ops_per_second, 8, 0), " ", Latencies(r.uniform, true)),
             absl::StrCat(Num(Ratio(r.uniform.ops_per_second, r.pg_update.tps), 6, 2), " ",
                          Num(Ratio(r.uniform.ops_per_second, best_update.first), 7, 2)),
             r.uniform.cores);
  }
  for (const Row& r : rows) PrintFailures("uniform", r.clients, r.uniform);

  PrintTitle("Spends, one hot seller");
  PrintHeader("spends/s  p50 ms  p99 ms p99.9 ms", "   /-N /best-N   /uni");
  for (const Row& r : rows) {
    PrintRow(r.clients, absl::StrCat(Num(r.hot.ops_per_second, 8, 0), " ", Latencies(r.hot, true)),
             absl::StrCat(Num(Ratio(r.hot.ops_per_second, r.pg_update.tps), 6, 2), " ",
                          Num(Ratio(r.hot.ops_per_second, best_update.first), 7, 2), " ",
                          Num(Ratio(r.hot.ops_per_second, r.uniform.ops_per_second), 6, 2)),
             r.hot.cores);
  }
  for (const Row& r : rows) PrintFailures("hot", r.clients, r.hot);

  PrintTitle("Balance reads (GetBalance), uniform over the same sellers");
  PrintHeader(" reads/s  p50 ms  p99 ms p99.9 ms", "   /-S /best-S /floor /best-flr");
  for (const Row& r : rows) {
    PrintRow(r.clients,
             absl::StrCat(Num(r.reads.ops_per_second, 8, 0), " ", Latencies(r.reads, true)),
             absl::StrCat(Num(Ratio(r.reads.ops_per_second, r.pg_select.tps), 6, 2), " ",
                          Num(Ratio(r.reads.ops_per_second, best_select.first), 7, 2), " ",
                          Num(Ratio(r.reads.ops_per_second, r.floor.calls_per_second), 6, 2), " ",
                          Num(Ratio(r.reads.ops_per_second, best_floor.first), 9, 2)),
             r.reads.cores);
  }
  for (const Row& r : rows) PrintFailures("reads", r.clients, r.reads);

  for (int size : f.batch_sizes) {
    PrintTitle(absl::StrCat("ExecuteBatch, ", size,
                            " spends per call (uniform, durable, a key each)",
                            batch_missing.empty() ? "" : ": " + batch_missing));
    PrintHeader("   ops/s  calls/s  p50 ms  p99 ms  op-fail", "/best-N /best-uni");
    for (const BatchRow& r : batch_rows) {
      if (r.size != size) continue;
      const Result& s = r.spends;
      PrintRow(r.clients,
               absl::StrCat(
                   Num(s.ops_per_second, 8, 0), " ", Num(s.calls_per_second, 8, 1), " ",
                   Latencies(s, false), " ",
                   batch_missing.empty() ? absl::StrFormat("%8d", s.op_failures) : Num(-1, 8, 0)),
               absl::StrCat(Num(Ratio(s.ops_per_second, best_update.first), 7, 2), " ",
                            Num(Ratio(s.ops_per_second, best_uniform.first), 9, 2)),
               s.cores);
    }
    for (const BatchRow& r : batch_rows) {
      if (r.size == size) PrintFailures(absl::StrCat("batch ", size), r.clients, r.spends);
    }
  }
  for (int size : f.batch_sizes) {
    PrintTitle(absl::StrCat("GetBalances, ", size, " sellers per call (uniform)",
                            balances_missing.empty() ? "" : ": " + balances_missing));
    PrintHeader("sellers/s calls/s  p50 ms  p99 ms     fail", "/best-S /best-read");
    for (const BatchRow& r : batch_rows) {
      if (r.size != size) continue;
      const Result& b = r.balances;
      PrintRow(r.clients,
               absl::StrCat(Num(b.ops_per_second, 9, 0), " ", Num(b.calls_per_second, 7, 1), " ",
                            Latencies(b, false), " ",
                            balances_missing.empty() ? absl::StrFormat("%8d", b.op_failures)
                                                     : Num(-1, 8, 0)),
               absl::StrCat(Num(Ratio(b.ops_per_second, best_select.first), 7, 2), " ",
                            Num(Ratio(b.ops_per_second, best_reads.first), 10, 2)),
               b.cores);
    }
    for (const BatchRow& r : batch_rows) {
      if (r.size == size) PrintFailures(absl::StrCat("balances ", size), r.clients, r.balances);
    }
  }

  // --- Against issue 17's goals, from what this run measured.
  std::printf("\nAgainst issue 17's goals (this run)\n");
  auto row_at = [&](int n) -> const Row* {
    for (const Row& r : rows) {
      if (r.clients == n) return &r;
    }
    return nullptr;
  };
  {
    std::string uniform, hot_text;
    for (int n : {32, 64}) {
      if (const Row* r = row_at(n)) {
        absl::StrAppend(&uniform, " N=", n, ":",
                        Num(Ratio(r->uniform.ops_per_second, best_update.first), 0, 2));
        absl::StrAppend(&hot_text, " N=", n, ":",
                        Num(Ratio(r->hot.ops_per_second, best_update.first), 0, 2));
      }
    }
    if (!uniform.empty()) {
      std::printf("  single spends / best -N (goal >= 3):   uniform%s; hot%s\n", uniform.c_str(),
                  hot_text.c_str());
    }
  }
  {
    double best = -1;
    int best_size = 0, best_n = 0;
    for (const BatchRow& r : batch_rows) {
      if (r.spends.ops_per_second > best) {
        best = r.spends.ops_per_second;
        best_size = r.size;
        best_n = r.clients;
      }
    }
    std::printf("  batched spends/s, best (goal >= 15,000): %s", Num(best, 0, 0).c_str());
    if (best_size > 0) std::printf(" (%d per call, N=%d)", best_size, best_n);
    std::printf("\n");
    for (const BatchRow& r : batch_rows) {
      if (r.size == 100 && r.clients == 8) {
        std::printf("  batch of 100, p99 per call at N=8 (goal < 50 ms): %s ms\n",
                    Num(r.spends.p99_ms, 0, 1).c_str());
      }
    }
  }
  {
    std::string reads_floor, hot_uniform;
    for (const Row& r : rows) {
      absl::StrAppend(&reads_floor, " N=", r.clients, ":",
                      Num(Ratio(r.reads.ops_per_second, r.floor.calls_per_second), 0, 2));
      absl::StrAppend(&hot_uniform, " N=", r.clients, ":",
                      Num(Ratio(r.hot.ops_per_second, r.uniform.ops_per_second), 0, 2));
    }
    std::printf("  reads / gRPC floor, same N (goal >= 0.8):%s\n", reads_floor.c_str());
    if (const Row* r = row_at(8)) {
      std::printf("  read p99 at N=8 (goal <= 2 ms): %s ms\n", Num(r->reads.p99_ms, 0, 2).c_str());
    }
    std::printf("  hot / uniform (goal >= 1):%s\n", hot_uniform.c_str());
  }
  if (f.wallet_pid > 0) {
    std::printf("\nwallet process %d: peak RSS (VmHWM) %s, RSS now %s, threads %s\n", f.wallet_pid,
                ProcStatus(f.wallet_pid, "VmHWM").c_str(),
                ProcStatus(f.wallet_pid, "VmRSS").c_str(),
                ProcStatus(f.wallet_pid, "Threads").c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC, std::thread and std::regex may throw: report it instead of std::terminate.
  try {
    return RunBench(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wallet_bench: %s\n", e.what());
    return 1;
  }
}
