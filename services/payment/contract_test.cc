// The payment contract (proto/qcash/payment/v1/) against the code: every proto enum value has
// its domain value with the same number (the domain side is checked at compile time in
// enums.h).
#include <gtest/gtest.h>

#include "common/enum_contract_testing.h"
#include "google/protobuf/descriptor.h"
#include "services/payment/enums.h"

namespace qcash::payment {
namespace {

// The conversions of enums.h, for ExpectEveryProtoValueHasItsDomainValue.
const auto kFromProto = [](auto p) { return FromProto(p); };
const auto kToProto = [](auto d) { return ToProto(d); };

TEST(PaymentContractTest, EveryProtoEnumValueHasItsDomainValue) {
  ExpectEveryProtoValueHasItsDomainValue<v1::PaymentMethod>(v1::PaymentMethod_descriptor(),
                                                            kFromProto, kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::PaymentFamily>(v1::PaymentFamily_descriptor(),
                                                            kFromProto, kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::OrderState>(v1::OrderState_descriptor(), kFromProto,
                                                         kToProto);
}

// W2: the twelve vouchers are the contract's twelve denominations, each numbered by its price.
TEST(PaymentContractTest, DenominationsAreTheCatalogsAtTheirPrice) {
  const google::protobuf::EnumDescriptor* d = v1::Denomination_descriptor();
  int vouchers = 0;
  for (int i = 0; i < d->value_count(); ++i) {
    const int yen = d->value(i)->number();
    if (yen == 0) continue;
    ++vouchers;
    EXPECT_TRUE(IsDenomination(yen)) << d->value(i)->name();
    EXPECT_EQ(DenominationOf(yen), yen);
  }
  EXPECT_EQ(vouchers, static_cast<int>(kDenominationsYen.size()));
  EXPECT_EQ(DenominationOf(200), v1::DENOMINATION_UNSPECIFIED);
}

// Every method of the catalog has its contract value, and the family the contract gives it.
TEST(PaymentContractTest, EveryCatalogMethodIsInTheContract) {
  for (const MethodInfo& info : kMethods) {
    EXPECT_NE(ToProto(info.method), v1::PAYMENT_METHOD_UNSPECIFIED);
    EXPECT_NE(ToProto(info.family), v1::PAYMENT_FAMILY_UNSPECIFIED);
    EXPECT_EQ(FindMethod(ToProto(info.method)), &info);
  }
}

}  // namespace
}  // namespace qcash::payment
