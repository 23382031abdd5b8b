// The OpenAPI 3 description of the JSON API, generated from the route table and the protobuf
// descriptors of its messages (proto3 JSON mapping: int64 as strings, enums by name, timestamps
// as RFC 3339). The gateway serves it at /openapi.json; `qcash-openapi` prints it, and a test
// fails when the copy in the repository (gateway/openapi.json) differs.
#ifndef QCASH_GATEWAY_OPENAPI_H_
#define QCASH_GATEWAY_OPENAPI_H_

#include <string>
#include <vector>

#include "gateway/routes.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace qcash::gateway {

std::string GenerateOpenApi(const std::vector<Route>& routes);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_OPENAPI_H_
