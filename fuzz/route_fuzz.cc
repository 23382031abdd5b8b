// gateway/routes.h FindRoute and MatchPath: which endpoint of the JSON API a request's method
// and path select, and the values of its `{name}` segments. Input, one field per line: the
// method, the path, and a count of times to repeat the path's last byte (paths as long as the
// largest header limit gateway/main.cc allows, 1 MiB).
// Properties: for paths short enough, the route found is the one the regular expressions of the
// former matcher select (a second, independent reading of the patterns); a match rebuilds the
// path exactly from its pattern and parameters, each parameter one non-empty segment; and each
// route's pattern, filled with a segment from the input, selects that route and no other.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "fuzz/fuzz_check.h"
#include "gateway/routes.h"

namespace {

namespace gateway = qcash::gateway;

constexpr size_t kPathBytesMax = 1 << 20;
// std::regex recurses per character: the oracle is asked only about short paths.
constexpr size_t kOracleBytesMax = 2048;

// The former matcher: `{name}` -> `([^/]+)`, matched with std::regex_match.
const std::vector<std::regex>& Oracles() {
  static const auto* const kOracles = [] {
    auto* oracles = new std::vector<std::regex>;
    const std::regex param(R"(\{([a-z_]+)\})");
    for (const gateway::Route& route : gateway::Routes()) {
      const std::string pattern = absl::StrReplaceAll(route.path, {{".", "\\."}});
      oracles->emplace_back(std::regex_replace(pattern, param, "([^/]+)"));
    }
    return oracles;
  }();
  return *kOracles;
}

// `pattern` with its `{name}` segments replaced by `params` in order.
std::string Fill(const std::string& pattern, const std::vector<std::string>& params) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '{') {
      const size_t close = pattern.find('}', i);
      FUZZ_CHECK(close != std::string::npos && next < params.size());
      out += params[next++];
      i = close + 1;
    } else {
      out.push_back(pattern[i++]);
    }
  }
  FUZZ_CHECK(next == params.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> f = qcash::fuzz::SplitFields(
      absl::string_view(reinterpret_cast<const char*>(data), size), "\n", 3);
  if (f.size() < 2) return 0;
  const std::string& method = f[0];
  std::string path = f[1];
  size_t repeat = 0;
  if (f.size() == 3 && !path.empty() && absl::SimpleAtoi(f[2], &repeat)) {
    repeat = std::min(repeat, kPathBytesMax - std::min(kPathBytesMax, path.size()));
    path.append(repeat, path.back());
  }

  std::vector<std::string> params;
  const gateway::Route* route = gateway::FindRoute(method, path, &params);
  if (path.size() <= kOracleBytesMax) {
    const gateway::Route* expected = nullptr;
    const auto& routes = gateway::Routes();
    for (size_t i = 0; i < routes.size() && expected == nullptr; ++i) {
      if (routes[i].http_method == method && std::regex_match(path, Oracles()[i])) {
        expected = &routes[i];
      }
    }
    FUZZ_CHECK(route == expected);
  }
  if (route != nullptr) {
    for (const std::string& p : params) {
      FUZZ_CHECK(!p.empty() && p.find('/') == std::string::npos);
    }
    FUZZ_CHECK(Fill(route->path, params) == path);
  }

  // Every route, filled with one segment of the input, selects itself and only itself.
  std::string segment = path.substr(0, path.find('/', 1));
  if (!segment.empty() && segment[0] == '/') segment.erase(0, 1);
  if (segment.empty() || segment.find('/') != std::string::npos) return 0;
  for (const gateway::Route& candidate : gateway::Routes()) {
    const size_t count =
        static_cast<size_t>(std::count(candidate.path.begin(), candidate.path.end(), '{'));
    const std::string filled = Fill(candidate.path, std::vector<std::string>(count, segment));
    std::vector<std::string> got;
    const gateway::Route* found = gateway::FindRoute(candidate.http_method, filled, &got);
    if (found != &candidate) {
      // Only a fixed path of another route may take it (e.g. {order_id} = "x" never does).
      FUZZ_CHECK(found != nullptr && found->path.find('{') == std::string::npos);
      FUZZ_CHECK(found->path == filled);
      continue;
    }
    FUZZ_CHECK(got == std::vector<std::string>(count, segment));
  }
  return 0;
}
