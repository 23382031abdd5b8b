// The harness keeps generated state (databases, keys, logs) out of the source tree.
#include "tests/harness/harness.h"

#include "gtest/gtest.h"

namespace qcash::testing {
namespace {

TEST(StateDirTest, DefaultsToTheBuildTree) {
  auto dir = StateDirFor("t", "", "/src/qcash", "/src/qcash/build");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->rfind("/src/qcash/build/test-state/t-", 0), 0u) << *dir;
}

TEST(StateDirTest, AcceptsATemporaryDirectory) {
  auto dir = StateDirFor("t", "/tmp/qcash-state", "/src/qcash", "/src/qcash/build");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->rfind("/tmp/qcash-state/t-", 0), 0u) << *dir;
}

TEST(StateDirTest, RefusesTheSourceTree) {
  for (const char* base : {"/src/qcash", "/src/qcash/test-state", "/src/qcash/build/../tests"}) {
    auto dir = StateDirFor("t", base, "/src/qcash", "/src/qcash/build");
    EXPECT_EQ(dir.status().code(), absl::StatusCode::kFailedPrecondition) << base;
  }
}

TEST(StateDirTest, AcceptsABuildTreeOutsideTheSource) {
  auto dir = StateDirFor("t", "", "/src/qcash", "/var/build/qcash");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->rfind("/var/build/qcash/test-state/", 0), 0u) << *dir;
}

TEST(StateDirTest, MakeStateDirWritesUnderTheBuildTreeWhenNotTold) {
  unsetenv("QCASH_TEST_STATE_DIR");
  const std::string dir = MakeStateDir("harness_test");
  EXPECT_EQ(dir.rfind(std::string(QCASH_BUILD_DIR) + "/test-state/", 0), 0u) << dir;
}

}  // namespace
}  // namespace qcash::testing
