// Construction of the per-process collaborators, in one place so that main and tests agree.

#include "api/services.h"

#include "api/page_cache.h"

namespace chatd::api {

Result<std::unique_ptr<Services>> MakeServices(std::shared_ptr<const Config> config) {
  auto s = std::make_unique<Services>();
  s->config = config;
  try {
    s->jwt = std::make_unique<auth::JwtCodec>(*config);
    s->hasher = std::make_unique<auth::PasswordHasher>(*config);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot set up authentication: ") + e.what());
  }
  if (config->password_denylist.empty()) {
    s->denylist = std::make_unique<auth::PasswordDenylist>();
  } else {
    auto list = auth::PasswordDenylist::Load(config->password_denylist);
    if (!list.ok()) return list.status();
    s->denylist = std::make_unique<auth::PasswordDenylist>(std::move(list.value()));
  }
  auto migrations = store::ListMigrationFiles(config->migrations_dir);
  if (!migrations.ok()) return migrations.status();
  s->migrations = std::move(migrations.value());
  if (config->page_cache_mb > 0) {
    s->message_pages =
        std::make_shared<PageCache>(static_cast<size_t>(config->page_cache_mb) << 20);
  }
  return s;
}

}  // namespace chatd::api
