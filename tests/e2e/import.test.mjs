// Import from Settings → Your data → Import conversations…: a ChatGPT conversations.json chosen in
// the dialog becomes a new chat, listed once in the sidebar under its title (from its live
// conversation.created event), holding the branch ChatGPT showed last (not a sibling branch). A
// file the server refuses shows its reason with the place in the file and creates nothing; a file
// that is not JSON or is over 8 MiB is refused in the browser, before anything is sent. The
// account archive downloaded beside it ("Download your data") imports back.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { ApiClient, launchBrowser, seriousA11yViolations, signedInContext, startStack, watchPage } from "./support.mjs";

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

// A ChatGPT export (the shape of its conversations.json): one conversation whose current branch is
// root → u1 → a1, with another answer a2 to u1 on a branch that is not shown.
function chatgptExport({ currentNode = "a1" } = {}) {
  const node = (id, parent, children, role, text, t) => ({
    id,
    parent,
    children,
    message: { id, author: { role }, create_time: t, content: { content_type: "text", parts: [text] } },
  });
  return [
    {
      title: "Trip to Lisbon",
      create_time: 1700000000.5,
      update_time: 1700000300.0,
      current_node: currentNode,
      mapping: {
        root: { id: "root", message: null, parent: null, children: ["u1"] },
        u1: node("u1", "root", ["a2", "a1"], "user", "What should I see in **Lisbon**?", 1700000001.0),
        a2: node("a2", "u1", [], "assistant", "An older answer on another branch.", 1700000005.0),
        a1: node("a1", "u1", [], "assistant", "Start with the Alfama and take tram 28.", 1700000010.0),
      },
    },
  ];
}

const asFile = (name, text, mimeType = "application/json") => ({ name, mimeType, buffer: Buffer.from(text) });

// The browser logs a refused request itself ("Failed to load resource: … 400"): expected here.
const unexpected = (problems) => problems.filter((p) => !/Failed to load resource: the server responded with a status of 400/.test(p));

describe("import", () => {
  it("imports a ChatGPT conversations.json from Settings and refuses a malformed file", async () => {
    const alice = await ApiClient.signup(stack, { displayName: "Alice" });
    const context = await signedInContext(browser, alice);
    const page = await context.newPage();
    const problems = watchPage(page);
    const imports = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === "/api/v1/import") imports.push(r.method());
    });
    await page.goto(stack.url + "/settings");
    await page.getByRole("heading", { name: "Your data" }).waitFor();

    const openImport = async () => {
      await page.getByRole("button", { name: "Import conversations…" }).click();
      const dialog = page.getByRole("dialog", { name: "Import conversations" });
      await dialog.getByText("ChatGPT's conversations.json", { exact: false }).waitFor();
      return dialog;
    };

    // The file chosen, imported: the result names it and links to it.
    let dialog = await openImport();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await dialog.getByLabel("File to import").setInputFiles(asFile("conversations.json", JSON.stringify(chatgptExport())));
    await dialog.getByRole("button", { name: "Import", exact: true }).click();
    await dialog.getByText("Imported 1 conversation.").waitFor();
    const link = dialog.getByRole("link", { name: "Trip to Lisbon" });
    const href = await link.getAttribute("href");
    assert.match(href, /^\/c\/[0-9a-f-]{36}$/);
    await dialog.getByText("· 2 messages").waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(imports, ["POST"]);

    // In the sidebar once, under its title (its conversation.created event arrived).
    const row = page.locator(".sidebar li.conv", { hasText: "Trip to Lisbon" });
    await row.waitFor();
    assert.equal(await row.count(), 1);

    // Opened from the result: the branch shown last, not the other one.
    await link.click();
    await dialog.waitFor({ state: "detached" });
    assert.equal(new URL(page.url()).pathname, href);
    const chat = page.locator("section.chat");
    await chat.getByRole("heading", { level: 1, name: "Trip to Lisbon" }).waitFor();
    await chat.locator("article.msg.assistant", { hasText: "Start with the Alfama and take tram 28." }).waitFor();
    assert.equal(await chat.locator("article.msg").count(), 2);
    assert.equal(await chat.locator("article.msg.user .msg-body strong").textContent(), "Lisbon");
    assert.equal(await chat.getByText("An older answer on another branch.").count(), 0);
    assert.equal(await row.count(), 1);
    const before = (await alice.get("/conversations?limit=100")).items.length;
    assert.equal(before, 1);

    // A file the server refuses (its current_node names no node): the reason and where it is.
    await page.goto(stack.url + "/settings");
    dialog = await openImport();
    await dialog.getByLabel("File to import").setInputFiles(asFile("broken.json", JSON.stringify(chatgptExport({ currentNode: "nowhere" }))));
    await dialog.getByRole("button", { name: "Import", exact: true }).click();
    const refusal = dialog.getByRole("alert").filter({ hasText: "This file can't be imported" });
    await refusal.waitFor();
    assert.match(await refusal.textContent(), /At \[0\]\.current_node: must name a node of mapping/);
    assert.equal(await dialog.getByText(/^Imported/).count(), 0);
    assert.equal(imports.length, 2);

    // Not JSON, and too large: refused before anything is sent.
    await dialog.getByLabel("File to import").setInputFiles(asFile("notes.json", "title: not json at all\n", "text/plain"));
    await dialog.getByRole("button", { name: "Import", exact: true }).click();
    await dialog.getByText("This file isn't JSON.", { exact: false }).waitFor();
    assert.equal(await dialog.getByLabel("File to import").getAttribute("aria-invalid"), "true");
    await dialog.getByLabel("File to import").setInputFiles(asFile("huge.json", "[" + " ".repeat(8 * 1024 * 1024) + "]"));
    await dialog.getByText("This file is 8.1 MiB: chatd imports files of at most 8 MiB at a time.").waitFor();
    await dialog.getByRole("button", { name: "Import", exact: true }).click();
    await dialog.getByText("chatd imports files of at most 8 MiB at a time.", { exact: false }).waitFor();
    assert.equal(imports.length, 2);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });

    // Nothing was created by the refused files.
    assert.equal((await alice.get("/conversations?limit=100")).items.length, before);
    assert.equal(await page.locator(".sidebar li.conv").count(), 1);

    // "Download your data" beside it saves the account archive, which imports back.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download your data" }).click()]);
    const archive = await readFile(await download.path(), "utf8");
    assert.equal(JSON.parse(archive).schema, "chatd.account");
    dialog = await openImport();
    await dialog.getByLabel("File to import").setInputFiles(asFile(download.suggestedFilename(), archive));
    await dialog.getByRole("button", { name: "Import", exact: true }).click();
    await dialog.getByText("Imported 1 conversation.").waitFor();
    await dialog.getByRole("button", { name: "Done" }).click();
    await page.waitForFunction(() => document.querySelectorAll(".sidebar li.conv").length === 2);
    assert.deepEqual(await page.locator(".sidebar .conv-title").allTextContents(), ["Trip to Lisbon", "Trip to Lisbon"]);
    assert.deepEqual(unexpected(problems), []);
    await context.close();
  });
});
