// A position in the event log (sql/0008): the writer's transaction id (xid8) and the row's id.
//
// The log is read in (xid, id) order, and only below the horizon (the oldest transaction still
// running), so every event at or before a position that a reader has reached is final: nothing
// can commit behind it later. A client's cursor is a position written as "<xid>.<id>" (opaque to
// clients, docs/websocket.md); the zero position is the start of an empty log. Value type, no
// threads involved.

#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace chatd::push {

struct EventPosition {
  uint64_t xid = 0;
  int64_t id = 0;

  auto operator<=>(const EventPosition&) const = default;
  bool zero() const { return xid == 0 && id == 0; }
};

// The cursor text of `p`: "<xid>.<id>" in decimal.
inline std::string FormatCursor(const EventPosition& p) {
  return std::to_string(p.xid) + "." + std::to_string(p.id);
}

}  // namespace chatd::push
