// The points service's parts in process: Points (services/points/points.h) with its real SQL on
// the harness's PostgreSQL, a ManualClock for "now", and a fake WalletCredit, because here the
// wallet is not the point: what is tested is what points does with each kind of answer (a
// credit, a definite refusal, an outcome it cannot know). The wallet itself is tested end to
// end in points_integration_test and wallet_integration_test.
//
// Every instant is written as UTC with its JST reading beside it, so the service's Japan-time
// arithmetic is checked against UTC instants, never against itself. Each test uses its own
// sellers, so the tests share one database and need no cleanup.
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "qcash/wallet/v1/error_reason.pb.h"
#include "services/points/points.h"
#include "services/points/rules.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

using points::ConversionState;
using points::ConvertRequest;
using points::PointEvent;
using points::Points;
using points::WalletCredit;
using points::WindowState;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// The wallet as points sees it. It keeps the wallet's one promise that matters here: a key
// credits at most once, and asking again with it answers the first credit (replayed). Each
// call takes the next scripted answer, if any:
//   kCredit      credit (or replay) and say so;
//   kRefuse      a definite refusal (FAILED_PRECONDITION WALLET_CLOSED): nothing credited;
//   kUnavailable nothing credited, and the caller cannot know (UNAVAILABLE);
//   kLoseAnswer  credited, but the answer is lost (DEADLINE_EXCEEDED).
class FakeWallet final : public WalletCredit {
 public:
  enum class Answer { kCredit, kRefuse, kUnavailable, kLoseAnswer };
  struct Call {
    std::string seller_id;
    std::string key;
    int64_t amount_yen = 0;
    std::string reference;
    std::string points_month;  // "YYYY-MM"
  };

  void Script(std::vector<Answer> answers) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    for (Answer a : answers) script_.push_back(a);
  }

  absl::StatusOr<Receipt> CreditConversion(const std::string& seller_id,
                                           const std::string& idempotency_key, int64_t amount_yen,
                                           const std::string& reference,
                                           const std::string& points_month)
      ABSL_LOCKS_EXCLUDED(mu_) override {
    MutexLock lock(&mu_);
    calls_.push_back(Call{seller_id, idempotency_key, amount_yen, reference, points_month});
    Answer answer = Answer::kCredit;
    if (!script_.empty()) {
      answer = script_.front();
      script_.pop_front();
    }
    switch (answer) {
      case Answer::kRefuse:
        return Error(absl::StatusCode::kFailedPrecondition, wallet::v1::WALLET_CLOSED,
                     "the wallet is closed");
      case Answer::kUnavailable:
        return absl::UnavailableError("the wallet did not answer");
      case Answer::kCredit:
      case Answer::kLoseAnswer:
      default:
        break;
    }
    Receipt receipt;
    auto it = credits_.find(idempotency_key);
    if (it == credits_.end()) {
      receipt.entry_seq = ++last_seq_;
      credits_.emplace(idempotency_key, Credit{receipt.entry_seq, amount_yen});
      credited_yen_ += amount_yen;
    } else {
      receipt.entry_seq = it->second.entry_seq;
      receipt.replayed = true;
    }
    if (answer == Answer::kLoseAnswer) {
      return absl::DeadlineExceededError("the credit's answer was lost");
    }
    return receipt;
  }

  std::vector<Call> calls() const ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    return calls_;
  }
  int64_t credited_yen() const ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    return credited_yen_;
  }

 private:
  struct Credit {
    int64_t entry_seq = 0;
    int64_t amount_yen = 0;
  };
  mutable Mutex mu_;
  std::deque<Answer> script_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Credit> credits_ ABSL_GUARDED_BY(mu_);
  int64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t credited_yen_ ABSL_GUARDED_BY(mu_) = 0;
};

class PointsComponentsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PostgresServer::Start(MakeStateDir("points_components_test"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server).release();
    ASSERT_TRUE(server_->CreateDatabase("qcash_points").ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    Points::Options options;
    options.database_url = server_->Url("qcash_points");
    options.pool_size = 4;
    // The background step never runs on its own during a test: the tests call
    // CompleteStaleConversions() themselves, when they mean to.
    options.completer_interval = std::chrono::hours(24);
    auto points = Points::Start(options, &clock_, &wallet_);
    ASSERT_TRUE(points.ok()) << points.status();
    points_ = std::move(*points);
  }

  // A seller id of this test only.
  std::string Seller(absl::string_view name) {
    return absl::StrCat(::testing::UnitTest::GetInstance()->current_test_info()->name(), "-", name)
        .substr(0, 64);
  }

  absl::Status Record(const std::string& seller, int64_t points, absl::Time occurred_at) {
    PointEvent e;
    e.event_id = absl::StrCat("ev-", ++next_event_);
    e.seller_id = seller;
    e.product_no = "P-1";
    e.product_name = "a product";
    e.category = "books";
    e.component = static_cast<int16_t>(points::Component::kShipping);
    e.sale_type = static_cast<int16_t>(points::SaleType::kGeneral);
    e.points = points;
    e.occurred_at = occurred_at;
    return points_->RecordEvents("orders", {e}).status();
  }

  absl::StatusOr<points::ConvertResult> Convert(const std::string& seller, const std::string& key,
                                                absl::CivilMonth month) {
    ConvertRequest request;
    request.caller = "gateway";
    request.seller_id = seller;
    request.idempotency_key = key;
    request.points_month = month;
    return points_->Convert(request);
  }

  static PostgresServer* server_;
  static int next_event_;
  ManualClock clock_{Utc(2026, 3, 31, 12)};  // 2026-03-31 21:00 JST
  FakeWallet wallet_;
  std::unique_ptr<Points> points_;
};

PostgresServer* PointsComponentsTest::server_ = nullptr;
int PointsComponentsTest::next_event_ = 0;

const absl::CivilMonth kMarch(2026, 3);
const absl::CivilMonth kApril(2026, 4);
// 2026-03-31 23:59:59 JST, the last second of March in Japan, and the second after it.
const absl::Time kMarchLastSecond = Utc(2026, 3, 31, 14, 59, 59);
const absl::Time kAprilFirstSecond = Utc(2026, 3, 31, 15, 0, 0);

// S2: a month is the JST month; an event at 23:59:59 JST on the last day belongs to it, one at
// 00:00:00 JST on the 1st to the next, although both fall on the same UTC date.
TEST_F(PointsComponentsTest, S2EventsCountInTheirJstMonth) {
  const std::string seller = Seller("s");
  clock_.Set(kAprilFirstSecond);
  ASSERT_TRUE(Record(seller, 150, kMarchLastSecond).ok());
  ASSERT_TRUE(Record(seller, 70, kAprilFirstSecond).ok());

  auto march = points_->GetSummary(seller, kMarch);
  ASSERT_TRUE(march.ok()) << march.status();
  EXPECT_EQ(march->points.total, 150);
  EXPECT_EQ(march->window.start, Utc(2026, 2, 28, 15));  // 2026-03-01 00:00 JST
  EXPECT_EQ(march->window.end, kAprilFirstSecond);

  auto april = points_->GetSummary(seller, kApril);
  ASSERT_TRUE(april.ok()) << april.status();
  EXPECT_EQ(april->points.total, 70);
  EXPECT_EQ(april->previous_month_points.total, 150);
  EXPECT_EQ(april->verdict.state, WindowState::kConvertible);
  EXPECT_EQ(april->verdict.convertible_points, 100);
}

// S3: March's points convert during April (JST) only: not at 23:59:59 JST on 31 March, from
// 00:00:00 JST on 1 April. Nothing reaches the wallet before the window opens.
TEST_F(PointsComponentsTest, S3WindowOpensAtTheFirstSecondOfTheNextJstMonth) {
  const std::string seller = Seller("s");
  clock_.Set(kMarchLastSecond);
  ASSERT_TRUE(Record(seller, 180, Utc(2026, 3, 10)).ok());
  ASSERT_TRUE(Record(seller, 72, kMarchLastSecond).ok());

  auto early = Convert(seller, "k1", kMarch);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition) << early.status();
  EXPECT_TRUE(ReasonIs(early.status(), points::v1::OUTSIDE_CONVERSION_WINDOW)) << early.status();
  EXPECT_TRUE(wallet_.calls().empty());

  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(clock_.Now(), kAprilFirstSecond);
  auto converted = Convert(seller, "k1", kMarch);
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_EQ(converted->conversion.state, ConversionState::kCompleted);
  EXPECT_EQ(converted->conversion.month_total_points, 252);
  EXPECT_EQ(converted->conversion.converted_points, 200);  // whole hundreds (S3)
  EXPECT_EQ(converted->conversion.requested_at, kAprilFirstSecond);
  const std::vector<FakeWallet::Call> calls = wallet_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].seller_id, seller);
  EXPECT_EQ(calls[0].key, points::WalletIdempotencyKey(seller, kMarch));
  EXPECT_EQ(calls[0].amount_yen, 200);
  EXPECT_EQ(calls[0].reference, points::ConversionId(seller, kMarch));
  EXPECT_EQ(calls[0].points_month, "2026-03");  // the lot's provenance
  EXPECT_EQ(converted->conversion.wallet_entry_seq, 1);
}

// S3: the window is all of the next JST month and no more: open at 23:59:59 JST on 30 April,
// closed from 00:00:00 JST on 1 May.
TEST_F(PointsComponentsTest, S3WindowClosesAfterTheLastSecondOfTheNextJstMonth) {
  const std::string in_time = Seller("in-time");
  const std::string too_late = Seller("too-late");
  clock_.Set(Utc(2026, 3, 20));
  ASSERT_TRUE(Record(in_time, 300, Utc(2026, 3, 15)).ok());
  ASSERT_TRUE(Record(too_late, 300, Utc(2026, 3, 15)).ok());

  clock_.Set(Utc(2026, 4, 30, 14, 59, 59));  // 2026-04-30 23:59:59 JST
  auto converted = Convert(in_time, "k", kMarch);
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_EQ(converted->conversion.converted_points, 300);

  clock_.Advance(absl::Seconds(1));  // 2026-05-01 00:00:00 JST
  auto lapsed = Convert(too_late, "k", kMarch);
  EXPECT_EQ(lapsed.status().code(), absl::StatusCode::kFailedPrecondition) << lapsed.status();
  EXPECT_TRUE(ReasonIs(lapsed.status(), points::v1::OUTSIDE_CONVERSION_WINDOW)) << lapsed.status();
  EXPECT_EQ(wallet_.calls().size(), 1u);  // only in_time's credit
  EXPECT_EQ(wallet_.credited_yen(), 300);
}

// A definite refusal: nothing was credited, so the conversion is recorded as failed (not left
// for the background step) and the seller hears the wallet's reason; asked again within the
// window, it converts, with the same wallet key and amount.
TEST_F(PointsComponentsTest, DefiniteRefusalFailsTheAttemptAndALaterRequestConverts) {
  const std::string seller = Seller("s");
  clock_.Set(Utc(2026, 3, 20));
  ASSERT_TRUE(Record(seller, 250, Utc(2026, 3, 15)).ok());
  clock_.Set(Utc(2026, 4, 10));

  wallet_.Script({FakeWallet::Answer::kRefuse});
  auto refused = Convert(seller, "k1", kMarch);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_TRUE(ReasonIs(refused.status(), points::v1::WALLET_CLOSED)) << refused.status();

  // Failed, not pending: the background step has nothing to drive, and the summary offers the
  // points again.
  auto stale = points_->CompleteStaleConversions();
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_EQ(*stale, 0);
  EXPECT_EQ(wallet_.calls().size(), 1u);
  auto summary = points_->GetSummary(seller, kApril);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_FALSE(summary->conversion.has_value());
  EXPECT_EQ(summary->verdict.state, WindowState::kConvertible);
  EXPECT_EQ(summary->verdict.convertible_points, 200);

  clock_.Advance(absl::Hours(1));
  auto converted = Convert(seller, "k1", kMarch);
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_EQ(converted->conversion.state, ConversionState::kCompleted);
  EXPECT_EQ(converted->conversion.converted_points, 200);
  const std::vector<FakeWallet::Call> calls = wallet_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].key, calls[0].key);
  EXPECT_EQ(calls[1].amount_yen, calls[0].amount_yen);
  EXPECT_EQ(wallet_.credited_yen(), 200);
}

// An unknown outcome (the wallet credited, the answer was lost): the seller is told to retry
// with the same key, the conversion stays in progress, and the retry asks the wallet again
// with the same wallet key, which answers the first credit: one credit in all.
TEST_F(PointsComponentsTest, UnknownOutcomeRetryWithTheSameKeyCreditsOnce) {
  const std::string seller = Seller("s");
  clock_.Set(Utc(2026, 3, 20));
  ASSERT_TRUE(Record(seller, 400, Utc(2026, 3, 15)).ok());
  clock_.Set(Utc(2026, 4, 2));

  wallet_.Script({FakeWallet::Answer::kLoseAnswer});
  auto unknown = Convert(seller, "k1", kMarch);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnavailable) << unknown.status();
  EXPECT_TRUE(ReasonIs(unknown.status(), points::v1::WALLET_UNAVAILABLE)) << unknown.status();
  auto summary = points_->GetSummary(seller, kApril);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_TRUE(summary->conversion.has_value());
  EXPECT_EQ(summary->conversion->state, ConversionState::kPending);
  EXPECT_EQ(summary->verdict.state, WindowState::kInProgress);

  clock_.Advance(absl::Minutes(1));
  auto again = Convert(seller, "k1", kMarch);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->conversion.state, ConversionState::kCompleted);
  EXPECT_EQ(again->conversion.wallet_entry_seq, 1);
  const std::vector<FakeWallet::Call> calls = wallet_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].key, calls[0].key);
  EXPECT_EQ(calls[1].amount_yen, 400);
  EXPECT_EQ(wallet_.credited_yen(), 400);

  // Another key for the same month is not a second conversion.
  auto other_key = Convert(seller, "k2", kMarch);
  EXPECT_EQ(other_key.status().code(), absl::StatusCode::kFailedPrecondition) << other_key.status();
  EXPECT_TRUE(ReasonIs(other_key.status(), points::v1::ALREADY_CONVERTED)) << other_key.status();
  EXPECT_EQ(wallet_.calls().size(), 2u);
}

// An unknown outcome nobody retries: the background step drives the intent with the same
// wallet key, and a later request answers the completed conversion without calling again.
TEST_F(PointsComponentsTest, UnknownOutcomeIsCompletedByTheBackgroundStep) {
  const std::string seller = Seller("s");
  clock_.Set(Utc(2026, 3, 20));
  ASSERT_TRUE(Record(seller, 199, Utc(2026, 3, 15)).ok());
  clock_.Set(Utc(2026, 4, 2));

  wallet_.Script({FakeWallet::Answer::kUnavailable});
  auto unknown = Convert(seller, "k1", kMarch);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnavailable) << unknown.status();
  EXPECT_EQ(wallet_.credited_yen(), 0);

  auto completed = points_->CompleteStaleConversions();
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(*completed, 1);
  const std::vector<FakeWallet::Call> calls = wallet_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].key, points::WalletIdempotencyKey(seller, kMarch));
  EXPECT_EQ(calls[1].key, calls[0].key);
  EXPECT_EQ(calls[1].amount_yen, 100);
  EXPECT_EQ(wallet_.credited_yen(), 100);

  auto replay = Convert(seller, "k1", kMarch);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->conversion.state, ConversionState::kCompleted);
  EXPECT_EQ(replay->conversion.converted_points, 100);
  EXPECT_EQ(wallet_.calls().size(), 2u);  // answered from the record
}

}  // namespace
}  // namespace qcash::testing
