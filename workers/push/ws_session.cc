// A WebSocket connection: authentication, the write queue, and the client's frames. See
// ws_session.h.

#include "push/ws_session.h"

#include "core/log.h"
#include "json/json.h"
#include "push/client_frame.h"
#include "push/hub.h"

namespace chatd::push {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {
constexpr uint16_t kCloseUnauthorized = 4001;
constexpr uint16_t kCloseSlowConsumer = 4008;
constexpr uint16_t kCloseTooMany = 4429;

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

WsSession::WsSession(beast::tcp_stream stream, Hub& hub)
    : ws_(std::move(stream)),
      hub_(hub),
      auth_timer_(ws_.get_executor()),
      expiry_timer_(ws_.get_executor()) {}

WsSession::~WsSession() {
  if (registered_) hub_.Unregister(this);
}

void WsSession::Start(beast::http::request<beast::http::string_body> request, std::string token,
                      std::optional<ResumeCursor> cursor) {
  cursor_ = cursor;
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(10);
  timeouts.idle_timeout = std::chrono::seconds(60);  // pings every 30 s, below nginx's read timeout
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.read_message_max(16 * 1024);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "chatd-push"); }));
  ws_.async_accept(request, [self = shared_from_this(),
                             token = std::move(token)](beast::error_code ec) {
    if (ec) return;
    ++self->hub_.metrics().handshakes;
    if (!token.empty()) {
      self->Authenticate(token);
    } else {
      self->auth_timer_.expires_after(std::chrono::seconds(5));
      self->auth_timer_.async_wait([weak = std::weak_ptr<WsSession>(self)](beast::error_code ec) {
        auto s = weak.lock();
        if (!ec && s && !s->authed_) {
          ++s->hub_.metrics().auth_failures;
          s->Close(kCloseUnauthorized, "authentication required");
        }
      });
    }
    self->ReadNext();
  });
}

void WsSession::Authenticate(const std::string& token) {
  auto claims = hub_.jwt().Verify(token, NowSeconds());
  if (!claims.ok()) {
    LogInfo("push: connection refused: bad token")
        .Str("reason", std::string(ErrorCodeName(claims.status().code())));
    ++hub_.metrics().auth_failures;
    Close(kCloseUnauthorized,
          claims.status().code() == ErrorCode::kTokenExpired ? "token expired" : "unauthorized");
    return;
  }
  user_id_ = claims->sub;
  authed_ = true;
  auth_timer_.cancel();
  if (!hub_.Register(shared_from_this())) {
    ++hub_.metrics().over_limit;
    Close(kCloseTooMany, "too many connections");
    return;
  }
  registered_ = true;
  expiry_timer_.expires_after(
      std::chrono::seconds(std::max<int64_t>(0, claims->exp - NowSeconds())));
  expiry_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    if (auto s = weak.lock(); s && !ec) {
      ++s->hub_.metrics().token_expiries;
      s->Close(kCloseUnauthorized, "token expired");
    }
  });
  // `ready` carries where this connection starts: the client's own cursor when it can resume from
  // it (and this daemon has reached it), else the daemon's position.
  EventPosition ready_at = hub_.position();
  std::optional<EventPosition> from;
  if (cursor_) from = hub_.ResolveCursor(*cursor_);
  if (from) {
    ready_at = std::min(ready_at, *from);
    resumed_at_ = *from;  // beyond the daemon's position: live events up to it are skipped
  }
  json::Writer ready;
  ready.StartObject()
      .Field("type", "ready")
      .Field("user_id", user_id_)
      .Field("cursor", FormatCursor(ready_at))
      .EndObject();
  SendText(ready.Take());
  if (cursor_ && (!from || !hub_.Replay(*this, *from))) {
    SendError("CURSOR_EXPIRED", "Some events are too old to replay; reload the conversations.");
  }
}

void WsSession::ReadNext() {
  ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) {
      self->closed_ = true;
      if (self->registered_) {
        self->hub_.Unregister(self.get());
        self->registered_ = false;
      }
      self->auth_timer_.cancel();
      self->expiry_timer_.cancel();
      return;
    }
    std::string text = beast::buffers_to_string(self->buffer_.data());
    self->buffer_.consume(self->buffer_.size());
    self->HandleFrame(text);
    self->ReadNext();
  });
}

void WsSession::HandleFrame(const std::string& text) {
  const ClientFrame frame = ParseClientFrame(text);
  const std::string& type = frame.type;
  if (!authed_) {
    if (type != "auth" || frame.token.empty()) {
      ++hub_.metrics().auth_failures;
      Close(kCloseUnauthorized, "authentication required");
    } else {
      Authenticate(frame.token);
    }
    return;
  }
  if (type == "ping") {
    SendText(R"({"type":"pong"})");
  } else if (type == "typing") {
    const std::string& conversation = frame.conversation_id;
    if (conversation.empty()) {
      SendError("VALIDATION_ERROR", "typing needs a conversation_id.");
      return;
    }
    auto now = std::chrono::steady_clock::now();
    auto& last = last_typing_[conversation];
    if (now - last < std::chrono::seconds(2))
      return;  // at most one indicator per 2 s per conversation
    last = now;
    if (last_typing_.size() > 256) last_typing_.clear();
    hub_.Typing(*this, conversation);
  } else if (type == "auth") {
    // Already authenticated: ignore (a client resending its token is harmless).
  } else {
    SendError("VALIDATION_ERROR", "Unknown message type.");
  }
}

void WsSession::SendError(const char* code, const char* detail) {
  json::Writer w;
  w.StartObject().Field("type", "error").Field("code", code).Field("detail", detail).EndObject();
  SendText(w.Take());
}

void WsSession::Send(std::shared_ptr<const std::string> frame) {
  if (closing_ || closed_) return;
  if (queue_.size() >= kMaxQueuedFrames || queued_bytes_ + frame->size() > kMaxQueuedBytes) {
    LogWarn("push: dropping a slow consumer")
        .Str("user_id", user_id_)
        .Int("queued", static_cast<int64_t>(queue_.size()));
    queue_.clear();
    queued_bytes_ = 0;
    ++hub_.metrics().slow_consumers;
    Close(kCloseSlowConsumer, "too slow");
    return;
  }
  queued_bytes_ += frame->size();
  queue_.push_back(std::move(frame));
  if (!writing_) WriteNext();
}

void WsSession::WriteNext() {
  if (closed_) return;
  if (queue_.empty() || closing_) {
    writing_ = false;
    if (closing_) {
      writing_ = true;
      ws_.async_close(close_reason_,
                      [self = shared_from_this()](beast::error_code) { self->closed_ = true; });
    }
    return;
  }
  writing_ = true;
  ws_.text(true);
  auto frame = queue_.front();
  ws_.async_write(boost::asio::buffer(*frame),
                  [self = shared_from_this(), frame](beast::error_code ec, std::size_t) {
                    self->queued_bytes_ -= std::min(self->queued_bytes_, frame->size());
                    if (!self->queue_.empty()) self->queue_.pop_front();
                    if (ec) {
                      self->closed_ = true;
                      return;
                    }
                    self->WriteNext();
                  });
}

void WsSession::Close(uint16_t code, const char* reason) {
  if (closing_ || closed_) return;
  closing_ = true;
  close_reason_.code = code;
  close_reason_.reason = reason;
  if (registered_) {
    hub_.Unregister(this);
    registered_ = false;
  }
  auth_timer_.cancel();
  expiry_timer_.cancel();
  if (!writing_) WriteNext();
}

}  // namespace chatd::push
