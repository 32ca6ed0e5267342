// Export from the conversation menu: Markdown and JSON files downloaded with the user's own
// authorization, holding what the conversation shows.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { ApiClient, launchBrowser, openConversation, signedInContext, startStack, watchPage } from "./support.mjs";

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

describe("export", () => {
  it("downloads the conversation as Markdown and as JSON from its menu", async () => {
    const alice = await ApiClient.signup(stack, { displayName: "Alice" });
    const bob = await ApiClient.signup(stack, { displayName: "Bob" });
    const conv = await alice.post("/conversations", { kind: "direct", user_id: bob.user.id }, { expect: 201 });
    await alice.post(`/conversations/${conv.id}/messages`, { content: "The plan is **ready**" }, { expect: 201 });
    await bob.post(`/conversations/${conv.id}/messages`, { content: "Ship it <b>now</b>" }, { expect: 201 });
    const context = await signedInContext(browser, alice);
    const page = await context.newPage();
    const problems = watchPage(page);
    await openConversation(page, stack, conv.id);
    await page.locator("article.msg", { hasText: "Ship it" }).waitFor();

    const grab = async (label) => {
      await page.locator("section.chat").getByRole("button", { name: "Conversation actions" }).click();
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("menuitem", { name: label }).click()]);
      return { name: download.suggestedFilename(), text: await readFile(await download.path(), "utf8") };
    };
    const md = await grab("Export as Markdown");
    assert.equal(md.name, "chatd-conversation-with-bob.md");
    assert.ok(md.text.startsWith("# Conversation with Bob"), md.text.slice(0, 60));
    assert.ok(md.text.indexOf("The plan is **ready**") < md.text.indexOf("Ship it <b>now</b>"));

    const js = await grab("Export as JSON");
    assert.equal(js.name, "chatd-conversation-with-bob.json");
    const data = JSON.parse(js.text);
    assert.equal(data.schema, "chatd.conversation");
    assert.deepEqual(data.messages.map((m) => m.content), ["The plan is **ready**", "Ship it <b>now</b>"]);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
