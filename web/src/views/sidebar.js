// The sidebar: new chat / direct / group, title search, chats or archived, the conversation list
// (most recently active first, infinite scroll, unread marks), and the account corner (usage,
// assistants, settings). On narrow screens it is a drawer (app.js opens and closes it).
import { el, icon, formatTime, replaceChildren } from "../dom.js";
import { conversationTitle } from "../conversations.js";
import { navigate } from "../router.js";
import { newAssistantChat, newDirectChat, newGroup } from "./new_conversation.js";

// A one-line preview of a message: markdown's markers (emphasis, code fences, headings, quotes)
// dropped so "**bold**" reads as "bold"; it is set as text, never as HTML.
function plainPreview(text) {
  return text
    .slice(0, 400)
    .replace(/```[^\n]*\n?/g, " ")
    .replace(/(^|\s)[#>]+\s/g, "$1")
    .replace(/[*~`]+/g, "")
    .replace(/(^|\s)_+|_+(?=\s|$)/g, "$1")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 120);
}

export class Sidebar {
  constructor(ctx) {
    this.ctx = ctx;
    this.search = el("input", { type: "search", class: "search", placeholder: "Search chats (Ctrl+K)", "aria-label": "Search conversations by title", autocomplete: "off" });
    this.archivedBtn = el("button", { type: "button", class: "link small", "aria-pressed": "false", onclick: () => this.toggleArchived() }, "Archived");
    this.list = el("ul", { class: "conv-list", "aria-label": "Conversations" });
    this.sentinel = el("li", { class: "conv-sentinel", "aria-hidden": "true" });
    this.empty = el("p", { class: "conv-empty", role: "status" });
    this.usage = el("div", { class: "usage-meter" });
    this.userName = el("span", { class: "me-name" });
    this.el = el(
      "nav",
      { class: "sidebar", id: "sidebar", "aria-label": "Conversations" },
      el(
        "div",
        { class: "side-head" },
        el("a", { href: "/", class: "brand", onclick: (e) => (e.preventDefault(), navigate("/")) }, "chatd"),
        el("button", { type: "button", class: "icon-btn drawer-close", "aria-label": "Close conversations", onclick: () => ctx.closeDrawer() }, icon("close")),
      ),
      el(
        "div",
        { class: "side-actions" },
        el("button", { type: "button", class: "btn primary new-chat", onclick: () => newAssistantChat(ctx), title: "New chat (Ctrl+Shift+O)" }, icon("plus"), el("span", { text: "New chat" })),
        el(
          "div",
          { class: "side-row" },
          el("button", { type: "button", class: "btn small", onclick: () => newDirectChat(ctx), "aria-label": "New direct chat" }, "Direct"),
          el("button", { type: "button", class: "btn small", onclick: () => newGroup(ctx), "aria-label": "New group" }, "Group"),
        ),
      ),
      el("div", { class: "side-search" }, this.search, this.archivedBtn),
      el("div", { class: "conv-scroll" }, this.list, this.empty),
      el(
        "div",
        { class: "side-foot" },
        this.usage,
        el(
          "div",
          { class: "side-links" },
          el("a", { href: "/assistants", class: "side-link", onclick: (e) => (e.preventDefault(), navigate("/assistants")) }, icon("bot"), el("span", { text: "Assistants" })),
          el("a", { href: "/settings", class: "side-link", onclick: (e) => (e.preventDefault(), navigate("/settings")) }, icon("gear"), el("span", { text: "Settings" })),
        ),
        el("div", { class: "me" }, this.userName),
      ),
    );
    let t = null;
    this.search.addEventListener("input", () => {
      clearTimeout(t);
      t = setTimeout(() => ctx.convs.reload({ query: this.search.value.trim() }).catch(() => {}), 250);
    });
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.search.value) {
        e.stopPropagation();
        this.search.value = "";
        ctx.convs.reload({ query: "" }).catch(() => {});
      }
    });
    // One render per frame however many changes came in it (an import brings a
    // conversation.created event per conversation, hundreds in a row).
    ctx.convs.addEventListener("change", () => {
      if (this.renderQueued) return;
      this.renderQueued = true;
      requestAnimationFrame(() => {
        this.renderQueued = false;
        this.render();
      });
    });
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) ctx.convs.more()?.catch?.(() => {});
    });
    this.renderUser();
    ctx.session.addEventListener("user", () => this.renderUser());
    this.render();
  }

  renderUser() {
    const u = this.ctx.session.user;
    if (!u) return;
    this.userName.textContent = (u.display_name || u.username) + (u.is_guest ? " (guest)" : "");
  }

  toggleArchived() {
    const archived = !this.ctx.convs.archived;
    this.archivedBtn.setAttribute("aria-pressed", String(archived));
    this.archivedBtn.textContent = archived ? "Back to chats" : "Archived";
    this.ctx.convs.reload({ archived }).catch(() => {});
  }

  render() {
    const convs = this.ctx.convs;
    const me = this.ctx.session.user?.id;
    const items = convs.list();
    const rows = items.map((c) => {
      const unread = convs.isUnread(c);
      const title = conversationTitle(c, me);
      const last = c.last_message;
      const preview = last ? (last.role === "assistant" ? "" : last.sender && last.sender.id !== me ? (last.sender.display_name || last.sender.username) + ": " : last.sender ? "You: " : "") + plainPreview(last.content) : "No messages yet";
      const a = el(
        "a",
        {
          href: `/c/${encodeURIComponent(c.id)}`,
          class: "conv-link",
          "aria-current": c.id === convs.openId ? "page" : false,
          onclick: (e) => {
            e.preventDefault();
            navigate(`/c/${encodeURIComponent(c.id)}`);
          },
        },
        el("span", { class: "conv-top" }, el("span", { class: "conv-title", text: title }), el("time", { class: "conv-time", text: formatTime(last?.created_at || c.updated_at) })),
        el("span", { class: "conv-preview", text: preview }),
        unread ? el("span", { class: "unread-dot", "aria-label": "unread" }) : null,
      );
      return el("li", { class: unread ? "conv unread" : "conv", dataset: { id: c.id } }, a);
    });
    replaceChildren(this.list, ...rows, this.sentinel);
    this.observer.disconnect();
    if (!convs.done) this.observer.observe(this.sentinel);
    this.empty.textContent = items.length ? "" : convs.query ? "No conversation matches." : convs.archived ? "Nothing archived." : "No conversations yet.";
  }

  renderUsage(usage) {
    if (!usage?.quota) return;
    const { daily_tokens: total, used_today: used } = usage.quota;
    const pct = total ? Math.min(100, Math.round((used / total) * 100)) : 0;
    replaceChildren(this.usage, 
      el("div", { class: "usage-label" }, el("span", { text: "Today" }), el("span", { text: `${used.toLocaleString()} / ${total.toLocaleString()} tokens` })),
      el("progress", { max: "100", value: String(pct), "aria-label": `Today's token quota used: ${pct}%` }),
      this.ctx.info?.llm?.demo ? el("p", { class: "demo-note small", text: "Replies come from the local demo model." }) : null,
    );
  }
}
