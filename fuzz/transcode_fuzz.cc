// gateway/transcode.h BuildRequest: an HTTP request of a route of the JSON API (query string
// or JSON body, path parameters, Idempotency-Key) into the route's protobuf request. The first
// input byte picks the route; then, one field per line: the Idempotency-Key header, the value of
// the path's `{name}` parameters, the raw query string, and the body (the rest).
// Properties of a built request: `seller_id` is the token's and nobody else's; the path
// parameters and the Idempotency-Key are the fields they fill; the message goes over the wire
// and parses back equal in the upstream service (proto3 strings must be UTF-8: a string the
// service cannot parse is a 500 where a 400 was due); and its JSON, sent back as the body,
// builds the same message. Every refusal is INVALID_ARGUMENT with a documented reason. The
// gateway's UTF-8 check agrees with the Unicode standard's definition.
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/status.h"
#include "fuzz/fuzz_check.h"
#include "gateway/http_server.h"
#include "gateway/routes.h"
#include "gateway/transcode.h"

namespace {

namespace gateway = qcash::gateway;
using google::protobuf::FieldDescriptor;

constexpr char kSeller[] = "seller-fuzz-1";

std::vector<std::string> ParamNames(const std::string& path) {
  std::vector<std::string> names;
  for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
    names.push_back(path.substr(open + 1, path.find('}', open) - open - 1));
  }
  return names;
}

std::string FieldText(const google::protobuf::Message& message, const FieldDescriptor* field) {
  const auto* reflection = message.GetReflection();
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
    return std::to_string(reflection->GetInt64(message, field));
  }
  return reflection->GetString(message, field);
}

bool Equal(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<gateway::Route>& routes = gateway::Routes();
  const gateway::Route& route = routes[data[0] % routes.size()];
  const std::vector<std::string> f = qcash::fuzz::SplitFields(
      absl::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), "\n", 4);
  if (f.size() < 4) return 0;
  FUZZ_CHECK(gateway::IsValidUtf8(f[3]) == qcash::fuzz::IsUtf8Strict(f[3]));

  gateway::HttpInput input;
  input.method = route.http_method;
  input.idempotency_key = f[0];
  for (const std::string& name : ParamNames(route.path)) input.path_params[name] = f[1];
  for (auto& [key, value] : gateway::ParseQuery(f[2])) input.query.emplace(key, value);
  input.body = f[3];

  auto built = gateway::BuildRequest(route, input, kSeller);
  if (!built.ok()) {
    static const std::set<std::string> kReasons = {
        "INVALID_UTF8",         "BODY_MISSING",
        "MALFORMED_JSON",       "DUPLICATE_JSON_KEY",
        "UNKNOWN_PARAMETER",    "INVALID_PARAMETER",
        "SELLER_ID_FROM_TOKEN", "IDEMPOTENCY_KEY_MISMATCH"};
    FUZZ_CHECK(built.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(kReasons.count(qcash::ReasonOf(built.status())) == 1);
    return 0;
  }
  const google::protobuf::Message& message = **built;
  const google::protobuf::Descriptor* d = route.request;
  const auto* reflection = message.GetReflection();
  if (const FieldDescriptor* seller = d->FindFieldByName("seller_id")) {
    FUZZ_CHECK(reflection->GetString(message, seller) == kSeller);
  }
  for (const auto& [name, value] : input.path_params) {
    FUZZ_CHECK(FieldText(message, d->FindFieldByName(name)) == value ||
               d->FindFieldByName(name)->cpp_type() == FieldDescriptor::CPPTYPE_INT64);
  }
  if (const FieldDescriptor* key = d->FindFieldByName("idempotency_key")) {
    if (!input.idempotency_key.empty()) {
      FUZZ_CHECK(reflection->GetString(message, key) == input.idempotency_key);
    }
  }

  // What the upstream service receives parses, and is the same message.
  std::string wire;
  FUZZ_CHECK(message.SerializeToString(&wire));
  std::unique_ptr<google::protobuf::Message> received = gateway::NewMessage(d);
  FUZZ_CHECK(received->ParseFromString(wire));
  FUZZ_CHECK(Equal(*received, message));

  // Its JSON (without the seller, which only the token gives) builds it again.
  if (route.http_method != "GET") {
    std::unique_ptr<google::protobuf::Message> copy(message.New());
    copy->CopyFrom(message);
    if (const FieldDescriptor* seller = d->FindFieldByName("seller_id")) {
      copy->GetReflection()->ClearField(copy.get(), seller);
    }
    gateway::HttpInput again;
    again.method = route.http_method;
    again.path_params = input.path_params;
    again.body = gateway::ToJson(*copy);
    auto rebuilt = gateway::BuildRequest(route, again, kSeller);
    FUZZ_CHECK(rebuilt.ok());
    FUZZ_CHECK(Equal(**rebuilt, message));
  }
  return 0;
}
