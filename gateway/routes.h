// The gateway's HTTP/JSON API as data: one row per endpoint, naming the gRPC method it calls
// and the protobuf messages it takes and returns. The server (server.cc) serves exactly these
// rows, and the OpenAPI description (openapi.cc) is generated from the same rows and the
// messages' descriptors, so the two cannot drift apart.
//
// Conventions every row follows:
//   - the request message has a `seller_id` field, filled from the seller's token; a request
//     that tries to set it is refused;
//   - GET reads its fields from the query string, other methods from a JSON body (proto3 JSON
//     mapping); `{name}` in a path fills the field `name`;
//   - an `Idempotency-Key` header fills the `idempotency_key` field of mutating requests.
#ifndef QCASH_GATEWAY_ROUTES_H_
#define QCASH_GATEWAY_ROUTES_H_

#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace qcash::gateway {

enum class Upstream { kWallet, kPayment, kPoints };

struct Route {
  std::string http_method;  // GET, POST, PUT
  std::string path;         // /api/v1/..., may contain {field}
  Upstream upstream;
  std::string rpc;  // full gRPC method name: /package.Service/Method
  const google::protobuf::Descriptor* request;
  const google::protobuf::Descriptor* response;
  std::string summary;  // one line for the OpenAPI description
  std::string tag;      // Qcash, Charge, Points
};

// Every endpoint of the JSON API, in the order the OpenAPI description lists them.
const std::vector<Route>& Routes();

// Whether `path` (a request target before '?', not decoded) matches `pattern`, segment by
// segment: a segment `{name}` of the pattern matches one non-empty segment of the path, every
// other segment itself. On a match, `params` (when not null) gets the `{name}` segments of the
// path in order, not decoded. Linear in the path, with a constant stack: a path is as long as
// the header limit allows (up to 1 MiB, gateway/main.cc), and the std::regex this replaces
// recursed once per character and overflowed the stack from about 28,000 (fuzz/route_fuzz.cc).
bool MatchPath(absl::string_view pattern, absl::string_view path, std::vector<std::string>* params);

// The route of Routes() with `method` whose path pattern `path` matches (MatchPath), with its
// `{name}` segments in `params`; nullptr when none has.
const Route* FindRoute(absl::string_view method, absl::string_view path,
                       std::vector<std::string>* params);

// The payment providers whose notifications POST /webhooks/<provider> takes: the providers of
// the payment service's catalog (services/payment/catalog.h kMethods), and a unit test proves
// the two lists agree. Any other name is answered 404 at the gateway, without a call to the
// payment service (an unauthenticated request costs no database write).
const std::vector<std::string>& WebhookProviders();
bool IsWebhookProvider(const std::string& name);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_ROUTES_H_
