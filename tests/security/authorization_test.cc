// Authorization as a server interceptor (DESIGN.md section 2, common/authorization.h):
//   - every service's one table names exactly the methods of its service, and says for each
//     seller-scoped method a request field the interceptor can read;
//   - the decision: an unknown method is refused, each permission is enforced for each caller,
//     the gateway acts only for the seller of the token it forwards;
//   - on a real gRPC server: a method missing from the table is refused even when its handler
//     never asks (the interceptor replaces the handler's answer), a handler gets the admitted
//     caller, and the development identity (x-qcash-caller) counts only in plaintext development
//     mode of a development build.
#include "common/authorization.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/seller_token.h"
#include "common/server.h"
#include "common/service_call.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "qcash/payment/v1/payment.grpc.pb.h"
#include "qcash/points/v1/points.grpc.pb.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/payment/policy.h"
#include "services/points/policy.h"
#include "services/wallet/policy.h"
#include "tests/harness/harness.h"
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
#include "qcash/points/v1/test_clock.grpc.pb.h"
#include "qcash/wallet/v1/test_clock.grpc.pb.h"
#endif

namespace qcash::testing {
namespace {

namespace wpb = ::qcash::wallet::v1;
using google::protobuf::FieldDescriptor;
using google::protobuf::ServiceDescriptor;

struct Service {
  const AccessTable* table;
  const ServiceDescriptor* descriptor;
};

std::vector<Service> Services() {
  std::vector<Service> services = {
      {&wallet::AccessPolicy(),
       wpb::CreditRequest::descriptor()->file()->FindServiceByName("WalletService")},
      {&points::AccessPolicy(),
       points::v1::ConvertPointsRequest::descriptor()->file()->FindServiceByName("PointsService")},
      {&payment::AccessPolicy(),
       payment::v1::CreateChargeOrderRequest::descriptor()->file()->FindServiceByName(
           "PaymentService")},
  };
#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
  services.push_back(
      {&points::TestClockAccessPolicy(),
       points::v1::SetTimeRequest::descriptor()->file()->FindServiceByName("PointsTestClock")});
  services.push_back(
      {&wallet::TestClockAccessPolicy(),
       wpb::SetTimeRequest::descriptor()->file()->FindServiceByName("WalletTestClock")});
#endif
  return services;
}

std::string FullName(const google::protobuf::MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

const google::protobuf::MethodDescriptor* MethodNamed(const ServiceDescriptor& service,
                                                      absl::string_view full_name) {
  for (int i = 0; i < service.method_count(); ++i) {
    if (FullName(*service.method(i)) == full_name) return service.method(i);
  }
  return nullptr;
}

TEST(AccessTableTest, EveryMethodOfEveryServiceIsInItsTableAndNothingElse) {
  for (const Service& s : Services()) {
    ASSERT_NE(s.descriptor, nullptr);
    std::set<std::string> in_table;
    for (const MethodRule& rule : s.table->methods) {
      EXPECT_TRUE(in_table.insert(std::string(rule.method)).second) << rule.method << " twice";
      EXPECT_NE(MethodNamed(*s.descriptor, rule.method), nullptr)
          << rule.method << " is not a method of " << s.descriptor->full_name();
    }
    for (int i = 0; i < s.descriptor->method_count(); ++i) {
      EXPECT_EQ(in_table.count(FullName(*s.descriptor->method(i))), 1u)
          << FullName(*s.descriptor->method(i)) << " is missing from its table";
    }
  }
}

TEST(AccessTableTest, WhatTheInterceptorReadsFromARequestIsThere) {
  for (const Service& s : Services()) {
    for (const MethodRule& rule : s.table->methods) {
      const auto* method = MethodNamed(*s.descriptor, rule.method);
      ASSERT_NE(method, nullptr) << rule.method;
      const google::protobuf::Descriptor* request = method->input_type();
      if (rule.scoped == SellerScoped::kRequestSeller) {
        const FieldDescriptor* seller = request->FindFieldByName("seller_id");
        ASSERT_NE(seller, nullptr) << rule.method;
        EXPECT_EQ(seller->type(), FieldDescriptor::TYPE_STRING) << rule.method;
        EXPECT_FALSE(seller->is_repeated()) << rule.method;
      }
      if (!rule.by_field.empty()) {
        const FieldDescriptor* field = request->FindFieldByName(std::string(rule.by_field));
        ASSERT_NE(field, nullptr) << rule.method << " " << rule.by_field;
        ASSERT_EQ(field->type(), FieldDescriptor::TYPE_ENUM) << rule.method;
        EXPECT_NE(field->enum_type()->FindValueByNumber(rule.by_value), nullptr) << rule.method;
      }
    }
  }
  EXPECT_EQ(wallet::kCreditSourcePointsConversion, wpb::CREDIT_SOURCE_POINTS_CONVERSION);
}

// A request of `method` with `seller_id` set where it has one.
std::unique_ptr<google::protobuf::Message> RequestOf(const ServiceDescriptor& service,
                                                     absl::string_view method,
                                                     const std::string& seller_id) {
  const auto* m = MethodNamed(service, method);
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(m->input_type());
  std::unique_ptr<google::protobuf::Message> request(prototype->New());
  const FieldDescriptor* field = request->GetDescriptor()->FindFieldByName("seller_id");
  if (field != nullptr) request->GetReflection()->SetString(request.get(), field, seller_id);
  return request;
}

// Tokens are not checked: this is about the table's grants.
const SellerScope kUnenforcedScope(nullptr);

TEST(DecideCallTest, EachMethodNeedsItsPermission) {
  for (const Service& s : Services()) {
    AuthorizationOptions options;
    options.tables = {s.table};
    options.seller_scope = &kUnenforcedScope;
    std::vector<std::string> callers = {"nobody", ""};
    for (const Grant& grant : s.table->grants) callers.emplace_back(grant.caller);
    for (const MethodRule& rule : s.table->methods) {
      auto request = RequestOf(*s.descriptor, rule.method, "S1");
      for (const std::string& caller : callers) {
        bool holds = false;
        for (const Grant& grant : s.table->grants) {
          if (grant.caller == caller) holds = (grant.permissions & (1u << rule.permission)) != 0;
        }
        const auto decided = DecideCall(options, rule.method, caller, nullptr, request.get());
        EXPECT_EQ(decided.ok(), holds) << rule.method << " by '" << caller << "'";
        if (decided.ok()) {
          EXPECT_EQ(*decided, caller);
        } else {
          EXPECT_EQ(decided.status().code(), absl::StatusCode::kPermissionDenied);
          EXPECT_EQ(ReasonOf(decided.status()), "CALLER_NOT_ALLOWED");
        }
      }
    }
  }
}

TEST(DecideCallTest, CreditNeedsThePermissionOfItsSource) {
  AuthorizationOptions options;
  options.tables = {&wallet::AccessPolicy()};
  options.seller_scope = &kUnenforcedScope;
  const std::string credit = "/qcash.wallet.v1.WalletService/Credit";
  wpb::CreditRequest request;
  request.set_seller_id("S1");
  for (const auto source : {wpb::CREDIT_SOURCE_CHARGE, wpb::CREDIT_SOURCE_UNSPECIFIED}) {
    request.set_source(source);
    EXPECT_TRUE(DecideCall(options, credit, std::string("payment"), nullptr, &request).ok());
    EXPECT_EQ(
        ReasonOf(DecideCall(options, credit, std::string("points"), nullptr, &request).status()),
        "CALLER_NOT_ALLOWED");
  }
  request.set_source(wpb::CREDIT_SOURCE_POINTS_CONVERSION);
  EXPECT_TRUE(DecideCall(options, credit, std::string("points"), nullptr, &request).ok());
  EXPECT_EQ(
      ReasonOf(DecideCall(options, credit, std::string("payment"), nullptr, &request).status()),
      "CALLER_NOT_ALLOWED");
}

TEST(DecideCallTest, UnknownMethodsAndUnknownCallersAreRefused) {
  AuthorizationOptions options;
  options.tables = {&wallet::AccessPolicy()};
  options.seller_scope = &kUnenforcedScope;
  options.open_prefixes = {"/grpc.health.v1.Health/"};
  wpb::GetBalanceRequest request;
  for (const char* method : {"/qcash.wallet.v1.WalletService/Mint", "/qcash.wallet.v1.Other/Spend",
                             "", "/qcash.payment.v1.PaymentService/RetryCredit"}) {
    const auto decided = DecideCall(options, method, std::string("ops"), nullptr, &request);
    EXPECT_EQ(decided.status().code(), absl::StatusCode::kPermissionDenied) << method;
    EXPECT_EQ(ReasonOf(decided.status()), "CALLER_NOT_ALLOWED") << method;
  }
  const absl::StatusOr<std::string> anonymous =
      Unauthenticated(common::v1::NO_CALLER_IDENTITY, "the caller's identity is unknown");
  const auto decided = DecideCall(options, "/qcash.wallet.v1.WalletService/GetBalance", anonymous,
                                  nullptr, &request);
  EXPECT_EQ(decided.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(decided.status()), "NO_CALLER_IDENTITY");
  // The health service is open to anyone (the interceptor guards Qcash's methods only).
  EXPECT_TRUE(
      DecideCall(options, "/grpc.health.v1.Health/Check", anonymous, nullptr, nullptr).ok());
}

class SellerScopeDecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto [private_pem, public_pem] = NewEcKeyPair();
    private_pem_ = private_pem;
    SellerTokenConfig config;
    config.public_key_pem = public_pem;
    config.issuer = "qoo10-login";
    config.audience = "qcash-gateway";
    scope_ = std::make_unique<SellerScope>(std::make_unique<SellerTokenVerifier>(config));
    options_.tables = {&wallet::AccessPolicy()};
    options_.seller_scope = scope_.get();
  }

  std::string TokenFor(const std::string& seller_id) {
    auto token = IssueSellerToken(private_pem_, "qoo10-login", "qcash-gateway", seller_id,
                                  absl::Now(), absl::Minutes(5));
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  std::string Reason(const std::string& caller, const std::string* token) {
    wpb::GetBalanceRequest request;
    request.set_seller_id("S1");
    absl::string_view view;
    if (token != nullptr) view = *token;
    return ReasonOf(DecideCall(options_, "/qcash.wallet.v1.WalletService/GetBalance", caller,
                               token == nullptr ? nullptr : &view, &request)
                        .status());
  }

  std::string private_pem_;
  std::unique_ptr<SellerScope> scope_;
  AuthorizationOptions options_;
};

TEST_F(SellerScopeDecisionTest, TheGatewayActsOnlyForTheSellerOfItsToken) {
  const std::string mine = TokenFor("S1");
  const std::string theirs = TokenFor("S2");
  const std::string garbage = "not-a-token";
  EXPECT_EQ(Reason("gateway", &mine), "");
  EXPECT_EQ(Reason("gateway", nullptr), "SELLER_TOKEN_MISSING");
  EXPECT_EQ(Reason("gateway", &theirs), "SELLER_MISMATCH");
  EXPECT_EQ(Reason("gateway", &garbage), "SELLER_TOKEN_INVALID");
  // Services act for themselves: no token needed.
  EXPECT_EQ(Reason("payment", nullptr), "");
}

TEST_F(SellerScopeDecisionTest, WithoutAScopeSellerMethodsAreRefused) {
  options_.seller_scope = nullptr;
  EXPECT_EQ(Reason("payment", nullptr), "CALLER_NOT_ALLOWED");
  // A method that acts for no seller does not need one.
  wpb::ReleaseExpiredHoldsRequest request;
  EXPECT_TRUE(DecideCall(options_, "/qcash.wallet.v1.WalletService/ReleaseExpiredHolds",
                         std::string("ops"), nullptr, &request)
                  .ok());
}

// A wallet whose GetBalance never asks for the admitted caller (as a forgetful handler would),
// and whose OpenWallet runs its work only through RunAdmitted.
class ForgetfulWallet final : public wpb::WalletService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetBalance(grpc::CallbackServerContext* context,
                                       const wpb::GetBalanceRequest* request,
                                       wpb::GetBalanceResponse* response) override {
    response->mutable_balance()->set_available_yen(1'000'000);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* OpenWallet(grpc::CallbackServerContext* context,
                                       const wpb::OpenWalletRequest* request,
                                       wpb::OpenWalletResponse* response) override {
    return RunAdmitted(context, &pool_, "wallet.qcash",
                       [this, response](const std::string& caller) -> absl::Status {
                         ++work_runs;
                         response->mutable_result()->mutable_balance()->set_seller_id(caller);
                         return absl::OkStatus();
                       });
  }

  std::atomic<int> work_runs{0};

 private:
  ThreadPool pool_{1, 16};
};

// A server of ForgetfulWallet behind the authorization interceptor, with `table`.
class InterceptedServer {
 public:
  InterceptedServer(const AccessTable* table, bool insecure_dev) {
    AuthorizationOptions options;
    options.tables = {table};
    options.insecure_dev = insecure_dev;
    options.seller_scope = &kUnenforcedScope;
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&wallet_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(MakeAuthorizationInterceptorFactory(std::move(options)));
    builder.experimental().SetInterceptorCreators(std::move(factories));
    server_ = builder.BuildAndStart();
    address_ = absl::StrCat("127.0.0.1:", port);
    stub_ = wpb::WalletService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  ~InterceptedServer() { server_->Shutdown(); }

  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (wpb::WalletService::Stub::*method)(grpc::ClientContext*,
                                                                     const Request&, Response*),
                    const std::string& caller, Response* response) {
    grpc::ClientContext context;
    context.AddMetadata("x-qcash-caller", caller);
    Request request;
    request.set_seller_id("S1");
    return (stub_.get()->*method)(&context, request, response);
  }

  ForgetfulWallet wallet_;
  std::string address_;

 private:
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<wpb::WalletService::Stub> stub_;
};

std::string WireReason(const grpc::Status& status) { return ReasonOf(FromGrpcStatus(status)); }

// The wallet's table without GetBalance.
const MethodRule kWithoutGetBalance[] = {
    {"/qcash.wallet.v1.WalletService/OpenWallet", 1, SellerScoped::kRequestSeller},
};
absl::string_view Named(int) { return "do that"; }
const Grant kOpsOpens[] = {{"ops", 1u << 1}};
const AccessTable kIncompleteTable{"wallet.qcash", kOpsOpens, kWithoutGetBalance, Named};

#if defined(QCASH_DEVELOPMENT_BUILD) && QCASH_DEVELOPMENT_BUILD
TEST(InterceptorTest, AMethodMissingFromTheTableIsRefusedWhateverItsHandlerAnswers) {
  InterceptedServer server(&kIncompleteTable, /*insecure_dev=*/true);
  wpb::GetBalanceResponse response;
  const grpc::Status status = server.Call(&wpb::WalletService::Stub::GetBalance, "ops", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_EQ(WireReason(status), "CALLER_NOT_ALLOWED");
  EXPECT_FALSE(response.has_balance());  // the forgetful handler's answer is not sent
}

// A method the server does not serve at all stays UNIMPLEMENTED (as gRPC answers it).
TEST(InterceptorTest, AMethodTheServerDoesNotServeStaysUnimplemented) {
  InterceptedServer server(&wallet::AccessPolicy(), /*insecure_dev=*/true);
  auto stub = payment::v1::PaymentService::NewStub(
      grpc::CreateChannel(server.address_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("x-qcash-caller", "ops");
  payment::v1::ListStuckOrdersResponse response;
  const grpc::Status status =
      stub->ListStuckOrders(&context, payment::v1::ListStuckOrdersRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
}

TEST(InterceptorTest, HandlersGetTheAdmittedCallerAndRefusedCallsDoNoWork) {
  InterceptedServer server(&wallet::AccessPolicy(), /*insecure_dev=*/true);
  wpb::OpenWalletResponse response;
  grpc::Status status = server.Call(&wpb::WalletService::Stub::OpenWallet, "settlement", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.result().balance().seller_id(), "settlement");
  EXPECT_EQ(server.wallet_.work_runs.load(), 1);

  status = server.Call(&wpb::WalletService::Stub::OpenWallet, "adbooking", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(WireReason(status), "CALLER_NOT_ALLOWED");
  EXPECT_EQ(server.wallet_.work_runs.load(), 1);
}
#endif

// Fail closed (DESIGN.md section 7): what a caller says about itself names nobody, unless the
// transport was chosen plaintext for development, and never in a release build.
TEST(InterceptorTest, TheDevelopmentIdentityCountsOnlyInDevelopmentMode) {
  {
    InterceptedServer server(&wallet::AccessPolicy(), /*insecure_dev=*/false);
    wpb::OpenWalletResponse response;
    const grpc::Status status =
        server.Call(&wpb::WalletService::Stub::OpenWallet, "settlement", &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    EXPECT_EQ(WireReason(status), "NO_CALLER_IDENTITY");
    EXPECT_EQ(server.wallet_.work_runs.load(), 0);
  }
  {
    InterceptedServer server(&wallet::AccessPolicy(), /*insecure_dev=*/true);
    wpb::OpenWalletResponse response;
    const grpc::Status status =
        server.Call(&wpb::WalletService::Stub::OpenWallet, "settlement", &response);
    if (kDevelopmentBuild) {
      EXPECT_TRUE(status.ok()) << status.error_message();
    } else {
      // A release build has no code that reads x-qcash-caller.
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      EXPECT_EQ(WireReason(status), "NO_CALLER_IDENTITY");
    }
  }
}

}  // namespace
}  // namespace qcash::testing
