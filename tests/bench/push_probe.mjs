// The push daemon's scale, measured from outside (tests/bench/sections/60_push.py runs this): many
// authenticated WebSockets held open by one Node process (the `ws` library, pinned in
// tests/e2e/package.json), then one group message fanned out to all of them.
//
//   node push_probe.mjs '{"ws_url", "origin", "api_url", "users": [{"token"}], "per_user",
//                         "sender_token", "targets": [{"name", "conversation_id", "members":
//                         [user index, ...]}], "rounds"}'
//
// Prints JSON lines: {"connected": n, "failed": n, "seconds": s} once every socket is ready (the
// section samples the daemon's memory then), waits for a line on stdin, then per fanout round
// {"round", "sockets", "first_ms", "last_ms", "missing"}: milliseconds from the start of the send
// (POST .../messages; its own commit is part of the figure) to the first and the last socket
// receiving its message.created.
import readline from "node:readline";
import WebSocket from "../e2e/node_modules/ws/index.js";

const opts = JSON.parse(process.argv[2]);
const sockets = [];
let waiting = null;

function open(token, user) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${opts.ws_url}?token=${encodeURIComponent(token)}`, { origin: opts.origin, perMessageDeflate: false });
    const entry = { ws, ok: false, user };
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === "ready") {
        entry.ok = true;
        resolve(entry);
      } else if (frame.type === "message.created" && waiting && frame.message.content === waiting.content) {
        waiting.got(performance.now());
      }
    });
    ws.on("error", () => resolve(entry));
    ws.on("close", () => resolve(entry));
  });
}

const started = performance.now();
const batch = 200;
const wanted = [];
opts.users.forEach((u, index) => {
  for (let i = 0; i < opts.per_user; i++) wanted.push([u.token, index]);
});
for (let i = 0; i < wanted.length; i += batch) {
  sockets.push(...(await Promise.all(wanted.slice(i, i + batch).map(([t, u]) => open(t, u)))));
}
const connected = sockets.filter((s) => s.ok).length;
console.log(JSON.stringify({ connected, failed: sockets.length - connected, seconds: (performance.now() - started) / 1000 }));

const lines = readline.createInterface({ input: process.stdin });
const it = lines[Symbol.asyncIterator]();
await it.next();
for (const target of opts.targets) for (let round = 0; round < opts.rounds; round++) {
  const members = new Set(target.members);
  const live = sockets.filter((s) => s.ok && s.ws.readyState === WebSocket.OPEN && members.has(s.user)).length;
  const times = [];
  const content = `fanout ${round} ${Math.random().toString(36).slice(2)}`;
  const done = new Promise((resolve) => {
    waiting = {
      content,
      got(t) {
        times.push(t);
        if (times.length === live) resolve();
      },
    };
    setTimeout(resolve, 30_000);
  });
  const t0 = performance.now();
  const res = await fetch(`${opts.api_url}/api/v1/conversations/${target.conversation_id}/messages`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${opts.sender_token}` },
    body: JSON.stringify({ content }),
  });
  if (res.status !== 201) console.error(`send: ${res.status} ${await res.text()}`);
  await done;
  waiting = null;
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ target: target.name, round, sockets: live, first_ms: times.length ? times[0] - t0 : null, last_ms: times.length ? times.at(-1) - t0 : null, missing: live - times.length }));
}
for (const s of sockets) s.ws.terminate();
process.exit(0);
