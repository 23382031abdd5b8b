// The seller's journey in a real browser: Debian's Chromium, headless, driven by Playwright
// (playwright-core from npm) over the gateway's pages, in front of real services, PostgreSQL and
// Redis. This binary starts everything, seeds what the journey needs through the services' own
// APIs, runs tests/browser/seller_journey.mjs, and ends with the ledger audit. Screenshots of
// every page go to <build>/screenshots.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "qcash/points/v1/points.grpc.pb.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace fs = std::filesystem;
namespace points = ::qcash::points::v1;

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
  auto payment = StartPaymentWithSandbox(**stack, gateway_url);
  ASSERT_TRUE(payment.ok()) << payment.status();
  auto gateway =
      StartGateway(**stack, {{"QCASH_GATEWAY_LISTEN", absl::StrCat("127.0.0.1:", gateway_port)},
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
  {
    auto stub = points::PointsService::NewStub(
        grpc::CreateChannel(points_service->address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.AddMetadata("x-qcash-caller", "marketplace");
    points::RecordPointEventsResponse recorded;
    const grpc::Status s = stub->RecordPointEvents(&context, events, &recorded);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  const std::string screenshots = QCASH_BINARY_DIR "/screenshots";
  fs::create_directories(screenshots);
  const std::string log = (*stack)->dir + "/journey.log";
  const int status = RunCommand({"/usr/bin/node", browser_dir + "/seller_journey.mjs"}, log,
                                {{"QCASH_BASE_URL", gateway->Url("")},
                                 {"QCASH_SELLER", seller},
                                 {"QCASH_SCREENSHOTS", screenshots},
                                 {"QCASH_LAST_MONTH", absl::FormatCivilTime(this_month - 1)}});
  const std::string output = ReadAll(log);
  std::cout << output;
  EXPECT_EQ(status, 0) << output;
  for (const char* shot :
       {"login", "balance", "points", "points-converted", "products", "products-detail", "past",
        "charge", "charge-card-done", "sandbox-redirect", "charge-done", "vouchers", "history"}) {
    EXPECT_TRUE(fs::exists(absl::StrCat(screenshots, "/", shot, ".png"))) << shot;
  }
  const absl::Status audit = AuditWalletLedger((*stack)->wallet_db_url);
  EXPECT_TRUE(audit.ok()) << audit;
  gateway->process.reset();
  if (!::testing::Test::HasFailure()) (*stack)->keep = false;
}

}  // namespace
}  // namespace qcash::testing
