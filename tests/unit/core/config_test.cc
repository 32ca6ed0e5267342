// Configuration validation: defaults, every kind of rule, and the one-line-per-variable report.

#include "core/config.h"

#include <gtest/gtest.h>

#include <map>

namespace chatd {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  if (!vars.count("JWT_SECRET")) vars["JWT_SECRET"] = std::string(40, 's');
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ConfigTest, DefaultsAreValid) {
  auto c = LoadConfig(Env({}));
  ASSERT_TRUE(c.ok()) << c.status().detail();
  EXPECT_EQ(c->workers, 2);
  EXPECT_EQ(c->max_message_chars, 5000);
  EXPECT_EQ(c->access_token_ttl.count(), 900);
  EXPECT_EQ(c->retrieval_top_k, 4);
  EXPECT_FALSE(c->llm_configured());
}

TEST(ConfigTest, ShortJwtSecretNamesTheVariable) {
  auto c = LoadConfig(Env({{"JWT_SECRET", "short"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().detail().find("JWT_SECRET"), std::string::npos);
  EXPECT_NE(c.status().detail().find("32 bytes"), std::string::npos);
  ASSERT_EQ(c.status().field_errors().size(), 1u);
  EXPECT_EQ(c.status().field_errors()[0].field, "JWT_SECRET");
}

TEST(ConfigTest, MissingJwtSecretIsAnError) {
  auto c = LoadConfig([](std::string_view) -> std::optional<std::string> { return std::nullopt; });
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().field_errors()[0].field, "JWT_SECRET");
}

TEST(ConfigTest, EveryBadVariableIsReportedOnItsOwnLine) {
  auto c = LoadConfig(Env({{"WORKERS", "0"},
                           {"THREADS_PER_WORKER", "many"},
                           {"LOG_FORMAT", "xml"},
                           {"LLM_API_KEY", "your-api-key-here"},
                           {"ACCESS_TOKEN_TTL", "forever"},
                           {"CORS_ALLOWED_ORIGINS", "https://ok.example, not an origin"}}));
  ASSERT_FALSE(c.ok());
  std::vector<std::string> fields;
  for (const auto& e : c.status().field_errors()) fields.push_back(e.field);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"WORKERS", "THREADS_PER_WORKER", "ACCESS_TOKEN_TTL",
                                      "LLM_API_KEY", "CORS_ALLOWED_ORIGINS", "LOG_FORMAT"}));
  size_t lines = std::count(c.status().detail().begin(), c.status().detail().end(), '\n') + 1;
  EXPECT_EQ(lines, fields.size());
}

TEST(ConfigTest, DurationsAcceptUnits) {
  EXPECT_EQ(ParseDuration("90")->count(), 90);
  EXPECT_EQ(ParseDuration("15m")->count(), 900);
  EXPECT_EQ(ParseDuration("24h")->count(), 86400);
  EXPECT_EQ(ParseDuration("30d")->count(), 30 * 86400);
  EXPECT_FALSE(ParseDuration("-5").has_value());
  EXPECT_FALSE(ParseDuration("5x").has_value());
  EXPECT_FALSE(ParseDuration("").has_value());
  EXPECT_FALSE(ParseDuration("99999999999999999999d").has_value());
}

TEST(ConfigTest, LlmSettings) {
  auto c =
      LoadConfig(Env({{"LLM_BASE_URL", "http://127.0.0.1:9/v1/"}, {"LLM_PROVIDER", "anthropic"}}));
  ASSERT_TRUE(c.ok()) << c.status().detail();
  EXPECT_EQ(c->llm_base_url, "http://127.0.0.1:9/v1");  // trailing slash dropped
  EXPECT_EQ(c->llm_provider, LlmProvider::kAnthropic);
  EXPECT_FALSE(LoadConfig(Env({{"LLM_BASE_URL", "ftp://x"}})).ok());
  EXPECT_FALSE(
      LoadConfig(Env({{"MAX_RESPONSE_TOKENS", "9000"}, {"MAX_CONTEXT_TOKENS", "8192"}})).ok());
}

TEST(ConfigTest, LlmDemoIsASwitch) {
  EXPECT_FALSE(LoadConfig(Env({}))->llm_demo);
  for (const char* yes : {"1", "true"}) EXPECT_TRUE(LoadConfig(Env({{"LLM_DEMO", yes}}))->llm_demo);
  for (const char* no : {"0", "false", ""}) {
    EXPECT_FALSE(LoadConfig(Env({{"LLM_DEMO", no}}))->llm_demo);
  }
  for (const char* bad : {"yes", "True", "2", " 1"}) {
    auto c = LoadConfig(Env({{"LLM_DEMO", bad}}));
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().field_errors()[0].field, "LLM_DEMO");
    EXPECT_NE(c.status().detail().find("1|0|true|false"), std::string::npos);
  }
}

TEST(ConfigTest, ProjectVersionIsCMakes) {
  EXPECT_FALSE(ProjectVersion().empty());
  EXPECT_EQ(std::count(ProjectVersion().begin(), ProjectVersion().end(), '.'), 2);
}

TEST(ConfigTest, EnvFileParsing) {
  auto parsed = ParseEnvFile("# comment\nWORKERS=3\nexport LOG_LEVEL=debug\nQUOTED=\"a b\"\n\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->at("WORKERS"), "3");
  EXPECT_EQ(parsed->at("LOG_LEVEL"), "debug");
  EXPECT_EQ(parsed->at("QUOTED"), "a b");
  EXPECT_FALSE(ParseEnvFile("not a pair\n").ok());
}

TEST(ConfigTest, EmptyValueMeansDefault) {
  auto c = LoadConfig(Env({{"WORKERS", ""}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->workers, 2);
}

}  // namespace
}  // namespace chatd
