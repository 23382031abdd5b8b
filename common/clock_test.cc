#include "common/clock.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace qcash {
namespace {

TEST(ClockTest, SystemClockFollowsTheWallClock) {
  const absl::Time before = absl::Now();
  const absl::Time now = SystemClock::Get()->Now();
  EXPECT_GE(now, before);
  EXPECT_LE(now, absl::Now());
  EXPECT_EQ(SystemClock::Get(), SystemClock::Get());
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  ManualClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Minutes(15));
  EXPECT_EQ(clock.Now(), start + absl::Minutes(15));
  clock.Set(start - absl::Hours(1));
  EXPECT_EQ(clock.Now(), start - absl::Hours(1));
}

TEST(ClockTest, ManualClockAdvancesFromManyThreadsWithoutLosingAStep) {
  ManualClock clock(absl::UnixEpoch());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 1000; ++i) clock.Advance(absl::Seconds(1));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(clock.Now(), absl::UnixEpoch() + absl::Seconds(4000));
}

}  // namespace
}  // namespace qcash
