// Unit tests of the json module: what Document::Parse accepts and refuses (the hostile inputs of
// PITFALLS.md in particular: depth, duplicate keys, huge exponents, bad UTF-8, unterminated
// buffers), the checked Value accessors, ObjectReader's per-field errors, and Writer's output.
// Each parse failure is checked for its code, field and message, because those reach the client.

#include "json/json.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/text.h"

namespace chatd::json {
namespace {

using ::testing::ElementsAre;

Document MustParse(std::string_view text) {
  Result<Document> doc = Document::Parse(text);
  EXPECT_TRUE(doc.ok()) << "rejected: " << text;
  if (!doc.ok()) return std::move(Document::Parse("null").value());
  return std::move(doc).value();
}

// The single "body" message of a rejected parse, or "" when it was accepted.
std::string BodyError(std::string_view text, const ParseLimits& limits = {}) {
  Result<Document> doc = Document::Parse(text, limits);
  if (doc.ok()) return "";
  const Status& s = doc.status();
  EXPECT_EQ(s.code(), ErrorCode::kValidation);
  EXPECT_EQ(s.field_errors().size(), 1u);
  if (s.field_errors().size() != 1) return "?";
  EXPECT_EQ(s.field_errors()[0].field, "body");
  return s.field_errors()[0].message;
}

std::string Nested(int depth, char open = '[', char close = ']') {
  return std::string(static_cast<size_t>(depth), open) +
         std::string(static_cast<size_t>(depth), close);
}

// ---- Parsing: accepted documents ----

TEST(JsonParse, AcceptsValidDocuments) {
  Document doc = MustParse(
      R"( {"s": "h\u00e9llo \"q\"", "i": -42, "big": 9007199254740993, "d": 0.5,
           "t": true, "f": false, "n": null, "a": [1, "two", [3]], "o": {"k": {}}} )");
  Value root = doc.root();
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(root.type(), Type::kObject);
  EXPECT_THAT(root.Keys(), ElementsAre("s", "i", "big", "d", "t", "f", "n", "a", "o"));
  EXPECT_EQ(root.Find("s")->AsString(), "h\xC3\xA9llo \"q\"");
  EXPECT_EQ(root.Find("i")->AsInt64(), -42);
  EXPECT_EQ(root.Find("big")->AsInt64(), 9007199254740993);
  EXPECT_EQ(root.Find("d")->AsDouble(), 0.5);
  EXPECT_EQ(root.Find("t")->AsBool(), true);
  EXPECT_EQ(root.Find("f")->AsBool(), false);
  EXPECT_TRUE(root.Find("n")->is_null());
  EXPECT_FALSE(root.Find("missing").has_value());
  Value a = *root.Find("a");
  ASSERT_TRUE(a.is_array());
  ASSERT_EQ(a.ArraySize(), 3u);
  EXPECT_EQ(a.ArrayAt(0).AsInt64(), 1);
  EXPECT_EQ(a.ArrayAt(1).AsString(), "two");
  EXPECT_EQ(a.ArrayAt(2).ArrayAt(0).AsInt64(), 3);
  EXPECT_TRUE(root.Find("o")->Find("k")->is_object());
}

TEST(JsonParse, AcceptsScalarRootsAndWhitespace) {
  EXPECT_EQ(MustParse("  \"x\"\n").root().AsString(), "x");
  EXPECT_EQ(MustParse("12").root().AsInt64(), 12);
  EXPECT_TRUE(MustParse("null").root().is_null());
  EXPECT_EQ(MustParse("[]").root().ArraySize(), 0u);
}

TEST(JsonParse, ReasonableNumbersAreAccepted) {
  EXPECT_EQ(MustParse("1e308").root().AsDouble(), 1e308);
  EXPECT_EQ(MustParse("-2.5E-3").root().AsDouble(), -2.5e-3);
  EXPECT_EQ(MustParse("1e-9999").root().AsDouble(), 0.0);    // underflows to zero, harmlessly
  EXPECT_EQ(MustParse("1e00002").root().AsDouble(), 100.0);  // leading exponent zeros are fine
  EXPECT_EQ(MustParse(std::string(300, '1')).root().type(), Type::kNumber);
}

TEST(JsonParse, EmbeddedEscapedNulIsKeptWithItsLength) {
  Document doc = MustParse(R"({"a\u0000b": "x\u0000y"})");
  EXPECT_THAT(doc.root().Keys(), ElementsAre(std::string_view("a\0b", 3)));
  EXPECT_EQ(doc.root().Find(std::string_view("a\0b", 3))->AsString(), std::string_view("x\0y", 3));
  EXPECT_FALSE(doc.root().Find("a").has_value());
}

TEST(JsonParse, DoesNotReadPastTheGivenLength) {
  // The view is a prefix of a larger buffer: no NUL terminator, and what follows must not count.
  const std::string buffer = R"({"a": 1}, "garbage")";
  Document doc = MustParse(std::string_view(buffer).substr(0, 8));
  EXPECT_EQ(doc.root().Find("a")->AsInt64(), 1);

  // Cut inside the value: the parser must not see the rest of the buffer.
  const std::string longer = R"({"a": 12345})";
  EXPECT_EQ(BodyError(std::string_view(longer).substr(0, 9)), "is not valid JSON");
  const std::string digits = "123456";
  EXPECT_EQ(MustParse(std::string_view(digits).substr(0, 3)).root().AsInt64(), 123);

  // A heap buffer of exactly the text's size, so ASan sees any over-read.
  auto heap = std::make_unique<char[]>(4);
  std::memcpy(heap.get(), "[1,2", 4);
  EXPECT_EQ(BodyError(std::string_view(heap.get(), 4)), "is not valid JSON");
  std::memcpy(heap.get(), "\"ab\"", 4);
  EXPECT_EQ(MustParse(std::string_view(heap.get(), 4)).root().AsString(), "ab");
}

// ---- Parsing: refused documents ----

TEST(JsonParse, RejectsMalformedText) {
  for (const char* text : {"", " ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "{\"a\" 1}", "01x", "tru",
                           "\"unterminated", "[1 2]", "/*c*/{}", "\"\\x\""}) {
    EXPECT_EQ(BodyError(text), "is not valid JSON") << text;
  }
}

TEST(JsonParse, RejectsTrailingGarbage) {
  EXPECT_EQ(BodyError("{} {}"), "is not valid JSON");
  EXPECT_EQ(BodyError("{}x"), "is not valid JSON");
  EXPECT_EQ(BodyError("[1]]"), "is not valid JSON");
  EXPECT_EQ(BodyError("1 2"), "is not valid JSON");
  // A raw NUL looks like the end of input to RapidJSON's streams.
  EXPECT_EQ(BodyError(std::string_view("{}\0garbage", 10)), "is not valid JSON");
  EXPECT_EQ(BodyError(std::string_view("{}\0", 3)), "is not valid JSON");
  EXPECT_EQ(BodyError(std::string_view("[\"a\0\"]", 6)), "is not valid JSON");
}

TEST(JsonParse, RejectsInvalidUtf8) {
  const char* cases[] = {
      "\"\xC0\xAF\"",          // overlong '/'
      "\"\xE0\x80\xAF\"",      // overlong, three bytes
      "\"\xED\xA0\x80\"",      // UTF-16 surrogate D800 encoded directly
      "\"\xF4\x90\x80\x80\"",  // beyond U+10FFFF
      "\"\xE2\x82\"",          // truncated sequence
      "\"\x80\"",              // lone continuation byte
      "\"\xFF\"",              // never valid
      "{\"\xC3\": 1}",         // truncated, in a key
  };
  for (const char* text : cases) EXPECT_EQ(BodyError(text), "is not valid UTF-8") << text;
  // Truncated at the very end of the buffer.
  EXPECT_NE(BodyError("\"\xE2\x82"), "");
}

TEST(JsonParse, RejectsBadSurrogateEscapes) {
  EXPECT_NE(BodyError(R"("\ud800")"), "");        // lone high surrogate
  EXPECT_NE(BodyError(R"("\ud800\u0041")"), "");  // high surrogate, then not a low one
  EXPECT_EQ(BodyError(R"("\udc00")"),
            "is not valid UTF-8");  // lone low: RapidJSON 1.1.0 lets it by
  EXPECT_EQ(BodyError(R"({"\udfff": 1})"), "is not valid UTF-8");
  EXPECT_EQ(MustParse(R"("\ud83d\ude00")").root().AsString(), "\xF0\x9F\x98\x80");
}

TEST(JsonParse, DepthLimit) {
  EXPECT_EQ(BodyError(Nested(64)), "");
  EXPECT_EQ(BodyError(Nested(65)), "nests deeper than 64 levels");
  std::string objects;
  for (int i = 0; i < 64; ++i) objects += "{\"a\":";
  EXPECT_EQ(BodyError(objects + "1" + std::string(64, '}')), "");
  EXPECT_EQ(BodyError(objects + "{}" + std::string(64, '}')), "nests deeper than 64 levels");
  // Mixed, and a custom limit.
  ParseLimits shallow;
  shallow.max_depth = 2;
  EXPECT_EQ(BodyError(R"({"a": [1]})", shallow), "");
  EXPECT_EQ(BodyError(R"({"a": [{}]})", shallow), "nests deeper than 2 levels");
  // Depth is nesting, not the number of containers.
  std::string wide = "[";
  for (int i = 0; i < 1000; ++i) wide += Nested(10) + ",";
  wide += "1]";
  EXPECT_EQ(BodyError(wide), "");
}

TEST(JsonParse, VeryDeepNestingIsRejectedWithoutCrashing) {
  ParseLimits big;
  big.max_bytes = 1 << 20;
  EXPECT_EQ(BodyError(Nested(100000), big), "nests deeper than 64 levels");
  EXPECT_EQ(BodyError(std::string(100000, '['), big), "nests deeper than 64 levels");
  std::string objects;
  for (int i = 0; i < 50000; ++i) objects += "{\"a\":";
  EXPECT_EQ(BodyError(objects, big), "nests deeper than 64 levels");
}

TEST(JsonParse, RejectsDuplicateKeys) {
  EXPECT_EQ(BodyError(R"({"a": 1, "a": 2})"), "has the key 'a' twice");
  EXPECT_EQ(BodyError(R"({"x": {"b": 1, "c": 2, "b": 3}})"), "has the key 'b' twice");
  EXPECT_EQ(BodyError(R"([{"k": 1}, {"k": 2, "k": 3}])"), "has the key 'k' twice");
  // The same key is fine in different objects, including parent and child.
  EXPECT_EQ(BodyError(R"({"k": {"k": {"k": 1}}, "j": [{"k": 1}, {"k": 2}]})"), "");
  // Escapes are compared after decoding.
  EXPECT_EQ(BodyError(R"({"a": 1, "\u0061": 2})"), "has the key 'a' twice");
  // Long keys are cut in the message.
  const std::string key(100, 'k');
  const std::string msg = BodyError("{\"" + key + "\":1,\"" + key + "\":2}");
  EXPECT_EQ(msg, "has the key '" + std::string(40, 'k') + "...' twice");
}

TEST(JsonParse, RejectsHugeExponents) {
  for (const char* text : {"1e-99999999999", "1e2147483648", "[1E+2147483647]", "1e-2147483649",
                           "0.0000001e-2147483647", "{\"a\": -1.5e99999}", "1e10000"}) {
    EXPECT_EQ(BodyError(text), "has a number out of range") << text;
  }
  // Also when the exponent follows a long run of fraction digits (expFrac), the CVE's trigger.
  EXPECT_EQ(BodyError("0." + std::string(300, '0') + "1e-2147483600"), "has a number out of range");
}

TEST(JsonParse, RejectsOutOfRangeNumbers) {
  EXPECT_EQ(BodyError("1e309"), "has a number out of range");
  EXPECT_EQ(BodyError("-1e400"), "has a number out of range");
  EXPECT_EQ(BodyError("1.8e308"), "has a number out of range");  // rounds to infinity
  EXPECT_EQ(BodyError(std::string(401, '1')), "has a number out of range");
  EXPECT_EQ(BodyError("0." + std::string(401, '1')), "has a number out of range");
}

TEST(JsonParse, NumberScanSkipsStrings) {
  // Digits inside strings, including after escaped quotes, are not numbers.
  Document doc = MustParse(R"({"a": "1e-99999999999", "b\"1e99999": "\\", "c": "\"1e99999\""})");
  EXPECT_EQ(doc.root().Find("a")->AsString(), "1e-99999999999");
  EXPECT_EQ(doc.root().Find("c")->AsString(), "\"1e99999\"");
  // ...but a number after an escaped backslash that ends a string is one.
  EXPECT_EQ(BodyError(R"(["\\", 1e99999])"), "has a number out of range");
}

TEST(JsonParse, RejectsNanAndInfinity) {
  for (const char* text :
       {"NaN", "-NaN", "Infinity", "-Infinity", "[1, NaN]", "{\"a\": Infinity}", "inf", "nan"}) {
    EXPECT_EQ(BodyError(text), "is not valid JSON") << text;
  }
}

TEST(JsonParse, SizeLimitIsPayloadTooLarge) {
  ParseLimits small;
  small.max_bytes = 10;
  EXPECT_TRUE(Document::Parse("[1,2,3,45]", small).ok());  // exactly at the limit
  Result<Document> doc = Document::Parse("[1,2,3,456]", small);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(doc.status().field_errors().empty());
  // The default limit is 64 KiB, checked before parsing (this text is not even JSON).
  Result<Document> big = Document::Parse(std::string(64 * 1024 + 1, 'x'));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(big.status().detail(), "The request body is too large (the limit is 64 KiB).");
}

TEST(JsonParse, MessagesCarryNoInternals) {
  Result<Document> doc = Document::Parse("{\"a\": [1, 2,, 3]}");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().field_errors()[0].message, "is not valid JSON");
  EXPECT_EQ(doc.status().detail().find("offset"), std::string::npos);
}

// Every string and key in an accepted tree is valid UTF-8 and every key can be found again.
bool TreeIsSound(Value v) {
  if (auto s = v.AsString()) return IsValidUtf8(*s);
  for (size_t i = 0; i < v.ArraySize(); ++i) {
    if (!TreeIsSound(v.ArrayAt(i))) return false;
  }
  for (std::string_view key : v.Keys()) {
    std::optional<Value> member = v.Find(key);
    if (!IsValidUtf8(key) || !member || !TreeIsSound(*member)) return false;
  }
  return true;
}

// Random mutations of a seed document: nothing may crash or trip the sanitizers, and whatever is
// accepted is sound.
TEST(JsonParse, SurvivesMutatedInput) {
  const std::string seed =
      R"({"a": [1, -2.5e-3, "x\u00e9\"y", {"b": null, "c": [true, false]}], "d": 1e5, "e": ""})";
  const char alphabet[] = "{}[]\",:-+.eE0123456789 tfnul\\\x00\x80\xC3\xED\xF4";
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = seed;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = next() % text.size();
      const char c = alphabet[next() % (sizeof(alphabet) - 1)];
      switch (next() % 3) {
        case 0:
          text[pos] = c;
          break;
        case 1:
          text.insert(pos, 1, c);
          break;
        default:
          text.erase(pos, 1);
          break;
      }
      if (text.empty()) text = "x";
    }
    Result<Document> doc = Document::Parse(text);
    if (!doc.ok()) {
      EXPECT_EQ(doc.status().code(), ErrorCode::kValidation);
      continue;
    }
    ++accepted;
    EXPECT_TRUE(TreeIsSound(doc->root())) << text;
  }
  EXPECT_GT(accepted, 0);
}

TEST(JsonDocument, MoveKeepsValuesValid) {
  Document a = MustParse(R"({"k": "v"})");
  Document b = std::move(a);
  EXPECT_EQ(b.root().Find("k")->AsString(), "v");
  Document c = MustParse("1");
  c = std::move(b);
  EXPECT_EQ(c.root().Find("k")->AsString(), "v");
}

// ---- Value accessors ----

TEST(JsonValue, AccessorsReturnNulloptForOtherTypes) {
  Document doc = MustParse(R"({"s": "1", "n": 1, "b": true, "z": null, "a": [], "o": {}})");
  Value r = doc.root();
  EXPECT_FALSE(r.Find("s")->AsInt64());
  EXPECT_FALSE(r.Find("s")->AsDouble());
  EXPECT_FALSE(r.Find("s")->AsBool());
  EXPECT_FALSE(r.Find("n")->AsString());
  EXPECT_FALSE(r.Find("n")->AsBool());
  EXPECT_FALSE(r.Find("b")->AsInt64());
  EXPECT_FALSE(r.Find("z")->AsString());
  EXPECT_EQ(r.Find("z")->type(), Type::kNull);
  EXPECT_EQ(r.Find("b")->type(), Type::kBool);
  EXPECT_EQ(r.Find("n")->type(), Type::kNumber);
  EXPECT_EQ(r.Find("s")->type(), Type::kString);
  EXPECT_EQ(r.Find("a")->type(), Type::kArray);
  // Non-containers: empty, and lookups fail softly.
  EXPECT_EQ(r.Find("s")->ArraySize(), 0u);
  EXPECT_TRUE(r.Find("s")->ArrayAt(0).is_null());
  EXPECT_FALSE(r.Find("a")->Find("x"));
  EXPECT_TRUE(r.Find("a")->Keys().empty());
  EXPECT_EQ(r.ArraySize(), 0u);
  // Out of range array index: an invalid (null) value whose accessors all fail.
  Value missing = r.Find("a")->ArrayAt(5);
  EXPECT_TRUE(missing.is_null());
  EXPECT_FALSE(missing.AsString());
  EXPECT_FALSE(missing.Find("x"));
  EXPECT_TRUE(missing.Keys().empty());
}

TEST(JsonValue, AsInt64OnlyForIntegralNumbersThatFit) {
  auto as_int = [](const char* text) { return MustParse(text).root().AsInt64(); };
  EXPECT_EQ(as_int("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(as_int("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(as_int("9223372036854775808"));  // a uint64
  EXPECT_FALSE(as_int("18446744073709551615"));
  EXPECT_FALSE(as_int("99999999999999999999"));  // a double
  EXPECT_FALSE(as_int("1.5"));
  EXPECT_FALSE(as_int("1e300"));
  EXPECT_EQ(as_int("5.0"), 5);  // integral: JSON does not tell 5 from 5.0
  EXPECT_EQ(as_int("2e3"), 2000);
  EXPECT_EQ(as_int("-0"), 0);
  // AsDouble takes every number.
  EXPECT_EQ(MustParse("9223372036854775808").root().AsDouble(), 9223372036854775808.0);
  EXPECT_EQ(MustParse("7").root().AsDouble(), 7.0);
}

// ---- ObjectReader ----

std::vector<std::pair<std::string, std::string>> ErrorsOf(const Status& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : s.field_errors()) out.emplace_back(e.field, e.message);
  return out;
}

using P = std::pair<std::string, std::string>;

TEST(ObjectReader, ReadsValidFields) {
  Document doc = MustParse(
      R"({"name": "  Ada\u0007 ", "n": 3, "x": 0.25, "b": false,
          "id": "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D", "nil": null,
          "ids": ["aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", "AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA",
                  "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"],
          "sub": {"k": 1}})");
  ObjectReader r(doc.root());
  Field<std::string> name = r.String("name", {.min_chars = 1, .max_chars = 10}, true);
  Field<int64_t> n = r.Int("n", 1, 5, true);
  Field<double> x = r.Number("x", 0, 1);
  Field<bool> b = r.Bool("b");
  Field<std::string> id = r.Uuid("id", true);
  Field<std::string> nil = r.String("nil", {.allow_null = true});
  Field<std::vector<std::string>> ids = r.UuidArray("ids", 3);
  std::optional<Value> sub = r.Raw("sub");
  Field<int64_t> absent = r.Int("absent", 0, 1);
  ASSERT_TRUE(r.Finish().ok()) << ErrorsOf(r.Finish()).size();

  EXPECT_TRUE(name.present);
  EXPECT_EQ(name.value, "Ada");  // sanitized: control character removed, trimmed
  EXPECT_EQ(n.value, 3);
  EXPECT_EQ(x.value, 0.25);
  EXPECT_EQ(b.value, false);
  EXPECT_EQ(id.value, "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d");
  EXPECT_TRUE(nil.present);
  EXPECT_TRUE(nil.is_null());
  EXPECT_FALSE(nil.value);
  ASSERT_TRUE(ids.value);
  EXPECT_THAT(*ids.value, ElementsAre("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
                                      "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"));
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->Find("k")->AsInt64(), 1);
  EXPECT_FALSE(absent.present);
  EXPECT_FALSE(absent.is_null());
}

TEST(ObjectReader, RequiredNullUnknownAndWrongType) {
  Document doc = MustParse(
      R"({"s": 5, "i": "5", "d": true, "b": "yes", "u": "not-a-uuid", "nul": null,
          "extra": 1, "more": {}})");
  ObjectReader r(doc.root());
  EXPECT_FALSE(r.String("s", {}).present);
  EXPECT_FALSE(r.Int("i", 0, 10).present);
  EXPECT_FALSE(r.Number("d", 0, 1).present);
  EXPECT_FALSE(r.Bool("b").present);
  EXPECT_FALSE(r.Uuid("u").present);
  EXPECT_FALSE(r.String("nul", {}).present);
  EXPECT_FALSE(r.String("req", {}, true).present);
  EXPECT_TRUE(r.has_errors());
  Status s = r.Finish();
  EXPECT_EQ(s.code(), ErrorCode::kValidation);
  EXPECT_THAT(
      ErrorsOf(s),
      ElementsAre(P{"s", "must be a string"}, P{"i", "must be an integer from 0 to 10"},
                  P{"d", "must be a number from 0 to 1"}, P{"b", "must be true or false"},
                  P{"u", "must be a UUID"}, P{"nul", "must not be null"}, P{"req", "is required"},
                  P{"extra", "is not a known field"}, P{"more", "is not a known field"}));
  // Finish() is idempotent.
  EXPECT_EQ(ErrorsOf(r.Finish()).size(), 9u);
}

TEST(ObjectReader, NullHandlingPerAccessor) {
  Document doc = MustParse(R"({"a": null, "b": null, "c": null, "d": null, "e": null})");
  ObjectReader r(doc.root());
  EXPECT_TRUE(r.Int("a", 0, 1, true, true).is_null());
  EXPECT_TRUE(r.Number("b", 0, 1, false, true).is_null());
  EXPECT_TRUE(r.Uuid("c", true, true).is_null());
  EXPECT_FALSE(r.Bool("d").present);
  EXPECT_FALSE(r.UuidArray("e", 3).present);
  EXPECT_THAT(ErrorsOf(r.Finish()),
              ElementsAre(P{"d", "must not be null"}, P{"e", "must not be null"}));
}

TEST(ObjectReader, Ranges) {
  Document doc = MustParse(
      R"({"lo": 0, "hi": 101, "ok": 100, "frac": 1.5, "big": 1e300, "t": 2.01, "t2": -0.5,
          "tok": 2, "int_as_float": 7.0})");
  ObjectReader r(doc.root());
  r.Int("lo", 1, 100);
  r.Int("hi", 1, 100);
  EXPECT_EQ(r.Int("ok", 1, 100).value, 100);
  r.Int("frac", 1, 100);
  r.Int("big", 1, 100);
  r.Number("t", 0, 2);
  r.Number("t2", 0.5, 1.5);
  EXPECT_EQ(r.Number("tok", 0, 2).value, 2.0);
  EXPECT_EQ(r.Int("int_as_float", 0, 10).value, 7);
  EXPECT_THAT(ErrorsOf(r.Finish()), ElementsAre(P{"lo", "must be an integer from 1 to 100"},
                                                P{"hi", "must be an integer from 1 to 100"},
                                                P{"frac", "must be an integer from 1 to 100"},
                                                P{"big", "must be an integer from 1 to 100"},
                                                P{"t", "must be a number from 0 to 2"},
                                                P{"t2", "must be a number from 0.5 to 1.5"}));
}

TEST(ObjectReader, StringRules) {
  Document doc = MustParse(
      R"({"short": " a ", "long": "abcdef", "cp": "\u00e9\u00e9\u00e9", "nul": "a\u0000b",
          "rawnul": "a\u0000b", "raw": "  keep\u0001 ", "blank": " \t\n ", "one": "",
          "emoji": "\ud83d\ude00\ud83d\ude00"})");
  ObjectReader r(doc.root());
  r.String("short", {.min_chars = 2});
  r.String("long", {.max_chars = 5});
  // Lengths are code points, not bytes: three two-byte characters fit in 3.
  EXPECT_EQ(r.String("cp", {.max_chars = 3}).value, "\xC3\xA9\xC3\xA9\xC3\xA9");
  r.String("nul", {});
  r.String("rawnul", {.sanitize = false});
  EXPECT_EQ(r.String("raw", {.sanitize = false}).value, "  keep\x01 ");
  r.String("blank", {.min_chars = 1});
  r.String("one", {.min_chars = 1});
  EXPECT_EQ(r.String("emoji", {.max_chars = 2}).value, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80");
  EXPECT_THAT(ErrorsOf(r.Finish()), ElementsAre(P{"short", "must be at least 2 characters"},
                                                P{"long", "must be at most 5 characters"},
                                                P{"nul", "must not contain NUL characters"},
                                                P{"rawnul", "must not contain NUL characters"},
                                                P{"blank", "must be at least 1 character"},
                                                P{"one", "must be at least 1 character"}));
}

TEST(ObjectReader, Uuids) {
  EXPECT_TRUE(IsUuid("01234567-89ab-cdef-ABCD-EF0123456789"));
  EXPECT_FALSE(IsUuid("01234567-89ab-cdef-abcd-ef012345678"));    // short
  EXPECT_FALSE(IsUuid("01234567-89ab-cdef-abcd-ef01234567890"));  // long
  EXPECT_FALSE(IsUuid("0123456789ab-cdef-abcd-ef0123456789--"));
  EXPECT_FALSE(IsUuid("01234567_89ab_cdef_abcd_ef0123456789"));
  EXPECT_FALSE(IsUuid("g1234567-89ab-cdef-abcd-ef0123456789"));
  EXPECT_FALSE(IsUuid("{1234567-89ab-cdef-abcd-ef0123456789}"));
  EXPECT_FALSE(IsUuid(""));

  const std::string a = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
  Document doc =
      MustParse(R"({"too_many": [")" + a + R"(", ")" + a + R"(", ")" + a + R"("], "bad_item": [")" +
                a + R"(", 7], "not_array": ")" + a + R"(", "bad": ["x"], "empty": [], "one": 5})");
  ObjectReader r(doc.root());
  r.UuidArray("too_many", 2);
  r.UuidArray("bad_item", 5);
  r.UuidArray("not_array", 5);
  r.UuidArray("bad", 1);
  Field<std::vector<std::string>> empty = r.UuidArray("empty", 5, true);
  r.Uuid("one");
  EXPECT_TRUE(empty.present);
  EXPECT_TRUE(empty.value && empty.value->empty());
  EXPECT_THAT(
      ErrorsOf(r.Finish()),
      ElementsAre(P{"too_many", "must be an array of at most 2 UUIDs"},
                  P{"bad_item", "must be an array of at most 5 UUIDs"},
                  P{"not_array", "must be an array of at most 5 UUIDs"},
                  P{"bad", "must be an array of at most 1 UUID"}, P{"one", "must be a UUID"}));
}

TEST(ObjectReader, PrefixAndNestedReaders) {
  Document doc = MustParse(R"({"members": [{"user_id": "x", "role": "owner", "zzz": 1}, 5]})");
  ObjectReader top(doc.root());
  std::optional<Value> members = top.Raw("members");
  ASSERT_TRUE(members && members->is_array());
  ObjectReader first(members->ArrayAt(0), "members[0].");
  first.Uuid("user_id", true);
  first.String("role", {});
  first.Int("weight", 0, 1, true);
  EXPECT_THAT(ErrorsOf(first.Finish()), ElementsAre(P{"members[0].user_id", "must be a UUID"},
                                                    P{"members[0].weight", "is required"},
                                                    P{"members[0].zzz", "is not a known field"}));
  // Prefix without the trailing dot works the same; a non-object names the element itself.
  ObjectReader second(members->ArrayAt(1), "members[1]");
  EXPECT_TRUE(second.has_errors());
  second.Uuid("user_id", true);  // no further errors once the value is not an object
  EXPECT_THAT(ErrorsOf(second.Finish()), ElementsAre(P{"members[1]", "must be an object"}));
  ObjectReader dotless(members->ArrayAt(0), "m");
  dotless.Raw("user_id");
  dotless.Raw("role");
  EXPECT_THAT(ErrorsOf(dotless.Finish()), ElementsAre(P{"m.zzz", "is not a known field"}));
  EXPECT_TRUE(top.Finish().ok());
}

TEST(ObjectReader, NonObjectBody) {
  for (const char* text : {"[]", "1", "\"s\"", "null"}) {
    Document doc = MustParse(text);
    ObjectReader r(doc.root());
    r.String("a", {}, true);
    EXPECT_THAT(ErrorsOf(r.Finish()), ElementsAre(P{"body", "must be an object"})) << text;
  }
}

TEST(ObjectReader, AddErrorAndEmptyObject) {
  Document doc = MustParse("{}");
  ObjectReader r(doc.root());
  EXPECT_FALSE(r.has_errors());
  EXPECT_TRUE(r.Finish().ok());
  r.AddError("password", "is too common");
  EXPECT_THAT(ErrorsOf(r.Finish()), ElementsAre(P{"password", "is too common"}));
}

TEST(ObjectReader, UnknownFieldErrorsAreCapped) {
  std::string text = "{";
  for (int i = 0; i < 500; ++i) text += "\"k" + std::to_string(i) + "\":0,";
  text.back() = '}';
  Document doc = MustParse(text);
  ObjectReader r(doc.root());
  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.field_errors().size(), 50u);
  EXPECT_EQ(s.field_errors()[0].field, "k0");
}

// ---- Writer ----

TEST(JsonWriter, NestedStructures) {
  Writer w;
  w.StartObject()
      .Field("s", "x")
      .Field("i", int64_t{-7})
      .Field("n", 3)
      .Field("b", true)
      .Field("d", 0.5)
      .Field("none", std::optional<std::string>())
      .Field("some", std::optional<std::string>("y"))
      .Key("a")
      .StartArray()
      .Int(1)
      .StartObject()
      .EndObject()
      .StartArray()
      .EndArray()
      .Null()
      .EndArray()
      .EndObject();
  EXPECT_EQ(w.view(),
            R"({"s":"x","i":-7,"n":3,"b":true,"d":0.5,"none":null,"some":"y","a":[1,{},[],null]})");
}

TEST(JsonWriter, EscapesControlCharactersAndKeepsUtf8) {
  Writer w;
  w.StartArray()
      .String(std::string_view("q\"b\\s/\n\t\r\b\f\x01\x1f\x7f", 14))
      .String(std::string_view("nul\0end", 7))
      .String("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")
      .EndArray();
  EXPECT_EQ(w.view(),
            "[\"q\\\"b\\\\s/\\n\\t\\r\\b\\f\\u0001\\u001F\x7f\",\"nul\\u0000end\","
            "\"h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"]");
  // What it writes parses back to the same strings.
  Document doc = MustParse(w.view());
  EXPECT_EQ(doc.root().ArrayAt(0).AsString(),
            std::string_view("q\"b\\s/\n\t\r\b\f\x01\x1f\x7f", 14));
  EXPECT_EQ(doc.root().ArrayAt(1).AsString(), std::string_view("nul\0end", 7));
}

// Found by tests/fuzz (json_parse): RapidJSON 1.1.0's SSE2 string scan (writer.h compares with
// 0x19, not 0x1F) copied U+001A..U+001F raw when they sat in a 16-byte run of a string, which is
// invalid JSON (an LLM reply with an ANSI escape, ESC = 0x1B, broke the client's JSON.parse).
TEST(JsonWriter, ControlCharactersInLongStringsAreEscaped) {
  for (char c = 0x01; c < 0x20; ++c) {
    const std::string text = std::string(40, 'a') + c + std::string(40, 'b') + c;
    Writer w;
    w.StartObject().Field(text, text).EndObject();
    const std::string json = w.Take();
    for (char out : json) EXPECT_GE(static_cast<unsigned char>(out), 0x20) << int(c);
    Document doc = MustParse(json);
    EXPECT_EQ(doc.root().Keys().size(), 1u);
    EXPECT_EQ(doc.root().Find(text)->AsString(), text) << int(c);
    // Value::Serialize writes through RapidJSON's writer too.
    const std::string again = doc.root().Serialize();
    EXPECT_EQ(again, json) << int(c);
  }
}

TEST(JsonWriter, InvalidUtf8IsReplaced) {
  Writer w;
  w.StartObject()
      .Key("k\xFF")
      .String(
          "a\xC0\xAF"
          "b\xE2\x82")
      .EndObject();
  EXPECT_EQ(w.view(),
            "{\"k\xEF\xBF\xBD\":\"a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD\"}");
  EXPECT_TRUE(Document::Parse(w.view()).ok());
}

TEST(JsonWriter, RawInsertsSerializedJson) {
  Writer w;
  w.StartObject()
      .Key("meta")
      .Raw(R"({"x":[1,2],"y":"z"})")
      .Field("after", 1)
      .Key("list")
      .StartArray()
      .Raw("true")
      .Raw("[]")
      .Raw("")
      .EndArray()
      .EndObject();
  EXPECT_EQ(w.view(), R"({"meta":{"x":[1,2],"y":"z"},"after":1,"list":[true,[],null]})");
}

TEST(JsonWriter, NonFiniteDoublesBecomeNull) {
  Writer w;
  w.StartArray()
      .Double(std::nan(""))
      .Double(std::numeric_limits<double>::infinity())
      .Double(-std::numeric_limits<double>::infinity())
      .Double(1.25)
      .Double(-0.0)
      .Double(1e21)
      .EndArray();
  EXPECT_EQ(w.view(), "[null,null,null,1.25,-0.0,1e21]");
  EXPECT_TRUE(Document::Parse(w.view()).ok());
  Writer o;
  o.StartObject().Field("t", std::nan("")).Field("u", 2.0).EndObject();
  EXPECT_EQ(o.view(), R"({"t":null,"u":2.0})");
}

TEST(JsonWriter, TakeResetsTheWriter) {
  Writer w;
  w.StartObject().Field("a", 1).EndObject();
  EXPECT_EQ(w.Take(), R"({"a":1})");
  EXPECT_EQ(w.view(), "");
  w.StartArray().String("again").EndArray();
  EXPECT_EQ(w.Take(), R"(["again"])");
  w.Int(5);  // a scalar root
  EXPECT_EQ(w.view(), "5");
}

TEST(JsonWriter, IntExtremes) {
  Writer w;
  w.StartArray()
      .Int(std::numeric_limits<int64_t>::min())
      .Int(std::numeric_limits<int64_t>::max())
      .EndArray();
  EXPECT_EQ(w.view(), "[-9223372036854775808,9223372036854775807]");
}

}  // namespace
}  // namespace chatd::json
