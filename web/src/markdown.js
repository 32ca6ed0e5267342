// Markdown for every message, a person's or a model's, made safe and fast:
//
// - marked parses; raw HTML in the source is shown as text (the html renderer escapes it), images
//   become plain links (no remote fetches, no tracking pixels);
// - every piece of HTML goes through DOMPurify before it reaches the DOM, with links limited to
//   http(s)/mailto/#fragments (never javascript: or data:), opened in a new tab without a referrer;
// - code blocks are highlighted by highlight.js (its pre-built ES modules) and get a language label
//   and a copy button; tables scroll sideways; $$…$$, \[…\] and \(…\) are KaTeX math (a single $
//   is never math, so "$5 and $10" stays text).
//
// StreamingMarkdown renders a reply while it grows: at most once per animation frame it re-lexes
// only the text after the last finished top-level block, appends newly finished blocks once (their
// DOM nodes never change again, so a selection in them survives) and replaces only the unfinished
// tail. A code block is highlighted once its fence closes. Work per frame is the size of the last
// block, not of the reply (re-rendering the whole reply per delta is O(n²)); and in a long last
// paragraph, only its last few KB are re-parsed (its leading part is frozen: see below).
import { Marked } from "marked";
import DOMPurify from "dompurify";
import hljs from "@highlightjs/cdn-assets/es/highlight.min.js";
import { el, icon } from "./dom.js";

// KaTeX is half the app's code and most messages have no math: it is loaded (a separate,
// content-hashed chunk) the first time math appears. Until then the math shows as its source in a
// placeholder, upgraded in place once KaTeX is there.
let katex = null;
let katexLoading = null;
function loadKatex() {
  katexLoading ||= import("katex")
    .then((m) => {
      katex = m.default;
      for (const node of document.querySelectorAll(".math-pending")) {
        node.replaceWith(toFragment(renderMath(node.textContent, node.dataset.display === "1")));
      }
    })
    .catch(() => {
      katexLoading = null; // offline for a moment: the next math tries again
    });
  return katexLoading;
}

let highlightCode = true; // set around each parse: the unfinished tail is not highlighted

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function renderMath(tex, displayMode) {
  if (!katex) {
    loadKatex();
    return `<span class="math-pending" data-display="${displayMode ? "1" : "0"}">${escapeHtml(tex)}</span>`;
  }
  try {
    return katex.renderToString(tex, {
      displayMode,
      throwOnError: false,
      trust: false,
      strict: "ignore",
      maxSize: 50,
      maxExpand: 500,
      output: "htmlAndMathml",
    });
  } catch {
    return `<code>${escapeHtml(tex)}</code>`;
  }
}

const mathBlock = {
  name: "mathBlock",
  level: "block",
  start(src) {
    const m = src.match(/^ {0,3}(\$\$|\\\[)/m);
    return m ? m.index : undefined;
  },
  tokenizer(src) {
    const m = /^ {0,3}\$\$([\s\S]+?)\$\$[ \t]*(?:\n+|$)/.exec(src) || /^ {0,3}\\\[([\s\S]+?)\\\][ \t]*(?:\n+|$)/.exec(src);
    if (m) return { type: "mathBlock", raw: m[0], text: m[1].trim() };
    return undefined;
  },
  renderer(token) {
    return `<div class="math-block">${renderMath(token.text, true)}</div>`;
  },
};

const mathInline = {
  name: "mathInline",
  level: "inline",
  start(src) {
    const a = src.indexOf("$$");
    const b = src.indexOf("\\(");
    const c = src.indexOf("\\[");
    const hits = [a, b, c].filter((i) => i >= 0);
    return hits.length ? Math.min(...hits) : undefined;
  },
  tokenizer(src) {
    let m = /^\$\$((?:\\[\s\S]|[^$\\])+?)\$\$/.exec(src);
    if (m) return { type: "mathInline", raw: m[0], text: m[1], display: true };
    m = /^\\\(([\s\S]+?)\\\)/.exec(src);
    if (m) return { type: "mathInline", raw: m[0], text: m[1], display: false };
    m = /^\\\[([\s\S]+?)\\\]/.exec(src);
    if (m) return { type: "mathInline", raw: m[0], text: m[1], display: true };
    return undefined;
  },
  renderer(token) {
    return renderMath(token.text, token.display);
  },
};

const md = new Marked({ gfm: true, breaks: true, async: false });
md.use({
  extensions: [mathBlock, mathInline],
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    image({ href, text }) {
      const label = text || href || "image";
      return href ? `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>` : escapeHtml(label);
    },
    code({ text, lang }) {
      const language = (lang || "").trim().split(/\s+/)[0].toLowerCase().slice(0, 32);
      let body;
      if (highlightCode && language && hljs.getLanguage(language)) {
        try {
          body = hljs.highlight(text, { language, ignoreIllegals: true }).value;
        } catch {
          body = escapeHtml(text);
        }
      } else {
        body = escapeHtml(text);
      }
      const cls = language ? ` class="hljs language-${escapeHtml(language)}"` : ' class="hljs"';
      return `<pre data-lang="${escapeHtml(language)}"><code${cls}>${body}</code></pre>\n`;
    },
  },
});

const SAFE_URL = /^(?:https?:|mailto:|#)/i;
const purifyConfig = {
  RETURN_DOM_FRAGMENT: true,
  ALLOWED_URI_REGEXP: SAFE_URL,
  ADD_ATTR: ["target"],
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "iframe", "object", "embed", "img", "video", "audio", "source", "link", "meta", "base"],
  FORBID_ATTR: ["id", "name", "srcset", "action", "formaction", "autofocus"],
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    const href = node.getAttribute("href");
    if (!href || !SAFE_URL.test(href)) {
      node.removeAttribute("href");
    } else if (!href.startsWith("#")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow ugc");
    }
  } else if (node.hasAttribute?.("target")) {
    node.removeAttribute("target");
  }
});

// Code blocks get their label and copy button, tables a sideways-scrolling wrapper: built as DOM
// after sanitising (no button or handler ever passes through HTML).
function decorate(fragment) {
  for (const pre of fragment.querySelectorAll("pre")) {
    const code = pre.querySelector("code");
    const lang = pre.getAttribute("data-lang") || "";
    const wrap = el("div", { class: "code-block" });
    const copy = el(
      "button",
      {
        type: "button",
        class: "code-copy",
        "aria-label": "Copy code",
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(code ? code.textContent : pre.textContent);
            copy.lastChild.textContent = "Copied";
          } catch {
            copy.lastChild.textContent = "Copy failed";
          }
          setTimeout(() => (copy.lastChild.textContent = "Copy"), 1500);
        },
      },
      icon("copy"),
      el("span", { text: "Copy" }),
    );
    const head = el("div", { class: "code-head" }, el("span", { class: "code-lang", text: lang || "text" }), copy);
    pre.replaceWith(wrap);
    wrap.append(head, pre);
  }
  for (const table of fragment.querySelectorAll("table")) {
    const wrap = el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Table" });
    table.replaceWith(wrap);
    wrap.append(table);
  }
  return fragment;
}

function toFragment(html) {
  return decorate(DOMPurify.sanitize(html, purifyConfig));
}

function normalise(text) {
  return (text || "").replace(/\r\n?/g, "\n");
}

function parseTokens(tokens, links, highlight) {
  const list = Object.assign([...tokens], { links: links || {} });
  highlightCode = highlight;
  try {
    return md.parser(list);
  } finally {
    highlightCode = true;
  }
}

// The whole text at once: a finished message.
export function renderMarkdown(text) {
  highlightCode = true;
  return toFragment(md.parse(normalise(text)));
}

// A long unfinished paragraph (a model that writes one without a break) is the worst case: its
// source is the whole tail, so re-parsing it every frame grows with the reply. Its leading part is
// therefore frozen in chunks: a chunk ends at a space at least FREEZE_KEEP characters before the
// end, and is frozen only if marked's inline lexer finds nothing in it that later text could
// still change (no literal *, _, ~, `, [, <, $$, \( or \[ left over: every emphasis, code span,
// link or math in it is closed; no inline HTML; lines inside it start with a letter). A frozen
// chunk's inline HTML is appended once to the paragraph's <p>; each frame re-parses only the text
// after it. When the paragraph ends (or the reply is done) the lexer's finished block is checked:
// still a paragraph starting with the frozen text, only the rest is rendered, which gives the same
// DOM as a full render (inline parsing never crosses a chunk's end); anything else (it became a
// heading or a table, link definitions appeared) is re-rendered whole, once.
const FREEZE_AT = 3000; // unfrozen characters of a paragraph before a chunk is frozen
const FREEZE_KEEP = 1000; // characters at the end that stay unfrozen
const OPEN_MARK = /[*_~`[<]|\$\$|\\[([]/;

function lexBlocks(src) {
  const lexer = new md.Lexer(md.defaults);
  const tokens = lexer.blockTokens(src, lexer.tokens);
  return { lexer, tokens };
}

function lexInline(lexer, item) {
  lexer.state.inRawBlock = false;
  lexer.inlineTokens(item.src, item.tokens);
}

// Inline tokens with an opener that later text could still close (a literal delimiter).
function hasOpenMark(tokens) {
  for (const t of tokens) {
    if (t.type === "text" && OPEN_MARK.test(t.raw)) return true;
    if (t.type === "html") return true; // an <a> tag changes how later text is lexed
    if (t.tokens && hasOpenMark(t.tokens)) return true;
  }
  return false;
}

function inlineFragment(src, tokens = md.Lexer.lexInline(src, md.defaults)) {
  return toFragment(md.Parser.parseInline(tokens, md.defaults));
}

export class StreamingMarkdown {
  constructor(container) {
    this.root = container;
    this.text = "";
    this.stable = 0; // characters of text rendered as finished blocks
    this.tail = [];
    this.para = null; // the unfinished last paragraph: {el, frozen: its frozen source}
    this.scheduled = false;
    this.final = false;
  }

  // The whole text so far (not a delta). Rendering happens on the next animation frame.
  update(text) {
    this.#set(normalise(text), false);
  }

  // The stored final text: the last block is rendered finished (and highlighted).
  finish(text) {
    this.#set(normalise(text), true);
    this.flush();
  }

  #set(text, final) {
    if (!text.startsWith(this.text.slice(0, this.stable))) {
      // Not a continuation (a refetch replaced the text): start over.
      this.root.replaceChildren();
      this.stable = 0;
      this.tail = [];
      this.para = null;
    }
    this.text = text;
    this.final = this.final || final;
    if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => this.flush());
    }
  }

  flush() {
    this.scheduled = false;
    const { lexer, tokens } = lexBlocks(this.text.slice(this.stable));
    let last = tokens.length - 1;
    while (last >= 0 && tokens[last].type === "space") last--;
    const finished = this.final ? tokens.length : Math.max(0, last);
    const noDefs = Object.keys(tokens.links).length === 0;
    for (const n of this.tail) n.remove();
    this.tail = [];

    // The paragraph being streamed into: does the lexer still see it, with its frozen part?
    const first = tokens[0];
    if (this.para && !(noDefs && first?.type === "paragraph" && first.text.startsWith(this.para.frozen))) {
      this.para.el.remove();
      this.para = null;
    }
    const streaming = !this.final && last >= finished && tokens[last].type === "paragraph" && noDefs ? tokens[last] : null;
    // Inline lexing for every block but the streamed paragraph (the costly one) and the one
    // whose frozen part is already rendered.
    const skip = new Set([streaming?.tokens, this.para && finished > 0 ? first.tokens : null]);
    for (const item of lexer.inlineQueue) if (!skip.has(item.tokens)) lexInline(lexer, item);
    lexer.inlineQueue = [];

    let consumed = 0;
    let from = 0;
    if (this.para && finished > 0) {
      // The paragraph ended: render what follows its frozen part, and it is a finished block.
      const rest = first.text.slice(this.para.frozen.length);
      if (rest) this.para.el.append(inlineFragment(rest));
      this.para.el.after(document.createTextNode("\n"));
      this.para = null;
      consumed += first.raw.length;
      from = 1;
    }
    const done = [];
    for (let i = from; i < finished; i++) {
      consumed += tokens[i].raw.length;
      if (tokens[i].type !== "space") done.push(tokens[i]);
    }
    if (done.length) this.root.append(toFragment(parseTokens(done, tokens.links, true)));
    this.stable += consumed;
    if (this.final || last < finished) return;

    if (streaming) {
      if (!this.para) {
        this.para = { el: document.createElement("p"), frozen: "" };
        this.root.append(this.para.el);
      }
      this.#freeze(streaming.text);
      const frag = inlineFragment(streaming.text.slice(this.para.frozen.length));
      this.tail = [...frag.childNodes];
      this.para.el.append(frag);
    } else {
      const frag = toFragment(parseTokens(tokens.slice(finished, last + 1), tokens.links, false));
      this.tail = [...frag.childNodes];
      this.root.append(frag);
    }
  }

  // Freezes the next chunk of the streamed paragraph when enough has come after its frozen part.
  #freeze(text) {
    const para = this.para;
    const start = para.frozen.length;
    if (text.length - start < FREEZE_AT) return;
    let end = text.lastIndexOf(" ", text.length - FREEZE_KEEP);
    if (end <= start) return;
    end += 1; // after the space: the next chunk starts a word, as the start of a text does
    let chunk = text.slice(start, end);
    if (/\n(?!\p{L})/u.test(chunk)) return; // a line that could start a block: wait for the end
    let tokens = md.Lexer.lexInline(chunk, md.defaults);
    if (hasOpenMark(tokens)) {
      // Something is still open: freeze the plain text before the first mark, if any.
      const mark = chunk.search(OPEN_MARK);
      const cut = chunk.lastIndexOf(" ", mark - 1) + 1;
      if (cut <= 0) return;
      chunk = chunk.slice(0, cut);
      tokens = md.Lexer.lexInline(chunk, md.defaults);
      if (hasOpenMark(tokens)) return;
    }
    para.el.append(inlineFragment(chunk, tokens));
    para.frozen = text.slice(0, start + chunk.length);
  }
}
