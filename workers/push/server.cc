// The push daemon's HTTP side and main loop. See server.h.

#include "push/server.h"

#include <utility>  // before Boost 1.74's asio, which uses std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>

#include "core/log.h"
#include "http/http.h"
#include "push/client_frame.h"
#include "push/hub.h"
#include "push/ws_session.h"

namespace chatd::push {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::string ProblemBody(int status, const char* code, const char* detail) {
  return std::string(R"({"type":"about:blank","title":")") + std::string(HttpReasonPhrase(status)) +
         R"(","status":)" + std::to_string(status) + R"(,"code":")" + code + R"(","detail":")" +
         detail + "\"}";
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, Hub& hub) : stream_(std::move(socket)), hub_(hub) {}

  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(16 * 1024);
    stream_.expires_after(std::chrono::seconds(30));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        self->Route();
                      });
  }

  void Route() {
    auto request = parser_->release();
    std::string target_text(request.target());
    std::string_view target = target_text;
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query =
        target.find('?') == std::string_view::npos ? "" : target.substr(target.find('?') + 1);
    if (beast::websocket::is_upgrade(request) && path == "/ws") {
      auto origin = request[bhttp::field::origin];
      const auto& allowed = hub_.config().cors_allowed_origins;
      if (!origin.empty() &&
          std::find(allowed.begin(), allowed.end(), std::string(origin)) == allowed.end()) {
        LogInfo("push: refused a WebSocket from a foreign origin")
            .Str("origin", std::string(origin));
        ++hub_.metrics().origin_refused;
        Respond(request, bhttp::status::forbidden,
                ProblemBody(403, "FORBIDDEN", "This origin may not open a WebSocket here."));
        return;
      }
      http::Request parsed;  // reuse the API's query decoding
      parsed.query = std::string(query);
      std::string token = parsed.QueryParam("token").value_or("");
      std::optional<ResumeCursor> cursor =
          ParseResumeCursor(parsed.QueryParam("cursor").value_or(""));
      stream_.expires_never();
      std::make_shared<WsSession>(std::move(stream_), hub_)
          ->Start(std::move(request), std::move(token), cursor);
      return;
    }
    if (path == "/health" && request.method() == bhttp::verb::get) {
      Respond(request, bhttp::status::ok,
              R"({"status":"ok","connections":)" + std::to_string(hub_.connections()) + "}",
              "application/json");
      return;
    }
    // Metrics answer only on loopback (nginx proxies /ws alone, and PUSH_LISTEN is loopback by
    // default; this holds when an operator widens it).
    if (path == "/metrics" && request.method() == bhttp::verb::get) {
      beast::error_code ec;
      auto peer = stream_.socket().remote_endpoint(ec);
      if (!ec && peer.address().is_loopback()) {
        Respond(request, bhttp::status::ok,
                RenderPushMetrics(hub_.metrics(), hub_.connections(), hub_.users()),
                "text/plain; version=0.0.4");
        return;
      }
    }
    if (path == "/ws") {
      Respond(request, bhttp::status::upgrade_required,
              ProblemBody(426, "VALIDATION_ERROR", "Open /ws as a WebSocket."));
      return;
    }
    Respond(request, bhttp::status::not_found,
            ProblemBody(404, "NOT_FOUND", "There is nothing at this address."));
  }

  void Respond(const bhttp::request<bhttp::string_body>& request, bhttp::status status,
               std::string body, const char* type = "application/problem+json") {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(status, request.version());
    res->set(bhttp::field::server, "chatd-push");
    res->set(bhttp::field::content_type, type);
    res->keep_alive(request.keep_alive());
    res->body() = std::move(body);
    res->prepare_payload();
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                         if (ec || !res->keep_alive()) {
                           beast::error_code ignored;
                           self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                           return;
                         }
                         self->Read();
                       });
  }

  beast::tcp_stream stream_;
  Hub& hub_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
};

void Accept(tcp::acceptor& acceptor, Hub& hub) {
  acceptor.async_accept([&acceptor, &hub](beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<HttpSession>(std::move(socket), hub)->Start();
    if (acceptor.is_open()) Accept(acceptor, hub);
  });
}

}  // namespace

int RunPushServer(const Config& config) {
  auto colon = config.push_listen.rfind(':');
  if (colon == std::string::npos) {
    LogError("PUSH_LISTEN must be host:port").Str("value", config.push_listen);
    return 2;
  }
  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  try {
    std::string host = config.push_listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    tcp::endpoint endpoint(
        asio::ip::make_address(host),
        static_cast<unsigned short>(std::stoi(config.push_listen.substr(colon + 1))));
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    LogError("push: cannot listen").Str("listen", config.push_listen).Str("error", e.what());
    return 1;
  }
  Hub hub(io, config);
  hub.Start();
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](beast::error_code, int) {
    LogInfo("push: stopping");
    acceptor.close();
    hub.Stop();
    // Let the close frames go out, then stop.
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(500));
    timer->async_wait([&io, timer](beast::error_code) { io.stop(); });
  });
  Accept(acceptor, hub);
  LogInfo("push: listening").Str("listen", config.push_listen);
  io.run();
  return 0;
}

}  // namespace chatd::push
