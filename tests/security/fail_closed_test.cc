// Fail closed (DESIGN.md section 7): a service whose configuration lacks a key or certificate it
// needs stops at start-up with a clear message, instead of warning and carrying on with less
// protection. Each case starts the real binary and waits for its exit; none gets as far as its
// database (the URL points nowhere), so a process that carried on would fail differently, or
// not at all.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

struct Binary {
  const char* identity;
  const char* path;
  const char* listen_env;
  const char* database_env;
};

const Binary kServices[] = {
    {"wallet", QCASH_WALLET_BINARY, "QCASH_WALLET_LISTEN", "QCASH_WALLET_DATABASE_URL"},
    {"payment", QCASH_PAYMENT_BINARY, "QCASH_PAYMENT_LISTEN", "QCASH_PAYMENT_DATABASE_URL"},
    {"points", QCASH_POINTS_BINARY, "QCASH_POINTS_LISTEN", "QCASH_POINTS_DATABASE_URL"},
};

class FailClosedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeStateDir("fail-closed"));
    auto pki = MakePki(*dir_ + "/pki", {"wallet", "payment", "points"});
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new Pki(*pki);
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  // `binary` with TLS as its identity, a seller-token key, a database that is not there, and
  // `changes` on top (an empty value unsets). Returns its log once it has exited; fails the
  // test if it is still running after 20 s.
  std::string RunUntilExit(const Binary& binary, std::map<std::string, std::string> changes) {
    Process::Spec spec;
    spec.argv = {binary.path};
    spec.env = pki_->ServiceEnv(binary.identity);
    spec.env[binary.listen_env] = absl::StrCat("127.0.0.1:", FreePort());
    spec.env[binary.database_env] = "postgresql://qcash@127.0.0.1:1/nowhere?connect_timeout=2";
    // What the wallet reads before its transport: a Redis user and password and its replay key
    // (none of them is used: the process stops before connecting anywhere). Payment and points
    // use no Redis and get none.
    if (std::string(binary.identity) == "wallet") {
      spec.env["QCASH_REDIS_USER"] = binary.identity;
      spec.env["QCASH_REDIS_PASSWORD_FILE"] = NewSecretFile(*dir_ + "/redis.password");
      spec.env["QCASH_WALLET_REPLAY_KEY_FILE"] = NewSecretFile(*dir_ + "/wallet-replay.key");
    }
    for (const auto& [k, v] : changes) spec.env[k] = v;
    static int n = 0;
    spec.log_file = absl::StrCat(*dir_, "/", binary.identity, "-", n++, ".log");
    auto process = Process::Start(spec);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return "";
    auto exit = (*process)->WaitExit(std::chrono::seconds(20));
    EXPECT_TRUE(exit.ok()) << binary.identity << " kept running; see " << spec.log_file;
    if (exit.ok()) {
      EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 1) << binary.identity << ": " << *exit;
    }
    std::ifstream in(spec.log_file);
    std::stringstream log;
    log << in.rdbuf();
    return log.str();
  }

  static std::string* dir_;
  static Pki* pki_;
};
std::string* FailClosedTest::dir_ = nullptr;
Pki* FailClosedTest::pki_ = nullptr;

// Before: "seller_scope_not_enforced" was logged and the service went on to trust the gateway
// for any seller.
TEST_F(FailClosedTest, TlsWithoutSellerTokenKeyRefusesToStart) {
  for (const Binary& binary : kServices) {
    const std::string log = RunUntilExit(binary, {{"QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE", ""}});
    EXPECT_NE(log.find("QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE (or _DIR) is required with TLS"),
              std::string::npos)
        << binary.identity << ":\n"
        << log;
    EXPECT_EQ(log.find("seller_scope_not_enforced"), std::string::npos) << log;
  }
}

// A key file that holds something else (here the service's own private key) would refuse
// every forwarded token at run time; it is a configuration error at start-up instead.
TEST_F(FailClosedTest, SellerTokenKeyThatIsNoP256PublicKeyRefusesToStart) {
  for (const Binary& binary : kServices) {
    const std::string log =
        RunUntilExit(binary, {{"QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE", pki_->Key(binary.identity)}});
    EXPECT_NE(log.find("holds no EC P-256 public key"), std::string::npos)
        << binary.identity << ":\n"
        << log;
  }
  std::ofstream(*dir_ + "/empty.pub") << "";
  const std::string log =
      RunUntilExit(kServices[0], {{"QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE", *dir_ + "/empty.pub"}});
  EXPECT_NE(log.find("empty.pub is empty"), std::string::npos) << log;
}

// Some TLS files but not all is a broken TLS configuration: before, with QCASH_INSECURE_DEV=1
// beside it, the process quietly served plaintext.
TEST_F(FailClosedTest, IncompleteTlsConfigurationRefusesToStart) {
  for (const Binary& binary : kServices) {
    const std::string log =
        RunUntilExit(binary, {{"QCASH_TLS_CA", ""}, {"QCASH_INSECURE_DEV", "1"}});
    EXPECT_NE(log.find("QCASH_TLS_CERT, QCASH_TLS_KEY and QCASH_TLS_CA go together"),
              std::string::npos)
        << binary.identity << ":\n"
        << log;
  }
}

}  // namespace
}  // namespace qcash::testing
