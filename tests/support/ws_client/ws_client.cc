// ws-client: a WebSocket client for the integration tests, on Boost.Beast.
//
//   ws-client HOST PORT TARGET [ORIGIN]
//
// Connects to ws://HOST:PORT/TARGET (sending Origin when given), then relays: every line on stdin
// is sent as one text frame; every text frame received is printed as one line on stdout. Special
// lines it prints: {"type":"__open"} once the handshake succeeded, {"type":"__http_error",
// "status":N} when the server refused the upgrade, and {"type":"__close","code":N,"reason":"..."}
// when the connection closes (then it exits). The Python harness (tests/support/harness.py,
// WsClient) drives it through pipes.

#include <unistd.h>

#include <utility>  // before Boost 1.74's asio, which uses std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <iostream>
#include <string>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

void PrintLine(const std::string& line) {
  std::string out = line + "\n";
  ssize_t ignored = write(1, out.data(), out.size());
  (void)ignored;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: ws-client HOST PORT TARGET [ORIGIN]\n";
    return 2;
  }
  std::string host = argv[1], port = argv[2], target = argv[3], origin = argc > 4 ? argv[4] : "";
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  try {
    tcp::resolver resolver(io);
    asio::connect(ws.next_layer(), resolver.resolve(host, port));
    ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
      if (!origin.empty()) req.set(beast::http::field::origin, origin);
    }));
    websocket::response_type res;
    beast::error_code ec;
    ws.handshake(res, host + ":" + port, target, ec);
    if (ec) {
      PrintLine(R"({"type":"__http_error","status":)" + std::to_string(res.result_int()) + "}");
      return 0;
    }
  } catch (const std::exception& e) {
    PrintLine(R"({"type":"__http_error","status":0,"error":")" + Escape(e.what()) + "\"}");
    return 0;
  }
  PrintLine(R"({"type":"__open"})");

  // stdin -> frames, on a thread; frames -> stdout on this one. Beast allows one reader and one
  // writer at a time, which is exactly this split.
  std::thread writer([&] {
    std::string line;
    while (std::getline(std::cin, line)) {
      beast::error_code ec;
      ws.text(true);
      ws.write(asio::buffer(line), ec);
      if (ec) break;
    }
    beast::error_code ec;
    ws.close(websocket::close_code::normal, ec);
  });
  writer.detach();
  for (;;) {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws.read(buffer, ec);
    if (ec) {
      auto reason = ws.reason();
      PrintLine(R"({"type":"__close","code":)" + std::to_string(reason.code) + R"(,"reason":")" +
                Escape(std::string(reason.reason.c_str())) + "\"}");
      _exit(0);
    }
    PrintLine(beast::buffers_to_string(buffer.data()));
  }
}
