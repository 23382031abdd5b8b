// The fixture of the wallet tests that date every ledger batch with the wallet's
// development-only test clock (QCASH_WALLET_TEST_CLOCK=1, services/wallet/test_clock.h): a
// stack of its own per test (a real PostgreSQL, Redis and qcash-wallet), stubs of the wallet and
// of its clock, and the audit at the end of every test. Used by the books and the statements
// tests (tests/wallet/books_test.cc, wallet_statements_test.cc).
#ifndef QCASH_TESTS_WALLET_CLOCK_FIXTURE_H_
#define QCASH_TESTS_WALLET_CLOCK_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "qcash/wallet/v1/test_clock.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"

namespace qcash::testing {

// An instant in JST (UTC+9).
inline absl::Time Jst(int y, int mo, int d, int h, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::FixedTimeZone(9 * 3600));
}

class WalletClockTest : public ::testing::Test {
 protected:
  // Starts the stack named `prefix` + the test's name, the wallet with the test clock and
  // `env` besides. Holds of the fixtures are in the test clock's past of the real clock, so the
  // sweeper is kept quiet: it would only be told they are not due.
  void StartWallet(const std::string& prefix, std::map<std::string, std::string> env = {}) {
    env["QCASH_WALLET_TEST_CLOCK"] = "1";
    env.emplace("QCASH_WALLET_SWEEP_INTERVAL_MS", "3600000");
    auto stack = StartStack(
        absl::StrCat(prefix, ::testing::UnitTest::GetInstance()->current_test_info()->name()), {},
        env);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = std::move(*stack);
    auto channel = grpc::CreateChannel(stack_->wallet.address, grpc::InsecureChannelCredentials());
    stub_ = wallet::v1::WalletService::NewStub(channel);
    clock_ = wallet::v1::WalletTestClock::NewStub(channel);
  }

  void TearDown() override {
    if (stack_ == nullptr) return;
    absl::Status audit = AuditWalletLedger(stack_->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
    stack_->keep = HasFailure();
  }

  template <typename Request, typename Response>
  grpc::Status Call(const std::string& caller,
                    Method<wallet::v1::WalletService::Stub, Request, Response> method,
                    const Request& request, Response* response) {
    return CallOn(stub_.get(), caller, method, request, response, "", std::chrono::seconds(30));
  }

  // From here on every batch of the wallet is dated `t`.
  void At(absl::Time t) {
    wallet::v1::SetTimeRequest request;
    SetTimestamp(t, request.mutable_time());
    wallet::v1::SetTimeResponse response;
    const grpc::Status s = CallOn(clock_.get(), "ops", &wallet::v1::WalletTestClock::Stub::SetTime,
                                  request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void Open(const std::string& seller) {
    wallet::v1::OpenWalletRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    wallet::v1::OpenWalletResponse out;
    const grpc::Status s =
        Call("settlement", &wallet::v1::WalletService::Stub::OpenWallet, r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // An ad spend as the ad-booking service makes it. Returns the entry's seq.
  int64_t Spend(const std::string& seller, int64_t yen,
                wallet::v1::AdProduct product = wallet::v1::AD_PRODUCT_TIME_SALE,
                const std::string& booking = "booking") {
    wallet::v1::SpendRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_amount_yen(yen);
    r.set_product(product);
    r.set_booking_reference(booking);
    wallet::v1::SpendResponse out;
    const grpc::Status s = Call("adbooking", &wallet::v1::WalletService::Stub::Spend, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.result().entry_seq();
  }

  // An ad application's hold. Returns the hold's id.
  int64_t Hold(const std::string& seller, int64_t yen, wallet::v1::AdProduct product,
               const std::string& booking, int64_t ttl_s = 7 * 86'400) {
    wallet::v1::HoldRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_amount_yen(yen);
    r.set_product(product);
    r.set_booking_reference(booking);
    r.set_ttl_seconds(ttl_s);
    wallet::v1::HoldResponse out;
    const grpc::Status s = Call("adbooking", &wallet::v1::WalletService::Stub::Hold, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.hold_id();
  }

  // Captures `yen` of a hold. Returns the capture entry's seq.
  int64_t Capture(const std::string& seller, int64_t hold_id, int64_t yen) {
    wallet::v1::CaptureHoldRequest r;
    r.set_seller_id(seller);
    r.set_idempotency_key(NewKey());
    r.set_hold_id(hold_id);
    r.set_amount_yen(yen);
    wallet::v1::CaptureHoldResponse out;
    const grpc::Status s =
        Call("adbooking", &wallet::v1::WalletService::Stub::CaptureHold, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.result().entry_seq();
  }

  std::unique_ptr<Stack> stack_;
  std::unique_ptr<wallet::v1::WalletService::Stub> stub_;
  std::unique_ptr<wallet::v1::WalletTestClock::Stub> clock_;
};

}  // namespace qcash::testing

#endif  // QCASH_TESTS_WALLET_CLOCK_FIXTURE_H_
