#include "gateway/transcode.h"

#include <google/protobuf/util/json_util.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/status.h"
#include "common/text.h"
#include "qcash/gateway/v1/error_reason.pb.h"

namespace qcash::gateway {
namespace {

using google::protobuf::FieldDescriptor;

const FieldDescriptor* FindField(const google::protobuf::Descriptor* d, const std::string& name) {
  const FieldDescriptor* f = d->FindFieldByName(name);
  for (int i = 0; f == nullptr && i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == name) f = d->field(i);
  }
  return f;
}

absl::Status ParseJson(const std::string& json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) {
    // The parser's own text (positions, fragments of the body, type names) is not passed on:
    // it is internal text, and an echo of the caller's input (issue 10).
    return InvalidArgument(gateway::v1::MALFORMED_JSON,
                           "the request body does not match the fields and types of this "
                           "endpoint (see the API description)");
  }
  return absl::OkStatus();
}

// Checks a JSON text before protobuf's parser sees it: strict RFC 8259 syntax, at most
// kJsonDepthMax nested containers, and no object with the same key twice (issue 10: with
// protobuf 3.21 the last of two equal keys wins, so `denomination` given twice charged the
// second value). Two spellings of one field (`seller_id` and `sellerId`, or an escaped key)
// count as the same key: keys are decoded, then mapped to the field of the message at that
// place when there is one.
//
// Why a small scanner and not a second JSON library: protobuf's parser stays the one that
// builds the message; this only needs to walk the structure and compare keys, which is ~150
// lines with a depth bound and no recursion deeper than that bound. It refuses some inputs
// protobuf's lenient parser would take (single quotes, unquoted keys, trailing commas), which is
// intended: those are not JSON.
class JsonKeyChecker {
 public:
  static constexpr int kJsonDepthMax = 32;

  explicit JsonKeyChecker(absl::string_view text) : text_(text) {}

  absl::Status Check(const google::protobuf::Descriptor* root) {
    SkipSpace();
    if (absl::Status s = Value(root, 0); !s.ok()) return s;
    SkipSpace();
    if (at_ != text_.size()) return Malformed();
    return absl::OkStatus();
  }

 private:
  static absl::Status Malformed() {
    return InvalidArgument(gateway::v1::MALFORMED_JSON, "the request body is not valid JSON");
  }

  void SkipSpace() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }

  bool Eat(char c) {
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  // The message type an object at this place has, or nullptr (maps, Struct, scalars).
  static const google::protobuf::Descriptor* MessageOf(const FieldDescriptor* field) {
    if (field == nullptr || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        field->is_map()) {
      return nullptr;
    }
    const google::protobuf::Descriptor* d = field->message_type();
    // Well-known types have JSON forms of their own; their keys are compared as written.
    if (d->file()->package() == "google.protobuf") return nullptr;
    return d;
  }

  absl::Status Value(const google::protobuf::Descriptor* d, int depth) {
    if (at_ >= text_.size()) return Malformed();
    switch (text_[at_]) {
      case '{':
        return Object(d, depth + 1);
      case '[':
        return Array(d, depth + 1);
      case '"': {
        std::string ignored;
        return String(&ignored);
      }
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  absl::Status Object(const google::protobuf::Descriptor* d, int depth) {
    if (depth > kJsonDepthMax) {
      return InvalidArgument(gateway::v1::MALFORMED_JSON, "the request body is nested too deeply");
    }
    ++at_;  // '{'
    absl::flat_hash_set<std::string> seen;
    SkipSpace();
    if (Eat('}')) return absl::OkStatus();
    while (true) {
      SkipSpace();
      if (at_ >= text_.size() || text_[at_] != '"') return Malformed();
      std::string key;
      if (absl::Status s = String(&key); !s.ok()) return s;
      const FieldDescriptor* field = d == nullptr ? nullptr : FindField(d, key);
      const std::string canonical =
          field == nullptr ? absl::StrCat("\"", key) : absl::StrCat("#", field->number());
      if (!seen.insert(canonical).second) {
        return InvalidArgument(gateway::v1::DUPLICATE_JSON_KEY,
                               "a key appears twice in one JSON object; give each field once");
      }
      SkipSpace();
      if (!Eat(':')) return Malformed();
      SkipSpace();
      if (absl::Status s = Value(MessageOf(field), depth); !s.ok()) return s;
      SkipSpace();
      if (Eat('}')) return absl::OkStatus();
      if (!Eat(',')) return Malformed();
    }
  }

  // `element` is the message type of the elements when they are messages.
  absl::Status Array(const google::protobuf::Descriptor* element, int depth) {
    if (depth > kJsonDepthMax) {
      return InvalidArgument(gateway::v1::MALFORMED_JSON, "the request body is nested too deeply");
    }
    ++at_;  // '['
    SkipSpace();
    if (Eat(']')) return absl::OkStatus();
    while (true) {
      SkipSpace();
      if (absl::Status s = Value(element, depth); !s.ok()) return s;
      SkipSpace();
      if (Eat(']')) return absl::OkStatus();
      if (!Eat(',')) return Malformed();
    }
  }

  absl::Status Literal(absl::string_view word) {
    if (text_.substr(at_, word.size()) != word) return Malformed();
    at_ += word.size();
    return absl::OkStatus();
  }

  absl::Status Number() {
    auto digit = [&] { return at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9'; };
    Eat('-');
    if (Eat('0')) {
      // no leading zeros
    } else if (digit()) {
      while (digit()) ++at_;
    } else {
      return Malformed();
    }
    if (Eat('.')) {
      if (!digit()) return Malformed();
      while (digit()) ++at_;
    }
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (!digit()) return Malformed();
      while (digit()) ++at_;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint32_t> Hex4() {
    if (at_ + 4 > text_.size()) return Malformed();
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[at_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        value |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        value |= c - 'A' + 10;
      } else {
        return Malformed();
      }
    }
    return value;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // A string, decoded into `out`. (UTF-8 validity of the raw bytes is checked before.)
  absl::Status String(std::string* out) {
    ++at_;  // '"'
    while (at_ < text_.size()) {
      const char c = text_[at_++];
      if (c == '"') return absl::OkStatus();
      if (static_cast<unsigned char>(c) < 0x20) return Malformed();
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (at_ >= text_.size()) return Malformed();
      const char e = text_[at_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          auto unit = Hex4();
          if (!unit.ok()) return unit.status();
          uint32_t cp = *unit;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return Malformed();  // a lone low surrogate
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!Eat('\\') || !Eat('u')) return Malformed();
            auto low = Hex4();
            if (!low.ok()) return low.status();
            if (*low < 0xDC00 || *low > 0xDFFF) return Malformed();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Malformed();
      }
    }
    return Malformed();  // unterminated
  }

  const absl::string_view text_;
  size_t at_ = 0;
};

// One query value as a JSON value of the field's type (the JSON parser then checks it).
absl::StatusOr<std::string> QueryValueToJson(const FieldDescriptor* field,
                                             const std::string& value) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      if (value == "true" || value == "false") return value;
      return InvalidArgument(gateway::v1::INVALID_PARAMETER,
                             absl::StrCat(field->json_name(), " must be true or false"));
    default:
      // Strings, enums (by name), numbers (proto3 JSON accepts them quoted) and messages
      // (google.protobuf.Timestamp, as RFC 3339).
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
        return InvalidArgument(gateway::v1::UNKNOWN_PARAMETER,
                               absl::StrCat("unknown parameter ", key));
      }
      field = FindField(at, std::string(part));
      if (field == nullptr) {
        return InvalidArgument(gateway::v1::UNKNOWN_PARAMETER,
                               absl::StrCat("unknown parameter ", key));
      }
      node = &node->children[field->json_name()];
      node->field = field;
      const bool nested = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                          field->message_type()->full_name() != "google.protobuf.Timestamp" &&
                          !field->is_repeated();
      at = nested ? field->message_type() : nullptr;
    }
    if (at != nullptr) {
      return InvalidArgument(gateway::v1::INVALID_PARAMETER,
                             absl::StrCat(key, " is a group of fields; name one of them"));
    }
    auto json = QueryValueToJson(field, value);
    if (!json.ok()) return json.status();
    if (!field->is_repeated() && !node->values.empty()) {
      return InvalidArgument(gateway::v1::INVALID_PARAMETER,
                             absl::StrCat(key, " is given more than once"));
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
      return InvalidArgument(gateway::v1::INVALID_UTF8, "query parameters must be UTF-8");
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
        return InvalidArgument(gateway::v1::INVALID_PARAMETER,
                               absl::StrCat(field->json_name(), " must be an integer"));
      }
      reflection->SetInt64(message, field, v);
      return absl::OkStatus();
    }
    default:
      return Internal(gateway::v1::ROUTE_MISCONFIGURED,
                      absl::StrCat("path parameter ", field->name(), " has an unsupported type"));
  }
}

}  // namespace

bool IsValidUtf8(absl::string_view text) { return qcash::IsValidUtf8(text); }

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
      return InvalidArgument(gateway::v1::UNKNOWN_PARAMETER,
                             "this endpoint takes a JSON body, not a query");
    }
    if (!IsValidUtf8(input.body)) {
      return InvalidArgument(gateway::v1::INVALID_UTF8, "the request body must be UTF-8 JSON");
    }
    if (absl::StripAsciiWhitespace(input.body).empty()) {
      return InvalidArgument(gateway::v1::BODY_MISSING,
                             "this endpoint takes a JSON object in the body; send {} for none");
    }
    if (absl::Status s = JsonKeyChecker(input.body).Check(route.request); !s.ok()) return s;
    if (absl::Status s = ParseJson(input.body, message.get()); !s.ok()) return s;
  }
  // Path parameters (percent-decoded) and the header become proto3 strings too, which the
  // service cannot parse unless they are UTF-8 (found by fuzz/transcode_fuzz.cc: a 500 where
  // this 400 was due).
  for (const auto& [name, value] : input.path_params) {
    if (!IsValidUtf8(value)) {
      return InvalidArgument(gateway::v1::INVALID_UTF8, "path parameters must be UTF-8");
    }
  }
  if (!IsValidUtf8(input.idempotency_key)) {
    return InvalidArgument(gateway::v1::INVALID_UTF8, "the Idempotency-Key header must be UTF-8");
  }
  const google::protobuf::Descriptor* d = route.request;
  const auto* reflection = message->GetReflection();
  for (const auto& [name, value] : input.path_params) {
    const FieldDescriptor* field = d->FindFieldByName(name);
    if (field == nullptr) {
      return Internal(gateway::v1::ROUTE_MISCONFIGURED, absl::StrCat("no field for {", name, "}"));
    }
    if (reflection->HasField(*message, field) && reflection->GetString(*message, field) != value) {
      return InvalidArgument(gateway::v1::INVALID_PARAMETER,
                             absl::StrCat(name, " differs between the path and the body"));
    }
    if (absl::Status s = SetString(message.get(), field, value); !s.ok()) return s;
  }
  if (const FieldDescriptor* seller = d->FindFieldByName("seller_id")) {
    if (!reflection->GetString(*message, seller).empty()) {
      return InvalidArgument(gateway::v1::SELLER_ID_FROM_TOKEN,
                             "the seller is the one in your token; do not send seller_id");
    }
    reflection->SetString(message.get(), seller, seller_id);
  }
  if (const FieldDescriptor* key = d->FindFieldByName("idempotency_key")) {
    if (!input.idempotency_key.empty()) {
      const std::string in_body = reflection->GetString(*message, key);
      if (!in_body.empty() && in_body != input.idempotency_key) {
        return InvalidArgument(gateway::v1::IDEMPOTENCY_KEY_MISMATCH,
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
