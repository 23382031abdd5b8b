// The seller pages and their script and style (gateway/web/), compiled into the binary so the
// image needs no loose files and a page can never be served from anywhere else.
#ifndef QCASH_GATEWAY_ASSETS_H_
#define QCASH_GATEWAY_ASSETS_H_

#include <string>

namespace qcash::gateway {

struct Asset {
  std::string content_type;
  std::string body;
};

// The asset named `name` (a file name in gateway/web/), or nullptr.
const Asset* FindAsset(const std::string& name);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_ASSETS_H_
