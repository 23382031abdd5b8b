// qcash-openapi: prints the gateway's OpenAPI description. Regenerate the repository's copy with
//   build/gateway/qcash-openapi > gateway/openapi.json
#include <cstdio>

#include "gateway/openapi.h"

int main() {
  const std::string json = qcash::gateway::GenerateOpenApi(qcash::gateway::Routes());
  std::fwrite(json.data(), 1, json.size(), stdout);
  return 0;
}
