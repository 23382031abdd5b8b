#include "gateway/transcode.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
      if (field->message_type()->full_name() != "google.protobuf.Timestamp") {
        return InvalidArgument("INVALID_PARAMETER",
                               absl::StrCat(field->json_name(), " cannot be given in a query"));
      }
      return JsonQuote(value);  // RFC 3339
    default:
      // Strings, enums (by name) and numbers (proto3 JSON accepts them quoted).
      return JsonQuote(value);
  }
}

absl::Status FillFromQuery(const std::multimap<std::string, std::string>& query,
                           google::protobuf::Message* message) {
  const google::protobuf::Descriptor* d = message->GetDescriptor();
  std::map<const FieldDescriptor*, std::vector<std::string>> values;
  for (const auto& [key, value] : query) {
    if (!IsValidUtf8(key) || !IsValidUtf8(value)) {
      return InvalidArgument("INVALID_UTF8", "query parameters must be UTF-8");
    }
    const FieldDescriptor* field = FindField(d, key);
    if (field == nullptr) {
      return InvalidArgument("UNKNOWN_PARAMETER", absl::StrCat("unknown parameter ", key));
    }
    auto json = QueryValueToJson(field, value);
    if (!json.ok()) return json.status();
    values[field].push_back(*json);
  }
  std::string object = "{";
  for (const auto& [field, list] : values) {
    if (object.size() > 1) object += ",";
    absl::StrAppend(&object, JsonQuote(field->json_name()), ":");
    if (field->is_repeated()) {
      object += "[";
      for (size_t i = 0; i < list.size(); ++i) absl::StrAppend(&object, i ? "," : "", list[i]);
      object += "]";
    } else {
      if (list.size() > 1) {
        return InvalidArgument("INVALID_PARAMETER",
                               absl::StrCat(field->json_name(), " is given more than once"));
      }
      object += list[0];
    }
  }
  object += "}";
  return ParseJson(object, message);
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
