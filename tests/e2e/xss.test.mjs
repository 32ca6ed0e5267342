// Hostile text never becomes live markup: script tags, onerror images, javascript: and data:
// links, SVG, markdown-embedded HTML — in user messages, assistant replies, titles, display names
// and document names. The contexts bypass the CSP on purpose, so this proves the sanitising
// itself (the CSP is a second wall, not the first).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiClient, launchBrowser, openConversation, startStack, uniqueName } from "./support.mjs";

const PAYLOADS = [
  "<script>window.__pwned='script'</script>",
  "<img src=x onerror=\"window.__pwned='img';alert(1)\">",
  "[click me](javascript:window.__pwned='jslink')",
  "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "<svg onload=\"window.__pwned='svg'\"><circle r=5 /></svg>",
  "<a href=\"javascript:alert(1)\">html link</a>",
  "<iframe src=\"javascript:alert(1)\"></iframe>",
  "**bold <img src=y onerror=alert(2)>** and `<b>code</b>`",
  "![img](javascript:alert(3))",
  "<details open ontoggle=\"window.__pwned='toggle'\">x</details>",
  "<math><mtext><table><mglyph><style><img src=z onerror=alert(4)>",
  "$$\\href{javascript:alert(5)}{x}$$",
];

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

async function hostileContext(client) {
  const context = await browser.newContext({ bypassCSP: true });
  const a = client.auth;
  await context.addInitScript(
    ([v]) => {
      if (!localStorage.getItem("chatd.session")) localStorage.setItem("chatd.session", v);
    },
    [JSON.stringify({ user: a.user, access_token: a.access_token, refresh_token: a.refresh_token, access_expires_at: Date.now() + a.expires_in * 1000 })],
  );
  return context;
}

function watch(page) {
  const seen = [];
  page.on("dialog", async (d) => {
    seen.push(d.message());
    await d.dismiss();
  });
  return seen;
}

async function assertInert(page, dialogs) {
  // Give any handler a chance to fire: hover and click everything rendered from the payloads.
  for (const a of await page.locator(".markdown a").all()) {
    await a.click({ modifiers: ["Control"], force: true, noWaitAfter: true }).catch(() => {});
  }
  const state = await page.evaluate(() => ({
    pwned: window.__pwned ?? null,
    scripts: document.querySelectorAll(".markdown script, .conv-list script, .chat-head script").length,
    imgs: document.querySelectorAll(".markdown img, .conv-list img").length,
    svgOnload: [...document.querySelectorAll("svg")].filter((s) => s.hasAttribute("onload")).length,
    handlers: [...document.querySelectorAll("#app *")].filter((n) => [...n.attributes].some((a) => a.name.startsWith("on"))).length,
    badLinks: [...document.querySelectorAll("a[href]")].filter((a) => /^\s*(javascript|data|vbscript):/i.test(a.getAttribute("href"))).length,
    iframes: document.querySelectorAll("iframe, object, embed").length,
  }));
  assert.deepEqual(state, { pwned: null, scripts: 0, imgs: 0, svgOnload: 0, handlers: 0, badLinks: 0, iframes: 0 });
  assert.deepEqual(dialogs, []);
}

describe("hostile content", () => {
  it("in a group: messages, title and display names stay text", async () => {
    const mallory = await ApiClient.signup(stack, { displayName: "<img src=x onerror=alert(9)>" });
    const victim = await ApiClient.signup(stack, { displayName: "Victim" });
    const group = await mallory.post("/conversations", { kind: "group", title: "<script>alert('title')</script><b>t</b>", member_ids: [victim.user.id] }, { expect: 201 });
    for (const p of PAYLOADS) await mallory.post(`/conversations/${group.id}/messages`, { content: p }, { expect: 201 });
    const context = await hostileContext(victim);
    const page = await context.newPage();
    const dialogs = watch(page);
    await openConversation(page, stack, group.id);
    await page.locator("article.msg").nth(PAYLOADS.length - 1).waitFor();
    // The markup is shown as text, e.g. the raw <script> tag and the title.
    await page.locator(".msg-body", { hasText: "<script>window.__pwned='script'</script>" }).waitFor();
    await page.getByRole("heading", { level: 1, name: "<script>alert('title')</script><b>t</b>" }).waitFor();
    await page.locator(".msg-meta .who", { hasText: "<img src=x onerror=alert(9)>" }).first().waitFor();
    await assertInert(page, dialogs);
    await context.close();
  });

  it("in assistant replies and document names", async () => {
    const user = await ApiClient.signup(stack, { displayName: "Doc Owner" });
    const assistant = await user.post("/assistants", { name: "Echo<img src=q onerror=alert(7)>" }, { expect: 201 });
    const filename = `<svg onload=alert(8)>${uniqueName("f")}.md`;
    await user.post(`/assistants/${assistant.id}/documents`, { filename, content: "KNOWLEDGE: pineapple facts <img src=k onerror=alert(6)>\n", content_type: "text/markdown" }, { expect: 201 });
    const conv = await user.post("/conversations", { kind: "assistant", assistant_id: assistant.id }, { expect: 201 });
    const context = await hostileContext(user);
    const page = await context.newPage();
    const dialogs = watch(page);
    await openConversation(page, stack, conv.id);
    // The fake echoes the message, so the reply carries the payloads back as model output.
    for (const p of PAYLOADS.slice(0, 6)) {
      const box = page.getByRole("textbox", { name: "Message" });
      await box.fill(`pineapple ${p}`);
      await box.press("Enter");
      await page.locator("article.msg.assistant:not(.streaming)").nth(PAYLOADS.slice(0, 6).indexOf(p)).waitFor();
    }
    await page.locator("article.msg.assistant .sources").first().click();
    await page.locator(".src-name", { hasText: filename }).first().waitFor();
    await assertInert(page, dialogs);
    await page.goto(`${stack.url}/assistants/${assistant.id}`);
    await page.locator(".doc-name", { hasText: filename }).waitFor();
    await assertInert(page, dialogs);
    await context.close();
  });
});
