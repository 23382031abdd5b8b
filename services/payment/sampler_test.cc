#include "services/payment/sampler.h"

#include <gtest/gtest.h>

namespace qcash::payment {
namespace {

// P7 (issue 10): a flood of rejected notifications logs at most N lines a minute, and the
// next line written says how many were left out.
TEST(LogSamplerTest, AtMostNPerWindowAndTheRestCounted) {
  LogSampler sampler(3, absl::Minutes(1));
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  int64_t suppressed = -1;
  int logged = 0;
  for (int i = 0; i < 1000; ++i) {
    if (sampler.Sample(t0 + absl::Milliseconds(i), &suppressed)) {
      ++logged;
      EXPECT_EQ(suppressed, 0);
    }
  }
  EXPECT_EQ(logged, 3);
  ASSERT_TRUE(sampler.Sample(t0 + absl::Minutes(1), &suppressed));
  EXPECT_EQ(suppressed, 997);
  ASSERT_TRUE(sampler.Sample(t0 + absl::Minutes(1), &suppressed));
  EXPECT_EQ(suppressed, 0);
  LogSampler silent(0, absl::Minutes(1));
  EXPECT_FALSE(silent.Sample(t0, &suppressed));
}

}  // namespace
}  // namespace qcash::payment
