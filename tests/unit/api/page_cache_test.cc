// PageCache: a body is served only for its exact tag; the least recently used entries leave first
// when the byte bound is passed; an oversized body is not kept.

#include "api/page_cache.h"

#include <gtest/gtest.h>

namespace chatd::api {
namespace {

TEST(PageCacheTest, ServesOnlyTheStoredTag) {
  PageCache cache(1 << 20);
  EXPECT_FALSE(cache.Has("k"));
  EXPECT_EQ(cache.Find("k", "1.0"), nullptr);
  cache.Store("k", "1.0", "body one");
  EXPECT_TRUE(cache.Has("k"));
  ASSERT_NE(cache.Find("k", "1.0"), nullptr);
  EXPECT_EQ(*cache.Find("k", "1.0"), "body one");
  EXPECT_EQ(cache.Find("k", "2.0"), nullptr);
  cache.Store("k", "2.0", "body two");  // replaces
  EXPECT_EQ(cache.Find("k", "1.0"), nullptr);
  EXPECT_EQ(*cache.Find("k", "2.0"), "body two");
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.hits(), 3u);
  EXPECT_EQ(cache.misses(), 3u);
}

TEST(PageCacheTest, EvictsTheLeastRecentlyUsedPastItsBound) {
  const std::string body(1000, 'x');
  PageCache cache(10 * 1100);  // about ten entries
  for (int i = 0; i < 10; ++i) cache.Store("k" + std::to_string(i), "t", body);
  ASSERT_NE(cache.Find("k0", "t"), nullptr);  // k0 is now the most recently used
  for (int i = 10; i < 15; ++i) cache.Store("k" + std::to_string(i), "t", body);
  EXPECT_LE(cache.bytes(), 10u * 1100u);
  EXPECT_NE(cache.Find("k0", "t"), nullptr);
  EXPECT_EQ(cache.Find("k1", "t"), nullptr);
  EXPECT_NE(cache.Find("k14", "t"), nullptr);
}

TEST(PageCacheTest, KeepsNoBodyLargerThanAQuarterOfItsBound) {
  PageCache cache(4000);
  cache.Store("big", "t", std::string(2000, 'x'));
  EXPECT_FALSE(cache.Has("big"));
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(PageCacheTest, AHitOutlivesItsEviction) {
  PageCache cache(4 * 1100);
  cache.Store("a", "t", std::string(1000, 'a'));
  auto held = cache.Find("a", "t");
  for (int i = 0; i < 8; ++i) cache.Store("k" + std::to_string(i), "t", std::string(1000, 'x'));
  EXPECT_FALSE(cache.Has("a"));
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->size(), 1000u);
}

}  // namespace
}  // namespace chatd::api
