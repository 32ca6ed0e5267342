// Fuzz target: chatd-push's client frames (push::ParseClientFrame, workers/push/client_frame),
// the only bytes a WebSocket client controls after the upgrade.
//
// Properties: the frame's type is exactly the "type" string of a JSON object (else empty); a
// token is only ever read from an "auth" frame and a conversation id only from a "typing" frame;
// the conversation id, when set, is a lowercase UUID (what the hub's typing fan-out and its
// per-conversation rate limit key on).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/text.h"
#include "fuzz_check.h"
#include "json/json.h"
#include "push/client_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const chatd::push::ClientFrame frame = chatd::push::ParseClientFrame(text);
  FUZZ_CHECK(chatd::IsValidUtf8(frame.type));
  if (frame.type != "auth") FUZZ_CHECK(frame.token.empty());
  if (frame.type != "typing") FUZZ_CHECK(frame.conversation_id.empty());
  if (!frame.conversation_id.empty()) {
    FUZZ_CHECK(chatd::json::IsUuid(frame.conversation_id));
    FUZZ_CHECK(chatd::AsciiLower(frame.conversation_id) == frame.conversation_id);
  }
  // The same bytes through the generic parser agree on the type.
  auto doc = chatd::json::Document::Parse(text, chatd::json::ParseLimits{16 * 1024, 8});
  std::string_view type;
  if (doc.ok()) {
    if (auto t = doc->root().Find("type")) type = t->AsString().value_or("");
  }
  FUZZ_CHECK(frame.type == type);
  return 0;
}
