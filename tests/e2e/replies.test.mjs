// Assistant replies in the browser: streamed progressively then stored; Stop from a second device;
// Regenerate; a reload mid-reply continues live with the Stop button back; scrolling up during a
// stream stops following and "Jump to latest" resumes it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiClient, launchBrowser, messageBody, openConversation, scrollSettled, signedInContext, startStack, watchPage } from "./support.mjs";

let stack, browser, user, conv;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  user = await ApiClient.signup(stack, { displayName: "Replier" });
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

async function newChat() {
  return user.post("/conversations", { kind: "assistant" }, { expect: 201 });
}

async function send(page, text) {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
}

const streamingBody = (page) => page.locator("article.msg.assistant.streaming .msg-body");

describe("assistant replies", () => {
  it("streams a reply progressively, then shows it stored", async () => {
    conv = await newChat();
    const context = await signedInContext(browser, user);
    const page = await context.newPage();
    const problems = watchPage(page);
    await openConversation(page, stack, conv.id);
    await send(page, "tell me a story [[fake:tokens=120,interval_ms=25]]");
    // Part of the reply is on the page while it is still streaming…
    await page.waitForFunction(() => {
      const b = document.querySelector("article.msg.assistant.streaming .msg-body");
      return b && b.textContent.includes("lorem");
    });
    assert.equal(await page.locator("article.msg.assistant.streaming .badge.live").count(), 1);
    assert.equal(await page.locator(".messages").getAttribute("aria-busy"), "true");
    // …then it ends, and what is shown is what was stored.
    const done = page.locator("article.msg.assistant:not(.streaming)");
    await done.waitFor();
    const stored = (await user.get(`/conversations/${conv.id}/messages`)).items.find((m) => m.role === "assistant");
    assert.equal(stored.status, "complete");
    const shown = await messageBody(page, stored.id).innerText();
    assert.equal(shown.replace(/\s+/g, " ").trim(), stored.content.replace(/\s+/g, " ").trim());
    assert.equal(await page.getByRole("button", { name: "Stop" }).isVisible(), false);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("Stop from a second device stops the reply on the first", async () => {
    const c = await newChat();
    const second = await ApiClient.login(stack, user.user.username);
    const ctxA = await signedInContext(browser, user);
    const ctxB = await signedInContext(browser, second);
    const a = await ctxA.newPage();
    const b = await ctxB.newPage();
    await openConversation(a, stack, c.id);
    await openConversation(b, stack, c.id);
    await send(a, "a long one [[fake:tokens=2000,interval_ms=20]]");
    // The other device follows the reply live, and offers Stop.
    await b.waitForFunction(() => (document.querySelector("article.msg.assistant.streaming .msg-body")?.textContent || "").length > 20);
    await b.getByRole("button", { name: "Stop" }).click();
    await a.locator("article.msg.assistant .badge", { hasText: "Stopped" }).waitFor();
    await b.locator("article.msg.assistant .badge", { hasText: "Stopped" }).waitFor();
    assert.equal(await a.getByRole("button", { name: "Stop" }).isVisible(), false);
    const reply = (await user.get(`/conversations/${c.id}/messages`)).items.find((m) => m.role === "assistant");
    assert.equal(reply.status, "interrupted");
    // An interrupted reply offers a retry, which answers again.
    await a.locator(`article.msg[data-id="${reply.id}"]`).getByRole("button", { name: "Retry" }).click();
    await a.locator("article.msg.assistant").nth(1).waitFor();
    await a.getByRole("button", { name: "Stop" }).click();
    await a.locator("article.msg.assistant .badge", { hasText: "Stopped" }).nth(1).waitFor();
    await ctxA.close();
    await ctxB.close();
  });

  it("Regenerate adds a new reply to the same message", async () => {
    const context = await signedInContext(browser, user);
    const page = await context.newPage();
    await openConversation(page, stack, conv.id);
    await page.locator("article.msg.assistant:not(.streaming)").first().waitFor();
    await page.getByRole("button", { name: "Regenerate" }).click();
    await page.locator("article.msg.assistant").nth(1).waitFor();
    await page.locator("article.msg.assistant:not(.streaming)").nth(1).waitFor();
    const items = (await user.get(`/conversations/${conv.id}/messages`)).items;
    assert.equal(items.filter((m) => m.role === "assistant").length, 2);
    assert.ok(items.every((m) => m.status === "complete"));
    await context.close();
  });

  it("a reload mid-reply shows the text so far, continues live and brings Stop back", async () => {
    const c = await newChat();
    const context = await signedInContext(browser, user);
    const page = await context.newPage();
    await openConversation(page, stack, c.id);
    await send(page, "keep going [[fake:tokens=260,interval_ms=30]]");
    await page.waitForFunction(() => (document.querySelector("article.msg.assistant.streaming .msg-body")?.textContent || "").length > 40);
    await page.reload();
    await page.locator("section.chat").waitFor();
    await streamingBody(page).waitFor();
    await page.getByRole("button", { name: "Stop" }).waitFor();
    const before = (await streamingBody(page).innerText()).length;
    // It keeps growing live (deltas over /ws), then completes with exactly the stored text.
    await page.waitForFunction((n) => (document.querySelector("article.msg.assistant.streaming .msg-body")?.textContent || "").length > n + 20, before);
    await page.locator("article.msg.assistant:not(.streaming)").waitFor({ timeout: 60_000 });
    const reply = (await user.get(`/conversations/${c.id}/messages`)).items.find((m) => m.role === "assistant");
    assert.equal(reply.status, "complete");
    const shown = await messageBody(page, reply.id).innerText();
    assert.equal(shown.replace(/\s+/g, " ").trim(), reply.content.replace(/\s+/g, " ").trim());
    assert.equal(await page.getByRole("button", { name: "Stop" }).isVisible(), false);
    await context.close();
  });

  it("scrolling up during a stream stops following; Jump to latest resumes it", async () => {
    const c = await newChat();
    const context = await signedInContext(browser, user, { viewport: { width: 900, height: 600 } });
    const page = await context.newPage();
    await openConversation(page, stack, c.id);
    await send(page, "fill the screen [[fake:tokens=3000,interval_ms=8]]");
    const scroller = page.locator(".messages");
    // Following: the reply outgrows the view and the view stays at the bottom.
    await page.waitForFunction(() => {
      const s = document.querySelector(".messages");
      return s.scrollHeight > s.clientHeight * 2 && s.scrollHeight - s.scrollTop - s.clientHeight < 8;
    });
    await scroller.hover();
    await page.mouse.wheel(0, -400);
    await page.waitForFunction(() => document.querySelector(".messages").scrollHeight - document.querySelector(".messages").scrollTop - document.querySelector(".messages").clientHeight > 100);
    await scrollSettled(page); // the wheel's smooth scroll has ended: the reader's place
    const top = await scroller.evaluate((s) => s.scrollTop);
    const len = await streamingBody(page).evaluate((b) => b.textContent.length);
    // The reply goes on growing; the reader's place does not move.
    await page.waitForFunction((n) => (document.querySelector("article.msg.assistant.streaming .msg-body")?.textContent || "").length > n + 300, len);
    assert.equal(await scroller.evaluate((s) => s.scrollTop), top);
    const jump = page.getByRole("button", { name: "Jump to latest" });
    await jump.waitFor();
    await jump.click();
    const len2 = await streamingBody(page).evaluate((b) => b.textContent.length);
    await page.waitForFunction((n) => {
      const s = document.querySelector(".messages");
      const b = document.querySelector("article.msg.assistant.streaming .msg-body");
      return b && b.textContent.length > n + 300 && s.scrollHeight - s.scrollTop - s.clientHeight < 8;
    }, len2);
    assert.equal(await jump.isVisible(), false);
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator("article.msg.assistant .badge", { hasText: "Stopped" }).waitFor();
    await context.close();
  });
});
