// Domain enums and the contract's enums share their numbers: the schema stores the domain's
// numbers and requests carry the proto's, so a value passes between them unconverted only if
// the numbers agree. Conversions are switches built from QCASH_ENUM_CASE: -Wswitch (with
// -Werror) fails the build when a domain value has no case, and each case fails it when its
// two numbers differ. The proto side (a value the domain lacks) is checked by each service's
// enums_test, which walks the enum's descriptor.
#ifndef QCASH_COMMON_ENUM_CASE_H_
#define QCASH_COMMON_ENUM_CASE_H_

// One case of a switch over a domain enum that returns the proto value of the same number.
#define QCASH_ENUM_CASE(domain_value, proto_value)                                  \
  case domain_value:                                                                \
    static_assert(static_cast<int>(domain_value) == static_cast<int>(proto_value),  \
                  #domain_value " and " #proto_value " must have the same number"); \
    return proto_value

// One case of a switch over a proto enum that returns the domain value of the same number.
#define QCASH_PROTO_CASE(proto_value, domain_value)                                 \
  case proto_value:                                                                 \
    static_assert(static_cast<int>(domain_value) == static_cast<int>(proto_value),  \
                  #domain_value " and " #proto_value " must have the same number"); \
    return domain_value

#endif  // QCASH_COMMON_ENUM_CASE_H_
