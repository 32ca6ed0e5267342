// Fuzz target: json::ObjectReader, the typed accessors every handler reads request bodies with.
//
// The input is a JSON body; the reader asks for the fields of a typical request in every flavour
// (sanitized and raw strings, layout kept, integers, numbers, booleans, UUIDs, UUID arrays, a
// nested object through Raw with a prefix). Properties: a field that comes back present and
// non-null obeys its rule (sanitized strings are valid UTF-8 without control characters and
// within their character bounds; integers and numbers within theirs; UUIDs valid and lowercase;
// UUID arrays within max_items and without duplicates); Finish() is OK exactly when no accessor
// recorded an error and the body has no unknown field, and every error names a field.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/text.h"
#include "fuzz_check.h"
#include "json/json.h"

namespace {

using chatd::fuzz::HasNoControls;
using chatd::json::Field;
using chatd::json::ObjectReader;
using chatd::json::StringRule;

void CheckString(const Field<std::string>& f, const StringRule& rule) {
  if (!f.value) return;
  const std::string& s = *f.value;
  FUZZ_CHECK(chatd::IsValidUtf8(s));
  FUZZ_CHECK(s.find('\0') == std::string::npos);
  FUZZ_CHECK(chatd::CountChars(s) <= rule.max_chars);
  if (rule.sanitize) {
    FUZZ_CHECK(HasNoControls(s, rule.keep_layout ? "\n\t\r" : "\n\t"));
    FUZZ_CHECK(chatd::CountChars(chatd::TrimSpace(s)) >= rule.min_chars);
    if (!rule.keep_layout) FUZZ_CHECK(chatd::TrimSpace(s) == s);
  }
}

void CheckUuid(const Field<std::string>& f) {
  if (!f.value) return;
  FUZZ_CHECK(chatd::json::IsUuid(*f.value));
  FUZZ_CHECK(chatd::AsciiLower(*f.value) == *f.value);
}

void ReadBody(chatd::json::Value body, const std::string& prefix, int depth) {
  ObjectReader r(body, prefix);
  StringRule name{.min_chars = 1, .max_chars = 64};
  StringRule content{.min_chars = 1, .max_chars = 5000, .keep_layout = true};
  StringRule raw{.min_chars = 0, .max_chars = 128, .sanitize = false};
  StringRule nullable{.min_chars = 0, .max_chars = 200, .allow_null = true};
  const bool had_errors = r.has_errors();
  CheckString(r.String("name", name, /*required=*/true), name);
  CheckString(r.String("content", content), content);
  CheckString(r.String("password", raw), raw);
  CheckString(r.String("title", nullable), nullable);
  if (auto i = r.Int("limit", 1, 100); i.value) FUZZ_CHECK(*i.value >= 1 && *i.value <= 100);
  if (auto i = r.Int("seq", INT64_MIN, INT64_MAX, false, true); i.is_null()) FUZZ_CHECK(i.present);
  if (auto d = r.Number("temperature", 0.0, 2.0, false, true); d.value) {
    FUZZ_CHECK(*d.value >= 0.0 && *d.value <= 2.0);
  }
  if (auto b = r.Bool("archived"); b.value) FUZZ_CHECK(b.present);
  CheckUuid(r.Uuid("assistant_id", false, true));
  if (auto ids = r.UuidArray("member_ids", 5); ids.value) {
    FUZZ_CHECK(ids.value->size() <= 5);
    std::set<std::string> seen;
    for (const auto& id : *ids.value) {
      FUZZ_CHECK(chatd::json::IsUuid(id) && chatd::AsciiLower(id) == id);
      FUZZ_CHECK(seen.insert(id).second);
    }
  }
  if (auto nested = r.Raw("options"); nested && depth < 3) {
    ReadBody(*nested, prefix + "options.", depth + 1);
  }
  const bool accessor_errors = r.has_errors();
  chatd::Status st = r.Finish();
  if (accessor_errors || had_errors) FUZZ_CHECK(!st.ok());
  for (const auto& e : st.field_errors()) {
    FUZZ_CHECK(!e.message.empty());
    // Only an unknown member whose key is "" (at the top level) has an empty field name.
    FUZZ_CHECK(!e.field.empty() || e.message == "is not a known field");
    FUZZ_CHECK(chatd::IsValidUtf8(e.field));
  }
  FUZZ_CHECK(r.Finish().ok() == st.ok());  // a second Finish reports nothing new
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto doc =
      chatd::json::Document::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!doc.ok()) return 0;
  ReadBody(doc->root(), "", 0);
  return 0;
}
