// Fuzz target: json::Document::Parse and the Value accessors (workers/json).
//
// Every request body, every upstream SSE event and every JWT part goes through this parser.
// Properties: a document that parses serialises to valid UTF-8 JSON that parses again to the same
// structure, strings and keys byte for byte; numbers within a relative 1e-14, because RapidJSON's
// default number conversion is not correctly rounded for long literals (this target found that:
// 18446744073709556105 reads a few units in the last place off, and its serialisation reads back
// as a third value; the full-precision flag would fix it but has undefined behaviour of its own
// in RapidJSON 1.1.0, clz(0) on a zero significand such as 0e308, so it stays off); every accessor
// answers for every value without crashing and consistently with type(); Find() finds every key
// that Keys() lists, and finds the same value; nothing nests deeper than the limit; the input is
// never accepted when it holds a raw NUL or is larger than max_bytes.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/text.h"
#include "fuzz_check.h"
#include "json/json.h"

namespace {

using chatd::json::Type;
using chatd::json::Value;

// Walks every value, calling every accessor; returns the depth reached.
int Walk(const Value& v, int depth) {
  const Type t = v.type();
  FUZZ_CHECK(v.AsString().has_value() == (t == Type::kString));
  FUZZ_CHECK(v.AsBool().has_value() == (t == Type::kBool));
  FUZZ_CHECK(v.AsDouble().has_value() == (t == Type::kNumber));
  if (auto i = v.AsInt64()) {
    FUZZ_CHECK(t == Type::kNumber);
  }
  if (auto s = v.AsString()) FUZZ_CHECK(chatd::IsValidUtf8(*s));
  int deepest = depth;
  if (t == Type::kArray) {
    for (size_t i = 0; i < v.ArraySize(); ++i)
      deepest = std::max(deepest, Walk(v.ArrayAt(i), depth + 1));
    FUZZ_CHECK(v.ArrayAt(v.ArraySize()).type() == Type::kNull);  // out of range: a null view
  } else {
    FUZZ_CHECK(v.ArraySize() == 0);
  }
  if (t == Type::kObject) {
    for (std::string_view key : v.Keys()) {
      FUZZ_CHECK(chatd::IsValidUtf8(key));
      std::optional<Value> member = v.Find(key);
      FUZZ_CHECK(member.has_value());  // keys are unique, so this is the one
      deepest = std::max(deepest, Walk(*member, depth + 1));
    }
  } else {
    FUZZ_CHECK(v.Keys().empty());
    FUZZ_CHECK(!v.Find("a").has_value());
  }
  return deepest;
}

// Structural equality; numbers may differ in their last few bits (see the header comment).
bool Same(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return a.AsBool() == b.AsBool();
    case Type::kString:
      return a.AsString() == b.AsString();
    case Type::kNumber: {
      if (a.AsInt64() && b.AsInt64() && *a.AsInt64() == *b.AsInt64()) return true;
      const double x = *a.AsDouble(), y = *b.AsDouble();
      return x == y || std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
    }
    case Type::kArray:
      if (a.ArraySize() != b.ArraySize()) return false;
      for (size_t i = 0; i < a.ArraySize(); ++i) {
        if (!Same(a.ArrayAt(i), b.ArrayAt(i))) return false;
      }
      return true;
    case Type::kObject: {
      if (a.Keys() != b.Keys()) return false;
      for (std::string_view key : a.Keys()) {
        if (!Same(*a.Find(key), *b.Find(key))) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  chatd::json::ParseLimits limits;
  limits.max_bytes = 16 * 1024;
  limits.max_depth = 16;
  auto doc = chatd::json::Document::Parse(text, limits);
  if (!doc.ok()) {
    FUZZ_CHECK(!doc.status().ok());
    return 0;
  }
  FUZZ_CHECK(size <= limits.max_bytes);
  FUZZ_CHECK(text.find('\0') == std::string_view::npos);
  FUZZ_CHECK(chatd::IsValidUtf8(text));  // bytes outside strings are ASCII by the grammar
  const Value root = doc->root();
  FUZZ_CHECK(Walk(root, 1) <= limits.max_depth + 1);

  // Round trip: the serialised form parses (with room for escapes to grow it) and is a fixed point.
  const std::string once = root.Serialize();
  FUZZ_CHECK(chatd::IsValidUtf8(once));
  chatd::json::ParseLimits relaxed = limits;
  relaxed.max_bytes = once.size() + 1;
  auto again = chatd::json::Document::Parse(once, relaxed);
  if (!again.ok()) {
    std::fprintf(stderr, "re-parse failed: %s\n", once.c_str());
    FUZZ_CHECK(again.ok());
  }
  FUZZ_CHECK(Same(root, again->root()));
  return 0;
}
