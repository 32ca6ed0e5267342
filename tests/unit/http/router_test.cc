// Routing, query parsing and problem+json rendering, without any server.

#include "http/router.h"

#include <gtest/gtest.h>

#include "json/json.h"

namespace chatd::http {
namespace {

class CapturingWriter : public ResponseWriter {
 public:
  bool Begin(int status, std::string_view content_type,
             const std::vector<Header>& headers) override {
    status_ = status;
    content_type_ = content_type;
    headers_ = headers;
    begun_ = true;
    return true;
  }
  bool Write(std::string_view data) override {
    body_ += data;
    return true;
  }
  bool Flush() override { return true; }
  bool begun() const override { return begun_; }
  int status() const override { return status_; }

  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers_) {
      if (k == name) return v;
    }
    return "";
  }

  int status_ = 0;
  bool begun_ = false;
  std::string content_type_, body_;
  std::vector<http::Header> headers_;
};

Router MakeRouter(std::string* seen) {
  Router r;
  r.Add("GET", "/api/v1/things/{id}", [seen](const Request& req, ResponseWriter& w) {
    *seen = std::string(req.PathParam("id"));
    w.Send(Response::Json(200, "{}"));
  });
  r.Add("DELETE", "/api/v1/things/{id}",
        [](const Request&, ResponseWriter& w) { w.Send(Response::NoContent()); });
  r.Add("GET", "/api/v1/things/{id}/parts/{pid}", [seen](const Request& req, ResponseWriter& w) {
    *seen = std::string(req.PathParam("id")) + "/" + std::string(req.PathParam("pid"));
    w.Send(Response::Json(200, "{}"));
  });
  return r;
}

TEST(RouterTest, MatchesPatternsAndFillsParams) {
  std::string seen;
  Router r = MakeRouter(&seen);
  Request req;
  req.method = "GET";
  req.path = "/api/v1/things/abc/parts/7";
  CapturingWriter w;
  r.Dispatch(req, w);
  EXPECT_EQ(w.status_, 200);
  EXPECT_EQ(seen, "abc/7");
  EXPECT_EQ(req.route, "GET /api/v1/things/{id}/parts/{pid}");
}

TEST(RouterTest, UnknownPathIs404Problem) {
  std::string seen;
  Router r = MakeRouter(&seen);
  Request req;
  req.method = "GET";
  req.path = "/api/v1/nothing";
  req.request_id = "rid-1";
  CapturingWriter w;
  r.Dispatch(req, w);
  EXPECT_EQ(w.status_, 404);
  EXPECT_EQ(w.content_type_, "application/problem+json");
  auto doc = json::Document::Parse(w.body_);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(*doc->root().Find("code")->AsString(), "NOT_FOUND");
  EXPECT_EQ(*doc->root().Find("request_id")->AsString(), "rid-1");
  EXPECT_EQ(req.route, "unmatched");
}

TEST(RouterTest, WrongMethodIs405WithAllow) {
  std::string seen;
  Router r = MakeRouter(&seen);
  Request req;
  req.method = "PUT";
  req.path = "/api/v1/things/x";
  CapturingWriter w;
  r.Dispatch(req, w);
  EXPECT_EQ(w.status_, 405);
  EXPECT_EQ(w.Header("Allow"), "GET, DELETE");
}

TEST(RouterTest, EmptySegmentsDoNotMatchParams) {
  std::string seen;
  Router r = MakeRouter(&seen);
  Request req;
  req.method = "GET";
  req.path = "/api/v1/things/";
  CapturingWriter w;
  r.Dispatch(req, w);
  EXPECT_EQ(w.status_, 404);
}

TEST(RequestTest, QueryParamsAreDecoded) {
  Request req;
  req.query = "q=hello+w%C3%B6rld&limit=5&flag&bad=%zz";
  EXPECT_EQ(*req.QueryParam("q"), "hello w\xC3\xB6rld");
  EXPECT_EQ(*req.QueryParam("limit"), "5");
  EXPECT_TRUE(req.HasQueryParam("flag"));
  EXPECT_EQ(*req.QueryParam("flag"), "");
  EXPECT_EQ(*req.QueryParam("bad"), "");
  EXPECT_FALSE(req.QueryParam("missing").has_value());
}

TEST(ProblemTest, CarriesFieldErrorsAndRetryAfter) {
  Status s = Status::Invalid("content", "must be at most 5000 characters");
  Response r = Problem(s, "rid");
  EXPECT_EQ(r.status, 400);
  auto doc = json::Document::Parse(r.body);
  ASSERT_TRUE(doc.ok());
  auto errors = doc->root().Find("errors");
  ASSERT_TRUE(errors.has_value());
  EXPECT_EQ(*errors->ArrayAt(0).Find("field")->AsString(), "content");

  Status limited(ErrorCode::kRateLimited, "slow down");
  limited.WithRetryAfter(12);
  Response r2 = Problem(limited, "rid");
  EXPECT_EQ(r2.status, 429);
  ASSERT_EQ(r2.headers.size(), 1u);
  EXPECT_EQ(r2.headers[0].second, "12");
}

TEST(ContentTypeTest, OnlyJsonIsAccepted) {
  Request req;
  req.content_type = "application/json";
  EXPECT_TRUE(RequireJsonContentType(req).ok());
  req.content_type = "application/json; charset=UTF-8";
  EXPECT_TRUE(RequireJsonContentType(req).ok());
  req.content_type = "text/plain";
  EXPECT_EQ(RequireJsonContentType(req).code(), ErrorCode::kUnsupportedMediaType);
  req.content_type = "application/json; charset=latin1";
  EXPECT_EQ(RequireJsonContentType(req).code(), ErrorCode::kUnsupportedMediaType);
  req.content_type = "";
  EXPECT_EQ(RequireJsonContentType(req).code(), ErrorCode::kUnsupportedMediaType);
}

}  // namespace
}  // namespace chatd::http
