// Structured logging: one JSON object per line on stderr (LOG_FORMAT=text for people).
//
// A LogLine collects fields and writes itself in one write(2) when it goes out of scope, so lines
// from many threads and processes never interleave. Every line carries ts, level, the program name
// and, when known, the request id that nginx generated, so one grep finds a request everywhere.
// Secrets never go through here: callers log ids and outcomes, never tokens, passwords or keys.
//
// Logging is process-wide; InitLogging() is called once by main() before threads start, and any
// thread may log afterwards.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"

namespace chatd {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void InitLogging(std::string_view program, LogFormat format, std::string_view level);
bool LogEnabled(LogLevel level);
// Appends `text` to `out` as the inside of a JSON string (quotes not included).
void AppendJsonEscaped(std::string& out, std::string_view text);

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view message);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& Str(std::string_view key, std::string_view value);
  LogLine& Int(std::string_view key, int64_t value);
  LogLine& Num(std::string_view key, double value);
  LogLine& Bool(std::string_view key, bool value);

 private:
  bool enabled_;
  std::string buf_;
};

inline LogLine LogDebug(std::string_view m) {
  return LogLine(LogLevel::kDebug, m);
}
inline LogLine LogInfo(std::string_view m) {
  return LogLine(LogLevel::kInfo, m);
}
inline LogLine LogWarn(std::string_view m) {
  return LogLine(LogLevel::kWarn, m);
}
inline LogLine LogError(std::string_view m) {
  return LogLine(LogLevel::kError, m);
}

}  // namespace chatd
