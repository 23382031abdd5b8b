// The chaos run (issue 13): a bounded mixed workload over the real processes while a nemesis
// kills and pauses them, then a checker over the clients' own record and the databases.
//
//   qcash-chaos [--seconds N] [--seed S] [--clients C] [--single-pg]
//
// The workload: C client threads, each with its own sellers, charge through the provider
// sandbox (card, and convenience store completed at the counter), spend, hold then capture or
// release, convert last month's service points, and read balances (their own sellers' and
// other clients'). Each client records every operation it issued: its key, seller, kind,
// amount and whether it was acknowledged (OK), definitely failed, or is unknown (it kept
// answering UNAVAILABLE / COMMIT_OUTCOME_UNKNOWN / DEADLINE_EXCEEDED ... until the client's
// retry budget ran out; every retry uses the same idempotency key).
//
// The nemesis runs on the main thread (harness processes die with the thread that started
// them, so every restart happens here) and injects one fault at a time at seeded random
// moments: SIGKILL of the wallet, payment and points services (restarted on the same
// address), loss of the PostgreSQL primary (pg_auto_failover fails over; the old node then
// rejoins as a secondary), loss of Redis (restarted empty), and a pause (SIGSTOP, a few
// seconds, SIGCONT) of one service.
//
// The checker (docs/RELIABILITY.md has the rules) exits non-zero on any lost or doubled
// operation, an operation answered "failed" that took effect, a stale balance read, a balance
// that differs from its journal, a paid order not credited exactly once, a failed audit, or a
// fault the harness could not recover from.
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "common/status.h"
#include "qcash/payment/v1/payment.grpc.pb.h"
#include "qcash/points/v1/points.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/harness.h"
#include "tests/harness/pg_ha.h"

namespace qcash::chaos {
namespace {

using ::qcash::testing::FreePort;
using ::qcash::testing::PaymentProcesses;
using ::qcash::testing::ServiceProcess;
using ::qcash::testing::Stack;
using ::qcash::testing::StackOptions;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
namespace wpb = ::qcash::wallet::v1;
namespace ppb = ::qcash::payment::v1;
namespace ptpb = ::qcash::points::v1;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ------------------------------------------------------------------------ the client's record

enum class Outcome { kAcknowledged, kFailed, kUnknown };

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kAcknowledged:
      return "acknowledged";
    case Outcome::kFailed:
      return "failed";
    default:
      return "unknown";
  }
}

// One operation a client issued, with what it learnt of its outcome.
struct Op {
  Op(std::string k, std::string s, std::string key_)
      : kind(std::move(k)), seller(std::move(s)), key(std::move(key_)) {}
  std::string kind;  // charge_card, charge_konbini, spend, hold, capture, release, convert, ...
  std::string seller;
  std::string key;
  std::string reference;  // the journal's reference: booking reference, order id, conversion id
  int64_t amount = 0;
  int64_t hold_id = 0;  // hold, capture, release
  Outcome outcome = Outcome::kUnknown;
  std::string last_error;
  bool paid_at_provider = false;  // charges: the sandbox took the money
};

// Per seller, the balance versions that acknowledged writes returned and when: a read that
// started after such a return must show at least that version.
struct WriteMark {
  TimePoint returned;
  int64_t version;
};

// A successful attempt of a write: when it started and when it was acknowledged (for the
// longest unavailability after each fault).
struct AckedWrite {
  std::string kind;
  TimePoint started;
  TimePoint acked;
};

struct Fault {
  std::string kind;       // kill_wallet, kill_payment, kill_points, kill_pg_primary, kill_redis,
                          // pause_wallet, pause_payment, pause_points
  TimePoint injected;     // when the process was killed or stopped
  double recovery_s = 0;  // how long the nemesis took to bring it back
};

struct Shared {
  TimePoint start = Clock::now();  // of the workload, for the times printed
  qcash::Mutex mu;
  std::map<std::string, std::vector<WriteMark>> marks ABSL_GUARDED_BY(mu);
  std::vector<AckedWrite> acked_writes ABSL_GUARDED_BY(mu);
  std::vector<std::string> sellers ABSL_GUARDED_BY(mu);  // every client's, for reads
  std::atomic<int64_t> reads{0};
  std::atomic<int64_t> reads_unavailable{0};
  std::atomic<int64_t> stale_reads{0};
  std::map<std::string, int64_t> attempt_errors ABSL_GUARDED_BY(mu);  // code/reason -> count
  std::vector<std::string> stale_examples ABSL_GUARDED_BY(mu);
};

// Where the services listen; fixed for the whole run (restarts reuse the addresses).
struct Addresses {
  std::string wallet;
  std::string payment;
  std::string points;
  std::string sandbox_url;
};

std::shared_ptr<grpc::Channel> FastReconnectChannel(const std::string& address) {
  // A restarted server is back within a second or two; the default reconnect backoff (up to
  // two minutes) would make the client, not the system, the slow part.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// Whether an error leaves the outcome open (retry with the same key) or is a definite failure.
// The wallet's contract: UNAVAILABLE (incl. COMMIT_OUTCOME_UNKNOWN), DEADLINE_EXCEEDED and
// CANCELLED are unknown; ABORTED / IDEMPOTENCY_KEY_IN_FLIGHT means another attempt with the
// key is still running. INTERNAL and UNKNOWN (a process died mid-call) are treated as unknown
// too: the checker accepts 0 or 1 effects for an unknown, never more.
bool Retryable(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
      return true;
    default:
      return false;
  }
}

constexpr auto kAttemptDeadline = std::chrono::seconds(5);
constexpr auto kRetryBudget = std::chrono::seconds(90);  // covers a failover plus a restart

class Client {
 public:
  Client(int id, uint64_t seed, const std::string& run, const Addresses& addresses, Shared* shared,
         const std::atomic<bool>* stop)
      : id_(id),
        rng_(seed),
        run_(run),
        sandbox_url_(addresses.sandbox_url),
        shared_(shared),
        stop_(stop),
        wallet_(wpb::WalletService::NewStub(FastReconnectChannel(addresses.wallet))),
        payment_(ppb::PaymentService::NewStub(FastReconnectChannel(addresses.payment))),
        points_(ptpb::PointsService::NewStub(FastReconnectChannel(addresses.points))) {}

  void Run() {
    for (int i = 0; i < 3; ++i) NewSeller();
    while (!stop_->load()) {
      const int dice = Uniform(0, 99);
      if (dice < 14) {
        Charge();
      } else if (dice < 42) {
        Spend();
      } else if (dice < 56) {
        Hold();
      } else if (dice < 70) {
        ResolveHold();
      } else if (dice < 94) {
        ReadBalance();
      } else if (dice < 97) {
        RecordPoints(AnySeller(), absl::Now() - absl::Minutes(1), 10);
      } else if (sellers_.size() < 12) {
        NewSeller();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(Uniform(5, 30)));
    }
  }

  const std::vector<Op>& ops() const { return ops_; }

  // --checker-self-test: a record the checker must reject. An acknowledged spend that was
  // never sent (a lost write) and an acknowledged write of a version the wallet never reached
  // followed by a real read (a stale read).
  void Sabotage() {
    Op op{"spend", sellers_[0], NewKey("never-sent")};
    op.amount = 100;
    op.reference = absl::StrCat("booking-", op.key);
    op.outcome = Outcome::kAcknowledged;
    ops_.push_back(op);
    {
      qcash::MutexLock lock(&shared_->mu);
      shared_->marks[sellers_[0]].push_back({Clock::now(), int64_t{1} << 40});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ReadBalanceOf(sellers_[0]);
  }
  const std::vector<std::string>& sellers() const { return sellers_; }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  const std::string& AnySeller() {
    return sellers_[static_cast<size_t>(Uniform(0, static_cast<int>(sellers_.size()) - 1))];
  }
  std::string NewKey(const char* what) {
    return absl::StrCat(run_, "-c", id_, "-", what, "-", ++n_);
  }

  // Runs `attempt` until it answers OK or a definite failure, or the retry budget is spent.
  // `attempt` gets the context to use; every attempt reuses the same request (same key).
  Op& Issue(Op op, const std::function<grpc::Status(grpc::ClientContext*)>& attempt) {
    const TimePoint budget_end = Clock::now() + kRetryBudget;
    while (true) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + kAttemptDeadline);
      const std::string caller = CallerFor(op.kind);
      context.AddMetadata("x-qcash-caller", caller);
      const TimePoint started = Clock::now();
      const grpc::Status s = attempt(&context);
      if (s.ok()) {
        op.outcome = Outcome::kAcknowledged;
        qcash::MutexLock lock(&shared_->mu);
        shared_->acked_writes.push_back({op.kind, started, Clock::now()});
        break;
      }
      op.last_error = absl::StrCat(grpc::StatusCode(s.error_code()), " ",
                                   ReasonOf(FromGrpcStatus(s)), " ", s.error_message());
      {
        qcash::MutexLock lock(&shared_->mu);
        ++shared_->attempt_errors[absl::StrCat(op.kind, " code=", s.error_code(), " ",
                                               ReasonOf(FromGrpcStatus(s)))];
      }
      if (!Retryable(s)) {
        op.outcome = Outcome::kFailed;
        break;
      }
      if (Clock::now() >= budget_end) {
        op.outcome = Outcome::kUnknown;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ops_.push_back(std::move(op));
    return ops_.back();
  }

  static std::string CallerFor(const std::string& kind) {
    if (kind == "open") return "settlement";
    if (kind == "spend" || kind == "hold" || kind == "capture" || kind == "release") {
      return "adbooking";
    }
    if (kind == "points_events") return "marketplace";
    return "gateway";  // charges, conversions
  }

  void Mark(const std::string& seller, const wpb::Mutation& m) {
    qcash::MutexLock lock(&shared_->mu);
    shared_->marks[seller].push_back({Clock::now(), m.balance().version()});
  }

  // A new seller: a wallet, a card charge to start with, last month's service points and
  // their conversion into Qcash.
  void NewSeller() {
    const std::string seller = absl::StrCat(run_, "-c", id_, "-s", sellers_.size());
    sellers_.push_back(seller);
    {
      qcash::MutexLock lock(&shared_->mu);
      shared_->sellers.push_back(seller);
    }
    Op open{"open", seller, NewKey("open")};
    wpb::OpenWalletRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(open.key);
    wpb::OpenWalletResponse response;
    const Op& opened = Issue(
        open, [&](grpc::ClientContext* c) { return wallet_->OpenWallet(c, request, &response); });
    if (opened.outcome == Outcome::kAcknowledged) Mark(seller, response.result());
    ChargeFor(seller, ppb::PAYMENT_METHOD_CARD, 10'000);
    ConvertPoints(seller);
  }

  // Service points earned by `seller` at `at` (a points write). True when acknowledged.
  bool RecordPoints(const std::string& seller, absl::Time at, int64_t points) {
    Op events{"points_events", seller, NewKey("events")};
    events.amount = points;
    ptpb::RecordPointEventsRequest record;
    ptpb::PointEvent* e = record.add_events();
    e->set_event_id(events.key);
    e->set_seller_id(seller);
    e->set_product_no("P-1");
    e->set_product_name("Chaos product");
    e->set_category("General");
    e->set_component(ptpb::COMPONENT_SHIPPING);
    e->set_sale_type(ptpb::SALE_TYPE_GENERAL);
    e->set_points(points);
    e->mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(at));
    ptpb::RecordPointEventsResponse recorded;
    return Issue(events, [&](grpc::ClientContext* c) {
             return points_->RecordPointEvents(c, record, &recorded);
           }).outcome == Outcome::kAcknowledged;
  }

  void ConvertPoints(const std::string& seller) {
    // Service points of last month (JST), 1,234 of them: 1,200 convert, 34 lapse.
    const absl::TimeZone jst = absl::FixedTimeZone(9 * 3600);
    const absl::CivilMonth this_month(absl::ToCivilMonth(absl::Now(), jst));
    const absl::CivilMonth last_month = this_month - 1;
    const absl::Time at = absl::FromCivil(absl::CivilSecond(last_month) + 86400 * 9 + 43200, jst);
    if (!RecordPoints(seller, at, 1'234)) return;
    Op convert{"convert", seller, NewKey("convert")};
    convert.amount = 1'200;
    ptpb::ConvertPointsRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(convert.key);
    ptpb::ConvertPointsResponse response;
    Op& done = Issue(convert, [&](grpc::ClientContext* c) {
      return points_->ConvertPoints(c, request, &response);
    });
    if (done.outcome == Outcome::kAcknowledged) {
      done.reference = response.conversion().conversion_id();
    }
  }

  void Charge() {
    const bool card = Uniform(0, 1) == 0;
    ChargeFor(AnySeller(), card ? ppb::PAYMENT_METHOD_CARD : ppb::PAYMENT_METHOD_CONVENIENCE_STORE,
              Uniform(0, 1) == 0 ? 1'000 : 3'000);
  }

  void ChargeFor(const std::string& seller, ppb::PaymentMethod method, int64_t yen) {
    const bool card = method == ppb::PAYMENT_METHOD_CARD;
    Op op{card ? "charge_card" : "charge_konbini", seller, NewKey("charge")};
    op.amount = yen;
    ppb::CreateChargeOrderRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(op.key);
    request.set_denomination(static_cast<ppb::Denomination>(yen));
    request.set_method(method);
    if (card) request.set_payment_token("tok_visa");
    ppb::CreateChargeOrderResponse response;
    Op& done = Issue(op, [&](grpc::ClientContext* c) {
      return payment_->CreateChargeOrder(c, request, &response);
    });
    if (done.outcome != Outcome::kAcknowledged) return;
    done.reference = response.order().order_id();
    if (card) {
      done.paid_at_provider = response.order().state() == ppb::ORDER_STATE_PAID ||
                              response.order().state() == ppb::ORDER_STATE_CREDITED;
      return;
    }
    // The seller pays at the counter; the sandbox notifies the gateway's /webhooks (a
    // notification lost while the payment service is down is found by its reconciler).
    httplib::Client sandbox(sandbox_url_);
    sandbox.set_read_timeout(std::chrono::seconds(10));
    const std::string path =
        absl::StrCat("/sandbox/orders/", done.reference, "/complete?notify=sync");
    const TimePoint end = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < end) {
      auto r = sandbox.Post(path.c_str());
      if (r && r->status == 200) {
        done.paid_at_provider = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

  void Spend() {
    const std::string& seller = AnySeller();
    Op op{"spend", seller, NewKey("spend")};
    op.amount = Uniform(1, 8) * 100;
    op.reference = absl::StrCat("booking-", op.key);
    wpb::SpendRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(op.key);
    request.set_amount_yen(op.amount);
    request.set_product(wpb::AD_PRODUCT_TIME_SALE);
    request.set_booking_reference(op.reference);
    wpb::SpendResponse response;
    const Op& done =
        Issue(op, [&](grpc::ClientContext* c) { return wallet_->Spend(c, request, &response); });
    if (done.outcome == Outcome::kAcknowledged) Mark(seller, response.result());
  }

  void Hold() {
    const std::string& seller = AnySeller();
    Op op{"hold", seller, NewKey("hold")};
    op.amount = Uniform(1, 5) * 100;
    op.reference = absl::StrCat("booking-", op.key);
    wpb::HoldRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(op.key);
    request.set_amount_yen(op.amount);
    request.set_product(wpb::AD_PRODUCT_PLUS_KEYWORD);
    request.set_booking_reference(op.reference);
    wpb::HoldResponse response;
    Op& done =
        Issue(op, [&](grpc::ClientContext* c) { return wallet_->Hold(c, request, &response); });
    if (done.outcome == Outcome::kAcknowledged) {
      done.hold_id = response.hold_id();
      Mark(seller, response.result());
      pending_holds_.push_back(ops_.size() - 1);
    }
  }

  void ResolveHold() {
    if (pending_holds_.empty()) return;
    const size_t index = pending_holds_.front();
    pending_holds_.erase(pending_holds_.begin());
    const Op hold = ops_[index];
    const bool capture = Uniform(0, 1) == 0;
    Op op{capture ? "capture" : "release", hold.seller, NewKey(capture ? "capture" : "release")};
    op.hold_id = hold.hold_id;
    wpb::Mutation mutation;
    if (capture) {
      op.amount = Uniform(1, static_cast<int>(hold.amount / 100)) * 100;
      wpb::CaptureHoldRequest request;
      request.set_seller_id(hold.seller);
      request.set_idempotency_key(op.key);
      request.set_hold_id(hold.hold_id);
      request.set_amount_yen(op.amount);
      wpb::CaptureHoldResponse response;
      const Op& done = Issue(
          op, [&](grpc::ClientContext* c) { return wallet_->CaptureHold(c, request, &response); });
      if (done.outcome == Outcome::kAcknowledged) Mark(hold.seller, response.result());
    } else {
      op.amount = hold.amount;
      wpb::ReleaseHoldRequest request;
      request.set_seller_id(hold.seller);
      request.set_idempotency_key(op.key);
      request.set_hold_id(hold.hold_id);
      wpb::ReleaseHoldResponse response;
      const Op& done = Issue(
          op, [&](grpc::ClientContext* c) { return wallet_->ReleaseHold(c, request, &response); });
      if (done.outcome == Outcome::kAcknowledged) Mark(hold.seller, response.result());
    }
  }

  // A read of any client's seller: it must reflect every acknowledged write to that seller
  // that returned before the read started.
  void ReadBalance() {
    std::string seller;
    {
      qcash::MutexLock lock(&shared_->mu);
      seller = shared_->sellers[static_cast<size_t>(
          Uniform(0, static_cast<int>(shared_->sellers.size()) - 1))];
    }
    ReadBalanceOf(seller);
  }

  void ReadBalanceOf(const std::string& seller) {
    const TimePoint started = Clock::now();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kAttemptDeadline);
    context.AddMetadata("x-qcash-caller", "gateway");
    wpb::GetBalanceRequest request;
    request.set_seller_id(seller);
    wpb::GetBalanceResponse response;
    const grpc::Status s = wallet_->GetBalance(&context, request, &response);
    ++shared_->reads;
    if (!s.ok()) {
      ++shared_->reads_unavailable;
      return;
    }
    qcash::MutexLock lock(&shared_->mu);
    int64_t required = 0;
    for (const WriteMark& m : shared_->marks[seller]) {
      if (m.returned < started) required = std::max(required, m.version);
    }
    if (response.balance().version() < required) {
      ++shared_->stale_reads;
      if (shared_->stale_examples.size() < 10) {
        shared_->stale_examples.push_back(
            absl::StrCat("at ", absl::SixDigits(Seconds(started - shared_->start)), " s ", seller,
                         ": read version ", response.balance().version(),
                         " after a write returned version ", required));
      }
    }
  }

  const int id_;
  std::mt19937_64 rng_;
  const std::string run_;
  const std::string sandbox_url_;
  Shared* const shared_;
  const std::atomic<bool>* const stop_;
  std::unique_ptr<wpb::WalletService::Stub> wallet_;
  std::unique_ptr<ppb::PaymentService::Stub> payment_;
  std::unique_ptr<ptpb::PointsService::Stub> points_;
  std::vector<std::string> sellers_;
  std::vector<Op> ops_;
  std::vector<size_t> pending_holds_;  // indexes into ops_ of acknowledged holds
  int n_ = 0;
};

// ------------------------------------------------------------------------------ the system

// Everything the run started. Lives on the main thread (PR_SET_PDEATHSIG is per thread).
struct System {
  std::unique_ptr<Stack> stack;
  PaymentProcesses payment;
  std::map<std::string, std::string> payment_env;
  ServiceProcess points;
  std::map<std::string, std::string> points_env;
  testing::GatewayProcess gateway;
  Addresses addresses;
  bool ha = false;
};

absl::StatusOr<ServiceProcess> StartOn(const char* binary,
                                       const std::map<std::string, std::string>& env,
                                       const char* listen_env, const std::string& log,
                                       const std::string& address) {
  // A port just freed by a killed server can take a moment to bind again: a few tries.
  absl::Status last;
  for (int i = 0; i < 5; ++i) {
    auto started = testing::StartService(binary, env, listen_env, log, address);
    if (started.ok()) return started;
    last = started.status();
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return last;
}

absl::Status StartSystem(System* sys, bool ha) {
  sys->ha = ha;
  StackOptions options;
  options.ha_postgres = ha;
  auto stack = testing::StartStack("chaos", {"qcash_payment", "qcash_points"}, {}, options);
  if (!stack.ok()) return stack.status();
  sys->stack = std::move(*stack);
  const int gateway_port = FreePort();
  const std::string gateway_url = absl::StrCat("http://127.0.0.1:", gateway_port);
  // A notification lost while the payment service or its database is down is found by the
  // reconciler asking the provider: every 10 s here instead of production's 300 s, so that the
  // checker's wait for every paid order to be credited stays short.
  const std::map<std::string, std::string> poll = {{"QCASH_PAYMENT_POLL_INTERVAL_S", "10"}};
  auto payment = testing::StartPaymentWithSandbox(*sys->stack, gateway_url, "", poll);
  if (!payment.ok()) return payment.status();
  sys->payment = std::move(*payment);
  // The environment StartPaymentWithSandbox gave it, to start it again after a kill.
  sys->payment_env = {
      {"QCASH_PAYMENT_DATABASE_URL", sys->stack->DatabaseUrl("qcash_payment")},
      {"QCASH_WALLET_TARGET", sys->stack->wallet.address},
      {"QCASH_PAYMENT_DEV_SANDBOX", "1"},
      {"QCASH_PAYMENT_SANDBOX_URL", sys->payment.sandbox_url},
      {"QCASH_PAYMENT_SECRETS_FILE", sys->payment.secrets_file},
      {"QCASH_PAYMENT_RETURN_URL", gateway_url + "/charge/done"},
      {"QCASH_PAYMENT_RECONCILE_INTERVAL_MS", "200"},
      {"QCASH_PAYMENT_POLL_INTERVAL_S", "10"},
  };
  sys->points_env = {{"QCASH_POINTS_DATABASE_URL", sys->stack->DatabaseUrl("qcash_points")},
                     {"QCASH_WALLET_TARGET", sys->stack->wallet.address}};
  auto points = StartOn(QCASH_POINTS_BINARY, sys->points_env, "QCASH_POINTS_LISTEN",
                        sys->stack->dir + "/points.log", "");
  if (!points.ok()) return points.status();
  sys->points = std::move(*points);
  auto gateway = testing::StartGateway(
      *sys->stack, {{"QCASH_GATEWAY_LISTEN", absl::StrCat("127.0.0.1:", gateway_port)},
                    {"QCASH_PAYMENT_TARGET", sys->payment.payment.address},
                    {"QCASH_POINTS_TARGET", sys->points.address},
                    {"QCASH_GATEWAY_RATE_LIMIT", "1000000"},
                    {"QCASH_GATEWAY_WEBHOOK_RATE_LIMIT", "1000000"},
                    {"QCASH_GATEWAY_WEBHOOK_ADDRESS_RATE_LIMIT", "1000000"}});
  if (!gateway.ok()) return gateway.status();
  sys->gateway = std::move(*gateway);
  sys->addresses = {sys->stack->wallet.address, sys->payment.payment.address, sys->points.address,
                    sys->payment.sandbox_url};
  return absl::OkStatus();
}

// The seam for Redis: today one RedisServer (kill = stop, recover = start again empty); with
// tests/harness/redis_ha.h this becomes the Sentinel group's KillMaster() and the wait for the
// new master.
struct RedisFault {
  static absl::Status Kill(System* sys) { return sys->stack->redis->Stop(); }
  static absl::Status Recover(System* sys) { return sys->stack->redis->Restart(); }
};

// ------------------------------------------------------------------------------ the nemesis

class Nemesis {
 public:
  Nemesis(System* sys, uint64_t seed) : sys_(sys), rng_(seed) {}

  // Injects faults until `until`; returns the first fault the harness could not recover from.
  absl::Status Run(TimePoint until) {
    const std::vector<std::string> kinds = {
        "kill_wallet", "kill_payment", "kill_points", sys_->ha ? "kill_pg_primary" : "restart_pg",
        "kill_redis",  "pause"};
    std::vector<std::string> order;
    while (true) {
      // Quiet time between faults: the system must also show that it recovers.
      const auto quiet = std::chrono::milliseconds(Uniform(3'000, 7'000));
      if (Clock::now() + quiet >= until) break;
      std::this_thread::sleep_for(quiet);
      if (order.empty()) {  // every kind once per round, in a seeded order
        order = kinds;
        std::shuffle(order.begin(), order.end(), rng_);
      }
      const std::string kind = order.back();
      order.pop_back();
      absl::Status s = Inject(kind);
      if (!s.ok()) return absl::Status(s.code(), absl::StrCat(kind, ": ", s.message()));
    }
    return absl::OkStatus();
  }

  const std::vector<Fault>& faults() const { return faults_; }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  absl::Status Inject(const std::string& kind) {
    Fault fault;
    fault.kind = kind;
    fault.injected = Clock::now();
    std::fprintf(stderr, "[nemesis] %.1fs %s\n", Seconds(fault.injected - start_), kind.c_str());
    absl::Status s;
    if (kind == "kill_wallet") {
      fault.injected = Clock::now();
      s = sys_->stack->RestartWallet(/*kill=*/true);
    } else if (kind == "kill_payment") {
      sys_->payment.payment.process->Stop(SIGKILL);
      fault.injected = Clock::now();
      auto p = StartOn(QCASH_PAYMENT_BINARY, sys_->payment_env, "QCASH_PAYMENT_LISTEN",
                       sys_->stack->dir + "/payment.log", sys_->addresses.payment);
      if (p.ok()) sys_->payment.payment = std::move(*p);
      s = p.status();
    } else if (kind == "kill_points") {
      sys_->points.process->Stop(SIGKILL);
      fault.injected = Clock::now();
      auto p = StartOn(QCASH_POINTS_BINARY, sys_->points_env, "QCASH_POINTS_LISTEN",
                       sys_->stack->dir + "/points.log", sys_->addresses.points);
      if (p.ok()) sys_->points = std::move(*p);
      s = p.status();
    } else if (kind == "kill_pg_primary") {
      testing::PgHaCluster* pg = sys_->stack->pg_ha.get();
      auto old = pg->KillPrimary();
      fault.injected = Clock::now();
      s = old.status();
      if (s.ok()) {
        auto primary = pg->WaitForNewPrimary(*old, std::chrono::seconds(120));
        s = primary.status();
        if (s.ok()) {
          std::fprintf(stderr, "[nemesis] node%d is primary after %.1fs\n", *primary,
                       Seconds(Clock::now() - fault.injected));
          s = pg->RestartNode(*old);
        }
        if (s.ok()) s = pg->WaitForSecondary(std::chrono::seconds(180));
        if (!s.ok()) s = absl::Status(s.code(), absl::StrCat(s.message(), "; ", pg->Describe()));
      }
    } else if (kind == "restart_pg") {  // single PostgreSQL (--single-pg): a fast restart
      s = sys_->stack->pg->Restart();
    } else if (kind == "kill_redis") {
      s = RedisFault::Kill(sys_);
      fault.injected = Clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(Uniform(1'000, 3'000)));
      if (s.ok()) s = RedisFault::Recover(sys_);
    } else if (kind == "pause") {
      const int which = Uniform(0, 2);
      const char* names[] = {"pause_wallet", "pause_payment", "pause_points"};
      fault.kind = names[which];
      testing::Process* p = which == 0   ? sys_->stack->wallet.process.get()
                            : which == 1 ? sys_->payment.payment.process.get()
                                         : sys_->points.process.get();
      kill(p->pid(), SIGSTOP);
      fault.injected = Clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(Uniform(2'000, 5'000)));
      kill(p->pid(), SIGCONT);
    }
    fault.recovery_s = Seconds(Clock::now() - fault.injected);
    faults_.push_back(fault);
    return s;
  }

 public:
  TimePoint start_ = Clock::now();

 private:
  System* sys_;
  std::mt19937_64 rng_;
  std::vector<Fault> faults_;
};

// ------------------------------------------------------------------------------ the checker

struct Journal {
  std::vector<wpb::HistoryEntry> entries;
  wpb::Balance balance;
};

template <typename Call>
grpc::Status Patiently(Call call) {
  grpc::Status s;
  for (int i = 0; i < 150; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kAttemptDeadline);
    context.AddMetadata("x-qcash-caller", "gateway");
    s = call(&context);
    if (s.ok() || !Retryable(s)) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return s;
}

absl::StatusOr<Journal> ReadJournal(wpb::WalletService::Stub* wallet, const std::string& seller) {
  Journal j;
  std::string token;
  do {
    wpb::ListHistoryRequest request;
    request.set_seller_id(seller);
    request.set_page_size(500);
    request.set_page_token(token);
    wpb::ListHistoryResponse response;
    const grpc::Status s = Patiently(
        [&](grpc::ClientContext* c) { return wallet->ListHistory(c, request, &response); });
    if (!s.ok()) return FromGrpcStatus(s);
    for (const auto& e : response.entries()) j.entries.push_back(e);
    token = response.next_page_token();
  } while (!token.empty());
  wpb::GetBalanceRequest request;
  request.set_seller_id(seller);
  wpb::GetBalanceResponse response;
  const grpc::Status s =
      Patiently([&](grpc::ClientContext* c) { return wallet->GetBalance(c, request, &response); });
  if (!s.ok()) return FromGrpcStatus(s);
  j.balance = response.balance();
  return j;
}

struct Figures {
  std::map<std::string, std::map<std::string, int>> ops;  // kind -> outcome -> count
  int lost = 0;
  int doubled = 0;
  int failed_but_applied = 0;
  int balance_mismatches = 0;
  int paid_not_credited_once = 0;
  int paid_orders = 0;
  int64_t stale_reads = 0;
  bool audit_ok = false;
  std::vector<std::string> problems;
};

void Problem(Figures* f, std::string text) {
  if (f->problems.size() < 40) f->problems.push_back(std::move(text));
}

int CountMatching(const Journal& j, const Op& op) {
  int n = 0;
  for (const auto& e : j.entries) {
    if (op.kind == "spend") {
      n += e.type() == wpb::ENTRY_TYPE_AD_SPEND && e.reference() == op.reference;
    } else if (op.kind == "hold") {
      n += e.type() == wpb::ENTRY_TYPE_AD_HOLD && e.reference() == op.reference;
    } else if (op.kind == "capture") {
      n += e.type() == wpb::ENTRY_TYPE_AD_CAPTURE && e.hold_id() == op.hold_id;
    } else if (op.kind == "release") {
      n += e.type() == wpb::ENTRY_TYPE_AD_RELEASE && e.hold_id() == op.hold_id;
    }
  }
  return n;
}

void Check(System* sys, const std::vector<std::unique_ptr<Client>>& clients, Figures* f) {
  auto wallet = wpb::WalletService::NewStub(FastReconnectChannel(sys->addresses.wallet));
  auto points = ptpb::PointsService::NewStub(FastReconnectChannel(sys->addresses.points));

  // Orders: wait (bounded) until the payment service has credited every paid order, then
  // read every order of the run's sellers.
  auto payment_db = PgConnection::Connect(sys->stack->DatabaseUrl("qcash_payment"), "qcash-chaos");
  if (!payment_db.ok()) {
    Problem(f, absl::StrCat("payment database: ", payment_db.status().ToString()));
    ++f->paid_not_credited_once;
    return;
  }
  std::vector<std::string> sellers;
  for (const auto& c : clients) {
    for (const auto& s : c->sellers()) sellers.push_back(s);
  }
  const std::string prefix = sellers.empty() ? "" : sellers[0].substr(0, sellers[0].find("-c"));
  // The orders the clients know were paid at the provider (card answers, counter payments).
  std::map<std::string, bool> paid_at_provider;
  for (const auto& c : clients) {
    for (const Op& op : c->ops()) {
      if (op.kind.rfind("charge_", 0) == 0 && op.outcome == Outcome::kAcknowledged) {
        paid_at_provider[op.reference] = op.paid_at_provider;
      }
    }
  }
  const TimePoint settle_end = Clock::now() + std::chrono::seconds(120);
  std::map<std::string, std::pair<std::string, int64_t>> orders;  // id -> (seller, state)
  while (true) {
    auto r = (*payment_db)
                 ->Exec(
                     "SELECT order_id, seller_id, state, amount_yen FROM charge_orders "
                     "WHERE seller_id LIKE $1",
                     {prefix + "-%"});
    if (!r.ok()) {
      Problem(f, absl::StrCat("charge_orders: ", r.status().ToString()));
      return;
    }
    orders.clear();
    int pending = 0;
    for (int i = 0; i < r->rows(); ++i) {
      const int64_t state = r->GetInt64(i, 2);
      orders[std::string(r->Get(i, 0))] = {std::string(r->Get(i, 1)), state};
      const std::string id(r->Get(i, 0));
      pending += state == ppb::ORDER_STATE_PAID || state == ppb::ORDER_STATE_CREATED ||
                 (state != ppb::ORDER_STATE_CREDITED && paid_at_provider[id]);
    }
    if (pending == 0 || Clock::now() > settle_end) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

  // Conversions: an acknowledged one completes in the background; wait for it (bounded).
  for (const auto& c : clients) {
    for (const Op& op : c->ops()) {
      if (op.kind != "convert" || op.outcome != Outcome::kAcknowledged) continue;
      for (int i = 0; i < 120; ++i) {
        ptpb::GetMonthSummaryRequest request;
        request.set_seller_id(op.seller);
        ptpb::GetMonthSummaryResponse response;
        const grpc::Status s = Patiently([&](grpc::ClientContext* ctx) {
          return points->GetMonthSummary(ctx, request, &response);
        });
        if (s.ok() && response.conversion().conversion().completed()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    }
  }

  std::map<std::string, Journal> journals;
  for (const std::string& seller : sellers) {
    auto j = ReadJournal(wallet.get(), seller);
    if (!j.ok()) {
      // A seller whose OpenWallet never took effect has no wallet (NOT_FOUND): nothing to check.
      if (j.status().code() != absl::StatusCode::kNotFound) {
        Problem(f, absl::StrCat(seller, ": journal unreadable: ", j.status().ToString()));
        ++f->lost;
      }
      continue;
    }
    journals[seller] = std::move(*j);
  }

  // Every operation the clients issued against the journal.
  for (const auto& c : clients) {
    for (const Op& op : c->ops()) {
      ++f->ops[op.kind][OutcomeName(op.outcome)];
      if (op.kind != "spend" && op.kind != "hold" && op.kind != "capture" && op.kind != "release") {
        continue;
      }
      auto j = journals.find(op.seller);
      const int n = j == journals.end() ? 0 : CountMatching(j->second, op);
      if (n > 1) {
        ++f->doubled;
        Problem(f, absl::StrCat("doubled: ", op.kind, " ", op.key, " of ", op.seller, " x", n));
      }
      if (op.outcome == Outcome::kAcknowledged && n == 0) {
        ++f->lost;
        Problem(f, absl::StrCat("lost: ", op.kind, " ", op.key, " of ", op.seller));
      }
      if (op.outcome == Outcome::kFailed && n > 0) {
        ++f->failed_but_applied;
        Problem(f, absl::StrCat("answered failed but applied: ", op.kind, " ", op.key, " (",
                                op.last_error, ")"));
      }
    }
  }

  // Charges: every order paid at the provider credited exactly once, no other order credited.
  for (const auto& c : clients) {
    for (const Op& op : c->ops()) {
      if (op.kind.rfind("charge_", 0) == 0 && op.outcome == Outcome::kAcknowledged &&
          orders.count(op.reference) == 0) {
        ++f->lost;
        Problem(f, absl::StrCat("lost: acknowledged order ", op.reference, " not stored"));
      }
    }
  }
  for (const auto& [order_id, info] : orders) {
    const auto& [seller, state] = info;
    const bool paid = state == ppb::ORDER_STATE_PAID || state == ppb::ORDER_STATE_CREDITED ||
                      paid_at_provider[order_id];
    int credits = 0;
    auto j = journals.find(seller);
    if (j != journals.end()) {
      for (const auto& e : j->second.entries) {
        credits += e.type() == wpb::ENTRY_TYPE_CHARGE && e.reference() == order_id;
      }
    }
    if (paid) ++f->paid_orders;
    if (credits > 1) {
      ++f->doubled;
      Problem(f, absl::StrCat("doubled: order ", order_id, " credited ", credits, " times"));
    }
    if (paid && (credits != 1 || state != ppb::ORDER_STATE_CREDITED)) {
      ++f->paid_not_credited_once;
      Problem(f, absl::StrCat("paid order ", order_id, " state ", state, " credited ", credits,
                              " times"));
    }
    if (!paid && credits > 0) {
      ++f->doubled;
      Problem(f, absl::StrCat("order ", order_id, " not paid (state ", state, ") but credited"));
    }
  }

  // Conversions: at most one per seller and month; an acknowledged one exactly once.
  for (const auto& c : clients) {
    for (const Op& op : c->ops()) {
      if (op.kind != "convert") continue;
      auto j = journals.find(op.seller);
      int n = 0;
      if (j != journals.end()) {
        for (const auto& e : j->second.entries) n += e.type() == wpb::ENTRY_TYPE_POINTS_CONVERSION;
      }
      if (n > 1) {
        ++f->doubled;
        Problem(f, absl::StrCat("doubled: conversion of ", op.seller, " x", n));
      }
      if (op.outcome == Outcome::kAcknowledged && n == 0) {
        ++f->lost;
        Problem(f, absl::StrCat("lost: conversion ", op.reference, " of ", op.seller));
      }
      if (op.outcome == Outcome::kFailed && n > 0) {
        ++f->failed_but_applied;
        Problem(f, absl::StrCat("conversion answered failed but applied: ", op.seller, " (",
                                op.last_error, ")"));
      }
    }
  }

  // Balances equal the journal: the sum of the seller's moves and the last entry's balances.
  for (const auto& [seller, j] : journals) {
    int64_t available = 0;
    int64_t held = 0;
    for (const auto& e : j.entries) {
      if (e.credit_account() == wpb::ACCOUNT_SELLER_AVAILABLE) available += e.amount_yen();
      if (e.debit_account() == wpb::ACCOUNT_SELLER_AVAILABLE) available -= e.amount_yen();
      if (e.credit_account() == wpb::ACCOUNT_SELLER_HELD) held += e.amount_yen();
      if (e.debit_account() == wpb::ACCOUNT_SELLER_HELD) held -= e.amount_yen();
    }
    // ListHistory answers newest first.
    const bool last_ok = j.entries.empty() ||
                         (j.entries.front().available_after_yen() == j.balance.available_yen() &&
                          j.entries.front().held_after_yen() == j.balance.held_yen());
    if (available != j.balance.available_yen() || held != j.balance.held_yen() || !last_ok) {
      ++f->balance_mismatches;
      Problem(f, absl::StrCat("balance of ", seller, ": available ", j.balance.available_yen(),
                              " held ", j.balance.held_yen(), ", journal says ", available, " / ",
                              held));
    }
  }

  const absl::Status audit = testing::AuditWalletLedger(sys->stack->wallet_db_url);
  f->audit_ok = audit.ok();
  if (!audit.ok()) Problem(f, absl::StrCat("audit: ", audit.ToString()));
}

// The longest time, over the faults of each kind, from the fault to the first acknowledged
// write (of the kinds that fault touches) whose successful attempt started after it.
std::map<std::string, double> LongestUnavailability(const std::vector<Fault>& faults,
                                                    const std::vector<AckedWrite>& writes) {
  auto touches = [](const std::string& fault, const std::string& kind) {
    const bool wallet_write =
        kind == "spend" || kind == "hold" || kind == "capture" || kind == "release";
    if (fault.find("payment") != std::string::npos) return kind.rfind("charge_", 0) == 0;
    if (fault.find("points") != std::string::npos) {
      return kind == "convert" || kind == "points_events";
    }
    return wallet_write;
  };
  std::map<std::string, double> longest;
  for (const Fault& fault : faults) {
    double best = -1;
    for (const AckedWrite& w : writes) {
      if (w.started < fault.injected || !touches(fault.kind, w.kind)) continue;
      const double d = Seconds(w.acked - fault.injected);
      if (best < 0 || d < best) best = d;
    }
    auto it = longest.find(fault.kind);
    if (it == longest.end()) {
      longest[fault.kind] = best;
    } else {
      it->second = std::max(it->second, best);
    }
  }
  return longest;
}

int Main(int argc, char** argv) {
  int seconds = 120;
  int clients_n = 4;
  bool ha = true;
  bool self_test = false;
  uint64_t seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : "";
    const bool numeric = (arg == "--seconds" && absl::SimpleAtoi(value, &seconds)) ||
                         (arg == "--seed" && absl::SimpleAtoi(value, &seed)) ||
                         (arg == "--clients" && absl::SimpleAtoi(value, &clients_n));
    if (numeric) {
      ++i;
    } else if (arg == "--single-pg") {
      ha = false;
    } else if (arg == "--checker-self-test") {
      self_test = true;
    } else {
      std::fprintf(stderr,
                   "usage: qcash-chaos [--seconds N (10..3600)] [--seed S] [--clients C (1..16)] "
                   "[--single-pg] [--checker-self-test]\n");
      return 2;
    }
  }
  seconds = std::clamp(seconds, 10, 3600);
  clients_n = std::clamp(clients_n, 1, 16);
  std::printf("chaos: seed %llu, %d s, %d clients, %s PostgreSQL\n",
              static_cast<unsigned long long>(seed), seconds, clients_n,
              ha ? "pg_auto_failover" : "single");
  std::fflush(stdout);

  System sys;
  const TimePoint setup_start = Clock::now();
  absl::Status started = StartSystem(&sys, ha);
  if (!started.ok()) {
    std::fprintf(stderr, "chaos: the system did not start: %s\n", started.ToString().c_str());
    if (sys.stack) sys.stack->keep = true;
    return 1;
  }
  std::printf("chaos: system up in %.1f s (state in %s)\n", Seconds(Clock::now() - setup_start),
              sys.stack->dir.c_str());
  std::fflush(stdout);

  Shared shared;
  std::atomic<bool> stop{false};
  const std::string run = absl::StrCat("chaos", seed % 1'000'000);
  std::vector<std::unique_ptr<Client>> clients;
  clients.reserve(static_cast<size_t>(clients_n));
  std::mt19937_64 seeds(seed);
  for (int i = 0; i < clients_n; ++i) {
    clients.push_back(std::make_unique<Client>(i, seeds(), run, sys.addresses, &shared, &stop));
  }
  std::vector<std::thread> threads;
  threads.reserve(clients.size());
  const TimePoint start = Clock::now();
  shared.start = start;
  for (auto& c : clients) threads.emplace_back([&c] { c->Run(); });

  Nemesis nemesis(&sys, seeds());
  nemesis.start_ = start;
  const absl::Status nemesis_status = nemesis.Run(start + std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  if (self_test) clients[0]->Sabotage();
  const double workload_s = Seconds(Clock::now() - start);
  if (!nemesis_status.ok()) {
    std::fprintf(stderr, "chaos: a fault was not recovered: %s\n",
                 nemesis_status.ToString().c_str());
  }

  Figures f;
  const TimePoint check_start = Clock::now();
  Check(&sys, clients, &f);
  f.stale_reads = shared.stale_reads.load();

  std::printf("\n== chaos figures (seed %llu) ==\n", static_cast<unsigned long long>(seed));
  std::printf("workload %.0f s with %d clients; checker %.0f s\n", workload_s, clients_n,
              Seconds(Clock::now() - check_start));
  int acked = 0;
  int unknown = 0;
  int failed = 0;
  for (const auto& kind_outcomes : f.ops) {
    const std::string& kind = kind_outcomes.first;
    const std::map<std::string, int>& outcomes = kind_outcomes.second;
    auto get = [&](const char* o) {
      auto it = outcomes.find(o);
      return it == outcomes.end() ? 0 : it->second;
    };
    std::printf("  %-14s acknowledged %5d  failed %4d  unknown %3d\n", kind.c_str(),
                get("acknowledged"), get("failed"), get("unknown"));
    acked += get("acknowledged");
    failed += get("failed");
    unknown += get("unknown");
  }
  std::printf(
      "operations: acknowledged %d, failed %d, unknown %d; balance reads %lld "
      "(%lld unanswered)\n",
      acked, failed, unknown, static_cast<long long>(shared.reads.load()),
      static_cast<long long>(shared.reads_unavailable.load()));
  std::map<std::string, int> fault_counts;
  for (const Fault& fault : nemesis.faults()) ++fault_counts[fault.kind];
  std::vector<AckedWrite> writes;
  std::map<std::string, int64_t> errors;
  std::vector<std::string> stale_examples;
  {
    qcash::MutexLock lock(&shared.mu);
    writes = shared.acked_writes;
    errors = shared.attempt_errors;
    stale_examples = shared.stale_examples;
  }
  const auto longest = LongestUnavailability(nemesis.faults(), writes);
  std::printf("faults injected: %zu\n", nemesis.faults().size());
  for (const auto& [kind, n] : fault_counts) {
    double recovery = 0;
    for (const Fault& fault : nemesis.faults()) {
      if (fault.kind == kind) recovery = std::max(recovery, fault.recovery_s);
    }
    const double l = longest.at(kind);
    std::printf(
        "  %-16s %3d  longest unavailability %s  (longest recovery by the nemesis "
        "%.1f s)\n",
        kind.c_str(), n, l < 0 ? "n/a (no write after it)" : absl::StrCat(l, " s").c_str(),
        recovery);
  }
  std::printf("errors answered to attempts (retried when not definite):\n");
  for (const auto& [what, n] : errors) {
    std::printf("  %6lld  %s\n", static_cast<long long>(n), what.c_str());
  }
  std::printf("paid orders %d; not credited exactly once %d\n", f.paid_orders,
              f.paid_not_credited_once);
  std::printf(
      "lost %d, doubled %d, failed-but-applied %d, stale reads %lld, balance != journal "
      "%d, audit %s\n",
      f.lost, f.doubled, f.failed_but_applied, static_cast<long long>(f.stale_reads),
      f.balance_mismatches, f.audit_ok ? "clean" : "FAILED");
  for (const std::string& s : stale_examples) std::printf("  stale: %s\n", s.c_str());
  for (const std::string& p : f.problems) std::printf("  problem: %s\n", p.c_str());
  const bool ok = nemesis_status.ok() && f.lost == 0 && f.doubled == 0 &&
                  f.failed_but_applied == 0 && f.stale_reads == 0 && f.balance_mismatches == 0 &&
                  f.paid_not_credited_once == 0 && f.audit_ok && acked > 0;
  if (self_test) {
    // The checker must have found exactly the fabricated lost write and stale read.
    const bool caught = nemesis_status.ok() && f.lost == 1 && f.stale_reads == 1 &&
                        f.doubled == 0 && f.failed_but_applied == 0 && f.balance_mismatches == 0 &&
                        f.paid_not_credited_once == 0 && f.audit_ok;
    std::printf("chaos: checker self-test %s (it %s the fabricated lost write and stale read)\n",
                caught ? "PASS" : "FAIL", caught ? "caught" : "did not catch exactly");
    sys.stack->keep = !caught;
    sys.gateway.process.reset();
    sys.points.process.reset();
    sys.payment.payment.process.reset();
    sys.payment.sandbox.reset();
    return caught ? 0 : 1;
  }
  std::printf("chaos: %s\n", ok ? "PASS" : "FAIL");
  std::fflush(stdout);
  sys.stack->keep = !ok;  // keep the logs of a failed run
  if (!ok) std::printf("chaos: logs kept in %s\n", sys.stack->dir.c_str());
  // Stop the services before the stack (they hold its databases).
  sys.gateway.process.reset();
  sys.points.process.reset();
  sys.payment.payment.process.reset();
  sys.payment.sandbox.reset();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace qcash::chaos

int main(int argc, char** argv) { return qcash::chaos::Main(argc, argv); }
