// The public page of a share link (/s/<token>): a read-only snapshot of a conversation as it was
// when the link was made (GET /shared/<token>, asked without any session, so it shows the same
// to everyone, signed in or not). The title, when it was shared, and the messages with their
// senders, rendered as the chat view renders them (markdown.js: sanitised by DOMPurify); no
// composer, no sidebar, one link to the app. A removed or unknown link says so. The page asks
// search engines not to index it (nginx sends X-Robots-Tag too).
import { el, formatTime, replaceChildren } from "../dom.js";
import { friendlyMessage } from "../errors.js";
import { renderMarkdown } from "../markdown.js";
import { editedMark } from "./edited_mark.js";

const dayFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric" });

function noindex() {
  if (document.head.querySelector('meta[name="robots"]')) return;
  const meta = document.createElement("meta");
  meta.name = "robots";
  meta.content = "noindex";
  document.head.append(meta);
}

function sharedDay(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : dayFormat.format(d);
}

export async function renderShared(root, { api, token }) {
  noindex();
  const body = el("div", { class: "shared-body" }, el("p", { class: "muted", role: "status", text: "Loading…" }));
  const main = el(
    "main",
    { class: "shared", id: "main", tabindex: "-1" },
    el("header", { class: "shared-head" }, el("span", { class: "brand", text: "chatd" }), el("a", { href: "/", class: "btn small open-app" }, "Open chatd")),
    body,
  );
  replaceChildren(root, main);
  root.setAttribute("aria-busy", "true");
  let snap;
  try {
    snap = await api.get(`/shared/${encodeURIComponent(token)}`, { auth: false });
  } catch (err) {
    const gone = err.code === "NOT_FOUND" || err.status === 404;
    document.title = "Link not available · chatd";
    replaceChildren(
      body,
      el("h1", { class: "shared-title", text: gone ? "Link not available" : "Couldn't load this conversation" }),
      el("p", { class: "shared-gone", text: gone ? "This link was removed or never existed." : friendlyMessage(err) }),
    );
    root.setAttribute("aria-busy", "false");
    return;
  }
  const title = snap.title || "Shared conversation";
  document.title = `${title} · chatd`;
  const assistantName = snap.assistant?.name || "Assistant";
  replaceChildren(
    body,
    el("h1", { class: "shared-title", text: title }),
    el("p", { class: "shared-sub" }, "Shared on ", el("time", { datetime: snap.created_at || "", text: sharedDay(snap.created_at) }), " · read-only"),
    el(
      "section",
      { class: "message-list shared-messages", "aria-label": "Messages" },
      (snap.messages || []).map((m) => message(m, assistantName)),
    ),
    snap.messages?.length ? null : el("p", { class: "muted", text: "No messages were shared." }),
  );
  root.setAttribute("aria-busy", "false");
}

// One message as the chat view shows it (its meta line, its body, its sources), without actions.
function message(m, assistantName) {
  const who = m.role === "assistant" ? assistantName : m.sender?.display_name || "Unknown";
  const status =
    m.status === "interrupted" ? el("span", { class: "badge warn", text: "Stopped" }) : m.status === "failed" ? el("span", { class: "badge error", text: "Failed" }) : null;
  const sources = m.role === "assistant" && m.sources?.length
    ? el(
        "details",
        { class: "sources" },
        el("summary", { text: `Sources (${m.sources.length})` }),
        el(
          "ol",
          null,
          m.sources.map((s) =>
            el(
              "li",
              null,
              el("span", { class: "src-name", text: [s.filename, Number.isInteger(s.chunk_index) ? `part ${s.chunk_index + 1}` : null].filter(Boolean).join(" · ") }),
              s.excerpt ? el("q", { class: "src-excerpt", text: s.excerpt }) : null,
            ),
          ),
        ),
      )
    : null;
  return el(
    "article",
    { class: `msg ${m.role === "assistant" ? "assistant" : "user"}`, "aria-label": who },
    el("div", { class: "msg-meta" }, el("span", { class: "who", text: who }), el("time", { datetime: m.created_at || "", text: formatTime(m.created_at) }), editedMark(m), status),
    el("div", { class: "msg-body markdown" }, renderMarkdown(m.content || "")),
    sources ? el("div", { class: "msg-foot" }, sources) : null,
  );
}
