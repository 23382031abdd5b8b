#include "common/config.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace qcash {

std::string EnvString(absl::string_view name, absl::string_view fallback) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr || *value == '\0') return std::string(fallback);
  return value;
}

absl::StatusOr<int64_t> EnvInt(absl::string_view name, int64_t fallback, int64_t min, int64_t max) {
  const std::string text = EnvString(name, "");
  if (text.empty()) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return InvalidArgument("INVALID_CONFIG", absl::StrCat(name, "=", text, " is not an integer"));
  }
  if (value < min || value > max) {
    return InvalidArgument("INVALID_CONFIG",
                           absl::StrCat(name, "=", text, " is outside [", min, ", ", max, "]"));
  }
  return value;
}

absl::StatusOr<bool> EnvBool(absl::string_view name, bool fallback) {
  const std::string text = absl::AsciiStrToLower(EnvString(name, ""));
  if (text.empty()) return fallback;
  if (text == "1" || text == "true" || text == "yes") return true;
  if (text == "0" || text == "false" || text == "no") return false;
  return InvalidArgument("INVALID_CONFIG", absl::StrCat(name, "=", text, " is not a boolean"));
}

std::string RedactUrl(absl::string_view url) {
  // postgresql://user:secret@host/db -> postgresql://user:***@host/db
  const size_t scheme = url.find("://");
  const size_t at = url.find('@', scheme == absl::string_view::npos ? 0 : scheme + 3);
  if (scheme == absl::string_view::npos || at == absl::string_view::npos) {
    // key=value form: hide password=...
    const size_t pw = url.find("password=");
    if (pw == absl::string_view::npos) return std::string(url);
    const size_t end = url.find(' ', pw);
    return absl::StrCat(url.substr(0, pw), "password=***",
                        end == absl::string_view::npos ? "" : url.substr(end));
  }
  const size_t colon = url.find(':', scheme + 3);
  if (colon == absl::string_view::npos || colon > at) return std::string(url);
  return absl::StrCat(url.substr(0, colon + 1), "***", url.substr(at));
}

absl::StatusOr<std::string> EnvSecretFile(absl::string_view name, size_t min_bytes,
                                          size_t max_bytes) {
  const std::string path = EnvString(name, "");
  if (path.empty()) {
    return InvalidArgument("INVALID_CONFIG", absl::StrCat(name, " is required (a secret file)"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument("INVALID_CONFIG", absl::StrCat(name, "=", path, " cannot be read"));
  }
  // Read one byte past the bound, so that an oversized file is refused without reading it all.
  std::string text;
  text.resize(max_bytes + 2);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.size() < min_bytes || text.size() > max_bytes) {
    return InvalidArgument(
        "INVALID_CONFIG", absl::StrCat(name, "=", path, " must hold ", min_bytes, " to ", max_bytes,
                                       " bytes (it holds ", text.size(), ")"));
  }
  return text;
}

}  // namespace qcash
