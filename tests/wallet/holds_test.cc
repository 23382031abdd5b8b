// ListHolds end to end (issue 17): the qcash-wallet binary over gRPC against a real PostgreSQL
// and Redis. A caller need not remember its holds: it lists them by state, product and booking
// reference, page by page; a page token is bound to its filters; another seller's holds are
// never listed. Every test ends with the ledger audit.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/audit.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/harness/wallet_environment.h"

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;

WalletOnlyEnvironment* env = nullptr;  // PostgreSQL, Redis and a real wallet process

// The hold ids of a page, in order: one string compares a whole list and prints well.
std::string HoldIds(const pb::ListHoldsResponse& r) {
  std::vector<std::string> out;
  for (const pb::HoldInfo& hold : r.holds()) out.push_back(absl::StrCat(hold.hold_id()));
  return absl::StrJoin(out, " ");
}

class HoldsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }

  // An open wallet with `yen` available.
  static void OpenWith(const std::string& seller, int64_t yen) { env->OpenWith(seller, yen); }

  // A pending hold; its id (0 on failure).
  int64_t Hold(const std::string& seller, int64_t yen, pb::AdProduct product,
               const std::string& reference) {
    pb::HoldRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_amount_yen(yen);
    request.set_product(product);
    request.set_booking_reference(reference);
    pb::HoldResponse response;
    const grpc::Status s =
        env->Call("adbooking", &pb::WalletService::Stub::Hold, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.hold_id();
  }

  void Capture(const std::string& seller, int64_t hold_id, int64_t yen) {
    pb::CaptureHoldRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_hold_id(hold_id);
    request.set_amount_yen(yen);
    pb::CaptureHoldResponse response;
    const grpc::Status s =
        env->Call("adbooking", &pb::WalletService::Stub::CaptureHold, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  void Release(const std::string& seller, int64_t hold_id) {
    pb::ReleaseHoldRequest request;
    request.set_seller_id(seller);
    request.set_idempotency_key(NewKey());
    request.set_hold_id(hold_id);
    pb::ReleaseHoldResponse response;
    const grpc::Status s =
        env->Call("adbooking", &pb::WalletService::Stub::ReleaseHold, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  grpc::Status List(const pb::ListHoldsRequest& request, pb::ListHoldsResponse* out,
                    const std::string& caller = "adbooking") {
    out->Clear();
    return env->Call(caller, &pb::WalletService::Stub::ListHolds, request, out);
  }
};

// Holds in three states and two products: each filter alone and combined lists exactly its
// holds, newest first, with what GetHold shows; another seller's holds never appear.
TEST_F(HoldsTest, FiltersByStateProductAndReference) {
  const std::string seller = NewSeller();
  const std::string other = NewSeller();
  OpenWith(seller, 10000);
  OpenWith(other, 10000);
  const int64_t other_hold = Hold(other, 100, pb::AD_PRODUCT_GROUP_BUYING, "application-1");
  const int64_t h1 = Hold(seller, 100, pb::AD_PRODUCT_GROUP_BUYING, "application-1");
  const int64_t h2 = Hold(seller, 200, pb::AD_PRODUCT_TIME_SALE, "application-2");
  const int64_t h3 = Hold(seller, 300, pb::AD_PRODUCT_GROUP_BUYING, "application-3");
  const int64_t h4 = Hold(seller, 400, pb::AD_PRODUCT_TIME_SALE, "application-1");
  const int64_t h5 = Hold(seller, 500, pb::AD_PRODUCT_GROUP_BUYING, "application-5");
  ASSERT_GT(other_hold, 0);
  Capture(seller, h2, 150);
  Release(seller, h3);

  pb::ListHoldsRequest request;
  request.set_seller_id(seller);
  pb::ListHoldsResponse page;
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(h5, " ", h4, " ", h3, " ", h2, " ", h1));
  EXPECT_TRUE(page.next_page_token().empty());
  ASSERT_EQ(page.holds_size(), 5);
  const pb::HoldInfo& captured = page.holds(3);
  EXPECT_EQ(captured.seller_id(), seller);
  EXPECT_EQ(captured.amount_yen(), 200);
  EXPECT_EQ(captured.captured_yen(), 150);
  EXPECT_EQ(captured.product(), pb::AD_PRODUCT_TIME_SALE);
  EXPECT_EQ(captured.booking_reference(), "application-2");
  EXPECT_EQ(captured.state(), pb::HOLD_STATE_CAPTURED);
  EXPECT_TRUE(captured.has_resolved_at());
  EXPECT_FALSE(page.holds(0).has_resolved_at());  // h5 is pending
  pb::GetHoldRequest get;
  get.set_seller_id(seller);
  get.set_hold_id(h2);
  pb::GetHoldResponse got;
  ASSERT_TRUE(env->Call("adbooking", &pb::WalletService::Stub::GetHold, get, &got).ok());
  EXPECT_EQ(got.hold().SerializeAsString(), captured.SerializeAsString());

  // The open holds.
  request.add_states(pb::HOLD_STATE_PENDING);
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(h5, " ", h4, " ", h1));
  // The open holds of one product.
  request.set_product(pb::AD_PRODUCT_TIME_SALE);
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(h4));
  // Resolved ones of that product.
  request.clear_states();
  request.add_states(pb::HOLD_STATE_CAPTURED);
  request.add_states(pb::HOLD_STATE_RELEASED);
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(h2));
  // One application's holds, whatever their product or state.
  request.clear_states();
  request.clear_product();
  request.set_booking_reference("application-1");
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(h4, " ", h1));
  request.set_booking_reference("application-9");
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(page.holds_size(), 0);

  // The other seller sees only its own hold, under the same reference.
  request.set_seller_id(other);
  request.set_booking_reference("application-1");
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(other_hold));

  // Operators read holds too, as they read GetHold.
  request.set_seller_id(seller);
  ASSERT_TRUE(List(request, &page, "ops").ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(h4, " ", h1));
}

// Pages of two, across every hold and across the open ones; a token used with other filters,
// a token of another kind, and bad filters are refused.
TEST_F(HoldsTest, PagesAndRefusesATokenOfOtherFilters) {
  const std::string seller = NewSeller();
  OpenWith(seller, 10000);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Hold(seller, 100 + i, pb::AD_PRODUCT_PLUS_KEYWORD, absl::StrCat("app-", i)));
  }
  Release(seller, ids[3]);

  pb::ListHoldsRequest request;
  request.set_seller_id(seller);
  request.set_page_size(2);
  pb::ListHoldsResponse page;
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(ids[4], " ", ids[3]));
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(ids[2], " ", ids[1]));
  ASSERT_FALSE(page.next_page_token().empty());
  const std::string unfiltered_token = page.next_page_token();
  request.set_page_token(unfiltered_token);
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(ids[0]));
  EXPECT_TRUE(page.next_page_token().empty());

  // The open ones: the released hold is skipped, and the pages still hold two each.
  request.set_page_token("");
  request.add_states(pb::HOLD_STATE_PENDING);
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(ids[4], " ", ids[2]));
  ASSERT_FALSE(page.next_page_token().empty());
  const std::string pending_token = page.next_page_token();
  // The same filter written twice is the same filter: its token stays good.
  request.add_states(pb::HOLD_STATE_PENDING);
  request.set_page_token(pending_token);
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(HoldIds(page), absl::StrCat(ids[1], " ", ids[0]));
  EXPECT_TRUE(page.next_page_token().empty());

  // A token with other filters than its own: refused, whichever filter changed.
  request.clear_states();
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  request.add_states(pb::HOLD_STATE_PENDING);
  request.set_product(pb::AD_PRODUCT_PLUS_KEYWORD);
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  request.clear_product();
  request.set_booking_reference("app-1");
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  request.clear_booking_reference();
  request.clear_states();
  request.add_states(pb::HOLD_STATE_CAPTURED);
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  // The unfiltered token with a state filter.
  request.set_page_token(unfiltered_token);
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  request.clear_states();

  // A token of another kind (ListHistory's) or of nothing.
  request.set_page_token("garbage");
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  pb::ListHistoryRequest history;
  history.set_seller_id(seller);
  history.set_page_size(1);
  pb::ListHistoryResponse entries;
  ASSERT_TRUE(env->Call("ops", &pb::WalletService::Stub::ListHistory, history, &entries).ok());
  ASSERT_FALSE(entries.next_page_token().empty());
  request.set_page_token(entries.next_page_token());
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  request.set_page_token("");

  // Bad requests.
  request.set_page_size(501);
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_SIZE");
  request.set_page_size(-1);
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_PAGE_SIZE");
  request.set_page_size(0);
  request.add_states(static_cast<pb::HoldState>(42));
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_HOLD_STATE");
  request.clear_states();
  request.add_states(pb::HOLD_STATE_UNSPECIFIED);
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_HOLD_STATE");
  request.clear_states();
  request.set_product(static_cast<pb::AdProduct>(77));
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "UNKNOWN_AD_PRODUCT");
  request.clear_product();
  request.set_booking_reference(std::string(129, 'x'));
  EXPECT_GRPC_ERROR(List(request, &page), INVALID_ARGUMENT, "INVALID_REFERENCE");
  request.clear_booking_reference();
  request.set_seller_id("nobody-here");
  EXPECT_GRPC_ERROR(List(request, &page), NOT_FOUND, "WALLET_NOT_FOUND");
  // A wallet without holds lists none.
  const std::string empty = NewSeller();
  OpenWith(empty, 100);
  request.set_seller_id(empty);
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(page.holds_size(), 0);
  EXPECT_TRUE(page.next_page_token().empty());
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  qcash::testing::env = new qcash::testing::WalletOnlyEnvironment("wallet_holds");
  ::testing::AddGlobalTestEnvironment(qcash::testing::env);
  return RUN_ALL_TESTS();
}
