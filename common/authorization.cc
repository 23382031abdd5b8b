#include "common/authorization.h"

#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/mutex.h"
#include "common/server.h"
#include "common/status.h"

namespace qcash {
namespace {

using google::protobuf::FieldDescriptor;

// What the interceptor decided on one call: the caller's identity and the verdict.
struct Decision {
  absl::StatusOr<std::string> identity;
  absl::Status verdict;
};

// The decisions of the calls in flight, by their context, so that a handler can ask for its
// own (a server interceptor cannot hand anything to the handler directly). An entry lives from
// the decision until the call's interceptor is destroyed with the call.
class Decisions {
 public:
  static Decisions& Get() {
    static auto* const decisions = new Decisions();
    return *decisions;
  }

  void Put(const grpc::ServerContextBase* context, const void* owner, Decision decision) {
    MutexLock lock(&mu_);
    // A context's address is only reused once its call is over: any entry there is stale.
    calls_.insert_or_assign(context, Entry{owner, std::move(decision)});
  }

  void Remove(const grpc::ServerContextBase* context, const void* owner) {
    MutexLock lock(&mu_);
    auto it = calls_.find(context);
    if (it != calls_.end() && it->second.owner == owner) calls_.erase(it);
  }

  // A copy: the entry may go once the lock is released.
  std::optional<Decision> Find(const grpc::ServerContextBase* context) {
    MutexLock lock(&mu_);
    auto it = calls_.find(context);
    if (it == calls_.end()) return std::nullopt;
    return it->second.decision;
  }

 private:
  struct Entry {
    const void* owner;
    Decision decision;
  };
  Mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*, Entry> calls_ ABSL_GUARDED_BY(mu_);
};

absl::Status UnknownMethod(absl::string_view method) {
  return PermissionDenied(common::v1::CALLER_NOT_ALLOWED,
                          absl::StrCat("method ", method, " is in no authorization table"));
}

// The string field `seller_id` of `request`; null when it has none.
const FieldDescriptor* SellerField(const google::protobuf::Message& request) {
  const FieldDescriptor* field = request.GetDescriptor()->FindFieldByName("seller_id");
  if (field == nullptr || field->type() != FieldDescriptor::TYPE_STRING || field->is_repeated()) {
    return nullptr;
  }
  return field;
}

// The permission `rule` asks of this request.
int PermissionFor(const MethodRule& rule, const google::protobuf::Message* request) {
  if (rule.by_field.empty() || request == nullptr) return rule.permission;
  const FieldDescriptor* field =
      request->GetDescriptor()->FindFieldByName(std::string(rule.by_field));
  if (field == nullptr || field->type() != FieldDescriptor::TYPE_ENUM || field->is_repeated()) {
    return rule.permission;  // the table test proves that this does not happen
  }
  return request->GetReflection()->GetEnumValue(*request, field) == rule.by_value
             ? rule.by_permission
             : rule.permission;
}

class AuthorizationInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthorizationInterceptor(grpc::experimental::ServerRpcInfo* info,
                           const AuthorizationOptions* options)
      : info_(info), options_(options) {}
  ~AuthorizationInterceptor() override { Decisions::Get().Remove(info_->server_context(), this); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    // A unary call's metadata and message arrive together; a stream's first batch has no
    // message, and its decision is taken without one.
    const bool message =
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE);
    if (!decided_ && (message || (methods->QueryInterceptionHookPoint(
                                      InterceptionHookPoints::POST_RECV_INITIAL_METADATA) &&
                                  !ExpectsMessage()))) {
      Decide(message ? static_cast<const google::protobuf::Message*>(methods->GetRecvMessage())
                     : nullptr);
    }
    // Whatever the handler answered, a refused call answers its refusal, and nothing of what
    // the handler would have sent: an empty message in place of its response.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE) &&
        !refusal_.ok()) {
      const auto* sent = static_cast<const google::protobuf::Message*>(methods->GetSendMessage());
      if (sent != nullptr) {
        empty_response_.reset(sent->New());
        methods->ModifySendMessage(empty_response_.get());
      }
    }
    // Except that a method no table names keeps gRPC's UNIMPLEMENTED when the server does not
    // serve it at all: nothing ran, nothing is sent, and the truth tells the caller no more.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        !refusal_.ok() &&
        !(unknown_method_ &&
          methods->GetSendStatus().error_code() == grpc::StatusCode::UNIMPLEMENTED)) {
      methods->ModifySendStatus(refusal_);
    }
    methods->Proceed();
  }

 private:
  bool ExpectsMessage() const {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    return info_->type() == Type::UNARY || info_->type() == Type::SERVER_STREAMING;
  }

  void Decide(const google::protobuf::Message* request) {
    decided_ = true;
    const grpc::ServerContextBase& context = *info_->server_context();
    const std::string method = info_->method();
    Decision decision;
    decision.identity = CallerIdentity(context, options_->insecure_dev);
    const auto& metadata = context.client_metadata();
    auto it = metadata.find(kSellerTokenMetadata);
    absl::string_view token;
    if (it != metadata.end()) token = absl::string_view(it->second.data(), it->second.size());
    auto admitted = DecideCall(*options_, method, decision.identity,
                               it == metadata.end() ? nullptr : &token, request);
    decision.verdict = admitted.status();
    unknown_method_ = DomainOf(method).empty();
    if (!admitted.ok()) refusal_ = ToGrpcStatus(admitted.status(), ErrorDomain(method));
    Decisions::Get().Put(&context, this, std::move(decision));
  }

  // The domain of the table that names `method`; empty when none does.
  absl::string_view DomainOf(absl::string_view method) const {
    for (const AccessTable* table : options_->tables) {
      if (FindMethodRule(*table, method) != nullptr) return table->error_domain;
    }
    return {};
  }

  absl::string_view ErrorDomain(absl::string_view method) const {
    const absl::string_view domain = DomainOf(method);
    if (!domain.empty()) return domain;
    return options_->tables.empty() ? absl::string_view("qcash")
                                    : options_->tables.front()->error_domain;
  }

  grpc::experimental::ServerRpcInfo* const info_;
  const AuthorizationOptions* const options_;
  bool decided_ = false;
  bool unknown_method_ = false;                                // no table names the method
  grpc::Status refusal_;                                       // OK unless the call was refused
  std::unique_ptr<google::protobuf::Message> empty_response_;  // sent in place of a refused
                                                               // call's response
};

class AuthorizationInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthorizationInterceptorFactory(AuthorizationOptions options)
      : options_(std::move(options)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AuthorizationInterceptor(info, &options_);
  }

 private:
  const AuthorizationOptions options_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeAuthorizationInterceptorFactory(AuthorizationOptions options) {
  return std::make_unique<AuthorizationInterceptorFactory>(std::move(options));
}

absl::StatusOr<std::string> DecideCall(const AuthorizationOptions& options,
                                       absl::string_view method,
                                       const absl::StatusOr<std::string>& identity,
                                       const absl::string_view* seller_token,
                                       const google::protobuf::Message* request) {
  for (const std::string& prefix : options.open_prefixes) {
    if (absl::StartsWith(method, prefix)) {
      return identity.ok() ? *identity : std::string("unauthenticated");
    }
  }
  const AccessTable* table = nullptr;
  const MethodRule* rule = nullptr;
  for (const AccessTable* t : options.tables) {
    rule = FindMethodRule(*t, method);
    if (rule != nullptr) {
      table = t;
      break;
    }
  }
  // The order of today's checks, so that each refusal keeps its code: who calls, whether the
  // method exists for it, whether it may, whether it acts for the seller it names.
  if (!identity.ok()) return identity.status();
  if (rule == nullptr) return UnknownMethod(method);
  if (absl::Status allowed = AuthorizeCaller(*table, *identity, PermissionFor(*rule, request));
      !allowed.ok()) {
    return allowed;
  }
  if (rule->scoped == SellerScoped::kRequestSeller) {
    const FieldDescriptor* field = request == nullptr ? nullptr : SellerField(*request);
    if (field == nullptr || options.seller_scope == nullptr) {
      // Fail closed: the table says the call acts for a seller, and that cannot be checked.
      return PermissionDenied(common::v1::CALLER_NOT_ALLOWED,
                              absl::StrCat("method ", method, ": its seller cannot be checked"));
    }
    const std::string seller_id = request->GetReflection()->GetString(*request, field);
    if (absl::Status scoped = options.seller_scope->Check(*identity, seller_id, seller_token);
        !scoped.ok()) {
      return scoped;
    }
  }
  return *identity;
}

absl::StatusOr<std::string> AdmittedCaller(const grpc::ServerContextBase& context) {
  std::optional<Decision> decision = Decisions::Get().Find(&context);
  if (!decision.has_value()) {
    return PermissionDenied(common::v1::CALLER_NOT_ALLOWED,
                            "no authorization decision for this call (fail closed)");
  }
  if (!decision->verdict.ok()) return decision->verdict;
  return decision->identity;
}

std::string CallerForLogs(const grpc::ServerContextBase& context) {
  std::optional<Decision> decision = Decisions::Get().Find(&context);
  if (!decision.has_value() || !decision->identity.ok()) return "unauthenticated";
  return *decision->identity;
}

}  // namespace qcash
