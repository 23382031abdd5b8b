// The page tokens every service issues for its paginated lists: opaque to callers, the
// base64url of "<kind>:<field>:...:<field>", taken back only exactly as issued.
//
// A token names a position, never a query: each service checks the decoded fields against
// its own rules (a sequence number is positive, an order id has its form) and answers
// INVALID_ARGUMENT with its own INVALID_PAGE_TOKEN reason when Open fails or a field does not
// pass. Canonical form is enforced here, once: base64 with whitespace or padding variants,
// integers written "+7" or "007", and tokens of another kind or field count are refused
// (fuzz/page_token_fuzz.cc found the decoders accepting such tokens before they shared this).
#ifndef QCASH_COMMON_PAGE_TOKEN_H_
#define QCASH_COMMON_PAGE_TOKEN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace qcash {

// Longest token any service takes back (longer ones are refused before decoding).
inline constexpr size_t kPageTokenLengthMax = 512;

class PageTokenWriter {
 public:
  // REQUIRES: `kind` is non-empty and has no ':'.
  explicit PageTokenWriter(absl::string_view kind);
  PageTokenWriter& AddInt(int64_t value);
  // REQUIRES: `value` has no ':' unless it is the last field.
  PageTokenWriter& AddText(absl::string_view value);
  std::string Finish() const;

 private:
  std::string text_;
};

class PageTokenReader {
 public:
  // The reader of `token` when it is exactly a token of `kind` with `fields` fields as
  // PageTokenWriter issues them; nullopt otherwise (including the empty token: a first page
  // has none, callers test for it first).
  static std::optional<PageTokenReader> Open(absl::string_view kind, absl::string_view token,
                                             size_t fields);

  // The next field as an integer written as StrCat writes it; false when it is not one or no
  // field is left.
  bool NextInt(int64_t* value);
  // The next field; false when no field is left.
  bool NextText(std::string* value);

 private:
  explicit PageTokenReader(std::vector<std::string> fields) : fields_(std::move(fields)) {}
  std::vector<std::string> fields_;
  size_t next_ = 0;
};

}  // namespace qcash

#endif  // QCASH_COMMON_PAGE_TOKEN_H_
