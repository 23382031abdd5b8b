// The points service end to end: the qcash-points binary over gRPC, crediting a real
// qcash-wallet, both on a real PostgreSQL (and the wallet on a real Redis) started for this
// test binary. The points service runs with its test clock (QCASH_POINTS_TEST_CLOCK=1), so
// each test sets the time it needs, and every instant is written as UTC with its JST reading
// beside it: the service's Japan-time arithmetic is checked against UTC instants, never
// against itself. Every test ends with the wallet's ledger audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "common/pg.h"
#include "common/seller_token.h"
#include "common/status.h"
#include "qcash/points/v1/points.grpc.pb.h"
#include "qcash/points/v1/test_clock.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/points/points.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::points::v1;
namespace wpb = ::qcash::wallet::v1;

struct Env {
  std::unique_ptr<Stack> stack;
  std::string points_db_url;
  std::map<std::string, std::string> points_env;
  ServiceProcess points;
  std::unique_ptr<pb::PointsService::Stub> points_stub;
  std::unique_ptr<pb::PointsTestClock::Stub> clock_stub;
  std::unique_ptr<wpb::WalletService::Stub> wallet_stub;
};
Env* env = nullptr;

class PointsEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    auto stack = StartStack("points_integration", {"qcash_points"});
    ASSERT_TRUE(stack.ok()) << stack.status();
    env->stack = std::move(*stack);
    env->points_db_url = env->stack->pg->Url("qcash_points");
    env->points_env = {
        {"QCASH_POINTS_DATABASE_URL", env->points_db_url},
        {"QCASH_WALLET_TARGET", env->stack->wallet.address},
        {"QCASH_POINTS_TEST_CLOCK", "1"},
        {"QCASH_POINTS_COMPLETER_INTERVAL_MS", "100"},
        // Short, so that the crash test's orphaned intent is taken over quickly.
        {"QCASH_POINTS_CONVERSION_LEASE_MS", "2000"},
    };
    auto points = StartService(QCASH_POINTS_BINARY, env->points_env, "QCASH_POINTS_LISTEN",
                               env->stack->dir + "/points.log");
    ASSERT_TRUE(points.ok()) << points.status();
    env->points = std::move(*points);
    auto channel = grpc::CreateChannel(env->points.address, grpc::InsecureChannelCredentials());
    env->points_stub = pb::PointsService::NewStub(channel);
    env->clock_stub = pb::PointsTestClock::NewStub(channel);
    env->wallet_stub = wpb::WalletService::NewStub(
        grpc::CreateChannel(env->stack->wallet.address, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    env->stack->keep = !::testing::UnitTest::GetInstance()->Passed();  // keep the logs
    env->points.process.reset();
    delete env;
  }
};

// ---------------------------------------------------------------------------- helpers

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

void SetTs(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
  out->set_nanos(0);
}

absl::Time FromTs(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string NewEventId() {
  static std::atomic<int> counter{0};
  return absl::StrCat("ev-", counter.fetch_add(1));
}

template <typename Request, typename Response>
grpc::Status Call(const std::string& caller,
                  Method<pb::PointsService::Stub, Request, Response> method, const Request& request,
                  Response* response) {
  return CallOn(env->points_stub.get(), caller, method, request, response);
}

template <typename Request, typename Response>
grpc::Status WalletCall(const std::string& caller,
                        Method<wpb::WalletService::Stub, Request, Response> method,
                        const Request& request, Response* response) {
  return CallOn(env->wallet_stub.get(), caller, method, request, response);
}

grpc::Status SetClock(absl::Time t) {
  pb::SetTimeRequest request;
  SetTs(t, request.mutable_time());
  pb::SetTimeResponse response;
  return CallOn(env->clock_stub.get(), "ops", &pb::PointsTestClock::Stub::SetTime, request,
                &response);
}

pb::PointEvent Event(const std::string& seller, const std::string& product_no,
                     pb::Component component, pb::SaleType sale_type, int64_t points, absl::Time at,
                     const std::string& name = "Product", const std::string& category = "General") {
  pb::PointEvent e;
  e.set_event_id(NewEventId());
  e.set_seller_id(seller);
  e.set_product_no(product_no);
  e.set_product_name(name);
  e.set_category(category);
  e.set_component(component);
  e.set_sale_type(sale_type);
  e.set_points(points);
  SetTs(at, e.mutable_occurred_at());
  return e;
}

pb::PointEvent Shipping(const std::string& seller, int64_t points, absl::Time at,
                        const std::string& product_no = "P-1",
                        pb::SaleType sale_type = pb::SALE_TYPE_GENERAL) {
  return Event(seller, product_no, pb::COMPONENT_SHIPPING, sale_type, points, at);
}

grpc::Status Record(const std::vector<pb::PointEvent>& events,
                    pb::RecordPointEventsResponse* out = nullptr) {
  pb::RecordPointEventsRequest request;
  for (const auto& e : events) *request.add_events() = e;
  pb::RecordPointEventsResponse response;
  return Call("marketplace", &pb::PointsService::Stub::RecordPointEvents, request,
              out ? out : &response);
}

pb::GetMonthSummaryResponse Summary(const std::string& seller, int year = 0, int month = 0) {
  pb::GetMonthSummaryRequest request;
  request.set_seller_id(seller);
  if (year != 0) {
    request.mutable_month()->set_year(year);
    request.mutable_month()->set_month(month);
  }
  pb::GetMonthSummaryResponse response;
  const grpc::Status s =
      Call("gateway", &pb::PointsService::Stub::GetMonthSummary, request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response;
}

grpc::Status Convert(const std::string& seller, const std::string& key,
                     pb::ConvertPointsResponse* out = nullptr, int year = 0, int month = 0) {
  pb::ConvertPointsRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key(key);
  if (year != 0) {
    request.mutable_points_month()->set_year(year);
    request.mutable_points_month()->set_month(month);
  }
  pb::ConvertPointsResponse response;
  return Call("gateway", &pb::PointsService::Stub::ConvertPoints, request, out ? out : &response);
}

void OpenWallet(const std::string& seller) {
  wpb::OpenWalletRequest request;
  request.set_seller_id(seller);
  request.set_idempotency_key(NewKey());
  wpb::OpenWalletResponse response;
  const grpc::Status s =
      WalletCall("settlement", &wpb::WalletService::Stub::OpenWallet, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

int64_t WalletAvailable(const std::string& seller) {
  wpb::GetBalanceRequest request;
  request.set_seller_id(seller);
  wpb::GetBalanceResponse response;
  const grpc::Status s =
      WalletCall("ops", &wpb::WalletService::Stub::GetBalance, request, &response);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return 0;
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response.balance().available_yen();
}

// The seller's POINTS_CONVERSION entries in the wallet's journal (W6).
std::vector<wpb::HistoryEntry> ConversionEntries(const std::string& seller) {
  wpb::ListHistoryRequest request;
  request.set_seller_id(seller);
  request.add_types(wpb::ENTRY_TYPE_POINTS_CONVERSION);
  request.set_page_size(500);
  wpb::ListHistoryResponse response;
  const grpc::Status s =
      WalletCall("ops", &wpb::WalletService::Stub::ListHistory, request, &response);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return {};
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {response.entries().begin(), response.entries().end()};
}

// The conversion row as stored by the points service: (state, attempts), or (-1, -1).
std::pair<int64_t, int64_t> StoredConversion(const std::string& seller, int64_t month) {
  auto conn = PgConnection::Connect(env->points_db_url, "points-test");
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return {-1, -1};
  auto r = (*conn)->Exec(
      "SELECT state, attempts FROM conversions WHERE seller_id = $1 AND points_month = $2",
      {seller, absl::StrCat(month)});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || r->rows() == 0) return {-1, -1};
  return {r->GetInt64(0, 0), r->GetInt64(0, 1)};
}

absl::Status RestartPoints(std::map<std::string, std::string> extra_env = {}) {
  env->points.process->Stop(SIGTERM);
  std::map<std::string, std::string> process_env = env->points_env;
  for (auto& [k, v] : extra_env) process_env[k] = v;
  auto restarted = StartService(QCASH_POINTS_BINARY, process_env, "QCASH_POINTS_LISTEN",
                                env->stack->dir + "/points.log", env->points.address);
  if (!restarted.ok()) return restarted.status();
  env->points = std::move(*restarted);
  return absl::OkStatus();
}

class PointsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }
};

// ---------------------------------------------------------------------------- tests

TEST_F(PointsTest, HealthReflectionAndTestClockAreOn) {
  EXPECT_TRUE(WaitForServing(env->points.address, std::chrono::seconds(1)).ok());
  auto services = ReflectionListServices(env->points.address);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_NE(services->find("qcash.points.v1.PointsService"), std::string::npos);
  EXPECT_NE(services->find("qcash.points.v1.PointsTestClock"), std::string::npos);
  EXPECT_NE(services->find("grpc.health.v1.Health"), std::string::npos);
}

// S3, the guide's worked example: 12,352 points last month -> 12,300 Qcash, 52 not converted,
// 本月可以转换的积分 0 afterwards, the wallet credited once however often it is asked.
TEST_F(PointsTest, S3WorkedExample12352Converts12300Once) {
  const std::string seller = NewSeller();
  OpenWallet(seller);
  ASSERT_TRUE(SetClock(Utc(2024, 2, 10, 3)).ok());  // 2024-02-10 12:00 JST
  ASSERT_TRUE(Record({
                         Event(seller, "P-1", pb::COMPONENT_SHIPPING, pb::SALE_TYPE_GENERAL, 10'000,
                               Utc(2024, 1, 5)),
                         Event(seller, "P-2", pb::COMPONENT_SHIPPING, pb::SALE_TYPE_RESERVATION,
                               2'000, Utc(2024, 1, 20)),
                         Event(seller, "P-1", pb::COMPONENT_CLAIM, pb::SALE_TYPE_GENERAL, -148,
                               Utc(2024, 1, 22)),
                         Event(seller, "P-3", pb::COMPONENT_REVIEW, pb::SALE_TYPE_GENERAL, 500,
                               Utc(2024, 1, 30)),
                         // S2: December's and February's points are not January's.
                         Event(seller, "P-1", pb::COMPONENT_SHIPPING, pb::SALE_TYPE_GENERAL, 5'000,
                               Utc(2023, 12, 15)),
                         Event(seller, "P-1", pb::COMPONENT_SHIPPING, pb::SALE_TYPE_GENERAL, 700,
                               Utc(2024, 2, 5)),
                     })
                  .ok());

  pb::GetMonthSummaryResponse before = Summary(seller);
  EXPECT_EQ(before.month().year(), 2024);
  EXPECT_EQ(before.month().month(), 2);
  EXPECT_EQ(before.points().total_points(), 700);
  const auto& window = before.conversion();
  EXPECT_EQ(window.points_month().month(), 1);
  EXPECT_EQ(window.previous_month_points().total_points(), 12'352);
  EXPECT_EQ(window.previous_month_points().shipping_points(), 12'000);
  EXPECT_EQ(window.previous_month_points().claim_points(), -148);
  EXPECT_EQ(window.previous_month_points().review_points(), 500);
  EXPECT_EQ(window.convertible_points(), 12'300);
  EXPECT_EQ(window.state(), pb::CONVERSION_STATE_CONVERTIBLE);
  // The window: 2024-02-01 00:00 JST = 2024-01-31 15:00 UTC, to 2024-03-01 00:00 JST.
  EXPECT_EQ(FromTs(window.opens_at()), Utc(2024, 1, 31, 15));
  EXPECT_EQ(FromTs(window.closes_at()), Utc(2024, 2, 29, 15));

  const std::string key = NewKey();
  pb::ConvertPointsResponse converted;
  ASSERT_TRUE(Convert(seller, key, &converted).ok());
  EXPECT_FALSE(converted.replayed());
  const pb::Conversion& c = converted.conversion();
  EXPECT_EQ(c.month_total_points(), 12'352);
  EXPECT_EQ(c.converted_points(), 12'300);
  EXPECT_EQ(c.leftover_points(), 52);
  EXPECT_EQ(c.points_month().year(), 2024);
  EXPECT_EQ(c.points_month().month(), 1);
  EXPECT_TRUE(c.completed());
  EXPECT_GT(c.wallet_entry_seq(), 0);
  EXPECT_EQ(FromTs(c.requested_at()), Utc(2024, 2, 10, 3));

  pb::GetMonthSummaryResponse after = Summary(seller);
  EXPECT_EQ(after.conversion().convertible_points(), 0);
  EXPECT_EQ(after.conversion().state(), pb::CONVERSION_STATE_CONVERTED);
  EXPECT_EQ(after.conversion().conversion().conversion_id(), c.conversion_id());

  // The same key again: the original answer, nothing new.
  pb::ConvertPointsResponse replay;
  ASSERT_TRUE(Convert(seller, key, &replay).ok());
  EXPECT_TRUE(replay.replayed());
  EXPECT_EQ(replay.conversion().conversion_id(), c.conversion_id());
  EXPECT_EQ(replay.conversion().wallet_entry_seq(), c.wallet_entry_seq());
  // Another key: twice is refused.
  EXPECT_GRPC_ERROR(Convert(seller, NewKey()), FAILED_PRECONDITION, "ALREADY_CONVERTED");
  // The same key for a different request.
  EXPECT_GRPC_ERROR(Convert(seller, key, nullptr, 2024, 1), INVALID_ARGUMENT,
                    "IDEMPOTENCY_KEY_REUSED");

  EXPECT_EQ(WalletAvailable(seller), 12'300);
  const auto entries = ConversionEntries(seller);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].amount_yen(), 12'300);
  EXPECT_EQ(entries[0].reference(), c.conversion_id());
  EXPECT_EQ(entries[0].seq(), c.wallet_entry_seq());
  EXPECT_EQ(entries[0].debit_account(), wpb::ACCOUNT_PLATFORM_POINTS_PROGRAMME);
  EXPECT_EQ(entries[0].credit_account(), wpb::ACCOUNT_SELLER_AVAILABLE);
  // The credit's lot: free Qcash, and the month whose points it converted (DESIGN.md 8).
  wpb::GetEntryLotsRequest lots_request;
  lots_request.set_seller_id(seller);
  lots_request.set_entry_seq(c.wallet_entry_seq());
  wpb::GetEntryLotsResponse lots;
  const grpc::Status l =
      WalletCall("ops", &wpb::WalletService::Stub::GetEntryLots, lots_request, &lots);
  ASSERT_TRUE(l.ok()) << l.error_message();
  ASSERT_EQ(lots.lots_size(), 1);
  EXPECT_EQ(lots.lots(0).lot().origin(), wpb::LOT_ORIGIN_POINTS_CONVERSION);
  EXPECT_FALSE(lots.lots(0).lot().paid());
  EXPECT_EQ(lots.lots(0).lot().points_month(), "2024-01");
  EXPECT_EQ(lots.lots(0).amount_yen(), 12'300);
}

// Issue 10: ConvertPoints' keys were unique per caller across all sellers; through the
// gateway (one caller for every seller) a second seller using the same key was refused
// IDEMPOTENCY_KEY_REUSED. Keys are scoped per seller: both convert, each once, independently.
TEST_F(PointsTest, TwoSellersUsingTheSameKeyConvertIndependently) {
  const std::string a = NewSeller();
  const std::string b = NewSeller();
  OpenWallet(a);
  OpenWallet(b);
  ASSERT_TRUE(SetClock(Utc(2024, 2, 10, 3)).ok());
  ASSERT_TRUE(
      Record(
          {Event(a, "P-1", pb::COMPONENT_SHIPPING, pb::SALE_TYPE_GENERAL, 1'250, Utc(2024, 1, 5)),
           Event(b, "P-1", pb::COMPONENT_SHIPPING, pb::SALE_TYPE_GENERAL, 3'480, Utc(2024, 1, 6))})
          .ok());
  const std::string shared_key = NewKey();
  pb::ConvertPointsResponse first;
  ASSERT_TRUE(Convert(a, shared_key, &first).ok());
  EXPECT_FALSE(first.replayed());
  EXPECT_EQ(first.conversion().converted_points(), 1'200);
  pb::ConvertPointsResponse second;
  const grpc::Status b_status = Convert(b, shared_key, &second);
  ASSERT_TRUE(b_status.ok()) << b_status.error_message();
  EXPECT_FALSE(second.replayed());  // b's own conversion, not a replay of a's
  EXPECT_EQ(second.conversion().converted_points(), 3'400);
  EXPECT_NE(second.conversion().conversion_id(), first.conversion().conversion_id());
  // Each key still replays for its own seller only.
  pb::ConvertPointsResponse a_again;
  ASSERT_TRUE(Convert(a, shared_key, &a_again).ok());
  EXPECT_TRUE(a_again.replayed());
  EXPECT_EQ(a_again.conversion().conversion_id(), first.conversion().conversion_id());
  pb::ConvertPointsResponse b_again;
  ASSERT_TRUE(Convert(b, shared_key, &b_again).ok());
  EXPECT_TRUE(b_again.replayed());
  EXPECT_EQ(b_again.conversion().conversion_id(), second.conversion().conversion_id());
  EXPECT_EQ(WalletAvailable(a), 1'200);
  EXPECT_EQ(WalletAvailable(b), 3'400);
}

// S3: 99 converts nothing, 100 converts 100, a negative month converts nothing; S2: the
// negative month does not carry into the next.
TEST_F(PointsTest, S3BoundariesNinetyNineHundredAndNegative) {
  const std::string s99 = NewSeller(), s100 = NewSeller(), sneg = NewSeller();
  for (const auto& s : {s99, s100, sneg}) OpenWallet(s);
  ASSERT_TRUE(SetClock(Utc(2024, 2, 10)).ok());
  ASSERT_TRUE(Record({Shipping(s99, 60, Utc(2024, 1, 3)), Shipping(s99, 39, Utc(2024, 1, 4)),
                      Shipping(s100, 150, Utc(2024, 1, 3)), Shipping(s100, -50, Utc(2024, 1, 9)),
                      Shipping(sneg, 80, Utc(2024, 1, 3)), Shipping(sneg, -300, Utc(2024, 1, 9)),
                      Shipping(sneg, 300, Utc(2024, 2, 2))})
                  .ok());

  pb::GetMonthSummaryResponse summary = Summary(s99);
  EXPECT_EQ(summary.conversion().previous_month_points().total_points(), 99);
  EXPECT_EQ(summary.conversion().convertible_points(), 0);
  EXPECT_EQ(summary.conversion().state(), pb::CONVERSION_STATE_BELOW_MINIMUM);
  summary = Summary(s100);
  EXPECT_EQ(summary.conversion().convertible_points(), 100);
  EXPECT_EQ(summary.conversion().state(), pb::CONVERSION_STATE_CONVERTIBLE);
  summary = Summary(sneg);
  EXPECT_EQ(summary.conversion().previous_month_points().total_points(), -220);
  EXPECT_EQ(summary.conversion().convertible_points(), 0);
  EXPECT_EQ(summary.conversion().state(), pb::CONVERSION_STATE_BELOW_MINIMUM);

  EXPECT_GRPC_ERROR(Convert(s99, NewKey()), FAILED_PRECONDITION, "POINTS_BELOW_MINIMUM");
  EXPECT_GRPC_ERROR(Convert(sneg, NewKey()), FAILED_PRECONDITION, "POINTS_BELOW_MINIMUM");
  pb::ConvertPointsResponse hundred;
  ASSERT_TRUE(Convert(s100, NewKey(), &hundred).ok());
  EXPECT_EQ(hundred.conversion().converted_points(), 100);
  EXPECT_EQ(hundred.conversion().leftover_points(), 0);
  EXPECT_EQ(WalletAvailable(s99), 0);
  EXPECT_EQ(WalletAvailable(sneg), 0);
  EXPECT_EQ(WalletAvailable(s100), 100);
  EXPECT_TRUE(ConversionEntries(s99).empty());
  EXPECT_TRUE(ConversionEntries(sneg).empty());
  EXPECT_EQ(StoredConversion(s99, 202401).first, -1);  // a refusal records nothing

  // S2: January's -220 does not reduce February's 300.
  ASSERT_TRUE(SetClock(Utc(2024, 3, 5)).ok());
  summary = Summary(sneg);
  EXPECT_EQ(summary.conversion().previous_month_points().total_points(), 300);
  EXPECT_EQ(summary.conversion().convertible_points(), 300);
  pb::ConvertPointsResponse march;
  ASSERT_TRUE(Convert(sneg, NewKey(), &march).ok());
  EXPECT_EQ(march.conversion().converted_points(), 300);
  EXPECT_EQ(WalletAvailable(sneg), 300);
}

// S2, S3: the window's edges in Japan time, written as UTC instants. The last second of the
// window (the last day 23:59:59 JST) converts the previous month; the first second of the next
// month (the 1st 00:00:00 JST) converts the month just ended.
TEST_F(PointsTest, S3WindowEdgesAreJapanTime) {
  const std::string a = NewSeller(), b = NewSeller();
  OpenWallet(a);
  OpenWallet(b);
  ASSERT_TRUE(SetClock(Utc(2024, 2, 29, 14, 0, 0)).ok());
  ASSERT_TRUE(
      Record({
                 // 2024-01-31 14:59:59 UTC = 2024-01-31 23:59:59 JST: January's last second.
                 Shipping(a, 500, Utc(2024, 1, 31, 14, 59, 59)),
                 // 2024-01-31 15:00:00 UTC = 2024-02-01 00:00:00 JST: already February.
                 Shipping(a, 700, Utc(2024, 1, 31, 15, 0, 0)),
                 Shipping(b, 400, Utc(2024, 1, 15)),
                 Shipping(b, 800, Utc(2024, 2, 15)),
             })
          .ok());

  // 2024-02-29 14:59:59 UTC = 2024-02-29 23:59:59 JST: the last second of February's window.
  ASSERT_TRUE(SetClock(Utc(2024, 2, 29, 14, 59, 59)).ok());
  pb::GetMonthSummaryResponse summary = Summary(a);
  EXPECT_EQ(summary.month().month(), 2);
  EXPECT_EQ(summary.points().total_points(), 700);
  EXPECT_EQ(summary.conversion().previous_month_points().total_points(), 500);
  pb::ConvertPointsResponse last_second;
  ASSERT_TRUE(Convert(a, NewKey(), &last_second, 2024, 1).ok());
  EXPECT_EQ(last_second.conversion().points_month().month(), 1);
  EXPECT_EQ(last_second.conversion().converted_points(), 500);

  // 2024-02-29 15:00:00 UTC = 2024-03-01 00:00:00 JST: March; January has lapsed.
  ASSERT_TRUE(SetClock(Utc(2024, 2, 29, 15, 0, 0)).ok());
  EXPECT_GRPC_ERROR(Convert(b, NewKey(), nullptr, 2024, 1), FAILED_PRECONDITION,
                    "OUTSIDE_CONVERSION_WINDOW");
  EXPECT_EQ(WalletAvailable(b), 0);
  pb::GetMonthSummaryResponse february = Summary(b, 2024, 2);
  EXPECT_EQ(february.conversion().previous_month_points().total_points(), 400);
  EXPECT_EQ(february.conversion().state(), pb::CONVERSION_STATE_LAPSED);
  EXPECT_EQ(february.conversion().convertible_points(), 0);
  // The current month's own points are not convertible yet.
  EXPECT_GRPC_ERROR(Convert(a, NewKey(), nullptr, 2024, 3), FAILED_PRECONDITION,
                    "OUTSIDE_CONVERSION_WINDOW");
  pb::GetMonthSummaryResponse march = Summary(a);
  EXPECT_EQ(march.month().month(), 3);
  EXPECT_EQ(march.conversion().previous_month_points().total_points(), 700);
  EXPECT_EQ(march.conversion().convertible_points(), 700);
  EXPECT_EQ(FromTs(march.conversion().opens_at()), Utc(2024, 2, 29, 15));
  EXPECT_EQ(FromTs(march.conversion().closes_at()), Utc(2024, 3, 31, 15));
  // Without a month, the first second of March converts February.
  pb::ConvertPointsResponse first_second;
  ASSERT_TRUE(Convert(b, NewKey(), &first_second).ok());
  EXPECT_EQ(first_second.conversion().points_month().month(), 2);
  EXPECT_EQ(first_second.conversion().converted_points(), 800);

  EXPECT_EQ(WalletAvailable(a), 500);
  EXPECT_EQ(WalletAvailable(b), 800);
}

// Retried concurrently 50 times, with one key and with 50 keys: one credit each.
TEST_F(PointsTest, S3FiftyConcurrentConversionsCreditOnce) {
  const std::string same_key_seller = NewSeller(), many_keys_seller = NewSeller();
  OpenWallet(same_key_seller);
  OpenWallet(many_keys_seller);
  ASSERT_TRUE(SetClock(Utc(2024, 5, 10)).ok());
  ASSERT_TRUE(Record({Shipping(same_key_seller, 5'432, Utc(2024, 4, 10)),
                      Shipping(many_keys_seller, 5'432, Utc(2024, 4, 10))})
                  .ok());
  constexpr int kCalls = 50;

  // One key, 50 concurrent calls, each retrying ABORTED as the contract says.
  const std::string key = NewKey();
  std::vector<pb::ConvertPointsResponse> responses(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      for (int attempt = 0; attempt < 200; ++attempt) {
        statuses[i] = Convert(same_key_seller, key, &responses[i]);
        if (statuses[i].error_code() != grpc::StatusCode::ABORTED) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  int fresh = 0;
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    fresh += responses[i].replayed() ? 0 : 1;
    EXPECT_EQ(responses[i].conversion().conversion_id(), responses[0].conversion().conversion_id());
    EXPECT_EQ(responses[i].conversion().wallet_entry_seq(),
              responses[0].conversion().wallet_entry_seq());
    EXPECT_EQ(responses[i].conversion().converted_points(), 5'400);
  }
  EXPECT_EQ(fresh, 1);

  // 50 keys (50 clicks): one conversion, the others told it is done.
  std::atomic<int> succeeded{0}, already{0}, other{0};
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&] {
      const std::string own_key = NewKey();
      for (int attempt = 0; attempt < 200; ++attempt) {
        const grpc::Status s = Convert(many_keys_seller, own_key);
        if (s.error_code() == grpc::StatusCode::ABORTED) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          continue;
        }
        if (s.ok()) {
          ++succeeded;
        } else if (Reason(s) == "ALREADY_CONVERTED") {
          ++already;
        } else {
          ++other;
        }
        return;
      }
      ++other;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 1);
  EXPECT_EQ(already.load(), kCalls - 1);
  EXPECT_EQ(other.load(), 0);

  for (const auto& s : {same_key_seller, many_keys_seller}) {
    EXPECT_EQ(WalletAvailable(s), 5'400) << s;
    EXPECT_EQ(ConversionEntries(s).size(), 1u) << s;
    EXPECT_EQ(Summary(s).conversion().convertible_points(), 0);
  }
}

// DESIGN.md section 5: the points service is killed after the wallet's credit but before it
// records the conversion. After a restart the intent is completed from the wallet's stored
// answer (the same wallet key), and nothing is credited twice.
TEST_F(PointsTest, S3KilledAfterWalletCreditRecoversWithoutDoubleCredit) {
  const std::string seller = NewSeller();
  OpenWallet(seller);
  ASSERT_TRUE(SetClock(Utc(2024, 7, 3)).ok());
  ASSERT_TRUE(Record({Shipping(seller, 2'345, Utc(2024, 6, 12))}).ok());

  // The same binary with the TEST-ONLY failpoint, on the same address and database.
  ASSERT_TRUE(RestartPoints({{"QCASH_POINTS_FAILPOINT", "exit_after_wallet_credit"}}).ok());
  ASSERT_TRUE(SetClock(Utc(2024, 7, 3)).ok());
  const std::string key = NewKey();
  const grpc::Status crashed = Convert(seller, key);
  EXPECT_FALSE(crashed.ok());
  auto exit = env->points.process->WaitExit(std::chrono::seconds(10));
  ASSERT_TRUE(exit.ok()) << "the failpoint did not end the process";
  ASSERT_TRUE(WIFEXITED(*exit));
  EXPECT_EQ(WEXITSTATUS(*exit), points::kFailpointExitCode);

  // The wallet credited; the points service recorded only the intent.
  EXPECT_EQ(WalletAvailable(seller), 2'300);
  ASSERT_EQ(ConversionEntries(seller).size(), 1u);
  EXPECT_EQ(StoredConversion(seller, 202406).first, 1);  // pending

  ASSERT_TRUE(RestartPoints().ok());
  ASSERT_TRUE(SetClock(Utc(2024, 7, 3)).ok());
  // The background step takes the intent over once its lease (2 s here) has expired.
  pb::GetMonthSummaryResponse summary;
  for (int i = 0; i < 300; ++i) {
    summary = Summary(seller);
    if (summary.conversion().state() == pb::CONVERSION_STATE_CONVERTED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(summary.conversion().state(), pb::CONVERSION_STATE_CONVERTED);
  EXPECT_EQ(summary.conversion().convertible_points(), 0);
  const auto entries = ConversionEntries(seller);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(summary.conversion().conversion().wallet_entry_seq(), entries[0].seq());
  EXPECT_EQ(summary.conversion().conversion().converted_points(), 2'300);
  const auto [state, attempts] = StoredConversion(seller, 202406);
  EXPECT_EQ(state, 2);     // completed
  EXPECT_GE(attempts, 2);  // the crashed call and the recovery

  // The seller's retry answers the original conversion; another click is refused.
  pb::ConvertPointsResponse retried;
  ASSERT_TRUE(Convert(seller, key, &retried).ok());
  EXPECT_TRUE(retried.replayed());
  EXPECT_EQ(retried.conversion().converted_points(), 2'300);
  EXPECT_GRPC_ERROR(Convert(seller, NewKey()), FAILED_PRECONDITION, "ALREADY_CONVERTED");
  EXPECT_EQ(WalletAvailable(seller), 2'300);
  EXPECT_EQ(ConversionEntries(seller).size(), 1u);
}

// DESIGN.md section 5: with the wallet down, a conversion is recorded and answered
// UNAVAILABLE; once the wallet is back, the background step completes it, exactly once.
TEST_F(PointsTest, S3WalletDownConversionCompletesInTheBackground) {
  const std::string seller = NewSeller();
  OpenWallet(seller);
  ASSERT_TRUE(SetClock(Utc(2025, 4, 2)).ok());
  ASSERT_TRUE(Record({Shipping(seller, 999, Utc(2025, 3, 30))}).ok());

  env->stack->wallet.process->Stop(SIGKILL);
  const std::string key = NewKey();
  EXPECT_GRPC_ERROR(Convert(seller, key), UNAVAILABLE, "WALLET_UNAVAILABLE");
  pb::GetMonthSummaryResponse summary = Summary(seller);
  EXPECT_EQ(summary.conversion().state(), pb::CONVERSION_STATE_IN_PROGRESS);
  EXPECT_EQ(summary.conversion().convertible_points(), 0);
  EXPECT_EQ(summary.conversion().conversion().converted_points(), 900);
  EXPECT_FALSE(summary.conversion().conversion().completed());

  ASSERT_TRUE(env->stack->RestartWallet().ok());
  for (int i = 0; i < 600; ++i) {
    summary = Summary(seller);
    if (summary.conversion().state() == pb::CONVERSION_STATE_CONVERTED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(summary.conversion().state(), pb::CONVERSION_STATE_CONVERTED);
  EXPECT_EQ(WalletAvailable(seller), 900);
  ASSERT_EQ(ConversionEntries(seller).size(), 1u);
  // The seller's retry with the same key gets the completed conversion.
  pb::ConvertPointsResponse retried;
  ASSERT_TRUE(Convert(seller, key, &retried).ok());
  EXPECT_TRUE(retried.replayed());
  EXPECT_TRUE(retried.conversion().completed());
  EXPECT_EQ(WalletAvailable(seller), 900);
}

// W5: a closed wallet takes no conversion; a missing wallet neither, until it is opened.
TEST_F(PointsTest, WalletRefusalsCreditNothing) {
  const std::string closed = NewSeller(), missing = NewSeller();
  OpenWallet(closed);
  wpb::CloseWalletRequest close;
  close.set_seller_id(closed);
  close.set_idempotency_key(NewKey());
  close.set_reason("shop closed");
  wpb::CloseWalletResponse closed_response;
  ASSERT_TRUE(
      WalletCall("settlement", &wpb::WalletService::Stub::CloseWallet, close, &closed_response)
          .ok());
  ASSERT_TRUE(SetClock(Utc(2024, 9, 2)).ok());
  ASSERT_TRUE(
      Record({Shipping(closed, 1'000, Utc(2024, 8, 2)), Shipping(missing, 300, Utc(2024, 8, 2))})
          .ok());

  const std::string key = NewKey();
  EXPECT_GRPC_ERROR(Convert(closed, key), FAILED_PRECONDITION, "WALLET_CLOSED");
  EXPECT_GRPC_ERROR(Convert(closed, key), FAILED_PRECONDITION, "WALLET_CLOSED");
  EXPECT_TRUE(ConversionEntries(closed).empty());
  EXPECT_EQ(Summary(closed).conversion().state(), pb::CONVERSION_STATE_CONVERTIBLE);
  EXPECT_EQ(StoredConversion(closed, 202408).first, 3);  // failed: nothing credited

  const std::string missing_key = NewKey();
  EXPECT_GRPC_ERROR(Convert(missing, missing_key), NOT_FOUND, "WALLET_NOT_FOUND");
  EXPECT_EQ(Summary(missing).conversion().convertible_points(), 300);
  OpenWallet(missing);
  pb::ConvertPointsResponse converted;
  ASSERT_TRUE(Convert(missing, missing_key, &converted).ok());
  EXPECT_EQ(converted.conversion().converted_points(), 300);
  EXPECT_EQ(WalletAvailable(missing), 300);
  EXPECT_EQ(ConversionEntries(missing).size(), 1u);
  EXPECT_EQ(Summary(missing).conversion().state(), pb::CONVERSION_STATE_CONVERTED);
}

// S1: events are idempotent by event id; a reused id with other content is refused and the
// whole call records nothing; bad events get their reason and change nothing.
TEST_F(PointsTest, S1EventsAreIdempotentByEventId) {
  const std::string seller = NewSeller();
  ASSERT_TRUE(SetClock(Utc(2024, 10, 20)).ok());
  const std::vector<pb::PointEvent> batch = {Shipping(seller, 100, Utc(2024, 10, 1)),
                                             Shipping(seller, -30, Utc(2024, 10, 2)),
                                             Shipping(seller, 45, Utc(2024, 10, 3))};
  pb::RecordPointEventsResponse first, again;
  ASSERT_TRUE(Record(batch, &first).ok());
  ASSERT_EQ(first.results_size(), 3);
  for (const auto& r : first.results()) EXPECT_FALSE(r.replayed());
  ASSERT_TRUE(Record(batch, &again).ok());
  for (const auto& r : again.results()) EXPECT_TRUE(r.replayed());
  EXPECT_EQ(Summary(seller).points().total_points(), 115);

  // A reused id with other content: refused, and the new event beside it is not recorded.
  pb::PointEvent changed = batch[0];
  changed.set_points(999);
  const pb::PointEvent fresh = Shipping(seller, 7, Utc(2024, 10, 4));
  EXPECT_GRPC_ERROR(Record({fresh, changed}), INVALID_ARGUMENT, "EVENT_ID_REUSED");
  EXPECT_EQ(Summary(seller).points().total_points(), 115);
  // Twice in one call: the same content counts once, other content is refused.
  pb::RecordPointEventsResponse twice;
  ASSERT_TRUE(Record({fresh, fresh}, &twice).ok());
  EXPECT_FALSE(twice.results(0).replayed());
  EXPECT_TRUE(twice.results(1).replayed());
  EXPECT_EQ(Summary(seller).points().total_points(), 122);
  pb::PointEvent fresh_changed = fresh;
  fresh_changed.set_product_no("P-other");
  const pb::PointEvent another = Shipping(seller, 8, Utc(2024, 10, 4));
  EXPECT_GRPC_ERROR(Record({another, another, fresh_changed}), INVALID_ARGUMENT, "EVENT_ID_REUSED");

  // Each broken rule, each with its reason; nothing recorded.
  auto bad = [&](void (*mutate)(pb::PointEvent&)) {
    pb::PointEvent e = Shipping(seller, 10, Utc(2024, 10, 5));
    mutate(e);
    return Record({Shipping(seller, 1, Utc(2024, 10, 5)), e});
  };
  EXPECT_GRPC_ERROR(bad([](pb::PointEvent& e) { e.set_component(pb::COMPONENT_UNSPECIFIED); }),
                    INVALID_ARGUMENT, "INVALID_COMPONENT");
  EXPECT_GRPC_ERROR(bad([](pb::PointEvent& e) { e.set_component(static_cast<pb::Component>(9)); }),
                    INVALID_ARGUMENT, "INVALID_COMPONENT");
  EXPECT_GRPC_ERROR(bad([](pb::PointEvent& e) { e.set_sale_type(pb::SALE_TYPE_UNSPECIFIED); }),
                    INVALID_ARGUMENT, "INVALID_SALE_TYPE");
  EXPECT_GRPC_ERROR(bad([](pb::PointEvent& e) { e.set_points(0); }), INVALID_ARGUMENT,
                    "INVALID_POINTS");
  EXPECT_GRPC_ERROR(bad([](pb::PointEvent& e) { e.set_points(1'000'001); }), INVALID_ARGUMENT,
                    "INVALID_POINTS");
  EXPECT_GRPC_ERROR(bad([](pb::PointEvent& e) { e.set_seller_id("no spaces"); }), INVALID_ARGUMENT,
                    "INVALID_SELLER_ID");
  EXPECT_GRPC_ERROR(bad([](pb::PointEvent& e) { e.set_event_id(""); }), INVALID_ARGUMENT,
                    "INVALID_EVENT_ID");
  EXPECT_GRPC_ERROR(bad([](pb::PointEvent& e) { e.set_product_name(""); }), INVALID_ARGUMENT,
                    "INVALID_PRODUCT");
  EXPECT_GRPC_ERROR(bad([](pb::PointEvent& e) { e.clear_occurred_at(); }), INVALID_ARGUMENT,
                    "INVALID_OCCURRED_AT");
  // An hour after the service's clock (2024-10-20 00:00 UTC).
  EXPECT_GRPC_ERROR(
      bad([](pb::PointEvent& e) { SetTs(Utc(2024, 10, 20, 1), e.mutable_occurred_at()); }),
      INVALID_ARGUMENT, "OCCURRED_AT_IN_FUTURE");
  EXPECT_GRPC_ERROR(Record({}), INVALID_ARGUMENT, "NO_EVENTS");
  std::vector<pb::PointEvent> too_many;
  for (int i = 0; i < 501; ++i) too_many.push_back(Shipping(seller, 1, Utc(2024, 10, 5)));
  EXPECT_GRPC_ERROR(Record(too_many), INVALID_ARGUMENT, "TOO_MANY_EVENTS");
  EXPECT_EQ(Summary(seller).points().total_points(), 122);
  // The event refused beside the reused id was never recorded: now it is new.
  pb::RecordPointEventsResponse later;
  ASSERT_TRUE(Record({another}, &later).ok());
  EXPECT_FALSE(later.results(0).replayed());
  EXPECT_EQ(Summary(seller).points().total_points(), 130);
}

// S4: points per product, filters, paging, and the shipping split into 一般商品 and 预约商品;
// a product that switched shows both.
TEST_F(PointsTest, S4ProductsAndGeneralReservationSplit) {
  const std::string seller = NewSeller();
  ASSERT_TRUE(SetClock(Utc(2024, 3, 31)).ok());
  auto ev = [&](const std::string& product, const std::string& name, const std::string& category,
                pb::Component component, pb::SaleType sale_type, int64_t points, absl::Time at) {
    return Event(seller, product, component, sale_type, points, at, name, category);
  };
  const auto kShip = pb::COMPONENT_SHIPPING;
  const auto kGeneral = pb::SALE_TYPE_GENERAL;
  const auto kReservation = pb::SALE_TYPE_RESERVATION;
  ASSERT_TRUE(
      Record(
          {
              ev("P-100", "Blue Mug", "Kitchen", kShip, kGeneral, 40, Utc(2024, 3, 3)),
              ev("P-100", "Blue Mug", "Kitchen", kShip, kGeneral, 20, Utc(2024, 3, 5)),
              ev("P-100", "Blue Mug (new)", "Kitchen", pb::COMPONENT_REVIEW, kGeneral, 10,
                 Utc(2024, 3, 6)),
              // P-200 is sold as general, then switched to reservation (pre-order).
              ev("P-200", "Red Kettle", "Kitchen", kShip, kGeneral, 30, Utc(2024, 3, 2)),
              // 2024-03-09 15:00 UTC and 2024-03-10 03:00 UTC are both 2024-03-10 in Japan.
              ev("P-200", "Red Kettle", "Kitchen", kShip, kReservation, 50, Utc(2024, 3, 9, 15)),
              ev("P-200", "Red Kettle", "Kitchen", kShip, kReservation, 25, Utc(2024, 3, 10, 3)),
              ev("P-200", "Red Kettle", "Kitchen", pb::COMPONENT_CLAIM, kReservation, -15,
                 Utc(2024, 3, 11)),
              ev("P-300", "Desk Lamp", "Living", kShip, kReservation, 70, Utc(2024, 3, 4)),
              ev("P-400", "Old Mug", "Kitchen", kShip, kGeneral, 90, Utc(2024, 2, 10)),  // February
          })
          .ok());

  auto list = [&](pb::ListProductPointsRequest request, pb::ListProductPointsResponse* out) {
    request.set_seller_id(seller);
    return Call("gateway", &pb::PointsService::Stub::ListProductPoints, request, out);
  };
  pb::ListProductPointsRequest march;
  march.mutable_period()->mutable_month()->set_year(2024);
  march.mutable_period()->mutable_month()->set_month(3);
  pb::ListProductPointsResponse all;
  ASSERT_TRUE(list(march, &all).ok());
  EXPECT_EQ(all.from().day(), 1);
  EXPECT_EQ(all.to().day(), 31);
  ASSERT_EQ(all.products_size(), 3);
  const pb::ProductPoints& p100 = all.products(0);
  EXPECT_EQ(p100.product_no(), "P-100");
  EXPECT_EQ(p100.product_name(), "Blue Mug (new)");  // the latest name
  EXPECT_EQ(p100.points().total_points(), 70);
  EXPECT_EQ(p100.points().shipping_points(), 60);
  EXPECT_EQ(p100.points().review_points(), 10);
  ASSERT_EQ(p100.shipping_by_sale_type_size(), 1);  // general only
  EXPECT_EQ(p100.shipping_by_sale_type(0).sale_type(), pb::SALE_TYPE_GENERAL);
  EXPECT_EQ(p100.shipping_by_sale_type(0).shipping_points(), 60);
  EXPECT_EQ(p100.shipping_by_sale_type(0).events(), 2);
  const pb::ProductPoints& p200 = all.products(1);
  EXPECT_EQ(p200.product_no(), "P-200");
  EXPECT_EQ(p200.points().total_points(), 90);
  EXPECT_EQ(p200.points().claim_points(), -15);
  ASSERT_EQ(p200.shipping_by_sale_type_size(), 2);  // switched: both
  EXPECT_EQ(p200.shipping_by_sale_type(0).sale_type(), pb::SALE_TYPE_GENERAL);
  EXPECT_EQ(p200.shipping_by_sale_type(0).shipping_points(), 30);
  EXPECT_EQ(p200.shipping_by_sale_type(1).sale_type(), pb::SALE_TYPE_RESERVATION);
  EXPECT_EQ(p200.shipping_by_sale_type(1).shipping_points(), 75);
  EXPECT_EQ(p200.shipping_by_sale_type(1).events(), 2);
  const pb::ProductPoints& p300 = all.products(2);
  EXPECT_EQ(p300.product_no(), "P-300");
  ASSERT_EQ(p300.shipping_by_sale_type_size(), 1);  // reservation only
  EXPECT_EQ(p300.shipping_by_sale_type(0).sale_type(), pb::SALE_TYPE_RESERVATION);

  // Filters: category, product number, name (case-insensitive substring).
  pb::ListProductPointsResponse filtered;
  pb::ListProductPointsRequest by_category = march;
  by_category.mutable_filter()->set_category("Kitchen");
  ASSERT_TRUE(list(by_category, &filtered).ok());
  ASSERT_EQ(filtered.products_size(), 2);
  EXPECT_EQ(filtered.products(0).product_no(), "P-100");
  EXPECT_EQ(filtered.products(1).product_no(), "P-200");
  pb::ListProductPointsRequest by_number = march;
  by_number.mutable_filter()->set_product_no("P-300");
  filtered.Clear();
  ASSERT_TRUE(list(by_number, &filtered).ok());
  ASSERT_EQ(filtered.products_size(), 1);
  EXPECT_EQ(filtered.products(0).product_name(), "Desk Lamp");
  pb::ListProductPointsRequest by_name = march;
  by_name.mutable_filter()->set_product_name_contains("mug");
  filtered.Clear();
  ASSERT_TRUE(list(by_name, &filtered).ok());
  ASSERT_EQ(filtered.products_size(), 1);  // Old Mug sold in February only
  EXPECT_EQ(filtered.products(0).product_no(), "P-100");

  // Paging.
  pb::ListProductPointsRequest paged = march;
  paged.set_page_size(2);
  pb::ListProductPointsResponse page1, page2;
  ASSERT_TRUE(list(paged, &page1).ok());
  ASSERT_EQ(page1.products_size(), 2);
  ASSERT_FALSE(page1.next_page_token().empty());
  paged.set_page_token(page1.next_page_token());
  ASSERT_TRUE(list(paged, &page2).ok());
  ASSERT_EQ(page2.products_size(), 1);
  EXPECT_EQ(page2.products(0).product_no(), "P-300");
  EXPECT_TRUE(page2.next_page_token().empty());
  paged.set_page_token("not-a-token");
  EXPECT_GRPC_ERROR(list(paged, &page2), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  paged.set_page_token("");
  paged.set_page_size(501);
  EXPECT_GRPC_ERROR(list(paged, &page2), INVALID_ARGUMENT, "INVALID_PAGE_SIZE");

  // A date range: 2024-03-01..2024-03-04 JST, before P-200 switched.
  pb::ListProductPointsRequest early;
  auto* dates = early.mutable_period()->mutable_dates();
  dates->mutable_from()->set_year(2024);
  dates->mutable_from()->set_month(3);
  dates->mutable_from()->set_day(1);
  dates->mutable_to()->set_year(2024);
  dates->mutable_to()->set_month(3);
  dates->mutable_to()->set_day(4);
  pb::ListProductPointsResponse early_page;
  ASSERT_TRUE(list(early, &early_page).ok());
  ASSERT_EQ(early_page.products_size(), 3);
  EXPECT_EQ(early_page.products(0).points().total_points(), 40);
  EXPECT_EQ(early_page.products(1).points().total_points(), 30);
  EXPECT_EQ(early_page.products(1).shipping_by_sale_type_size(), 1);

  // The 详细 list of the product that switched: both sale types, per JST day.
  pb::GetProductShippingDetailRequest detail_request;
  detail_request.set_seller_id(seller);
  detail_request.set_product_no("P-200");
  *detail_request.mutable_period() = march.period();
  pb::GetProductShippingDetailResponse detail;
  ASSERT_TRUE(
      Call("gateway", &pb::PointsService::Stub::GetProductShippingDetail, detail_request, &detail)
          .ok());
  ASSERT_EQ(detail.details_size(), 2);
  EXPECT_EQ(detail.details(0).sale_type(), pb::SALE_TYPE_GENERAL);
  EXPECT_EQ(detail.details(0).shipping_points(), 30);
  ASSERT_EQ(detail.details(0).days_size(), 1);
  EXPECT_EQ(detail.details(0).days(0).date().day(), 2);
  EXPECT_EQ(detail.details(1).sale_type(), pb::SALE_TYPE_RESERVATION);
  EXPECT_EQ(detail.details(1).shipping_points(), 75);
  ASSERT_EQ(detail.details(1).days_size(), 1);  // both events on 2024-03-10 JST
  EXPECT_EQ(detail.details(1).days(0).date().day(), 10);
  EXPECT_EQ(detail.details(1).days(0).shipping_points(), 75);
  EXPECT_EQ(detail.details(1).days(0).events(), 2);
  // A product sold only as general: only the general list.
  detail_request.set_product_no("P-100");
  detail.Clear();
  ASSERT_TRUE(
      Call("gateway", &pb::PointsService::Stub::GetProductShippingDetail, detail_request, &detail)
          .ok());
  ASSERT_EQ(detail.details_size(), 1);
  EXPECT_EQ(detail.details(0).sale_type(), pb::SALE_TYPE_GENERAL);
  ASSERT_EQ(detail.details(0).days_size(), 2);
  EXPECT_EQ(detail.details(0).days(0).date().day(), 3);
  EXPECT_EQ(detail.details(0).days(1).date().day(), 5);
  detail_request.set_product_no("");
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::GetProductShippingDetail, detail_request, &detail),
      INVALID_ARGUMENT, "INVALID_PRODUCT");
}

pb::Period Dates(int y1, int m1, int d1, int y2, int m2, int d2) {
  pb::Period period;
  auto* dates = period.mutable_dates();
  dates->mutable_from()->set_year(y1);
  dates->mutable_from()->set_month(m1);
  dates->mutable_from()->set_day(d1);
  dates->mutable_to()->set_year(y2);
  dates->mutable_to()->set_month(m2);
  dates->mutable_to()->set_day(d2);
  return period;
}

pb::Period MonthPeriod(int y, int m) {
  pb::Period period;
  period.mutable_month()->set_year(y);
  period.mutable_month()->set_month(m);
  return period;
}

// S5: the rules changed on 2019-07-01 (JST). The current views answer from that date, the
// past service points view (过去的服务积分) up to 2019-06-30; a query reaching the other side
// is refused with the other view's name.
TEST_F(PointsTest, S5PastAndCurrentViewsSplitAtJuly2019) {
  const std::string seller = NewSeller();
  ASSERT_TRUE(SetClock(Utc(2019, 7, 20)).ok());
  ASSERT_TRUE(Record({
                         // 2019-06-30 14:59:59 UTC = 2019-06-30 23:59:59 JST: old rules.
                         Shipping(seller, 100, Utc(2019, 6, 30, 14, 59, 59), "P-1"),
                         // 2019-06-30 15:00:00 UTC = 2019-07-01 00:00:00 JST: new rules.
                         Shipping(seller, 200, Utc(2019, 6, 30, 15, 0, 0), "P-1"),
                         Shipping(seller, 50, Utc(2019, 6, 10), "P-2"),
                     })
                  .ok());

  auto current = [&](const pb::Period& period, pb::ListProductPointsResponse* out) {
    pb::ListProductPointsRequest request;
    request.set_seller_id(seller);
    *request.mutable_period() = period;
    return Call("gateway", &pb::PointsService::Stub::ListProductPoints, request, out);
  };
  auto past = [&](const pb::Period* period, pb::ListProductPointsResponse* out) {
    pb::ListPastServicePointsRequest request;
    request.set_seller_id(seller);
    if (period != nullptr) *request.mutable_period() = *period;
    return Call("gateway", &pb::PointsService::Stub::ListPastServicePoints, request, out);
  };

  pb::ListProductPointsResponse july;
  ASSERT_TRUE(current(Dates(2019, 7, 1, 2019, 7, 31), &july).ok());
  ASSERT_EQ(july.products_size(), 1);
  EXPECT_EQ(july.products(0).product_no(), "P-1");
  EXPECT_EQ(july.products(0).points().total_points(), 200);

  pb::ListProductPointsResponse unused;
  const grpc::Status crossing = current(Dates(2019, 6, 25, 2019, 7, 5), &unused);
  EXPECT_GRPC_ERROR(crossing, INVALID_ARGUMENT, "USE_PAST_SERVICE_POINTS_VIEW");
  EXPECT_NE(crossing.error_message().find("过去的服务积分"), std::string::npos);
  EXPECT_NE(crossing.error_message().find("2019-06-30"), std::string::npos);
  EXPECT_GRPC_ERROR(current(MonthPeriod(2019, 6), &unused), INVALID_ARGUMENT,
                    "USE_PAST_SERVICE_POINTS_VIEW");

  pb::ListProductPointsResponse june;
  const pb::Period june_period = MonthPeriod(2019, 6);
  ASSERT_TRUE(past(&june_period, &june).ok());
  ASSERT_EQ(june.products_size(), 2);
  EXPECT_EQ(june.products(0).product_no(), "P-1");
  EXPECT_EQ(june.products(0).points().total_points(), 100);
  EXPECT_EQ(june.products(1).points().total_points(), 50);
  const pb::Period crossing_period = Dates(2019, 6, 25, 2019, 7, 5);
  const grpc::Status past_crossing = past(&crossing_period, &unused);
  EXPECT_GRPC_ERROR(past_crossing, INVALID_ARGUMENT, "USE_CURRENT_SERVICE_POINTS_VIEW");
  EXPECT_NE(past_crossing.error_message().find("2019-07-01"), std::string::npos);
  const pb::Period july_period = MonthPeriod(2019, 7);
  EXPECT_GRPC_ERROR(past(&july_period, &unused), INVALID_ARGUMENT,
                    "USE_CURRENT_SERVICE_POINTS_VIEW");
  EXPECT_GRPC_ERROR(past(nullptr, &unused), INVALID_ARGUMENT, "PERIOD_REQUIRED");

  pb::GetMonthSummaryRequest summary_request;
  summary_request.set_seller_id(seller);
  summary_request.mutable_month()->set_year(2019);
  summary_request.mutable_month()->set_month(6);
  pb::GetMonthSummaryResponse summary;
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::GetMonthSummary, summary_request, &summary),
      INVALID_ARGUMENT, "USE_PAST_SERVICE_POINTS_VIEW");
  EXPECT_EQ(Summary(seller).points().total_points(), 200);  // July 2019

  pb::GetProductShippingDetailRequest detail_request;
  detail_request.set_seller_id(seller);
  detail_request.set_product_no("P-1");
  *detail_request.mutable_period() = crossing_period;
  pb::GetProductShippingDetailResponse detail;
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::GetProductShippingDetail, detail_request, &detail),
      INVALID_ARGUMENT, "USE_PAST_SERVICE_POINTS_VIEW");
}

TEST_F(PointsTest, CallersAreAuthorizedByPolicy) {
  const std::string seller = NewSeller();
  ASSERT_TRUE(SetClock(Utc(2024, 11, 5)).ok());
  pb::ConvertPointsRequest convert;
  convert.set_seller_id(seller);
  convert.set_idempotency_key(NewKey());
  pb::ConvertPointsResponse converted;
  for (const char* caller : {"marketplace", "ops", "payment"}) {
    EXPECT_GRPC_ERROR(Call(caller, &pb::PointsService::Stub::ConvertPoints, convert, &converted),
                      PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  }
  EXPECT_GRPC_ERROR(Call("", &pb::PointsService::Stub::ConvertPoints, convert, &converted),
                    UNAUTHENTICATED, "NO_CALLER_IDENTITY");
  pb::RecordPointEventsRequest record;
  *record.add_events() = Shipping(seller, 10, Utc(2024, 11, 1));
  pb::RecordPointEventsResponse recorded;
  EXPECT_GRPC_ERROR(Call("gateway", &pb::PointsService::Stub::RecordPointEvents, record, &recorded),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  pb::GetMonthSummaryRequest summary;
  summary.set_seller_id(seller);
  pb::GetMonthSummaryResponse read;
  EXPECT_TRUE(Call("ops", &pb::PointsService::Stub::GetMonthSummary, summary, &read).ok());
  EXPECT_EQ(read.points().total_points(), 0);  // the refused event was not recorded
  EXPECT_GRPC_ERROR(Call("marketplace", &pb::PointsService::Stub::GetMonthSummary, summary, &read),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  pb::SetTimeRequest set_time;
  SetTs(Utc(2030, 1, 1), set_time.mutable_time());
  pb::SetTimeResponse set;
  EXPECT_GRPC_ERROR(
      CallOn(env->clock_stub.get(), "gateway", &pb::PointsTestClock::Stub::SetTime, set_time, &set),
      PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
}

TEST_F(PointsTest, BadRequestsGetReasonsAndChangeNothing) {
  const std::string seller = NewSeller();
  OpenWallet(seller);
  ASSERT_TRUE(SetClock(Utc(2024, 12, 10)).ok());
  ASSERT_TRUE(Record({Shipping(seller, 400, Utc(2024, 11, 10))}).ok());
  pb::GetMonthSummaryRequest summary;
  pb::GetMonthSummaryResponse summary_response;
  summary.set_seller_id("bad seller");
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::GetMonthSummary, summary, &summary_response),
      INVALID_ARGUMENT, "INVALID_SELLER_ID");
  summary.set_seller_id(seller);
  summary.mutable_month()->set_year(2024);
  summary.mutable_month()->set_month(13);
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::GetMonthSummary, summary, &summary_response),
      INVALID_ARGUMENT, "INVALID_MONTH");
  summary.mutable_month()->set_year(2025);
  summary.mutable_month()->set_month(1);
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::GetMonthSummary, summary, &summary_response),
      INVALID_ARGUMENT, "MONTH_IN_FUTURE");

  EXPECT_GRPC_ERROR(Convert(seller, ""), INVALID_ARGUMENT, "INVALID_IDEMPOTENCY_KEY");
  EXPECT_GRPC_ERROR(Convert("bad/seller", NewKey()), INVALID_ARGUMENT, "INVALID_SELLER_ID");
  EXPECT_GRPC_ERROR(Convert(seller, NewKey(), nullptr, 2024, 0), INVALID_ARGUMENT, "INVALID_MONTH");

  pb::ListProductPointsRequest list;
  list.set_seller_id(seller);
  pb::ListProductPointsResponse list_response;
  *list.mutable_period() = Dates(2024, 2, 30, 2024, 3, 1);
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::ListProductPoints, list, &list_response),
      INVALID_ARGUMENT, "INVALID_DATE_RANGE");
  *list.mutable_period() = Dates(2024, 3, 2, 2024, 3, 1);
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::ListProductPoints, list, &list_response),
      INVALID_ARGUMENT, "INVALID_DATE_RANGE");
  *list.mutable_period() = Dates(2023, 1, 1, 2024, 1, 2);  // 367 days
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::ListProductPoints, list, &list_response),
      INVALID_ARGUMENT, "INVALID_DATE_RANGE");
  list.clear_period();
  list.mutable_filter()->set_category(std::string(129, 'c'));
  EXPECT_GRPC_ERROR(
      Call("gateway", &pb::PointsService::Stub::ListProductPoints, list, &list_response),
      INVALID_ARGUMENT, "INVALID_FILTER");

  // None of it touched the convertible points or the wallet.
  EXPECT_EQ(Summary(seller).conversion().convertible_points(), 400);
  EXPECT_EQ(WalletAvailable(seller), 0);
}

// DESIGN.md section 2: the gateway acts only for the seller of the token it forwards; with the
// token key configured, a seller's points are out of reach with another seller's token. The
// same process serves /metrics, whose labels name no seller.
grpc::Status ListConversions(const pb::ListConversionsRequest& request,
                             pb::ListConversionsResponse* out) {
  out->Clear();
  return Call("gateway", &pb::PointsService::Stub::ListConversions, request, out);
}

// "2023-05:500" per conversion, in order: one string compares a whole page and prints well.
std::string MonthsOf(const pb::ListConversionsResponse& r) {
  std::vector<std::string> out;
  for (const pb::Conversion& c : r.conversions()) {
    out.push_back(absl::StrCat(c.points_month().year(), "-",
                               c.points_month().month() < 10 ? "0" : "", c.points_month().month(),
                               ":", c.converted_points()));
  }
  return absl::StrJoin(out, " ");
}

// Issue 17: a seller's conversions over five months, newest points month first, page by page,
// within a month range; a token of another range and bad requests are refused; another
// seller's conversions are not listed.
TEST_F(PointsTest, ListConversionsPagesNewestMonthFirstWithinARange) {
  const std::string seller = NewSeller(), other = NewSeller();
  OpenWallet(seller);
  OpenWallet(other);
  // Points month 2023-m earns m hundred points; it is converted in 2023-(m+1).
  for (int m = 1; m <= 5; ++m) {
    ASSERT_TRUE(SetClock(Utc(2023, m + 1, 10)).ok());
    ASSERT_TRUE(Record({Shipping(seller, 100 * m, Utc(2023, m, 10))}).ok());
    ASSERT_TRUE(Convert(seller, NewKey()).ok()) << m;
  }
  ASSERT_TRUE(Record({Shipping(other, 700, Utc(2023, 5, 12))}).ok());
  ASSERT_TRUE(Convert(other, NewKey()).ok());

  pb::ListConversionsRequest request;
  request.set_seller_id(seller);
  pb::ListConversionsResponse page;
  ASSERT_TRUE(ListConversions(request, &page).ok());  // the default page (12) holds them all
  EXPECT_EQ(MonthsOf(page), "2023-05:500 2023-04:400 2023-03:300 2023-02:200 2023-01:100");
  EXPECT_TRUE(page.next_page_token().empty());
  ASSERT_EQ(page.conversions_size(), 5);
  EXPECT_EQ(page.conversions(0).seller_id(), seller);
  EXPECT_TRUE(page.conversions(0).completed());
  EXPECT_GT(page.conversions(0).wallet_entry_seq(), 0);

  request.set_page_size(2);
  ASSERT_TRUE(ListConversions(request, &page).ok());
  EXPECT_EQ(MonthsOf(page), "2023-05:500 2023-04:400");
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  ASSERT_TRUE(ListConversions(request, &page).ok());
  EXPECT_EQ(MonthsOf(page), "2023-03:300 2023-02:200");
  ASSERT_FALSE(page.next_page_token().empty());
  const std::string unbounded_token = page.next_page_token();
  request.set_page_token(unbounded_token);
  ASSERT_TRUE(ListConversions(request, &page).ok());
  EXPECT_EQ(MonthsOf(page), "2023-01:100");
  EXPECT_TRUE(page.next_page_token().empty());

  // [2023-02, 2023-04], inclusive at both ends.
  request.set_page_token("");
  request.mutable_from_month()->set_year(2023);
  request.mutable_from_month()->set_month(2);
  request.mutable_to_month()->set_year(2023);
  request.mutable_to_month()->set_month(4);
  ASSERT_TRUE(ListConversions(request, &page).ok());
  EXPECT_EQ(MonthsOf(page), "2023-04:400 2023-03:300");
  ASSERT_FALSE(page.next_page_token().empty());
  const std::string range_token = page.next_page_token();
  request.set_page_token(range_token);
  ASSERT_TRUE(ListConversions(request, &page).ok());
  EXPECT_EQ(MonthsOf(page), "2023-02:200");
  EXPECT_TRUE(page.next_page_token().empty());
  // One bound only.
  request.set_page_token("");
  request.set_page_size(0);
  request.clear_to_month();
  request.mutable_from_month()->set_month(4);
  ASSERT_TRUE(ListConversions(request, &page).ok());
  EXPECT_EQ(MonthsOf(page), "2023-05:500 2023-04:400");
  request.clear_from_month();
  request.mutable_to_month()->set_year(2023);
  request.mutable_to_month()->set_month(1);
  ASSERT_TRUE(ListConversions(request, &page).ok());
  EXPECT_EQ(MonthsOf(page), "2023-01:100");
  request.mutable_to_month()->set_year(2022);
  request.mutable_to_month()->set_month(12);
  ASSERT_TRUE(ListConversions(request, &page).ok());
  EXPECT_EQ(page.conversions_size(), 0);

  // A token of another range (or of none) is refused; so is one of another kind.
  request.mutable_to_month()->set_year(2023);
  request.mutable_to_month()->set_month(4);
  request.set_page_token(range_token);
  EXPECT_GRPC_ERROR(ListConversions(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  request.clear_to_month();
  EXPECT_GRPC_ERROR(ListConversions(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  request.mutable_from_month()->set_year(2023);
  request.mutable_from_month()->set_month(2);
  request.mutable_to_month()->set_year(2023);
  request.mutable_to_month()->set_month(4);
  request.set_page_token(unbounded_token);
  EXPECT_GRPC_ERROR(ListConversions(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  request.set_page_token("garbage");
  EXPECT_GRPC_ERROR(ListConversions(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  request.set_page_token("");

  // Bad requests.
  request.mutable_from_month()->set_month(5);
  EXPECT_GRPC_ERROR(ListConversions(request, &page), INVALID_ARGUMENT, "INVALID_PERIOD");
  request.mutable_from_month()->set_month(13);
  EXPECT_GRPC_ERROR(ListConversions(request, &page), INVALID_ARGUMENT, "INVALID_MONTH");
  request.clear_from_month();
  request.set_page_size(121);
  EXPECT_GRPC_ERROR(ListConversions(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_SIZE");
  request.set_page_size(-1);
  EXPECT_GRPC_ERROR(ListConversions(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_SIZE");
  request.set_page_size(0);
  request.set_seller_id("shop/1");
  EXPECT_GRPC_ERROR(ListConversions(request, &page), INVALID_ARGUMENT, "INVALID_SELLER_ID");

  // The other seller sees only its own conversion; a seller without any lists none.
  pb::ListConversionsRequest theirs;
  theirs.set_seller_id(other);
  ASSERT_TRUE(ListConversions(theirs, &page).ok());
  EXPECT_EQ(MonthsOf(page), "2023-05:700");
  theirs.set_seller_id(NewSeller());
  ASSERT_TRUE(ListConversions(theirs, &page).ok());
  EXPECT_EQ(page.conversions_size(), 0);
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_F(PointsTest, GatewayActsOnlyForTheSellerOfItsTokenAndMetricsNameNoSeller) {
  const std::string a = NewSeller(), b = NewSeller();
  OpenWallet(a);
  // Named references, not a structured binding: the lambdas below capture the key, and C++17
  // cannot capture a structured binding (clang rejects it, gcc accepts it).
  const std::pair<std::string, std::string> key_pair = NewEcKeyPair();
  const std::string& private_pem = key_pair.first;
  const std::string& public_pem = key_pair.second;
  const std::string key_file = env->stack->dir + "/token.pub";
  std::ofstream(key_file) << public_pem;
  std::map<std::string, std::string> scoped_env = env->points_env;
  scoped_env["QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE"] = key_file;
  const int metrics_port = FreePort();
  scoped_env["QCASH_METRICS_LISTEN"] = absl::StrCat("127.0.0.1:", metrics_port);
  auto scoped = StartService(QCASH_POINTS_BINARY, scoped_env, "QCASH_POINTS_LISTEN",
                             env->stack->dir + "/points-scoped.log");
  ASSERT_TRUE(scoped.ok()) << scoped.status();
  auto channel = grpc::CreateChannel(scoped->address, grpc::InsecureChannelCredentials());
  auto stub = pb::PointsService::NewStub(channel);
  auto clock = pb::PointsTestClock::NewStub(channel);
  pb::SetTimeRequest set_time;
  SetTs(Utc(2025, 2, 3), set_time.mutable_time());
  pb::SetTimeResponse set;
  ASSERT_TRUE(CallOn(clock.get(), "ops", &pb::PointsTestClock::Stub::SetTime, set_time, &set).ok());
  pb::RecordPointEventsRequest record;
  *record.add_events() = Shipping(a, 600, Utc(2025, 1, 10));
  pb::RecordPointEventsResponse recorded;
  ASSERT_TRUE(CallOn(stub.get(), "marketplace", &pb::PointsService::Stub::RecordPointEvents, record,
                     &recorded)
                  .ok());

  auto token_for = [&](const std::string& seller) {
    return *IssueSellerToken(private_pem, "qoo10-login", "qcash-gateway", seller, absl::Now(),
                             absl::Hours(1));
  };
  auto call = [&](auto method, const auto& request, auto* response, const std::string& token) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    context.AddMetadata("x-qcash-caller", "gateway");
    if (!token.empty()) context.AddMetadata("x-qcash-seller-token", token);
    return (stub.get()->*method)(&context, request, response);
  };
  pb::GetMonthSummaryRequest summary;
  summary.set_seller_id(a);
  pb::GetMonthSummaryResponse read;
  ASSERT_TRUE(call(&pb::PointsService::Stub::GetMonthSummary, summary, &read, token_for(a)).ok());
  EXPECT_EQ(read.conversion().convertible_points(), 600);
  EXPECT_GRPC_ERROR(call(&pb::PointsService::Stub::GetMonthSummary, summary, &read, token_for(b)),
                    PERMISSION_DENIED, "SELLER_MISMATCH");
  EXPECT_GRPC_ERROR(call(&pb::PointsService::Stub::GetMonthSummary, summary, &read, ""),
                    PERMISSION_DENIED, "SELLER_TOKEN_MISSING");

  pb::ConvertPointsRequest convert;
  convert.set_seller_id(a);
  convert.set_idempotency_key(NewKey());
  pb::ConvertPointsResponse converted;
  EXPECT_GRPC_ERROR(
      call(&pb::PointsService::Stub::ConvertPoints, convert, &converted, token_for(b)),
      PERMISSION_DENIED, "SELLER_MISMATCH");
  EXPECT_EQ(WalletAvailable(a), 0);
  ASSERT_TRUE(
      call(&pb::PointsService::Stub::ConvertPoints, convert, &converted, token_for(a)).ok());
  EXPECT_EQ(converted.conversion().converted_points(), 600);
  EXPECT_EQ(WalletAvailable(a), 600);

  // ListConversions (issue 17): the gateway reads only the conversions of its token's seller.
  pb::ListConversionsRequest list;
  list.set_seller_id(a);
  pb::ListConversionsResponse listed;
  ASSERT_TRUE(call(&pb::PointsService::Stub::ListConversions, list, &listed, token_for(a)).ok());
  ASSERT_EQ(listed.conversions_size(), 1);
  EXPECT_EQ(listed.conversions(0).converted_points(), 600);
  EXPECT_GRPC_ERROR(call(&pb::PointsService::Stub::ListConversions, list, &listed, token_for(b)),
                    PERMISSION_DENIED, "SELLER_MISMATCH");
  EXPECT_GRPC_ERROR(call(&pb::PointsService::Stub::ListConversions, list, &listed, ""),
                    PERMISSION_DENIED, "SELLER_TOKEN_MISSING");

  httplib::Client metrics("127.0.0.1", metrics_port);
  auto scraped = metrics.Get("/metrics");
  ASSERT_TRUE(scraped) << "no answer from /metrics";
  EXPECT_EQ(scraped->status, 200);
  EXPECT_NE(scraped->body.find("qcash_points_conversion_wallet_calls_total"), std::string::npos);
  EXPECT_NE(scraped->body.find("outcome=\"completed\""), std::string::npos);
  EXPECT_NE(scraped->body.find("qcash_points_events_total"), std::string::npos);
  EXPECT_EQ(scraped->body.find(a), std::string::npos);
  scoped->process->Stop(SIGTERM);
}

// DESIGN.md section 2 over real mTLS, as deployed: identities come from client certificates,
// the points service reaches the wallet as `points` with its own certificate, and the test
// clock is not there (the system clock decides, so the event is put in last month by it).
TEST_F(PointsTest, MutualTlsIdentitiesEndToEnd) {
  auto pki = MakePki(env->stack->dir + "/pki",
                     {"wallet", "points", "marketplace", "gateway", "settlement"});
  ASSERT_TRUE(pki.ok()) << pki.status();
  std::map<std::string, std::string> wallet_env = env->stack->wallet_env;
  for (const auto& [k, v] : pki->ServiceEnv("wallet")) wallet_env[k] = v;
  auto wallet = StartService(QCASH_WALLET_BINARY, wallet_env, "QCASH_WALLET_LISTEN",
                             env->stack->dir + "/wallet-tls.log");
  ASSERT_TRUE(wallet.ok()) << wallet.status();
  std::map<std::string, std::string> points_env = {
      {"QCASH_POINTS_DATABASE_URL", env->points_db_url}, {"QCASH_WALLET_TARGET", wallet->address}};
  for (const auto& [k, v] : pki->ServiceEnv("points")) points_env[k] = v;
  auto points = StartService(QCASH_POINTS_BINARY, points_env, "QCASH_POINTS_LISTEN",
                             env->stack->dir + "/points-tls.log");
  ASSERT_TRUE(points.ok()) << points.status();
  auto points_as = [&](const std::string& identity) {
    return pb::PointsService::NewStub(grpc::CreateChannel(points->address, pki->Client(identity)));
  };
  auto wallet_as = [&](const std::string& identity) {
    return wpb::WalletService::NewStub(grpc::CreateChannel(wallet->address, pki->Client(identity)));
  };

  const std::string seller = NewSeller();
  auto settlement = wallet_as("settlement");
  wpb::OpenWalletRequest open;
  open.set_seller_id(seller);
  open.set_idempotency_key(NewKey());
  wpb::OpenWalletResponse opened;
  ASSERT_TRUE(
      CallOn(settlement.get(), "", &wpb::WalletService::Stub::OpenWallet, open, &opened).ok());

  absl::TimeZone tokyo;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Tokyo", &tokyo));
  const absl::CivilMonth last_month = absl::CivilMonth(absl::ToCivilSecond(absl::Now(), tokyo)) - 1;
  pb::RecordPointEventsRequest record;
  *record.add_events() =
      Shipping(seller, 1'234, absl::FromCivil(absl::CivilDay(last_month) + 14, tokyo));
  pb::RecordPointEventsResponse recorded;
  auto marketplace = points_as("marketplace");
  auto gateway = points_as("gateway");
  // The metadata identity is ignored under mTLS: the certificate says who calls.
  EXPECT_GRPC_ERROR(CallOn(gateway.get(), "marketplace",
                           &pb::PointsService::Stub::RecordPointEvents, record, &recorded),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  ASSERT_TRUE(
      CallOn(marketplace.get(), "", &pb::PointsService::Stub::RecordPointEvents, record, &recorded)
          .ok());

  pb::ConvertPointsRequest convert;
  convert.set_seller_id(seller);
  convert.set_idempotency_key(NewKey());
  convert.mutable_points_month()->set_year(static_cast<int32_t>(last_month.year()));
  convert.mutable_points_month()->set_month(last_month.month());
  pb::ConvertPointsResponse converted;
  EXPECT_GRPC_ERROR(CallOn(marketplace.get(), "gateway", &pb::PointsService::Stub::ConvertPoints,
                           convert, &converted),
                    PERMISSION_DENIED, "CALLER_NOT_ALLOWED");
  // With TLS the service requires the seller-token key, so the gateway forwards the token.
  const std::string token = *IssueSellerToken(pki->SellerTokenPrivateKeyPem(), "qoo10-login",
                                              "qcash-gateway", seller, absl::Now(), absl::Hours(1));
  const grpc::Status status = CallOn(gateway.get(), "", &pb::PointsService::Stub::ConvertPoints,
                                     convert, &converted, token);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(converted.conversion().converted_points(), 1'200);
  EXPECT_EQ(converted.conversion().leftover_points(), 34);

  wpb::GetBalanceRequest balance;
  balance.set_seller_id(seller);
  wpb::GetBalanceResponse answered;
  ASSERT_TRUE(
      CallOn(settlement.get(), "", &wpb::WalletService::Stub::GetBalance, balance, &answered).ok());
  EXPECT_EQ(answered.balance().available_yen(), 1'200);
  points->process->Stop(SIGTERM);
  wallet->process->Stop(SIGTERM);
}

// The test clock is a test configuration only: without the switch the service is absent,
// and the failpoint switch accepts no unknown names.
TEST_F(PointsTest, TestSwitchesAreOffByDefault) {
  std::map<std::string, std::string> plain = env->points_env;
  plain.erase("QCASH_POINTS_TEST_CLOCK");
  auto other = StartService(QCASH_POINTS_BINARY, plain, "QCASH_POINTS_LISTEN",
                            env->stack->dir + "/points-plain.log");
  ASSERT_TRUE(other.ok()) << other.status();
  auto stub = pb::PointsTestClock::NewStub(
      grpc::CreateChannel(other->address, grpc::InsecureChannelCredentials()));
  pb::SetTimeRequest request;
  SetTs(Utc(2030, 1, 1), request.mutable_time());
  pb::SetTimeResponse response;
  EXPECT_EQ(CallOn(stub.get(), "ops", &pb::PointsTestClock::Stub::SetTime, request, &response)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  auto services = ReflectionListServices(other->address);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_EQ(services->find("PointsTestClock"), std::string::npos);
  EXPECT_NE(services->find("qcash.points.v1.PointsService"), std::string::npos);
  other->process->Stop(SIGTERM);

  Process::Spec bogus;
  bogus.argv = {QCASH_POINTS_BINARY};
  bogus.env = env->points_env;
  bogus.env["QCASH_INSECURE_DEV"] = "1";
  bogus.env["QCASH_POINTS_LISTEN"] = absl::StrCat("127.0.0.1:", FreePort());
  bogus.env["QCASH_POINTS_FAILPOINT"] = "exit_somewhere_else";
  bogus.log_file = env->stack->dir + "/points-bogus.log";
  auto process = Process::Start(bogus);
  ASSERT_TRUE(process.ok()) << process.status();
  auto exit = (*process)->WaitExit(std::chrono::seconds(20));
  ASSERT_TRUE(exit.ok());
  ASSERT_TRUE(WIFEXITED(*exit));
  EXPECT_EQ(WEXITSTATUS(*exit), 1);
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::PointsEnvironment());
  return RUN_ALL_TESTS();
}
