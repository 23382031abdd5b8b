// What a test binary about the wallet alone starts once for all its tests: PostgreSQL, Redis
// and a real wallet process (StartStack), with a stub on the wallet.
#ifndef QCASH_TESTS_HARNESS_WALLET_ENVIRONMENT_H_
#define QCASH_TESTS_HARNESS_WALLET_ENVIRONMENT_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"

namespace qcash::testing {

// A gtest Environment: the stack comes up before the first test and goes down after the last;
// its directory (the logs) is kept when a test failed. Register it in main():
//   env = new WalletOnlyEnvironment("wallet_holds");
//   ::testing::AddGlobalTestEnvironment(env);  // gtest owns it
class WalletOnlyEnvironment : public ::testing::Environment {
 public:
  // `name` names the stack's state directory; `wallet_env` is added to the wallet's settings.
  explicit WalletOnlyEnvironment(std::string name,
                                 std::map<std::string, std::string> wallet_env = {})
      : name_(std::move(name)), wallet_env_(std::move(wallet_env)) {}

  void SetUp() override {
    auto started = StartStack(name_, {}, wallet_env_);
    ASSERT_TRUE(started.ok()) << started.status();
    stack = std::move(*started);
    stub = wallet::v1::WalletService::NewStub(
        grpc::CreateChannel(stack->wallet.address, grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    // Keep the logs of a failure.
    if (stack) stack->keep = !::testing::UnitTest::GetInstance()->Passed();
    stub.reset();
    stack.reset();
  }

  // One call on the wallet as `caller` (deadline 20 s).
  template <typename Request, typename Response>
  grpc::Status Call(const std::string& caller,
                    Method<wallet::v1::WalletService::Stub, Request, Response> method,
                    const Request& request, Response* response) const {
    return CallOn(stub.get(), caller, method, request, response, /*seller_token=*/"",
                  std::chrono::seconds(20));
  }

  // Opens `seller`'s wallet, as the settlement service does.
  void OpenWallet(const std::string& seller) const {
    wallet::v1::OpenWalletRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    wallet::v1::OpenWalletResponse response;
    ASSERT_TRUE(
        Call("settlement", &wallet::v1::WalletService::Stub::OpenWallet, request, &response).ok());
  }

  // Opens `seller`'s wallet and, unless `yen` is 0, credits it as one card charge of `yen` (a
  // voucher denomination), as the payment service does.
  void OpenWith(const std::string& seller, int64_t yen) const {
    OpenWallet(seller);
    if (yen == 0) return;
    wallet::v1::CreditRequest credit;
    credit.set_seller_id(seller);
    credit.set_idempotency_key(NewKey());
    credit.set_amount_yen(yen);
    credit.set_source(wallet::v1::CREDIT_SOURCE_CHARGE);
    credit.set_reference("order-" + credit.idempotency_key());
    credit.set_payment_method("card");
    wallet::v1::CreditResponse credited;
    const grpc::Status s =
        Call("payment", &wallet::v1::WalletService::Stub::Credit, credit, &credited);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  std::unique_ptr<Stack> stack;  // between SetUp and TearDown
  std::unique_ptr<wallet::v1::WalletService::Stub> stub;

 private:
  std::string name_;
  std::map<std::string, std::string> wallet_env_;
};

}  // namespace qcash::testing

#endif  // QCASH_TESTS_HARNESS_WALLET_ENVIRONMENT_H_
