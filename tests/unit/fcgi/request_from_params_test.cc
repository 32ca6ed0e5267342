// FastCGI params -> http::Request (fcgi::RequestFromParams), without a socket: which param fills
// which field, the query cut from REQUEST_URI, and CONTENT_LENGTH as the body cap sees it.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fcgi/fcgi.h"

namespace chatd::fcgi {
namespace {

http::Request FromParams(std::vector<std::string> params, size_t* length) {
  std::vector<char*> envp;
  for (std::string& p : params) envp.push_back(p.data());
  envp.push_back(nullptr);
  return RequestFromParams(envp.data(), length);
}

TEST(RequestFromParams, FillsTheRequest) {
  size_t length = 0;
  http::Request r = FromParams(
      {"REQUEST_METHOD=POST", "REQUEST_URI=/api/v1/chat?x=1", "QUERY_STRING=x=1",
       "CONTENT_TYPE=application/json", "CONTENT_LENGTH=42", "HTTP_ACCEPT=text/event-stream",
       "HTTP_AUTHORIZATION=Bearer t", "HTTP_X_REQUEST_ID=rid", "REMOTE_ADDR=127.0.0.1"},
      &length);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/v1/chat");  // the query is cut from REQUEST_URI
  EXPECT_EQ(r.query, "x=1");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.accept, "text/event-stream");
  EXPECT_EQ(r.authorization, "Bearer t");
  EXPECT_EQ(r.request_id, "rid");
  EXPECT_EQ(r.remote_addr, "127.0.0.1");
  EXPECT_EQ(length, 42u);
  EXPECT_TRUE(r.body.empty());
}

TEST(RequestFromParams, DocumentUriAndRequestIdWin) {
  size_t length = 7;
  http::Request r = FromParams(
      {"DOCUMENT_URI=/a", "REQUEST_URI=/b?c", "REQUEST_ID=nginx", "HTTP_X_REQUEST_ID=client"},
      &length);
  EXPECT_EQ(r.path, "/a");
  EXPECT_EQ(r.request_id, "nginx");
  EXPECT_EQ(length, 0u);  // no CONTENT_LENGTH: no body
}

TEST(RequestFromParams, ANegativeLengthIsHugeSoTheCapRefusesIt) {
  size_t length = 0;
  FromParams({"CONTENT_LENGTH=-1"}, &length);
  EXPECT_GT(length, size_t{1} << 40);
}

}  // namespace
}  // namespace chatd::fcgi
