// chatctl key list [USERNAME] | key revoke KEY_ID: an operator's view of API keys (api/keys.cc is
// the user's). Lists show what the API shows (id, prefix, name, dates), never a secret — the
// database holds none. A revoked key stops working at the next request.

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <cstdio>

#include "auth/api_key.h"
#include "cli/commands.h"
#include "core/text.h"
#include "json/json.h"
#include "store/api_keys_repo.h"

namespace chatd::cli {
namespace {

int Fail(const char* command, const std::string& message) {
  std::fprintf(stderr, "chatctl %s: %s\n", command, message.c_str());
  return 1;
}

}  // namespace

int KeyList(const EnvLookup& env, const std::string& username) {
  const char* kCmd = "key list";
  auto config = LoadCliConfig(env);
  if (!config.ok()) return Fail(kCmd, config.status().detail());
  try {
    soci::session session(soci::postgresql, config->database_url);
    std::optional<std::string> who;
    if (!username.empty()) who = AsciiLower(username);
    auto keys = store::ListAllApiKeys(session, who);
    std::printf("%-36s  %-22s  %-24s  %-24s  %-24s  %-24s  %s\n", "ID", "PREFIX", "USER", "CREATED",
                "LAST USED", "EXPIRES", "NAME");
    for (const auto& k : keys) {
      std::printf("%-36s  %-22s  %-24s  %-24s  %-24s  %-24s  %s\n", k.key.id.c_str(),
                  auth::ApiKeyPrefix(k.key.lookup).c_str(), k.username.c_str(),
                  k.key.created_at.c_str(), k.key.last_used_at.value_or("-").c_str(),
                  k.key.expires_at.value_or("never").c_str(), k.key.name.c_str());
    }
    std::printf("%zu active key%s\n", keys.size(), keys.size() == 1 ? "" : "s");
    return 0;
  } catch (const std::exception& e) {
    return Fail(kCmd, std::string("cannot use the database: ") + e.what());
  }
}

int KeyRevoke(const EnvLookup& env, const std::string& key_id) {
  const char* kCmd = "key revoke";
  if (!json::IsUuid(key_id)) return Fail(kCmd, "KEY_ID must be a key's id (a UUID, see key list)");
  auto config = LoadCliConfig(env);
  if (!config.ok()) return Fail(kCmd, config.status().detail());
  try {
    soci::session session(soci::postgresql, config->database_url);
    if (!store::RevokeApiKeyById(session, AsciiLower(key_id))) {
      return Fail(kCmd, "no active key has the id " + key_id);
    }
    std::printf("revoked key %s\n", AsciiLower(key_id).c_str());
    return 0;
  } catch (const std::exception& e) {
    return Fail(kCmd, std::string("cannot use the database: ") + e.what());
  }
}

}  // namespace chatd::cli
