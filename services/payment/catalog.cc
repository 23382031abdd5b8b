#include "services/payment/catalog.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace qcash::payment {

bool IsDenomination(int64_t amount_yen) {
  return std::find(kDenominationsYen.begin(), kDenominationsYen.end(), amount_yen) !=
         kDenominationsYen.end();
}

int64_t CoveringDenomination(int64_t shortfall_yen) {
  if (shortfall_yen <= 0) return 0;
  for (int64_t yen : kDenominationsYen) {
    if (yen >= shortfall_yen) return yen;
  }
  return kDenominationsYen.back();
}

std::string DenominationLabel(int64_t amount_yen) {
  return absl::StrCat("Qキャッシュ(", amount_yen, "Qキャッシュのチャージ)");
}

const MethodInfo* FindMethod(int64_t code) {
  for (const MethodInfo& info : kMethods) {
    if (static_cast<int64_t>(info.method) == code) return &info;
  }
  return nullptr;
}

const MethodInfo* FindProvider(absl::string_view provider) {
  if (provider.empty()) return nullptr;
  for (const MethodInfo& info : kMethods) {
    if (info.provider == provider) return &info;
  }
  return nullptr;
}

const MethodInfo& InfoOf(Method method) {
  const MethodInfo* info = FindMethod(static_cast<int64_t>(method));
  if (info == nullptr) std::abort();  // every enumerator is in kMethods
  return *info;
}

absl::string_view FamilyName(Family family) {
  switch (family) {
    case Family::kInstant:
      return "instant";
    case Family::kRedirect:
      return "redirect";
    case Family::kCounter:
      return "counter";
    case Family::kInternalFunds:
      return "internal_funds";
    default:
      return "unknown";
  }
}

}  // namespace qcash::payment
