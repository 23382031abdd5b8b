// The wallet's contract (proto/qcash/wallet/v1/) against the code, where a comment used to be
// the only check: every proto enum value has its domain value with the same number (the
// domain side is checked at compile time in enums.h), and the behaviours wallet.proto
// promises in words.
#include <gtest/gtest.h>

#include "common/enum_contract_testing.h"
#include "common/status.h"
#include "google/protobuf/descriptor.h"
#include "qcash/wallet/v1/error_reason.pb.h"
#include "services/wallet/enums.h"
#include "services/wallet/ledger.h"
#include "services/wallet/statements.h"

namespace qcash::wallet {
namespace {

// The conversions of enums.h, for ExpectEveryProtoValueHasItsDomainValue.
const auto kFromProto = [](auto p) { return FromProto(p); };
const auto kToProto = [](auto d) { return ToProto(d); };

TEST(WalletContractTest, EveryProtoEnumValueHasItsDomainValue) {
  ExpectEveryProtoValueHasItsDomainValue<v1::AdProduct>(v1::AdProduct_descriptor(), kFromProto,
                                                        kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::CreditSource>(v1::CreditSource_descriptor(),
                                                           kFromProto, kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::FundsAccount>(v1::FundsAccount_descriptor(),
                                                           kFromProto, kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::WalletState>(v1::WalletState_descriptor(), kFromProto,
                                                          kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::HoldState>(v1::HoldState_descriptor(), kFromProto,
                                                        kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::EntryType>(v1::EntryType_descriptor(), kFromProto,
                                                        kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::Account>(v1::Account_descriptor(), kFromProto,
                                                      kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::LotOrigin>(v1::LotOrigin_descriptor(), kFromProto,
                                                        kToProto);
}

TEST(WalletContractTest, RequestEnumsBecomeDomainCodesOrARefusal) {
  EXPECT_EQ(DomainOf(v1::CREDIT_SOURCE_POINTS_CONVERSION), CreditSource::kPointsConversion);
  EXPECT_EQ(DomainOf(v1::AD_PRODUCT_PREMIUM_DISPLAY), AdProduct::kPremiumDisplay);
  // 65537 would wrap into a valid int16 product; it must become kNone, which ValidateOp refuses.
  EXPECT_EQ(DomainOf(static_cast<v1::AdProduct>(65'537)), AdProduct::kNone);
  EXPECT_EQ(DomainOf(v1::FUNDS_ACCOUNT_UNSPECIFIED), FundsAccount::kNone);
  EXPECT_EQ(AdProductToProto(0), v1::AD_PRODUCT_UNSPECIFIED);  // entries that are not ad entries
  EXPECT_EQ(AdProductToProto(4), v1::AD_PRODUCT_TIME_SALE);
}

// wallet.proto, OpenWallet and CloseWallet: opening a closed wallet answers it as it is,
// closed (W5: no reopening, no change), while every other mutation fails WALLET_CLOSED.
TEST(WalletContractTest, OpenWalletOnAClosedWalletAnswersItClosedAndChangesNothing) {
  LedgerSnapshot s;
  s.now = absl::FromUnixSeconds(1'800'000'000);
  WalletRecord closed;
  closed.seller_id = "shop";
  closed.state = WalletState::kClosed;
  closed.version = 7;
  closed.last_seq = 12;
  s.wallets["shop"] = closed;
  Op open;
  open.type = OpType::kOpen;
  open.seller_id = "shop";
  open.caller = "gateway";
  open.idempotency_key = "open-1";
  open.request_hash = RequestHash(open);
  Op spend = open;
  spend.type = OpType::kSpend;
  spend.caller = "adbooking";
  spend.idempotency_key = "spend-1";
  spend.amount_yen = 100;
  spend.product = AdProduct::kTimeSale;
  spend.reference = "app-1";
  spend.request_hash = RequestHash(spend);
  LedgerWrites writes;
  const std::vector<OpResult> results = ApplyOps({&open, &spend}, s, &writes);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome, Outcome::kApplied);
  EXPECT_TRUE(OutcomeStatus(results[0].outcome, open).ok());
  EXPECT_FALSE(results[0].created);
  EXPECT_EQ(results[0].balance.state, WalletState::kClosed);
  EXPECT_EQ(ToProto(results[0].balance.state), v1::WALLET_STATE_CLOSED);
  EXPECT_EQ(results[0].balance.version, 7) << "opening changed the closed wallet";
  EXPECT_EQ(results[1].outcome, Outcome::kWalletClosed);
  const absl::Status refused = OutcomeStatus(results[1].outcome, spend);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ReasonIs(refused, v1::WALLET_CLOSED));
  EXPECT_TRUE(writes.journal.empty());
  EXPECT_TRUE(writes.wallets.empty());
}

// wallet.proto, Amounts: 1..10^12 yen, INVALID_AMOUNT outside.
TEST(WalletContractTest, AmountCapIsTenToTheTwelfthYen) {
  static_assert(kAmountMaxYen == 1'000'000'000'000, "wallet.proto documents 10^12");
  Op op;
  op.type = OpType::kCreditFunds;
  op.seller_id = "shop";
  op.caller = "settlement";
  op.idempotency_key = "k";
  op.funds = FundsAccount::kQmoney;
  op.reference = "settlement-1";
  op.amount_yen = kAmountMaxYen;
  EXPECT_TRUE(ValidateOp(op).ok());
  op.amount_yen = kAmountMaxYen + 1;
  EXPECT_TRUE(ReasonIs(ValidateOp(op), v1::INVALID_AMOUNT));
}

// wallet.proto, GetMonthlyStatement / GetMonthlyActivity: the bounds and the rate it documents.
TEST(WalletContractTest, StatementBoundsAreTheDocumentedOnes) {
  static_assert(kStatementPageSizeDefault == 500, "wallet.proto: default 500 lines");
  static_assert(kStatementPageSizeMax == 1000, "wallet.proto: at most 1000 lines");
  static_assert(kActivityMonthsDefault == 12, "wallet.proto: default 12 months");
  static_assert(kActivityMonthsMax == 24, "wallet.proto: at most 24 months");
  static_assert(kConsumptionTaxPercent == 10, "wallet.proto: tax_rate_percent 10");
  EXPECT_TRUE(ReasonIs(ParseMonth("2026-13").status(), v1::INVALID_MONTH));
  // The month closes with the books' margin (BASE_DATE_NOT_PAST's ten minutes).
  const MonthPeriod p = *ParseMonth("2026-09");
  EXPECT_FALSE(MonthClosed(p, p.end + absl::Minutes(10) - absl::Microseconds(1)));
  EXPECT_TRUE(MonthClosed(p, p.end + absl::Minutes(10)));
}

// Every refusal of the ledger carries a wallet reason (none falls back to UNSPECIFIED).
TEST(WalletContractTest, EveryRefusalHasAWalletReason) {
  Op op;
  op.seller_id = "shop";
  for (int n = static_cast<int>(Outcome::kKeyReused); n <= static_cast<int>(Outcome::kHoldNotDue);
       ++n) {
    const absl::Status s = OutcomeStatus(static_cast<Outcome>(n), op);
    ASSERT_FALSE(s.ok()) << n;
    v1::ErrorReason reason{};
    EXPECT_TRUE(v1::ErrorReason_Parse(ReasonOf(s), &reason)) << n << ": " << ReasonOf(s);
    EXPECT_NE(reason, v1::ERROR_REASON_UNSPECIFIED) << n;
  }
}

}  // namespace
}  // namespace qcash::wallet
