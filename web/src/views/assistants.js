// Assistants: the list (the built-in default plus the user's own), and the editor of one
// (name, description, model, temperature, max tokens, system prompt), its prompts (add, edit,
// reorder, enable / disable, delete) and its knowledge documents (upload by picker or drag and
// drop of text / markdown files, the size limit shown before upload, chunk counts, delete).
import { el, icon, replaceChildren } from "../dom.js";
import { friendlyMessage, fieldMessages } from "../errors.js";
import { navigate } from "../router.js";
import { confirmDialog, field, showFieldErrors, toast } from "./dialog.js";

const enc = encodeURIComponent;

function pageHead(ctx, title, back) {
  return el(
    "header",
    { class: "page-head" },
    ctx.drawerToggle(),
    back ? el("a", { href: back, class: "link", onclick: (e) => (e.preventDefault(), navigate(back)) }, "← Back") : null,
    el("h1", { text: title }),
  );
}

export async function renderAssistants(ctx, outlet, id) {
  if (id) return renderEditor(ctx, outlet, id === "new" ? null : id);
  const list = el("ul", { class: "card-list" });
  const status = el("p", { role: "status", text: "Loading…" });
  replaceChildren(outlet, 
    el(
      "section",
      { class: "page", "aria-labelledby": "page-title" },
      pageHead(ctx, "Assistants"),
      el("div", { class: "page-body" },
        el("p", { class: "lead", text: "Assistants are the chatbots you talk to: give them a system prompt, reusable prompts and knowledge documents they can quote from." }),
        el("button", { type: "button", class: "btn primary", onclick: () => navigate("/assistants/new") }, icon("plus"), el("span", { text: "New assistant" })),
        status,
        list,
      ),
    ),
  );
  outlet.querySelector("h1").id = "page-title";
  try {
    const page = await ctx.api.get("/assistants?limit=100");
    status.textContent = "";
    replaceChildren(list, 
      ...page.items.map((a) =>
        el(
          "li",
          { class: "card" },
          el("div", { class: "card-main" }, el("h2", { text: a.name }), el("p", { class: "muted", text: a.description || (a.owner_id ? "No description" : "The built-in assistant") })),
          el(
            "div",
            { class: "card-actions" },
            el("button", { type: "button", class: "btn small", onclick: async () => ctx.opened(await ctx.api.post("/conversations", a.owner_id ? { kind: "assistant", assistant_id: a.id } : { kind: "assistant" })) }, "Chat"),
            a.owner_id ? el("button", { type: "button", class: "btn small", onclick: () => navigate(`/assistants/${enc(a.id)}`), "aria-label": `Edit ${a.name}` }, "Edit") : el("span", { class: "badge", text: "built-in" }),
          ),
        ),
      ),
    );
  } catch (err) {
    status.textContent = friendlyMessage(err);
  }
}

async function renderEditor(ctx, outlet, id) {
  let a = { name: "", description: "", model: null, temperature: null, max_tokens: null, system_prompt: "" };
  if (id) {
    try {
      a = await ctx.api.get(`/assistants/${enc(id)}`);
    } catch (err) {
      replaceChildren(outlet, el("section", { class: "page" }, pageHead(ctx, "Assistant", "/assistants"), el("p", { class: "page-body", text: friendlyMessage(err) })));
      return;
    }
  }
  const inputs = {
    name: el("input", { value: a.name, required: true, maxlength: 100 }),
    description: el("input", { value: a.description || "", maxlength: 2000 }),
    model: el("input", { value: a.model || "", maxlength: 200, placeholder: ctx.info?.llm?.model ? `Server default (${ctx.info.llm.model})` : "Server default" }),
    temperature: el("input", { type: "number", min: "0", max: "2", step: "0.1", value: a.temperature ?? "", placeholder: "Provider default" }),
    max_tokens: el("input", { type: "number", min: "1", max: "100000", step: "1", value: a.max_tokens ?? "", placeholder: "Server default" }),
    system_prompt: el("textarea", { rows: "8", maxlength: 32000, value: a.system_prompt || "" }),
  };
  inputs.system_prompt.value = a.system_prompt || "";
  const fields = {
    name: field("Name", inputs.name),
    description: field("Description", inputs.description),
    model: field("Model", inputs.model, "Leave empty for the server's model"),
    temperature: field("Temperature (0–2)", inputs.temperature),
    max_tokens: field("Max tokens per reply", inputs.max_tokens),
    system_prompt: field("System prompt", inputs.system_prompt, "How the assistant should behave; sent before every conversation"),
  };
  const formError = el("p", { class: "form-error", role: "alert" });
  const save = el("button", { type: "submit", class: "btn primary" }, id ? "Save" : "Create assistant");
  const form = el(
    "form",
    {
      class: "editor",
      "aria-label": "Assistant settings",
      onsubmit: async (e) => {
        e.preventDefault();
        formError.textContent = "";
        showFieldErrors(fields, {});
        const body = {
          name: inputs.name.value.trim(),
          description: inputs.description.value.trim(),
          system_prompt: inputs.system_prompt.value,
          model: inputs.model.value.trim() || null,
          temperature: inputs.temperature.value === "" ? null : Number(inputs.temperature.value),
          max_tokens: inputs.max_tokens.value === "" ? null : Number(inputs.max_tokens.value),
        };
        save.disabled = true;
        try {
          const saved = id ? await ctx.api.patch(`/assistants/${enc(id)}`, body) : await ctx.api.post("/assistants", body);
          toast("Saved");
          if (!id) navigate(`/assistants/${enc(saved.id)}`, { replace: true });
        } catch (err) {
          showFieldErrors(fields, fieldMessages(err));
          formError.textContent = friendlyMessage(err);
        } finally {
          save.disabled = false;
        }
      },
    },
    fields.name,
    fields.description,
    el("div", { class: "field-row" }, fields.model, fields.temperature, fields.max_tokens),
    fields.system_prompt,
    formError,
    el(
      "div",
      { class: "form-actions" },
      save,
      id
        ? el(
            "button",
            {
              type: "button",
              class: "btn danger",
              onclick: async () => {
                if (!(await confirmDialog({ title: "Delete assistant?", message: `“${a.name}”, its prompts and documents will be deleted. Its conversations stay, answered by the built-in assistant.`, confirm: "Delete", danger: true }))) return;
                try {
                  await ctx.api.del(`/assistants/${enc(id)}`);
                  navigate("/assistants");
                } catch (err) {
                  toast(friendlyMessage(err), { error: true });
                }
              },
            },
            "Delete",
          )
        : null,
    ),
  );
  const section = el(
    "section",
    { class: "page", "aria-labelledby": "page-title" },
    pageHead(ctx, id ? `Edit ${a.name}` : "New assistant", "/assistants"),
    el("div", { class: "page-body" }, form, id ? promptsPanel(ctx, id) : null, id ? documentsPanel(ctx, id) : null),
  );
  section.querySelector("h1").id = "page-title";
  replaceChildren(outlet, section);
  inputs.name.focus();
}

function promptsPanel(ctx, id) {
  const list = el("ol", { class: "prompt-list" });
  const error = el("p", { class: "form-error", role: "alert" });
  let prompts = [];
  const load = async () => {
    try {
      prompts = (await ctx.api.get(`/assistants/${enc(id)}/prompts?limit=100`)).items;
      draw();
    } catch (err) {
      error.textContent = friendlyMessage(err);
    }
  };
  const patch = async (p, body) => {
    error.textContent = "";
    try {
      await ctx.api.patch(`/assistants/${enc(id)}/prompts/${enc(p.id)}`, body);
    } catch (err) {
      error.textContent = friendlyMessage(err);
    }
  };
  // Reordering writes consecutive positions for every prompt whose position changes.
  const move = async (i, delta) => {
    const j = i + delta;
    if (j < 0 || j >= prompts.length) return;
    const order = [...prompts];
    [order[i], order[j]] = [order[j], order[i]];
    for (let k = 0; k < order.length; k++) if (order[k].position !== k) await patch(order[k], { position: k });
    await load();
    list.querySelectorAll(".prompt")[j]?.querySelector(delta < 0 ? ".up" : ".down")?.focus();
  };
  const draw = () => {
    replaceChildren(list, 
      ...prompts.map((p, i) =>
        el(
          "li",
          { class: p.enabled ? "prompt" : "prompt disabled" },
          el("div", { class: "prompt-head" }, el("strong", { text: p.title }), el("span", { class: "muted", text: p.enabled ? "" : " (disabled)" })),
          el("p", { class: "prompt-content", text: p.content }),
          el(
            "div",
            { class: "prompt-actions" },
            el("label", { class: "toggle" }, el("input", { type: "checkbox", checked: p.enabled, onchange: async (e) => (await patch(p, { enabled: e.target.checked }), load()) }), " Enabled"),
            el("button", { type: "button", class: "btn small up", "aria-label": `Move ${p.title} up`, disabled: i === 0, onclick: () => move(i, -1) }, icon("up")),
            el("button", { type: "button", class: "btn small down", "aria-label": `Move ${p.title} down`, disabled: i === prompts.length - 1, onclick: () => move(i, 1) }, icon("down")),
            el(
              "button",
              {
                type: "button",
                class: "btn small danger",
                "aria-label": `Delete ${p.title}`,
                onclick: async () => {
                  try {
                    await ctx.api.del(`/assistants/${enc(id)}/prompts/${enc(p.id)}`);
                    load();
                  } catch (err) {
                    error.textContent = friendlyMessage(err);
                  }
                },
              },
              "Delete",
            ),
          ),
        ),
      ),
    );
  };
  const title = el("input", { required: true, maxlength: 200 });
  const content = el("textarea", { rows: "3", required: true });
  const f = { title: field("Title", title), content: field("Prompt text", content) };
  const add = el(
    "form",
    {
      class: "prompt-add",
      "aria-label": "Add a prompt",
      onsubmit: async (e) => {
        e.preventDefault();
        showFieldErrors(f, {});
        error.textContent = "";
        try {
          await ctx.api.post(`/assistants/${enc(id)}/prompts`, { title: title.value.trim(), content: content.value, enabled: true });
          title.value = content.value = "";
          load();
        } catch (err) {
          showFieldErrors(f, fieldMessages(err));
          error.textContent = friendlyMessage(err);
        }
      },
    },
    f.title,
    f.content,
    el("button", { type: "submit", class: "btn" }, "Add prompt"),
  );
  load();
  return el("section", { class: "panel", "aria-labelledby": "prompts-title" }, el("h2", { id: "prompts-title", text: "Prompts" }), el("p", { class: "muted", text: "Enabled prompts are added after the system prompt, in this order." }), list, error, add);
}

function documentsPanel(ctx, id) {
  const max = ctx.info?.limits?.max_document_bytes || 1024 * 1024;
  const maxLabel = max >= 1024 * 1024 ? `${(max / 1024 / 1024).toFixed(max % (1024 * 1024) ? 1 : 0)} MiB` : `${Math.round(max / 1024)} KiB`;
  const list = el("ul", { class: "doc-list" });
  const status = el("p", { class: "field-hint", role: "status" });
  const load = async () => {
    try {
      const docs = (await ctx.api.get(`/assistants/${enc(id)}/documents?limit=100`)).items;
      replaceChildren(list, 
        ...docs.map((d) =>
          el(
            "li",
            { class: "doc" },
            el("span", { class: "doc-name", text: d.filename }),
            el("span", { class: "muted", text: `${d.bytes < 1024 ? `${d.bytes} bytes` : `${(d.bytes / 1024).toFixed(1)} KiB`} · ${d.chunks} chunk${d.chunks === 1 ? "" : "s"}` }),
            el(
              "button",
              {
                type: "button",
                class: "btn small danger",
                "aria-label": `Delete ${d.filename}`,
                onclick: async () => {
                  try {
                    await ctx.api.del(`/assistants/${enc(id)}/documents/${enc(d.id)}`);
                    load();
                  } catch (err) {
                    status.textContent = friendlyMessage(err);
                  }
                },
              },
              "Delete",
            ),
          ),
        ),
      );
      if (!docs.length) replaceChildren(list, el("li", { class: "muted", text: "No documents yet." }));
    } catch (err) {
      status.textContent = friendlyMessage(err);
    }
  };
  const upload = async (files) => {
    for (const file of files) {
      const type = file.name.toLowerCase().endsWith(".md") || file.name.toLowerCase().endsWith(".markdown") || file.type === "text/markdown" ? "text/markdown" : "text/plain";
      if (file.type && !file.type.startsWith("text/") && !/\.(md|markdown|txt)$/i.test(file.name)) {
        status.textContent = `${file.name}: only text and markdown files can be added.`;
        continue;
      }
      if (file.size > max) {
        status.textContent = `${file.name} is ${(file.size / 1024 / 1024).toFixed(2)} MiB; the limit is ${maxLabel}.`;
        continue;
      }
      status.textContent = `Uploading ${file.name}…`;
      try {
        const content = await file.text();
        await ctx.api.post(`/assistants/${enc(id)}/documents`, { filename: file.name.slice(0, 255), content, content_type: type });
        status.textContent = `${file.name} added.`;
      } catch (err) {
        status.textContent = `${file.name}: ${friendlyMessage(err)}`;
      }
      await load();
    }
  };
  const picker = el("input", { type: "file", accept: ".txt,.md,.markdown,text/plain,text/markdown", multiple: true, class: "visually-hidden", id: `doc-pick-${id}`, onchange: (e) => (upload([...e.target.files]), (e.target.value = "")) });
  const drop = el(
    "div",
    { class: "dropzone" },
    el("p", null, "Drop text or markdown files here, or ", el("label", { for: picker.id, class: "link" }, "choose files"), "."),
    el("p", { class: "muted", text: `Up to ${maxLabel} of text per document.` }),
    picker,
  );
  drop.addEventListener("dragover", (e) => (e.preventDefault(), drop.classList.add("over")));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    upload([...(e.dataTransfer?.files || [])]);
  });
  load();
  return el("section", { class: "panel", "aria-labelledby": "docs-title" }, el("h2", { id: "docs-title", text: "Knowledge documents" }), el("p", { class: "muted", text: "The assistant quotes the most relevant parts of these in its replies and lists them as sources." }), drop, status, list);
}
