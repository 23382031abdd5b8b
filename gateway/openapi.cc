#include "gateway/openapi.h"

#include <functional>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "qcash/common/v1/error_reason.pb.h"
#include "qcash/gateway/v1/error_reason.pb.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// A JSON value built in insertion order, so the output is the same on every run.
class Json {
 public:
  static Json Object() { return Json(Kind::kObject); }
  static Json Array() { return Json(Kind::kArray); }
  static Json String(const std::string& s) {
    Json j(Kind::kRaw);
    j.raw_ = JsonQuote(s);
    return j;
  }
  static Json Bool(bool b) {
    Json j(Kind::kRaw);
    j.raw_ = b ? "true" : "false";
    return j;
  }

  Json& Set(const std::string& key, Json value) {
    for (auto& [k, v] : members_) {
      if (k == key) {
        v = std::move(value);
        return *this;
      }
    }
    members_.emplace_back(key, std::move(value));
    return *this;
  }
  Json& Set(const std::string& key, const std::string& value) { return Set(key, String(value)); }
  Json& Set(const std::string& key, const char* value) { return Set(key, String(value)); }
  Json& Push(Json value) {
    items_.push_back(std::move(value));
    return *this;
  }
  // The member `key`, created as an object if absent.
  Json& At(const std::string& key) {
    for (auto& [k, v] : members_) {
      if (k == key) return v;
    }
    members_.emplace_back(key, Object());
    return members_.back().second;
  }

  void Write(std::string* out, int indent) const {
    const std::string pad(indent + 2, ' ');
    switch (kind_) {
      case Kind::kRaw:
        *out += raw_;
        return;
      case Kind::kObject:
        if (members_.empty()) {
          *out += "{}";
          return;
        }
        *out += "{\n";
        for (size_t i = 0; i < members_.size(); ++i) {
          absl::StrAppend(out, pad, JsonQuote(members_[i].first), ": ");
          members_[i].second.Write(out, indent + 2);
          *out += i + 1 < members_.size() ? ",\n" : "\n";
        }
        absl::StrAppend(out, std::string(indent, ' '), "}");
        return;
      case Kind::kArray:
        if (items_.empty()) {
          *out += "[]";
          return;
        }
        *out += "[\n";
        for (size_t i = 0; i < items_.size(); ++i) {
          *out += pad;
          items_[i].Write(out, indent + 2);
          *out += i + 1 < items_.size() ? ",\n" : "\n";
        }
        absl::StrAppend(out, std::string(indent, ' '), "]");
        return;
    }
  }

 private:
  enum class Kind { kObject, kArray, kRaw };
  explicit Json(Kind kind) : kind_(kind) {}
  Kind kind_;
  std::string raw_;
  std::vector<std::pair<std::string, Json>> members_;
  std::vector<Json> items_;
};

// Fields the client never sends: the seller comes from the token.
bool Hidden(const FieldDescriptor* field) { return field->name() == "seller_id"; }

std::string SchemaName(const Descriptor* d) { return d->full_name(); }

Json Ref(const Descriptor* d) {
  return std::move(Json::Object().Set("$ref", "#/components/schemas/" + SchemaName(d)));
}

class SchemaBuilder {
 public:
  // The schema of one field's value (proto3 JSON mapping); queues message types.
  Json FieldValue(const FieldDescriptor* f) {
    switch (f->type()) {
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
        return std::move(Json::Object().Set("type", "string").Set("format", "int64"));
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        return std::move(Json::Object().Set("type", "string").Set("format", "uint64"));
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        return std::move(Json::Object().Set("type", "integer").Set("format", "int32"));
      case FieldDescriptor::TYPE_DOUBLE:
      case FieldDescriptor::TYPE_FLOAT:
        return std::move(Json::Object().Set("type", "number"));
      case FieldDescriptor::TYPE_BOOL:
        return std::move(Json::Object().Set("type", "boolean"));
      case FieldDescriptor::TYPE_STRING:
        return std::move(Json::Object().Set("type", "string"));
      case FieldDescriptor::TYPE_BYTES:
        return std::move(Json::Object().Set("type", "string").Set("format", "byte"));
      case FieldDescriptor::TYPE_ENUM: {
        Json values = Json::Array();
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          values.Push(Json::String(f->enum_type()->value(i)->name()));
        }
        return std::move(Json::Object().Set("type", "string").Set("enum", std::move(values)));
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
      default: {
        const Descriptor* m = f->message_type();
        if (m->full_name() == "google.protobuf.Timestamp") {
          return std::move(Json::Object().Set("type", "string").Set("format", "date-time"));
        }
        if (m->full_name() == "google.protobuf.Any") {
          return std::move(
              Json::Object().Set("type", "object").Set("additionalProperties", Json::Bool(true)));
        }
        queue_.insert(m);
        return Ref(m);
      }
    }
  }

  Json Field(const FieldDescriptor* f) {
    if (f->is_map()) {
      return std::move(
          Json::Object()
              .Set("type", "object")
              .Set("additionalProperties", FieldValue(f->message_type()->map_value())));
    }
    if (f->is_repeated()) {
      return std::move(Json::Object().Set("type", "array").Set("items", FieldValue(f)));
    }
    return FieldValue(f);
  }

  void Add(const Descriptor* d) { queue_.insert(d); }

  // Every queued message's schema, by name.
  Json Schemas() {
    std::map<std::string, Json> done;
    while (!queue_.empty()) {
      const Descriptor* d = *queue_.begin();
      queue_.erase(queue_.begin());
      if (done.count(SchemaName(d)) != 0) continue;
      Json properties = Json::Object();
      for (int i = 0; i < d->field_count(); ++i) {
        const FieldDescriptor* f = d->field(i);
        if (Hidden(f)) continue;
        properties.Set(f->json_name(), Field(f));
      }
      done.emplace(SchemaName(d), std::move(Json::Object()
                                                .Set("type", "object")
                                                .Set("properties", std::move(properties))
                                                .Set("additionalProperties", Json::Bool(false))));
    }
    Json schemas = Json::Object();
    for (auto& [name, schema] : done) schemas.Set(name, std::move(schema));
    return schemas;
  }

 private:
  struct ByName {
    bool operator()(const Descriptor* a, const Descriptor* b) const {
      return a->full_name() < b->full_name();
    }
  };
  std::set<const Descriptor*, ByName> queue_;
};

Json ErrorResponse(const std::string& description) {
  Json content = Json::Object();
  content.At("application/json")
      .Set("schema",
           std::move(Json::Object().Set("$ref", "#/components/schemas/google.rpc.Status")));
  return std::move(
      Json::Object().Set("description", description).Set("content", std::move(content)));
}

}  // namespace

std::string GenerateOpenApi(const std::vector<Route>& routes) {
  SchemaBuilder schemas;
  schemas.Add(google::rpc::Status::descriptor());
  schemas.Add(google::rpc::ErrorInfo::descriptor());
  Json paths = Json::Object();
  for (const Route& route : routes) {
    Json op = Json::Object();
    op.Set("summary", route.summary);
    op.Set("operationId", route.rpc.substr(route.rpc.rfind('/') + 1));
    op.Set("tags", std::move(Json::Array().Push(Json::String(route.tag))));
    Json parameters = Json::Array();
    std::set<std::string> in_path;
    for (size_t at = route.path.find('{'); at != std::string::npos;
         at = route.path.find('{', at + 1)) {
      const std::string name = route.path.substr(at + 1, route.path.find('}', at) - at - 1);
      in_path.insert(name);
      const FieldDescriptor* f = route.request->FindFieldByName(name);
      parameters.Push(std::move(Json::Object()
                                    .Set("name", name)
                                    .Set("in", "path")
                                    .Set("required", Json::Bool(true))
                                    .Set("schema", schemas.Field(f))));
    }
    if (route.http_method == "GET") {
      // Nested messages are flattened to dotted names (period.month.year), as the gateway
      // reads them.
      std::function<void(const Descriptor*, const std::string&, int)> add_query =
          [&](const Descriptor* d, const std::string& prefix, int depth) {
            for (int i = 0; i < d->field_count(); ++i) {
              const FieldDescriptor* f = d->field(i);
              if (depth == 0 && (Hidden(f) || in_path.count(f->name()) != 0)) continue;
              const bool nested = f->type() == FieldDescriptor::TYPE_MESSAGE && !f->is_repeated() &&
                                  f->message_type()->full_name() != "google.protobuf.Timestamp";
              if (nested && depth < 4) {
                add_query(f->message_type(), prefix + f->json_name() + ".", depth + 1);
                continue;
              }
              parameters.Push(std::move(Json::Object()
                                            .Set("name", prefix + f->json_name())
                                            .Set("in", "query")
                                            .Set("schema", schemas.Field(f))));
            }
          };
      add_query(route.request, "", 0);
    } else {
      if (route.request->FindFieldByName("idempotency_key") != nullptr) {
        parameters.Push(std::move(
            Json::Object()
                .Set("name", "Idempotency-Key")
                .Set("in", "header")
                .Set("description",
                     "Chosen by the client, 1-128 printable ASCII characters; a retry with the "
                     "same key and body returns the first answer, marked as replayed.")
                .Set("schema", std::move(Json::Object().Set("type", "string")))));
      }
      Json content = Json::Object();
      content.At("application/json").Set("schema", Ref(route.request));
      schemas.Add(route.request);
      op.Set(
          "requestBody",
          std::move(
              Json::Object().Set("required", Json::Bool(true)).Set("content", std::move(content))));
      parameters.Push(
          std::move(Json::Object()
                        .Set("name", "X-CSRF-Token")
                        .Set("in", "header")
                        .Set("description", "Required when the token comes by the session cookie.")
                        .Set("schema", std::move(Json::Object().Set("type", "string")))));
    }
    op.Set("parameters", std::move(parameters));
    Json ok_content = Json::Object();
    ok_content.At("application/json").Set("schema", Ref(route.response));
    schemas.Add(route.response);
    Json responses = Json::Object();
    responses.Set(
        "200",
        std::move(Json::Object().Set("description", "OK").Set("content", std::move(ok_content))));
    responses.Set("default",
                  ErrorResponse("An error: google.rpc.Status with a google.rpc.ErrorInfo "
                                "whose reason is a value of the ErrorReason schema of its "
                                "domain (or qcash.common.v1.ErrorReason); the HTTP status "
                                "follows the gRPC code as grpc-gateway maps it."));
    op.Set("responses", std::move(responses));
    std::string method = route.http_method;
    absl::AsciiStrToLower(&method);
    paths.At(route.path).Set(method, std::move(op));
  }

  Json webhook = Json::Object();
  webhook.Set("summary",
              "A payment provider's notification, passed untouched (raw body and signature "
              "headers) to the payment service; 2xx only once it is durably recorded (P7).");
  webhook.Set("operationId", "ProviderWebhook");
  webhook.Set("tags", std::move(Json::Array().Push(Json::String("Webhooks"))));
  webhook.Set("security", Json::Array());
  webhook.Set("parameters",
              std::move(Json::Array().Push(
                  std::move(Json::Object()
                                .Set("name", "provider")
                                .Set("in", "path")
                                .Set("required", Json::Bool(true))
                                .Set("schema", std::move(Json::Object().Set("type", "string")))))));
  Json webhook_responses = Json::Object();
  webhook_responses.Set("200", std::move(Json::Object().Set("description", "Recorded")));
  webhook_responses.Set("default", ErrorResponse("Refused or not recorded; the provider retries."));
  webhook.Set("responses", std::move(webhook_responses));
  paths.At("/webhooks/{provider}").Set("post", std::move(webhook));

  Json doc = Json::Object();
  doc.Set("openapi", "3.0.3");
  doc.Set("info", std::move(Json::Object()
                                .Set("title", "Qcash seller API")
                                .Set("version", "v1")
                                .Set("description",
                                     "Generated from gateway/routes.cc and the protobuf "
                                     "contracts by qcash-openapi; bodies use the proto3 JSON "
                                     "mapping. Do not edit by hand.")));
  doc.Set(
      "security",
      std::move(Json::Array().Push(std::move(Json::Object().Set("sellerToken", Json::Array())))));
  doc.Set("paths", std::move(paths));
  Json components = Json::Object();
  components.Set("securitySchemes",
                 std::move(Json::Object().Set("sellerToken",
                                              std::move(Json::Object()
                                                            .Set("type", "http")
                                                            .Set("scheme", "bearer")
                                                            .Set("bearerFormat", "JWT (ES256)")))));
  Json all = schemas.Schemas();
  // AIP-193: ErrorInfo.reason is the name of an ErrorReason value; one schema per domain, from
  // proto/qcash/*/v1/error_reason.proto (the zero value is never sent, except common's
  // UNSPECIFIED for a failure nobody classified).
  const std::pair<const google::protobuf::EnumDescriptor*, const char*> reasons[] = {
      {common::v1::ErrorReason_descriptor(), "any domain (shared plumbing)"},
      {gateway::v1::ErrorReason_descriptor(), "gateway.qcash"},
      {wallet::v1::ErrorReason_descriptor(), "wallet.qcash"},
      {payment::v1::ErrorReason_descriptor(), "payment.qcash"},
      {points::v1::ErrorReason_descriptor(), "points.qcash"},
  };
  for (const auto& [e, domain] : reasons) {
    Json values = Json::Array();
    for (int i = 0; i < e->value_count(); ++i) {
      if (e->value(i)->number() == 0 && e != reasons[0].first) continue;
      values.Push(Json::String(e->value(i)->name()));
    }
    all.Set(e->full_name(),
            std::move(Json::Object()
                          .Set("type", "string")
                          .Set("description", absl::StrCat("google.rpc.ErrorInfo.reason when "
                                                           "ErrorInfo.domain is ",
                                                           domain))
                          .Set("enum", std::move(values))));
  }
  components.Set("schemas", std::move(all));
  doc.Set("components", std::move(components));
  std::string out;
  doc.Write(&out, 0);
  out += "\n";
  return out;
}

}  // namespace qcash::gateway
