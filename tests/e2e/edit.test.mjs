// Editing a message in place: in a group, Ann edits her own message from its Edit action (reached
// with the keyboard; Escape cancels, an empty text is refused, Shift+Enter is a new line, Enter
// saves). Her view shows the new text, rendered, with an "(edited)" mark whose tooltip is the
// edit's time; Ben's open page shows the same at once (message.updated over /ws, no reload), and
// offers no Edit on Ann's message, only on his own; the mark is still there after a reload. An
// assistant conversation offers no Edit at all.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiClient, launchBrowser, messageBody, openConversation, seriousA11yViolations, signedInContext, startStack, watchPage } from "./support.mjs";

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

describe("editing a message", () => {
  it("lets the sender edit their message in a group, live for every member", async () => {
    const ann = await ApiClient.signup(stack, { displayName: "Ann" });
    const ben = await ApiClient.signup(stack, { displayName: "Ben" });
    const group = await ann.post("/conversations", { kind: "group", title: "Weekend plans", member_ids: [ben.user.id] }, { expect: 201 });
    const mine = (await ann.post(`/conversations/${group.id}/messages`, { content: "See you at 10", client_message_id: "edit-1" }, { expect: 201 })).message;
    const his = (await ben.post(`/conversations/${group.id}/messages`, { content: "Sounds good", client_message_id: "edit-2" }, { expect: 201 })).message;
    assert.equal(mine.edited_at, null);

    const open = async (client) => {
      const context = await signedInContext(browser, client);
      const page = await context.newPage();
      const problems = watchPage(page);
      await openConversation(page, stack, group.id);
      await messageBody(page, his.id).waitFor();
      return { context, page, problems };
    };
    const a = await open(ann);
    const b = await open(ben);
    const msgA = a.page.locator(`article.msg[data-id="${mine.id}"]`);
    const msgB = b.page.locator(`article.msg[data-id="${mine.id}"]`);

    // Edit is offered on one's own messages only.
    assert.equal(await a.page.locator(`article.msg[data-id="${his.id}"]`).getByRole("button", { name: "Edit" }).count(), 0);
    assert.equal(await msgB.getByRole("button", { name: "Edit" }).count(), 0);
    await b.page.locator(`article.msg[data-id="${his.id}"]`).getByRole("button", { name: "Edit" }).waitFor();

    // From the keyboard: the editor opens with the text, Escape leaves it as it was.
    const edit = msgA.getByRole("button", { name: "Edit" });
    await edit.focus();
    await a.page.keyboard.press("Enter");
    const box = msgA.getByRole("textbox", { name: "Edit message" });
    await box.waitFor();
    assert.equal(await box.inputValue(), "See you at 10");
    assert.equal(await box.evaluate((n) => n === document.activeElement), true);
    assert.deepEqual(await seriousA11yViolations(a.page), []);
    await a.page.keyboard.press("Escape");
    await box.waitFor({ state: "detached" });
    assert.equal(await a.page.locator("section.chat").count(), 1); // Escape did not leave the chat
    assert.equal((await messageBody(a.page, mine.id).textContent()).trim(), "See you at 10");
    assert.equal(await edit.evaluate((n) => n === document.activeElement), true);

    // An empty text is refused as a send would be, and the editor stays open.
    await a.page.keyboard.press("Enter");
    await box.fill("   ");
    await box.press("Enter");
    await msgA.getByRole("alert").filter({ hasText: "A message can't be empty." }).waitFor();
    assert.equal(await box.isVisible(), true);

    // Shift+Enter is a new line, Enter saves.
    await box.fill("See you at **11**");
    await box.press("Shift+Enter");
    await box.pressSequentially("Bring snacks");
    assert.equal(await box.inputValue(), "See you at **11**\nBring snacks");
    await box.press("Enter");
    await box.waitFor({ state: "detached" });
    await messageBody(a.page, mine.id).getByText("Bring snacks").waitFor();
    assert.equal(await messageBody(a.page, mine.id).locator("strong").textContent(), "11");
    const markA = msgA.locator(".msg-meta .edited");
    assert.equal(await markA.textContent(), "(edited)");
    assert.match(await markA.getAttribute("title"), /^Edited .+/);
    assert.equal(await edit.evaluate((n) => n === document.activeElement), true);

    // Stored, with the edit's time.
    const stored = (await ann.get(`/conversations/${group.id}/messages`)).items.find((m) => m.id === mine.id);
    assert.equal(stored.content, "See you at **11**\nBring snacks");
    assert.ok(stored.edited_at && !Number.isNaN(Date.parse(stored.edited_at)), stored.edited_at);
    assert.equal(await markA.getAttribute("datetime"), stored.edited_at);

    // Ben's open page: the new text and the mark, live; still no Edit on Ann's message.
    await messageBody(b.page, mine.id).getByText("Bring snacks").waitFor();
    assert.equal(await messageBody(b.page, mine.id).locator("strong").textContent(), "11");
    await msgB.locator(".msg-meta .edited", { hasText: "(edited)" }).waitFor();
    assert.equal(await msgB.getByRole("button", { name: "Edit" }).count(), 0);
    assert.equal(await b.page.getByText("See you at 10").count(), 0);

    // After a reload the mark is still there; the unedited message has none.
    await a.page.reload();
    await messageBody(a.page, mine.id).getByText("Bring snacks").waitFor();
    await msgA.locator(".msg-meta .edited").waitFor();
    assert.equal(await a.page.locator(`article.msg[data-id="${his.id}"] .edited`).count(), 0);

    assert.deepEqual(a.problems, []);
    assert.deepEqual(b.problems, []);
    await a.context.close();
    await b.context.close();
  });

  it("offers no Edit in an assistant conversation", async () => {
    const ann = await ApiClient.signup(stack, { displayName: "Ann" });
    const assistant = await ann.post("/assistants", { name: "Helper", description: "Helps" }, { expect: 201 });
    const conv = await ann.post("/conversations", { kind: "assistant", assistant_id: assistant.id }, { expect: 201 });
    const context = await signedInContext(browser, ann);
    const page = await context.newPage();
    const problems = watchPage(page);
    await openConversation(page, stack, conv.id);
    const box = page.getByRole("textbox", { name: "Message" });
    await box.fill("Plan my weekend");
    await box.press("Enter");
    await page.locator("article.msg.assistant:not(.streaming)").waitFor();
    await page.locator("article.msg.user.mine:not(.pending)", { hasText: "Plan my weekend" }).waitFor();
    assert.equal(await page.locator("section.chat").getByRole("button", { name: "Edit" }).count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
