#include "common/hash.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace qcash {

Fingerprint& Fingerprint::Add(absl::string_view field) {
  absl::StrAppend(&buffer_, field.size(), ":", field, ";");
  return *this;
}

Fingerprint& Fingerprint::Add(int64_t field) {
  absl::StrAppend(&buffer_, "i", field, ";");
  return *this;
}

std::string Fingerprint::Hex() const { return Sha256Hex(buffer_); }

std::string Sha256Hex(absl::string_view data) { return absl::BytesToHexString(Sha256(data)); }

std::string Sha256(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace qcash
