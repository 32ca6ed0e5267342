// Fuzz target: query strings and the opaque list cursors that come back in them.
//
// Covers http::PercentDecode and Request::QueryParam / HasQueryParam (workers/http), the cursor
// codecs of the lists (store: DecodeConversationCursor, DecodeKeysetCursor, DecodeUsernameCursor,
// pure functions beside their repositories), chatd-push's ?cursor= (push/client_frame) and the
// API's list parameters (api/query_params: IntQueryParam, LimitQueryParam and the messages list's
// before_seq / after_seq / "b<seq>"/"a<seq>" cursor).
// Properties: percent-encoding any bytes and decoding them gives them back; QueryParam finds a
// parameter exactly when HasQueryParam says it is there; every cursor decoder is the strict
// inverse its header promises — whatever it accepts, encoding the result gives back the very
// same text — and what it returns is within the documented bounds; a parsed page query is
// either valid within its bounds or a VALIDATION_ERROR naming only the fields it reads.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/query_params.h"
#include "fuzz_check.h"
#include "http/http.h"
#include "json/json.h"
#include "push/client_frame.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/users_repo.h"

namespace {

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void CheckCursors(std::string_view text) {
  if (auto p = chatd::store::DecodeConversationCursor(text)) {
    FUZZ_CHECK(p->activity_us > 0 && p->activity_us < (int64_t{1} << 53));
    FUZZ_CHECK(chatd::store::EncodeConversationCursor(*p) == text);
  }
  for (size_t keys = 0; keys <= 2; ++keys) {
    if (auto p = chatd::store::DecodeKeysetCursor(text, keys)) {
      FUZZ_CHECK(p->keys.size() == keys);
      FUZZ_CHECK(chatd::json::IsUuid(p->id));
      FUZZ_CHECK(chatd::store::EncodeKeysetCursor(*p) == text);
    }
  }
  if (auto name = chatd::store::DecodeUsernameCursor(text)) {
    FUZZ_CHECK(!name->empty());
    FUZZ_CHECK(chatd::store::EncodeUsernameCursor(*name) == text);
  }
  if (auto c = chatd::push::ParseResumeCursor(text)) {
    FUZZ_CHECK(c->position.id >= 0);
    FUZZ_CHECK(c->position.xid <= static_cast<uint64_t>(INT64_MAX));
    // The text is the cursor's own form, up to leading zeros in each part.
    auto canonical = [](std::string_view part) {
      while (part.size() > 1 && part.front() == '0') part.remove_prefix(1);
      return std::string(part);
    };
    const auto dot = text.find('.');
    FUZZ_CHECK(c->legacy == (dot == std::string_view::npos));
    if (c->legacy) {
      FUZZ_CHECK(std::to_string(c->position.id) == canonical(text));
    } else {
      FUZZ_CHECK(chatd::push::FormatCursor(c->position) ==
                 canonical(text.substr(0, dot)) + "." + canonical(text.substr(dot + 1)));
    }
  }
}

}  // namespace

// The API's list parameters over a request whose query is `query`.
void CheckListParams(const chatd::http::Request& r) {
  if (auto limit = chatd::api::LimitQueryParam(r); limit.ok()) {
    FUZZ_CHECK(*limit >= 1 && *limit <= chatd::api::kMaxListLimit);
    FUZZ_CHECK(r.HasQueryParam("limit") || *limit == chatd::api::kDefaultListLimit);
  } else {
    FUZZ_CHECK(limit.status().field_errors().size() == 1);
    FUZZ_CHECK(limit.status().field_errors().front().field == "limit");
  }
  auto page = chatd::api::ParseMessagePageQuery(r);
  using Direction = chatd::api::MessagePageQuery::Direction;
  if (page.ok()) {
    FUZZ_CHECK(page->limit >= 1 && page->limit <= chatd::api::kMaxListLimit);
    FUZZ_CHECK(page->seq >= 0);
    if (page->direction == Direction::kLatest) FUZZ_CHECK(page->seq == 0);
    if (page->direction == Direction::kBefore)
      FUZZ_CHECK(page->seq >= 1 || r.HasQueryParam("cursor"));
    // A cursor it accepted is the list's own form: re-encoding gives the same text.
    if (auto cursor = r.QueryParam("cursor"); cursor && !cursor->empty()) {
      FUZZ_CHECK(page->direction != Direction::kLatest);
      FUZZ_CHECK((page->direction == Direction::kBefore ? "b" : "a") + std::to_string(page->seq) ==
                 *cursor);
    }
  } else {
    FUZZ_CHECK(!page.status().field_errors().empty());
    for (const auto& e : page.status().field_errors()) {
      FUZZ_CHECK(e.field == "limit" || e.field == "before_seq" || e.field == "after_seq" ||
                 e.field == "cursor");
      FUZZ_CHECK(!e.message.empty());
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // The input as a raw query string.
  chatd::http::Request r;
  r.query = std::string(input);
  for (std::string_view name : {"cursor", "limit", "q", "", "before_seq", "a b"}) {
    const bool has = r.HasQueryParam(name);
    std::optional<std::string> value = r.QueryParam(name);
    FUZZ_CHECK(has == value.has_value());
    if (value && name == "cursor") CheckCursors(*value);
  }
  if (auto decoded = chatd::http::PercentDecode(input)) FUZZ_CHECK(decoded->size() <= input.size());
  CheckListParams(r);

  // The input as a value: encoded into a query, it comes back whole.
  FUZZ_CHECK(chatd::http::PercentDecode(PercentEncode(input)) == std::string(input));
  chatd::http::Request q;
  q.query = "x=1&cursor=" + PercentEncode(input) + "&cursor=second";
  FUZZ_CHECK(q.QueryParam("cursor") == std::string(input));  // the first value wins

  CheckCursors(input);
  chatd::http::Request page;
  page.query = "limit=20&cursor=" + PercentEncode(input);
  CheckListParams(page);
  return 0;
}
