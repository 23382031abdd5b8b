// Request fingerprints for idempotency: SHA-256 over length-prefixed fields, so that two
// requests have the same fingerprint exactly when every field is equal ("ab","c" != "a","bc").
#ifndef QCASH_COMMON_HASH_H_
#define QCASH_COMMON_HASH_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace qcash {

class Fingerprint {
 public:
  Fingerprint& Add(absl::string_view field);
  Fingerprint& Add(int64_t field);
  // The SHA-256 of everything added, as 64 lowercase hex characters.
  std::string Hex() const;
  // Everything added, encoded: "<bytes>:<text>;" per text, "i<decimal>;" per number.
  const std::string& Text() const { return buffer_; }

 private:
  std::string buffer_;
};

// SHA-256 of `data` as 64 lowercase hex characters.
std::string Sha256Hex(absl::string_view data);

// SHA-256 of `data`: the 32 bytes of the digest.
std::string Sha256(absl::string_view data);

}  // namespace qcash

#endif  // QCASH_COMMON_HASH_H_
