// What a WebSocket client may send to chatd-push, parsed without any socket: the frames
// ({"type":"auth","token":...}, {"type":"ping"}, {"type":"typing","conversation_id":...}) and the
// ?cursor= of the upgrade request.
//
// Kept apart from WsSession and the server (which need Boost.Asio and a live connection) so that
// the unit tests and tests/fuzz reach the parsing of these untrusted bytes directly. Pure
// functions, safe from any thread.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "push/event_position.h"

namespace chatd::push {

struct ClientFrame {
  // The frame's "type" when it is a JSON object with a string "type", else "" (not JSON, not an
  // object, or no type): the session answers what it does not know with an error frame.
  std::string type;
  std::string token;  // "auth": the "token" string, else ""
  // "typing": the "conversation_id" lowercased when it is a UUID, else "" (a validation error).
  std::string conversation_id;
};

// A client frame of at most 16 KiB (the session's read limit), nesting at most 8 levels.
ClientFrame ParseClientFrame(std::string_view text);

// The ?cursor= of a resuming client. Today's cursors are "<xid>.<id>" (event_position.h); a cursor
// handed out before sql/0008 is a bare event id ("<id>", `legacy`, with xid 0), which the hub
// resolves against the log. Plain decimal digits only (no sign, space or empty part), each part
// within its type; anything else is nullopt (the connection then starts without a replay).
struct ResumeCursor {
  EventPosition position;
  bool legacy = false;
};
std::optional<ResumeCursor> ParseResumeCursor(std::string_view text);

}  // namespace chatd::push
