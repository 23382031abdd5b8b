// The points contract (proto/qcash/points/v1/) against the code: every proto enum value has its
// domain value with the same number (the domain side is checked at compile time in enums.h).
#include <gtest/gtest.h>

#include "common/enum_contract_testing.h"
#include "google/protobuf/descriptor.h"
#include "services/points/enums.h"

namespace qcash::points {
namespace {

// The conversions of enums.h, for ExpectEveryProtoValueHasItsDomainValue.
const auto kFromProto = [](auto p) { return FromProto(p); };
const auto kToProto = [](auto d) { return ToProto(d); };

TEST(PointsContractTest, EveryProtoEnumValueHasItsDomainValue) {
  ExpectEveryProtoValueHasItsDomainValue<v1::Component>(v1::Component_descriptor(), kFromProto,
                                                        kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::SaleType>(v1::SaleType_descriptor(), kFromProto,
                                                       kToProto);
  ExpectEveryProtoValueHasItsDomainValue<v1::ConversionState>(v1::ConversionState_descriptor(),
                                                              kFromProto, kToProto);
}

TEST(PointsContractTest, RequestEnumsBecomeDomainCodesOrARefusal) {
  EXPECT_EQ(CodeOf(v1::COMPONENT_REVIEW), static_cast<int16_t>(Component::kReview));
  EXPECT_EQ(CodeOf(v1::SALE_TYPE_RESERVATION), static_cast<int16_t>(SaleType::kReservation));
  EXPECT_EQ(CodeOf(static_cast<v1::Component>(65'537)), 0);  // refused by ValidateEvent
  EXPECT_EQ(CodeOf(v1::SALE_TYPE_UNSPECIFIED), 0);
}

}  // namespace
}  // namespace qcash::points
