// The in-place editor of a message of one's own (chat.js opens it from the message's Edit action,
// in direct and group conversations): a textarea holding the message's text with Save and Cancel.
// Enter saves, Shift+Enter starts a new line, Escape cancels. The text is checked as a send is
// (not empty, at most the server's MAX_MESSAGE_CHARS, counted in code points); an unchanged text
// just closes the editor. `save(content)` does the request (PATCH …/messages/<id>) and puts the
// answer on screen; its refusal is shown under the textarea, which stays open with the user's text.
import { el } from "../dom.js";
import { ApiError, fieldMessages, friendlyMessage } from "../errors.js";

const cpLength = (s) => [...s].length;

// 403 (not the sender) and 409 (an assistant conversation) say why in the problem's own words.
function errorText(err) {
  if (err instanceof ApiError && (err.status === 403 || err.status === 409) && err.problem.detail) return err.problem.detail;
  return fieldMessages(err).content || friendlyMessage(err);
}

export function messageEditor({ text, max, save, close }) {
  const id = "edit-" + Math.random().toString(36).slice(2);
  const input = el("textarea", { class: "edit-input", id, rows: "2", "aria-label": "Edit message", "aria-describedby": `${id}-hint ${id}-err` });
  input.value = text;
  const error = el("p", { class: "form-error", id: `${id}-err`, role: "alert" });
  const saveBtn = el("button", { type: "submit", class: "btn primary small" }, "Save");
  const cancelBtn = el("button", { type: "button", class: "btn small", onclick: () => close() }, "Cancel");
  let saving = false;

  const grow = () => {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, window.innerHeight * 0.5) + "px";
  };

  const submit = async () => {
    if (saving) return;
    const content = input.value.trim();
    if (!content) return (error.textContent = "A message can't be empty.");
    if (cpLength(content) > max) return (error.textContent = `Messages can be at most ${max.toLocaleString()} characters.`);
    if (content === text.trim()) return close();
    error.textContent = "";
    saving = true;
    input.readOnly = true;
    saveBtn.disabled = cancelBtn.disabled = true;
    saveBtn.textContent = "Saving…";
    try {
      await save(content);
      close();
    } catch (err) {
      error.textContent = errorText(err);
      input.readOnly = false;
      saveBtn.disabled = cancelBtn.disabled = false;
      saveBtn.textContent = "Save";
      input.focus();
    } finally {
      saving = false;
    }
  };

  input.addEventListener("input", () => {
    error.textContent = "";
    grow();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      if (!saving) close();
    } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });

  const form = el(
    "form",
    { class: "msg-edit", onsubmit: (e) => (e.preventDefault(), submit()) },
    input,
    error,
    el(
      "div",
      { class: "msg-edit-foot" },
      el("span", { class: "hint", id: `${id}-hint`, text: "Enter to save, Shift+Enter for a new line, Esc to cancel" }),
      el("span", { class: "msg-edit-actions" }, cancelBtn, saveBtn),
    ),
  );
  return {
    el: form,
    focus() {
      grow();
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
    },
  };
}
