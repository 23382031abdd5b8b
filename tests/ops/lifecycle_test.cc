// How the real binaries behave for the people who run them: readiness goes false on SIGTERM
// before in-flight calls drain while liveness stays true, shutdown finishes within its grace
// period and loses nothing, and /metrics exposes what the alerts need with bounded labels.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;
using Clock = std::chrono::steady_clock;

struct Env {
  std::unique_ptr<Stack> stack;
};
Env* env = nullptr;

class LifecycleEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    auto stack = StartStack("lifecycle");
    ASSERT_TRUE(stack.ok()) << stack.status();
    env->stack = std::move(*stack);
  }
  void TearDown() override {
    env->stack->keep = !::testing::UnitTest::GetInstance()->Passed();
    delete env;
  }
};

// A second wallet process on the same database and Redis, with `extra` settings.
ServiceProcess StartWallet(std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> settings = env->stack->wallet_env;
  for (auto& [k, v] : extra) settings[k] = v;
  static std::atomic<int> n{0};
  auto wallet = StartService(QCASH_WALLET_BINARY, settings, "QCASH_WALLET_LISTEN",
                             absl::StrCat(env->stack->dir, "/wallet-lifecycle-", n++, ".log"));
  EXPECT_TRUE(wallet.ok()) << wallet.status();
  return wallet.ok() ? std::move(*wallet) : ServiceProcess{};
}

grpc::Status Call(pb::WalletService::Stub* stub, const char* caller,
                  const std::function<grpc::Status(grpc::ClientContext*)>& f) {
  grpc::ClientContext context;
  context.AddMetadata("x-qcash-caller", caller);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return f(&context);
}

void OpenAndFund(pb::WalletService::Stub* stub, const std::string& seller, int64_t yen) {
  pb::OpenWalletRequest open;
  open.set_seller_id(seller);
  open.set_idempotency_key("open-" + seller);
  pb::OpenWalletResponse opened;
  ASSERT_TRUE(
      Call(stub, "settlement", [&](auto* c) { return stub->OpenWallet(c, open, &opened); }).ok());
  pb::CreditRequest credit;
  credit.set_seller_id(seller);
  credit.set_idempotency_key("fund-" + seller);
  credit.set_amount_yen(yen);
  credit.set_source(pb::CREDIT_SOURCE_CHARGE);
  credit.set_reference("order-" + seller);
  pb::CreditResponse credited;
  ASSERT_TRUE(
      Call(stub, "payment", [&](auto* c) { return stub->Credit(c, credit, &credited); }).ok());
}

class LifecycleTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }
};

// SIGTERM: not ready at once, live all along, calls still answered while load balancers catch
// up, then a clean exit within the grace period.
TEST_F(LifecycleTest, ReadinessFallsFirstLivenessStaysExitWithinGrace) {
  ServiceProcess wallet =
      StartWallet({{"QCASH_UNREADY_DELAY_MS", "1500"}, {"QCASH_DRAIN_TIMEOUT_MS", "3000"}});
  ASSERT_NE(wallet.process, nullptr);
  auto stub = pb::WalletService::NewStub(
      grpc::CreateChannel(wallet.address, grpc::InsecureChannelCredentials()));
  OpenAndFund(stub.get(), "lifecycle-ready", 1'000);
  const auto sent = Clock::now();
  kill(wallet.process->pid(), SIGTERM);
  bool saw_unready = false;
  while (Clock::now() - sent < std::chrono::milliseconds(1000)) {
    auto ready = IsServing(wallet.address, nullptr, "");
    if (ready.ok() && !*ready) {
      saw_unready = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(saw_unready) << "readiness did not go NOT_SERVING after SIGTERM";
  auto live = IsServing(wallet.address, nullptr, "liveness");
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_TRUE(*live) << "liveness must stay SERVING while draining";
  auto own = IsServing(wallet.address, nullptr, "qcash.wallet.v1.WalletService");
  ASSERT_TRUE(own.ok());
  EXPECT_FALSE(*own);
  // Still answering during the not-ready delay.
  pb::GetBalanceRequest read;
  read.set_seller_id("lifecycle-ready");
  pb::GetBalanceResponse balance;
  EXPECT_TRUE(
      Call(stub.get(), "ops", [&](auto* c) { return stub->GetBalance(c, read, &balance); }).ok());
  auto exit = wallet.process->WaitExit(std::chrono::seconds(8));  // grace: 1.5 s + 3 s drain
  ASSERT_TRUE(exit.ok()) << "the wallet did not exit within its grace period";
  EXPECT_TRUE(WIFEXITED(*exit));
  EXPECT_EQ(WEXITSTATUS(*exit), 0);
  EXPECT_LT(Clock::now() - sent, std::chrono::seconds(8));
}

// The gateway the same way, over HTTP: /readyz answers 503 at once after SIGTERM, /healthz
// stays 200, requests are still served during the not-ready delay, then a clean exit in time.
TEST_F(LifecycleTest, GatewayReadinessFallsFirstThenExitsWithinGrace) {
  auto gateway = StartGateway(
      *env->stack, {{"QCASH_UNREADY_DELAY_MS", "1500"}, {"QCASH_DRAIN_TIMEOUT_MS", "2000"}});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  httplib::Client http(gateway->host, gateway->port);
  http.set_connection_timeout(std::chrono::seconds(2));
  auto before = http.Get("/readyz");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  const auto sent = Clock::now();
  kill(gateway->process->pid(), SIGTERM);
  bool saw_unready = false;
  while (Clock::now() - sent < std::chrono::milliseconds(1000)) {
    auto ready = http.Get("/readyz");
    if (ready && ready->status == 503) {
      saw_unready = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(saw_unready) << "/readyz did not answer 503 after SIGTERM";
  auto live = http.Get("/healthz");
  ASSERT_TRUE(live) << "the gateway stopped answering during its not-ready delay";
  EXPECT_EQ(live->status, 200);
  auto page = http.Get("/openapi.json");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  auto exit = gateway->process->WaitExit(std::chrono::seconds(6));  // 1.5 s + 2 s drain
  ASSERT_TRUE(exit.ok()) << "the gateway did not exit within its grace period";
  EXPECT_TRUE(WIFEXITED(*exit));
  EXPECT_EQ(WEXITSTATUS(*exit), 0);
}

// Calls in flight at SIGTERM finish or fail cleanly; every spend answered OK is in the journal
// and no spend is in the journal that was not answered OK or left unanswered.
TEST_F(LifecycleTest, InFlightCallsDrainAndNothingIsLost) {
  ServiceProcess wallet =
      StartWallet({{"QCASH_UNREADY_DELAY_MS", "300"}, {"QCASH_DRAIN_TIMEOUT_MS", "5000"}});
  ASSERT_NE(wallet.process, nullptr);
  auto stub = pb::WalletService::NewStub(
      grpc::CreateChannel(wallet.address, grpc::InsecureChannelCredentials()));
  const std::string seller = "lifecycle-drain";
  OpenAndFund(stub.get(), seller, 1'000'000);
  std::atomic<int> ok{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; !stop; ++i) {
        pb::SpendRequest spend;
        spend.set_seller_id(seller);
        spend.set_idempotency_key(absl::StrCat("drain-", c, "-", i));
        spend.set_amount_yen(1);
        spend.set_product(pb::AD_PRODUCT_TIME_SALE);
        spend.set_booking_reference("drain");
        pb::SpendResponse spent;
        const grpc::Status s = Call(stub.get(), "adbooking",
                                    [&](auto* ctx) { return stub->Spend(ctx, spend, &spent); });
        (s.ok() ? ok : failed)++;
        if (!s.ok()) return;  // the server is going away
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(wallet.process->pid(), SIGTERM);
  auto exit = wallet.process->WaitExit(std::chrono::seconds(10));
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(WEXITSTATUS(*exit), 0);
  EXPECT_GT(ok.load(), 0);
  // Count the spends the journal holds through the test stack's own wallet.
  auto main = pb::WalletService::NewStub(
      grpc::CreateChannel(env->stack->wallet.address, grpc::InsecureChannelCredentials()));
  pb::GetBalanceRequest read;
  read.set_seller_id(seller);
  pb::GetBalanceResponse balance;
  ASSERT_TRUE(
      Call(main.get(), "ops", [&](auto* c) { return main->GetBalance(c, read, &balance); }).ok());
  const int64_t journaled = 1'000'000 - balance.balance().available_yen();
  EXPECT_GE(journaled, ok.load()) << "a spend answered OK is missing from the ledger";
  EXPECT_LE(journaled, ok.load() + failed.load()) << "the ledger holds spends nobody asked for";
}

TEST_F(LifecycleTest, MetricsExposeWhatAlertsNeedWithoutSellerIds) {
  const int metrics_port = FreePort();
  ServiceProcess wallet =
      StartWallet({{"QCASH_METRICS_LISTEN", absl::StrCat("127.0.0.1:", metrics_port)},
                   {"QCASH_WALLET_AUDIT_INTERVAL_S", "1"}});
  ASSERT_NE(wallet.process, nullptr);
  auto stub = pb::WalletService::NewStub(
      grpc::CreateChannel(wallet.address, grpc::InsecureChannelCredentials()));
  const std::string seller = "metrics-seller-7f3a";
  OpenAndFund(stub.get(), seller, 5'000);
  pb::GetBalanceRequest read;
  read.set_seller_id(seller);
  pb::GetBalanceResponse balance;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        Call(stub.get(), "ops", [&](auto* c) { return stub->GetBalance(c, read, &balance); }).ok());
  }
  pb::HoldRequest hold;
  hold.set_seller_id(seller);
  hold.set_idempotency_key("metrics-hold");
  hold.set_amount_yen(100);
  hold.set_product(pb::AD_PRODUCT_TIME_SALE);
  hold.set_booking_reference("m");
  pb::HoldResponse held;
  ASSERT_TRUE(
      Call(stub.get(), "adbooking", [&](auto* c) { return stub->Hold(c, hold, &held); }).ok());
  ASSERT_TRUE(
      Call(stub.get(), "adbooking", [&](auto* c) { return stub->Hold(c, hold, &held); }).ok());
  httplib::Client client("127.0.0.1", metrics_port);
  std::string body;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {  // the audit and the holds gauge run on the sweeper's beat
    auto response = client.Get("/metrics");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    body = response->body;
    if (body.find("qcash_ledger_audit_ok 1") != std::string::npos &&
        body.find("qcash_wallet_holds_pending ") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (const char* expected :
       {"qcash_grpc_server_handled_total{method=\"/qcash.wallet.v1.WalletService/"
        "Hold\",code=\"OK\"}",
        "qcash_grpc_server_handling_seconds_bucket{method=\"/qcash.wallet.v1.WalletService/"
        "GetBalance\"",
        "qcash_db_seconds_count{statement=\"pipeline\"}", "qcash_redis_seconds_count",
        "qcash_wallet_cache_lookups_total{result=\"hit\"}",
        "qcash_wallet_idempotency_total{result=\"replayed_redis\"} 1",
        "qcash_wallet_ledger_batch_ops_count", "qcash_wallet_holds_pending ",
        "qcash_ledger_audit_ok 1", "qcash_ledger_audit_last_run_timestamp_seconds "}) {
    EXPECT_NE(body.find(expected), std::string::npos) << expected << "\n" << body;
  }
  EXPECT_EQ(body.find(seller), std::string::npos) << "a seller id became a label";
  EXPECT_EQ(body.find("metrics-hold"), std::string::npos) << "a key became a label";
  wallet.process->Stop(SIGTERM);
}

// Runs qcashctl with `args` and `env`; returns its exit status and output.
std::pair<int, std::string> Qcashctl(std::vector<std::string> args,
                                     std::map<std::string, std::string> settings) {
  static std::atomic<int> n{0};
  Process::Spec spec;
  spec.argv = {QCASHCTL_BINARY};
  for (auto& a : args) spec.argv.push_back(a);
  spec.env = std::move(settings);
  spec.log_file = absl::StrCat(env->stack->dir, "/qcashctl-", n++, ".out");
  auto p = Process::Start(spec);
  EXPECT_TRUE(p.ok());
  auto exit = (*p)->WaitExit(std::chrono::seconds(30));
  EXPECT_TRUE(exit.ok());
  std::ifstream in(spec.log_file);
  std::stringstream out;
  out << in.rdbuf();
  return {exit.ok() ? WEXITSTATUS(*exit) : -1, out.str()};
}

TEST_F(LifecycleTest, QcashctlShowsSellersAuditsAndReleasesExpiredHolds) {
  // A wallet of its own database, whose sweeper would not run for an hour: only the operator
  // releases holds there.
  ASSERT_TRUE(env->stack->pg->CreateDatabase("qcash_wallet_ctl").ok());
  const std::string db_url = env->stack->pg->Url("qcash_wallet_ctl");
  ServiceProcess wallet = StartWallet(
      {{"QCASH_WALLET_SWEEP_INTERVAL_MS", "3600000"}, {"QCASH_WALLET_DATABASE_URL", db_url}});
  ASSERT_NE(wallet.process, nullptr);
  auto stub = pb::WalletService::NewStub(
      grpc::CreateChannel(wallet.address, grpc::InsecureChannelCredentials()));
  const std::string seller = "qcashctl-seller";
  OpenAndFund(stub.get(), seller, 3'000);
  pb::HoldRequest hold;
  hold.set_seller_id(seller);
  hold.set_idempotency_key("qcashctl-hold");
  hold.set_amount_yen(1'200);
  hold.set_product(pb::AD_PRODUCT_PLUS_CATEGORY);
  hold.set_booking_reference("application-99");
  hold.set_ttl_seconds(1);
  pb::HoldResponse held;
  ASSERT_TRUE(
      Call(stub.get(), "adbooking", [&](auto* c) { return stub->Hold(c, hold, &held); }).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::map<std::string, std::string> ctl = {{"QCASHCTL_WALLET", wallet.address}};
  auto [released_status, released] = Qcashctl({"holds", "release-expired"}, ctl);
  EXPECT_EQ(released_status, 0) << released;
  EXPECT_NE(released.find("released 1 expired holds"), std::string::npos) << released;
  auto [seller_status, shown] = Qcashctl({"seller", seller}, ctl);
  EXPECT_EQ(seller_status, 0) << shown;
  EXPECT_NE(shown.find("available                       3000 yen"), std::string::npos) << shown;
  EXPECT_NE(shown.find("ENTRY_TYPE_AD_HOLD_EXPIRED"), std::string::npos) << shown;
  EXPECT_NE(shown.find("application-99"), std::string::npos) << shown;
  auto [audit_status, audit] = Qcashctl({"audit", db_url}, {});
  EXPECT_EQ(audit_status, 0) << audit;
  EXPECT_NE(audit.find("ledger audit: OK"), std::string::npos) << audit;
  auto [config_status, config] =
      Qcashctl({"config"}, {{"QCASH_WALLET_DATABASE_URL", "postgresql://qcash:hunter2@db/w"},
                            {"QCASH_GATEWAY_CSRF_SECRET", "hunter3"},
                            {"QCASH_TLS_KEY", "/etc/qcash/tls/tls.key"}});
  EXPECT_EQ(config_status, 0);
  EXPECT_EQ(config.find("hunter2"), std::string::npos) << config;
  EXPECT_EQ(config.find("hunter3"), std::string::npos) << config;
  EXPECT_NE(config.find("QCASH_WALLET_DATABASE_URL=postgresql://qcash:***@db/w"), std::string::npos)
      << config;
  EXPECT_NE(config.find("QCASH_TLS_KEY=/etc/qcash/tls/tls.key"), std::string::npos) << config;
  wallet.process->Stop(SIGTERM);
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::LifecycleEnvironment());
  return RUN_ALL_TESTS();
}
