#include "common/config.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
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
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(name, "=", text, " is not an integer"));
  }
  if (value < min || value > max) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(name, "=", text, " is outside [", min, ", ", max, "]"));
  }
  return value;
}

absl::StatusOr<bool> EnvBool(absl::string_view name, bool fallback) {
  const std::string text = absl::AsciiStrToLower(EnvString(name, ""));
  if (text.empty()) return fallback;
  if (text == "1" || text == "true" || text == "yes") return true;
  if (text == "0" || text == "false" || text == "no") return false;
  return InvalidArgument(common::v1::INVALID_CONFIG,
                         absl::StrCat(name, "=", text, " is not a boolean"));
}

namespace {

// Keys whose values are secrets in libpq URIs and keyword/value strings and in Redis URLs.
bool IsSecretKey(absl::string_view key) {
  const std::string lower = absl::AsciiStrToLower(key);
  return lower == "password" || lower == "sslpassword" || lower == "pass" || lower == "passwd";
}

// `text` with %XX escapes decoded, as libpq decodes URI query keywords (`?pass%77ord=` is a
// password). A malformed escape is kept as it is.
std::string PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    int high = 0;
    int low = 0;
    auto hex = [](char c, int* v) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
      *v = absl::ascii_isdigit(static_cast<unsigned char>(c))
               ? c - '0'
               : absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
      return true;
    };
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1], &high) &&
        hex(text[i + 2], &low)) {
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool IsUriScheme(absl::string_view scheme) {
  if (scheme.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(scheme[0]))) return false;
  for (char c : scheme) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// scheme://[user[:password]@]host[:port][/path][?k=v&...]: the password of the userinfo and the
// value of every secret query parameter become "***".
std::string RedactUri(absl::string_view url, size_t scheme_end) {
  const size_t authority = scheme_end + 3;
  std::string out(url.substr(0, authority));
  absl::string_view rest = url.substr(authority);
  // libpq ends the userinfo at the first '@' before any '/'; the last one is taken here so that
  // a password holding an unescaped '@' (or '?' or ':') is hidden whole all the same.
  const size_t slash = rest.find('/');
  const size_t at = rest.substr(0, slash).rfind('@');
  if (at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    if (colon == absl::string_view::npos) {
      absl::StrAppend(&out, userinfo);
    } else {
      absl::StrAppend(&out, userinfo.substr(0, colon), ":***");
    }
    rest = rest.substr(at);  // from the '@'
  }
  const size_t question = rest.find('?');
  if (question == absl::string_view::npos) {
    absl::StrAppend(&out, rest);
    return out;
  }
  absl::StrAppend(&out, rest.substr(0, question + 1));
  absl::string_view query = rest.substr(question + 1);
  bool first = true;
  while (true) {
    const size_t amp = query.find('&');
    absl::string_view param = query.substr(0, amp);
    const size_t eq = param.find('=');
    if (!first) out.push_back('&');
    first = false;
    if (eq != absl::string_view::npos && IsSecretKey(PercentDecode(param.substr(0, eq)))) {
      absl::StrAppend(&out, param.substr(0, eq), "=***");
    } else {
      absl::StrAppend(&out, param);
    }
    if (amp == absl::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return out;
}

// libpq's keyword/value form: `key = value` pairs separated by white space, a value either
// bare (up to white space) or in single quotes, with backslash escapes in both.
std::string RedactKeywordValue(absl::string_view text) {
  std::string out;
  size_t i = 0;
  auto space = [&](size_t k) {
    return k < text.size() && absl::ascii_isspace(static_cast<unsigned char>(text[k]));
  };
  while (i < text.size()) {
    const size_t key_begin = i;
    while (i < text.size() && text[i] != '=' && !space(i)) ++i;
    const absl::string_view key = text.substr(key_begin, i - key_begin);
    while (space(i)) ++i;
    if (i >= text.size() || text[i] != '=') {
      // Not keyword/value after all: keep the text only if nothing after could be a secret.
      absl::string_view tail = text.substr(key_begin);
      if (absl::StrContains(absl::AsciiStrToLower(tail), "pass")) {
        return absl::StrCat(out, "***");
      }
      return absl::StrCat(out, tail);
    }
    ++i;  // '='
    while (space(i)) ++i;
    const size_t value_begin = i;
    if (i < text.size() && text[i] == '\'') {
      for (++i; i < text.size() && text[i] != '\''; ++i) {
        if (text[i] == '\\') ++i;
      }
      if (i < text.size()) ++i;  // closing quote
    } else {
      for (; i < text.size() && !space(i); ++i) {
        if (text[i] == '\\') ++i;
      }
    }
    i = std::min(i, text.size());
    absl::StrAppend(&out, text.substr(key_begin, value_begin - key_begin),
                    IsSecretKey(key) ? "***" : text.substr(value_begin, i - value_begin));
    const size_t gap = i;
    while (space(i)) ++i;
    absl::StrAppend(&out, text.substr(gap, i - gap));
  }
  return out;
}

}  // namespace

std::string RedactUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end != absl::string_view::npos && IsUriScheme(url.substr(0, scheme_end))) {
    return RedactUri(url, scheme_end);
  }
  return RedactKeywordValue(url);
}

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(common::v1::INVALID_CONFIG, absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<std::string> EnvSecretFile(absl::string_view name, size_t min_bytes,
                                          size_t max_bytes) {
  const std::string path = EnvString(name, "");
  if (path.empty()) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(name, " is required (a secret file)"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(name, "=", path, " cannot be read"));
  }
  // Read one byte past the bound, so that an oversized file is refused without reading it all.
  std::string text;
  text.resize(max_bytes + 2);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.size() < min_bytes || text.size() > max_bytes) {
    return InvalidArgument(common::v1::INVALID_CONFIG,
                           absl::StrCat(name, "=", path, " must hold ", min_bytes, " to ",
                                        max_bytes, " bytes (it holds ", text.size(), ")"));
  }
  return text;
}

}  // namespace qcash
