// Structured logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-27T01:22:00.123Z","level":"info","svc":"wallet","event":"started",...}
//
// Fields are given explicitly at the call site, so a secret can only be logged by naming it.
// Never pass passwords, tokens, webhook secrets or card data; ids and amounts are fine.
#ifndef QCASH_COMMON_LOG_H_
#define QCASH_COMMON_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"

namespace qcash {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), value(std::string(v)) {}
  LogField(absl::string_view k, const char* v) : key(k), value(std::string(v)) {}
  LogField(absl::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(absl::string_view k, int64_t v) : key(k), value(v) {}
  LogField(absl::string_view k, int v) : key(k), value(int64_t{v}) {}
  LogField(absl::string_view k, bool v) : key(k), value(v) {}
  LogField(absl::string_view k, double v) : key(k), value(v) {}
  absl::string_view key;
  std::variant<std::string, int64_t, bool, double> value;
};

// Sets the "svc" field of every line and the lowest level written (default info).
void InitLog(absl::string_view service, LogLevel min_level = LogLevel::kInfo);

void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields = {});

// `text` as a JSON string literal, quotes included; invalid UTF-8 bytes become U+FFFD.
std::string JsonQuote(absl::string_view text);

}  // namespace qcash

#endif  // QCASH_COMMON_LOG_H_
