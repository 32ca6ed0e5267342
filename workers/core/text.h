// UTF-8 validation, character counting and the sanitizing rules of API.md for user text.
//
// "Characters" everywhere in the API means Unicode code points, never bytes. Sanitizing removes
// control characters (C0 except newline and tab, DEL, C1) and trims surrounding whitespace; it
// never repairs invalid UTF-8 or NUL, which callers reject instead (a silent repair would store
// something the user did not send). Text whose layout is part of its content (a document, a
// system prompt: a trailing newline, an indented first line, CRLF line endings) is sanitized
// keeping its layout instead: the same control characters go except carriage return, and nothing
// is trimmed, so what is stored is byte for byte what was sent when it holds no control
// characters. Pure functions, safe from any thread.

#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace chatd {

bool IsValidUtf8(std::string_view s);
// Number of code points of valid UTF-8.
size_t CountChars(std::string_view utf8);
// The longest prefix of `utf8` holding at most `max_chars` code points.
std::string_view PrefixChars(std::string_view utf8, size_t max_chars);

enum class TextProblem { kNone, kInvalidUtf8, kContainsNul };

struct SanitizedText {
  TextProblem problem = TextProblem::kNone;
  std::string text;  // control characters removed, trimmed; empty when problem != kNone
};
SanitizedText SanitizeUserText(std::string_view raw);
// The layout-keeping variant: control characters removed except newline, tab and carriage
// return; not trimmed.
SanitizedText SanitizeUserTextKeepingLayout(std::string_view raw);
// `utf8` without the whitespace (ASCII and common Unicode spaces) at both ends: what
// SanitizeUserText trims.
std::string_view TrimSpace(std::string_view utf8);

// ASCII lowercase copy.
std::string AsciiLower(std::string_view s);

}  // namespace chatd
