// The signed-out screen: log in, sign up, or "continue as guest" in one click. Also shows why a
// session ended ("session-ended") so nobody is silently dropped onto a login form.
import { el, replaceChildren } from "../dom.js";
import { friendlyMessage, fieldMessages } from "../errors.js";
import { field, showFieldErrors } from "./dialog.js";

export function renderAuth(root, { api, session, info, notice }) {
  let mode = "login";
  const main = el("main", { class: "auth", id: "main" });
  replaceChildren(root, main);

  function draw() {
    const isSignup = mode === "signup";
    const username = el("input", { name: "username", autocomplete: "username", required: true, minlength: 3, maxlength: 32, autocapitalize: "none", spellcheck: "false" });
    const password = el("input", { name: "password", type: "password", autocomplete: isSignup ? "new-password" : "current-password", required: true, minlength: isSignup ? 12 : 1, maxlength: 128 });
    const display = el("input", { name: "display_name", autocomplete: "nickname", maxlength: 64 });
    const fields = {
      username: field("Username", username, isSignup ? "3–32 letters, digits, . _ or -" : null),
      password: field("Password", password, isSignup ? "At least 12 characters; not a common password" : null),
      display_name: field("Display name (optional)", display),
    };
    const formError = el("p", { class: "form-error", role: "alert" });
    const submit = el("button", { type: "submit", class: "btn primary wide" }, isSignup ? "Create account" : "Log in");
    const form = el(
      "form",
      {
        class: "auth-form",
        "aria-labelledby": "auth-title",
        onsubmit: async (e) => {
          e.preventDefault();
          formError.textContent = "";
          showFieldErrors(fields, {});
          submit.disabled = true;
          try {
            const body = { username: username.value.trim(), password: password.value };
            if (isSignup && display.value.trim()) body.display_name = display.value.trim();
            const result = await api.post(isSignup ? "/auth/signup" : "/auth/login", body, { auth: false });
            session.adopt(result);
          } catch (err) {
            showFieldErrors(fields, fieldMessages(err));
            formError.textContent = friendlyMessage(err);
            submit.disabled = false;
          }
        },
      },
      fields.username,
      fields.password,
      isSignup ? fields.display_name : null,
      formError,
      submit,
    );
    const guest = el(
      "button",
      {
        type: "button",
        class: "btn wide",
        onclick: async () => {
          guest.disabled = true;
          formError.textContent = "";
          try {
            session.adopt(await api.post("/auth/guest", {}, { auth: false }));
          } catch (err) {
            formError.textContent = friendlyMessage(err);
            guest.disabled = false;
          }
        },
      },
      "Continue as guest",
    );
    const switcher = el(
      "p",
      { class: "auth-switch" },
      isSignup ? "Already have an account? " : "New here? ",
      el(
        "button",
        {
          type: "button",
          class: "link",
          onclick: () => {
            mode = isSignup ? "login" : "signup";
            notice = null;
            draw();
          },
        },
        isSignup ? "Log in" : "Create an account",
      ),
    );
    replaceChildren(main, 
      el(
        "div",
        { class: "auth-card" },
        el("h1", { class: "brand", text: "chatd" }),
        el("h2", { id: "auth-title", text: isSignup ? "Create your account" : "Log in" }),
        notice ? el("p", { class: "notice", role: "status", text: notice }) : null,
        form,
        el("div", { class: "or", "aria-hidden": "true" }, el("span", { text: "or" })),
        guest,
        el("p", { class: "fine", text: "Guests can chat right away; their data is deleted after a day without activity unless they create an account." }),
        switcher,
        info?.llm?.demo ? el("p", { class: "demo-note", text: "This server answers with a local demo model (it echoes what you write)." }) : null,
      ),
    );
    username.focus();
  }
  draw();
}
