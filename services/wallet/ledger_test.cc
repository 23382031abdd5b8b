// The wallet's stateless rules (W2, W3, S3, idempotency keys, ids).
#include "services/wallet/ledger.h"

#include <gtest/gtest.h>

#include "common/hash.h"
#include "common/status.h"

namespace qcash::wallet {
namespace {

Op ValidOp(OpType type) {
  Op op;
  op.type = type;
  op.seller_id = "seller-1";
  op.caller = "adbooking";
  op.idempotency_key = "key-1";
  op.reference = "ref-1";
  switch (type) {
    case OpType::kCredit:
      op.amount_yen = 1'000;
      op.source = CreditSource::kCharge;
      break;
    case OpType::kSpend:
    case OpType::kHold:
      op.amount_yen = 500;
      op.product = AdProduct::kTimeSale;
      break;
    case OpType::kCapture:
      op.amount_yen = 100;
      op.hold_id = 3;
      break;
    case OpType::kRelease:
      op.hold_id = 3;
      break;
    case OpType::kChargeFromFunds:
      op.amount_yen = 3'000;
      op.funds = FundsAccount::kQmoney;
      break;
    case OpType::kCreditFunds:
      op.amount_yen = 12'345;
      op.funds = FundsAccount::kPendingSettlement;
      break;
    default:
      break;
  }
  return op;
}

std::string ReasonOfValidation(Op op) { return ReasonOf(ValidateOp(op)); }

TEST(LedgerRulesTest, EveryValidOpPasses) {
  for (OpType t :
       {OpType::kOpen, OpType::kCredit, OpType::kSpend, OpType::kHold, OpType::kCapture,
        OpType::kRelease, OpType::kChargeFromFunds, OpType::kCreditFunds, OpType::kClose}) {
    Op op = ValidOp(t);
    EXPECT_TRUE(ValidateOp(op).ok()) << OpTypeName(t) << ": " << ValidateOp(op);
  }
}

// W2: exactly twelve denominations, nothing else.
TEST(LedgerRulesTest, W2ChargeMustBeADenomination) {
  EXPECT_EQ(kDenominationsYen.size(), 12u);
  for (int64_t yen : kDenominationsYen) {
    Op op = ValidOp(OpType::kCredit);
    op.amount_yen = yen;
    EXPECT_TRUE(ValidateOp(op).ok()) << yen;
  }
  for (int64_t yen : {1'234, 99, 200, 2'000, 1'000'001, 2'000'000}) {
    Op op = ValidOp(OpType::kCredit);
    op.amount_yen = yen;
    EXPECT_EQ(ReasonOfValidation(op), "UNKNOWN_DENOMINATION") << yen;
  }
  Op funds = ValidOp(OpType::kChargeFromFunds);
  funds.amount_yen = 1'234;
  EXPECT_EQ(ReasonOfValidation(funds), "UNKNOWN_DENOMINATION");
}

// S3: conversions are whole hundreds.
TEST(LedgerRulesTest, S3ConversionInHundreds) {
  Op op = ValidOp(OpType::kCredit);
  op.source = CreditSource::kPointsConversion;
  op.amount_yen = 12'300;
  EXPECT_TRUE(ValidateOp(op).ok());
  op.amount_yen = 12'352;
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_CONVERSION_AMOUNT");
  op.amount_yen = 0;
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_AMOUNT");
}

TEST(LedgerRulesTest, AmountsMustBePositiveAndBounded) {
  for (OpType t : {OpType::kSpend, OpType::kHold, OpType::kCapture, OpType::kCreditFunds}) {
    for (int64_t yen : {int64_t{0}, int64_t{-1}, kAmountMaxYen + 1, INT64_MAX, INT64_MIN}) {
      Op op = ValidOp(t);
      op.amount_yen = yen;
      const absl::Status s = ValidateOp(op);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << OpTypeName(t) << " " << yen;
      EXPECT_EQ(ReasonOf(s), "INVALID_AMOUNT") << OpTypeName(t) << " " << yen;
    }
  }
}

// The request hash is stored with every idempotency record (PostgreSQL, Redis): it must stay
// what it was when Op carried one `int16_t code` for the type's enum, or a retry after an
// upgrade would be refused as a reused key.
TEST(LedgerRulesTest, RequestHashFingerprintsTheTypesEnumAsTheOldCode) {
  struct Case {
    OpType type;
    int64_t code;
  };
  for (const Case& c :
       {Case{OpType::kCredit, static_cast<int64_t>(CreditSource::kCharge)},
        Case{OpType::kSpend, static_cast<int64_t>(AdProduct::kTimeSale)},
        Case{OpType::kHold, static_cast<int64_t>(AdProduct::kTimeSale)},
        Case{OpType::kChargeFromFunds, static_cast<int64_t>(FundsAccount::kQmoney)},
        Case{OpType::kCreditFunds, static_cast<int64_t>(FundsAccount::kPendingSettlement)},
        Case{OpType::kCapture, 0}, Case{OpType::kClose, 0}}) {
    const Op op = ValidOp(c.type);
    Fingerprint old;
    old.Add(static_cast<int64_t>(op.type))
        .Add(op.seller_id)
        .Add(op.caller)
        .Add(op.amount_yen)
        .Add(c.code)
        .Add(op.reference)
        .Add(op.hold_id)
        .Add(op.hold_ttl_s);
    EXPECT_EQ(RequestHash(op), old.Hex()) << OpTypeName(c.type);
  }
}

// W3: exactly eight ad products.
TEST(LedgerRulesTest, W3UnknownAdProductRejected) {
  for (int16_t code : {int16_t{0}, int16_t{9}, int16_t{-1}, int16_t{100}}) {
    Op op = ValidOp(OpType::kSpend);
    op.product = static_cast<AdProduct>(code);
    EXPECT_EQ(ReasonOfValidation(op), "UNKNOWN_AD_PRODUCT") << code;
  }
  for (int16_t code = 1; code <= 8; ++code) EXPECT_TRUE(IsAdProduct(code));
}

TEST(LedgerRulesTest, HoldTtlDefaultsAndBounds) {
  Op op = ValidOp(OpType::kHold);
  ASSERT_TRUE(ValidateOp(op).ok());
  EXPECT_EQ(op.hold_ttl_s, kHoldTtlDefaultS);
  op.hold_ttl_s = kHoldTtlMaxS + 1;
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_HOLD_TTL");
  op.hold_ttl_s = -5;
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_HOLD_TTL");
}

TEST(LedgerRulesTest, SellerIdsAndKeys) {
  Op op = ValidOp(OpType::kSpend);
  op.seller_id = "";
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_SELLER_ID");
  op.seller_id = "a{b}";  // braces would break the Redis hash tag
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_SELLER_ID");
  op.seller_id = std::string(65, 'a');
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_SELLER_ID");
  op = ValidOp(OpType::kSpend);
  op.idempotency_key = "";
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_IDEMPOTENCY_KEY");
  op.idempotency_key = std::string(129, 'k');
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_IDEMPOTENCY_KEY");
  op.idempotency_key = "tab\there";
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_IDEMPOTENCY_KEY");
}

TEST(LedgerRulesTest, ReferencesRequiredAndClean) {
  Op op = ValidOp(OpType::kSpend);
  op.reference = "";
  EXPECT_EQ(ReasonOfValidation(op), "MISSING_REFERENCE");
  op.reference = "bad\xff";
  EXPECT_EQ(ReasonOfValidation(op), "INVALID_REFERENCE");
  op.reference = "予約-42";
  EXPECT_TRUE(ValidateOp(op).ok());
  Op close = ValidOp(OpType::kClose);
  close.reference = "";
  EXPECT_TRUE(ValidateOp(close).ok());  // a closing reason is optional
}

TEST(LedgerRulesTest, RequestHashSeparatesRequestsButNotKeys) {
  Op a = ValidOp(OpType::kSpend);
  Op b = a;
  b.idempotency_key = "another-key";
  EXPECT_EQ(RequestHash(a), RequestHash(b));
  b.amount_yen += 1;
  EXPECT_NE(RequestHash(a), RequestHash(b));
  Op c = a;
  c.seller_id = "seller-2";
  EXPECT_NE(RequestHash(a), RequestHash(c));
}

TEST(LedgerRulesTest, OutcomesMapToCodesAndReasons) {
  const Op op = ValidOp(OpType::kSpend);
  struct Case {
    Outcome outcome;
    absl::StatusCode code;
    const char* reason;
  };
  for (const Case& c : {
           Case{Outcome::kKeyReused, absl::StatusCode::kInvalidArgument, "IDEMPOTENCY_KEY_REUSED"},
           Case{Outcome::kWalletNotFound, absl::StatusCode::kNotFound, "WALLET_NOT_FOUND"},
           Case{Outcome::kWalletClosed, absl::StatusCode::kFailedPrecondition, "WALLET_CLOSED"},
           Case{Outcome::kInsufficientFunds, absl::StatusCode::kFailedPrecondition,
                "INSUFFICIENT_FUNDS"},
           Case{Outcome::kHoldNotFound, absl::StatusCode::kNotFound, "HOLD_NOT_FOUND"},
           Case{Outcome::kHoldResolved, absl::StatusCode::kFailedPrecondition,
                "HOLD_ALREADY_RESOLVED"},
           Case{Outcome::kHoldExpired, absl::StatusCode::kFailedPrecondition, "HOLD_EXPIRED"},
           Case{Outcome::kCaptureExceedsHold, absl::StatusCode::kFailedPrecondition,
                "CAPTURE_EXCEEDS_HOLD"},
           Case{Outcome::kBalanceLimit, absl::StatusCode::kFailedPrecondition,
                "BALANCE_LIMIT_EXCEEDED"},
       }) {
    const absl::Status s = OutcomeStatus(c.outcome, op);
    EXPECT_EQ(s.code(), c.code) << c.reason;
    EXPECT_EQ(ReasonOf(s), c.reason);
  }
  EXPECT_TRUE(OutcomeStatus(Outcome::kApplied, op).ok());
  EXPECT_TRUE(OutcomeStatus(Outcome::kReplayed, op).ok());
}

}  // namespace
}  // namespace qcash::wallet
