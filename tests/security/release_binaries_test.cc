// Development code out of release binaries (DESIGN.md section 7). scripts/test builds the four
// service executables a second time as a release build (-DQCASH_DEVELOPMENT=OFF, as the images
// are built) in QCASH_RELEASE_DIR; this test reads those binaries and the development ones of
// this tree:
//   - every development convenience leaves a marker (a string or a type name only its code has)
//     in the development binary, and none of them is in the release binary;
//   - a release binary asked for a development convenience refuses to start and says why.
// Without the release tree the test fails: a skipped check would prove nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace fs = std::filesystem;

struct Executable {
  const char* name;
  const char* development;   // this tree's binary
  const char* release_path;  // below QCASH_RELEASE_DIR
  // What only the development conveniences' code puts into a binary.
  std::vector<std::string> markers;
};

const std::vector<Executable>& Executables() {
  static const auto* const executables = new std::vector<Executable>{
      // The caller's identity from metadata (common/server.cc, common/grpc_client.cc), and the
      // wallet's test clock (its contract and service).
      {"qcash-wallet",
       QCASH_WALLET_BINARY,
       "services/wallet/qcash-wallet",
       {"x-qcash-caller", "qcash.wallet.v1.WalletTestClock", "TestClockServer", "SettableClock"}},
      {"qcash-payment", QCASH_PAYMENT_BINARY, "services/payment/qcash-payment", {"x-qcash-caller"}},
      // ... and the test clock (its contract, service and clock) and the crash failpoint.
      {"qcash-points",
       QCASH_POINTS_BINARY,
       "services/points/qcash-points",
       {"x-qcash-caller", "qcash.points.v1.PointsTestClock", "TestClockServer", "SettableClock",
        "failpoint_exit_after_wallet_credit"}},
      // ... and the development login (its handler and its start-up line; the string
      // "/dev/login" itself is also in the embedded seller pages, login.html and app.js).
      {"qcash-gateway",
       QCASH_GATEWAY_BINARY,
       "gateway/qcash-gateway",
       {"x-qcash-caller", "HandleDevLogin", "dev_login_enabled"}},
  };
  return *executables;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string ReleaseBinary(const Executable& e) {
  return absl::StrCat(QCASH_RELEASE_DIR, "/", e.release_path);
}

TEST(ReleaseBinariesTest, ReleaseTreeIsBuilt) {
  for (const Executable& e : Executables()) {
    EXPECT_TRUE(fs::is_regular_file(ReleaseBinary(e)))
        << ReleaseBinary(e) << " is missing: build the release tree first, as scripts/test does "
        << "(cmake -S . -B " << QCASH_RELEASE_DIR << " -DQCASH_DEVELOPMENT=OFF; cmake --build "
        << QCASH_RELEASE_DIR << " --target " << e.name << ")";
    // Not this tree's binary under another name.
    EXPECT_NE(fs::weakly_canonical(ReleaseBinary(e)), fs::weakly_canonical(e.development));
  }
}

TEST(ReleaseBinariesTest, DevelopmentConveniencesAreOnlyInDevelopmentBinaries) {
  for (const Executable& e : Executables()) {
    const std::string development = ReadFile(e.development);
    const std::string release = ReadFile(ReleaseBinary(e));
    ASSERT_FALSE(development.empty()) << e.development;
    ASSERT_FALSE(release.empty()) << ReleaseBinary(e) << " is missing or empty";
    for (const std::string& marker : e.markers) {
      // The marker is real: the development build has it (so this test can fail).
      EXPECT_NE(development.find(marker), std::string::npos)
          << e.name << " (development) lacks the marker \"" << marker << "\"";
      EXPECT_EQ(release.find(marker), std::string::npos)
          << e.name << " (release) contains \"" << marker << "\"";
    }
  }
}

class ReleaseStartTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeStateDir("release-binaries"));
    auto pki = MakePki(*dir_ + "/pki", {"wallet", "payment", "points", "gateway"});
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new Pki(*pki);
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  // Starts the release build of `name` as `identity` over TLS with `changes`; returns its log
  // once it exited with status 1 (the test fails if it kept running or exited otherwise).
  std::string RefusedStart(const std::string& name, const std::string& identity,
                           std::map<std::string, std::string> changes) {
    const Executable* executable = nullptr;
    for (const Executable& e : Executables()) {
      if (e.name == name) executable = &e;
    }
    EXPECT_NE(executable, nullptr) << name;
    if (executable == nullptr) return "";
    Process::Spec spec;
    spec.argv = {ReleaseBinary(*executable)};
    spec.env = pki_->ServiceEnv(identity);
    // What the services read before their transport: a Redis user and password, the wallet's
    // replay key (none of them is used: the process stops before connecting anywhere).
    spec.env["QCASH_REDIS_USER"] = identity;
    spec.env["QCASH_REDIS_PASSWORD_FILE"] = NewSecretFile(*dir_ + "/redis.password");
    spec.env["QCASH_WALLET_REPLAY_KEY_FILE"] = NewSecretFile(*dir_ + "/wallet-replay.key");
    for (const auto& [k, v] : changes) spec.env[k] = v;
    static int n = 0;
    spec.log_file = absl::StrCat(*dir_, "/", name, "-", n++, ".log");
    auto process = Process::Start(spec);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return "";
    auto exit = (*process)->WaitExit(std::chrono::seconds(20));
    EXPECT_TRUE(exit.ok()) << name << " (release) kept running; see " << spec.log_file;
    if (exit.ok()) {
      EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 1) << *exit;
    }
    return ReadFile(spec.log_file);
  }

  static std::string Listen() { return absl::StrCat("127.0.0.1:", FreePort()); }

  static std::string* dir_;
  static Pki* pki_;
};
std::string* ReleaseStartTest::dir_ = nullptr;
Pki* ReleaseStartTest::pki_ = nullptr;

constexpr char kNowhere[] = "postgresql://qcash@127.0.0.1:1/nowhere?connect_timeout=2";
constexpr char kRefusal[] = "is a development convenience, and this is a release build";

TEST_F(ReleaseStartTest, InsecureDevelopmentModeIsRefused) {
  for (const auto& [name, listen_env, database_env] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"qcash-wallet", "QCASH_WALLET_LISTEN", "QCASH_WALLET_DATABASE_URL"},
           {"qcash-payment", "QCASH_PAYMENT_LISTEN", "QCASH_PAYMENT_DATABASE_URL"},
           {"qcash-points", "QCASH_POINTS_LISTEN", "QCASH_POINTS_DATABASE_URL"}}) {
    // Plaintext alone, and beside TLS (where a development build lets TLS win).
    for (const bool with_tls : {false, true}) {
      std::map<std::string, std::string> changes = {
          {listen_env, Listen()}, {database_env, kNowhere}, {"QCASH_INSECURE_DEV", "1"}};
      if (!with_tls) {
        for (const char* tls : {"QCASH_TLS_CERT", "QCASH_TLS_KEY", "QCASH_TLS_CA"}) {
          changes[tls] = "";
        }
      }
      const std::string identity = name.substr(name.find('-') + 1);
      const std::string log = RefusedStart(name, identity, changes);
      EXPECT_NE(log.find(absl::StrCat("QCASH_INSECURE_DEV=1 ", kRefusal)), std::string::npos)
          << name << " with_tls=" << with_tls << ":\n"
          << log;
    }
  }
}

TEST_F(ReleaseStartTest, GatewayRefusesInsecureDevelopmentMode) {
  std::ofstream(*dir_ + "/csrf.secret") << std::string(64, 'a');
  const std::string log =
      RefusedStart("qcash-gateway", "gateway",
                   {{"QCASH_GATEWAY_LISTEN", Listen()},
                    {"QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE", pki_->SellerTokenPublicKey()},
                    {"QCASH_GATEWAY_CSRF_SECRET_FILE", *dir_ + "/csrf.secret"},
                    {"QCASH_GATEWAY_ISSUER_NAME", "発行者"},
                    {"QCASH_GATEWAY_ISSUER_ADDRESS", "住所"},
                    {"QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER", kTestRegistrationNumber},
                    {"QCASH_TLS_CERT", ""},
                    {"QCASH_TLS_KEY", ""},
                    {"QCASH_TLS_CA", ""},
                    {"QCASH_INSECURE_DEV", "1"}});
  EXPECT_NE(log.find(absl::StrCat("QCASH_INSECURE_DEV=1 ", kRefusal)), std::string::npos) << log;
}

TEST_F(ReleaseStartTest, GatewayRefusesTheDevelopmentLogin) {
  std::ofstream(*dir_ + "/csrf.secret") << std::string(64, 'a');
  std::map<std::string, std::string> changes = {
      {"QCASH_GATEWAY_LISTEN", Listen()},
      {"QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE", pki_->SellerTokenPublicKey()},
      {"QCASH_GATEWAY_CSRF_SECRET_FILE", *dir_ + "/csrf.secret"},
      {"QCASH_GATEWAY_ISSUER_NAME", "発行者"},
      {"QCASH_GATEWAY_ISSUER_ADDRESS", "住所"},
      {"QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER", kTestRegistrationNumber},
      {"QCASH_GATEWAY_DEV_LOGIN", "1"}};
  const std::string log = RefusedStart("qcash-gateway", "gateway", changes);
  EXPECT_NE(log.find("release build without the development login"), std::string::npos) << log;
}

// Receipts and invoices name the issuer and its registration number: a gateway without them,
// or with a number whose check digit is wrong, does not start (fail closed).
TEST_F(ReleaseStartTest, GatewayRefusesToStartWithoutTheIssuer) {
  std::ofstream(*dir_ + "/csrf.secret") << std::string(64, 'a');
  const std::map<std::string, std::string> base = {
      {"QCASH_GATEWAY_LISTEN", Listen()},
      {"QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE", pki_->SellerTokenPublicKey()},
      {"QCASH_GATEWAY_CSRF_SECRET_FILE", *dir_ + "/csrf.secret"},
      {"QCASH_GATEWAY_ISSUER_NAME", "発行者"},
      {"QCASH_GATEWAY_ISSUER_ADDRESS", "住所"}};
  std::string log = RefusedStart("qcash-gateway", "gateway", base);
  EXPECT_NE(log.find("QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER must be"), std::string::npos)
      << log;
  auto wrong_digit = base;
  wrong_digit["QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER"] = "T8123456789012";
  log = RefusedStart("qcash-gateway", "gateway", wrong_digit);
  EXPECT_NE(log.find("QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER must be"), std::string::npos)
      << log;
  auto no_name = base;
  no_name.erase("QCASH_GATEWAY_ISSUER_NAME");
  no_name["QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER"] = kTestRegistrationNumber;
  log = RefusedStart("qcash-gateway", "gateway", no_name);
  EXPECT_NE(log.find("QCASH_GATEWAY_ISSUER_NAME and QCASH_GATEWAY_ISSUER_ADDRESS are required"),
            std::string::npos)
      << log;
}

TEST_F(ReleaseStartTest, PointsTestSwitchesAreRefused) {
  for (const auto& [setting, value] : std::vector<std::pair<std::string, std::string>>{
           {"QCASH_POINTS_TEST_CLOCK", "1"},
           {"QCASH_POINTS_FAILPOINT", "exit_after_wallet_credit"}}) {
    const std::string log = RefusedStart("qcash-points", "points",
                                         {{"QCASH_POINTS_LISTEN", Listen()},
                                          {"QCASH_POINTS_DATABASE_URL", kNowhere},
                                          {setting, value}});
    EXPECT_NE(log.find(kRefusal), std::string::npos) << setting << ":\n" << log;
    EXPECT_NE(log.find(setting), std::string::npos) << log;
  }
}

TEST_F(ReleaseStartTest, WalletTestClockIsRefused) {
  const std::string log = RefusedStart("qcash-wallet", "wallet",
                                       {{"QCASH_WALLET_LISTEN", Listen()},
                                        {"QCASH_WALLET_DATABASE_URL", kNowhere},
                                        {"QCASH_WALLET_TEST_CLOCK", "1"}});
  EXPECT_NE(log.find(absl::StrCat("QCASH_WALLET_TEST_CLOCK=1 ", kRefusal)), std::string::npos)
      << log;
}

TEST_F(ReleaseStartTest, PaymentSandboxIsRefused) {
  const std::string log = RefusedStart("qcash-payment", "payment",
                                       {{"QCASH_PAYMENT_LISTEN", Listen()},
                                        {"QCASH_PAYMENT_DATABASE_URL", kNowhere},
                                        {"QCASH_PAYMENT_DEV_SANDBOX", "1"}});
  EXPECT_NE(log.find(absl::StrCat("QCASH_PAYMENT_DEV_SANDBOX=1 ", kRefusal)), std::string::npos)
      << log;
}

}  // namespace
}  // namespace qcash::testing
