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
