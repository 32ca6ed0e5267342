// The signed-in app: the sidebar, the main outlet (a conversation, assistants, settings, API keys
// or the welcome screen) and the wiring between live events, the conversation list and the open
// view. One App exists per signed-in user; stop() tears it down (sign-out, session end, user switch).
import { el, icon, replaceChildren } from "../dom.js";
import { Conversations } from "../conversations.js";
import { navigate, parseRoute, router } from "../router.js";
import { friendlyMessage } from "../errors.js";
import { ChatView } from "./chat.js";
import { Sidebar } from "./sidebar.js";
import { renderAssistants } from "./assistants.js";
import { renderSettings } from "./settings.js";
import { renderKeys } from "./keys.js";
import { newAssistantChat, newDirectChat, newGroup } from "./new_conversation.js";
import { toast } from "./dialog.js";

export class App {
  constructor(root, { api, session, live, info }) {
    this.root = root;
    this.api = api;
    this.session = session;
    this.live = live;
    this.info = info;
    this.view = null;
    this.listeners = [];
    this.drawerOpen = false;
    const me = session.user;
    this.convs = new Conversations(api, me.id);
    this.ctx = {
      api,
      session,
      live,
      info,
      convs: this.convs,
      openDrawer: () => this.setDrawer(true),
      closeDrawer: () => this.setDrawer(false),
      // The menu button of each page's header: shown on narrow screens, where the sidebar is a drawer.
      drawerToggle: () =>
        el("button", { type: "button", class: "icon-btn drawer-toggle", "aria-label": "Show conversations", "aria-controls": "sidebar", "aria-expanded": String(this.drawerOpen), onclick: () => this.setDrawer(true) }, icon("menu")),
      opened: (conv) => {
        this.convs.upsert(conv);
        navigate(`/c/${encodeURIComponent(conv.id)}`);
      },
      conversationGone: (id, message) => this.conversationGone(id, message),
      onReplyFinished: () => this.refreshUsage(),
    };
  }

  on(target, type, fn) {
    target.addEventListener(type, fn);
    this.listeners.push(() => target.removeEventListener(type, fn));
  }

  start() {
    this.sidebar = new Sidebar(this.ctx);
    this.outlet = el("main", { class: "outlet", id: "main", tabindex: "-1" });
    this.backdrop = el("div", { class: "backdrop", "aria-hidden": "true", onclick: () => this.setDrawer(false) });
    this.status = el("div", { class: "conn-status", role: "status", hidden: true });
    this.shell = el("div", { class: "app" }, el("a", { href: "#main", class: "skip-link" }, "Skip to content"), this.sidebar.el, this.backdrop, this.outlet, this.status);
    replaceChildren(this.root, this.shell);
    this.root.setAttribute("aria-busy", "false");

    this.wireLive();
    this.on(router, "route", (e) => this.route(e.detail));
    this.on(document, "keydown", (e) => this.shortcut(e));
    this.live.start();
    // An ended session has its own screen (main.js): no toast on top of it.
    this.convs.reload().catch((err) => {
      if (!this.stopped && this.session.signedIn) toast(friendlyMessage(err), { error: true });
    });
    this.refreshUsage();
    this.route(parseRoute());
  }

  stop() {
    this.stopped = true;
    this.view?.destroy();
    this.view = null;
    this.live.stop();
    for (const off of this.listeners) off();
    this.listeners = [];
  }

  // On narrow screens the sidebar is a modal drawer: while it is open the page behind it is inert,
  // and closing it gives the focus back to the button that opened it.
  setDrawer(open) {
    const was = this.drawerOpen;
    this.drawerOpen = open;
    this.shell.classList.toggle("drawer-open", open);
    const narrow = window.matchMedia("(max-width: 768px)").matches;
    this.outlet.inert = open && narrow;
    for (const b of this.outlet.querySelectorAll(".drawer-toggle")) b.setAttribute("aria-expanded", String(open));
    if (open && !was) {
      this.drawerOpener = document.activeElement;
      this.sidebar.search.focus();
    } else if (!open && was) {
      const back = this.drawerOpener;
      this.drawerOpener = null;
      if (narrow && this.sidebar.el.contains(document.activeElement)) {
        const toggle = back?.isConnected && back.classList?.contains("drawer-toggle") ? back : this.outlet.querySelector(".drawer-toggle");
        toggle?.focus();
      }
    }
  }

  shortcut(e) {
    const mod = e.ctrlKey || e.metaKey;
    if (mod && !e.shiftKey && e.key.toLowerCase() === "k") {
      e.preventDefault();
      this.setDrawer(true);
      this.sidebar.search.focus();
      this.sidebar.search.select();
    } else if (mod && e.shiftKey && e.key.toLowerCase() === "o") {
      e.preventDefault();
      newAssistantChat(this.ctx);
    } else if (e.key === "Escape" && this.shell.classList.contains("drawer-open") && !document.querySelector("dialog[open]")) {
      this.setDrawer(false);
    }
  }

  // /info arrived after the app started (main.js does not wait for it when signed in).
  setInfo(info) {
    this.info = info;
    this.ctx.info = info;
    this.refreshUsage();
    this.view?.infoChanged?.();
    if (this.outlet.querySelector("section.welcome")) this.welcome();
  }

  async refreshUsage() {
    try {
      this.sidebar.renderUsage(await this.api.get("/usage?days=1"));
    } catch {
      /* the meter stays as it was */
    }
  }

  // ---- routes ---------------------------------------------------------------------------------

  async route(r) {
    this.setDrawer(false);
    this.view?.destroy();
    this.view = null;
    this.convs.setOpen(r.name === "chat" ? r.id : null);
    if (r.name === "chat") return this.openChat(r.id);
    if (r.name === "assistants") return renderAssistants(this.ctx, this.outlet, r.id);
    if (r.name === "settings") return renderSettings(this.ctx, this.outlet);
    if (r.name === "keys") return renderKeys(this.ctx, this.outlet);
    this.welcome();
  }

  welcome() {
    const u = this.session.user;
    replaceChildren(this.outlet, 
      el(
        "section",
        { class: "welcome", "aria-labelledby": "welcome-title" },
        el("header", { class: "page-head" }, this.ctx.drawerToggle()),
        el("h1", { id: "welcome-title", text: `Hi ${u.display_name || u.username}` }),
        el("p", { class: "lead", text: "Chat with an assistant, or with people, live." }),
        el(
          "div",
          { class: "welcome-actions" },
          el("button", { type: "button", class: "btn primary big", onclick: () => newAssistantChat(this.ctx) }, icon("plus"), el("span", { text: "New chat" })),
          el("button", { type: "button", class: "btn big", onclick: () => newDirectChat(this.ctx) }, "Message someone"),
          el("button", { type: "button", class: "btn big", onclick: () => newGroup(this.ctx) }, icon("users"), el("span", { text: "New group" })),
        ),
        u.is_guest ? el("p", { class: "notice", text: "You're a guest. Create an account in Settings to keep your chats." }) : null,
        this.info?.llm?.demo ? el("p", { class: "demo-note", text: "Replies come from the local demo model, which echoes what you write." }) : null,
        el("p", { class: "muted small", text: "Shortcuts: Ctrl+Shift+O new chat · Ctrl+K search · Esc closes dialogs" }),
      ),
    );
  }

  async openChat(id) {
    // The first page of messages is asked for at once, alongside the conversation if it is not
    // known yet (a deep link or a reload): the two requests overlap instead of queueing.
    const firstPage = this.api.get(`/conversations/${encodeURIComponent(id)}/messages?limit=${ChatView.PAGE}`);
    firstPage.catch(() => {}); // ChatView.load reports it
    let conv = this.convs.get(id);
    if (!conv) {
      replaceChildren(this.outlet, el("p", { class: "page-body", role: "status", text: "Loading…" }));
      try {
        conv = await this.api.get(`/conversations/${encodeURIComponent(id)}`);
        this.convs.upsert(conv);
      } catch (err) {
        replaceChildren(this.outlet, el("section", { class: "page" }, el("div", { class: "page-body" }, el("h1", { text: "Not available" }), el("p", { text: friendlyMessage(err) }))));
        return;
      }
    }
    if (parseRoute().id !== id) return; // navigated away meanwhile
    const view = new ChatView(this.ctx, conv);
    this.view = view;
    replaceChildren(this.outlet, view.el);
    view.load(firstPage);
    if (window.matchMedia("(min-width: 769px)").matches) view.input.focus();
  }

  conversationGone(id, message) {
    this.convs.remove(id);
    if (this.view?.id === id) {
      if (message) toast(message);
      navigate("/", { replace: true });
    }
  }

  // ---- live events ----------------------------------------------------------------------------

  wireLive() {
    const me = this.session.user.id;
    const live = this.live;
    const forView = (cid) => (this.view && this.view.id === cid ? this.view : null);
    const onMessage = (e) => {
      const f = e.detail;
      if (!f.message) return;
      this.convs.noteMessage(f.conversation_id, f.message);
      const v = forView(f.conversation_id);
      if (v) {
        v.upsert(f.message);
        if (e.type === "message.created") v.onMessageFromMember(f.message);
      }
    };
    this.on(live, "message.created", onMessage);
    this.on(live, "message.updated", onMessage);
    this.on(live, "message.delta", (e) => forView(e.detail.conversation_id)?.applyDelta(e.detail));
    const onConv = (e) => {
      const c = e.detail.conversation;
      if (!c) return;
      this.convs.upsert(c);
      forView(c.id)?.onConversation(c);
    };
    this.on(live, "conversation.created", onConv);
    this.on(live, "conversation.updated", onConv);
    this.on(live, "member.added", onConv);
    this.on(live, "member.removed", (e) => {
      const f = e.detail;
      const c = f.conversation;
      if (f.user_id === me) this.conversationGone(c.id, "You are no longer a member of this conversation.");
      else onConv(e);
    });
    this.on(live, "conversation.deleted", (e) => this.conversationGone(e.detail.conversation.id, "This conversation was deleted."));
    this.on(live, "typing", (e) => forView(e.detail.conversation_id)?.onTyping(e.detail));
    this.on(live, "resync", () => {
      this.convs.reload().catch(() => {});
      this.view?.catchUp();
    });
    this.on(live, "ready", (e) => {
      if (e.detail.resumed) this.view?.catchUp();
    });
    this.on(live, "status", (e) => {
      const s = e.detail;
      this.status.hidden = s === "online" || (s === "connecting" && !this.live.connectedOnce);
      this.status.textContent = s === "offline" ? "Offline — reconnecting…" : s === "connecting" ? "Reconnecting…" : "";
    });
  }
}
