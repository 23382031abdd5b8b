#include "services/payment/catalog.h"

#include <gtest/gtest.h>

#include <set>

namespace qcash::payment {
namespace {

// W2: exactly twelve denominations, and nothing in between.
TEST(CatalogTest, W2TwelveDenominations) {
  EXPECT_EQ(kDenominationsYen.size(), 12u);
  for (int64_t yen : kDenominationsYen) EXPECT_TRUE(IsDenomination(yen)) << yen;
  for (int64_t yen : {0, -100, 99, 101, 1'234, 2'000, 999'999, 1'000'001}) {
    EXPECT_FALSE(IsDenomination(yen)) << yen;
  }
  EXPECT_EQ(DenominationLabel(1'000), "Qキャッシュ(1000Qキャッシュのチャージ)");
}

// P1, P2: eleven methods numbered 1..11, each in its family; providers are unique.
TEST(CatalogTest, P1ElevenMethodsInTheirFamilies) {
  std::set<int> numbers;
  std::set<std::string> providers;
  for (const MethodInfo& info : kMethods) {
    numbers.insert(static_cast<int>(info.method));
    if (info.family == Family::kInternalFunds) {
      EXPECT_TRUE(info.provider.empty());
    } else {
      EXPECT_TRUE(providers.insert(std::string(info.provider)).second) << info.provider;
      EXPECT_EQ(FindProvider(info.provider), &info);
    }
  }
  EXPECT_EQ(numbers, (std::set<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(InfoOf(Method::kCard).family, Family::kInstant);
  for (Method m : {Method::kPaypal, Method::kLinePay, Method::kPaidy, Method::kAuEasyPayment,
                   Method::kAtone}) {
    EXPECT_EQ(InfoOf(m).family, Family::kRedirect);
  }
  for (Method m : {Method::kBankTransfer, Method::kConvenienceStore, Method::kNetBanking}) {
    EXPECT_EQ(InfoOf(m).family, Family::kCounter);
  }
  EXPECT_EQ(InfoOf(Method::kQmoney).family, Family::kInternalFunds);
  EXPECT_EQ(InfoOf(Method::kPendingSettlement).family, Family::kInternalFunds);
  EXPECT_EQ(FindMethod(0), nullptr);
  EXPECT_EQ(FindMethod(12), nullptr);
  EXPECT_EQ(FindProvider("bitcoin"), nullptr);
  EXPECT_EQ(FindProvider(""), nullptr);
}

// Issue 15: the voucher preselected for what an ad application needs.
TEST(CatalogTest, CoveringDenominationIsTheSmallestThatCovers) {
  EXPECT_EQ(CoveringDenomination(0), 0);
  EXPECT_EQ(CoveringDenomination(-5), 0);
  EXPECT_EQ(CoveringDenomination(1), 100);
  EXPECT_EQ(CoveringDenomination(100), 100);
  EXPECT_EQ(CoveringDenomination(101), 500);
  EXPECT_EQ(CoveringDenomination(2'999), 3'000);
  EXPECT_EQ(CoveringDenomination(1'000'000), 1'000'000);
  EXPECT_EQ(CoveringDenomination(2'000'000), 1'000'000);  // none covers it: the largest
}

}  // namespace
}  // namespace qcash::payment
