// Starting conversations: a chat with an assistant (the built-in default or one of the user's),
// a direct chat with a user found by search, or a group (title, members, optional assistant).
import { el, replaceChildren } from "../dom.js";
import { friendlyMessage, fieldMessages } from "../errors.js";
import { field, openDialog, showFieldErrors } from "./dialog.js";
import { userSearch } from "./usersearch.js";

async function loadAssistants(ctx) {
  try {
    return (await ctx.api.get("/assistants?limit=100")).items;
  } catch {
    return [];
  }
}

export async function newAssistantChat(ctx) {
  const assistants = await loadAssistants(ctx);
  const result = await openDialog({
    title: "New chat",
    body: (close) => {
      const select = el(
        "select",
        { name: "assistant" },
        assistants.map((a) => el("option", { value: a.id, text: a.name + (a.owner_id ? "" : " (built-in)") })),
      );
      const error = el("p", { class: "form-error", role: "alert" });
      const form = el(
        "form",
        {
          class: "dialog-body",
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              const body = { kind: "assistant" };
              if (select.value) body.assistant_id = select.value;
              close(await ctx.api.post("/conversations", body));
            } catch (err) {
              error.textContent = friendlyMessage(err);
            }
          },
        },
        field("Assistant", select),
        error,
        el("div", { class: "dialog-actions" }, el("button", { type: "submit", class: "btn primary", autofocus: true }, "Start chat")),
      );
      return form;
    },
  });
  if (result) ctx.opened(result);
}

export async function newDirectChat(ctx) {
  const result = await openDialog({
    title: "New direct chat",
    body: (close) => {
      const error = el("p", { class: "form-error", role: "alert" });
      const search = userSearch({
        api: ctx.api,
        meId: ctx.session.user.id,
        label: "Find a person",
        onPick: async (u) => {
          try {
            close(await ctx.api.post("/conversations", { kind: "direct", user_id: u.id }));
          } catch (err) {
            error.textContent = friendlyMessage(err);
          }
        },
      });
      search.input.setAttribute("autofocus", "");
      return el("div", { class: "dialog-body" }, el("p", { class: "field-hint", text: "Search by username or display name." }), search.el, error);
    },
  });
  if (result) ctx.opened(result);
}

export async function newGroup(ctx) {
  const assistants = await loadAssistants(ctx);
  const result = await openDialog({
    title: "New group",
    body: (close) => {
      const picked = new Map();
      const title = el("input", { name: "title", required: true, maxlength: ctx.info?.limits?.max_title_chars || 200, autofocus: true });
      const assistant = el(
        "select",
        { name: "assistant_id" },
        el("option", { value: "", text: "No assistant" }),
        assistants.map((a) => el("option", { value: a.id, text: a.name })),
      );
      const chips = el("ul", { class: "chips", "aria-label": "Members to add" });
      const drawChips = () =>
        replaceChildren(chips, 
          ...[...picked.values()].map((u) =>
            el(
              "li",
              { class: "chip" },
              el("span", { text: u.display_name || u.username }),
              el("button", { type: "button", class: "link small", "aria-label": `Remove ${u.display_name || u.username}`, onclick: () => (picked.delete(u.id), drawChips()) }, "×"),
            ),
          ),
        );
      const search = userSearch({
        api: ctx.api,
        meId: ctx.session.user.id,
        label: "Add members",
        exclude: (u) => picked.has(u.id),
        onPick: (u) => {
          picked.set(u.id, u);
          drawChips();
          search.input.value = "";
          search.input.dispatchEvent(new Event("input"));
          search.input.focus();
        },
      });
      const fields = { title: field("Title", title), member_ids: field("Members", search.input), assistant_id: field("Assistant (answers when @mentioned)", assistant) };
      const error = el("p", { class: "form-error", role: "alert" });
      const membersField = fields.member_ids;
      membersField.append(chips);
      // userSearch's results live beside its input.
      membersField.insertBefore(search.el, chips);
      search.el.prepend(search.input);
      return el(
        "form",
        {
          class: "dialog-body",
          onsubmit: async (e) => {
            e.preventDefault();
            error.textContent = "";
            showFieldErrors(fields, {});
            try {
              const body = { kind: "group", title: title.value.trim(), member_ids: [...picked.keys()] };
              if (assistant.value) body.assistant_id = assistant.value;
              close(await ctx.api.post("/conversations", body));
            } catch (err) {
              showFieldErrors(fields, fieldMessages(err));
              error.textContent = friendlyMessage(err);
            }
          },
        },
        fields.title,
        membersField,
        fields.assistant_id,
        error,
        el("div", { class: "dialog-actions" }, el("button", { type: "submit", class: "btn primary" }, "Create group")),
      );
    },
  });
  if (result) ctx.opened(result);
}
