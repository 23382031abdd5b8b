#include "services/points/clock.h"

#include <gtest/gtest.h>

namespace qcash::points {
namespace {

TEST(ClockTest, SettableClockFollowsTheSystemClockUntilSetThenStandsStill) {
  SettableClock clock;
  const absl::Time before = absl::Now();
  const absl::Time read = clock.Now();
  EXPECT_GE(read, before);
  EXPECT_LE(read, absl::Now());

  const absl::Time t = absl::FromUnixSeconds(1'709'218'799);  // 2024-02-29 23:59:59 JST
  clock.Set(t);
  EXPECT_EQ(clock.Now(), t);
  EXPECT_EQ(clock.Now(), t);
  clock.Set(t + absl::Seconds(1));
  EXPECT_EQ(clock.Now(), t + absl::Seconds(1));
}

}  // namespace
}  // namespace qcash::points
