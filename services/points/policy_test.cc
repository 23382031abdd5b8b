// DESIGN.md section 2: who may record, read and convert service points.
#include "services/points/policy.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace qcash::points {
namespace {

TEST(PolicyTest, OnlyTheMarketplaceRecordsEvents) {
  EXPECT_TRUE(Authorize("marketplace", Permission::kRecordEvents).ok());
  for (const char* caller : {"gateway", "ops", "points", "payment", "wallet", ""}) {
    const absl::Status s = Authorize(caller, Permission::kRecordEvents);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << caller;
    EXPECT_EQ(ReasonOf(s), "CALLER_NOT_ALLOWED");
  }
}

TEST(PolicyTest, OnlyTheGatewayConvertsForASeller) {
  EXPECT_TRUE(Authorize("gateway", Permission::kConvert).ok());
  for (const char* caller : {"marketplace", "ops", "points", "payment", "nobody"}) {
    EXPECT_FALSE(Authorize(caller, Permission::kConvert).ok()) << caller;
  }
}

TEST(PolicyTest, GatewayAndOperatorsRead) {
  EXPECT_TRUE(Authorize("gateway", Permission::kRead).ok());
  EXPECT_TRUE(Authorize("ops", Permission::kRead).ok());
  EXPECT_FALSE(Authorize("marketplace", Permission::kRead).ok());
  EXPECT_FALSE(Authorize("payment", Permission::kRead).ok());
}

TEST(PolicyTest, OnlyOperatorsSetTheTestClock) {
  EXPECT_TRUE(Authorize("ops", Permission::kSetTestClock).ok());
  EXPECT_FALSE(Authorize("gateway", Permission::kSetTestClock).ok());
  EXPECT_FALSE(Authorize("marketplace", Permission::kSetTestClock).ok());
}

}  // namespace
}  // namespace qcash::points
