// Small helpers shared by the wire formats (openai.cc, anthropic.cc): reading upstream JSON with
// generous but finite limits, reading optional members without ceremony, and cutting upstream text
// down to something safe to log.
//
// Pure functions, safe from any thread.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "json/json.h"

namespace chatd::llm {

// Parses JSON that an upstream sent (one SSE event's data, or a whole body): at most `max_bytes`,
// nesting as json.h allows. nullopt when it is not valid JSON.
std::optional<json::Document> ParseUpstreamJson(std::string_view text, size_t max_bytes);

// The string member `key` of an object, or "" (absent, null or not a string).
std::string_view StringMember(const json::Value& object, std::string_view key);
// The integer member `key` of an object, or nullopt.
std::optional<int64_t> IntMember(const json::Value& object, std::string_view key);
// The member `key` when it is an object, or nullopt.
std::optional<json::Value> ObjectMember(const json::Value& object, std::string_view key);

// At most `max_bytes` of `text` with control characters replaced by spaces, for a log field.
std::string LogSnippet(std::string_view text, size_t max_bytes = 300);

}  // namespace chatd::llm
