// What every integration test needs to call a service over gRPC and check its answer: fresh
// seller ids and idempotency keys, one call as a caller identity, and the error's reason.
#ifndef QCASH_TESTS_HARNESS_GRPC_CALLS_H_
#define QCASH_TESTS_HARNESS_GRPC_CALLS_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/seller_scope.h"
#include "common/status.h"

namespace qcash::testing {

// A seller id no other test of this binary uses: the running test's name (cut to 40
// characters, seller ids hold 64) and a counter.
inline std::string NewSeller() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat(std::string(info->name()).substr(0, 40), "-", counter.fetch_add(1));
}

inline std::string NewKey() {
  static std::atomic<int> counter{0};
  return absl::StrCat("key-", counter.fetch_add(1));
}

// The ErrorInfo reason of a failed call ("" when it has none).
inline std::string Reason(const grpc::Status& status) { return ReasonOf(FromGrpcStatus(status)); }

#define EXPECT_GRPC_ERROR(status, code, reason)                               \
  do {                                                                        \
    const grpc::Status s_ = (status);                                         \
    EXPECT_EQ(s_.error_code(), grpc::StatusCode::code) << s_.error_message(); \
    EXPECT_EQ(::qcash::testing::Reason(s_), reason) << s_.error_message();    \
  } while (0)

template <typename Stub, typename Request, typename Response>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

// One call on `stub` as `caller` (empty: no identity at all; the services run with
// QCASH_INSECURE_DEV, where the identity is metadata), forwarding `seller_token` as the gateway
// does when it is not empty.
template <typename Stub, typename Request, typename Response>
grpc::Status CallOn(Stub* stub, const std::string& caller, Method<Stub, Request, Response> method,
                    const Request& request, Response* response,
                    const std::string& seller_token = "",
                    std::chrono::seconds deadline = std::chrono::seconds(30)) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  if (!caller.empty()) context.AddMetadata("x-qcash-caller", caller);
  if (!seller_token.empty()) context.AddMetadata(kSellerTokenMetadata, seller_token);
  return (stub->*method)(&context, request, response);
}

}  // namespace qcash::testing

#endif  // QCASH_TESTS_HARNESS_GRPC_CALLS_H_
