// The harness keeps generated state (databases, keys, logs) out of the source tree.
#include "tests/harness/harness.h"

#include <fstream>
#include <set>
#include <string>

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

// Linux gives outgoing connections source ports from net.ipv4.ip_local_port_range (32768-60999
// by default). A server there can be stolen while it is down: a client connecting to it may be
// given that port as its own and connect to itself (issue 13). The harness's ports lie below.
TEST(FreePortTest, IsBelowTheEphemeralRangeAndNeverRepeats) {
  int ephemeral_low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
  std::set<int> seen;
  for (int i = 0; i < 300; ++i) {
    const int port = FreePort();
    EXPECT_GE(port, 1024);
    EXPECT_LT(port, ephemeral_low);
    EXPECT_TRUE(seen.insert(port).second) << "port " << port << " handed out twice";
  }
}

}  // namespace
}  // namespace qcash::testing
