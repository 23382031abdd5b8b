#include "common/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace qcash {
namespace {

// Serialises the lines on stderr (one write each, never interleaved) and guards the name.
Mutex log_mu;
std::string* const log_service ABSL_PT_GUARDED_BY(log_mu) = new std::string("qcash");
std::atomic<LogLevel> log_min_level{LogLevel::kInfo};

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8Length(absl::string_view s, size_t i) {
  const unsigned char c = s[i];
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  }
  return n;
}

}  // namespace

void InitLog(absl::string_view service, LogLevel min_level) {
  MutexLock lock(&log_mu);
  *log_service = std::string(service);
  log_min_level.store(min_level);
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (size_t n = Utf8Length(text, i); n > 0) {
      out.append(text.data() + i, n);
      i += n;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out += '"';
  return out;
}

void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields) {
  if (level < log_min_level.load(std::memory_order_relaxed)) return;
  std::string line = absl::StrCat(
      "{\"ts\":",
      JsonQuote(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())),
      ",\"level\":\"", LevelName(level), "\"");
  {
    MutexLock lock(&log_mu);
    absl::StrAppend(&line, ",\"svc\":", JsonQuote(*log_service));
  }
  absl::StrAppend(&line, ",\"event\":", JsonQuote(event));
  for (const LogField& field : fields) {
    absl::StrAppend(&line, ",", JsonQuote(field.key), ":");
    if (const auto* s = std::get_if<std::string>(&field.value)) {
      absl::StrAppend(&line, JsonQuote(*s));
    } else if (const auto* i = std::get_if<int64_t>(&field.value)) {
      absl::StrAppend(&line, *i);
    } else if (const auto* b = std::get_if<bool>(&field.value)) {
      absl::StrAppend(&line, *b ? "true" : "false");
    } else if (const auto* d = std::get_if<double>(&field.value)) {
      absl::StrAppend(&line, absl::StrFormat("%.6g", *d));
    }
  }
  line += "}\n";
  MutexLock lock(&log_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace qcash
