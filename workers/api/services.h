// What the handlers share inside one worker process: the configuration, the database, and the
// other long-lived collaborators (token codec, password hasher, ...). Built once per process by
// main (bin/), after fork; immutable afterwards apart from the collaborators' own thread-safe
// state. Handlers receive a Services* (null only when the router is built to list its routes).

#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/jwt.h"
#include "auth/password.h"
#include "core/config.h"
#include "store/db.h"
#include "store/migrations.h"

namespace chatd::llm {
class Provider;
}

namespace chatd::api {

class ReplyBus;   // api/reply_bus.h
class PageCache;  // api/page_cache.h

struct Services {
  std::shared_ptr<const Config> config;
  std::unique_ptr<store::Database> db;
  // The migration files this build expects, read at start (for /ready).
  std::vector<store::MigrationFile> migrations;
  std::unique_ptr<auth::JwtCodec> jwt;
  std::unique_ptr<auth::PasswordHasher> hasher;
  std::unique_ptr<auth::PasswordDenylist> denylist;
  // Rendered pages of messages, reused while their version holds; null when PAGE_CACHE_MB=0.
  std::shared_ptr<PageCache> message_pages;

  // Assistant replies, set by main after fork. `llm` is null when no LLM_BASE_URL is configured
  // (assistant conversations then store user messages without replies); `replies` is this
  // process's registry of replies in flight with its stop listener (api/reply_bus.h).
  std::shared_ptr<const llm::Provider> llm;
  std::shared_ptr<ReplyBus> replies;
  // Hooks into the process manager, which api/ may not include (either may be empty): mark the
  // calling request thread long-running (an LLM stream), and the pool's status as JSON
  // (/admin/stats).
  std::function<void()> mark_long_running;
  std::function<std::string()> pool_status_json;
};

// Builds the collaborators that need only the configuration (everything but the database).
Result<std::unique_ptr<Services>> MakeServices(std::shared_ptr<const Config> config);

}  // namespace chatd::api
