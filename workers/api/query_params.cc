// List query parameters. See query_params.h.

#include "api/query_params.h"

#include <charconv>
#include <string>
#include <vector>

namespace chatd::api {

Result<std::optional<int64_t>> IntQueryParam(const http::Request& request, std::string_view name,
                                             int64_t min, int64_t max) {
  std::optional<std::string> raw = request.QueryParam(name);
  if (!raw) {
    if (!request.HasQueryParam(name)) return std::optional<int64_t>();
    raw = std::string();
  }
  int64_t value = 0;
  const char* begin = raw->data();
  const char* end = begin + raw->size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (raw->empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return Status::Invalid(std::string(name), "must be an integer from " + std::to_string(min) +
                                                  " to " + std::to_string(max));
  }
  return std::optional<int64_t>(value);
}

Result<int> LimitQueryParam(const http::Request& request) {
  auto limit = IntQueryParam(request, "limit", 1, kMaxListLimit);
  if (!limit.ok()) return limit.status();
  return static_cast<int>(limit->value_or(kDefaultListLimit));
}

namespace {

// "b<seq>" / "a<seq>": a direction letter, then 1..18 digits without a leading zero (a lone "0"
// is fine).
std::optional<MessagePageQuery> DecodeMessageCursor(std::string_view cursor) {
  if (cursor.size() < 2 || cursor.size() > 19 || (cursor[0] != 'b' && cursor[0] != 'a')) {
    return std::nullopt;
  }
  std::string_view digits = cursor.substr(1);
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  int64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  MessagePageQuery q;
  q.direction =
      cursor[0] == 'b' ? MessagePageQuery::Direction::kBefore : MessagePageQuery::Direction::kAfter;
  q.seq = value;
  return q;
}

}  // namespace

Result<MessagePageQuery> ParseMessagePageQuery(const http::Request& request) {
  std::vector<FieldError> errors;
  MessagePageQuery q;
  auto limit = LimitQueryParam(request);
  if (limit.ok()) {
    q.limit = *limit;
  } else {
    errors.push_back(limit.status().field_errors().front());
  }
  auto before = IntQueryParam(request, "before_seq", 1, INT64_MAX);
  if (!before.ok()) errors.push_back(before.status().field_errors().front());
  auto after = IntQueryParam(request, "after_seq", 0, INT64_MAX);
  if (!after.ok()) errors.push_back(after.status().field_errors().front());
  const bool seq_given = before.ok() && after.ok() && (*before || *after);
  if (before.ok() && after.ok()) {
    if (*before && *after) {
      errors.push_back({"after_seq", "cannot be combined with before_seq"});
    } else if (*before) {
      q.direction = MessagePageQuery::Direction::kBefore;
      q.seq = **before;
    } else if (*after) {
      q.direction = MessagePageQuery::Direction::kAfter;
      q.seq = **after;
    }
  }
  if (auto cursor = request.QueryParam("cursor"); cursor && !cursor->empty()) {
    auto decoded = DecodeMessageCursor(*cursor);
    if (!decoded) {
      errors.push_back({"cursor", "is not a cursor of this list"});
    } else if (seq_given) {
      errors.push_back({"cursor", "cannot be combined with before_seq or after_seq"});
    } else {
      q.direction = decoded->direction;
      q.seq = decoded->seq;
    }
  }
  if (!errors.empty()) return Status::Invalid(std::move(errors));
  return q;
}

}  // namespace chatd::api
