// The seller's journey in a real browser: Debian's Chromium, headless, driven by Playwright
// (playwright-core from npm) over the gateway's pages, in front of real services, PostgreSQL and
// Redis. This binary starts everything, seeds what the journey needs through the services' own
// APIs, runs tests/browser/seller_journey.mjs, and ends with the ledger audit. Screenshots of
// every page, at desktop (1200 px) and phone (375 px) width, go to <build>/screenshots.
//
// The journey asks this binary for what only the system's other clients can do, by writing a
// request file into QCASH_CONTROL_DIR and waiting for its answer file: the ad-booking service's
// spends (through the wallet's client library), and stopping and restarting the points service
// while the seller uses the points pages. A second seller's card payment is then taken back
// through the provider sandbox (a chargeback): the debt it leaves, on every page, until a points
// conversion pays it back.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server.h"
#include "qcash/points/v1/points.grpc.pb.h"
#include "services/wallet/client/wallet_client.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace fs = std::filesystem;
namespace points = ::qcash::points::v1;
namespace wallet = ::qcash::wallet::v1;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs a command to its end; returns the exit status, its output in `log`.
int RunCommand(std::vector<std::string> argv, const std::string& log,
               std::map<std::string, std::string> env = {}) {
  Process::Spec spec;
  spec.argv = std::move(argv);
  spec.env = std::move(env);
  spec.log_file = log;
  auto p = Process::Start(spec);
  if (!p.ok()) return -1;
  auto exit = (*p)->WaitExit(std::chrono::minutes(10));
  return exit.ok() && WIFEXITED(*exit) ? WEXITSTATUS(*exit) : -1;
}

// Runs the journey (node) to its end, answering its requests meanwhile: a file
// `<control>/<name>.request` is answered by handlers[name](), whose result is written to
// `<control>/<name>.done` ("ok" or the error). Returns the exit status; output in `log`.
int RunJourney(std::vector<std::string> argv, const std::string& log,
               std::map<std::string, std::string> env, const std::string& control,
               const std::map<std::string, std::function<absl::Status()>>& handlers) {
  Process::Spec spec;
  spec.argv = std::move(argv);
  spec.env = std::move(env);
  spec.log_file = log;
  auto p = Process::Start(spec);
  if (!p.ok()) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(12);
  while (std::chrono::steady_clock::now() < deadline) {
    // Waiting for the exit is the wait between looks at the control folder.
    auto exit = (*p)->WaitExit(std::chrono::milliseconds(100));
    if (exit.ok()) return WIFEXITED(*exit) ? WEXITSTATUS(*exit) : -1;
    for (const auto& [name, handler] : handlers) {
      const std::string request = absl::StrCat(control, "/", name, ".request");
      if (!fs::exists(request)) continue;
      fs::remove(request);
      const absl::Status done = handler();
      std::ofstream(absl::StrCat(control, "/", name, ".done.tmp"))
          << (done.ok() ? std::string("ok") : done.ToString());
      fs::rename(absl::StrCat(control, "/", name, ".done.tmp"),
                 absl::StrCat(control, "/", name, ".done"));
    }
  }
  (*p)->Stop(SIGTERM);
  return -1;
}

// A point event for the seller, `days` into the month that starts at `month_start` (JST).
points::PointEvent Event(const std::string& id, const std::string& seller,
                         const std::string& product_no, const std::string& name,
                         points::Component component, points::SaleType sale_type, int64_t value,
                         absl::Time at) {
  points::PointEvent e;
  e.set_event_id(id);
  e.set_seller_id(seller);
  e.set_product_no(product_no);
  e.set_product_name(name);
  e.set_category("文房具");
  e.set_component(component);
  e.set_sale_type(sale_type);
  e.set_points(value);
  e.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(at));
  return e;
}

TEST(BrowserTest, SellerJourney) {
  const std::string browser_dir = QCASH_SOURCE_DIR "/tests/browser";
  const std::string npm = "/usr/bin/npm";
  auto stack = StartStack("browser", {"qcash_points", "qcash_payment"});
  ASSERT_TRUE(stack.ok()) << stack.status();
  (*stack)->keep = true;  // cleared at the end when everything passed
  if (!fs::exists(browser_dir + "/node_modules/playwright-core")) {
    ASSERT_EQ(RunCommand({npm, "ci", "--prefix", browser_dir, "--no-audit", "--no-fund"},
                         (*stack)->dir + "/npm.log"),
              0)
        << ReadAll((*stack)->dir + "/npm.log");
  }
  auto points_service = StartPoints(**stack);
  ASSERT_TRUE(points_service.ok()) << points_service.status();
  const int gateway_port = FreePort();
  const std::string gateway_url = absl::StrCat("http://127.0.0.1:", gateway_port);
  // The ad-booking site's application page, served by the journey itself on this port: its
  // origin is the one return origin the payment service allows.
  const int ad_app_port = FreePort();
  const std::string ad_app_origin = absl::StrCat("http://127.0.0.1:", ad_app_port);
  auto payment = StartPaymentWithSandbox(**stack, gateway_url, "",
                                         {{"QCASH_PAYMENT_RETURN_ORIGINS", ad_app_origin}});
  ASSERT_TRUE(payment.ok()) << payment.status();
  auto gateway =
      StartGateway(**stack, {{"QCASH_GATEWAY_LISTEN", absl::StrCat("127.0.0.1:", gateway_port)},
                             // The journey is one seller at a robot's pace: more requests a
                             // minute than a person makes (120).
                             {"QCASH_GATEWAY_RATE_LIMIT", "5000"},
                             {"QCASH_POINTS_TARGET", points_service->address},
                             {"QCASH_PAYMENT_TARGET", payment->payment.address}});
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  // Seed the seller's service points: last month 12,352 (the guide's example), this month a
  // little, a product that switched from general to reservation sales, and points from before
  // the 2019-07-01 rule change.
  const std::string seller = "browser-shop";
  const absl::TimeZone tokyo = absl::FixedTimeZone(9 * 3600);
  const absl::CivilMonth this_month = absl::ToCivilMonth(absl::Now(), tokyo);
  const absl::Time last_month_start = absl::FromCivil(this_month - 1, tokyo);
  const absl::Time this_month_start = absl::FromCivil(this_month, tokyo);
  points::RecordPointEventsRequest events;
  *events.add_events() =
      Event("e1", seller, "P-100", "方眼ノート A5", points::COMPONENT_SHIPPING,
            points::SALE_TYPE_GENERAL, 9'000, last_month_start + absl::Hours(30));
  *events.add_events() =
      Event("e2", seller, "P-200", "限定ボールペン", points::COMPONENT_SHIPPING,
            points::SALE_TYPE_GENERAL, 1'500, last_month_start + absl::Hours(50));
  *events.add_events() =
      Event("e3", seller, "P-200", "限定ボールペン", points::COMPONENT_SHIPPING,
            points::SALE_TYPE_RESERVATION, 2'000, last_month_start + absl::Hours(80));
  *events.add_events() = Event("e4", seller, "P-100", "方眼ノート A5", points::COMPONENT_CLAIM,
                               points::SALE_TYPE_GENERAL, -400, last_month_start + absl::Hours(90));
  *events.add_events() = Event("e5", seller, "P-100", "方眼ノート A5", points::COMPONENT_REVIEW,
                               points::SALE_TYPE_GENERAL, 252, last_month_start + absl::Hours(100));
  *events.add_events() = Event("e6", seller, "P-100", "方眼ノート A5", points::COMPONENT_SHIPPING,
                               points::SALE_TYPE_GENERAL, 321, this_month_start + absl::Minutes(5));
  *events.add_events() = Event("e7", seller, "P-050", "旧モデル手帳", points::COMPONENT_SHIPPING,
                               points::SALE_TYPE_GENERAL, 700,
                               absl::FromCivil(absl::CivilSecond(2019, 6, 15, 12, 0, 0), tokyo));
  // The second seller, whose card payment the provider takes back: last month's 5,000 points
  // pay the debt after the chargeback.
  const std::string debt_seller = "browser-debt-shop";
  *events.add_events() =
      Event("d1", debt_seller, "P-300", "手帳カバー", points::COMPONENT_SHIPPING,
            points::SALE_TYPE_GENERAL, 5'000, last_month_start + absl::Hours(40));
  {
    auto stub = points::PointsService::NewStub(
        grpc::CreateChannel(points_service->address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.AddMetadata("x-qcash-caller", "marketplace");
    points::RecordPointEventsResponse recorded;
    const grpc::Status s = stub->RecordPointEvents(&context, events, &recorded);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // The ad-booking service and the settlement, as the wallet's other clients.
  TransportConfig transport;  // the test's services run plaintext on loopback
  transport.insecure_dev = true;
  auto adbooking = ::qcash::wallet::WalletClient::Create(
      {(*stack)->wallet.address, transport, "adbooking", RetryPolicy{}});
  ASSERT_TRUE(adbooking.ok()) << adbooking.status();
  auto settlement = ::qcash::wallet::WalletClient::Create(
      {(*stack)->wallet.address, transport, "settlement", RetryPolicy{}});
  ASSERT_TRUE(settlement.ok()) << settlement.status();

  // Spends on two ad products, as the ad-booking service makes them once applications are
  // approved (the journey asks for them after its charges): more than the 12,300 converted
  // from points, so that the statement has a part subject to consumption tax.
  auto spend = [&]() -> absl::Status {
    for (const auto& [product, amount, reference] :
         std::vector<std::tuple<wallet::AdProduct, int64_t, std::string>>{
             {wallet::AD_PRODUCT_GROUP_BUYING, 3'000, "AD-1001"},
             {wallet::AD_PRODUCT_TIME_SALE, 12'000, "AD-1002"}}) {
      wallet::SpendRequest request;
      request.set_seller_id(seller);
      request.set_idempotency_key(absl::StrCat("browser-spend-", reference));
      request.set_amount_yen(amount);
      request.set_product(product);
      request.set_booking_reference(reference);
      auto spent = (*adbooking)->Spend(request);
      if (!spent.ok()) return spent.status();
    }
    return absl::OkStatus();
  };
  // The second seller spends 2,000 of its 3,000 card charge before the chargeback.
  auto spend_debt = [&]() -> absl::Status {
    wallet::SpendRequest request;
    request.set_seller_id(debt_seller);
    request.set_idempotency_key("browser-spend-AD-5001");
    request.set_amount_yen(2'000);
    request.set_product(wallet::AD_PRODUCT_GROUP_BUYING);
    request.set_booking_reference("AD-5001");
    return (*adbooking)->Spend(request).status();
  };
  // Proceeds of sales arriving in Qmoney and 精算予定金 (not Qcash; the history shows them
  // apart), once the journey's login has opened the wallet.
  auto fund = [&]() -> absl::Status {
    for (const auto& [account, amount, reference] :
         std::vector<std::tuple<wallet::FundsAccount, int64_t, std::string>>{
             {wallet::FUNDS_ACCOUNT_QMONEY, 5'000, "S-2001"},
             {wallet::FUNDS_ACCOUNT_PENDING_SETTLEMENT, 3'000, "S-2002"}}) {
      wallet::CreditInternalFundsRequest request;
      request.set_seller_id(seller);
      request.set_idempotency_key(absl::StrCat("browser-funds-", reference));
      request.set_account(account);
      request.set_amount_yen(amount);
      request.set_settlement_reference(reference);
      auto credited = (*settlement)->CreditInternalFunds(request);
      if (!credited.ok()) return credited.status();
    }
    return absl::OkStatus();
  };
  // The points service stops while the seller uses its pages, and comes back at the same
  // address (the gateway keeps its channel).
  const std::string points_address = points_service->address;
  auto stop_points = [&]() -> absl::Status {
    points_service->process->Stop(SIGTERM);
    return absl::OkStatus();
  };
  auto start_points = [&]() -> absl::Status {
    auto restarted = StartService(
        QCASH_POINTS_BINARY,
        {{"QCASH_POINTS_DATABASE_URL", (*stack)->DatabaseUrl("qcash_points")},
         {"QCASH_WALLET_TARGET", (*stack)->wallet.address}},
        "QCASH_POINTS_LISTEN", (*stack)->dir + "/points-restarted.log", points_address);
    if (!restarted.ok()) return restarted.status();
    points_service->process = std::move(restarted->process);
    return absl::OkStatus();
  };

  // The ad application's charge button, as the ad-booking service makes it with the client
  // library: 20,000 needed, back to the application afterwards.
  const std::string charge_link = ::qcash::wallet::ChargeLink(
      gateway->Url(""), 20'000, absl::StrCat(ad_app_origin, "/apply/AD-3001?step=charged"));

  const std::string screenshots = QCASH_BINARY_DIR "/screenshots";
  fs::create_directories(screenshots);
  const std::string control = (*stack)->dir + "/control";
  fs::create_directories(control);
  const std::string log = (*stack)->dir + "/journey.log";
  const int status = RunJourney({"/usr/bin/node", browser_dir + "/seller_journey.mjs"}, log,
                                {{"QCASH_BASE_URL", gateway->Url("")},
                                 {"QCASH_SELLER", seller},
                                 {"QCASH_SCREENSHOTS", screenshots},
                                 {"QCASH_LAST_MONTH", absl::FormatCivilTime(this_month - 1)},
                                 {"QCASH_THIS_MONTH", absl::FormatCivilTime(this_month)},
                                 {"QCASH_AD_APP_PORT", absl::StrCat(ad_app_port)},
                                 {"QCASH_CHARGE_LINK", charge_link},
                                 {"QCASH_CONTROL_DIR", control},
                                 {"QCASH_SANDBOX_URL", payment->sandbox_url},
                                 {"QCASH_DEBT_SELLER", debt_seller}},
                                control,
                                {{"fund", fund},
                                 {"spend", spend},
                                 {"spend-debt", spend_debt},
                                 {"stop-points", stop_points},
                                 {"start-points", start_points}});
  const std::string output = ReadAll(log);
  std::cout << output;
  EXPECT_EQ(status, 0) << output;
  // Every page at both widths, and the steps' own pictures (desktop unless named -375).
  for (const char* page : {"login", "balance", "charge", "charge-need", "charge-done", "history",
                           "vouchers", "order", "statements", "points", "products", "past"}) {
    for (const char* width : {"", "-375"}) {
      EXPECT_TRUE(fs::exists(absl::StrCat(screenshots, "/", page, width, ".png"))) << page << width;
    }
  }
  for (const char* shot : {"step-points",           "step-points-confirm-375",
                           "step-points-converted", "step-products-detail",
                           "step-charge-need",      "step-charge-card-done",
                           "step-sandbox-redirect", "step-vouchers",
                           "step-qsign-wrong",      "step-qsign-locked",
                           "step-points-down",      "step-debt-balance",
                           "step-debt-balance-375", "step-debt-history",
                           "step-debt-history-375", "step-debt-order",
                           "step-debt-order-375",   "step-debt-charge",
                           "step-debt-charge-375",  "step-debt-recovered-history",
                           "step-debt-recovered"}) {
    EXPECT_TRUE(fs::exists(absl::StrCat(screenshots, "/", shot, ".png"))) << shot;
  }
  const absl::Status audit = AuditWalletLedger((*stack)->wallet_db_url);
  EXPECT_TRUE(audit.ok()) << audit;
  gateway->process.reset();
  if (!::testing::Test::HasFailure()) (*stack)->keep = false;
}

}  // namespace
}  // namespace qcash::testing
