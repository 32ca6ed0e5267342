// The push daemon's HTTP side. See server.h.

#include "push/server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>

#include "core/log.h"

namespace chatd::push {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}

  void Start() { Read(); }

 private:
  void Read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    bhttp::async_read(stream_, buffer_, request_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        self->Respond();
                      });
  }

  void Respond() {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(request_.version());
    res->keep_alive(request_.keep_alive());
    if (request_.target() == "/health" && request_.method() == bhttp::verb::get) {
      res->result(bhttp::status::ok);
      res->set(bhttp::field::content_type, "application/json");
      res->body() = R"({"status":"ok"})";
    } else {
      res->result(bhttp::status::not_found);
      res->set(bhttp::field::content_type, "application/problem+json");
      res->body() =
          R"({"type":"about:blank","title":"Not Found","status":404,"code":"NOT_FOUND","detail":"There is nothing at this address."})";
    }
    res->prepare_payload();
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->Read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> request_;
};

void Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Session>(std::move(socket))->Start();
    if (acceptor.is_open()) Accept(acceptor);
  });
}

}  // namespace

int RunPushServer(const Config& config) {
  auto colon = config.push_listen.rfind(':');
  if (colon == std::string::npos) {
    LogError("PUSH_LISTEN must be host:port").Str("value", config.push_listen);
    return 2;
  }
  asio::io_context io;
  tcp::acceptor acceptor(io);
  try {
    auto address = asio::ip::make_address(config.push_listen.substr(0, colon));
    auto port = static_cast<unsigned short>(std::stoi(config.push_listen.substr(colon + 1)));
    tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
  } catch (const std::exception& e) {
    LogError("cannot listen").Str("listen", config.push_listen).Str("error", e.what());
    return 1;
  }
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](beast::error_code, int) {
    LogInfo("stopping");
    acceptor.close();
    io.stop();
  });
  Accept(acceptor);
  LogInfo("push daemon listening").Str("listen", config.push_listen);
  io.run();
  return 0;
}

}  // namespace chatd::push
