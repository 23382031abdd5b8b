#include "common/page_token.h"

#include <cassert>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace qcash {

PageTokenWriter::PageTokenWriter(absl::string_view kind) : text_(kind) {
  assert(!kind.empty() && kind.find(':') == absl::string_view::npos);
}

PageTokenWriter& PageTokenWriter::AddInt(int64_t value) {
  absl::StrAppend(&text_, ":", value);
  return *this;
}

PageTokenWriter& PageTokenWriter::AddText(absl::string_view value) {
  absl::StrAppend(&text_, ":", value);
  return *this;
}

std::string PageTokenWriter::Finish() const { return absl::WebSafeBase64Escape(text_); }

std::optional<PageTokenReader> PageTokenReader::Open(absl::string_view kind,
                                                     absl::string_view token, size_t fields) {
  std::string text;
  if (token.empty() || token.size() > kPageTokenLengthMax ||
      !absl::WebSafeBase64Unescape(token, &text) ||
      // Only the exact text issued: the decoder skips whitespace and takes padding.
      absl::WebSafeBase64Escape(text) != token) {
    return std::nullopt;
  }
  // The last field keeps any ':' it has.
  std::vector<std::string> parts =
      absl::StrSplit(text, absl::MaxSplits(':', static_cast<int>(fields)));
  if (parts.size() != fields + 1 || parts[0] != kind) return std::nullopt;
  parts.erase(parts.begin());
  return PageTokenReader(std::move(parts));
}

bool PageTokenReader::NextInt(int64_t* value) {
  if (next_ >= fields_.size()) return false;
  const std::string& field = fields_[next_++];
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(field, &parsed) || absl::StrCat(parsed) != field) return false;
  *value = parsed;
  return true;
}

bool PageTokenReader::NextText(std::string* value) {
  if (next_ >= fields_.size()) return false;
  *value = fields_[next_++];
  return true;
}

}  // namespace qcash
