// Share links: the owner makes one from the conversation menu (Share… → Create link, Copy), and
// anyone opens it without an account: the title, when it was shared and the messages with their
// senders, markdown rendered and sanitised as in the chat, no composer or sidebar, noindex. It
// is a snapshot (a later message is not in it), asks for nothing but the public endpoint even in
// a signed-in browser, and once revoked it says it was removed. Members who are not the owner
// are not offered it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiClient, launchBrowser, openConversation, seriousA11yViolations, signedInContext, startStack, watchPage } from "./support.mjs";

const HOSTILE = "<img src=x onerror=alert(1)> is what I typed";

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

// A failed load is logged by the browser itself ("Failed to load resource: … 404"): expected on
// a removed link's page, and nothing the page did.
const unexpected = (problems) => problems.filter((p) => !/Failed to load resource: the server responded with a status of 404/.test(p));

describe("share links", () => {
  it("shares a snapshot of the conversation that anyone can open until it is revoked", async () => {
    const alice = await ApiClient.signup(stack, { displayName: "Alice" });
    const assistant = await alice.post("/assistants", { name: "Trip planner", description: "Plans trips" }, { expect: 201 });
    const conv = await alice.post("/conversations", { kind: "assistant", assistant_id: assistant.id }, { expect: 201 });
    await alice.patch(`/conversations/${conv.id}`, { title: "Weekend in the hills" });
    const context = await signedInContext(browser, alice);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.url });
    const page = await context.newPage();
    const problems = watchPage(page);
    await openConversation(page, stack, conv.id);

    // Two turns through the composer (the demo model answers each).
    const replies = page.locator("article.msg.assistant:not(.streaming)");
    const send = async (text, n) => {
      const box = page.getByRole("textbox", { name: "Message" });
      await box.fill(text);
      await box.press("Enter");
      await replies.nth(n).waitFor();
    };
    await send("Pack the **bold** boots", 0);
    await send(HOSTILE, 1);

    // Menu → Share… → Create link.
    const openShare = async () => {
      await page.locator("section.chat").getByRole("button", { name: "Conversation actions" }).click();
      await page.getByRole("menuitem", { name: "Share…" }).click();
      const dialog = page.getByRole("dialog", { name: "Share conversation" });
      await dialog.getByText("Anyone with the link can see the messages as they are now; later messages are not shared.").waitFor();
      return dialog;
    };
    let dialog = await openShare();
    await dialog.getByText("No links yet.").waitFor();
    await dialog.getByRole("button", { name: "Create link" }).click();
    const link = dialog.locator(".share .share-url");
    await link.waitFor();
    const url = (await link.textContent()).trim();
    assert.match(url, new RegExp(`^${stack.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/s/[A-Za-z0-9_-]{43}$`));
    assert.equal(await link.getAttribute("href"), url);
    await dialog.locator(".share .share-meta", { hasText: "4 messages" }).waitFor();
    await dialog.getByRole("button", { name: /^Copy/ }).click();
    await dialog.getByText("Copied", { exact: true }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "detached" });

    // A browser with no session opens it.
    const anon = await browser.newContext();
    const shared = await anon.newPage();
    const sharedProblems = watchPage(shared);
    await shared.goto(url);
    await shared.getByRole("heading", { level: 1, name: "Weekend in the hills" }).waitFor();
    assert.equal(new URL(shared.url()).pathname, new URL(url).pathname); // not sent to the login page
    await shared.getByText(/^Shared on /).waitFor();
    const messages = shared.locator("article.msg");
    assert.equal(await messages.count(), 4);
    assert.deepEqual(await shared.locator("article.msg .msg-meta .who").allTextContents(), ["Alice", "Trip planner", "Alice", "Trip planner"]);
    assert.equal(await shared.locator("article.msg.user").first().locator(".msg-body strong").textContent(), "bold");
    // The markup someone typed is text: no image, no handler, no alert.
    await shared.locator("article.msg.user .msg-body", { hasText: HOSTILE }).waitFor();
    const inert = await shared.evaluate(() => ({
      imgs: document.querySelectorAll("#app img").length,
      handlers: [...document.querySelectorAll("#app *")].filter((n) => [...n.attributes].some((a) => a.name.startsWith("on"))).length,
    }));
    assert.deepEqual(inert, { imgs: 0, handlers: 0 });
    // Read-only and standalone: no composer, no sidebar; a way to the app; not indexed.
    assert.equal(await shared.locator("textarea, .composer, .sidebar").count(), 0);
    assert.equal(await shared.getByRole("link", { name: "Open chatd" }).getAttribute("href"), "/");
    assert.equal(await shared.locator('head meta[name="robots"]').getAttribute("content"), "noindex");
    assert.deepEqual(await seriousA11yViolations(shared), []);

    // Signed in, the same page: only the public endpoint is asked, without the user's token.
    const own = await context.newPage();
    const ownProblems = watchPage(own);
    const calls = [];
    own.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/api/")) calls.push({ path: new URL(r.url()).pathname, auth: r.headers().authorization ?? null });
    });
    await own.goto(url);
    await own.getByRole("heading", { level: 1, name: "Weekend in the hills" }).waitFor();
    assert.equal(await own.locator("article.msg").count(), 4);
    assert.equal(await own.locator(".sidebar, .composer").count(), 0);
    assert.deepEqual(calls, [{ path: `/api/v1/shared/${new URL(url).pathname.split("/").pop()}`, auth: null }]);
    await own.close();

    // A later message is not in the snapshot.
    await send("This came later", 2);
    await shared.reload();
    await shared.getByRole("heading", { level: 1, name: "Weekend in the hills" }).waitFor();
    assert.equal(await messages.count(), 4);
    assert.equal(await shared.getByText("This came later").count(), 0);

    // Revoked from the dialog, the link says it is gone.
    dialog = await openShare();
    await dialog.locator(".share .share-url", { hasText: url }).waitFor();
    await dialog.getByRole("button", { name: /^Revoke/ }).click();
    const confirm = page.getByRole("dialog", { name: "Revoke this link?" });
    await confirm.getByRole("button", { name: "Revoke link" }).click();
    await dialog.getByText("No links yet.").waitFor();
    assert.equal(await dialog.locator(".share").count(), 0);
    await dialog.getByRole("button", { name: "Close" }).click();
    await shared.reload();
    await shared.getByText("This link was removed or never existed.").waitFor();
    assert.equal(await shared.locator("article.msg").count(), 0);
    assert.equal(new URL(shared.url()).pathname, new URL(url).pathname);

    assert.deepEqual(problems, []);
    assert.deepEqual(ownProblems, []);
    assert.deepEqual(unexpected(sharedProblems), []);
    await anon.close();
    await context.close();
  });

  it("is not offered to a member who does not own the conversation", async () => {
    const owner = await ApiClient.signup(stack, { displayName: "Olga" });
    const member = await ApiClient.signup(stack, { displayName: "Max" });
    const group = await owner.post("/conversations", { kind: "group", title: "Book club", member_ids: [member.user.id] }, { expect: 201 });
    const check = async (client, offered) => {
      const context = await signedInContext(browser, client);
      const page = await context.newPage();
      const problems = watchPage(page);
      await openConversation(page, stack, group.id);
      await page.locator("section.chat").getByRole("button", { name: "Conversation actions" }).click();
      await page.getByRole("menuitem", { name: "Export as JSON" }).waitFor();
      assert.equal(await page.getByRole("menuitem", { name: "Share…" }).count(), offered ? 1 : 0);
      assert.deepEqual(problems, []);
      await context.close();
    };
    await check(owner, true);
    await check(member, false);
  });
});
