// The signed-in user's conversations as the sidebar shows them: pages from GET /conversations
// (infinite scroll, title search, archived or not), kept current by live events, most recently
// active first. Also the per-user "last seen" seq of each conversation (localStorage), from which
// unread marks come. Emits "change" whenever what the sidebar shows changed.

export function activityTime(c) {
  return Date.parse(c.last_message?.created_at || c.updated_at || c.created_at) || 0;
}

export function conversationTitle(c, meId) {
  if (c.title) return c.title;
  if (c.kind === "direct") {
    const other = c.members?.find((m) => m.id !== meId);
    return other ? other.display_name || other.username : "Direct chat";
  }
  if (c.kind === "assistant") return c.assistant?.name ? `Chat with ${c.assistant.name}` : "New chat";
  return "Untitled group";
}

export class Conversations extends EventTarget {
  constructor(api, meId) {
    super();
    this.api = api;
    this.meId = meId;
    this.map = new Map();
    this.query = "";
    this.archived = false;
    this.cursor = null;
    this.done = false;
    this.loading = null;
    this.openId = null;
    this.generation = 0;
    this.seenKey = `chatd.seen.${meId}`;
    try {
      this.seen = JSON.parse(localStorage.getItem(this.seenKey) || "{}");
    } catch {
      this.seen = {};
    }
  }

  #changed() {
    this.dispatchEvent(new CustomEvent("change"));
  }

  list() {
    return [...this.map.values()]
      .filter((c) => Boolean(c.archived) === this.archived && this.#matches(c))
      .sort((a, b) => activityTime(b) - activityTime(a));
  }

  #matches(c) {
    if (!this.query) return true;
    return conversationTitle(c, this.meId).toLowerCase().includes(this.query.toLowerCase());
  }

  get(id) {
    return this.map.get(id);
  }

  // First page for the current filter (search text, archived); drops what the filter hides.
  async reload({ query = this.query, archived = this.archived } = {}) {
    this.query = query;
    this.archived = archived;
    this.cursor = null;
    this.done = false;
    const gen = ++this.generation;
    // While the first page is on its way, more() (the list's sentinel in view) waits for it
    // rather than asking for the same page again.
    const first = this.#fetchPage(null);
    this.loading = first.then(() => {}, () => {}).finally(() => {
      if (gen === this.generation) this.loading = null;
    });
    const page = await first;
    if (gen !== this.generation) return;
    // Keep the open conversation even if the filter hides it (the chat view still shows it).
    for (const [id] of this.map) if (id !== this.openId) this.map.delete(id);
    this.#absorb(page);
  }

  async more() {
    if (this.done || this.loading) return this.loading;
    const gen = this.generation;
    this.loading = this.#fetchPage(this.cursor)
      .then((page) => {
        if (gen === this.generation) this.#absorb(page);
      })
      .finally(() => (this.loading = null));
    return this.loading;
  }

  #fetchPage(cursor) {
    const p = new URLSearchParams({ limit: "30", archived: String(this.archived) });
    if (this.query) p.set("q", this.query);
    if (cursor) p.set("cursor", cursor);
    return this.api.get("/conversations?" + p);
  }

  #absorb(page) {
    for (const c of page.items) this.#put(c);
    this.cursor = page.next_cursor;
    this.done = !page.next_cursor;
    this.#changed();
  }

  #put(c) {
    const old = this.map.get(c.id);
    // A live event can be newer than a page fetched just before it: keep the newer last message.
    if (old && old.last_message && c.last_message && old.last_message.seq > c.last_message.seq) {
      c = { ...c, last_message: old.last_message };
    }
    this.map.set(c.id, c);
  }

  upsert(c) {
    this.#put(c);
    this.#changed();
  }

  remove(id) {
    if (this.map.delete(id)) this.#changed();
  }

  // A message event: the conversation moves to the top with its new last message.
  noteMessage(conversationId, message) {
    const c = this.map.get(conversationId);
    if (!c) {
      // Not loaded yet (older than the loaded pages, or new to us): fetch it.
      this.api
        .get(`/conversations/${encodeURIComponent(conversationId)}`)
        .then((conv) => this.upsert(conv))
        .catch(() => {});
      return;
    }
    if (!c.last_message || c.last_message.seq <= message.seq) {
      this.map.set(conversationId, { ...c, last_message: message, updated_at: message.created_at });
    }
    if (conversationId === this.openId) this.markSeen(conversationId, message.seq);
    this.#changed();
  }

  isUnread(c) {
    if (c.id === this.openId || !c.last_message) return false;
    if (c.last_message.sender && c.last_message.sender.id === this.meId) return false;
    return c.last_message.seq > (this.seen[c.id] || 0);
  }

  markSeen(id, seq) {
    if (!seq || (this.seen[id] || 0) >= seq) return;
    this.seen[id] = seq;
    try {
      localStorage.setItem(this.seenKey, JSON.stringify(this.seen));
    } catch {
      /* unread marks are a convenience */
    }
    this.#changed();
  }

  setOpen(id) {
    this.openId = id;
    const c = id && this.map.get(id);
    if (c?.last_message) this.markSeen(id, c.last_message.seq);
    this.#changed();
  }
}
