// The query-string parameters of the API's lists, read from an http::Request without touching the
// database: integers in a range, ?limit=, and the messages list's page (before_seq / after_seq /
// its "b<seq>" / "a<seq>" cursor).
//
// Kept apart from the handlers (which need a database) so that the unit tests and tests/fuzz reach
// this untrusted input directly. Pure functions, safe from any thread. The lists whose cursors
// carry more (keyset positions) decode them beside their repositories (store/).

#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"
#include "http/http.h"

namespace chatd::api {

inline constexpr int kDefaultListLimit = 50;
inline constexpr int kMaxListLimit = 100;

// ?name= as a decimal integer in [min, max]; nullopt when absent; VALIDATION_ERROR on field `name`
// for anything else (an empty value, a sign where min >= 0, garbage, out of range).
Result<std::optional<int64_t>> IntQueryParam(const http::Request& request, std::string_view name,
                                             int64_t min, int64_t max);
// ?limit= (1..100, default 50).
Result<int> LimitQueryParam(const http::Request& request);

// GET /conversations/{id}/messages: which page. The latest `limit` messages, the `limit` just
// before seq `seq`, or the `limit` just after it.
struct MessagePageQuery {
  enum class Direction { kLatest, kBefore, kAfter };
  Direction direction = Direction::kLatest;
  int64_t seq = 0;
  int limit = kDefaultListLimit;
};

// ?limit=, ?before_seq= (>= 1), ?after_seq= (>= 0) and ?cursor= ("b<seq>" / "a<seq>", what the
// list hands out as next_cursor: the same as before_seq / after_seq, plain digits without a
// leading zero, at most 18 of them). At most one of before_seq, after_seq and cursor. Every
// problem is reported, each on its field, in one VALIDATION_ERROR.
Result<MessagePageQuery> ParseMessagePageQuery(const http::Request& request);

}  // namespace chatd::api
