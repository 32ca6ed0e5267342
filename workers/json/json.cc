// The json module over RapidJSON 1.1.0: hardened parsing of untrusted text, checked readers for
// request bodies, and a streaming writer for responses.
//
// Parsing happens in three steps, cheapest first: a size check (413 before any work), a byte scan
// that rejects what Debian's RapidJSON cannot be trusted with (raw NUL bytes, which its streams
// treat as end of input, and numbers with absurd exponents or digit counts, CVE-2024-38517), and
// finally RapidJSON's iterative parser feeding the Document through a SAX wrapper (Guard) that
// enforces the depth limit, rejects duplicate keys and re-checks every string's UTF-8. The wrapper
// stops the parse at the first problem, so the Document never holds a tree deeper than the limit
// (RapidJSON's own Accept/CopyFrom recurse).
//
// Every failure becomes a VALIDATION_ERROR on the field "body" with a message written for an end
// user; RapidJSON's error codes and offsets never leave this file.

#include "json/json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

// x86-64 always has SSE2; with it, RapidJSON's Writer<StringBuffer> copies runs of characters
// that need no escaping 16 bytes at a time instead of one by one (most of a reply's bytes).
#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/document.h>
#include <rapidjson/error/error.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/text.h"

namespace chatd::json {
namespace {

// Validate UTF-8 inside strings; iterate instead of recursing (deep input cannot exhaust the
// stack). Never kParseStopWhenDoneFlag (accepts trailing garbage), never kParseNanAndInfFlag.
constexpr unsigned kParseFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

// Limits of the number pre-scan. Four significant exponent digits keep RapidJSON's exponent
// arithmetic (exp + expFrac, then Pow10) far from int overflow; anything beyond 1e±9999 is out of
// double range anyway. 400 digits is far more than any honest client sends.
constexpr int kMaxExponentDigits = 4;
constexpr size_t kMaxNumberDigits = 400;
// Keys quoted in error messages are cut to this many characters.
constexpr size_t kMaxQuotedKeyChars = 40;
// Unknown-field errors reported per object: a 64 KiB body of tiny unknown keys would otherwise
// produce a response several times its size.
constexpr size_t kMaxUnknownFieldErrors = 50;

constexpr const char* kNotJson = "is not valid JSON";
constexpr const char* kNotUtf8 = "is not valid UTF-8";
constexpr const char* kOutOfRange = "has a number out of range";

const rapidjson::Value* Raw(const void* v) {
  return static_cast<const rapidjson::Value*>(v);
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Scans the raw text the way the JSON grammar splits it into strings and everything else, and
// returns an error message or nullptr. Outside strings, every run that could be a number is
// measured with a grammar that is a superset of RapidJSON's ('-'? digits ('.' digits)? ([eE]
// [+-]? digits)?), so every exponent RapidJSON would ever accumulate has been looked at first.
// The scan may reject text that RapidJSON would also reject for another reason; it never rejects
// valid JSON with sane numbers.
const char* PreScan(std::string_view text) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const char c = text[i];
    if (c == '\0') return kNotJson;  // RapidJSON's streams would take it for the end of input
    if (c == '"') {
      for (++i; i < n && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;  // skips the escaped character, which may be a quote
      }
      ++i;  // the closing quote (or one past the end of unterminated text)
      continue;
    }
    if (c != '-' && !IsDigit(c)) {
      ++i;
      continue;
    }
    if (c == '-') ++i;
    size_t digits = 0;
    for (; i < n && IsDigit(text[i]); ++i) ++digits;
    if (i < n && text[i] == '.') {
      ++i;
      for (; i < n && IsDigit(text[i]); ++i) ++digits;
    }
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
      ++i;
      if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
      // Leading zeros leave RapidJSON's exponent at 0, so only significant digits count against
      // the exponent limit (all count against the total).
      for (; i < n && text[i] == '0'; ++i) ++digits;
      int significant = 0;
      for (; i < n && IsDigit(text[i]); ++i) ++significant;
      digits += static_cast<size_t>(significant);
      if (significant > kMaxExponentDigits) return kOutOfRange;
    }
    if (digits > kMaxNumberDigits) return kOutOfRange;
  }
  return nullptr;
}

// The key as quoted in an error message: at most kMaxQuotedKeyChars code points.
std::string QuoteKey(std::string_view key) {
  std::string_view cut = PrefixChars(key, kMaxQuotedKeyChars);
  std::string out = "'" + std::string(cut);
  if (cut.size() < key.size()) out += "...";
  return out + "'";
}

// A SAX handler between RapidJSON's reader and the Document it builds. Returning false stops the
// parse (kParseErrorTermination); error_ then says why.
class Guard {
 public:
  Guard(rapidjson::Document& doc, int max_depth) : doc_(doc), max_depth_(max_depth) {}

  const std::string& error() const { return error_; }

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) {
    // RapidJSON's normal-precision conversion can round a literal such as 1.8e308 to infinity.
    if (!std::isfinite(d)) return Fail(kOutOfRange);
    return doc_.Double(d);
  }
  // Only called with kParseNumbersAsStringsFlag, which is not used.
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return Fail(kNotJson); }

  // The reader's buffer is reused after each call, so `copy` is forced: the Document must own its
  // strings. UTF-8 is checked again because RapidJSON 1.1.0 encodes a lone low-surrogate escape
  // (\uDC00) into invalid UTF-8 without complaint.
  bool String(const char* s, rapidjson::SizeType len, bool /*copy*/) {
    if (!IsValidUtf8(std::string_view(s, len))) return Fail(kNotUtf8);
    return doc_.String(s, len, true);
  }
  bool Key(const char* s, rapidjson::SizeType len, bool /*copy*/) {
    std::string_view key(s, len);
    if (!IsValidUtf8(key)) return Fail(kNotUtf8);
    // std::set rather than a hash set: its cost cannot be inflated by crafted colliding keys.
    if (!keys_.back().emplace(key).second) return Fail("has the key " + QuoteKey(key) + " twice");
    return doc_.Key(s, len, true);
  }

  bool StartObject() {
    if (!Enter()) return false;
    keys_.emplace_back();
    return doc_.StartObject();
  }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    keys_.pop_back();
    return doc_.EndObject(members);
  }
  bool StartArray() { return Enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }

 private:
  bool Enter() {
    if (++depth_ > max_depth_) {
      return Fail("nests deeper than " + std::to_string(max_depth_) + " levels");
    }
    return true;
  }
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  rapidjson::Document& doc_;
  const int max_depth_;
  int depth_ = 0;
  std::vector<std::set<std::string, std::less<>>> keys_;  // one per open object
  std::string error_;
};

std::string MessageFor(rapidjson::ParseErrorCode code) {
  switch (code) {
    case rapidjson::kParseErrorStringInvalidEncoding:
      return kNotUtf8;
    case rapidjson::kParseErrorNumberTooBig:
      return kOutOfRange;
    default:
      return kNotJson;
  }
}

std::string TooLargeDetail(size_t max_bytes) {
  std::string limit = max_bytes % 1024 == 0 && max_bytes >= 1024
                          ? std::to_string(max_bytes / 1024) + " KiB"
                          : std::to_string(max_bytes) + " bytes";
  return "The request body is too large (the limit is " + limit + ").";
}

// Shortest round-trip form of a bound for messages: 0.5, 2, 1e+300.
std::string FormatNumber(double d) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  if (ec != std::errc()) return std::to_string(d);
  return std::string(buf, end);
}

std::string CharsMessage(const char* bound, size_t n) {
  return std::string("must be ") + bound + " " + std::to_string(n) +
         (n == 1 ? " character" : " characters");
}

// Output must be valid UTF-8 even when a caller hands over bytes that are not (a truncated
// upstream reply, say): each byte that does not start a valid sequence becomes U+FFFD.
std::string ReplaceInvalidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t len = lead < 0x80                    ? 1
                 : lead >= 0xC2 && lead <= 0xDF ? 2
                 : lead >= 0xE0 && lead <= 0xEF ? 3
                 : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                : 0;
    if (len != 0 && i + len <= s.size() && IsValidUtf8(s.substr(i, len))) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

// RapidJSON 1.1.0's SSE2 scan of a string (writer.h, ScanWriteUnescapedString) compares with 0x19
// where it means 0x1F, so U+001A..U+001F inside a 16-byte run are copied raw: invalid JSON (found
// by tests/fuzz). Such bytes never belong raw in JSON text, so what was written from `from` on is
// fixed up after the fact. Only strings of 16 bytes or more reach the SIMD path.
bool MayHoldRawControls(std::string_view s) {
  if (s.size() < 16) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x1A && static_cast<unsigned char>(c) <= 0x1F) return true;
  }
  return false;
}

void EscapeRawControls(rapidjson::StringBuffer& buffer, size_t from) {
  const std::string tail(buffer.GetString() + from, buffer.GetSize() - from);
  buffer.Pop(tail.size());
  for (char c : tail) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x1A && u <= 0x1F) {
      const char escaped[] = {'\\', 'u', '0', '0', '1', "ABCDEF"[u - 0x1A]};
      std::memcpy(buffer.Push(sizeof escaped), escaped, sizeof escaped);
    } else {
      *buffer.Push(1) = c;
    }
  }
}

}  // namespace

// ---- Value ----

Type Value::type() const {
  const rapidjson::Value* v = Raw(v_);
  if (v == nullptr) return Type::kNull;
  switch (v->GetType()) {
    case rapidjson::kNullType:
      return Type::kNull;
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return Type::kBool;
    case rapidjson::kNumberType:
      return Type::kNumber;
    case rapidjson::kStringType:
      return Type::kString;
    case rapidjson::kArrayType:
      return Type::kArray;
    case rapidjson::kObjectType:
      return Type::kObject;
  }
  return Type::kNull;
}

std::optional<std::string_view> Value::AsString() const {
  const rapidjson::Value* v = Raw(v_);
  if (v == nullptr || !v->IsString()) return std::nullopt;
  return std::string_view(v->GetString(), v->GetStringLength());
}

std::optional<int64_t> Value::AsInt64() const {
  const rapidjson::Value* v = Raw(v_);
  if (v == nullptr || !v->IsNumber()) return std::nullopt;
  if (v->IsInt64()) return v->GetInt64();
  // JSON does not distinguish 5 from 5.0 or 5e0, so an integral double counts, but only up to
  // 2^53, where every integer is still exactly what the client wrote.
  if (v->IsDouble()) {
    const double d = v->GetDouble();
    constexpr double kExact = 9007199254740992.0;  // 2^53
    if (std::trunc(d) == d && std::fabs(d) <= kExact) return static_cast<int64_t>(d);
  }
  return std::nullopt;  // fractional, or a uint64 above INT64_MAX
}

std::optional<double> Value::AsDouble() const {
  const rapidjson::Value* v = Raw(v_);
  if (v == nullptr || !v->IsNumber()) return std::nullopt;
  return v->GetDouble();
}

std::optional<bool> Value::AsBool() const {
  const rapidjson::Value* v = Raw(v_);
  if (v == nullptr || !v->IsBool()) return std::nullopt;
  return v->GetBool();
}

size_t Value::ArraySize() const {
  const rapidjson::Value* v = Raw(v_);
  return v != nullptr && v->IsArray() ? v->Size() : 0;
}

Value Value::ArrayAt(size_t i) const {
  const rapidjson::Value* v = Raw(v_);
  if (v == nullptr || !v->IsArray() || i >= v->Size()) return Value(nullptr);
  return Value(&(*v)[static_cast<rapidjson::SizeType>(i)]);
}

std::optional<Value> Value::Find(std::string_view key) const {
  const rapidjson::Value* v = Raw(v_);
  if (v == nullptr || !v->IsObject()) return std::nullopt;
  // A length-carrying name: keys may contain NUL, and string_views are not terminated.
  const rapidjson::Value name(
      rapidjson::StringRef(key.data() != nullptr ? key.data() : "", key.size()));
  auto it = v->FindMember(name);
  if (it == v->MemberEnd()) return std::nullopt;
  return Value(&it->value);
}

std::vector<std::string_view> Value::Keys() const {
  std::vector<std::string_view> keys;
  const rapidjson::Value* v = Raw(v_);
  if (v == nullptr || !v->IsObject()) return keys;
  keys.reserve(v->MemberCount());
  for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
    keys.emplace_back(it->name.GetString(), it->name.GetStringLength());
  }
  return keys;
}

// ---- Document ----

struct Document::Impl {
  rapidjson::Document doc;
};

Document::Document(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;
Document::~Document() = default;

Value Document::root() const {
  return Value(&impl_->doc);
}

Result<Document> Document::Parse(std::string_view text, const ParseLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status(ErrorCode::kPayloadTooLarge, TooLargeDetail(limits.max_bytes));
  }
  if (const char* problem = PreScan(text)) return Status::Invalid("body", problem);

  auto impl = std::make_unique<Impl>();
  Guard guard(impl->doc, limits.max_depth);
  rapidjson::ParseResult result;
  bool consumed_all = false;
  // Populate() moves the single root the handler built into the Document only when the
  // generator succeeds; on failure it discards the partial tree.
  auto generator = [&](rapidjson::Document& doc) {
    (void)doc;  // events reach it through `guard`
    rapidjson::MemoryStream stream(text.data(), text.size());
    rapidjson::Reader reader;
    result = reader.Parse<kParseFlags>(stream, guard);
    // Belt and braces for the NUL check of PreScan: RapidJSON stops at a NUL byte as if the
    // input ended there.
    consumed_all = stream.Tell() == text.size();
    return !result.IsError() && consumed_all;
  };
  impl->doc.Populate(generator);

  if (result.IsError()) {
    if (result.Code() == rapidjson::kParseErrorTermination && !guard.error().empty()) {
      return Status::Invalid("body", guard.error());
    }
    return Status::Invalid("body", MessageFor(result.Code()));
  }
  if (!consumed_all) return Status::Invalid("body", kNotJson);
  return Document(std::move(impl));
}

// ---- ObjectReader ----

ObjectReader::ObjectReader(Value value, std::string prefix) : prefix_(std::move(prefix)) {
  if (value.is_object()) {
    object_ = value;
  } else {
    // The error names the object itself: "body" at the top level, else the prefix without its
    // trailing dot ("members[2]").
    std::string self = prefix_;
    if (!self.empty() && self.back() == '.') self.pop_back();
    AddError(self.empty() ? "body" : self, "must be an object");
  }
}

std::string ObjectReader::Name(std::string_view key) const {
  // Accepts prefixes with or without the trailing dot: "members[2]." and "members[2]".
  if (prefix_.empty()) return std::string(key);
  if (prefix_.back() == '.') return prefix_ + std::string(key);
  return prefix_ + "." + std::string(key);
}

std::optional<Value> ObjectReader::Lookup(std::string_view key, bool required) {
  known_.emplace_back(key);
  if (!object_) return std::nullopt;  // already reported as "must be an object"
  std::optional<Value> v = object_->Find(key);
  if (!v && required) AddError(Name(key), "is required");
  return v;
}

// On any error the accessors below return an absent Field: callers act on fields only after
// Finish() returned OK, and absent is the harmless reading if one forgets.

Field<std::string> ObjectReader::String(std::string_view key, const StringRule& rule,
                                        bool required) {
  Field<std::string> f;
  std::optional<Value> v = Lookup(key, required);
  if (!v) return f;
  if (v->is_null()) {
    if (!rule.allow_null) AddError(Name(key), "must not be null");
    f.present = rule.allow_null;
    return f;
  }
  std::optional<std::string_view> s = v->AsString();
  if (!s) {
    AddError(Name(key), "must be a string");
    return f;
  }
  std::string text;
  if (rule.sanitize) {
    SanitizedText clean =
        rule.keep_layout ? SanitizeUserTextKeepingLayout(*s) : SanitizeUserText(*s);
    if (clean.problem == TextProblem::kContainsNul) {
      AddError(Name(key), "must not contain NUL characters");
      return f;
    }
    if (clean.problem == TextProblem::kInvalidUtf8) {  // Parse() already refuses it
      AddError(Name(key), "must be valid UTF-8");
      return f;
    }
    text = std::move(clean.text);
  } else {
    // Unsanitized text (passwords, say) is kept byte for byte, but NUL is still refused: no
    // PostgreSQL text column or C API downstream can carry it.
    if (s->find('\0') != std::string_view::npos) {
      AddError(Name(key), "must not contain NUL characters");
      return f;
    }
    text = std::string(*s);
  }
  const size_t chars = CountChars(text);
  const size_t trimmed_chars = rule.keep_layout ? CountChars(TrimSpace(text)) : chars;
  if (trimmed_chars < rule.min_chars) {
    AddError(Name(key), CharsMessage("at least", rule.min_chars));
    return f;
  }
  if (chars > rule.max_chars) {
    AddError(Name(key), CharsMessage("at most", rule.max_chars));
    return f;
  }
  f.present = true;
  f.value = std::move(text);
  return f;
}

Field<int64_t> ObjectReader::Int(std::string_view key, int64_t min, int64_t max, bool required,
                                 bool allow_null) {
  Field<int64_t> f;
  std::optional<Value> v = Lookup(key, required);
  if (!v) return f;
  if (v->is_null()) {
    if (!allow_null) AddError(Name(key), "must not be null");
    f.present = allow_null;
    return f;
  }
  std::optional<int64_t> i = v->AsInt64();
  if (!i || *i < min || *i > max) {
    AddError(Name(key),
             "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return f;
  }
  f.present = true;
  f.value = *i;
  return f;
}

Field<double> ObjectReader::Number(std::string_view key, double min, double max, bool required,
                                   bool allow_null) {
  Field<double> f;
  std::optional<Value> v = Lookup(key, required);
  if (!v) return f;
  if (v->is_null()) {
    if (!allow_null) AddError(Name(key), "must not be null");
    f.present = allow_null;
    return f;
  }
  std::optional<double> d = v->AsDouble();
  if (!d || !(*d >= min && *d <= max)) {
    AddError(Name(key), "must be a number from " + FormatNumber(min) + " to " + FormatNumber(max));
    return f;
  }
  f.present = true;
  f.value = *d;
  return f;
}

Field<bool> ObjectReader::Bool(std::string_view key, bool required) {
  Field<bool> f;
  std::optional<Value> v = Lookup(key, required);
  if (!v) return f;
  if (v->is_null()) {
    AddError(Name(key), "must not be null");
    return f;
  }
  std::optional<bool> b = v->AsBool();
  if (!b) {
    AddError(Name(key), "must be true or false");
    return f;
  }
  f.present = true;
  f.value = *b;
  return f;
}

Field<std::string> ObjectReader::Uuid(std::string_view key, bool required, bool allow_null) {
  Field<std::string> f;
  std::optional<Value> v = Lookup(key, required);
  if (!v) return f;
  if (v->is_null()) {
    if (!allow_null) AddError(Name(key), "must not be null");
    f.present = allow_null;
    return f;
  }
  std::optional<std::string_view> s = v->AsString();
  if (!s || !IsUuid(*s)) {
    AddError(Name(key), "must be a UUID");
    return f;
  }
  f.present = true;
  f.value = AsciiLower(*s);
  return f;
}

Field<std::vector<std::string>> ObjectReader::UuidArray(std::string_view key, size_t max_items,
                                                        bool required) {
  Field<std::vector<std::string>> f;
  std::optional<Value> v = Lookup(key, required);
  if (!v) return f;
  if (v->is_null()) {
    AddError(Name(key), "must not be null");
    return f;
  }
  const std::string message = "must be an array of at most " + std::to_string(max_items) +
                              (max_items == 1 ? " UUID" : " UUIDs");
  // The count is checked before the duplicates are removed: the limit is on what was sent.
  if (!v->is_array() || v->ArraySize() > max_items) {
    AddError(Name(key), message);
    return f;
  }
  std::vector<std::string> ids;
  for (size_t i = 0; i < v->ArraySize(); ++i) {
    std::optional<std::string_view> s = v->ArrayAt(i).AsString();
    if (!s || !IsUuid(*s)) {
      AddError(Name(key), message);
      return f;
    }
    std::string id = AsciiLower(*s);
    bool seen = false;
    for (const auto& prev : ids) seen = seen || prev == id;  // max_items is small
    if (!seen) ids.push_back(std::move(id));
  }
  f.present = true;
  f.value = std::move(ids);
  return f;
}

std::optional<Value> ObjectReader::Raw(std::string_view key) {
  return Lookup(key, false);
}

void ObjectReader::AddError(std::string field, std::string message) {
  errors_.push_back({std::move(field), std::move(message)});
}

Status ObjectReader::Finish() {
  if (object_) {
    size_t reported = 0;
    for (std::string_view key : object_->Keys()) {
      bool known = false;
      for (const auto& k : known_) known = known || k == key;
      if (known) continue;
      // Marked known so that a second Finish() does not report it again.
      known_.emplace_back(key);
      if (reported++ < kMaxUnknownFieldErrors) AddError(Name(key), "is not a known field");
    }
  }
  if (errors_.empty()) return Status::Ok();
  return Status::Invalid(errors_);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!IsHex(s[i])) {
      return false;
    }
  }
  return true;
}

// ---- Writer ----

std::string Value::Serialize() const {
  const rapidjson::Value* v = Raw(v_);
  if (v == nullptr) return "null";
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v->Accept(writer);
  std::string_view out(buffer.GetString(), buffer.GetSize());
  if (MayHoldRawControls(out)) EscapeRawControls(buffer, 0);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// A StringBuffer rather than a stream appending to a std::string: RapidJSON reserves room and
// writes runs (see RAPIDJSON_SSE2 above) only into its own buffer type; a std::string stream took
// one push_back per character. Take() pays one copy of the finished text.
struct Writer::Impl {
  rapidjson::StringBuffer buffer{nullptr, 1024};
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};
};

Writer::Writer() : impl_(std::make_unique<Impl>()) {}
Writer::~Writer() = default;

Writer& Writer::StartObject() {
  impl_->writer.StartObject();
  return *this;
}

Writer& Writer::EndObject() {
  impl_->writer.EndObject();
  return *this;
}

Writer& Writer::StartArray() {
  impl_->writer.StartArray();
  return *this;
}

Writer& Writer::EndArray() {
  impl_->writer.EndArray();
  return *this;
}

Writer& Writer::Key(std::string_view key) {
  const size_t before = impl_->buffer.GetSize();
  if (IsValidUtf8(key)) {
    impl_->writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()), true);
  } else {
    std::string fixed = ReplaceInvalidUtf8(key);
    impl_->writer.Key(fixed.data(), static_cast<rapidjson::SizeType>(fixed.size()), true);
  }
  if (MayHoldRawControls(key)) EscapeRawControls(impl_->buffer, before);
  return *this;
}

Writer& Writer::String(std::string_view value) {
  // RapidJSON escapes quotes, backslashes and C0 controls; other bytes pass through as UTF-8.
  const size_t before = impl_->buffer.GetSize();
  if (IsValidUtf8(value)) {
    impl_->writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()), true);
  } else {
    std::string fixed = ReplaceInvalidUtf8(value);
    impl_->writer.String(fixed.data(), static_cast<rapidjson::SizeType>(fixed.size()), true);
  }
  if (MayHoldRawControls(value)) EscapeRawControls(impl_->buffer, before);
  return *this;
}

Writer& Writer::Int(int64_t value) {
  impl_->writer.Int64(value);
  return *this;
}

Writer& Writer::Double(double value) {
  // RapidJSON writes the separator before it refuses NaN/Inf, which would leave broken output;
  // JSON has no such values, so they become null.
  if (!std::isfinite(value)) return Null();
  impl_->writer.Double(value);
  return *this;
}

Writer& Writer::Bool(bool value) {
  impl_->writer.Bool(value);
  return *this;
}

Writer& Writer::Null() {
  impl_->writer.Null();
  return *this;
}

Writer& Writer::Raw(std::string_view json) {
  if (json.empty()) return Null();  // an empty column would otherwise produce invalid output
  // The type only feeds RapidJSON's debug assertion that object keys are strings; a raw value is
  // never a key.
  // RapidJSON's RawValue copies one character at a time: let it write only what goes before the
  // value (a comma, say, and its bookkeeping), then append the bytes in one copy.
  impl_->writer.RawValue("", 0, rapidjson::kObjectType);
  std::memcpy(impl_->buffer.Push(json.size()), json.data(), json.size());
  return *this;
}

std::string_view Writer::view() const {
  return std::string_view(impl_->buffer.GetString(), impl_->buffer.GetSize());
}

std::string Writer::Take() {
  std::string out(impl_->buffer.GetString(), impl_->buffer.GetSize());
  impl_->buffer.Clear();
  impl_->writer.Reset(impl_->buffer);
  return out;
}

}  // namespace chatd::json
