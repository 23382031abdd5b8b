// The points service's domain enums (rules.h) <-> the contract's (qcash.points.v1), checked:
// see common/enum_case.h. ToProto covers every domain value (-Wswitch); FromProto answers
// nullopt for a wire value the domain does not have, and enums_test.cc proves that every other
// proto value has its domain value.
#ifndef QCASH_SERVICES_POINTS_ENUMS_H_
#define QCASH_SERVICES_POINTS_ENUMS_H_

#include <cstdint>
#include <optional>

#include "common/enum_case.h"
#include "qcash/points/v1/points.pb.h"
#include "services/points/rules.h"

namespace qcash::points {

constexpr v1::Component ToProto(Component c) {
  switch (c) {
    QCASH_ENUM_CASE(Component::kShipping, v1::COMPONENT_SHIPPING);
    QCASH_ENUM_CASE(Component::kClaim, v1::COMPONENT_CLAIM);
    QCASH_ENUM_CASE(Component::kReview, v1::COMPONENT_REVIEW);
  }
  return v1::COMPONENT_UNSPECIFIED;
}
constexpr std::optional<Component> FromProto(v1::Component c) {
  switch (c) {
    QCASH_PROTO_CASE(v1::COMPONENT_SHIPPING, Component::kShipping);
    QCASH_PROTO_CASE(v1::COMPONENT_CLAIM, Component::kClaim);
    QCASH_PROTO_CASE(v1::COMPONENT_REVIEW, Component::kReview);
    default:
      return std::nullopt;
  }
}

constexpr v1::SaleType ToProto(SaleType t) {
  switch (t) {
    QCASH_ENUM_CASE(SaleType::kGeneral, v1::SALE_TYPE_GENERAL);
    QCASH_ENUM_CASE(SaleType::kReservation, v1::SALE_TYPE_RESERVATION);
  }
  return v1::SALE_TYPE_UNSPECIFIED;
}
constexpr std::optional<SaleType> FromProto(v1::SaleType t) {
  switch (t) {
    QCASH_PROTO_CASE(v1::SALE_TYPE_GENERAL, SaleType::kGeneral);
    QCASH_PROTO_CASE(v1::SALE_TYPE_RESERVATION, SaleType::kReservation);
    default:
      return std::nullopt;
  }
}

constexpr v1::ConversionState ToProto(WindowState s) {
  switch (s) {
    QCASH_ENUM_CASE(WindowState::kConvertible, v1::CONVERSION_STATE_CONVERTIBLE);
    QCASH_ENUM_CASE(WindowState::kBelowMinimum, v1::CONVERSION_STATE_BELOW_MINIMUM);
    QCASH_ENUM_CASE(WindowState::kConverted, v1::CONVERSION_STATE_CONVERTED);
    QCASH_ENUM_CASE(WindowState::kInProgress, v1::CONVERSION_STATE_IN_PROGRESS);
    QCASH_ENUM_CASE(WindowState::kLapsed, v1::CONVERSION_STATE_LAPSED);
  }
  return v1::CONVERSION_STATE_UNSPECIFIED;
}
constexpr std::optional<WindowState> FromProto(v1::ConversionState s) {
  switch (s) {
    QCASH_PROTO_CASE(v1::CONVERSION_STATE_CONVERTIBLE, WindowState::kConvertible);
    QCASH_PROTO_CASE(v1::CONVERSION_STATE_BELOW_MINIMUM, WindowState::kBelowMinimum);
    QCASH_PROTO_CASE(v1::CONVERSION_STATE_CONVERTED, WindowState::kConverted);
    QCASH_PROTO_CASE(v1::CONVERSION_STATE_IN_PROGRESS, WindowState::kInProgress);
    QCASH_PROTO_CASE(v1::CONVERSION_STATE_LAPSED, WindowState::kLapsed);
    default:
      return std::nullopt;
  }
}

// A request's enum as the domain code of PointEvent, or 0 (which ValidateEvent refuses) for a
// value the domain does not have.
template <typename Proto>
int16_t CodeOf(Proto value) {
  const auto domain = FromProto(value);
  return domain.has_value() ? static_cast<int16_t>(*domain) : int16_t{0};
}

}  // namespace qcash::points

#endif  // QCASH_SERVICES_POINTS_ENUMS_H_
