// API keys (Settings → API keys, /settings/keys): create a key (a name, an optional expiry day),
// see its secret once in a dialog (copy button, a three-line example for the openai SDK and
// curl), list the active keys (prefix, created, last used, expiry, usage over 30 days) and revoke
// one after a confirmation. Guests cannot have keys: they get the way to an account instead.
//
// The secret lives only in the dialog: closing it removes the dialog, and nothing else (form,
// list, toast, announcement) ever holds it. Everything from the server goes in as text (dom.js).
import { el, icon, replaceChildren } from "../dom.js";
import { ApiError, friendlyMessage, fieldMessages } from "../errors.js";
import { navigate } from "../router.js";
import { confirmDialog, field, openDialog, showFieldErrors, toast } from "./dialog.js";

const DEFAULT_MODEL = "00000000-0000-0000-0000-000000000001";
const USAGE_DAYS = 30;
const MAX_YEARS = 10;

const dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

function when(iso, format = dateTimeFormat) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : format.format(d);
}

// A local calendar day as the date input's "YYYY-MM-DD".
function isoDay(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// The chosen day's last second, local time, as RFC 3339 (UTC): a key "expiring on" a day works
// through that day.
function endOfDay(value) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d, 23, 59, 59);
}

function pageHead(ctx) {
  return el(
    "header",
    { class: "page-head" },
    ctx.drawerToggle(),
    el("a", { href: "/settings", class: "link", onclick: (e) => (e.preventDefault(), navigate("/settings")) }, "← Settings"),
    el("h1", { id: "page-title", text: "API keys" }),
  );
}

export function renderKeys(ctx, outlet) {
  const u = ctx.session.user;
  const base = location.origin + "/v1";
  const body = el("div", { class: "page-body" });
  replaceChildren(outlet, el("section", { class: "page keys-page", "aria-labelledby": "page-title" }, pageHead(ctx), body));

  if (u.is_guest) {
    body.append(
      el(
        "section",
        { class: "panel highlight", "aria-labelledby": "keys-guest-title" },
        el("h2", { id: "keys-guest-title", text: "API keys need an account" }),
        el("p", { text: "An API key lets your scripts, editors and agents use your assistants through any OpenAI client. Guests can't create keys, since a guest's data is deleted after a day without activity." }),
        el("p", null, el("a", { href: "/settings", class: "btn primary", onclick: (e) => (e.preventDefault(), navigate("/settings")) }, "Create an account"), " ", el("span", { class: "muted", text: "(your chats are kept), then come back here." })),
      ),
    );
    return;
  }

  // ---- create ----
  const name = el("input", { maxlength: 100, autocomplete: "off", spellcheck: "false", placeholder: "e.g. laptop scripts" });
  const today = new Date();
  const minDay = isoDay(today);
  const maxDate = new Date(today.getFullYear() + MAX_YEARS, today.getMonth(), today.getDate() - 1);
  const maxDay = isoDay(maxDate);
  const expires = el("input", { type: "date", min: minDay, max: maxDay });
  const fields = {
    name: field("Name", name, "What the key is for, so you can tell keys apart (1–100 characters)"),
    expires_at: field("Expires on (optional)", expires, `Leave empty for a key that never expires; at most ${MAX_YEARS} years ahead`),
  };
  const formError = el("p", { class: "form-error", role: "alert" });
  const createBtn = el("button", { type: "submit", class: "btn primary" }, icon("plus"), el("span", { text: "Create key" }));

  const check = () => {
    const errors = {};
    const n = name.value.trim();
    if (!n) errors.name = "Please give the key a name.";
    else if ([...n].length > 100) errors.name = "At most 100 characters.";
    if (expires.value) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(expires.value)) errors.expires_at = "Please pick a date.";
      else if (expires.value < minDay) errors.expires_at = "Pick today or a later day.";
      else if (expires.value > maxDay) errors.expires_at = `Pick a day at most ${MAX_YEARS} years ahead.`;
    } else if (expires.validity?.badInput) {
      errors.expires_at = "Please enter a complete date, or leave it empty.";
    }
    return errors;
  };

  const form = el(
    "form",
    {
      class: "editor",
      "aria-labelledby": "keys-create-title",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        formError.textContent = "";
        const errors = check();
        showFieldErrors(fields, errors);
        if (Object.keys(errors).length) {
          (errors.name ? name : expires).focus();
          return;
        }
        const payload = { name: name.value.trim(), expires_at: expires.value ? endOfDay(expires.value).toISOString() : null };
        createBtn.disabled = true;
        let created = null;
        try {
          created = await ctx.api.post("/keys", payload);
        } catch (err) {
          const perField = fieldMessages(err);
          showFieldErrors(fields, perField);
          formError.textContent = errorText(err);
          if (perField.name) name.focus();
          else if (perField.expires_at) expires.focus();
          return;
        } finally {
          createBtn.disabled = false;
        }
        name.value = "";
        expires.value = "";
        list.reload();
        await showSecret(created, base);
        name.focus();
      },
    },
    fields.name,
    fields.expires_at,
    formError,
    el("div", { class: "form-actions" }, createBtn),
  );

  // ---- list ----
  const list = keyList(ctx);

  body.append(
    el("p", { class: "lead" }, "API keys let scripts, editors and agents use your assistants with any OpenAI client, with your quotas and knowledge documents. Point the client at ", el("code", { class: "base-url", text: base }), "."),
    el("section", { class: "panel", "aria-labelledby": "keys-create-title" }, el("h2", { id: "keys-create-title", text: "Create a key" }), form),
    list.el,
  );
  list.reload();
}

function errorText(err) {
  if (err instanceof ApiError && err.status === 409) return "You have reached the limit of active keys. Revoke a key you no longer use, then create a new one.";
  if (err instanceof ApiError && err.status === 403) return "Guests can't create API keys. Create an account in Settings first.";
  return friendlyMessage(err);
}

// The table of active keys, with each key's usage over the last 30 days (and what revoked keys
// spent in that time, below it).
function keyList(ctx) {
  const status = el("p", { class: "keys-status", role: "status" });
  const tableHost = el("div");
  const revokedHost = el("div");
  const section = el("section", { class: "panel", "aria-labelledby": "keys-list-title" }, el("h2", { id: "keys-list-title", text: "Your keys" }), status, tableHost, revokedHost);
  let generation = 0;

  async function reload() {
    const mine = ++generation;
    if (!tableHost.firstChild) status.textContent = "Loading…";
    let keys, usage;
    try {
      [keys, usage] = await Promise.all([ctx.api.get("/keys"), ctx.api.get(`/usage?days=${USAGE_DAYS}`).catch(() => null)]);
    } catch (err) {
      if (mine === generation) status.textContent = friendlyMessage(err);
      return;
    }
    if (mine !== generation) return;
    const byKey = new Map((usage?.keys || []).map((k) => [k.key_id, k]));
    status.textContent = keys.items.length ? `${keys.items.length} active key${keys.items.length === 1 ? "" : "s"}.` : "No API keys yet. Create one above.";
    replaceChildren(tableHost, keys.items.length ? table(keys.items, byKey) : null);
    const revoked = (usage?.keys || []).filter((k) => k.revoked && k.requests > 0);
    replaceChildren(
      revokedHost,
      revoked.length
        ? el(
            "details",
            { class: "keys-revoked" },
            el("summary", { text: `Revoked keys used in the last ${USAGE_DAYS} days (${revoked.length})` }),
            el(
              "ul",
              null,
              revoked.map((k) => el("li", null, el("span", { text: k.name }), " ", el("code", { text: k.prefix }), ": ", usageText(k))),
            ),
          )
        : null,
    );
  }

  function table(items, byKey) {
    const now = Date.now();
    return el(
      "div",
      { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "keys-list-title" },
      el(
        "table",
        { class: "keys-table" },
        el(
          "thead",
          null,
          el("tr", null, ["Name", "Key", "Created", "Last used", "Expires", `Usage (${USAGE_DAYS} days)`, "Actions"].map((h) => el("th", { scope: "col", text: h }))),
        ),
        el(
          "tbody",
          null,
          items.map((k) => {
            const expired = k.expires_at && new Date(k.expires_at).getTime() <= now;
            return el(
              "tr",
              { dataset: { keyId: k.id } },
              el("th", { scope: "row", class: "key-name", text: k.name }),
              el("td", null, el("code", { class: "key-prefix", text: k.prefix + "_…" })),
              el("td", { text: when(k.created_at) }),
              el("td", { text: when(k.last_used_at) || "Never" }),
              el("td", null, k.expires_at ? when(k.expires_at, dateFormat) : "Never", expired ? el("span", { class: "badge error", text: "expired" }) : null),
              el("td", { class: "key-usage", text: byKey.has(k.id) ? usageText(byKey.get(k.id)) : "None" }),
              el("td", null, el("button", { type: "button", class: "btn small danger", "aria-label": `Revoke ${k.name}`, onclick: () => revoke(k) }, "Revoke")),
            );
          }),
        ),
      ),
    );
  }

  async function revoke(k) {
    const ok = await confirmDialog({
      title: "Revoke this key?",
      message: `“${k.name}” (${k.prefix}_…) stops working at once: every script or app that uses it gets “invalid API key” from its next request. This can't be undone.`,
      confirm: "Revoke key",
      danger: true,
    });
    if (!ok) return;
    try {
      await ctx.api.del(`/keys/${encodeURIComponent(k.id)}`);
      toast(`Key “${k.name}” revoked`);
    } catch (err) {
      toast(err instanceof ApiError && err.status === 404 ? "That key was already revoked." : friendlyMessage(err), { error: true });
    }
    await reload();
    section.querySelector("h2").setAttribute("tabindex", "-1");
    section.querySelector("h2").focus();
  }

  return { el: section, reload };
}

function usageText(k) {
  const tokens = k.prompt_tokens + k.completion_tokens;
  return `${k.requests.toLocaleString()} request${k.requests === 1 ? "" : "s"} · ${tokens.toLocaleString()} tokens`;
}

// The secret, once: a read-only field (selected, so Ctrl+C works too), a Copy button and the
// three lines a client needs. Resolves when the dialog is closed (Done, the ✕, Esc).
function showSecret(created, base) {
  const secret = created.key;
  return openDialog({
    title: "Your new API key",
    className: "secret-dialog",
    body: (close) => {
      const input = el("input", { type: "text", class: "secret-value", readonly: true, value: secret, autocomplete: "off", spellcheck: "false", "aria-describedby": "secret-notice" });
      input.id = "secret-" + Math.random().toString(36).slice(2);
      const copied = el("span", { class: "copy-status", role: "status" });
      const copy = el(
        "button",
        {
          type: "button",
          class: "btn primary copy-secret",
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(secret);
              copied.textContent = "Copied to the clipboard.";
            } catch {
              input.focus();
              input.select();
              copied.textContent = "Couldn't copy: the key is selected, press Ctrl+C (⌘C).";
            }
          },
        },
        icon("copy"),
        el("span", { text: "Copy" }),
      );
      const sdk = [
        "from openai import OpenAI",
        `client = OpenAI(base_url="${base}", api_key="${secret}")`,
        `client.chat.completions.create(model="${DEFAULT_MODEL}", messages=[{"role": "user", "content": "Hi"}])`,
      ].join("\n");
      const curl = [
        `curl ${base}/chat/completions \\`,
        `  -H "Authorization: Bearer ${secret}" -H "Content-Type: application/json" \\`,
        `  -d '{"model": "${DEFAULT_MODEL}", "messages": [{"role": "user", "content": "Hi"}]}'`,
      ].join("\n");
      setTimeout(() => input.select(), 0);
      return el(
        "div",
        { class: "dialog-body" },
        el("p", { class: "notice secret-notice", id: "secret-notice" }, el("strong", { text: "Copy it now: you won't see it again." }), " chatd keeps only a hash of it. If you lose it, revoke it and create another."),
        el("p", { class: "muted small", text: `“${created.name}”${created.expires_at ? ", expires " + when(created.expires_at, dateFormat) : ", never expires"}` }),
        el("div", { class: "secret-row" }, el("label", { class: "visually-hidden", for: input.id, text: "API key" }), input, copy),
        copied,
        el("h3", { text: "Use it (Python, openai SDK)" }),
        el("pre", { class: "snippet", tabindex: "0", "aria-label": "Python example" }, el("code", { text: sdk })),
        el("h3", { text: "or curl" }),
        el("pre", { class: "snippet", tabindex: "0", "aria-label": "curl example" }, el("code", { text: curl })),
        el("p", { class: "muted small" }, "The models are your assistants by id (", el("code", { text: "GET /v1/models" }), " lists them; this is the built-in one). Send ", el("code", { text: "X-Chatd-Store: true" }), " to keep an exchange as a conversation here."),
        el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "btn", onclick: () => close(true) }, "Done, I've saved it")),
      );
    },
  });
}
