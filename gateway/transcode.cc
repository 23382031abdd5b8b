#include "gateway/transcode.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/status.h"

namespace qcash::gateway {
namespace {

using google::protobuf::FieldDescriptor;

absl::Status ParseJson(const std::string& json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) {
    return InvalidArgument("MALFORMED_JSON",
                           absl::StrCat("the request does not match ",
                                        message->GetDescriptor()->full_name(), ": ",
                                        std::string(status.message())));
  }
  return absl::OkStatus();
}

const FieldDescriptor* FindField(const google::protobuf::Descriptor* d, const std::string& name) {
  const FieldDescriptor* f = d->FindFieldByName(name);
  for (int i = 0; f == nullptr && i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == name) f = d->field(i);
  }
  return f;
}

// One query value as a JSON value of the field's type (the JSON parser then checks it).
absl::StatusOr<std::string> QueryValueToJson(const FieldDescriptor* field,
                                             const std::string& value) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      if (value == "true" || value == "false") return value;
      return InvalidArgument("INVALID_PARAMETER",
                             absl::StrCat(field->json_name(), " must be true or false"));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return JsonQuote(value);  // google.protobuf.Timestamp: RFC 3339
    default:
      // Strings, enums (by name) and numbers (proto3 JSON accepts them quoted).
      return JsonQuote(value);
  }
}

// The query string as a JSON object. A key names a field by its proto or JSON name, or a
// field of a nested message with dots (grpc-gateway's convention): `period.month.year=2026`.
// Repeated scalar fields take the key more than once.
class QueryObject {
 public:
  absl::Status Add(const google::protobuf::Descriptor* d, const std::string& key,
                   const std::string& value) {
    Node* node = &root_;
    const google::protobuf::Descriptor* at = d;
    const FieldDescriptor* field = nullptr;
    for (absl::string_view part : absl::StrSplit(key, '.')) {
      if (at == nullptr) {
        return InvalidArgument("UNKNOWN_PARAMETER", absl::StrCat("unknown parameter ", key));
      }
      field = FindField(at, std::string(part));
      if (field == nullptr) {
        return InvalidArgument("UNKNOWN_PARAMETER", absl::StrCat("unknown parameter ", key));
      }
      node = &node->children[field->json_name()];
      node->field = field;
      const bool nested = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                          field->message_type()->full_name() != "google.protobuf.Timestamp" &&
                          !field->is_repeated();
      at = nested ? field->message_type() : nullptr;
    }
    if (at != nullptr) {
      return InvalidArgument("INVALID_PARAMETER",
                             absl::StrCat(key, " is a group of fields; name one of them"));
    }
    auto json = QueryValueToJson(field, value);
    if (!json.ok()) return json.status();
    if (!field->is_repeated() && !node->values.empty()) {
      return InvalidArgument("INVALID_PARAMETER", absl::StrCat(key, " is given more than once"));
    }
    node->values.push_back(*json);
    return absl::OkStatus();
  }

  std::string Json() const { return Render(root_); }

 private:
  struct Node {
    const FieldDescriptor* field = nullptr;
    std::map<std::string, Node> children;
    std::vector<std::string> values;
  };

  static std::string Render(const Node& node) {
    if (node.children.empty() && node.field != nullptr) {
      if (!node.field->is_repeated()) return node.values.empty() ? "null" : node.values[0];
      std::string array = "[";
      for (size_t i = 0; i < node.values.size(); ++i) {
        absl::StrAppend(&array, i ? "," : "", node.values[i]);
      }
      return array + "]";
    }
    std::string object = "{";
    for (const auto& [name, child] : node.children) {
      absl::StrAppend(&object, object.size() > 1 ? "," : "", JsonQuote(name), ":", Render(child));
    }
    return object + "}";
  }

  Node root_;
};

absl::Status FillFromQuery(const std::multimap<std::string, std::string>& query,
                           google::protobuf::Message* message) {
  QueryObject object;
  for (const auto& [key, value] : query) {
    if (!IsValidUtf8(key) || !IsValidUtf8(value)) {
      return InvalidArgument("INVALID_UTF8", "query parameters must be UTF-8");
    }
    if (absl::Status s = object.Add(message->GetDescriptor(), key, value); !s.ok()) return s;
  }
  return ParseJson(object.Json(), message);
}

absl::Status SetString(google::protobuf::Message* message, const FieldDescriptor* field,
                       const std::string& value) {
  const auto* reflection = message->GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      reflection->SetString(message, field, value);
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(value, &v)) {
        return InvalidArgument("INVALID_PARAMETER",
                               absl::StrCat(field->json_name(), " must be an integer"));
      }
      reflection->SetInt64(message, field, v);
      return absl::OkStatus();
    }
    default:
      return Internal("ROUTE_MISCONFIGURED",
                      absl::StrCat("path parameter ", field->name(), " has an unsupported type"));
  }
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    }
    if (n == 2 && c < 0xC2) return false;  // overlong
    i += n;
  }
  return true;
}

std::unique_ptr<google::protobuf::Message> NewMessage(
    const google::protobuf::Descriptor* descriptor) {
  return std::unique_ptr<google::protobuf::Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequest(
    const Route& route, const HttpInput& input, const std::string& seller_id) {
  std::unique_ptr<google::protobuf::Message> message = NewMessage(route.request);
  if (input.method == "GET") {
    if (absl::Status s = FillFromQuery(input.query, message.get()); !s.ok()) return s;
  } else {
    if (!input.query.empty()) {
      return InvalidArgument("UNKNOWN_PARAMETER", "this endpoint takes a JSON body, not a query");
    }
    if (!IsValidUtf8(input.body)) {
      return InvalidArgument("INVALID_UTF8", "the request body must be UTF-8 JSON");
    }
    const std::string body = input.body.empty() ? "{}" : input.body;
    if (absl::Status s = ParseJson(body, message.get()); !s.ok()) return s;
  }
  const google::protobuf::Descriptor* d = route.request;
  const auto* reflection = message->GetReflection();
  for (const auto& [name, value] : input.path_params) {
    const FieldDescriptor* field = d->FindFieldByName(name);
    if (field == nullptr) {
      return Internal("ROUTE_MISCONFIGURED", absl::StrCat("no field for {", name, "}"));
    }
    if (reflection->HasField(*message, field) &&
        reflection->GetString(*message, field) != value) {
      return InvalidArgument("INVALID_PARAMETER",
                             absl::StrCat(name, " differs between the path and the body"));
    }
    if (absl::Status s = SetString(message.get(), field, value); !s.ok()) return s;
  }
  if (const FieldDescriptor* seller = d->FindFieldByName("seller_id")) {
    if (!reflection->GetString(*message, seller).empty()) {
      return InvalidArgument("SELLER_ID_FROM_TOKEN",
                             "the seller is the one in your token; do not send seller_id");
    }
    reflection->SetString(message.get(), seller, seller_id);
  }
  if (const FieldDescriptor* key = d->FindFieldByName("idempotency_key")) {
    if (!input.idempotency_key.empty()) {
      const std::string in_body = reflection->GetString(*message, key);
      if (!in_body.empty() && in_body != input.idempotency_key) {
        return InvalidArgument("IDEMPOTENCY_KEY_MISMATCH",
                               "the Idempotency-Key header and the body's idempotencyKey differ");
      }
      reflection->SetString(message.get(), key, input.idempotency_key);
    }
  }
  return message;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace qcash::gateway
