#include "services/payment/order.h"

#include <gtest/gtest.h>

#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "qcash/payment/v1/error_reason.pb.h"

namespace qcash::payment {
namespace {

CreateRequest Valid(Method method) {
  CreateRequest r;
  r.seller_id = "seller-1";
  r.caller = "gateway";
  r.idempotency_key = "key-1";
  r.denomination_yen = 1'000;
  r.method_code = static_cast<int64_t>(method);
  if (method == Method::kCard) r.payment_token = "tok_visa";
  if (InfoOf(method).family == Family::kInternalFunds) r.qsign_password = "password-1";
  return r;
}

std::string Reason(const CreateRequest& r) { return ReasonOf(ValidateCreate(r).status()); }

TEST(OrderTest, EveryMethodValidates) {
  for (const MethodInfo& info : kMethods) {
    auto method = ValidateCreate(Valid(info.method));
    ASSERT_TRUE(method.ok()) << info.label << ": " << method.status();
    EXPECT_EQ((*method)->method, info.method);
  }
}

// W2, P1: 1,234 yen and a method that is not one of the eleven are INVALID_ARGUMENT.
TEST(OrderTest, W2P1UnknownDenominationOrMethodIsInvalid) {
  CreateRequest r = Valid(Method::kPaypal);
  r.denomination_yen = 1'234;
  EXPECT_EQ(ValidateCreate(r).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Reason(r), "UNKNOWN_DENOMINATION");
  r.denomination_yen = 0;
  EXPECT_EQ(Reason(r), "UNKNOWN_DENOMINATION");
  r = Valid(Method::kPaypal);
  for (int64_t code : {0, 12, 99, -1, 65'537}) {
    r.method_code = code;
    EXPECT_EQ(Reason(r), "UNKNOWN_PAYMENT_METHOD") << code;
  }
}

TEST(OrderTest, TokensAndPasswordsOnlyWhereTheyBelong) {
  CreateRequest card = Valid(Method::kCard);
  card.payment_token.clear();
  EXPECT_EQ(Reason(card), "MISSING_PAYMENT_TOKEN");
  card.payment_token = std::string(257, 't');
  EXPECT_EQ(Reason(card), "INVALID_PAYMENT_TOKEN");
  CreateRequest paypal = Valid(Method::kPaypal);
  paypal.payment_token = "tok_visa";
  EXPECT_EQ(Reason(paypal), "UNEXPECTED_PAYMENT_TOKEN");
  paypal.payment_token.clear();
  paypal.qsign_password = "password-1";
  EXPECT_EQ(Reason(paypal), "UNEXPECTED_QSIGN_PASSWORD");
  CreateRequest qmoney = Valid(Method::kQmoney);
  qmoney.qsign_password.clear();
  EXPECT_EQ(Reason(qmoney), "MISSING_QSIGN_PASSWORD");  // P3
  CreateRequest bad = Valid(Method::kPaypal);
  bad.seller_id = "seller{1}";
  EXPECT_EQ(Reason(bad), "INVALID_SELLER_ID");
  bad = Valid(Method::kPaypal);
  bad.idempotency_key = "";
  EXPECT_EQ(Reason(bad), "INVALID_IDEMPOTENCY_KEY");
}

TEST(OrderTest, FingerprintNeverIncludesThePassword) {
  CreateRequest a = Valid(Method::kQmoney);
  CreateRequest b = a;
  b.qsign_password = "another-password";
  EXPECT_EQ(CreateRequestHash(a), CreateRequestHash(b));
  b.denomination_yen = 3'000;
  EXPECT_NE(CreateRequestHash(a), CreateRequestHash(b));
  CreateRequest c = Valid(Method::kCard);
  CreateRequest d = c;
  d.payment_token = "tok_jcb";
  EXPECT_NE(CreateRequestHash(c), CreateRequestHash(d));
}

// P5: forward only; after PAID only CREDITED; final states never move.
TEST(OrderTest, P5StateMachine) {
  const OrderState all[] = {OrderState::kCreated,  OrderState::kAwaitingPayment,
                            OrderState::kPaid,     OrderState::kCredited,
                            OrderState::kFailed,   OrderState::kExpired,
                            OrderState::kCancelled};
  for (Family family :
       {Family::kInstant, Family::kRedirect, Family::kCounter, Family::kInternalFunds}) {
    for (OrderState to : all) {
      EXPECT_EQ(CanTransition(family, OrderState::kPaid, to), to == OrderState::kCredited);
      for (OrderState final_state : {OrderState::kCredited, OrderState::kFailed,
                                     OrderState::kExpired, OrderState::kCancelled}) {
        EXPECT_FALSE(CanTransition(family, final_state, to));
      }
    }
  }
  EXPECT_TRUE(CanTransition(Family::kCounter, OrderState::kAwaitingPayment, OrderState::kPaid));
  EXPECT_TRUE(
      CanTransition(Family::kRedirect, OrderState::kAwaitingPayment, OrderState::kCancelled));
  EXPECT_FALSE(CanTransition(Family::kRedirect, OrderState::kCreated, OrderState::kCredited));
  EXPECT_FALSE(
      CanTransition(Family::kRedirect, OrderState::kAwaitingPayment, OrderState::kCreated));
  // Internal funds: moved and credited in one wallet transaction, or refused.
  EXPECT_TRUE(CanTransition(Family::kInternalFunds, OrderState::kCreated, OrderState::kCredited));
  EXPECT_TRUE(CanTransition(Family::kInternalFunds, OrderState::kCreated, OrderState::kFailed));
  EXPECT_FALSE(CanTransition(Family::kInternalFunds, OrderState::kCreated, OrderState::kPaid));
  EXPECT_FALSE(CanTransition(Family::kInternalFunds, OrderState::kCreated, OrderState::kCancelled));
}

Order OrderIn(OrderState state, Family family = Family::kRedirect) {
  Order o;
  o.order_id = NewOrderId();
  o.state = state;
  o.family = family;
  return o;
}

// P5: duplicates and out-of-order reports never move an order backwards or undo a payment.
TEST(OrderTest, P5ReportsOnlyMoveForward) {
  auto to = [](const Order& o, ProviderStatus s, ReportContext c) {
    return DecideOnReport(o, s, c, "").to;
  };
  const ReportContext seen = ReportContext::kObserved;
  EXPECT_EQ(to(OrderIn(OrderState::kCreated), ProviderStatus::kPending, seen),
            OrderState::kAwaitingPayment);
  EXPECT_FALSE(to(OrderIn(OrderState::kAwaitingPayment), ProviderStatus::kPending, seen));
  EXPECT_EQ(to(OrderIn(OrderState::kAwaitingPayment), ProviderStatus::kPaid, seen),
            OrderState::kPaid);
  EXPECT_EQ(to(OrderIn(OrderState::kAwaitingPayment), ProviderStatus::kDeclined, seen),
            OrderState::kFailed);
  for (ProviderStatus s :
       {ProviderStatus::kPending, ProviderStatus::kPaid, ProviderStatus::kDeclined,
        ProviderStatus::kCancelled, ProviderStatus::kExpired, ProviderStatus::kNotFound}) {
    EXPECT_FALSE(to(OrderIn(OrderState::kPaid), s, seen));
    EXPECT_FALSE(to(OrderIn(OrderState::kCredited), s, seen));
    EXPECT_FALSE(to(OrderIn(OrderState::kPaid), s, ReportContext::kSellerCancel));
  }
  // A lookup that finds nothing yet changes nothing.
  EXPECT_FALSE(to(OrderIn(OrderState::kCreated), ProviderStatus::kNotFound, seen));
}

TEST(OrderTest, P5CancelAndExpiryNeedTheProvidersWord) {
  const Order waiting = OrderIn(OrderState::kAwaitingPayment, Family::kCounter);
  EXPECT_EQ(
      DecideOnReport(waiting, ProviderStatus::kCancelled, ReportContext::kSellerCancel, "").to,
      OrderState::kCancelled);
  EXPECT_EQ(DecideOnReport(waiting, ProviderStatus::kCancelled, ReportContext::kExpiry, "").to,
            OrderState::kExpired);
  // The seller paid at the last minute: the cancellation turns into a payment.
  EXPECT_EQ(DecideOnReport(waiting, ProviderStatus::kPaid, ReportContext::kSellerCancel, "").to,
            OrderState::kPaid);
  EXPECT_EQ(DecideOnReport(waiting, ProviderStatus::kPaid, ReportContext::kExpiry, "").to,
            OrderState::kPaid);
  // Still pending after we asked to cancel: do not close it.
  EXPECT_FALSE(
      DecideOnReport(waiting, ProviderStatus::kPending, ReportContext::kExpiry, "").to.has_value());
}

TEST(OrderTest, LatePaymentIsFlaggedNotCredited) {
  for (OrderState closed : {OrderState::kFailed, OrderState::kExpired, OrderState::kCancelled}) {
    const Decision d =
        DecideOnReport(OrderIn(closed), ProviderStatus::kPaid, ReportContext::kObserved, "");
    EXPECT_FALSE(d.to.has_value());
    EXPECT_EQ(d.attention.rfind("LATE_PAYMENT", 0), 0u) << d.attention;
  }
}

TEST(OrderTest, OrderIdsAndPageTokens) {
  const std::string id = NewOrderId();
  EXPECT_EQ(id.size(), kOrderIdLength);
  EXPECT_TRUE(CheckOrderId(id).ok());
  EXPECT_NE(id, NewOrderId());
  EXPECT_FALSE(CheckOrderId("co_XYZ").ok());
  EXPECT_FALSE(CheckOrderId("").ok());
  const PageCursor cursor{1'700'000'000'123'456, id};
  auto back = DecodePageToken(EncodePageToken(cursor));
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->created_at_us, cursor.created_at_us);
  EXPECT_EQ((*back)->order_id, id);
  auto none = DecodePageToken("");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(ReasonOf(DecodePageToken("not-a-token").status()), "INVALID_PAGE_TOKEN");
  // Found by fuzz/page_token_fuzz.cc: other spellings of the same cursor were accepted.
  const std::string issued = EncodePageToken(cursor);
  const std::string plus =
      absl::WebSafeBase64Escape(absl::StrCat("o:+", cursor.created_at_us, ":", id));
  EXPECT_EQ(ReasonOf(DecodePageToken(plus).status()), "INVALID_PAGE_TOKEN");
  const std::string spaced = issued.substr(0, 4) + "\r\n" + issued.substr(4);
  EXPECT_EQ(ReasonOf(DecodePageToken(spaced).status()), "INVALID_PAGE_TOKEN");
}

TEST(OrderTest, RetryBackoffIsBounded) {
  EXPECT_EQ(RetryBackoff(0, absl::Seconds(60)), absl::Seconds(1));
  EXPECT_EQ(RetryBackoff(1, absl::Seconds(60)), absl::Seconds(1));
  EXPECT_EQ(RetryBackoff(3, absl::Seconds(60)), absl::Seconds(4));
  EXPECT_EQ(RetryBackoff(1'000'000, absl::Seconds(60)), absl::Seconds(60));
}

}  // namespace
}  // namespace qcash::payment

namespace qcash::payment {
namespace {

// Issue 16 (DESIGN.md section 9): what a reversal notification does to its order.
TEST(ReversalTest, DecideOnReversal) {
  Order order;
  order.amount_yen = 10'000;
  order.state = OrderState::kCredited;
  EXPECT_EQ(DecideOnReversal(order, /*known=*/true, 100), ReversalOutcome::kKnown);
  EXPECT_EQ(DecideOnReversal(order, false, 10'000), ReversalOutcome::kRecordApplying);
  EXPECT_EQ(DecideOnReversal(order, false, 10'001), ReversalOutcome::kExceedsOrder);
  EXPECT_EQ(DecideOnReversal(order, false, 0), ReversalOutcome::kExceedsOrder);
  EXPECT_EQ(DecideOnReversal(order, false, std::numeric_limits<int64_t>::max()),
            ReversalOutcome::kExceedsOrder);
  order.reversed_yen = 8'000;  // partial reversals add up to at most the amount
  EXPECT_EQ(DecideOnReversal(order, false, 2'000), ReversalOutcome::kRecordApplying);
  EXPECT_EQ(DecideOnReversal(order, false, 2'001), ReversalOutcome::kExceedsOrder);
  EXPECT_EQ(DecideOnReversal(order, true, 5'000), ReversalOutcome::kKnown)
      << "a known reversal changes nothing, whatever it says";
  for (OrderState state : {OrderState::kCreated, OrderState::kAwaitingPayment, OrderState::kPaid,
                           OrderState::kExpired, OrderState::kCancelled, OrderState::kFailed}) {
    order.state = state;
    EXPECT_EQ(DecideOnReversal(order, false, 1'000), ReversalOutcome::kRecordWaiting)
        << StateName(state);
  }
}

TEST(ReversalTest, KindsIdsAndTheWalletKey) {
  for (ReversalKind kind :
       {ReversalKind::kChargeback, ReversalKind::kDefault, ReversalKind::kRefund}) {
    EXPECT_EQ(ParseReversalKind(ReversalKindName(kind)), kind);
  }
  EXPECT_FALSE(ParseReversalKind("CHARGEBACK").has_value());
  EXPECT_FALSE(ParseReversalKind("").has_value());
  EXPECT_TRUE(IsValidReversalId("rev_0a1b.c-D"));
  EXPECT_FALSE(IsValidReversalId(""));
  EXPECT_FALSE(IsValidReversalId(std::string(65, 'a')));
  EXPECT_TRUE(IsValidReversalId(std::string(64, 'a')));
  EXPECT_FALSE(IsValidReversalId("rev 1"));
  EXPECT_FALSE(IsValidReversalId("rev:1"));
  EXPECT_EQ(ReversalKey("paidy", "rev_1"), "reversal:paidy:rev_1");
  // The longest key fits the wallet's 128 characters.
  EXPECT_LE(ReversalKey("bank_transfer", std::string(kReversalIdLengthMax, 'a')).size(), 128u);
}

}  // namespace
}  // namespace qcash::payment
