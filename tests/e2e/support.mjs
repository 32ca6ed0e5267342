// The base of every browser test: a real stack (tests/support/harness.py serve: PostgreSQL, the
// worker pool, chatd-push, nginx serving the built UI, the fake LLM), Debian's chromium driven by
// playwright-core, and small API helpers to set up users and data the way a client would.
// Tests synchronise on what the page shows (locators, events), never on sleeps.
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE = process.env.CHATD_SOURCE_DIR || path.resolve(here, "..", "..");
export const BUILD = process.env.CHATD_BUILD_DIR || path.join(SOURCE, "build");

// Starts a stack; `env` overrides its environment (e.g. {ACCESS_TOKEN_TTL: "60"}).
export async function startStack({ env = {}, fakeFlags = [] } = {}) {
  const proc = spawn("python3", [path.join(SOURCE, "tests/support/harness.py"), "serve", JSON.stringify({ env, fake_flags: fakeFlags })], {
    env: { ...process.env, CHATD_BUILD_DIR: BUILD, CHATD_SOURCE_DIR: SOURCE, PYTHONDONTWRITEBYTECODE: "1" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = readline.createInterface({ input: proc.stdout });
  const [first] = await Promise.race([once(lines, "line"), once(proc, "exit").then(([code]) => Promise.reject(new Error(`harness exited (${code})`)))]);
  const info = JSON.parse(first);
  return {
    ...info,
    async close() {
      proc.stdin.end();
      if (proc.exitCode === null) await once(proc, "exit");
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

let counter = 0;
export function uniqueName(prefix = "u") {
  return `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
export const PASSWORD = "correct-horse-battery-staple-9";

// The HTTP API as a client uses it (through nginx).
export class ApiClient {
  constructor(stack, auth = null) {
    this.stack = stack;
    this.auth = auth;
  }
  get token() {
    return this.auth?.access_token;
  }
  get user() {
    return this.auth?.user;
  }
  async call(method, p, body, { expect } = {}) {
    const res = await fetch(this.stack.url + "/api/v1" + p, {
      method,
      headers: {
        Accept: "application/json",
        ...(body !== undefined ? { "Content-Type": "application/json; charset=utf-8" } : {}),
        ...(this.token ? { Authorization: "Bearer " + this.token } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (expect !== undefined ? res.status !== expect : !res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
    return data;
  }
  get(p, o) {
    return this.call("GET", p, undefined, o);
  }
  post(p, b = {}, o) {
    return this.call("POST", p, b, o);
  }
  patch(p, b, o) {
    return this.call("PATCH", p, b, o);
  }
  del(p, o) {
    return this.call("DELETE", p, undefined, o);
  }
  // A second device of the same user: a login of its own (its own refresh-token family).
  static async login(stack, username) {
    const auth = await new ApiClient(stack).post("/auth/login", { username, password: PASSWORD });
    return new ApiClient(stack, auth);
  }
  static async signup(stack, { username = uniqueName(), displayName } = {}) {
    const anon = new ApiClient(stack);
    const auth = await anon.post("/auth/signup", { username, password: PASSWORD, ...(displayName ? { display_name: displayName } : {}) });
    return new ApiClient(stack, auth);
  }
}

// A direct conversation between two new users (Ann and Ben) with `count` messages, sent through
// the API as clients do (8 at a time); every tenth is markdown with a list and a code block.
// Returns {a, b, conv}. Used by the history test and the UI benchmark (tests/bench/ui_probe.mjs).
export async function seedConversation(stack, count) {
  const a = await ApiClient.signup(stack, { displayName: "Ann" });
  const b = await ApiClient.signup(stack, { displayName: "Ben" });
  const conv = await a.post("/conversations", { kind: "direct", user_id: b.user.id }, { expect: 201 });
  let next = 1;
  const worker = async () => {
    while (next <= count) {
      const i = next++;
      const who = i % 3 === 0 ? b : a;
      const content = i % 10 === 0 ? `Message ${i}\n\n- a list item\n- and \`code\`\n\n\`\`\`js\nconst n = ${i};\n\`\`\`` : `Message ${i}: ${"lorem ipsum ".repeat(1 + (i % 7))}`;
      await who.post(`/conversations/${conv.id}/messages`, { content, client_message_id: `seed-${i}` });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { a, b, conv };
}

// A browser context signed in as `client` (its session put where the UI keeps it, before any
// page script runs; a reload keeps whatever the UI has rotated to since).
export async function signedInContext(browser, client, { viewport, colorScheme } = {}) {
  const context = await browser.newContext({ viewport: viewport || { width: 1280, height: 800 }, colorScheme });
  const a = client.auth;
  const value = JSON.stringify({ user: a.user, access_token: a.access_token, refresh_token: a.refresh_token, access_expires_at: Date.now() + a.expires_in * 1000 });
  await context.addInitScript(
    ([v]) => {
      if (!localStorage.getItem("chatd.session")) localStorage.setItem("chatd.session", v);
    },
    [value],
  );
  return context;
}

// Fails the test on anything a page logs as an error or any dialog (alert/confirm/prompt) it opens
// that the test did not expect; returns the list so tests can assert on it.
export function watchPage(page) {
  const problems = [];
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.on("dialog", async (d) => {
    problems.push(`dialog: ${d.type()} ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on("console", (m) => {
    if (m.type() === "error") problems.push("console: " + m.text());
  });
  return problems;
}

export async function openConversation(page, stack, conversationId) {
  await page.goto(`${stack.url}/c/${conversationId}`);
  await page.locator(`section.chat[data-conversation-id="${conversationId}"]`).waitFor();
}

// The text of a message's rendered body, by message id.
export function messageBody(page, id) {
  return page.locator(`article.msg[data-id="${id}"] .msg-body`);
}

// A scripted OpenAI-compatible provider for tests that need a reply with a given shape (the fake
// LLM joins its words with spaces, so it cannot answer with a fenced code block or a table).
// Every chat completion answers with `reply(lastUserText)`, streamed in small chunks over the
// real SSE wire format; pass its `baseUrl` as the stack's LLM_BASE_URL. The chatd stack itself
// is still the real one: only the upstream model is a stand-in, as the fake LLM is.
export async function startScriptedLlm(reply) {
  const http = await import("node:http");
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
      res.writeHead(req.url.endsWith("/models") ? 200 : 404, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ data: [{ id: "demo" }] }));
      return;
    }
    const request = JSON.parse(body);
    const lastUser = [...request.messages].reverse().find((m) => m.role === "user");
    const text = reply(typeof lastUser?.content === "string" ? lastUser.content : "");
    const base = { id: "chatcmpl-scripted", object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: request.model || "demo" };
    const usage = { prompt_tokens: body.split(/\s+/).length, completion_tokens: text.split(/\s+/).length };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    if (!request.stream) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ ...base, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }], usage }));
      return;
    }
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    const send = (o) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    for (let i = 0; i < text.length; i += 24) send({ ...base, choices: [{ index: 0, delta: i ? { content: text.slice(i, i + 24) } : { role: "assistant", content: text.slice(0, 24) }, finish_reason: null }] });
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    if (request.stream_options?.include_usage) send({ ...base, choices: [], usage });
    res.end("data: [DONE]\n\n");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { baseUrl: `http://127.0.0.1:${server.address().port}/v1`, close: () => new Promise((r) => server.close(r)) };
}

// Serious and critical axe-core violations on the page as it is now (WCAG 2.x A/AA rules and
// best practices), as readable lines: [] when there are none.
export async function seriousA11yViolations(page, { exclude = [] } = {}) {
  const { default: AxeBuilder } = await import("@axe-core/playwright");
  let builder = new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]);
  for (const sel of exclude) builder = builder.exclude(sel);
  const result = await builder.analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 4).map((n) => n.target.join(" ") + (n.failureSummary ? ` (${n.failureSummary.replace(/\s+/g, " ").slice(0, 160)})` : "")).join("; ")}`);
}

// Resolves once the conversation's scroller has kept the same scrollTop for 10 animation frames in
// a row: a wheel's smooth scroll has ended (synchronising on frames, not on a timer).
export async function scrollSettled(page, selector = ".messages") {
  await page.evaluate(
    (sel) =>
      new Promise((resolve) => {
        const s = document.querySelector(sel);
        let last = s.scrollTop;
        let same = 0;
        const tick = () => {
          if (s.scrollTop === last) same++;
          else (same = 0), (last = s.scrollTop);
          if (same >= 10) resolve();
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    selector,
  );
}
