-- wrk script for scripts/bench: requests other than a plain GET (a method, headers such as
-- Authorization and Content-Type, JSON bodies), reported like report.lua.
--
-- Not used directly: Bench.request_script() in tests/bench/bench.py writes a small wrapper that
-- defines BENCH_METHOD, BENCH_HEADERS (a table) and BENCH_BODIES (a list of strings, possibly
-- empty), then loads report.lua (for done()) and this file.
--
-- One body is sent as wrk's static request (formatted once, the cheapest for wrk). Several
-- bodies are sent in turn, one per request, each wrk thread starting at a different place in the
-- list (spread by the golden ratio, whatever the thread count), so that bodies naming different
-- users, say, keep concurrent requests off one user's rows.

wrk.method = BENCH_METHOD or "GET"
for name, value in pairs(BENCH_HEADERS or {}) do
  wrk.headers[name] = value
end

local bodies = BENCH_BODIES or {}
if #bodies == 1 then
  wrk.body = bodies[1]
elseif #bodies > 1 then
  local threads_started = 0
  setup = function(thread)
    thread:set("first_body", threads_started)
    threads_started = threads_started + 1
  end

  local next_body = nil
  request = function()
    if next_body == nil then
      -- first_body (the thread's index) is set by setup() in this thread's Lua state.
      local spread = ((first_body or 0) * 0.6180339887) % 1
      next_body = math.floor(spread * #bodies)
    end
    next_body = next_body % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[next_body])
  end
end
