// Fuzz target: FastCGI params -> http::Request (fcgi::RequestFromParams, workers/fcgi), what a
// worker believes about each request before any handler runs.
//
// nginx sends the params, but their values carry the client's bytes (the URI, the query, headers).
// The input is a list of "NAME=value" params separated by NUL bytes (the FastCGI record framing
// is libfcgi's). Properties: the path never contains the query ('?' cut from REQUEST_URI when
// DOCUMENT_URI is absent); every field equals the first param of its name (as FCGX_GetParam finds
// it); CONTENT_LENGTH is what strtoull reads, so that RequestSlot::Read caps the body before
// reading it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fcgi/fcgi.h"
#include "fuzz_check.h"

namespace {

std::string First(const std::vector<std::string>& params, std::string_view name) {
  for (const std::string& p : params) {
    if (p.size() > name.size() && p.compare(0, name.size(), name) == 0 && p[name.size()] == '=') {
      return p.substr(name.size() + 1);
    }
  }
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> params;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty() && params.size() < 64) {
    const size_t nul = rest.find('\0');
    params.emplace_back(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  std::vector<char*> envp;
  for (std::string& p : params) envp.push_back(p.data());
  envp.push_back(nullptr);

  size_t length = 12345;
  chatd::http::Request r = chatd::fcgi::RequestFromParams(envp.data(), &length);

  FUZZ_CHECK(r.method == First(params, "REQUEST_METHOD"));
  FUZZ_CHECK(r.query == First(params, "QUERY_STRING"));
  FUZZ_CHECK(r.content_type == First(params, "CONTENT_TYPE"));
  FUZZ_CHECK(r.authorization == First(params, "HTTP_AUTHORIZATION"));
  FUZZ_CHECK(r.remote_addr == First(params, "REMOTE_ADDR"));
  const std::string document_uri = First(params, "DOCUMENT_URI");
  if (!document_uri.empty()) {
    FUZZ_CHECK(r.path == document_uri);
  } else {
    FUZZ_CHECK(r.path.find('?') == std::string::npos);
    FUZZ_CHECK(First(params, "REQUEST_URI").starts_with(r.path));
  }
  const std::string request_id = First(params, "REQUEST_ID");
  FUZZ_CHECK(r.request_id ==
             (request_id.empty() ? First(params, "HTTP_X_REQUEST_ID") : request_id));
  const std::string length_text = First(params, "CONTENT_LENGTH");
  FUZZ_CHECK(length == (length_text.empty() ? 0 : std::strtoull(length_text.c_str(), nullptr, 10)));
  FUZZ_CHECK(r.body.empty() && !r.body_too_large);
  return 0;
}
