#include "services/payment/secrets.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/status.h"
#include "services/payment/catalog.h"

namespace qcash::payment {
namespace {

constexpr size_t kSecretsFileLinesMax = 1000;

absl::StatusOr<ProviderSecrets> ReadSecretsFile(const std::string& path) {
  ProviderSecrets secrets;
  std::ifstream in(path);
  if (!in) return InvalidArgument(common::v1::INVALID_CONFIG, absl::StrCat("cannot read ", path));
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (number > kSecretsFileLinesMax) {
      return InvalidArgument(common::v1::INVALID_CONFIG, absl::StrCat(path, " has too many lines"));
    }
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    const size_t eq = text.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      // The line may hold a secret: name only its number.
      return InvalidArgument(common::v1::INVALID_CONFIG,
                             absl::StrCat(path, ":", number, " is not provider=secret"));
    }
    secrets[std::string(absl::StripAsciiWhitespace(text.substr(0, eq)))] =
        std::string(absl::StripAsciiWhitespace(text.substr(eq + 1)));
  }
  return secrets;
}

// The secret in <dir>/<provider>, surrounding whitespace removed; "" when there is no file.
absl::StatusOr<std::string> ReadSecretFile(const std::string& dir, const std::string& provider) {
  std::ifstream in(absl::StrCat(dir, "/", provider));
  if (!in) return std::string();
  std::string secret(kSecretLengthMax + 2, '\0');
  in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  secret.resize(static_cast<size_t>(in.gcount()));
  return std::string(absl::StripAsciiWhitespace(secret));
}

}  // namespace

std::vector<std::string> AllProviders() {
  std::vector<std::string> providers;
  for (const MethodInfo& info : kMethods) {
    if (!info.provider.empty()) providers.emplace_back(info.provider);
  }
  return providers;
}

absl::StatusOr<ProviderSecrets> LoadProviderSecrets(const std::vector<std::string>& providers) {
  ProviderSecrets from_file;
  const std::string file = EnvString("QCASH_PAYMENT_SECRETS_FILE", "");
  if (!file.empty()) {
    auto read = ReadSecretsFile(file);
    if (!read.ok()) return read.status();
    from_file = std::move(*read);
  }
  const std::string dir = EnvString("QCASH_PAYMENT_WEBHOOK_SECRETS_DIR", "");
  ProviderSecrets secrets;
  for (const std::string& provider : providers) {
    const std::string variable =
        absl::StrCat("QCASH_PAYMENT_SECRET_", absl::AsciiStrToUpper(provider));
    std::string secret = EnvString(variable, "");
    if (secret.empty() && !dir.empty()) {
      auto read = ReadSecretFile(dir, provider);
      if (!read.ok()) return read.status();
      secret = std::move(*read);
    }
    if (secret.empty()) {
      auto it = from_file.find(provider);
      if (it != from_file.end()) secret = it->second;
    }
    if (secret.empty()) {
      return InvalidArgument(common::v1::INVALID_CONFIG,
                             absl::StrCat("no secret for provider ", provider, ": set ", variable,
                                          ", or put it in QCASH_PAYMENT_WEBHOOK_SECRETS_DIR or "
                                          "QCASH_PAYMENT_SECRETS_FILE"));
    }
    if (secret.size() < kSecretLengthMin || secret.size() > kSecretLengthMax) {
      return InvalidArgument(common::v1::INVALID_CONFIG,
                             absl::StrCat("the secret of provider ", provider, " must be ",
                                          kSecretLengthMin, "..", kSecretLengthMax, " bytes"));
    }
    secrets[provider] = std::move(secret);
  }
  return secrets;
}

}  // namespace qcash::payment
