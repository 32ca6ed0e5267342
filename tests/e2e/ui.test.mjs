// The UI as a whole: axe-core finds no serious or critical violation on the login page, a chat
// (with a rendered assistant reply: markdown, a highlighted code block, a table, math), the
// assistant editor and the API keys page (with a new key's dialog), in the light and the dark
// theme; the theme chosen in Settings survives a reload and is applied before the app's script
// runs (no flash); a phone-sized viewport shows the chat with the sidebar drawer closed, and the
// drawer opens and closes (its buttons, Esc).
//
// With CHATD_UPDATE_SCREENSHOTS=1 it also writes docs/screenshots/chat.png (1280x800), the
// screenshot the README shows.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { ApiClient, SOURCE, launchBrowser, openConversation, seriousA11yViolations, signedInContext, startScriptedLlm, startStack, watchPage } from "./support.mjs";

// What the scripted model answers: the shapes a real model's answer has.
const REPLY = `Here is a small **binary search** in Python, with the idea in one line: halve the range until it is empty.

\`\`\`python
def search(items, target):
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo  # where target is, or would go
\`\`\`

| input size | steps (worst case) |
|---|---|
| 1,000 | 10 |
| 1,000,000 | 20 |

Each step halves the range, so it runs in \\(O(\\log n)\\) time:

$$T(n) = T(n/2) + O(1)$$

A million items take about twenty comparisons. See the [Python docs](https://docs.python.org/3/library/bisect.html) for \`bisect\`, which does this for you.`;

let stack, browser, llm, user, conv, assistant;
before(async () => {
  llm = await startScriptedLlm(() => REPLY);
  stack = await startStack({ env: { LLM_BASE_URL: llm.baseUrl, LLM_DEMO: "0" } });
  browser = await launchBrowser();
  user = await ApiClient.signup(stack, { displayName: "Ada" });
  assistant = await user.post("/assistants", { name: "Code helper", description: "Explains code", system_prompt: "You explain code briefly, with an example." }, { expect: 201 });
  await user.post(`/assistants/${assistant.id}/prompts`, { title: "Explain", content: "Explain this code step by step." }, { expect: 201 });
  await user.post(`/assistants/${assistant.id}/documents`, { filename: "notes.md", content: "# Notes\n\nBinary search halves the range.\n", content_type: "text/markdown" }, { expect: 201 });
  // A few other conversations, so the sidebar looks like a used one (one of them unread).
  const ben = await ApiClient.signup(stack, { displayName: "Ben" });
  const group = await user.post("/conversations", { kind: "group", title: "Release planning", member_ids: [ben.user.id] }, { expect: 201 });
  await user.post(`/conversations/${group.id}/messages`, { content: "Shall we ship on Friday?", client_message_id: "ui-g1" }, { expect: 201 });
  const direct = await user.post("/conversations", { kind: "direct", user_id: ben.user.id }, { expect: 201 });
  await ben.post(`/conversations/${direct.id}/messages`, { content: "Lunch at noon?", client_message_id: "ui-d1" }, { expect: 201 });
  await ben.post(`/conversations/${group.id}/messages`, { content: "Friday works for me, the changelog is ready.", client_message_id: "ui-g2" }, { expect: 201 });
  conv = await user.post("/conversations", { kind: "assistant", assistant_id: assistant.id }, { expect: 201 });
  // One turn through the real send path (the SSE reply is stored by the workers).
  await user.post(`/conversations/${conv.id}/messages`, { content: "How do I find an item in a sorted list quickly?", client_message_id: "ui-1" }, { expect: 201 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const items = (await user.get(`/conversations/${conv.id}/messages`)).items;
    if (items.some((m) => m.role === "assistant" && m.status === "complete")) break;
    if (Date.now() > deadline) throw new Error("the reply was never stored");
    await new Promise((r) => setTimeout(r, 100));
  }
});
after(async () => {
  await browser?.close();
  await stack?.close();
  await llm?.close();
});

// A context whose theme preference is `theme` before any page script runs.
async function themedContext(theme, { signedIn = true, viewport } = {}) {
  const context = signedIn ? await signedInContext(browser, user, { viewport }) : await browser.newContext({ viewport: viewport || { width: 1280, height: 800 } });
  await context.addInitScript(([t]) => {
    if (!localStorage.getItem("chatd.theme")) localStorage.setItem("chatd.theme", t);
  }, [theme]);
  return context;
}

const reply = (page) => page.locator("article.msg.assistant:not(.streaming)").first();

async function waitRenderedReply(page) {
  await reply(page).locator(".code-block pre code .hljs-keyword").first().waitFor();
  await reply(page).locator(".table-wrap table").waitFor();
  await reply(page).locator(".katex").first().waitFor();
}

describe("accessibility (axe-core: no serious or critical violation)", () => {
  for (const theme of ["light", "dark"]) {
    it(`the login page, ${theme}`, async () => {
      const context = await themedContext(theme, { signedIn: false });
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(stack.url + "/");
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      assert.equal(await page.locator("html").getAttribute("data-theme"), theme);
      assert.deepEqual(await seriousA11yViolations(page), []);
      // The sign-up form too, with a field error shown.
      await page.getByRole("button", { name: "Create an account" }).click();
      await page.getByRole("button", { name: "Create account" }).waitFor();
      assert.deepEqual(await seriousA11yViolations(page), []);
      assert.deepEqual(problems, []);
      await context.close();
    });

    it(`a chat with a rendered reply, ${theme}`, async () => {
      const context = await themedContext(theme);
      const page = await context.newPage();
      const problems = watchPage(page);
      await openConversation(page, stack, conv.id);
      await waitRenderedReply(page);
      await page.locator(".conv-list .conv-link").first().waitFor();
      assert.equal(await page.locator("html").getAttribute("data-theme"), theme);
      assert.deepEqual(await seriousA11yViolations(page), []);
      assert.deepEqual(problems, []);
      await context.close();
    });

    it(`the assistant editor, ${theme}`, async () => {
      const context = await themedContext(theme);
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${stack.url}/assistants/${assistant.id}`);
      await page.getByLabel("Name", { exact: true }).waitFor();
      await page.locator(".prompt").first().waitFor();
      await page.locator(".doc-name", { hasText: "notes.md" }).waitFor();
      assert.deepEqual(await seriousA11yViolations(page), []);
      assert.deepEqual(problems, []);
      await context.close();
    });

    it(`the API keys page and a new key's dialog, ${theme}`, async () => {
      await user.post("/keys", { name: `laptop (${theme})` }, { expect: 201 });
      const context = await themedContext(theme);
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${stack.url}/settings/keys`);
      await page.getByRole("rowheader", { name: `laptop (${theme})` }).waitFor();
      await page.getByRole("textbox", { name: "Name" }).fill(`editor (${theme})`);
      await page.getByRole("button", { name: "Create key" }).click();
      await page.getByRole("dialog", { name: "Your new API key" }).waitFor();
      assert.deepEqual(await seriousA11yViolations(page), []);
      await page.keyboard.press("Escape");
      await page.getByRole("rowheader", { name: `editor (${theme})` }).waitFor();
      assert.deepEqual(await seriousA11yViolations(page), []);
      assert.deepEqual(problems, []);
      await context.close();
    });
  }
});

describe("theme", () => {
  it("the choice made in Settings survives a reload, applied before the app script runs", async () => {
    // The system says light; the user picks dark.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
    const a = user.auth;
    await context.addInitScript(([v]) => {
      if (!localStorage.getItem("chatd.session")) localStorage.setItem("chatd.session", v);
      // What the document looks like when the parser is done, before deferred module scripts ran
      // their effects on the page (recorded once, at the first readystatechange: "interactive").
      document.addEventListener("readystatechange", () => {
        if (document.readyState === "interactive" && !window.__themeAtInteractive) window.__themeAtInteractive = document.documentElement.dataset.theme || "(none)";
      });
    }, [JSON.stringify({ user: a.user, access_token: a.access_token, refresh_token: a.refresh_token, access_expires_at: Date.now() + a.expires_in * 1000 })]);
    const page = await context.newPage();
    await page.goto(stack.url + "/settings");
    const dark = page.getByRole("radio", { name: "Dark" });
    await dark.check();
    assert.equal(await page.locator("html").getAttribute("data-theme"), "dark");

    // Reloaded with the app's script blocked: the theme (and its colours) still apply, so they
    // cannot have come from it — the page is dark from its first paint.
    await page.route(/\/assets\/app-[^/]*\.js$/, (route) => route.abort());
    await page.reload();
    await page.waitForFunction(() => document.readyState === "complete");
    assert.equal(await page.evaluate(() => window.__themeAtInteractive), "dark");
    assert.equal(await page.locator("html").getAttribute("data-theme"), "dark");
    assert.equal(await page.locator("#app .boot").count(), 1, "the app did not start (its script was blocked)");
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, "rgb(21, 23, 27)");

    // And with the app: Settings shows the remembered choice.
    await page.unroute(/\/assets\/app-[^/]*\.js$/);
    await page.reload();
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    assert.equal(await page.evaluate(() => window.__themeAtInteractive), "dark");
    assert.equal(await page.getByRole("radio", { name: "Dark" }).isChecked(), true);
    assert.equal(await page.locator("html").getAttribute("data-theme"), "dark");

    // "System" follows the browser's setting.
    await page.getByRole("radio", { name: "System" }).check();
    assert.equal(await page.locator("html").getAttribute("data-theme"), "light");
    await page.emulateMedia({ colorScheme: "dark" });
    await page.waitForFunction(() => document.documentElement.dataset.theme === "dark");
    await page.reload();
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    assert.equal(await page.evaluate(() => window.__themeAtInteractive), "dark");
    assert.equal(await page.getByRole("radio", { name: "System" }).isChecked(), true);
    await context.close();
  });
});

describe("a phone-sized screen", () => {
  it("shows the chat with the drawer closed; the drawer opens and closes", async () => {
    const context = await signedInContext(browser, user, { viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const problems = watchPage(page);
    await openConversation(page, stack, conv.id);
    await waitRenderedReply(page);
    const sidebar = page.getByRole("navigation", { name: "Conversations" });
    const composer = page.getByRole("textbox", { name: "Message" });
    assert.equal(await sidebar.isVisible(), false);
    assert.equal(await composer.isVisible(), true);
    // Nothing sticks out sideways: the page itself never scrolls horizontally.
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true);

    const toggle = page.locator(".chat-head").getByRole("button", { name: "Show conversations" });
    assert.equal(await toggle.getAttribute("aria-expanded"), "false");
    await toggle.click();
    await sidebar.waitFor({ state: "visible" });
    assert.equal(await toggle.getAttribute("aria-expanded"), "true");
    // Focus moves into the drawer; Esc closes it and focus goes back to the button.
    await page.waitForFunction(() => document.activeElement?.closest(".sidebar"));
    await page.keyboard.press("Escape");
    await sidebar.waitFor({ state: "hidden" });
    await page.waitForFunction(() => document.activeElement?.classList.contains("drawer-toggle"));
    assert.equal(await toggle.getAttribute("aria-expanded"), "false");

    // The close button inside the drawer, and a tap on the backdrop.
    await toggle.click();
    await sidebar.waitFor({ state: "visible" });
    await sidebar.getByRole("button", { name: "Close conversations" }).click();
    await sidebar.waitFor({ state: "hidden" });
    await toggle.click();
    await sidebar.waitFor({ state: "visible" });
    await page.mouse.click(380, 420);
    await sidebar.waitFor({ state: "hidden" });

    // Picking a conversation in the drawer closes it.
    await toggle.click();
    await sidebar.locator(`.conv[data-id="${conv.id}"] a`).click();
    await sidebar.waitFor({ state: "hidden" });
    assert.equal(await composer.isVisible(), true);
    assert.deepEqual(problems, []);
    await context.close();
  });
});

describe("screenshot", () => {
  it("a chat with a rendered reply at 1280x800 (written with CHATD_UPDATE_SCREENSHOTS=1)", async (t) => {
    const context = await themedContext("light");
    const page = await context.newPage();
    await openConversation(page, stack, conv.id);
    await waitRenderedReply(page);
    await page.locator(".conv-list .conv-link").first().waitFor();
    await page.locator(".usage-meter progress").waitFor();
    // The page settles: no caret blinking in the composer, the newest message in view.
    await page.locator(".composer-input").evaluate((n) => n.blur());
    await page.locator(".messages").evaluate((s) => (s.scrollTop = s.scrollHeight));
    const png = await page.screenshot({ type: "png" });
    assert.ok(png.length > 10_000);
    if (process.env.CHATD_UPDATE_SCREENSHOTS === "1") {
      const out = path.join(SOURCE, "docs", "screenshots", "chat.png");
      await mkdir(path.dirname(out), { recursive: true });
      await page.screenshot({ path: out, type: "png" });
      t.diagnostic(`wrote ${out}`);
    }
    await context.close();
  });
});
