// Fuzz target: the OpenAI-compatible stream and body decoder (workers/llm/openai), fed by the SSE
// parser as in production. See stream_decoders_common.h for the properties.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llm/openai.h"
#include "stream_decoders_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const chatd::llm::OpenAiWire wire;
  chatd::fuzz::RunDecoder(wire, std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
