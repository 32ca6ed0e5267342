// JSON for untrusted input and for responses, with RapidJSON kept behind this header.
//
// Reading: Document::Parse() accepts only what API.md accepts: valid UTF-8, exactly one value and
// nothing after it, no NaN/Infinity, nesting at most ParseLimits::max_depth, no duplicate keys in
// an object, no absurd exponents (Debian's RapidJSON lacks the CVE-2024-38517 fix, so numbers are
// checked before RapidJSON converts them). Values are read through Value's checked accessors, and
// request bodies through ObjectReader, which collects one FieldError per bad field and rejects
// unknown fields, so that a handler never touches an unchecked value.
//
// Writing: Writer is a streaming writer that produces compact UTF-8 JSON into a std::string.
//
// Ownership and threads: a Document owns its tree; a Value is a borrowed view valid while its
// Document lives. Documents, Values and Writers are not shared between threads.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace chatd::json {

struct ParseLimits {
  size_t max_bytes = 64 * 1024;
  int max_depth = 64;
};

enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

class Value {
 public:
  Type type() const;
  bool is_null() const { return type() == Type::kNull; }
  bool is_object() const { return type() == Type::kObject; }
  bool is_array() const { return type() == Type::kArray; }

  // nullopt when the value is of another type (AsInt64: also when not integral or out of range).
  std::optional<std::string_view> AsString() const;
  std::optional<int64_t> AsInt64() const;
  std::optional<double> AsDouble() const;  // any number
  std::optional<bool> AsBool() const;

  // Arrays: the element count and elements (empty/invalid for non-arrays).
  size_t ArraySize() const;
  Value ArrayAt(size_t i) const;
  // Objects: a member by key, and every key in document order.
  std::optional<Value> Find(std::string_view key) const;
  std::vector<std::string_view> Keys() const;

  // The value as compact JSON text (for forwarding a sub-object verbatim).
  std::string Serialize() const;

 private:
  friend class Document;
  explicit Value(const void* v) : v_(v) {}
  const void* v_;  // a const rapidjson::Value*
};

class Document {
 public:
  // Parses untrusted text. Failure is a VALIDATION_ERROR (field "body") with a plain message
  // ("is not valid JSON", "nests deeper than 64 levels", "has the key 'x' twice", ...), or
  // PAYLOAD_TOO_LARGE when text exceeds limits.max_bytes.
  static Result<Document> Parse(std::string_view text, const ParseLimits& limits = {});

  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
  ~Document();

  Value root() const;

 private:
  struct Impl;
  explicit Document(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A field as read from a request: absent, present and null, or present with a value.
template <typename T>
struct Field {
  bool present = false;
  std::optional<T> value;  // nullopt when absent or JSON null
  bool is_null() const { return present && !value; }
};

struct StringRule {
  size_t min_chars = 0;     // after sanitizing and trimming, in code points
  size_t max_chars = 1000;  // in code points, of the value as stored
  bool sanitize = true;     // API.md's user-text rules (core/text.h): control characters removed,
                            // trimmed; NUL rejected
  bool allow_null = false;  // JSON null accepted (Field::is_null())
  // With sanitize: keep the text's layout (SanitizeUserTextKeepingLayout: carriage returns kept,
  // nothing trimmed) for text whose layout is content (documents, prompts). min_chars still
  // counts the trimmed text, so a blank value does not pass a minimum of 1.
  bool keep_layout = false;
};

// Reads one JSON object field by field. Every problem becomes a FieldError named after the field
// (with `prefix` prepended, e.g. "members[2].user_id"); Finish() adds one per unknown field and
// returns OK or a VALIDATION_ERROR with all of them.
class ObjectReader {
 public:
  // `value` must outlive the reader. A non-object records an error on the body itself.
  explicit ObjectReader(Value value, std::string prefix = "");

  Field<std::string> String(std::string_view key, const StringRule& rule, bool required = false);
  Field<int64_t> Int(std::string_view key, int64_t min, int64_t max, bool required = false,
                     bool allow_null = false);
  Field<double> Number(std::string_view key, double min, double max, bool required = false,
                       bool allow_null = false);
  Field<bool> Bool(std::string_view key, bool required = false);
  // A UUID string (any case; returned lowercased).
  Field<std::string> Uuid(std::string_view key, bool required = false, bool allow_null = false);
  // An array of UUID strings, at most max_items, duplicates removed (first kept).
  Field<std::vector<std::string>> UuidArray(std::string_view key, size_t max_items,
                                            bool required = false);
  // The raw member, for nested objects; marks the key as known.
  std::optional<Value> Raw(std::string_view key);

  void AddError(std::string field, std::string message);
  bool has_errors() const { return !errors_.empty(); }
  Status Finish();

 private:
  std::optional<Value> Lookup(std::string_view key, bool required);
  std::string Name(std::string_view key) const;

  std::optional<Value> object_;
  std::string prefix_;
  std::vector<std::string> known_;
  std::vector<FieldError> errors_;
};

bool IsUuid(std::string_view s);

// Streaming writer of compact JSON. Methods append to an internal buffer; misuse (a value where a
// key is expected) is a programming error caught by assertions in debug builds.
class Writer {
 public:
  Writer();
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Writer& StartObject();
  Writer& EndObject();
  Writer& StartArray();
  Writer& EndArray();
  Writer& Key(std::string_view key);
  Writer& String(std::string_view value);
  Writer& Int(int64_t value);
  Writer& Double(double value);
  Writer& Bool(bool value);
  Writer& Null();
  // Inserts already-serialized JSON as one value (e.g. a stored JSON column). The caller
  // guarantees it is valid JSON.
  Writer& Raw(std::string_view json);

  // Key + value shorthands.
  Writer& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  Writer& Field(std::string_view key, const char* value) { return Key(key).String(value); }
  Writer& Field(std::string_view key, const std::string& value) { return Key(key).String(value); }
  Writer& Field(std::string_view key, int64_t value) { return Key(key).Int(value); }
  Writer& Field(std::string_view key, int value) { return Key(key).Int(value); }
  Writer& Field(std::string_view key, bool value) { return Key(key).Bool(value); }
  Writer& Field(std::string_view key, double value) { return Key(key).Double(value); }
  // null when absent.
  Writer& Field(std::string_view key, const std::optional<std::string>& value) {
    Key(key);
    return value ? String(*value) : Null();
  }

  // The text so far (valid until the next write or Take()).
  std::string_view view() const;
  std::string Take();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatd::json
