// For the services' contract tests (services/*/contract_test.cc): the check that a proto enum
// and its domain enum (services/*/enums.h) agree value by value, written once.
#ifndef QCASH_COMMON_ENUM_CONTRACT_TESTING_H_
#define QCASH_COMMON_ENUM_CONTRACT_TESTING_H_

#include <gtest/gtest.h>

#include "google/protobuf/descriptor.h"

namespace qcash {

// Every value of `Proto` but UNSPECIFIED has the domain value of its number, and back; a number
// from a newer client is no domain value. `from` and `to` are the service's conversions, e.g.
// `[](auto p) { return FromProto(p); }` (giving std::optional<Domain>) and its inverse.
template <typename Proto, typename From, typename To>
void ExpectEveryProtoValueHasItsDomainValue(const google::protobuf::EnumDescriptor* d, From from,
                                            To to) {
  for (int i = 0; i < d->value_count(); ++i) {
    const int number = d->value(i)->number();
    const auto domain = from(static_cast<Proto>(number));
    if (number == 0) {
      EXPECT_FALSE(domain.has_value()) << d->value(i)->full_name();
      continue;
    }
    ASSERT_TRUE(domain.has_value()) << d->value(i)->full_name() << " has no domain value";
    EXPECT_EQ(static_cast<int>(*domain), number) << d->value(i)->full_name();
    EXPECT_EQ(to(*domain), static_cast<Proto>(number)) << d->value(i)->full_name();
  }
  EXPECT_FALSE(from(static_cast<Proto>(9'999)).has_value());
}

}  // namespace qcash

#endif  // QCASH_COMMON_ENUM_CONTRACT_TESTING_H_
