// The points contract (proto/qcash/points/v1/) against the code: every proto enum value has its
// domain value with the same number (the domain side is checked at compile time in enums.h).
#include <gtest/gtest.h>

#include "google/protobuf/descriptor.h"
#include "services/points/enums.h"

namespace qcash::points {
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

TEST(PointsContractTest, EveryProtoEnumValueHasItsDomainValue) {
  ExpectEveryProtoValueHasItsDomainValue<v1::Component>(v1::Component_descriptor());
  ExpectEveryProtoValueHasItsDomainValue<v1::SaleType>(v1::SaleType_descriptor());
  ExpectEveryProtoValueHasItsDomainValue<v1::ConversionState>(v1::ConversionState_descriptor());
}

TEST(PointsContractTest, RequestEnumsBecomeDomainCodesOrARefusal) {
  EXPECT_EQ(CodeOf(v1::COMPONENT_REVIEW), static_cast<int16_t>(Component::kReview));
  EXPECT_EQ(CodeOf(v1::SALE_TYPE_RESERVATION), static_cast<int16_t>(SaleType::kReservation));
  EXPECT_EQ(CodeOf(static_cast<v1::Component>(65'537)), 0);  // refused by ValidateEvent
  EXPECT_EQ(CodeOf(v1::SALE_TYPE_UNSPECIFIED), 0);
}

}  // namespace
}  // namespace qcash::points
