// People chatting live: a direct chat and a group between two users in two browser contexts,
// each seeing the other's messages and typing as they happen; a removed member stops seeing the
// group at once.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiClient, launchBrowser, signedInContext, startStack, watchPage } from "./support.mjs";

let stack, browser, alice, bob, pa, pb, ctxA, ctxB;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  alice = await ApiClient.signup(stack, { displayName: "Alice" });
  bob = await ApiClient.signup(stack, { displayName: "Bob" });
  ctxA = await signedInContext(browser, alice);
  ctxB = await signedInContext(browser, bob);
  pa = await ctxA.newPage();
  pb = await ctxB.newPage();
  await pa.goto(stack.url + "/");
  await pb.goto(stack.url + "/");
  await pa.getByRole("heading", { name: "Hi Alice" }).waitFor();
  await pb.getByRole("heading", { name: "Hi Bob" }).waitFor();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

const sidebarItem = (page, title) => page.locator("nav.sidebar .conv-link", { has: page.locator(".conv-title", { hasText: title }) });

async function say(page, text) {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
}

describe("people", () => {
  it("a direct chat: messages and typing both ways, live", async () => {
    const problemsA = watchPage(pa);
    await pa.locator(".side-actions").getByRole("button", { name: "New direct chat" }).click();
    await pa.getByRole("searchbox", { name: "Find a person" }).fill(bob.user.username);
    await pa.getByRole("button", { name: new RegExp(`Bob.*@${bob.user.username}`) }).click();
    await pa.locator("section.chat").waitFor();
    await pa.getByRole("heading", { name: "Bob", level: 1 }).waitFor();

    // Bob has not opened anything: the conversation appears in his sidebar when Alice writes.
    await pa.getByRole("textbox", { name: "Message" }).pressSequentially("Hi Bo");
    await say(pa, "Hi Bob!");
    await sidebarItem(pb, "Alice").waitFor();
    await pb.locator("nav.sidebar .conv.unread").waitFor(); // unread until opened
    await sidebarItem(pb, "Alice").click();
    await pb.locator("article.msg .msg-body", { hasText: "Hi Bob!" }).waitFor();
    assert.equal(await pb.locator("nav.sidebar .conv.unread").count(), 0);

    // Typing shows on the other side, then the message arrives.
    await pb.getByRole("textbox", { name: "Message" }).pressSequentially("Hello Al");
    await pa.getByText("Bob is typing…").waitFor();
    await say(pb, "Hello Alice");
    await pa.locator("article.msg .msg-body", { hasText: "Hello Alice" }).waitFor();
    await pa.getByText("Bob is typing…").waitFor({ state: "hidden" });
    await say(pa, "**bold** move");
    await pb.locator("article.msg .msg-body strong", { hasText: "bold" }).waitFor();
    assert.deepEqual(problemsA, []);
  });

  it("a group: created live for members, messages both ways, a removed member loses it", async () => {
    await pa.locator(".side-actions").getByRole("button", { name: "New group" }).click();
    const dialog = pa.getByRole("dialog", { name: "New group" });
    await dialog.getByLabel("Title").fill("Weekend plans");
    await dialog.getByRole("searchbox", { name: "Add members" }).fill(bob.user.username);
    await dialog.getByRole("button", { name: new RegExp(`@${bob.user.username}`) }).click();
    await dialog.getByRole("button", { name: "Create group" }).click();
    await pa.getByRole("heading", { name: "Weekend plans", level: 1 }).waitFor();

    await sidebarItem(pb, "Weekend plans").waitFor(); // conversation.created, live
    await sidebarItem(pb, "Weekend plans").click();
    await pb.getByRole("heading", { name: "Weekend plans", level: 1 }).waitFor();
    await say(pb, "count me in");
    await pa.locator("article.msg .msg-body", { hasText: "count me in" }).waitFor();
    await say(pa, "great");
    await pb.locator("article.msg .msg-body", { hasText: "great" }).waitFor();

    // A rename shows everywhere.
    await pa.locator(".chat-head").getByRole("button", { name: "Conversation actions" }).click();
    await pa.getByRole("menuitem", { name: "Rename…" }).click();
    await pa.getByRole("dialog", { name: "Rename conversation" }).getByLabel("Title").fill("Weekend trip");
    await pa.getByRole("dialog", { name: "Rename conversation" }).getByRole("button", { name: "Save" }).click();
    await pb.getByRole("heading", { name: "Weekend trip", level: 1 }).waitFor();

    // Alice removes Bob: his view leaves the group and his sidebar drops it.
    await pa.locator(".chat-head").getByRole("button", { name: "Conversation actions" }).click();
    await pa.getByRole("menuitem", { name: "Members…" }).click();
    await pa.getByRole("button", { name: "Remove Bob" }).click();
    await pa.getByRole("dialog", { name: "Members" }).getByRole("button", { name: "Remove Bob" }).waitFor({ state: "detached" });
    await pa.keyboard.press("Escape");
    await pb.getByText("You are no longer a member of this conversation.").waitFor();
    await sidebarItem(pb, "Weekend trip").waitFor({ state: "detached" });
    assert.equal(await pb.locator("section.chat").count(), 0);
    // Messages sent after the removal never reach him.
    await say(pa, "secret after removal");
    await pa.locator("article.msg .msg-body", { hasText: "secret after removal" }).waitFor();
    const list = await bob.get("/conversations");
    assert.ok(!list.items.some((c) => c.title === "Weekend trip"));
    assert.equal(await pb.getByText("secret after removal").count(), 0);
  });
});
