// The error-reason contract, checked (AIP-193, issue 11). Each service documents its reasons as
// `enum ErrorReason` (proto/qcash/<service>/v1/error_reason.proto), the shared plumbing as
// qcash.common.v1.ErrorReason, and common/status.h lets code emit only enum values. What the
// type system cannot see, this test does:
//   - every enum is well formed: zero is the "no reason" value, names are identifiers the
//     gateway passes on, and no name means two things in one domain (service and common);
//   - the C++ sources (services/, common/, gateway/; tests excluded) give the status helpers
//     no string reasons, compare reasons only through ReasonIs(), rebuild reasons from strings
//     only where the wire is read, and emit in each service only that service's reasons and
//     the common ones (a points handler emitting a wallet value would escape its enum);
//   - the reverse: every documented reason is emitted somewhere, or listed below as relayed
//     from another service (so a stale value is noticed, and this list with it).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "qcash/common/v1/error_reason.pb.h"
#include "qcash/gateway/v1/error_reason.pb.h"
#include "qcash/payment/v1/error_reason.pb.h"
#include "qcash/points/v1/error_reason.pb.h"
#include "qcash/wallet/v1/error_reason.pb.h"

namespace qcash {
namespace {

namespace fs = std::filesystem;
using google::protobuf::EnumDescriptor;

const std::map<std::string, const EnumDescriptor*>& Enums() {
  static const auto* enums = new std::map<std::string, const EnumDescriptor*>{
      {"common", common::v1::ErrorReason_descriptor()},
      {"wallet", wallet::v1::ErrorReason_descriptor()},
      {"payment", payment::v1::ErrorReason_descriptor()},
      {"points", points::v1::ErrorReason_descriptor()},
      {"gateway", gateway::v1::ErrorReason_descriptor()},
  };
  return *enums;
}

// Documented but not named in the code of their service: reasons another service decides and
// this one passes on with Relay() (common/status.h), which keeps a name its enum has.
const std::map<std::string, std::set<std::string>>& Relayed() {
  static const auto* relayed = new std::map<std::string, std::set<std::string>>{
      // services/payment: the wallet's refusals of a charge credit (order_flow.cc WalletError,
      // wallet_adapter.cc Normalize).
      {"payment", {"WALLET_NOT_FOUND", "BALANCE_LIMIT_EXCEEDED"}},
  };
  return *relayed;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The service whose domain a source file answers in, by its folder.
std::string ServiceOf(const std::string& relative) {
  for (const char* svc : {"wallet", "payment", "points"}) {
    if (relative.rfind(std::string("services/") + svc + "/", 0) == 0) return svc;
  }
  if (relative.rfind("gateway/", 0) == 0) return "gateway";
  return "common";
}

struct Source {
  std::string relative;
  std::string text;
};

std::vector<Source> Sources() {
  std::vector<Source> out;
  const fs::path root(QCASH_SOURCE_DIR);
  for (const char* top : {"services", "common", "gateway"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      if (!entry.is_regular_file()) continue;
      const std::string name = entry.path().filename().string();
      const std::string ext = entry.path().extension().string();
      if (ext != ".cc" && ext != ".h") continue;
      if (name.find("_test") != std::string::npos) continue;
      out.push_back({fs::relative(entry.path(), root).string(), Read(entry.path())});
    }
  }
  return out;
}

// Strips // comments and the contents of string literals' escapes are left alone: reasons are
// looked for in code only.
std::string WithoutComments(const std::string& text) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"' && (i == 0 || text[i - 1] != '\'')) in_string = true;
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
      out += '\n';
      continue;
    }
    out += c;
  }
  return out;
}

// The top-level arguments of the call whose '(' is at `open`.
std::vector<std::string> Arguments(const std::string& text, size_t open) {
  std::vector<std::string> args(1);
  int depth = 0;
  bool in_string = false;
  for (size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      args.back() += c;
      if (c == '\\') {
        args.back() += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '(' || c == '{' || c == '[') {
      if (depth++ == 0) continue;
    }
    if (c == ')' || c == '}' || c == ']') {
      if (--depth == 0) break;
    }
    if (c == ',' && depth == 1) {
      args.emplace_back();
      continue;
    }
    args.back() += c;
  }
  for (std::string& a : args) {
    a = std::regex_replace(a, std::regex(R"(^\s+|\s+$)"), "");
  }
  return args;
}

int LineOf(const std::string& text, size_t pos) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
}

// One reason argument found in the code.
struct Use {
  std::string where;
  std::string service;  // the domain the file answers in
  std::string argument;
};

std::vector<Use> ReasonArguments(const std::vector<Source>& sources) {
  // Function -> which argument is the reason.
  static const std::map<std::string, size_t> kHelpers = {
      {"Error", 1},
      {"InvalidArgument", 0},
      {"NotFound", 0},
      {"FailedPrecondition", 0},
      {"Aborted", 0},
      {"Unavailable", 0},
      {"PermissionDenied", 0},
      {"Unauthenticated", 0},
      {"ResourceExhausted", 0},
      {"Internal", 0},
      {"Relay", 1},
      {"FromTimestamp", 1},
      {"ReasonIs", 1},
  };
  static const std::regex kCall(
      R"((^|[^\w.>])(?:qcash::)?(Error|InvalidArgument|NotFound|FailedPrecondition|Aborted|Unavailable|PermissionDenied|Unauthenticated|ResourceExhausted|Internal|Relay|FromTimestamp|ReasonIs)\s*\()");
  std::vector<Use> uses;
  for (const Source& source : sources) {
    const std::string code = WithoutComments(source.text);
    for (auto it = std::sregex_iterator(code.begin(), code.end(), kCall);
         it != std::sregex_iterator(); ++it) {
      const std::string function = (*it)[2];
      const size_t open = it->position(0) + it->length(0) - 1;
      const std::vector<std::string> args = Arguments(code, open);
      const size_t index = kHelpers.at(function);
      if (index >= args.size()) continue;
      uses.push_back({source.relative + ":" + std::to_string(LineOf(code, open)) + " " + function,
                      ServiceOf(source.relative), args[index]});
    }
  }
  return uses;
}

TEST(ReasonsTest, EveryEnumIsWellFormed) {
  const EnumDescriptor* common = Enums().at("common");
  for (const auto& [service, e] : Enums()) {
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->name(), "ErrorReason");
    EXPECT_EQ(e->full_name(), "qcash." + service + ".v1.ErrorReason");
    ASSERT_GE(e->value_count(), 2) << service;
    EXPECT_EQ(e->value(0)->number(), 0);
    // The zero value is "no reason"; the wire shows it as the common UNSPECIFIED.
    EXPECT_EQ(e->value(0)->name(),
              service == "common" ? "UNSPECIFIED" : "ERROR_REASON_UNSPECIFIED");
    for (int i = 0; i < e->value_count(); ++i) {
      const std::string& name = e->value(i)->name();
      // gateway/errors.cc passes on reasons of 1..64 of [A-Z0-9_] only.
      EXPECT_TRUE(std::regex_match(name, std::regex("[A-Z][A-Z0-9_]{0,63}"))) << name;
      if (e != common && i > 0) {
        EXPECT_EQ(common->FindValueByName(name), nullptr)
            << service << " and common both define " << name << ": one name, one meaning";
      }
    }
  }
}

TEST(ReasonsTest, CodeEmitsOnlyItsServicesReasonsThroughTheEnums) {
  const std::vector<Source> sources = Sources();
  ASSERT_GT(sources.size(), 50u) << "the sources were not found under " << QCASH_SOURCE_DIR;
  static const std::regex kQualified(R"(^(?:::)?(?:qcash::)?(\w+)::v1::([A-Z][A-Z0-9_]*)$)");
  static const std::regex kAliased(R"(^(?:pb|v1)::([A-Z][A-Z0-9_]*)$)");
  int checked = 0;
  for (const Use& use : ReasonArguments(sources)) {
    SCOPED_TRACE(use.where + "(" + use.argument + ")");
    EXPECT_NE(use.argument.rfind('"', 0), 0u)
        << "a reason is an ErrorReason value, never a string (common/status.h)";
    std::smatch m;
    std::string ns;
    std::string name;
    if (std::regex_match(use.argument, m, kQualified)) {
      ns = m[1];
      name = m[2];
    } else if (std::regex_match(use.argument, m, kAliased)) {
      ns = use.service;  // each server's `pb` and domain's `v1` are its own package
      name = m[1];
    } else {
      continue;  // a variable: its value was checked where it was chosen
    }
    ++checked;
    ASSERT_EQ(Enums().count(ns), 1u) << "not an ErrorReason package: " << ns;
    EXPECT_NE(Enums().at(ns)->FindValueByName(name), nullptr) << ns << " has no " << name;
    // ReasonIs may look at any service's reasons (e.g. the points service reads the wallet's);
    // everything else is emitted, and must be this domain's or common.
    if (use.where.find(" ReasonIs") == std::string::npos) {
      EXPECT_TRUE(ns == use.service || ns == "common")
          << use.service << " code emits " << ns << "::v1::" << name
          << ", which its domain does not document; add it to its enum or use Relay()";
    }
  }
  EXPECT_GT(checked, 200) << "the scan found too few reasons: is the regex still right?";
}

TEST(ReasonsTest, ReasonsAreComparedAndRebuiltOnlyThroughTheEnums) {
  static const std::regex kStringCompare(
      R"((reason|ReasonOf\([^()]*\)|kDecideAgain)\s*[!=]=\s*"[A-Z][A-Z0-9_]*")");
  static const std::regex kReceived(R"(\bReceivedError\s*\()");
  for (const Source& source : Sources()) {
    const std::string code = WithoutComments(source.text);
    std::smatch m;
    EXPECT_FALSE(std::regex_search(code, m, kStringCompare))
        << source.relative << ": " << m.str(0) << " (compare with ReasonIs(status, value))";
    if (source.relative != "common/grpc_status.cc" && source.relative != "common/status.h" &&
        source.relative != "common/status.cc") {
      EXPECT_FALSE(std::regex_search(code, m, kReceived))
          << source.relative << ": ReceivedError() is for reasons read from the wire only";
    }
  }
}

TEST(ReasonsTest, EveryDocumentedReasonIsEmittedOrRelayed) {
  std::map<std::string, std::set<std::string>> emitted;
  static const std::regex kQualified(R"(^(?:::)?(?:qcash::)?(\w+)::v1::([A-Z][A-Z0-9_]*)$)");
  static const std::regex kAliased(R"(^(?:pb|v1)::([A-Z][A-Z0-9_]*)$)");
  for (const Use& use : ReasonArguments(Sources())) {
    if (use.where.find(" ReasonIs") != std::string::npos) continue;
    std::smatch m;
    if (std::regex_match(use.argument, m, kQualified)) {
      emitted[m[1]].insert(m[2]);
    } else if (std::regex_match(use.argument, m, kAliased)) {
      emitted[use.service].insert(m[1]);
    }
  }
  for (const auto& [service, e] : Enums()) {
    const auto relayed_it = Relayed().find(service);
    const std::set<std::string> relayed =
        relayed_it == Relayed().end() ? std::set<std::string>() : relayed_it->second;
    for (int i = 1; i < e->value_count(); ++i) {
      const std::string& name = e->value(i)->name();
      const bool is_emitted = emitted[service].count(name) > 0;
      const bool is_relayed = relayed.count(name) > 0;
      EXPECT_TRUE(is_emitted || is_relayed)
          << service << "." << name << " is documented but nothing emits it: "
          << "remove it (its number becomes `reserved`) or list it as relayed";
      EXPECT_FALSE(is_emitted && is_relayed)
          << service << "." << name << " is emitted directly: take it off the relayed list";
    }
  }
}

// The tests that check reasons on the wire (unit tests beside the code, tests/ integration
// tests) expect only documented ones: a renamed value fails here, naming the test, instead of
// far away in an integration run.
TEST(ReasonsTest, TestsExpectOnlyDocumentedReasons) {
  // Reasons the tests make up on purpose: what the gateway does with one no enum knows.
  const std::set<std::string> kInvented = {"SOMETHING_NEW"};
  static const std::regex kExpected(
      R"re((?:EXPECT_GRPC_ERROR\([^;]*?,\s*\w+\s*,|\bReason(?:Of)?\([^;]*?\)\s*,)\s*"([A-Z][A-Z0-9_]*)")re"
      R"re(|\\"reason\\":\\"([A-Z][A-Z0-9_]*)\\")re");
  const fs::path root(QCASH_SOURCE_DIR);
  int expectations = 0;
  for (const char* top : {"tests", "services", "common", "gateway"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || entry.path().extension() != ".cc") continue;
      if (std::string(top) != "tests" && name.find("_test") == std::string::npos) continue;
      const std::string text = Read(entry.path());
      for (auto it = std::sregex_iterator(text.begin(), text.end(), kExpected);
           it != std::sregex_iterator(); ++it) {
        const std::string reason = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
        ++expectations;
        if (kInvented.count(reason) != 0) continue;
        bool documented = false;
        for (const auto& [service, e] : Enums()) {
          const auto* value = e->FindValueByName(reason);
          documented =
              documented || (value != nullptr && (value->number() != 0 || service == "common"));
        }
        EXPECT_TRUE(documented) << fs::relative(entry.path(), root).string() << " expects "
                                << reason << ", which no ErrorReason enum documents";
      }
    }
  }
  EXPECT_GT(expectations, 100) << "the scan found too few expected reasons";
}

}  // namespace
}  // namespace qcash
