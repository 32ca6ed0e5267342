// The "Share…" dialog of a conversation (its owner's): the conversation's share links, newest
// first (GET …/shares), each as its full address with when it was made, how many messages it
// holds, a Copy button and Revoke (DELETE /shares/<id>, after a confirmation: the link then
// answers "removed"); "Create link" (POST …/shares) puts a new one at the top. A link is a
// snapshot: messages written after it was made are not in it.
import { el, icon, replaceChildren } from "../dom.js";
import { ApiError, friendlyMessage } from "../errors.js";
import { confirmDialog, openDialog } from "./dialog.js";

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

function when(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso || "" : dateTimeFormat.format(d);
}

// A 403 (a member who is not the owner) and a 409 (the per-conversation limit) say why in their
// problem's own words.
function errorText(err) {
  if (err instanceof ApiError && (err.status === 403 || err.status === 409) && err.problem.detail) return err.problem.detail;
  return friendlyMessage(err);
}

export function shareDialog(ctx, conv) {
  const base = `/conversations/${encodeURIComponent(conv.id)}/shares`;
  return openDialog({
    title: "Share conversation",
    className: "share-dialog",
    body: () => {
      let shares = [];
      const status = el("p", { class: "muted small share-status", role: "status", text: "Loading links…" });
      const error = el("p", { class: "form-error", role: "alert" });
      const list = el("ul", { class: "share-list", "aria-label": "Share links" });
      const create = el("button", { type: "button", class: "btn primary create-share", disabled: true, onclick: () => add() }, "Create link");

      const draw = () => {
        status.textContent = shares.length ? "" : "No links yet.";
        replaceChildren(list, shares.map(row));
      };

      const row = (s) => {
        const url = location.origin + s.url;
        const copied = el("span", { class: "copy-status", role: "status" });
        const n = s.message_count;
        return el(
          "li",
          { class: "share", dataset: { shareId: s.id } },
          el("a", { class: "share-url", href: url, target: "_blank", rel: "noopener noreferrer", text: url }),
          el("p", { class: "muted small share-meta", text: `Created ${when(s.created_at)} · ${n} message${n === 1 ? "" : "s"}` }),
          el(
            "div",
            { class: "share-actions" },
            el(
              "button",
              {
                type: "button",
                class: "btn small copy-share",
                "aria-label": `Copy link created ${when(s.created_at)}`,
                onclick: async () => {
                  try {
                    await navigator.clipboard.writeText(url);
                    copied.textContent = "Copied";
                  } catch {
                    copied.textContent = "Couldn't copy: select the link and press Ctrl+C (⌘C).";
                  }
                },
              },
              icon("copy"),
              el("span", { text: "Copy" }),
            ),
            el("button", { type: "button", class: "btn small danger revoke-share", "aria-label": `Revoke link created ${when(s.created_at)}`, onclick: () => revoke(s) }, "Revoke"),
            copied,
          ),
        );
      };

      const load = async () => {
        try {
          shares = (await ctx.api.get(base)).items || [];
          create.disabled = false;
          draw();
          // The dialog focused its ✕ while Create link was still disabled.
          if (document.activeElement?.matches(".dialog-head .icon-btn")) create.focus();
        } catch (err) {
          status.textContent = "";
          error.textContent = errorText(err);
        }
      };

      const add = async () => {
        error.textContent = "";
        create.disabled = true;
        try {
          const s = await ctx.api.post(base, {});
          shares = [s, ...shares.filter((x) => x.id !== s.id)];
          draw();
          list.querySelector(".copy-share")?.focus();
        } catch (err) {
          error.textContent = errorText(err);
        } finally {
          create.disabled = false;
        }
      };

      const revoke = async (s) => {
        const ok = await confirmDialog({
          title: "Revoke this link?",
          message: "Anyone who opens it will see that it was removed. This can't be undone; you can create a new link.",
          confirm: "Revoke link",
          danger: true,
        });
        if (!ok) return;
        error.textContent = "";
        try {
          await ctx.api.del(`/shares/${encodeURIComponent(s.id)}`);
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) {
            error.textContent = friendlyMessage(err);
            return;
          }
        }
        shares = shares.filter((x) => x.id !== s.id);
        draw();
        create.focus();
      };

      load();
      return el(
        "div",
        { class: "dialog-body" },
        el("p", { class: "share-note", text: "Anyone with the link can see the messages as they are now; later messages are not shared." }),
        el("div", { class: "dialog-actions share-create" }, create),
        error,
        status,
        list,
      );
    },
  });
}
