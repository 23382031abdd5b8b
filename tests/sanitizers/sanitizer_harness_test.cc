// A sanitizer report inside a process the harness started fails the test that started it
// (tests/harness/harness.h, Process): each sanitizer of this build is made to report in
// sanitizer_fault, a tiny program the harness starts like a service, and the harness must turn
// that report into a test failure naming it. A clean run must not fail.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

class SanitizerHarnessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new std::string(MakeStateDir("sanitizer_harness")); }

  // Starts sanitizer_fault in `mode`, as StartService starts a service.
  std::unique_ptr<Process> Start(const std::string& mode) {
    Process::Spec spec;
    spec.argv = {SANITIZER_FAULT_BINARY, mode};
    spec.log_file = *dir_ + "/" + mode + ".log";
    auto process = Process::Start(spec);
    EXPECT_TRUE(process.ok()) << process.status();
    return process.ok() ? std::move(*process) : nullptr;
  }

  // Starts a mode that faults on its own and waits for it to exit.
  std::unique_ptr<Process> RunToExit(const std::string& mode) {
    auto process = Start(mode);
    if (process == nullptr) return nullptr;
    auto exit = process->WaitExit(std::chrono::seconds(60));
    EXPECT_TRUE(exit.ok()) << mode << ": " << exit.status();
    return process;
  }

  // Waits until a mode that serves until SIGTERM says it is ready.
  void WaitReady(const std::string& mode) {
    for (int i = 0; i < 600; ++i) {
      if (absl::StrContains(ReadLog(mode), "ready")) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << mode << " never said ready";
  }

  std::string ReadLog(const std::string& mode) {
    std::ifstream in(*dir_ + "/" + mode + ".log");
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  static std::string* dir_;
};
std::string* SanitizerHarnessTest::dir_ = nullptr;

// Each sanitizer's cases exist only in the build that has it (tests/sanitizers/CMakeLists.txt).
#if QCASH_TEST_ASAN
TEST_F(SanitizerHarnessTest, HeapUseAfterFreeInAChildFailsTheTest) {
  auto process = RunToExit("use-after-free");
  ASSERT_NE(process, nullptr);
  EXPECT_TRUE(absl::StrContains(process->SanitizerReport(), "heap-use-after-free"));
  EXPECT_NONFATAL_FAILURE(process.reset(), "heap-use-after-free");
}

TEST_F(SanitizerHarnessTest, LeakAtAServicesExitFailsTheTest) {
  // A service-like child that only leaks at its exit: the harness must stop it with SIGTERM
  // (not SIGKILL) for LeakSanitizer to run, and then see the report.
  auto process = Start("leak");
  ASSERT_NE(process, nullptr);
  WaitReady("leak");
  EXPECT_NONFATAL_FAILURE(process.reset(), "LeakSanitizer");
}

#endif

#if QCASH_TEST_UBSAN
TEST_F(SanitizerHarnessTest, UndefinedBehaviourInAChildFailsTheTest) {
  auto process = RunToExit("overflow");
  ASSERT_NE(process, nullptr);
  EXPECT_NONFATAL_FAILURE(process.reset(), "signed integer overflow");
}
#endif

#if QCASH_TEST_TSAN
TEST_F(SanitizerHarnessTest, DataRaceInAChildFailsTheTest) {
  auto process = RunToExit("race");
  ASSERT_NE(process, nullptr);
  EXPECT_NONFATAL_FAILURE(process.reset(), "data race");
}
#endif

TEST_F(SanitizerHarnessTest, ACleanChildPassesAndExitsOnSigterm) {
  auto process = Start("clean");
  ASSERT_NE(process, nullptr);
  WaitReady("clean");
  EXPECT_EQ(process->Stop(SIGTERM), 0);
  EXPECT_EQ(process->SanitizerReport(), "");
  process.reset();  // no failure may come from here
}

}  // namespace
}  // namespace qcash::testing
