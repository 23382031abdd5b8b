// HTTP <-> protobuf: builds the request message of a route from an HTTP request, and prints
// responses, with protobuf's own proto3 JSON mapping (never hand-written JSON for messages).
#ifndef QCASH_GATEWAY_TRANSCODE_H_
#define QCASH_GATEWAY_TRANSCODE_H_

#include <google/protobuf/message.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/routes.h"

namespace qcash::gateway {

struct HttpInput {
  std::string method;
  std::map<std::string, std::string> path_params;
  std::multimap<std::string, std::string> query;
  std::string body;
  std::string idempotency_key;  // the Idempotency-Key header, if any
};

// The route's request message: fields from the JSON body (non-GET) or the query string (GET),
// `{path}` parameters, the Idempotency-Key header, and `seller_id` from the token.
// Errors: INVALID_ARGUMENT with reason INVALID_UTF8 (the body, a query parameter, a path
// parameter or the Idempotency-Key header is not UTF-8), BODY_MISSING (a non-GET request with an
// empty body: send `{}` for no fields), MALFORMED_JSON (not strict JSON, nested more than 32
// deep, unknown fields, wrong types, numbers out of range; the message is fixed text, never the
// parser's output), DUPLICATE_JSON_KEY (an object names a key, or one field by two spellings,
// twice: at any depth), UNKNOWN_PARAMETER, INVALID_PARAMETER,
// SELLER_ID_FROM_TOKEN (the request tried to name a seller), IDEMPOTENCY_KEY_MISMATCH.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequest(
    const Route& route, const HttpInput& input, const std::string& seller_id);

// An empty message of `descriptor`'s type.
std::unique_ptr<google::protobuf::Message> NewMessage(
    const google::protobuf::Descriptor* descriptor);

// `message` in the proto3 JSON mapping, zero values included.
std::string ToJson(const google::protobuf::Message& message);

// True when `text` is well-formed UTF-8 (common/text.h IsValidUtf8: no overlong form, no
// surrogate, nothing above U+10FFFF), as proto3 strings must be.
bool IsValidUtf8(absl::string_view text);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_TRANSCODE_H_
