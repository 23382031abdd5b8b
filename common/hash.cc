#include "common/hash.h"

#include <openssl/evp.h>

#include <cstdlib>

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

namespace {

const EVP_MD* Sha256Digest() {
  // Fetched once: OpenSSL 3's one-shot SHA256() looks the algorithm up in its provider tables,
  // under a lock, on every call, which cost more than hashing a short message (issue 17's
  // profile of the wallet's write path, docs/PERFORMANCE.md).
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) std::abort();  // no default provider: nothing could be hashed
  return md;
}

}  // namespace

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, Sha256Digest(), nullptr) != 1) {
    std::abort();  // only an allocation failure; a wrong hash must never be returned
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace qcash
