// Internal gRPC over real mTLS (DESIGN.md section 2): who may connect, and per-caller
// authorization by the identity in the client certificate. The wallet runs with its own
// certificate from a development CA; callers present theirs.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/seller_token.h"
#include "common/status.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

const std::vector<std::string> kIdentities = {"wallet",     "payment", "points", "adbooking",
                                              "settlement", "gateway", "ops"};

struct Env {
  std::unique_ptr<Stack> stack;
  Pki pki;
  Pki foreign;  // another CA, with a certificate that claims to be "payment"
  std::string token_private_key;
  std::string health_address;  // the plaintext probe port
};
Env* env = nullptr;

class MtlsEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    env = new Env();
    const std::string dir = MakeStateDir("mtls");
    auto pki = MakePki(dir + "/pki", kIdentities);
    ASSERT_TRUE(pki.ok()) << pki.status();
    env->pki = *pki;
    auto foreign = MakePki(dir + "/foreign-pki", {"payment"});
    ASSERT_TRUE(foreign.ok()) << foreign.status();
    env->foreign = *foreign;
    const auto [private_pem, public_pem] = NewEcKeyPair();
    env->token_private_key = private_pem;
    std::ofstream(dir + "/token.pub") << public_pem;
    std::map<std::string, std::string> wallet_env = env->pki.ServiceEnv("wallet");
    env->health_address = absl::StrCat("127.0.0.1:", FreePort());
    wallet_env["QCASH_HEALTH_LISTEN"] = env->health_address;
    wallet_env["QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE"] = dir + "/token.pub";
    auto stack = StartStack("mtls-stack", {}, wallet_env);
    ASSERT_TRUE(stack.ok()) << stack.status();
    env->stack = std::move(*stack);
  }
  void TearDown() override {
    env->stack->keep = !::testing::UnitTest::GetInstance()->Passed();
    delete env;
  }
};

std::unique_ptr<pb::WalletService::Stub> StubAs(std::shared_ptr<grpc::ChannelCredentials> creds) {
  grpc::ChannelArguments args;
  static std::atomic<int> n{0};
  args.SetInt("qcash.test.channel", n++);  // a connection of its own per stub
  return pb::WalletService::NewStub(
      grpc::CreateCustomChannel(env->stack->wallet.address, creds, args));
}

std::unique_ptr<pb::WalletService::Stub> StubAs(const std::string& identity) {
  return StubAs(env->pki.Client(identity));
}

template <typename Request, typename Response>
grpc::Status Call(pb::WalletService::Stub* stub,
                  grpc::Status (pb::WalletService::Stub::*method)(grpc::ClientContext*,
                                                                  const Request&, Response*),
                  const Request& request, Response* response,
                  const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  for (const auto& [k, v] : metadata) context.AddMetadata(k, v);
  return (stub->*method)(&context, request, response);
}

std::string Key() {
  static std::atomic<int> counter{0};
  return absl::StrCat("k", counter.fetch_add(1));
}

void Open(const std::string& seller) {
  pb::OpenWalletRequest open;
  open.set_seller_id(seller);
  open.set_idempotency_key(Key());
  pb::OpenWalletResponse opened;
  auto stub = StubAs("settlement");
  ASSERT_TRUE(Call(stub.get(), &pb::WalletService::Stub::OpenWallet, open, &opened).ok());
}

int64_t Available(const std::string& seller) {
  pb::GetBalanceRequest request;
  request.set_seller_id(seller);
  pb::GetBalanceResponse response;
  auto stub = StubAs("ops");
  const grpc::Status s = Call(stub.get(), &pb::WalletService::Stub::GetBalance, request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response.balance().available_yen();
}

pb::CreditRequest Charge(const std::string& seller, int64_t yen) {
  pb::CreditRequest r;
  r.set_seller_id(seller);
  r.set_idempotency_key(Key());
  r.set_amount_yen(yen);
  r.set_source(pb::CREDIT_SOURCE_CHARGE);
  r.set_reference("order-" + r.idempotency_key());
  return r;
}

class MtlsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }
};

TEST_F(MtlsTest, NoCertificateIsRefused) {
  const std::string seller = NewSeller();
  Open(seller);
  // TLS that trusts the CA but presents no certificate.
  std::ifstream in(env->pki.Ca());
  std::stringstream ca;
  ca << in.rdbuf();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca.str();
  auto stub = StubAs(grpc::SslCredentials(options));
  pb::CreditResponse response;
  const grpc::Status s =
      Call(stub.get(), &pb::WalletService::Stub::Credit, Charge(seller, 1'000), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // Nor does plaintext get anywhere, whatever metadata it sends.
  auto plain = StubAs(grpc::InsecureChannelCredentials());
  const grpc::Status p = Call(plain.get(), &pb::WalletService::Stub::Credit, Charge(seller, 1'000),
                              &response, {{"x-qcash-caller", "payment"}});
  EXPECT_EQ(p.error_code(), grpc::StatusCode::UNAVAILABLE) << p.error_message();
  EXPECT_EQ(Available(seller), 0);
}

TEST_F(MtlsTest, CertificateFromAnotherCaIsRefused) {
  const std::string seller = NewSeller();
  Open(seller);
  auto stub = StubAs(env->foreign.Client("payment"));  // says "payment", signed by a stranger
  pb::CreditResponse response;
  const grpc::Status s =
      Call(stub.get(), &pb::WalletService::Stub::Credit, Charge(seller, 1'000), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(Available(seller), 0);
}

// Only payment credits a charge: the points identity is refused and nothing moves, even if it
// claims to be payment in metadata (with TLS only the certificate counts).
TEST_F(MtlsTest, PointsCannotCreditACharge) {
  const std::string seller = NewSeller();
  Open(seller);
  auto points = StubAs("points");
  pb::CreditResponse response;
  const grpc::Status s = Call(points.get(), &pb::WalletService::Stub::Credit, Charge(seller, 1'000),
                              &response, {{"x-qcash-caller", "payment"}});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(s), "CALLER_NOT_ALLOWED");
  EXPECT_EQ(Available(seller), 0);
}

// Every allowed pair works over mTLS, and each identity is refused what it may not do.
TEST_F(MtlsTest, EachIdentityDoesWhatThePolicyAllowsAndNothingElse) {
  const std::string seller = NewSeller();
  Open(seller);
  pb::CreditResponse credited;
  auto payment = StubAs("payment");
  ASSERT_TRUE(
      Call(payment.get(), &pb::WalletService::Stub::Credit, Charge(seller, 5'000), &credited).ok());

  pb::CreditRequest conversion = Charge(seller, 300);
  conversion.set_source(pb::CREDIT_SOURCE_POINTS_CONVERSION);
  auto points = StubAs("points");
  EXPECT_TRUE(Call(points.get(), &pb::WalletService::Stub::Credit, conversion, &credited).ok());
  conversion.set_idempotency_key(Key());
  EXPECT_EQ(
      Call(payment.get(), &pb::WalletService::Stub::Credit, conversion, &credited).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  pb::SpendRequest spend;
  spend.set_seller_id(seller);
  spend.set_idempotency_key(Key());
  spend.set_amount_yen(100);
  spend.set_product(pb::AD_PRODUCT_PREMIUM_DISPLAY);
  spend.set_booking_reference("b-1");
  pb::SpendResponse spent;
  auto adbooking = StubAs("adbooking");
  EXPECT_TRUE(Call(adbooking.get(), &pb::WalletService::Stub::Spend, spend, &spent).ok());
  for (const char* other : {"payment", "points", "settlement", "ops", "gateway"}) {
    spend.set_idempotency_key(Key());
    auto stub = StubAs(other);
    EXPECT_EQ(Call(stub.get(), &pb::WalletService::Stub::Spend, spend, &spent).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << other;
  }

  pb::HoldRequest hold;
  hold.set_seller_id(seller);
  hold.set_idempotency_key(Key());
  hold.set_amount_yen(400);
  hold.set_product(pb::AD_PRODUCT_GROUP_BUYING);
  hold.set_booking_reference("b-2");
  pb::HoldResponse held;
  ASSERT_TRUE(Call(adbooking.get(), &pb::WalletService::Stub::Hold, hold, &held).ok());
  pb::CaptureHoldRequest capture;
  capture.set_seller_id(seller);
  capture.set_idempotency_key(Key());
  capture.set_hold_id(held.hold_id());
  capture.set_amount_yen(300);
  pb::CaptureHoldResponse captured;
  EXPECT_EQ(
      Call(payment.get(), &pb::WalletService::Stub::CaptureHold, capture, &captured).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(
      Call(adbooking.get(), &pb::WalletService::Stub::CaptureHold, capture, &captured).ok());

  pb::CreditInternalFundsRequest funds;
  funds.set_seller_id(seller);
  funds.set_idempotency_key(Key());
  funds.set_account(pb::FUNDS_ACCOUNT_QMONEY);
  funds.set_amount_yen(3'000);
  funds.set_settlement_reference("settle-1");
  pb::CreditInternalFundsResponse funded;
  auto settlement = StubAs("settlement");
  EXPECT_EQ(Call(payment.get(), &pb::WalletService::Stub::CreditInternalFunds, funds, &funded)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(
      Call(settlement.get(), &pb::WalletService::Stub::CreditInternalFunds, funds, &funded).ok());
  pb::ChargeFromInternalFundsRequest from_funds;
  from_funds.set_seller_id(seller);
  from_funds.set_idempotency_key(Key());
  from_funds.set_source(pb::FUNDS_ACCOUNT_QMONEY);
  from_funds.set_amount_yen(3'000);
  from_funds.set_order_id("order-q");
  pb::ChargeFromInternalFundsResponse charged;
  EXPECT_EQ(Call(settlement.get(), &pb::WalletService::Stub::ChargeFromInternalFunds, from_funds,
                 &charged)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(
      Call(payment.get(), &pb::WalletService::Stub::ChargeFromInternalFunds, from_funds, &charged)
          .ok());
  // 5,000 + 300 - 100 - 300 (captured) + 3,000 (from Qmoney)
  EXPECT_EQ(Available(seller), 7'900);
}

// The gateway acts only for the seller of the token it forwards.
TEST_F(MtlsTest, GatewayActsOnlyForTheSellerInItsToken) {
  const std::string a = NewSeller();
  const std::string b = NewSeller();
  Open(a);
  Open(b);
  auto token_for = [](const std::string& seller) {
    return *IssueSellerToken(env->token_private_key, "qoo10-login", "qcash-gateway", seller,
                             absl::Now(), absl::Hours(1));
  };
  auto gateway = StubAs("gateway");
  pb::GetBalanceRequest request;
  request.set_seller_id(a);
  pb::GetBalanceResponse response;
  EXPECT_TRUE(Call(gateway.get(), &pb::WalletService::Stub::GetBalance, request, &response,
                   {{"x-qcash-seller-token", token_for(a)}})
                  .ok());
  const grpc::Status other = Call(gateway.get(), &pb::WalletService::Stub::GetBalance, request,
                                  &response, {{"x-qcash-seller-token", token_for(b)}});
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(other), "SELLER_MISMATCH");
  const grpc::Status missing =
      Call(gateway.get(), &pb::WalletService::Stub::GetBalance, request, &response);
  EXPECT_EQ(Reason(missing), "SELLER_TOKEN_MISSING");
  const auto [stranger_key, unused] = NewEcKeyPair();
  const std::string forged = *IssueSellerToken(stranger_key, "qoo10-login", "qcash-gateway", a,
                                               absl::Now(), absl::Hours(1));
  const grpc::Status bad = Call(gateway.get(), &pb::WalletService::Stub::GetBalance, request,
                                &response, {{"x-qcash-seller-token", forged}});
  EXPECT_EQ(Reason(bad), "SELLER_TOKEN_INVALID");
  // Other services act for themselves and need no seller token.
  auto ops = StubAs("ops");
  EXPECT_TRUE(Call(ops.get(), &pb::WalletService::Stub::GetBalance, request, &response).ok());
}

// The plaintext probe port answers health checks, and nothing else: the wallet's methods and
// server reflection are not there at all (UNIMPLEMENTED; before, every service of the process
// was served there, reflection included, and only the missing identity stopped a call).
TEST_F(MtlsTest, ProbePortAnswersHealthOnly) {
  auto ready = IsServing(env->health_address, nullptr, "");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(*ready);
  auto live = IsServing(env->health_address, nullptr, "liveness");
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(*live);
  auto own = IsServing(env->health_address, nullptr, "qcash.wallet.v1.WalletService");
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(*own);
  const std::string seller = NewSeller();
  Open(seller);
  auto stub = pb::WalletService::NewStub(
      grpc::CreateChannel(env->health_address, grpc::InsecureChannelCredentials()));
  pb::CreditResponse response;
  const grpc::Status s = Call(stub.get(), &pb::WalletService::Stub::Credit, Charge(seller, 1'000),
                              &response, {{"x-qcash-caller", "payment"}});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
  pb::GetBalanceRequest read;
  read.set_seller_id(seller);
  pb::GetBalanceResponse balance;
  EXPECT_EQ(Call(stub.get(), &pb::WalletService::Stub::GetBalance, read, &balance,
                 {{"x-qcash-caller", "ops"}})
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  const ReflectionAnswer reflection =
      ListServicesByReflection(env->health_address, grpc::InsecureChannelCredentials());
  EXPECT_EQ(reflection.status.error_code(), grpc::StatusCode::UNIMPLEMENTED)
      << reflection.status.error_message();
  EXPECT_EQ(reflection.reply.find("qcash.wallet.v1"), std::string::npos);
  EXPECT_EQ(Available(seller), 0);
}

// Server reflection is off in a production configuration (TLS, QCASH_GRPC_REFLECTION unset)
// even for an authenticated caller, and on only when asked for.
TEST_F(MtlsTest, ReflectionIsOffUnlessEnabled) {
  const ReflectionAnswer off =
      ListServicesByReflection(env->stack->wallet.address, env->pki.Client("ops"));
  EXPECT_EQ(off.status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << off.status.error_message();
  EXPECT_EQ(off.reply.find("qcash.wallet.v1.WalletService"), std::string::npos);

  std::map<std::string, std::string> settings = env->stack->wallet_env;
  settings["QCASH_HEALTH_LISTEN"] = absl::StrCat("127.0.0.1:", FreePort());
  settings["QCASH_GRPC_REFLECTION"] = "1";
  auto wallet = StartService(QCASH_WALLET_BINARY, settings, "QCASH_WALLET_LISTEN",
                             env->stack->dir + "/wallet-reflection.log");
  ASSERT_TRUE(wallet.ok()) << wallet.status();
  const ReflectionAnswer on = ListServicesByReflection(wallet->address, env->pki.Client("ops"));
  EXPECT_TRUE(on.status.ok()) << on.status.error_message();
  EXPECT_NE(on.reply.find("qcash.wallet.v1.WalletService"), std::string::npos);
  // Never on the probe port, even when enabled.
  const ReflectionAnswer probe =
      ListServicesByReflection(settings["QCASH_HEALTH_LISTEN"], grpc::InsecureChannelCredentials());
  EXPECT_EQ(probe.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  wallet->process->Stop(SIGTERM);
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new qcash::testing::MtlsEnvironment());
  return RUN_ALL_TESTS();
}
