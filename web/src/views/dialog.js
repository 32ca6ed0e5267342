// Modal dialogs on the native <dialog> element: showModal() gives focus trapping, Esc to close
// and the inert background for free. openDialog() resolves with what the dialog's body chose
// (or null when closed), and gives focus back to whatever had it.
import { el, icon } from "../dom.js";

export function openDialog({ title, body, className = "" }) {
  const previous = document.activeElement;
  const titleId = "dlg-" + Math.random().toString(36).slice(2);
  let resolveFn;
  const done = new Promise((r) => (resolveFn = r));
  const dialog = el("dialog", { class: "dialog " + className, "aria-labelledby": titleId });
  const close = (value = null) => {
    if (dialog.open) dialog.close();
    dialog.remove();
    resolveFn(value);
    if (previous && previous.isConnected) previous.focus();
  };
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    close(null);
  });
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) close(null); // the backdrop
  });
  const content = body(close);
  dialog.append(
    el(
      "div",
      { class: "dialog-head" },
      el("h2", { id: titleId, text: title }),
      el("button", { type: "button", class: "icon-btn", "aria-label": "Close", onclick: () => close(null) }, icon("close")),
    ),
    content,
  );
  document.body.append(dialog);
  dialog.showModal();
  const first = dialog.querySelector("[autofocus], input, textarea, select, button:not(.icon-btn)");
  if (first) first.focus();
  return done;
}

// A labelled field with a place for its error message (aria-describedby links them).
export function field(label, input, hint) {
  const id = input.id || "f-" + Math.random().toString(36).slice(2);
  input.id = id;
  const err = el("p", { class: "field-error", id: id + "-err", role: "alert" });
  const hintEl = hint ? el("p", { class: "field-hint", id: id + "-hint", text: hint }) : null;
  input.setAttribute("aria-describedby", [hintEl && id + "-hint", id + "-err"].filter(Boolean).join(" "));
  const wrap = el("div", { class: "field" }, el("label", { for: id, text: label }), input, hintEl, err);
  wrap.setError = (msg) => {
    err.textContent = msg || "";
    if (msg) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  };
  return wrap;
}

// Places a VALIDATION_ERROR's per-field messages beside the fields ({apiFieldName: fieldWrap}).
export function showFieldErrors(fields, messages) {
  for (const [name, wrap] of Object.entries(fields)) wrap.setError(messages[name] || "");
}

export function confirmDialog({ title, message, confirm = "OK", danger = false }) {
  return openDialog({
    title,
    body: (close) =>
      el(
        "div",
        { class: "dialog-body" },
        el("p", { text: message }),
        el(
          "div",
          { class: "dialog-actions" },
          el("button", { type: "button", class: "btn", onclick: () => close(false) }, "Cancel"),
          el("button", { type: "button", class: danger ? "btn danger" : "btn primary", autofocus: true, onclick: () => close(true) }, confirm),
        ),
      ),
  });
}

export function promptDialog({ title, label, value = "", maxLength, confirm = "Save" }) {
  return openDialog({
    title,
    body: (close) => {
      const input = el("input", { type: "text", value, maxlength: maxLength, required: true, autofocus: true });
      const f = field(label, input);
      const form = el(
        "form",
        {
          class: "dialog-body",
          onsubmit: (e) => {
            e.preventDefault();
            const v = input.value.trim();
            if (!v) return f.setError("Please enter a value.");
            close(v);
          },
        },
        f,
        el(
          "div",
          { class: "dialog-actions" },
          el("button", { type: "button", class: "btn", onclick: () => close(null) }, "Cancel"),
          el("button", { type: "submit", class: "btn primary" }, confirm),
        ),
      );
      setTimeout(() => input.select(), 0);
      return form;
    },
  });
}

// A transient notice at the bottom of the screen (also announced to screen readers).
export function toast(text, { error = false } = {}) {
  let host = document.getElementById("toasts");
  if (!host) {
    host = el("div", { id: "toasts", class: "toasts" });
    document.body.append(host);
  }
  const t = el("div", { class: error ? "toast error" : "toast", role: error ? "alert" : "status", text });
  host.append(t);
  setTimeout(() => t.remove(), error ? 8000 : 4000);
}
