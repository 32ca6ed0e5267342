// The signed-in session: the user, the short-lived access token and the single-use refresh token,
// kept in localStorage so every tab shares one session.
//
// Refresh is rotation-safe across tabs: a refresh token can be spent once (a second use revokes
// the whole login, API.md), so at most one refresh is in flight for the whole browser. Inside a
// Web Lock ("chatd-refresh") a tab first re-reads the stored session: if another tab already
// rotated, it takes that result instead of spending the (now spent) token again. That re-read
// goes to IndexedDB, not localStorage: Chromium keeps a copy of localStorage in each renderer
// process and brings it up to date asynchronously, so a tab granted the lock right after another
// released it can still read the spent token there (and a refresh with it trips reuse detection
// and ends the login). A committed IndexedDB transaction is visible to every tab at once, and the
// lock holder commits its result before letting go. localStorage stays the synchronous snapshot
// read at start and the source of cross-tab "storage" events.
//
// Tokens are refreshed a minute before they expire, and on a TOKEN_EXPIRED answer. Events:
// "change" (signed in, out, or another user), "ended" (the server ended the session:
// detail.reason), "user" (the same user's profile changed).
import { ApiError } from "./errors.js";

const KEY = "chatd.session";
const EARLY_MS = 60_000;

function readStored() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || "null");
    return v && v.access_token && v.refresh_token && v.user ? v : null;
  } catch {
    return null;
  }
}

// The session record in IndexedDB (database "chatd", store "kv", key "session"). Every function
// resolves (to undefined when IndexedDB is unusable: the caller falls back to localStorage).
let dbPromise = null;
function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve) => {
      let req;
      try {
        req = indexedDB.open("chatd", 1);
      } catch {
        resolve(null);
        return;
      }
      req.onupgradeneeded = () => req.result.createObjectStore("kv");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(null);
      req.onblocked = () => resolve(null);
    });
  }
  return dbPromise;
}

async function durableRead() {
  const db = await openDb();
  if (!db) return undefined;
  return new Promise((resolve) => {
    try {
      const get = db.transaction("kv", "readonly").objectStore("kv").get(KEY);
      get.onsuccess = () => resolve(get.result ?? null);
      get.onerror = () => resolve(undefined);
    } catch {
      resolve(undefined);
    }
  });
}

async function durableWrite(state) {
  const db = await openDb();
  if (!db) return;
  await new Promise((resolve) => {
    try {
      const tx = db.transaction("kv", "readwrite");
      if (state) tx.objectStore("kv").put(state, KEY);
      else tx.objectStore("kv").delete(KEY);
      tx.oncomplete = tx.onerror = tx.onabort = () => resolve();
    } catch {
      resolve();
    }
  });
}

// The newest session any tab has written, for the lock holder: IndexedDB's record (what the last
// refreshing tab committed under the lock) or localStorage's, whichever expires later (a rotation
// only ever moves the expiry forward; a session written before IndexedDB held one, e.g. by an
// older version of this page, is only in localStorage). Null when neither holds one.
async function readLatest() {
  const durable = await durableRead();
  const valid = durable && durable.access_token && durable.refresh_token && durable.user ? durable : null;
  const local = readStored();
  if (!valid) return local;
  if (!local) return valid;
  return local.access_expires_at > valid.access_expires_at ? local : valid;
}

function withLock(fn) {
  if (navigator.locks?.request) return navigator.locks.request("chatd-refresh", fn);
  return fn(); // no Web Locks (an insecure origin): one refresh per tab still holds
}

export class Session extends EventTarget {
  constructor() {
    super();
    this.state = readStored();
    this.inflight = null;
    this.timer = null;
    this.saved = Promise.resolve();
    window.addEventListener("storage", (e) => {
      if (e.key !== KEY) return;
      const before = this.state;
      this.state = readStored();
      if (!this.state) {
        this.#unschedule();
        if (before) this.dispatchEvent(new CustomEvent("change", { detail: { reason: "signed-out-elsewhere" } }));
      } else if (!before || before.user.id !== this.state.user.id) {
        this.#schedule();
        this.dispatchEvent(new CustomEvent("change", { detail: { reason: "other-tab" } }));
      } else {
        this.#schedule(); // another tab rotated the tokens
        if (JSON.stringify(before.user) !== JSON.stringify(this.state.user)) this.#userChanged();
      }
    });
    if (this.state) this.#schedule();
  }

  get user() {
    return this.state?.user || null;
  }

  get signedIn() {
    return Boolean(this.state);
  }

  // An AuthResult from signup, login, guest, upgrade or refresh.
  adopt(result) {
    const prevUser = this.state?.user?.id;
    this.state = {
      user: result.user,
      access_token: result.access_token,
      refresh_token: result.refresh_token,
      access_expires_at: Date.now() + result.expires_in * 1000,
    };
    this.saved = this.#save();
    this.#schedule();
    if (prevUser !== result.user.id) this.dispatchEvent(new CustomEvent("change", { detail: { reason: "signed-in" } }));
    else this.#userChanged();
  }

  setUser(user) {
    if (!this.state) return;
    this.state = { ...this.state, user };
    this.#save();
    this.#userChanged();
  }

  #userChanged() {
    this.dispatchEvent(new CustomEvent("user", { detail: this.state?.user }));
  }

  // Writes the session to both stores; resolves once IndexedDB has committed it.
  #save() {
    try {
      if (this.state) localStorage.setItem(KEY, JSON.stringify(this.state));
      else localStorage.removeItem(KEY);
    } catch {
      /* storage full or disabled: the session lives in this tab only */
    }
    return durableWrite(this.state);
  }

  #schedule() {
    this.#unschedule();
    if (!this.state) return;
    const wait = Math.max(5_000, this.state.access_expires_at - Date.now() - EARLY_MS);
    this.timer = setTimeout(() => this.refresh(), Math.min(wait, 2 ** 31 - 1));
  }

  #unschedule() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  // The current access token, refreshed first when it is about to expire.
  async accessToken() {
    if (!this.state) return null;
    if (this.state.access_expires_at - Date.now() < 15_000) await this.refresh();
    return this.state?.access_token || null;
  }

  // Refreshes the tokens once (whatever the number of callers in this tab). `staleHeader` is the
  // Authorization header that was refused, so a token that another tab already replaced is not
  // refreshed again. Resolves true when a usable token is in place.
  refresh(staleHeader) {
    if (this.inflight) return this.inflight;
    this.inflight = withLock(async () => {
      const stored = await readLatest();
      if (!stored) {
        this.#clear("signed-out-elsewhere");
        return false;
      }
      const fresh = stored.access_expires_at - Date.now() > EARLY_MS;
      const replaced = staleHeader && "Bearer " + stored.access_token !== staleHeader;
      if ((fresh && !staleHeader) || (replaced && fresh)) {
        this.state = stored; // another tab rotated: use its result
        this.#schedule();
        return true;
      }
      let res;
      try {
        res = await fetch("/api/v1/auth/refresh", {
          method: "POST",
          headers: { "Content-Type": "application/json; charset=utf-8", Accept: "application/json" },
          body: JSON.stringify({ refresh_token: stored.refresh_token }),
        });
      } catch {
        this.#retrySoon();
        return false; // offline: keep the session, try again later
      }
      if (res.ok) {
        this.adopt(await res.json());
        await this.saved; // committed before the lock goes to another tab
        return true;
      }
      let problem = {};
      try {
        problem = await res.json();
      } catch {
        /* not JSON */
      }
      if (res.status === 401) {
        this.ended(new ApiError(problem, 401));
        return false;
      }
      this.#retrySoon(); // 429 or 5xx: the token is still good, try again
      return false;
    }).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  #retrySoon() {
    this.#unschedule();
    this.timer = setTimeout(() => this.refresh(), 10_000);
  }

  // The server refused the session (revoked, reused, expired refresh token).
  ended(err) {
    if (!this.state) return;
    this.#clear("ended", err);
  }

  #clear(reason, err) {
    const had = Boolean(this.state);
    this.state = null;
    this.#unschedule();
    this.#save();
    if (!had) return;
    if (reason === "ended") this.dispatchEvent(new CustomEvent("ended", { detail: { error: err } }));
    else this.dispatchEvent(new CustomEvent("change", { detail: { reason } }));
  }

  // Sign out here: spends this login's refresh token server-side.
  async logout() {
    const s = this.state;
    this.#clear("signed-out");
    if (!s) return;
    try {
      await fetch("/api/v1/auth/logout", {
        method: "POST",
        headers: { "Content-Type": "application/json; charset=utf-8" },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
      });
    } catch {
      /* the token expires by itself */
    }
  }

  // After logout-all or a password change the server has revoked everything: forget it here.
  forget() {
    this.#clear("signed-out");
  }
}
