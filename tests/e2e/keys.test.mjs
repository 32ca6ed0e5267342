// The API keys page (Settings → API keys, /settings/keys) against the real stack: a key is
// created, its secret shown once in a dialog and copied to the clipboard, and once the dialog is
// closed the secret is nowhere in the page; the key works against /v1 from Node, its use shows in
// the list (last used, usage), and a revoked key gets 401 at once. A guest sees the way to an
// account, never the form; past the cap of active keys the form says so. axe-core checks the
// page and the secret's dialog.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiClient, launchBrowser, seriousA11yViolations, signedInContext, startStack, watchPage } from "./support.mjs";

const DEFAULT_MODEL = "00000000-0000-0000-0000-000000000001";
const KEY_PATTERN = /^chatd_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

function v1(path, key, init = {}) {
  return fetch(stack.url + "/v1" + path, { ...init, headers: { Authorization: "Bearer " + key, "Content-Type": "application/json", ...(init.headers || {}) } });
}

async function openKeysPage(client) {
  const context = await signedInContext(browser, client);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.url });
  const page = await context.newPage();
  const problems = watchPage(page);
  return { context, page, problems };
}

describe("API keys in the web UI", () => {
  it("creates a key shown once and copied, which works against /v1 until it is revoked", async () => {
    const user = await ApiClient.signup(stack, { displayName: "Kim" });
    const { context, page, problems } = await openKeysPage(user);

    // Reached from Settings.
    await page.goto(stack.url + "/settings");
    await page.getByRole("link", { name: "Manage API keys" }).click();
    await page.getByRole("heading", { name: "API keys", level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/settings/keys");
    await page.getByText("No API keys yet.").waitFor();

    // A name is required (the message sits beside its field).
    const name = page.getByRole("textbox", { name: "Name" });
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByText("Please give the key a name.").waitFor();
    assert.equal(await name.getAttribute("aria-invalid"), "true");

    const day = new Date(Date.now() + 200 * 86400_000);
    const ymd = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;
    await name.fill("ci scripts");
    await page.getByLabel("Expires on (optional)").fill(ymd);
    await page.getByRole("button", { name: "Create key" }).click();

    // The secret, once: in a dialog with the notice, selected in its field, and a Copy button.
    const dialog = page.getByRole("dialog", { name: "Your new API key" });
    await dialog.waitFor();
    await dialog.getByText("you won't see it again", { exact: false }).waitFor();
    const field = dialog.getByRole("textbox", { name: "API key" });
    const secret = await field.inputValue();
    assert.match(secret, KEY_PATTERN);
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains("secret-value")), true);
    // The examples carry the base URL, the key and a model id.
    const examples = await dialog.locator("pre.snippet").allTextContents();
    assert.equal(examples.length, 2);
    for (const ex of examples) {
      assert.ok(ex.includes(stack.url + "/v1"), ex);
      assert.ok(ex.includes(secret), ex);
      assert.ok(ex.includes(DEFAULT_MODEL), ex);
      assert.equal(ex.split("\n").length, 3, ex);
    }
    await dialog.getByRole("button", { name: "Copy" }).click();
    await dialog.getByText("Copied to the clipboard.").waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Esc closes it; the secret is then nowhere in the page (markup, text or field values) and
    // the focus is back on the form.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await page.waitForFunction(() => document.activeElement?.id && document.activeElement === document.querySelector(".keys-page input:not([type])"));
    const leftovers = await page.evaluate((s) => {
      const values = [...document.querySelectorAll("input, textarea")].map((i) => i.value);
      return [document.documentElement.outerHTML.includes(s), document.body.innerText.includes(s), values.some((v) => v.includes(s))];
    }, secret);
    assert.deepEqual(leftovers, [false, false, false]);
    assert.equal(await name.inputValue(), "");

    // Listed by name and prefix (never the secret), not used yet, with its expiry day.
    const row = page.locator("tr", { has: page.getByRole("rowheader", { name: "ci scripts" }) });
    await row.waitFor();
    const prefix = secret.slice(0, "chatd_".length + 16);
    assert.equal(await row.locator(".key-prefix").textContent(), prefix + "_…");
    assert.match(await row.textContent(), /Never/);
    assert.match(await row.textContent(), new RegExp(String(day.getFullYear())));

    // The key works from Node: models, then a completion (which the list shows as usage).
    const models = await v1("/models", secret);
    assert.equal(models.status, 200);
    assert.ok((await models.json()).data.some((m) => m.id === DEFAULT_MODEL));
    const completion = await v1("/chat/completions", secret, { method: "POST", body: JSON.stringify({ model: DEFAULT_MODEL, messages: [{ role: "user", content: "hello keys [[fake:tokens=5]]" }] }) });
    assert.equal(completion.status, 200, await completion.clone().text());
    await page.reload();
    await row.locator(".key-usage", { hasText: "1 request" }).waitFor();
    assert.doesNotMatch(await row.locator("td").nth(2).textContent(), /Never/); // last used
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Revoke: Cancel keeps it, the confirmation ends it at once.
    await row.getByRole("button", { name: "Revoke ci scripts" }).click();
    const confirm = page.getByRole("dialog", { name: "Revoke this key?" });
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "detached" });
    assert.equal((await v1("/models", secret)).status, 200);
    await row.getByRole("button", { name: "Revoke ci scripts" }).click();
    await confirm.getByRole("button", { name: "Revoke key" }).click();
    await row.waitFor({ state: "detached" });
    await page.getByText("No API keys yet.").waitFor();
    // What it spent stays visible among the revoked keys.
    await page.getByText("Revoked keys used in the last 30 days (1)").waitFor();
    const revoked = await v1("/models", secret);
    assert.equal(revoked.status, 401);
    assert.equal((await revoked.json()).error.code, "invalid_api_key");

    assert.deepEqual(problems, []);
    await context.close();
  });

  it("a guest sees why and the way to an account, never the form", async () => {
    const guest = new ApiClient(stack, await new ApiClient(stack).post("/auth/guest", {}));
    const { context, page, problems } = await openKeysPage(guest);
    await page.goto(stack.url + "/settings/keys");
    await page.getByRole("heading", { name: "API keys need an account" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Create key" }).count(), 0);
    assert.equal(await page.getByRole("textbox", { name: "Name" }).count(), 0);
    assert.equal(await page.locator("form").count(), 0);
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.getByRole("heading", { name: "Keep your chats: create an account" }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("past the cap of active keys, the form says what to do", async () => {
    const user = await ApiClient.signup(stack);
    for (let i = 0; i < 100; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => user.post("/keys", { name: `bulk ${i + j}` }, { expect: 201 })));
    }
    const { context, page, problems } = await openKeysPage(user);
    await page.goto(stack.url + "/settings/keys");
    await page.getByText("100 active keys.").waitFor();
    await page.getByRole("textbox", { name: "Name" }).fill("one too many");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByRole("alert").filter({ hasText: "limit of active keys" }).waitFor();
    assert.equal(await page.getByRole("dialog").count(), 0);
    // The browser logs the 409 response itself; nothing else went wrong.
    assert.deepEqual(problems.filter((p) => !p.includes("status of 409")), []);
    await context.close();
  });
});
