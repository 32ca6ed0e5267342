// chatd-push: wires configuration and logging to the push server.

#include <cstdio>

#include "core/config.h"
#include "core/log.h"
#include "push/server.h"

int main() {
  auto env = chatd::ProcessEnvWithConfigFile();
  if (!env.ok()) {
    std::fprintf(stderr, "chatd-push: %s\n", env.status().detail().c_str());
    return 2;
  }
  auto config = chatd::LoadConfig(env.value());
  if (!config.ok()) {
    std::fprintf(stderr, "chatd-push: invalid configuration\n%s\n",
                 config.status().detail().c_str());
    return 2;
  }
  chatd::InitLogging("chatd-push", config->log_format, config->log_level);
  return chatd::push::RunPushServer(config.value());
}
