// The seller pages and their script and style (gateway/web/), compiled into the binary so the
// image needs no loose files and a page can never be served from anywhere else. Each page is
// composed at build time from web/layout.html and the page's own file (cmake/ComposePage.cmake).
#ifndef QCASH_GATEWAY_ASSETS_H_
#define QCASH_GATEWAY_ASSETS_H_

#include <string>

namespace qcash::gateway {

struct Asset {
  std::string content_type;
  std::string body;
};

// The asset named `name` (a file name in gateway/web/; a page whole, in its layout), or nullptr.
const Asset* FindAsset(const std::string& name);

}  // namespace qcash::gateway

#endif  // QCASH_GATEWAY_ASSETS_H_
