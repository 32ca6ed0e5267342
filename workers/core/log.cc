// JSON-lines logger. Each line is built in memory and written with a single write(2) to fd 2;
// POSIX makes writes of this size to a pipe or file atomic enough for line-oriented collectors
// (journald, docker, files opened with O_APPEND).

#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace chatd {
namespace {

// Set when a line could be written only in part (LogLine's destructor).
std::atomic<bool> g_line_cut{false};

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{true};
char g_program[32] = "chatd";

const char* LevelName(LogLevel l) {
  switch (l) {
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

// Appends "YYYY-MM-DDTHH:MM:SS.mmmZ". Every request logs a line, and gmtime_r (which takes glibc's
// global timezone lock) plus snprintf cost about a microsecond: each thread formats the seconds
// once per second and only the milliseconds each time.
void AppendNowRfc3339(std::string& out) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  thread_local int64_t cached_secs = -1;
  thread_local char cached[64];  // "YYYY-MM-DDTHH:MM:SS"
  const int64_t secs = ms / 1000;
  if (secs != cached_secs) {
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_secs = secs;
  }
  const int milli = static_cast<int>(ms % 1000);
  char tail[] = ".000Z";
  tail[1] = static_cast<char>('0' + milli / 100);
  tail[2] = static_cast<char>('0' + milli / 10 % 10);
  tail[3] = static_cast<char>('0' + milli % 10);
  out += cached;
  out += tail;
}

}  // namespace

void InitLogging(std::string_view program, LogFormat format, std::string_view level) {
  std::snprintf(g_program, sizeof g_program, "%.*s", static_cast<int>(program.size()),
                program.data());
  g_json = format == LogFormat::kJson;
  LogLevel l = LogLevel::kInfo;
  if (level == "debug") l = LogLevel::kDebug;
  if (level == "warn") l = LogLevel::kWarn;
  if (level == "error") l = LogLevel::kError;
  g_min_level = static_cast<int>(l);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_min_level.load();
}

void AppendJsonEscaped(std::string& out, std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

LogLine::LogLine(LogLevel level, std::string_view message) : enabled_(LogEnabled(level)) {
  if (!enabled_) return;
  buf_.reserve(256);
  if (g_json) {
    buf_ += "{\"ts\":\"";
    AppendNowRfc3339(buf_);
    buf_ += "\",\"level\":\"";
    buf_ += LevelName(level);
    buf_ += "\",\"prog\":\"";
    AppendJsonEscaped(buf_, g_program);
    buf_ += "\",\"pid\":";
    buf_ += std::to_string(getpid());
    buf_ += ",\"msg\":\"";
    AppendJsonEscaped(buf_, message);
    buf_ += '"';
  } else {
    AppendNowRfc3339(buf_);
    buf_ += " " + std::string(LevelName(level)) + " " + g_program + "[" + std::to_string(getpid()) +
            "] " + std::string(message);
  }
}

LogLine::~LogLine() {
  if (!enabled_) return;
  buf_ += g_json ? "}\n" : "\n";
  // A line cut short by a failed write (a full disk) would run into the next one and spoil it as
  // JSON: the next line that gets written starts on a line of its own.
  const bool after_cut = g_line_cut.exchange(false, std::memory_order_relaxed);
  if (after_cut) buf_.insert(0, 1, '\n');
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    ssize_t n = ::write(2, p, left);
    if (n <= 0) {
      if (after_cut || left < buf_.size()) g_line_cut.store(true, std::memory_order_relaxed);
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

LogLine& LogLine::Str(std::string_view key, std::string_view value) {
  if (!enabled_) return *this;
  if (g_json) {
    buf_ += ",\"";
    AppendJsonEscaped(buf_, key);
    buf_ += "\":\"";
    AppendJsonEscaped(buf_, value);
    buf_ += '"';
  } else {
    buf_ += ' ';
    buf_ += key;
    buf_ += '=';
    AppendJsonEscaped(buf_, value);
  }
  return *this;
}

LogLine& LogLine::Int(std::string_view key, int64_t value) {
  if (!enabled_) return *this;
  buf_ += g_json ? ",\"" : " ";
  buf_ += key;
  buf_ += g_json ? "\":" : "=";
  buf_ += std::to_string(value);
  return *this;
}

LogLine& LogLine::Num(std::string_view key, double value) {
  if (!enabled_) return *this;
  char tmp[32];
  std::snprintf(tmp, sizeof tmp, "%.3f", value);
  buf_ += g_json ? ",\"" : " ";
  buf_ += key;
  buf_ += g_json ? "\":" : "=";
  buf_ += tmp;
  return *this;
}

LogLine& LogLine::Bool(std::string_view key, bool value) {
  if (!enabled_) return *this;
  buf_ += g_json ? ",\"" : " ";
  buf_ += key;
  buf_ += g_json ? "\":" : "=";
  buf_ += value ? "true" : "false";
  return *this;
}

}  // namespace chatd
