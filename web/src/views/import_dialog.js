// The "Import conversations…" dialog (Settings → Your data). The chosen file is read here
// (File.text()) and refused at once when it is over the server's 8 MiB or not JSON at all;
// otherwise its text goes as it is to POST /import, which takes chatd's conversation export,
// chatd's account archive or ChatGPT's conversations.json and makes each conversation in it a new
// chat of the user's, all or nothing. The result lists the new conversations as links; a refused
// file shows the server's reasons with where in the file each one is (a VALIDATION_ERROR's
// fields). The sidebar learns of the new chats from their conversation.created events (kept by
// id, so never twice).
import { el, replaceChildren } from "../dom.js";
import { ApiError, friendlyMessage } from "../errors.js";
import { navigate } from "../router.js";
import { field, openDialog } from "./dialog.js";

export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

// Rounded up, so a file just over the limit does not read as "8 MiB".
const mib = (bytes) => (Math.ceil((bytes / (1024 * 1024)) * 10) / 10).toLocaleString() + " MiB";
const plural = (n, one, many) => `${n.toLocaleString()} ${n === 1 ? one : many}`;
const sentence = (s) => String(s || "").replace(/[.\s]+$/, "") + ".";

// What the user can do about a file before it is sent: null when it may go.
function fileProblem(file) {
  if (file.size > MAX_IMPORT_BYTES) return `This file is ${mib(file.size)}: chatd imports files of at most 8 MiB at a time.`;
  if (file.size === 0) return "This file is empty.";
  return null;
}

// A refused import as what a person reads: the server's reason for each place in the file.
function refusal(err) {
  if (err instanceof ApiError && err.code === "VALIDATION_ERROR" && err.fieldErrors.length) {
    return [
      el("p", { text: "This file can't be imported:" }),
      el(
        "ul",
        { class: "import-problems" },
        err.fieldErrors.map((f) =>
          f.field === "body" || !f.field
            ? el("li", { text: `The file ${sentence(f.message)}` })
            : el("li", null, "At ", el("code", { text: f.field }), `: ${sentence(f.message)}`),
        ),
      ),
    ];
  }
  if (err instanceof ApiError && err.code === "PAYLOAD_TOO_LARGE") return [el("p", { text: "This file is larger than 8 MiB, the most chatd imports at a time." })];
  return [el("p", { text: friendlyMessage(err) })];
}

export function importDialog(ctx) {
  return openDialog({
    title: "Import conversations",
    className: "import-dialog",
    body: (close) => {
      const input = el("input", { type: "file", accept: ".json,application/json", class: "import-file" });
      const fileField = field("File to import", input, "A .json file of at most 8 MiB.");
      const status = el("p", { class: "muted small import-status", role: "status" });
      const error = el("div", { class: "form-error import-error", role: "alert" });
      const result = el("div", { class: "import-result" });
      const submit = el("button", { type: "submit", class: "btn primary" }, "Import");
      const done = el("button", { type: "button", class: "btn", onclick: () => close(null) }, "Cancel");

      const reset = () => {
        fileField.setError("");
        replaceChildren(error);
        replaceChildren(result);
        status.textContent = "";
        status.classList.remove("done");
      };
      const busy = (on) => {
        input.disabled = on;
        submit.disabled = on;
        form.setAttribute("aria-busy", String(on));
      };

      const open = (e, id) => {
        if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return; // a new tab
        e.preventDefault();
        close(null);
        navigate(`/c/${encodeURIComponent(id)}`);
      };
      const showResult = (items) => {
        const n = items.length;
        status.textContent = `Imported ${plural(n, "conversation", "conversations")}.`;
        status.classList.add("done");
        replaceChildren(
          result,
          el(
            "ul",
            { class: "import-list", "aria-label": "Imported conversations" },
            items.map((it) =>
              el(
                "li",
                null,
                el("a", { href: `/c/${encodeURIComponent(it.id)}`, onclick: (e) => open(e, it.id), text: it.title || "Imported conversation" }),
                el("span", { class: "muted small", text: ` · ${plural(it.message_count, "message", "messages")}` }),
              ),
            ),
          ),
        );
        done.textContent = "Done";
        result.querySelector("a")?.focus();
      };

      const run = async () => {
        reset();
        const file = input.files?.[0];
        if (!file) return fileField.setError("Choose a file to import.");
        const problem = fileProblem(file);
        if (problem) return fileField.setError(problem);
        busy(true);
        try {
          status.textContent = "Reading the file…";
          let text;
          try {
            text = await file.text();
            JSON.parse(text);
          } catch {
            fileField.setError("This file isn't JSON. Choose the .json file of a chatd export or ChatGPT's conversations.json.");
            status.textContent = "";
            return;
          }
          status.textContent = "Importing…";
          const res = await ctx.api.postJsonText("/import", text);
          input.value = "";
          showResult(res?.items || []);
        } catch (err) {
          status.textContent = "";
          replaceChildren(error, ...refusal(err));
        } finally {
          busy(false);
        }
      };

      input.addEventListener("change", () => {
        reset();
        const file = input.files?.[0];
        const problem = file && fileProblem(file);
        if (problem) fileField.setError(problem);
      });

      const form = el(
        "form",
        { class: "dialog-body", "aria-busy": "false", onsubmit: (e) => (e.preventDefault(), run()) },
        el("p", { class: "import-note", text: "Each conversation in the file becomes a new chat of yours with the assistant. chatd reads:" }),
        el(
          "ul",
          { class: "import-formats" },
          el("li", { text: "a conversation exported from chatd (Export as JSON, in a conversation's menu);" }),
          el("li", { text: "your chatd data (Download your data, in Settings);" }),
          el("li", { text: "ChatGPT's conversations.json, from the .zip of ChatGPT's data export (the branch of each chat you saw last)." }),
        ),
        el("p", { class: "muted small", text: "Only the text of messages comes along: images, attachments and tool output are left out." }),
        fileField,
        error,
        status,
        result,
        el("div", { class: "dialog-actions" }, done, submit),
      );
      return form;
    },
  });
}
