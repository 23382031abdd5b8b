// The payment contract (proto/qcash/payment/v1/) against the code: every proto enum value has
// its domain value with the same number (the domain side is checked at compile time in
// enums.h).
#include <gtest/gtest.h>

#include "google/protobuf/descriptor.h"
#include "services/payment/enums.h"

namespace qcash::payment {
namespace {

template <typename Proto>
void ExpectEveryProtoValueHasItsDomainValue(const google::protobuf::EnumDescriptor* d) {
  for (int i = 0; i < d->value_count(); ++i) {
    const int number = d->value(i)->number();
    const auto domain = FromProto(static_cast<Proto>(number));
    if (number == 0) {
      EXPECT_FALSE(domain.has_value()) << d->value(i)->full_name();
      continue;
    }
    ASSERT_TRUE(domain.has_value()) << d->value(i)->full_name() << " has no domain value";
    EXPECT_EQ(static_cast<int>(*domain), number) << d->value(i)->full_name();
    EXPECT_EQ(ToProto(*domain), static_cast<Proto>(number)) << d->value(i)->full_name();
  }
  EXPECT_FALSE(FromProto(static_cast<Proto>(9'999)).has_value());
}

TEST(PaymentContractTest, EveryProtoEnumValueHasItsDomainValue) {
  ExpectEveryProtoValueHasItsDomainValue<v1::PaymentMethod>(v1::PaymentMethod_descriptor());
  ExpectEveryProtoValueHasItsDomainValue<v1::PaymentFamily>(v1::PaymentFamily_descriptor());
  ExpectEveryProtoValueHasItsDomainValue<v1::OrderState>(v1::OrderState_descriptor());
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
