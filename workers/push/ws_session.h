// One WebSocket connection of chatd-push.
//
// Lifecycle: the upgrade request was already checked (path, Origin) by the HTTP session; Start()
// accepts it, then authenticates with the token from the query string or, within 5 s, from a first
// frame {"type":"auth","token":...} (failure: close 4001), registers with the hub (over the
// per-user limit: close 4429), sends {"type":"ready"}, replays from ?cursor= when given, and then
// relays the hub's frames while reading the client's (ping, typing). The token's expiry closes the
// connection with 4001 so the client reconnects with a fresh one.
//
// Writes are queued (one outstanding async_write, PITFALLS.md); a client that lets more than
// kMaxQueuedFrames / kMaxQueuedBytes pile up is closed with 4008 instead of growing memory.
// Owned by shared_ptr (the pending async operations keep it alive); single-threaded.

#pragma once

#include <utility>  // before Boost 1.74's asio, which uses std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "push/client_frame.h"
#include "push/event_position.h"

namespace chatd::push {

class Hub;

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  static constexpr size_t kMaxQueuedFrames = 2000;
  static constexpr size_t kMaxQueuedBytes = 4 * 1024 * 1024;

  WsSession(boost::beast::tcp_stream stream, Hub& hub);
  ~WsSession();

  void Start(boost::beast::http::request<boost::beast::http::string_body> request,
             std::string token, std::optional<ResumeCursor> cursor);
  void Send(std::shared_ptr<const std::string> frame);
  void SendText(std::string frame) { Send(std::make_shared<const std::string>(std::move(frame))); }
  void Close(uint16_t code, const char* reason);

  const std::string& user_id() const { return user_id_; }
  // The position this connection resumed from (zero when it did not resume).
  const EventPosition& resumed_at() const { return resumed_at_; }

 private:
  void Authenticate(const std::string& token);
  void ReadNext();
  void HandleFrame(const std::string& text);
  void WriteNext();
  void SendError(const char* code, const char* detail);

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  Hub& hub_;
  boost::beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool authed_ = false;
  bool registered_ = false;
  boost::beast::websocket::close_reason close_reason_;
  std::string user_id_;
  std::optional<ResumeCursor> cursor_;
  EventPosition resumed_at_;  // the resume cursor's position (zero: none)
  boost::asio::steady_timer auth_timer_;
  boost::asio::steady_timer expiry_timer_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_typing_;
};

}  // namespace chatd::push
