// One open conversation: its messages, the composer, live replies.
//
// History: the newest page first (GET …/messages), older pages when the reader nears the top,
// inserted without moving what is on screen (the first visible message keeps its place: the view
// measures and corrects it itself, with the browser's own scroll anchoring off). The DOM holds
// only the pages the reader has scrolled through, so opening a long conversation renders 50
// messages, not thousands. (CSS content-visibility was tried: its estimated sizes for pages
// inserted above the view made the anchor drift once they rendered.)
//
// Replies: a send asks for SSE and renders deltas as they come; other devices and members get the
// same reply through /ws (message.created → message.delta… → message.updated). Deltas are applied
// by offset (code points): overlap is skipped, a gap refetches the message, deltas of a message no
// longer streaming are ignored (docs/websocket.md). A reload mid-reply therefore shows the text so
// far and continues live, and the Stop button is back because it follows the streaming messages.
//
// Scrolling: the view follows a growing reply only while the reader is at the bottom; a wheel,
// touch, key or scrollbar scroll upwards stops following (the view's own scrolling never counts);
// "Jump to latest" brings it back.
//
// Edits: in direct and group conversations a user's own messages have an Edit action, which puts
// message_editor.js in place of the message's body; the saved message (the PATCH's answer, and
// message.updated on every member's devices) re-renders with an "(edited)" mark.
import { el, icon, announce, formatTime, replaceChildren } from "../dom.js";
import { friendlyMessage } from "../errors.js";
import { renderMarkdown, StreamingMarkdown } from "../markdown.js";
import { conversationTitle } from "../conversations.js";
import { toast } from "./dialog.js";
import { conversationMenu } from "./conversation_menu.js";
import { editedMark } from "./edited_mark.js";
import { messageEditor } from "./message_editor.js";

const PAGE = 50;
const cpLength = (s) => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
};
const cpSlice = (s, from) => {
  if (from <= 0) return s;
  let i = 0;
  for (let n = 0; n < from && i < s.length; n++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
  }
  return s.slice(i);
};

export class ChatView {
  constructor(ctx, conversation) {
    this.ctx = ctx;
    this.conv = conversation;
    this.id = conversation.id;
    this.entries = new Map(); // message id -> entry
    this.pending = new Map(); // client_message_id -> pending entry (not yet stored)
    this.minSeq = Infinity;
    this.maxSeq = 0;
    this.follow = true;
    this.loadingOlder = false;
    this.destroyed = false;
    this.typingUsers = new Map();
    this.lastTypingSent = 0;
    this.streams = new Set(); // AbortControllers of this view's own SSE requests
    this.build();
  }

  // ---- layout ---------------------------------------------------------------------------------

  build() {
    const me = this.ctx.session.user;
    this.titleEl = el("h1", { class: "chat-title", id: "chat-title" });
    this.subEl = el("p", { class: "chat-sub" });
    this.stopBtn = el(
      "button",
      { type: "button", class: "btn stop", hidden: true, onclick: () => this.stop() },
      icon("stop"),
      el("span", { text: "Stop" }),
    );
    const header = el(
      "header",
      { class: "chat-head" },
      this.ctx.drawerToggle(),
      el("div", { class: "chat-heading" }, this.titleEl, this.subEl),
      conversationMenu(this.ctx, () => this.conv),
    );
    this.topStatus = el("div", { class: "history-status", role: "status" });
    this.list = el("div", { class: "message-list" });
    this.scroller = el(
      "div",
      { class: "messages", tabindex: "0", role: "log", "aria-label": "Messages", "aria-live": "off", "aria-busy": "false" },
      this.topStatus,
      this.list,
    );
    this.jumpBtn = el(
      "button",
      { type: "button", class: "btn jump", hidden: true, onclick: () => this.jumpToLatest() },
      icon("down"),
      el("span", { text: "Jump to latest" }),
    );
    this.typingEl = el("div", { class: "typing", "aria-live": "polite" });
    this.build_composer();
    this.el = el(
      "section",
      { class: "chat", "aria-labelledby": "chat-title", dataset: { conversationId: this.id } },
      header,
      el("div", { class: "messages-wrap" }, this.scroller, this.jumpBtn),
      this.typingEl,
      this.composer,
    );
    this.renderHeader();
    this.wireScrolling();
    void me;
  }

  build_composer() {
    const max = this.ctx.info?.limits?.max_message_chars || 5000;
    this.max = max;
    this.input = el("textarea", {
      class: "composer-input",
      rows: "1",
      "aria-label": "Message",
      placeholder: "Write a message…",
      autocomplete: "off",
      "aria-autocomplete": "list",
    });
    this.counter = el("span", { class: "counter", "aria-live": "off" });
    this.sendBtn = el("button", { type: "submit", class: "btn primary send", "aria-label": "Send" }, icon("send"), el("span", { text: "Send" }));
    this.mentionList = el("ul", { class: "mentions", role: "listbox", id: `mentions-${this.id}`, hidden: true, "aria-label": "Mention" });
    this.composerError = el("p", { class: "composer-error", role: "alert" });
    this.composer = el(
      "form",
      { class: "composer", onsubmit: (e) => (e.preventDefault(), this.submit()) },
      this.mentionList,
      this.composerError,
      el("div", { class: "composer-row" }, this.input, el("div", { class: "composer-side" }, this.stopBtn, this.sendBtn)),
      el("div", { class: "composer-foot" }, el("span", { class: "hint", text: "Enter to send, Shift+Enter for a new line" }), this.counter),
    );
    this.input.value = this.loadDraft();
    this.input.addEventListener("input", () => this.onInput());
    this.input.addEventListener("keydown", (e) => this.onKeyDown(e));
    this.input.addEventListener("blur", () => setTimeout(() => this.closeMentions(), 150));
    this.updateComposer();
  }

  renderHeader() {
    const me = this.ctx.session.user.id;
    this.titleEl.textContent = conversationTitle(this.conv, me);
    const parts = [];
    if (this.conv.kind === "assistant") parts.push(this.conv.assistant?.name ? `Assistant: ${this.conv.assistant.name}` : "Assistant chat");
    if (this.conv.kind === "direct") {
      const other = this.conv.members.find((m) => m.id !== me);
      if (other) parts.push("@" + other.username);
    }
    if (this.conv.kind === "group") {
      parts.push(`${this.conv.members.length} member${this.conv.members.length === 1 ? "" : "s"}`);
      if (this.conv.assistant_id) parts.push(this.conv.assistant?.name ? `mention @${this.conv.assistant.name} to ask the assistant` : "with an assistant");
    }
    if (this.conv.archived) parts.push("archived");
    this.subEl.textContent = parts.join(" · ");
    // One line even on a phone: a long title (often the first message) is cut.
    const title = conversationTitle(this.conv, me).replace(/\s+/g, " ");
    this.input.placeholder = `Message ${title.length > 32 ? title.slice(0, 31).trimEnd() + "…" : title}`;
  }

  // ---- history --------------------------------------------------------------------------------

  static PAGE = PAGE;

  // `firstPage`: the newest page, when the caller already asked for it (app.js).
  async load(firstPage) {
    this.topStatus.textContent = "Loading messages…";
    try {
      const page = await (firstPage || this.ctx.api.get(`/conversations/${encodeURIComponent(this.id)}/messages?limit=${PAGE}`));
      if (this.destroyed) return;
      for (const m of page.items) this.upsert(m, { quiet: true });
      this.updateHistoryStatus();
      this.scrollToBottom();
      this.ctx.convs.markSeen(this.id, this.maxSeq);
      // Fill the screen: a short page on a tall window loads more at once.
      requestAnimationFrame(() => this.maybeLoadOlder());
    } catch (err) {
      this.topStatus.textContent = friendlyMessage(err);
      if (err.code === "NOT_FOUND") this.ctx.conversationGone(this.id, "This conversation is no longer available.");
    }
  }

  hasOlder() {
    return this.minSeq !== Infinity && this.minSeq > 1;
  }

  updateHistoryStatus() {
    if (this.entries.size === 0 && this.pending.size === 0) {
      this.topStatus.textContent = this.conv.kind === "assistant" ? "Ask anything to start." : "No messages yet. Say hello!";
    } else {
      this.topStatus.textContent = this.hasOlder() ? "" : "Beginning of the conversation";
    }
  }

  maybeLoadOlder() {
    if (this.destroyed || this.loadingOlder || !this.hasOlder()) return;
    if (this.scroller.scrollTop < 400) this.loadOlder();
  }

  async loadOlder() {
    this.loadingOlder = true;
    this.topStatus.textContent = "Loading older messages…";
    try {
      const before = this.minSeq;
      const page = await this.ctx.api.get(`/conversations/${encodeURIComponent(this.id)}/messages?before_seq=${before}&limit=${PAGE}`);
      if (this.destroyed) return;
      // Keep the first visible message where it is on screen.
      const anchor = this.firstVisible();
      const top = anchor ? anchor.getBoundingClientRect().top : 0;
      for (const m of page.items) this.upsert(m, { quiet: true });
      if (anchor) {
        const moved = anchor.getBoundingClientRect().top - top;
        // An explicit instant scroll also ends a smooth scroll still running (a wheel flung to the
        // top), which would otherwise carry on to its old target and undo the correction.
        if (moved) this.scroller.scrollTo({ top: this.scroller.scrollTop + moved, behavior: "instant" });
      }
    } catch (err) {
      toast(friendlyMessage(err), { error: true });
    } finally {
      this.loadingOlder = false;
      this.updateHistoryStatus();
    }
    requestAnimationFrame(() => this.maybeLoadOlder());
  }

  firstVisible() {
    const top = this.scroller.getBoundingClientRect().top;
    for (const node of this.list.children) {
      const r = node.getBoundingClientRect();
      if (r.bottom > top) return node;
    }
    return null;
  }

  // After a reconnect: deltas are not replayed, so refetch what may have moved on meanwhile.
  async catchUp() {
    try {
      let after = this.maxSeq;
      for (let i = 0; i < 20; i++) {
        const page = await this.ctx.api.get(`/conversations/${encodeURIComponent(this.id)}/messages?after_seq=${after}&limit=100`);
        for (const m of page.items) this.upsert(m);
        if (!page.next_cursor || !page.items.length) break;
        after = page.items[page.items.length - 1].seq;
      }
      for (const e of this.entries.values()) if (e.msg.status === "streaming" && e.msg.seq) this.refetch(e.msg.seq);
    } catch {
      /* the next event or reconnect tries again */
    }
  }

  async refetch(seq) {
    try {
      const page = await this.ctx.api.get(`/conversations/${encodeURIComponent(this.id)}/messages?after_seq=${seq - 1}&limit=1`);
      for (const m of page.items) this.upsert(m);
    } catch {
      /* a later event brings it */
    }
  }

  // ---- messages -------------------------------------------------------------------------------

  // A stored Message (from a page, SSE or /ws). Idempotent; older states never replace newer ones.
  upsert(m, { quiet = false } = {}) {
    if (m.conversation_id && m.conversation_id !== this.id) return;
    if (m.client_message_id && m.sender?.id === this.ctx.session.user.id) {
      const p = this.pending.get(m.client_message_id);
      if (p) {
        p.node.remove();
        this.pending.delete(m.client_message_id);
      }
    }
    let e = this.entries.get(m.id);
    if (!e) {
      e = this.createEntry(m);
      this.insert(e);
      if (!quiet && m.role === "assistant" && m.status !== "streaming") announce(`Reply: ${m.content.slice(0, 200)}`);
    } else {
      const wasStreaming = e.msg.status === "streaming";
      if (!wasStreaming && m.status === "streaming") return; // a stale snapshot
      if (e.msg.edited_at && !(Date.parse(m.edited_at) >= Date.parse(e.msg.edited_at))) return; // from before an edit
      const seqArrived = e.msg.seq === undefined && m.seq !== undefined;
      e.msg = { ...e.msg, ...m };
      if (seqArrived) this.insert(e);
      if (m.status === "streaming") {
        if (cpLength(m.content) > e.cp) this.setText(e, m.content);
      } else {
        // A finished message arrives twice (the SSE "done" and /ws message.updated) and again
        // on catch-ups: the same text is not rendered again (a long reply's full render is a
        // long task, and the nodes stay as they are, selection included).
        const unchanged = !wasStreaming && !e.md && e.text === m.content;
        e.text = m.content;
        e.cp = cpLength(m.content);
        if (e.md) e.md.finish(m.content);
        else if (!unchanged) replaceChildren(e.body, renderMarkdown(m.content));
        e.md = null;
        if (wasStreaming && m.role === "assistant") {
          announce(m.status === "complete" ? "Reply finished." : m.status === "interrupted" ? "Reply stopped." : "The reply failed.");
          this.ctx.onReplyFinished?.();
        }
      }
      this.renderMeta(e);
    }
    if (m.seq !== undefined) {
      this.minSeq = Math.min(this.minSeq, m.seq);
      if (m.seq > this.maxSeq) {
        const gap = this.maxSeq > 0 && m.seq > this.maxSeq + 1 && !quiet;
        const from = this.maxSeq;
        this.maxSeq = m.seq;
        if (gap) this.fillGap(from, m.seq);
      }
    }
    if (!quiet) {
      this.ctx.convs.markSeen(this.id, this.maxSeq);
      this.updateHistoryStatus();
    }
    this.refreshActions();
  }

  async fillGap(from, to) {
    try {
      const page = await this.ctx.api.get(`/conversations/${encodeURIComponent(this.id)}/messages?after_seq=${from}&limit=${Math.min(100, to - from)}`);
      for (const m of page.items) this.upsert(m, { quiet: true });
    } catch {
      /* shown on the next load */
    }
  }

  createEntry(m) {
    const me = this.ctx.session.user.id;
    const mine = m.role === "user" && m.sender?.id === me;
    const body = el("div", { class: "msg-body markdown" });
    const meta = el("div", { class: "msg-meta" });
    const foot = el("div", { class: "msg-foot" });
    const node = el("article", { class: `msg ${m.role}${mine ? " mine" : ""}`, dataset: { id: m.id }, "aria-label": "" }, meta, body, foot);
    if (m.seq !== undefined) node.dataset.seq = String(m.seq);
    const e = { msg: m, node, body, meta, foot, md: null, text: m.content || "", cp: cpLength(m.content || "") };
    if (m.status === "streaming") {
      e.md = new StreamingMarkdown(body);
      e.md.update(e.text);
    } else {
      replaceChildren(body, renderMarkdown(e.text));
    }
    this.entries.set(m.id, e);
    this.renderMeta(e);
    return e;
  }

  // Ascending seq; messages without a seq yet (a reply known only from its deltas) go last.
  insert(e) {
    const seq = e.msg.seq;
    if (seq !== undefined) e.node.dataset.seq = String(seq);
    let before = null;
    if (seq !== undefined) {
      for (const n of this.list.children) {
        if (n === e.node) continue;
        const s = n.dataset.seq ? Number(n.dataset.seq) : Infinity;
        if (s > seq) {
          before = n;
          break;
        }
      }
    } else {
      before = null;
    }
    // Fast path for the common case (appending the newest).
    if (!before) this.list.appendChild(e.node);
    else this.list.insertBefore(e.node, before);
  }

  setText(e, text, cp = cpLength(text)) {
    e.text = text;
    e.cp = cp;
    if (!e.md) e.md = new StreamingMarkdown(e.body);
    e.md.update(text);
  }

  // A delta from SSE or /ws: {message_id, offset, content}.
  applyDelta(d) {
    let e = this.entries.get(d.message_id);
    if (!e) {
      // Known only from its deltas so far (its message.created is on the way): a placeholder.
      e = this.createEntry({ id: d.message_id, conversation_id: this.id, role: "assistant", sender: null, content: "", status: "streaming", sources: [], flags: [] });
      this.insert(e);
      this.refreshActions();
    }
    if (e.msg.status !== "streaming") return;
    const len = cpLength(d.content);
    if (d.offset > e.cp) {
      if (e.msg.seq) this.refetch(e.msg.seq);
      return;
    }
    if (d.offset + len <= e.cp) return;
    // Appended, so the code points are counted on the new part only (a long reply's text is not
    // walked once per delta).
    const added = cpSlice(d.content, e.cp - d.offset);
    this.setText(e, e.text + added, e.cp + cpLength(added));
  }

  renderMeta(e) {
    const m = e.msg;
    const who = m.role === "assistant" ? this.assistantName(m) : m.sender ? m.sender.display_name || m.sender.username : "Unknown";
    const time = el("time", { datetime: m.created_at || "", text: formatTime(m.created_at) });
    const status =
      m.status === "streaming"
        ? el("span", { class: "badge live", text: "Writing…" })
        : m.status === "interrupted"
          ? el("span", { class: "badge warn", text: "Stopped" })
          : m.status === "failed"
            ? el("span", { class: "badge error", text: "Failed" })
            : null;
    const flags = (m.flags || []).includes("possible_prompt_injection") ? el("span", { class: "badge", title: "This message looks like an attempt to instruct the assistant", text: "flagged" }) : null;
    replaceChildren(e.meta, el("span", { class: "who", text: who }), time, editedMark(m), status, flags);
    e.node.setAttribute("aria-label", `${who}${m.status === "streaming" ? " (writing)" : ""}`);
    e.node.classList.toggle("streaming", m.status === "streaming");
    e.node.setAttribute("aria-busy", m.status === "streaming" ? "true" : "false");
    this.renderFoot(e);
  }

  assistantName(m) {
    return this.conv.assistant?.name || m.model || "Assistant";
  }

  renderFoot(e) {
    const m = e.msg;
    const parts = [];
    if (m.role === "assistant" && m.sources?.length) {
      parts.push(
        el(
          "details",
          { class: "sources" },
          el("summary", { text: `Sources (${m.sources.length})` }),
          el(
            "ol",
            null,
            m.sources.map((s) => el("li", null, el("span", { class: "src-name", text: `${s.filename} · part ${s.chunk_index + 1}` }), el("q", { class: "src-excerpt", text: s.excerpt }))),
          ),
        ),
      );
    }
    if (m.role === "assistant" && m.status !== "streaming" && m.seq !== undefined) {
      const actions = el("div", { class: "msg-actions" });
      actions.append(
        el(
          "button",
          {
            type: "button",
            class: "link small",
            onclick: async () => {
              try {
                await navigator.clipboard.writeText(e.text);
                toast("Copied");
              } catch {
                toast("Copy failed", { error: true });
              }
            },
          },
          "Copy",
        ),
      );
      if (m.status === "failed" || m.status === "interrupted") {
        actions.append(el("button", { type: "button", class: "link small retry", onclick: () => this.regenerate(e) }, "Retry"));
      } else {
        actions.append(el("button", { type: "button", class: "link small regenerate", hidden: true, onclick: () => this.regenerate(e) }, "Regenerate"));
      }
      if (m.usage) actions.append(el("span", { class: "usage", text: `${m.usage.prompt_tokens + m.usage.completion_tokens} tokens` }));
      parts.push(actions);
    }
    if (this.canEdit(m) && !e.editor) {
      parts.push(el("div", { class: "msg-actions" }, el("button", { type: "button", class: "link small edit", onclick: () => this.startEdit(e) }, "Edit")));
    }
    // The foot is drawn again on every update of its message (a live message.updated): the
    // focus stays on the same action.
    const focused = e.foot.contains(document.activeElement) ? document.activeElement.className : null;
    replaceChildren(e.foot, ...parts);
    if (focused) [...e.foot.querySelectorAll("button")].find((b) => b.className === focused)?.focus();
  }

  // A stored message of the user's own, in a conversation between people (the server refuses
  // edits in assistant conversations and of anyone else's message).
  canEdit(m) {
    return m.role === "user" && m.sender?.id === this.ctx.session.user.id && m.seq !== undefined && (this.conv.kind === "direct" || this.conv.kind === "group");
  }

  startEdit(e) {
    if (e.editor) return e.editor.focus();
    e.editor = messageEditor({
      text: e.text,
      max: this.max,
      save: async (content) => this.upsert(await this.ctx.api.patch(`/conversations/${encodeURIComponent(this.id)}/messages/${encodeURIComponent(e.msg.id)}`, { content })),
      close: () => this.endEdit(e),
    });
    e.body.hidden = true;
    e.node.classList.add("editing");
    e.node.insertBefore(e.editor.el, e.foot);
    this.renderFoot(e);
    e.editor.focus();
  }

  endEdit(e) {
    if (!e.editor) return;
    const hadFocus = e.editor.el.contains(document.activeElement);
    e.editor.el.remove();
    e.editor = null;
    e.body.hidden = false;
    e.node.classList.remove("editing");
    this.renderFoot(e);
    if (hadFocus) e.foot.querySelector(".edit")?.focus();
  }

  // The Stop button follows the streaming replies; Regenerate shows on the newest reply only.
  refreshActions() {
    let streaming = false;
    let newest = null;
    for (const e of this.entries.values()) {
      if (e.msg.status === "streaming") streaming = true;
      if (e.msg.role === "assistant" && e.msg.seq !== undefined && (!newest || e.msg.seq > newest.msg.seq)) newest = e;
    }
    this.stopBtn.hidden = !streaming;
    this.stopBtn.disabled = false;
    this.scroller.setAttribute("aria-busy", streaming ? "true" : "false");
    for (const e of this.entries.values()) {
      const b = e.foot.querySelector(".regenerate");
      if (b) b.hidden = e !== newest || streaming;
    }
  }

  // ---- sending --------------------------------------------------------------------------------

  async submit(retry) {
    const text = retry ? retry.text : this.input.value.trim();
    if (!text) return;
    if (cpLength(text) > this.max) {
      this.composerError.textContent = `Messages can be at most ${this.max} characters.`;
      return;
    }
    this.composerError.textContent = "";
    const cmid = retry ? retry.cmid : crypto.randomUUID();
    if (!retry) {
      this.input.value = "";
      this.saveDraft("");
      this.updateComposer();
      this.closeMentions();
    }
    const p = retry || this.addPending(cmid, text);
    p.node.classList.remove("failed");
    p.status.textContent = "Sending…";
    this.follow = true;
    this.scrollToBottom();
    await this.runStream(`/conversations/${encodeURIComponent(this.id)}/messages`, { content: text, client_message_id: cmid }, p);
  }

  addPending(cmid, text) {
    const me = this.ctx.session.user;
    const status = el("span", { class: "badge", text: "Sending…" });
    const retryBtn = el("button", { type: "button", class: "link small", hidden: true }, "Retry");
    const node = el(
      "article",
      { class: "msg user mine pending", "aria-label": `${me.display_name} (sending)` },
      el("div", { class: "msg-meta" }, el("span", { class: "who", text: me.display_name || me.username }), status),
      el("div", { class: "msg-body markdown" }, renderMarkdown(text)),
      el("div", { class: "msg-foot" }, retryBtn),
    );
    const p = { cmid, text, node, status, retryBtn };
    retryBtn.addEventListener("click", () => {
      retryBtn.hidden = true;
      this.submit(p);
    });
    this.pending.set(cmid, p);
    this.list.appendChild(node);
    this.updateHistoryStatus();
    return p;
  }

  async runStream(path, body, pending) {
    const ctrl = new AbortController();
    this.streams.add(ctrl);
    try {
      const res = await this.ctx.api.stream(
        path,
        body,
        {
          message: (m) => this.upsert(m),
          delta: (d) => this.applyDelta(d),
          done: (m) => this.upsert(m),
          error: (err) => this.showError(err),
        },
        ctrl.signal,
      );
      if (res.json) {
        if (res.json.message) this.upsert(res.json.message);
        if (res.json.reply) this.upsert(res.json.reply);
      }
    } catch (err) {
      if (err.name === "AbortError") return;
      if (pending && this.pending.has(pending.cmid)) {
        // Not stored (or we cannot know): the same client_message_id makes a retry safe.
        pending.node.classList.add("failed");
        pending.status.textContent = err.code === "NETWORK" ? "Not sent" : "Failed";
        pending.retryBtn.hidden = false;
      }
      this.showError(err);
    } finally {
      this.streams.delete(ctrl);
    }
  }

  showError(err) {
    if (err.code === "NETWORK" && !this.pending.size) return; // a dropped stream: /ws carries the rest
    this.composerError.textContent = friendlyMessage(err);
  }

  async regenerate(e) {
    const seq = e.msg.seq;
    let user = null;
    for (const x of this.entries.values()) {
      if (x.msg.role === "user" && x.msg.seq < seq && (!user || x.msg.seq > user.msg.seq)) user = x;
    }
    if (!user) return toast("The message this replied to is not loaded.", { error: true });
    this.composerError.textContent = "";
    this.follow = true;
    await this.runStream(`/conversations/${encodeURIComponent(this.id)}/messages/${encodeURIComponent(user.msg.id)}/regenerate`, {}, null);
  }

  async stop() {
    this.stopBtn.disabled = true;
    try {
      await this.ctx.api.post(`/conversations/${encodeURIComponent(this.id)}/stop`, {});
    } catch (err) {
      this.stopBtn.disabled = false;
      toast(friendlyMessage(err), { error: true });
    }
  }

  // ---- composer -------------------------------------------------------------------------------

  draftKey() {
    return `chatd.draft.${this.ctx.session.user.id}.${this.id}`;
  }
  loadDraft() {
    try {
      return localStorage.getItem(this.draftKey()) || "";
    } catch {
      return "";
    }
  }
  saveDraft(v) {
    try {
      if (v) localStorage.setItem(this.draftKey(), v);
      else localStorage.removeItem(this.draftKey());
    } catch {
      /* drafts are a convenience */
    }
  }

  infoChanged() {
    this.max = this.ctx.info?.limits?.max_message_chars || 5000;
    this.updateComposer();
  }

  updateComposer() {
    const n = cpLength(this.input.value.trim());
    this.counter.textContent = `${n.toLocaleString()} / ${this.max.toLocaleString()}`;
    this.counter.classList.toggle("over", n > this.max);
    this.counter.classList.toggle("near", n > this.max * 0.9);
    this.sendBtn.disabled = n === 0 || n > this.max;
    this.input.style.height = "auto";
    this.input.style.height = Math.min(this.input.scrollHeight, window.innerHeight * 0.4) + "px";
  }

  onInput() {
    this.updateComposer();
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => this.saveDraft(this.input.value), 300);
    const now = Date.now();
    if (this.input.value && now - this.lastTypingSent > 2500) {
      if (this.ctx.live.send({ type: "typing", conversation_id: this.id })) this.lastTypingSent = now;
    }
    this.updateMentions();
  }

  onKeyDown(e) {
    if (!this.mentionList.hidden) {
      const items = [...this.mentionList.children];
      const active = items.findIndex((li) => li.getAttribute("aria-selected") === "true");
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const next = (active + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        this.selectMention(next);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        this.acceptMention(items[Math.max(0, active)].dataset.name);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.closeMentions();
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      this.submit();
    }
  }

  mentionNames() {
    const names = [];
    if (this.conv.kind === "group" && this.conv.assistant_id && this.conv.assistant?.name) names.push(this.conv.assistant.name);
    return names;
  }

  updateMentions() {
    const names = this.mentionNames();
    const before = this.input.value.slice(0, this.input.selectionStart);
    const m = /(^|[^\p{L}\p{N}_@.-])@([^\s@]*)$/u.exec(before);
    if (!names.length || !m) return this.closeMentions();
    const q = m[2].toLowerCase();
    const hits = names.filter((n) => n.toLowerCase().startsWith(q) && n.toLowerCase() !== q);
    if (!hits.length) return this.closeMentions();
    this.mentionStart = before.length - m[2].length - 1;
    replaceChildren(this.mentionList, 
      ...hits.map((n, i) =>
        el("li", { role: "option", id: `mention-${this.id}-${i}`, dataset: { name: n }, "aria-selected": "false", onmousedown: (ev) => (ev.preventDefault(), this.acceptMention(n)) }, el("span", { text: "@" + n }), el("span", { class: "hint", text: "assistant" })),
      ),
    );
    this.mentionList.hidden = false;
    // A textarea (role textbox) may not carry aria-expanded: the open list is announced through
    // aria-controls and aria-activedescendant, both dropped when it closes.
    this.input.setAttribute("aria-controls", this.mentionList.id);
    this.selectMention(0);
  }

  selectMention(i) {
    [...this.mentionList.children].forEach((li, j) => li.setAttribute("aria-selected", String(i === j)));
    this.input.setAttribute("aria-activedescendant", `mention-${this.id}-${i}`);
  }

  acceptMention(name) {
    const v = this.input.value;
    const end = this.input.selectionStart;
    const insert = "@" + name + " ";
    this.input.value = v.slice(0, this.mentionStart) + insert + v.slice(end);
    const caret = this.mentionStart + insert.length;
    this.input.setSelectionRange(caret, caret);
    this.closeMentions();
    this.updateComposer();
    this.input.focus();
  }

  closeMentions() {
    this.mentionList.hidden = true;
    this.input.removeAttribute("aria-activedescendant");
    this.input.removeAttribute("aria-controls");
  }

  // ---- live -----------------------------------------------------------------------------------

  onConversation(conv) {
    this.conv = conv;
    this.renderHeader();
  }

  onTyping(frame) {
    if (frame.user_id === this.ctx.session.user.id) return;
    const member = this.conv.members.find((m) => m.id === frame.user_id);
    const name = member ? member.display_name || member.username : "Someone";
    clearTimeout(this.typingUsers.get(frame.user_id)?.timer);
    const timer = setTimeout(() => {
      this.typingUsers.delete(frame.user_id);
      this.renderTyping();
    }, 5000);
    this.typingUsers.set(frame.user_id, { name, timer });
    this.renderTyping();
  }

  onMessageFromMember(m) {
    // A message from a member ends their typing indicator.
    const t = m.sender && this.typingUsers.get(m.sender.id);
    if (t) {
      clearTimeout(t.timer);
      this.typingUsers.delete(m.sender.id);
      this.renderTyping();
    }
  }

  renderTyping() {
    const names = [...this.typingUsers.values()].map((t) => t.name);
    this.typingEl.textContent = !names.length ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…`;
  }

  // ---- scrolling ------------------------------------------------------------------------------

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 8;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  jumpToLatest() {
    this.follow = true;
    this.scrollToBottom();
    this.jumpBtn.hidden = true;
  }

  wireScrolling() {
    const s = this.scroller;
    const stopFollowing = () => {
      this.follow = false;
    };
    s.addEventListener("wheel", (e) => e.deltaY < 0 && stopFollowing(), { passive: true });
    let touchY = null;
    s.addEventListener("touchstart", (e) => (touchY = e.touches[0]?.clientY ?? null), { passive: true });
    s.addEventListener(
      "touchmove",
      (e) => {
        const y = e.touches[0]?.clientY;
        if (touchY !== null && y !== undefined && y > touchY + 2) stopFollowing();
        touchY = y ?? touchY;
      },
      { passive: true },
    );
    s.addEventListener("keydown", (e) => {
      if (["ArrowUp", "PageUp", "Home"].includes(e.key)) stopFollowing();
    });
    let dragging = false;
    s.addEventListener("pointerdown", (e) => {
      if (e.target === s) dragging = true; // the scrollbar
    });
    window.addEventListener("pointerup", () => (dragging = false));
    s.addEventListener(
      "scroll",
      () => {
        if (dragging && !this.atBottom()) this.follow = false;
        if (this.atBottom()) this.follow = true;
        this.jumpBtn.hidden = this.follow || this.atBottom();
        if (s.scrollTop < 400) this.maybeLoadOlder();
      },
      { passive: true },
    );
    // Content grew (a delta rendered, a message arrived, an image of layout settled): stay at the
    // bottom while following; otherwise offer the way back.
    this.resizer = new ResizeObserver(() => {
      if (this.follow) this.scrollToBottom();
      else this.jumpBtn.hidden = this.atBottom();
    });
    this.resizer.observe(this.list);
  }

  destroy() {
    this.destroyed = true;
    this.resizer?.disconnect();
    for (const c of this.streams) c.abort();
    for (const t of this.typingUsers.values()) clearTimeout(t.timer);
    clearTimeout(this.draftTimer);
    this.saveDraft(this.input.value);
  }
}
