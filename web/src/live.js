// Live sync: one WebSocket per tab to /ws (docs/websocket.md), authenticated with a first "auth"
// frame (the token never goes into a URL), resumed with ?cursor= after any disconnect so nothing
// committed is missed, and reconnected with exponential backoff and jitter.
//
// - close 4001 (bad or expired token): reconnect at once with a freshly refreshed token;
// - error CURSOR_EXPIRED: emit "resync" (the app refetches over HTTP), then reconnect without a
//   cursor;
// - close 4429 (too many connections for the user): back off for longer.
// Every frame is re-dispatched as an event named by its type ("message.created", ...); "status"
// events say "connecting" | "online" | "offline". Frames are delivered at least once across
// reconnects (a replay can repeat what a dying socket already delivered): handlers are idempotent.

const PING_MS = 25_000;

export class Live extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    this.ws = null;
    this.cursor = null;
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.stopped = true;
    this.status = "offline";
    this.connectedOnce = false;
    window.addEventListener("online", () => this.#reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.ws && !this.stopped) this.#reconnectNow();
    });
  }

  start() {
    this.stopped = false;
    this.#connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "bye");
    }
    this.cursor = null;
    this.connectedOnce = false;
    this.#setStatus("offline");
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.status === "online") {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  #setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.dispatchEvent(new CustomEvent("status", { detail: s }));
  }

  #reconnectNow() {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.#connect();
  }

  async #connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.#setStatus("connecting");
    const token = await this.session.accessToken();
    if (this.stopped) return;
    if (!token) {
      this.#setStatus("offline");
      return;
    }
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const q = this.cursor ? "?cursor=" + encodeURIComponent(this.cursor) : "";
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/ws${q}`);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
    ws.onmessage = (e) => this.#onFrame(ws, e.data);
    ws.onclose = (e) => this.#onClose(ws, e);
  }

  #onFrame(ws, data) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "error" && frame.code === "CURSOR_EXPIRED") {
      this.cursor = null;
      this.dispatchEvent(new CustomEvent("resync"));
      ws.close(1000, "resync");
      return;
    }
    if (frame.cursor !== undefined && frame.cursor !== null) this.cursor = String(frame.cursor);
    if (frame.type === "ready") {
      this.attempt = 0;
      const resumed = this.connectedOnce;
      this.connectedOnce = true;
      this.#setStatus("online");
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.send({ type: "ping" }), PING_MS);
      this.dispatchEvent(new CustomEvent("ready", { detail: { resumed } }));
      return;
    }
    this.dispatchEvent(new CustomEvent(frame.type, { detail: frame }));
  }

  async #onClose(ws, e) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.pinger);
    if (this.stopped) return;
    this.#setStatus("offline");
    if (e.code === 4001) {
      // The token was refused or expired: refresh (once) and come straight back.
      const ok = await this.session.refresh("Bearer " + (this.session.state?.access_token || ""));
      if (this.stopped || !this.session.signedIn) return;
      if (ok && this.attempt < 2) {
        this.attempt++;
        this.#connect();
        return;
      }
    }
    this.#scheduleReconnect(e.code === 4429 ? 30_000 : 0);
  }

  #scheduleReconnect(minDelay = 0) {
    const base = Math.min(30_000, 500 * 2 ** this.attempt);
    const delay = Math.max(minDelay, base / 2 + Math.random() * (base / 2));
    this.attempt++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#connect(), delay);
  }
}
