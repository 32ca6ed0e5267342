// The API's list parameters (api/query_params.h): ?limit=, integers in a range and the messages
// list's page query.

#include "api/query_params.h"

#include <gtest/gtest.h>

namespace chatd::api {
namespace {

http::Request WithQuery(std::string query) {
  http::Request r;
  r.query = std::move(query);
  return r;
}

std::vector<std::string> Fields(const Status& st) {
  std::vector<std::string> out;
  for (const auto& e : st.field_errors()) out.push_back(e.field);
  return out;
}

TEST(QueryParams, LimitDefaultsAndBounds) {
  EXPECT_EQ(*LimitQueryParam(WithQuery("")), kDefaultListLimit);
  EXPECT_EQ(*LimitQueryParam(WithQuery("limit=1")), 1);
  EXPECT_EQ(*LimitQueryParam(WithQuery("limit=100")), 100);
  for (const char* bad : {"limit=", "limit=0", "limit=101", "limit=-1", "limit=+5", "limit=5x",
                          "limit=%205", "limit=99999999999999999999"}) {
    auto limit = LimitQueryParam(WithQuery(bad));
    ASSERT_FALSE(limit.ok()) << bad;
    EXPECT_EQ(Fields(limit.status()), std::vector<std::string>{"limit"}) << bad;
  }
}

TEST(QueryParams, MessagePages) {
  using D = MessagePageQuery::Direction;
  auto latest = ParseMessagePageQuery(WithQuery("limit=20"));
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->direction, D::kLatest);
  EXPECT_EQ(latest->limit, 20);
  auto before = ParseMessagePageQuery(WithQuery("before_seq=7"));
  EXPECT_EQ(before->direction, D::kBefore);
  EXPECT_EQ(before->seq, 7);
  auto after = ParseMessagePageQuery(WithQuery("after_seq=0"));
  EXPECT_EQ(after->direction, D::kAfter);
  EXPECT_EQ(after->seq, 0);
  auto cursor = ParseMessagePageQuery(WithQuery("cursor=b41"));
  EXPECT_EQ(cursor->direction, D::kBefore);
  EXPECT_EQ(cursor->seq, 41);
  EXPECT_EQ(ParseMessagePageQuery(WithQuery("cursor=a999999999999999999"))->seq,
            999999999999999999);
  EXPECT_EQ(ParseMessagePageQuery(WithQuery("cursor="))->direction, D::kLatest);  // empty: absent
}

TEST(QueryParams, MessagePageErrorsNameEveryField) {
  for (const char* bad : {"cursor=b", "cursor=c5", "cursor=b05", "cursor=b-5", "cursor=b5x",
                          "cursor=a1000000000000000000", "cursor=%00"}) {
    auto q = ParseMessagePageQuery(WithQuery(bad));
    ASSERT_FALSE(q.ok()) << bad;
    EXPECT_EQ(Fields(q.status()), std::vector<std::string>{"cursor"}) << bad;
  }
  auto both = ParseMessagePageQuery(WithQuery("before_seq=5&after_seq=1"));
  EXPECT_EQ(Fields(both.status()), std::vector<std::string>{"after_seq"});
  auto mixed = ParseMessagePageQuery(WithQuery("cursor=b5&before_seq=2"));
  EXPECT_EQ(Fields(mixed.status()), std::vector<std::string>{"cursor"});
  auto many = ParseMessagePageQuery(WithQuery("limit=0&before_seq=0&after_seq=x&cursor=zz"));
  EXPECT_EQ(Fields(many.status()),
            (std::vector<std::string>{"limit", "before_seq", "after_seq", "cursor"}));
}

}  // namespace
}  // namespace chatd::api
