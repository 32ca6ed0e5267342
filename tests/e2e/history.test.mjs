// A long conversation: 2,000 messages open at the newest page, and older pages load on scroll-up
// without the first visible message moving.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openConversation, scrollSettled as settled, seedConversation, signedInContext, startStack } from "./support.mjs";

let stack, browser, seeded;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  seeded = await seedConversation(stack, 2000);
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

describe("history", () => {
  it("opens a 2,000-message conversation at the newest and loads older pages in place", async () => {
    const context = await signedInContext(browser, seeded.a);
    const page = await context.newPage();
    await openConversation(page, stack, seeded.conv.id);
    await page.locator('article.msg[data-seq="2000"]').waitFor();
    const scroller = page.locator(".messages");
    // At the bottom, with only the newest page in the DOM.
    assert.ok(await scroller.evaluate((s) => s.scrollHeight - s.scrollTop - s.clientHeight < 8));
    const loaded = await page.locator("article.msg").count();
    assert.ok(loaded <= 100, `rendered ${loaded} messages at first`);

    // A person's first wheel turn upwards: the view stops following the newest message.
    await scroller.hover();
    await page.mouse.wheel(0, -50);
    await settled(page);
    for (let round = 0; round < 3; round++) {
      const before = await page.locator("article.msg").count();
      // The reader goes to the top (at once, as a drag of the scrollbar does: a wheel's smooth
      // scroll would still be moving while the test measures) and the first message on screen is
      // noted in the same task, before the older page can arrive: it must stay exactly where it
      // is on screen while that page goes in above it.
      const anchor = await scroller.evaluate((s) => {
        s.scrollTo({ top: 0, behavior: "instant" });
        const top = s.getBoundingClientRect().top;
        const first = [...s.querySelectorAll("article.msg")].find((n) => n.getBoundingClientRect().bottom > top);
        return { seq: first.dataset.seq, top: first.getBoundingClientRect().top };
      });
      await page.waitForFunction((n) => document.querySelectorAll("article.msg").length > n, before);
      await page.waitForFunction(() => !document.querySelector(".history-status")?.textContent.includes("Loading"));
      const after = await page.locator(`article.msg[data-seq="${anchor.seq}"]`).evaluate((n) => n.getBoundingClientRect().top);
      assert.ok(Math.abs(after - anchor.top) <= 1, `message ${anchor.seq} moved from ${anchor.top} to ${after}`);
    }
    // The order is the conversation's order, with no gaps or repeats.
    const seqs = await page.locator("article.msg").evaluateAll((ns) => ns.map((n) => Number(n.dataset.seq)));
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1);
    assert.equal(seqs.at(-1), 2000);
    await context.close();
  });
});
