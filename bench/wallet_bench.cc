// wallet_bench: a load generator for the running wallet, compared in the same run with
// pgbench on the same PostgreSQL.
//
// For each client count N (default 1, 8, 32, 64) it measures, over --seconds each:
//   spends (uniform)  durable spends/s and p50/p99/p99.9 latency, spread over --sellers sellers
//   spends (hot)      the same with every spend on one seller
//   balance reads     GetBalance/s and p99 over the same sellers
//   gRPC floor        standard health checks/s: what a unary call costs here with no work
//   pgbench -N / -S   tps of PostgreSQL's own simple-update and select-only runs with N clients
// and prints the ratio of each wallet figure to pgbench's. A client is one connection doing
// one call at a time; all traffic stays on loopback.
//
//   wallet_bench --wallet 127.0.0.1:25051 --pgbench-url postgresql://.../pgbench
//                [--pgbench /usr/lib/postgresql/15/bin/pgbench] [--clients 1,8,32,64]
//                [--seconds 5] [--sellers 10000] [--wallet-pid PID] [--pki DIR]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"

namespace {

namespace pb = ::qcash::wallet::v1;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string wallet = "127.0.0.1:25051";
  std::string pgbench = "/usr/lib/postgresql/15/bin/pgbench";
  std::string pgbench_url;
  std::vector<int> clients = {1, 8, 32, 64};
  int seconds = 5;
  int sellers = 10'000;
  int wallet_pid = 0;
  std::string pki;  // a scripts/dev-pki directory: mTLS as each identity; empty: plaintext
  std::string run_id;
};

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
    else if (name == "--pki")
      f.pki = value;
    else if (name == "--clients") {
      f.clients.clear();
      for (absl::string_view c : absl::StrSplit(value, ',')) {
        int n = 0;
        if (absl::SimpleAtoi(c, &n) && n > 0 && n <= 256) f.clients.push_back(n);
      }
    } else {
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

// One connection per client (up to 64), so that clients do not queue behind one socket.
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

struct Result {
  double per_second = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  int64_t errors = 0;
  std::string first_error;
};

double Percentile(const std::vector<uint32_t>& sorted_us, double q) {
  if (sorted_us.empty()) return 0;
  const size_t i = std::min(sorted_us.size() - 1, static_cast<size_t>(q * sorted_us.size()));
  return sorted_us[i] / 1000.0;
}

// Starts one call for client `c` (its i-th) and arranges for `done` to run when it ends.
using StartCall = std::function<void(int c, int64_t i, std::function<void(grpc::Status)> done)>;

// Keeps `clients` calls in flight for `seconds`, each client starting its next call when the
// previous one ends (gRPC's callback API: no thread per client). Measures every call.
Result Drive(int clients, int seconds, const StartCall& start) {
  struct Client {
    std::vector<uint32_t> latencies_us;
    int64_t next = 0;
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
  } shared;
  {
    qcash::MutexLock lock(&shared.mu);
    shared.running = clients;
  }
  std::function<void(int)> issue = [&](int c) {
    Client& client = state[c];
    client.t0 = Clock::now();
    start(c, client.next++, [&, c](const grpc::Status& s) {
      Client& cl = state[c];
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - cl.t0);
      if (s.ok()) {
        cl.latencies_us.push_back(static_cast<uint32_t>(us.count()));
      } else if (errors.fetch_add(1) == 0) {
        qcash::MutexLock lock(&shared.mu);
        shared.first_error = absl::StrCat(s.error_code(), " ", s.error_message());
      }
      if (stop.load(std::memory_order_relaxed)) {
        qcash::MutexLock lock(&shared.mu);
        if (--shared.running == 0) shared.cv.SignalAll();
        return;
      }
      issue(c);
    });
  };
  const auto begin = Clock::now();
  for (int c = 0; c < clients; ++c) {
    state[c].latencies_us.reserve(200'000);
    issue(c);
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  Result r;
  {
    qcash::MutexLock lock(&shared.mu);
    shared.cv.Wait(&shared.mu, [&shared]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared.mu) {
      return shared.running == 0;
    });
    r.first_error = shared.first_error;
  }
  std::vector<uint32_t> all;
  for (auto& cl : state) all.insert(all.end(), cl.latencies_us.begin(), cl.latencies_us.end());
  std::sort(all.begin(), all.end());
  r.per_second = all.size() / elapsed;
  r.p50_ms = Percentile(all, 0.50);
  r.p99_ms = Percentile(all, 0.99);
  r.p999_ms = Percentile(all, 0.999);
  r.errors = errors.load();
  return r;
}

// One asynchronous unary call as `caller`; the request, response and context live until it ends.
template <typename Request, typename Response, typename Method>
void AsyncCall(const char* caller, Request request, Method method,
               std::function<void(grpc::Status)> done) {
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
         [call, done = std::move(done)](grpc::Status s) { done(std::move(s)); });
}

// Runs pgbench and returns its tps (excluding connection time), or 0 on failure.
double PgBench(const Flags& f, const std::string& mode, int clients) {
  const int threads = std::min(clients, 2);
  const std::string command =
      absl::StrCat(f.pgbench, " ", mode, " -n -c ", clients, " -j ", threads, " -T ", f.seconds,
                   " '", f.pgbench_url, "' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return 0;
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  pclose(pipe);
  std::smatch m;
  static const std::regex tps_re(R"(tps = ([0-9.]+) \(without initial connection time\))");
  if (std::regex_search(output, m, tps_re)) return std::atof(m[1].str().c_str());
  std::fprintf(stderr, "pgbench failed:\n%s\n", output.c_str());
  return 0;
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

int RunBench(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const Flags f = ParseFlags(argc, argv);
  const int max_clients = *std::max_element(f.clients.begin(), f.clients.end());
  const int connections = std::min(max_clients, 64);
  Channels setup_settlement(f.wallet, 32, CredentialsFor(f.pki, "settlement"));
  Channels setup_payment(f.wallet, 32, CredentialsFor(f.pki, "payment"));
  Channels adbooking(f.wallet, connections, CredentialsFor(f.pki, "adbooking"));
  Channels ops(f.wallet, connections, CredentialsFor(f.pki, "ops"));
  const std::string prefix = absl::StrCat("bench", f.run_id, "-");
  auto seller = [&](int64_t n) { return absl::StrCat(prefix, n); };
  const std::string hot = absl::StrCat(prefix, "hot");

  // Set up: open and fund every seller (1,000,000 yen each: more than any run spends).
  std::printf("setting up %d sellers + 1 hot seller on %s ...\n", f.sellers, f.wallet.c_str());
  std::fflush(stdout);
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> setup_errors{0};
  std::vector<std::thread> setup;
  setup.reserve(32);
  for (int c = 0; c < 32; ++c) {
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

  struct Row {
    int clients;
    Result uniform, hot, reads, floor;
    double pg_update = 0, pg_select = 0;
  };
  std::vector<Row> rows;
  for (int n : f.clients) {
    Row row;
    row.clients = n;
    // One durable 1-yen spend per call, on the seller `pick` names; `tag` keeps the keys apart.
    auto spends = [&](const char* tag, pb::AdProduct product, auto pick) {
      return [&, tag, product, pick](int c, int64_t i, std::function<void(grpc::Status)> done) {
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
    std::printf("N=%d: spends (uniform) ...\n", n);
    std::fflush(stdout);
    row.uniform = Drive(n, f.seconds, spends("u", pb::AD_PRODUCT_PLUS_KEYWORD, [&] {
                          thread_local std::mt19937_64 rng(std::random_device{}());
                          return seller(static_cast<int64_t>(rng() % f.sellers));
                        }));
    std::printf("N=%d: spends (hot seller) ...\n", n);
    std::fflush(stdout);
    row.hot =
        Drive(n, f.seconds,
              spends("h", pb::AD_PRODUCT_TIME_SALE, [&]() -> const std::string& { return hot; }));
    std::printf("N=%d: balance reads ...\n", n);
    std::fflush(stdout);
    row.reads = Drive(n, f.seconds, [&](int c, int64_t, std::function<void(grpc::Status)> done) {
      thread_local std::mt19937_64 rng(std::random_device{}());
      pb::GetBalanceRequest r;
      r.set_seller_id(seller(static_cast<int64_t>(rng() % f.sellers)));
      AsyncCall<pb::GetBalanceRequest, pb::GetBalanceResponse>(
          "ops", std::move(r),
          [&, c](auto* ctx, auto* req, auto* resp, auto cb) {
            ops.For(c)->async()->GetBalance(ctx, req, resp, std::move(cb));
          },
          std::move(done));
    });
    std::printf("N=%d: gRPC floor (health checks) ...\n", n);
    std::fflush(stdout);
    row.floor = Drive(n, f.seconds, [&](int c, int64_t, std::function<void(grpc::Status)> done) {
      AsyncCall<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>(
          "ops", {},
          [&, c](auto* ctx, auto* req, auto* resp, auto cb) {
            ops.Health(c)->async()->Check(ctx, req, resp, std::move(cb));
          },
          std::move(done));
    });
    if (!f.pgbench_url.empty()) {
      std::printf("N=%d: pgbench -N, -S ...\n", n);
      std::fflush(stdout);
      row.pg_update = PgBench(f, "-N", n);
      row.pg_select = PgBench(f, "-S", n);
    }
    rows.push_back(row);
  }

  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf("\nWallet over gRPC vs pgbench on the same PostgreSQL (%d s per figure)\n\n",
              f.seconds);
  std::printf("%-3s | %-35s | %-35s | %-18s | %-9s | %-9s | %-9s | %-6s %-6s %-6s\n", "N",
              "spends uniform/s p50  p99  p99.9ms", "spends hot/s   p50  p99  p99.9ms",
              "reads/s   p99 ms", "pgbench-N", "pgbench-S", "gRPC flr", "uni/-N", "hot/-N",
              "read/-S");
  for (const Row& r : rows) {
    std::printf(
        "%-3d | %8.0f %6.2f %6.2f %7.2f       | %8.0f %6.2f %6.2f %7.2f       | "
        "%8.0f %7.2f   | %9.0f | %9.0f | %9.0f | %6.2f %6.2f %6.2f\n",
        r.clients, r.uniform.per_second, r.uniform.p50_ms, r.uniform.p99_ms, r.uniform.p999_ms,
        r.hot.per_second, r.hot.p50_ms, r.hot.p99_ms, r.hot.p999_ms, r.reads.per_second,
        r.reads.p99_ms, r.pg_update, r.pg_select, r.floor.per_second,
        ratio(r.uniform.per_second, r.pg_update), ratio(r.hot.per_second, r.pg_update),
        ratio(r.reads.per_second, r.pg_select));
  }
  for (const Row& r : rows) {
    for (const Result* res : {&r.uniform, &r.hot, &r.reads}) {
      if (res->errors > 0) {
        std::printf("N=%d: %lld errors, first: %s\n", r.clients,
                    static_cast<long long>(res->errors), res->first_error.c_str());
      }
    }
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
