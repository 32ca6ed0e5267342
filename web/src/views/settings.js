// Settings: the account (display name, email), password, a guest's upgrade to a full account (in
// place: the same user, its conversations kept), the theme, usage against the daily quota, the way
// to the API keys page (keys.js), the user's data (import from a file, download everything), and
// signing out here or everywhere.
import { el, icon, replaceChildren, saveFile } from "../dom.js";
import { friendlyMessage, fieldMessages } from "../errors.js";
import { setThemePreference, themePreference } from "../theme.js";
import { field, showFieldErrors, toast, confirmDialog } from "./dialog.js";
import { navigate } from "../router.js";
import { importDialog } from "./import_dialog.js";

function form(label, fields, submitLabel, onSubmit) {
  const error = el("p", { class: "form-error", role: "alert" });
  const button = el("button", { type: "submit", class: "btn primary" }, submitLabel);
  const f = el(
    "form",
    {
      class: "editor",
      "aria-label": label,
      onsubmit: async (e) => {
        e.preventDefault();
        error.textContent = "";
        showFieldErrors(fields, {});
        button.disabled = true;
        try {
          await onSubmit();
        } catch (err) {
          showFieldErrors(fields, fieldMessages(err));
          error.textContent = friendlyMessage(err);
        } finally {
          button.disabled = false;
        }
      },
    },
    ...Object.values(fields),
    error,
    el("div", { class: "form-actions" }, button),
  );
  return f;
}

export function renderSettings(ctx, outlet) {
  const { api, session } = ctx;
  const u = session.user;
  const sections = [];

  if (u.is_guest) {
    const username = el("input", { autocomplete: "username", required: true, minlength: 3, maxlength: 32, autocapitalize: "none" });
    const password = el("input", { type: "password", autocomplete: "new-password", required: true, minlength: 12, maxlength: 128 });
    const display = el("input", { autocomplete: "nickname", maxlength: 64 });
    const fields = { username: field("Username", username, "3–32 letters, digits, . _ or -"), password: field("Password", password, "At least 12 characters"), display_name: field("Display name (optional)", display) };
    sections.push(
      el(
        "section",
        { class: "panel highlight", "aria-labelledby": "upgrade-title" },
        el("h2", { id: "upgrade-title", text: "Keep your chats: create an account" }),
        el("p", { class: "muted", text: "You're a guest. Guest data is deleted after a day without activity. Create an account and everything you have stays." }),
        form("Create an account", fields, "Create account", async () => {
          const body = { username: username.value.trim(), password: password.value };
          if (display.value.trim()) body.display_name = display.value.trim();
          session.adopt(await api.post("/auth/upgrade", body));
          toast("Account created. Your conversations are kept.");
          renderSettings(ctx, outlet);
        }),
      ),
    );
  }

  const display = el("input", { value: u.display_name || "", maxlength: 64, autocomplete: "nickname" });
  const email = el("input", { type: "email", value: u.email || "", maxlength: 254, autocomplete: "email" });
  const profileFields = { display_name: field("Display name", display), email: field("Email (optional)", email) };
  sections.push(
    el(
      "section",
      { class: "panel", "aria-labelledby": "profile-title" },
      el("h2", { id: "profile-title", text: "Profile" }),
      el("p", { class: "muted", text: `Signed in as @${u.username}${u.is_guest ? " (guest)" : ""}` }),
      form("Profile", u.is_guest ? { display_name: profileFields.display_name } : profileFields, "Save profile", async () => {
        const body = { display_name: display.value.trim() };
        if (!u.is_guest) body.email = email.value.trim() || null;
        session.setUser(await api.patch("/auth/me", body));
        toast("Profile saved");
      }),
    ),
  );

  if (!u.is_guest) {
    const current = el("input", { type: "password", autocomplete: "current-password", required: true });
    const next = el("input", { type: "password", autocomplete: "new-password", required: true, minlength: 12, maxlength: 128 });
    const pwFields = { current_password: field("Current password", current), new_password: field("New password", next, "At least 12 characters; this signs out your other devices") };
    sections.push(
      el(
        "section",
        { class: "panel", "aria-labelledby": "password-title" },
        el("h2", { id: "password-title", text: "Password" }),
        form("Change password", pwFields, "Change password", async () => {
          await api.post("/auth/password", { current_password: current.value, new_password: next.value });
          // Every session was revoked, this one too: sign this device back in with the new password.
          try {
            session.adopt(await api.post("/auth/login", { username: u.username, password: next.value }, { auth: false }));
            toast("Password changed. Your other devices were signed out.");
          } catch {
            session.forget();
          }
          current.value = next.value = "";
        }),
      ),
    );
  }

  const themeChoice = el(
    "fieldset",
    { class: "theme-choice" },
    el("legend", { text: "Theme" }),
    ["system", "light", "dark"].map((t) =>
      el("label", null, el("input", { type: "radio", name: "theme", value: t, checked: themePreference() === t, onchange: () => setThemePreference(t) }), " ", t[0].toUpperCase() + t.slice(1)),
    ),
  );
  sections.push(el("section", { class: "panel", "aria-labelledby": "appearance-title" }, el("h2", { id: "appearance-title", text: "Appearance" }), themeChoice));

  const usageBody = el("div", { class: "usage-table", role: "status", text: "Loading…" });
  sections.push(el("section", { class: "panel", "aria-labelledby": "usage-title" }, el("h2", { id: "usage-title", text: "Usage" }), usageBody));
  api
    .get("/usage?days=30")
    .then((usage) => {
      const q = usage.quota;
      replaceChildren(usageBody, 
        el("p", { text: `Today: ${q.used_today.toLocaleString()} of ${q.daily_tokens.toLocaleString()} tokens.` }),
        el("progress", { max: String(q.daily_tokens || 1), value: String(Math.min(q.used_today, q.daily_tokens)), "aria-label": "Today's quota used" }),
        ctx.info?.llm?.demo ? el("p", { class: "demo-note", text: "This server answers with the local demo model: replies echo your message." }) : null,
        usage.items.length
          ? el(
              "table",
              null,
              el("thead", null, el("tr", null, el("th", { text: "Day" }), el("th", { text: "Replies" }), el("th", { text: "Prompt tokens" }), el("th", { text: "Reply tokens" }))),
              el("tbody", null, usage.items.map((d) => el("tr", null, el("td", { text: d.date }), el("td", { text: String(d.requests) }), el("td", { text: d.prompt_tokens.toLocaleString() }), el("td", { text: d.completion_tokens.toLocaleString() })))),
            )
          : el("p", { class: "muted", text: "No assistant replies in the last 30 days." }),
      );
    })
    .catch((err) => (usageBody.textContent = friendlyMessage(err)));

  const toKeys = (e) => (e.preventDefault(), navigate("/settings/keys"));
  sections.push(
    el(
      "section",
      { class: "panel", "aria-labelledby": "keys-title" },
      el("h2", { id: "keys-title", text: "API keys" }),
      el("p", { class: "muted", text: u.is_guest ? "API keys let scripts and apps use your assistants through any OpenAI client. They need an account: create one above first." : "Let scripts, editors and agents use your assistants through any OpenAI client." }),
      el("a", { href: "/settings/keys", class: "btn", onclick: toKeys }, u.is_guest ? "About API keys" : "Manage API keys"),
    ),
  );

  // Your data: conversations brought in from a file (import_dialog.js), and everything the
  // account holds as one JSON archive (GET /export), which the import reads back too.
  const downloadData = async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      const { blob, filename } = await api.download("/export");
      saveFile(blob, filename);
    } catch (err) {
      toast(friendlyMessage(err), { error: true });
    } finally {
      button.disabled = false;
    }
  };
  sections.push(
    el(
      "section",
      { class: "panel", "aria-labelledby": "data-title" },
      el("h2", { id: "data-title", text: "Your data" }),
      el("p", { class: "muted", text: "Bring in conversations from chatd or ChatGPT, or download everything you have here as one JSON file." }),
      el(
        "div",
        { class: "form-actions" },
        el("button", { type: "button", class: "btn", onclick: () => importDialog(ctx) }, "Import conversations…"),
        el("button", { type: "button", class: "btn", onclick: downloadData }, "Download your data"),
      ),
    ),
  );

  sections.push(
    el(
      "section",
      { class: "panel", "aria-labelledby": "session-title" },
      el("h2", { id: "session-title", text: "Sessions" }),
      el(
        "div",
        { class: "form-actions" },
        el("button", { type: "button", class: "btn", onclick: () => session.logout() }, "Log out"),
        el(
          "button",
          {
            type: "button",
            class: "btn danger",
            onclick: async () => {
              if (!(await confirmDialog({ title: "Log out everywhere?", message: "Every device signed in to this account will be signed out, this one included.", confirm: "Log out everywhere", danger: true }))) return;
              try {
                await api.post("/auth/logout-all", {});
                session.forget();
              } catch (err) {
                toast(friendlyMessage(err), { error: true });
              }
            },
          },
          "Log out everywhere",
        ),
      ),
      u.is_guest ? el("p", { class: "muted", text: "A guest who logs out cannot come back to these chats." }) : null,
    ),
  );

  const page = el(
    "section",
    { class: "page", "aria-labelledby": "page-title" },
    el(
      "header",
      { class: "page-head" },
      ctx.drawerToggle(),
      el("h1", { id: "page-title", text: "Settings" }),
    ),
    el("div", { class: "page-body" }, ...sections),
  );
  replaceChildren(outlet, page);
}
