// Accounts in the browser: sign up, log out, log in; a guest who upgrades keeps its conversation;
// a session ended elsewhere shows a clear screen; two tabs refreshing one session never trip
// refresh-token reuse detection.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiClient, PASSWORD, launchBrowser, signedInContext, startStack, uniqueName, watchPage } from "./support.mjs";

let stack, browser;
before(async () => {
  // A short access-token life, so the two-tab test sees several refreshes.
  stack = await startStack({ env: { ACCESS_TOKEN_TTL: "70" } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

describe("accounts", () => {
  it("signs up, logs out and logs back in", async () => {
    const page = await browser.newPage();
    const problems = watchPage(page);
    const username = uniqueName("alice");
    await page.goto(stack.url + "/");
    await page.getByRole("button", { name: "Create an account" }).click();
    await page.getByLabel("Username").fill(username);
    // Long enough for the browser's own check, refused by the server (it is the username).
    await page.getByLabel("Password").fill(username);
    await page.getByLabel("Display name (optional)").fill("Alice Example");
    await page.getByRole("button", { name: "Create account" }).click();
    // The server's per-field message is shown beside the password field.
    await page.locator('.field:has(input[name="password"]) .field-error:not(:empty)').waitFor();
    assert.equal(await page.getByLabel("Password").getAttribute("aria-invalid"), "true");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Hi Alice Example" }).waitFor();

    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();

    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill("wrong-password-123456");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByText("That username and password don't match.").waitFor();
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Hi Alice Example" }).waitFor();
    assert.deepEqual(problems.filter((p) => !p.includes("401") && !p.includes("400")), []);
    await page.close();
  });

  it("upgrades a guest in place: its conversation is still there", async () => {
    const page = await browser.newPage();
    await page.goto(stack.url + "/");
    await page.getByRole("button", { name: "Continue as guest" }).click();
    await page.getByRole("heading", { name: /^Hi / }).waitFor();
    await page.locator(".side-actions").getByRole("button", { name: "New chat" }).click();
    await page.getByRole("button", { name: "Start chat" }).click();
    await page.getByRole("textbox", { name: "Message" }).fill("remember the guest banana");
    await page.getByRole("textbox", { name: "Message" }).press("Enter");
    await page.locator("article.msg.assistant:not(.streaming)").waitFor();
    const conversationUrl = page.url();

    await page.getByRole("link", { name: "Settings" }).click();
    const username = uniqueName("former-guest");
    const upgrade = page.getByRole("form", { name: "Create an account" });
    await upgrade.getByLabel("Username").fill(username);
    await upgrade.getByLabel("Password").fill(PASSWORD);
    await upgrade.getByRole("button", { name: "Create account" }).click();
    await page.getByText(`Signed in as @${username}`).waitFor();
    assert.equal(await page.getByRole("heading", { name: /Keep your chats/ }).count(), 0);

    await page.goto(conversationUrl);
    await page.locator("article.msg.user .msg-body", { hasText: "remember the guest banana" }).waitFor();
    // And the account logs in with the new credentials elsewhere.
    const other = await ApiClient.login(stack, username);
    const list = await other.get("/conversations");
    assert.equal(list.items.length, 1);
    await page.close();
  });

  it("shows a clear screen when the session is ended from another device", async () => {
    const user = await ApiClient.signup(stack);
    const context = await signedInContext(browser, user);
    const page = await context.newPage();
    await page.goto(stack.url + "/settings");
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    // Another device signs out everywhere: this tab's next refresh is refused.
    await user.post("/auth/logout-all", undefined, { expect: 204 });
    await page.evaluate(() => {
      const s = JSON.parse(localStorage.getItem("chatd.session"));
      s.access_expires_at = Date.now(); // make the next call refresh
      localStorage.setItem("chatd.session", JSON.stringify(s));
    });
    await page.reload();
    await page.getByText(/Your session has ended/).waitFor();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await context.close();
  });

  it("two tabs share one refresh: rotation never trips reuse detection", async () => {
    const user = await ApiClient.signup(stack);
    const context = await signedInContext(browser, user);
    const a = await context.newPage();
    const b = await context.newPage();
    await a.goto(stack.url + "/");
    await b.goto(stack.url + "/");
    await a.getByRole("heading", { name: /^Hi / }).waitFor();
    await b.getByRole("heading", { name: /^Hi / }).waitFor();
    const first = await a.evaluate(() => JSON.parse(localStorage.getItem("chatd.session")).refresh_token);
    // Tokens live 70 s and are refreshed a minute early: both tabs' timers fire within seconds.
    const rotated = async (page, from) =>
      page.waitForFunction((t) => JSON.parse(localStorage.getItem("chatd.session") || "{}").refresh_token !== t, from, { timeout: 60_000 });
    await rotated(a, first);
    const second = await a.evaluate(() => JSON.parse(localStorage.getItem("chatd.session")).refresh_token);
    await rotated(b, second);
    // Both tabs are still signed in and their API calls work.
    for (const page of [a, b]) {
      await page.getByRole("link", { name: "Assistants" }).click();
      await page.getByRole("heading", { name: "Assistants" }).waitFor();
      assert.equal(await page.getByText(/Your session has ended|signed out/).count(), 0);
    }
    await context.close();
  });
});
