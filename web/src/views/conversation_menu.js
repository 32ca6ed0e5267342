// The actions on one conversation (the "⋯" menu of the chat header and of sidebar rows): rename,
// members, share links (owner: share_dialog.js), export (Markdown or JSON, downloaded as a file),
// archive / unarchive, delete (owner) or leave (anyone else). Each one calls the API;
// the views change when the answer (or its live event) arrives.
import { el, icon, replaceChildren, saveFile } from "../dom.js";
import { friendlyMessage } from "../errors.js";
import { conversationTitle } from "../conversations.js";
import { confirmDialog, openDialog, promptDialog, toast } from "./dialog.js";
import { shareDialog } from "./share_dialog.js";
import { userSearch } from "./usersearch.js";

export function conversationMenu(ctx, getConv, { compact = false } = {}) {
  const menuId = "menu-" + Math.random().toString(36).slice(2);
  const button = el(
    "button",
    { type: "button", class: "icon-btn menu-btn", "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": menuId, "aria-label": "Conversation actions" },
    icon("more"),
  );
  const menu = el("div", { class: "menu", role: "menu", id: menuId, hidden: true });
  const wrap = el("div", { class: compact ? "menu-wrap compact" : "menu-wrap" }, button, menu);
  const close = () => {
    menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
  };
  const item = (label, fn, cls = "") =>
    el(
      "button",
      {
        type: "button",
        role: "menuitem",
        class: "menu-item " + cls,
        onclick: () => {
          close();
          fn();
        },
      },
      label,
    );
  button.addEventListener("click", (e) => {
    e.stopPropagation();
    if (!menu.hidden) return close();
    const c = getConv();
    const me = ctx.session.user.id;
    const owner = c.owner_id === me;
    replaceChildren(menu, 
      c.kind !== "direct" ? item("Rename…", () => renameConversation(ctx, c)) : null,
      c.kind !== "assistant" ? item("Members…", () => membersDialog(ctx, c.id)) : null,
      owner || c.owner_id === undefined ? item("Share…", () => shareDialog(ctx, c)) : null,
      item("Export as Markdown", () => exportConversation(ctx, c, "markdown")),
      item("Export as JSON", () => exportConversation(ctx, c, "json")),
      item(c.archived ? "Unarchive" : "Archive", () => setArchived(ctx, c, !c.archived)),
      owner && c.kind !== "direct" ? item("Delete…", () => deleteConversation(ctx, c), "danger") : item("Leave…", () => deleteConversation(ctx, c), "danger"),
    );
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    menu.querySelector("button")?.focus();
  });
  menu.addEventListener("keydown", (e) => {
    const items = [...menu.querySelectorAll("button")];
    const i = items.indexOf(document.activeElement);
    if (e.key === "Escape") {
      e.stopPropagation();
      close();
      button.focus();
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    }
  });
  document.addEventListener("click", (e) => {
    if (!wrap.contains(e.target)) close();
  });
  wrap.addEventListener("focusout", (e) => {
    if (!wrap.contains(e.relatedTarget)) close();
  });
  return wrap;
}

async function renameConversation(ctx, c) {
  const title = await promptDialog({ title: "Rename conversation", label: "Title", value: c.title || "", maxLength: ctx.info?.limits?.max_title_chars || 200 });
  if (!title) return;
  try {
    ctx.convs.upsert(await ctx.api.patch(`/conversations/${encodeURIComponent(c.id)}`, { title }));
  } catch (err) {
    toast(friendlyMessage(err), { error: true });
  }
}

async function setArchived(ctx, c, archived) {
  try {
    const conv = await ctx.api.patch(`/conversations/${encodeURIComponent(c.id)}`, { archived });
    ctx.convs.upsert(conv);
    toast(archived ? "Archived" : "Moved back to your chats");
  } catch (err) {
    toast(friendlyMessage(err), { error: true });
  }
}

async function deleteConversation(ctx, c) {
  const me = ctx.session.user.id;
  const owner = c.owner_id === me && c.kind !== "direct";
  const ok = await confirmDialog({
    title: owner ? "Delete conversation?" : "Leave conversation?",
    message: owner
      ? `“${conversationTitle(c, me)}” and all its messages will be deleted for every member.`
      : `You will stop seeing “${conversationTitle(c, me)}”.`,
    confirm: owner ? "Delete" : "Leave",
    danger: true,
  });
  if (!ok) return;
  try {
    await ctx.api.del(`/conversations/${encodeURIComponent(c.id)}`);
    ctx.conversationGone(c.id, null);
  } catch (err) {
    toast(friendlyMessage(err), { error: true });
  }
}

// Downloads the conversation's export (GET …/export) as a file.
async function exportConversation(ctx, c, format) {
  try {
    const { blob, filename } = await ctx.api.download(`/conversations/${encodeURIComponent(c.id)}/export?format=${format}`);
    saveFile(blob, filename);
  } catch (err) {
    toast(friendlyMessage(err), { error: true });
  }
}

export function membersDialog(ctx, id) {
  const me = ctx.session.user.id;
  return openDialog({
    title: "Members",
    body: () => {
      const list = el("ul", { class: "member-list" });
      const error = el("p", { class: "form-error", role: "alert" });
      const body = el("div", { class: "dialog-body" }, list, error);
      let conv = ctx.convs.get(id);
      const draw = () => {
        conv = ctx.convs.get(id) || conv;
        const owner = conv.owner_id === me;
        replaceChildren(list, 
          ...conv.members.map((m) =>
            el(
              "li",
              null,
              el("span", { class: "name", text: m.display_name || m.username }),
              el("span", { class: "handle", text: "@" + m.username }),
              m.role === "owner" ? el("span", { class: "badge", text: "owner" }) : null,
              conv.kind === "group" && owner && m.id !== me
                ? el("button", { type: "button", class: "link small danger", "aria-label": `Remove ${m.display_name || m.username}`, onclick: () => remove(m) }, "Remove")
                : null,
            ),
          ),
        );
      };
      const remove = async (m) => {
        try {
          await ctx.api.del(`/conversations/${encodeURIComponent(id)}/members/${encodeURIComponent(m.id)}`);
          const fresh = await ctx.api.get(`/conversations/${encodeURIComponent(id)}`);
          ctx.convs.upsert(fresh);
          draw();
        } catch (err) {
          error.textContent = friendlyMessage(err);
        }
      };
      draw();
      if (conv.kind === "group" && conv.owner_id === me) {
        const search = userSearch({
          api: ctx.api,
          meId: me,
          label: "Add a member",
          exclude: (u) => (ctx.convs.get(id) || conv).members.some((m) => m.id === u.id),
          onPick: async (u) => {
            try {
              ctx.convs.upsert(await ctx.api.post(`/conversations/${encodeURIComponent(id)}/members`, { user_id: u.id }));
              search.input.value = "";
              search.input.dispatchEvent(new Event("input"));
              draw();
            } catch (err) {
              error.textContent = friendlyMessage(err);
            }
          },
        });
        body.append(el("h3", { text: "Add people" }), search.el);
      }
      return body;
    },
  });
}
