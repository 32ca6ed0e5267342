// The one way views build DOM: el() creates elements from a tag, attributes and children, and
// text always goes in as text nodes (never innerHTML), so nothing a user or a model wrote can
// become markup here. The only HTML that reaches the DOM is markdown.js's, sanitised by DOMPurify.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "value") node.value = v;
      else if (k === "checked" || k === "disabled" || k === "hidden" || k === "selected" || k === "required")
        node[k] = Boolean(v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else if (c instanceof Node) node.appendChild(c);
    else node.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function replaceChildren(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

// Saves a downloaded file (an export) through a temporary object URL: the request needed the
// Authorization header, which a plain link could not send.
export function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// An <svg> icon from a fixed set (paths are constants of this file, never data).
const ICONS = {
  menu: "M3 6h18M3 12h18M3 18h18",
  plus: "M12 5v14M5 12h14",
  search: "M11 4a7 7 0 1 0 0 14a7 7 0 0 0 0-14zM21 21l-5-5",
  send: "M4 12l16-8-6 16-3-7z",
  stop: "M7 7h10v10H7z",
  close: "M6 6l12 12M18 6L6 18",
  down: "M6 9l6 6 6-6",
  up: "M6 15l6-6 6 6",
  gear: "M12 9a3 3 0 1 0 0 6a3 3 0 0 0 0-6zM4 12h2M18 12h2M12 4v2M12 18v2",
  bot: "M8 9h8v8H8zM12 5v4M10 13h.01M14 13h.01",
  users: "M9 11a3 3 0 1 0 0-6a3 3 0 0 0 0 6zM3 19c0-3 3-5 6-5s6 2 6 5M16 11a3 3 0 0 0 0-6M21 19c0-2-1.5-4-4-4.7",
  more: "M5 12h.01M12 12h.01M19 12h.01",
  copy: "M8 8h11v11H8zM5 16V5h11",
};

export function icon(name, label) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("class", "icon");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", ICONS[name] || "");
  svg.appendChild(p);
  return svg;
}

// Screen-reader announcements (index.html's live regions): polite for finished replies,
// assertive for errors.
export function announce(text, assertive = false) {
  const region = document.getElementById(assertive ? "alerts" : "announcer");
  if (!region) return;
  region.textContent = "";
  // A separate task, so the same text twice is announced twice.
  setTimeout(() => (region.textContent = text), 30);
}

// Formatters are made once: toLocale*String(undefined, options) builds a new one per call, which
// costs more than the rest of rendering a message.
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
let today = { key: "", until: 0 };

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const now = Date.now();
  if (now >= today.until) {
    const start = new Date(now);
    start.setHours(0, 0, 0, 0);
    today = { key: start.toDateString(), until: new Date(start.getFullYear(), start.getMonth(), start.getDate() + 1).getTime() };
  }
  return d.toDateString() === today.key ? timeFormat.format(d) : dayFormat.format(d) + " " + timeFormat.format(d);
}
