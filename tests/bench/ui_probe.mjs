// The browser half of scripts/bench's `ui` section (sections/50_ui.py starts the stack and reads
// the one JSON line this prints). Debian's chromium driven by playwright-core, with the e2e
// tests' helpers (tests/e2e/support.mjs: its node_modules hold playwright-core).
//
//   node ui_probe.mjs '{"url": "http://127.0.0.1:PORT", "messages": 2000, "runs": 5, "tokens": 20000, "tokens_per_s": 100}'
//
// 1. First render of a long conversation: `messages` messages are seeded through the API; then,
//    `runs` times each, (a) a cold load: a new browser context (empty cache) opens /c/<id>, timed
//    from the navigation's start to the first frame after the newest message is in the DOM; and
//    (b) a switch: the conversation is picked in the sidebar of the running app, timed from the
//    click to that same frame.
// 2. Streaming: in an assistant chat, a message asks the fake LLM for `tokens` words at
//    `tokens_per_s`; a PerformanceObserver('longtask') records every main-thread task over 50 ms
//    from the send until the reply is stored and rendered complete.
import { ApiClient, launchBrowser, seedConversation, signedInContext } from "../e2e/support.mjs";

const opts = JSON.parse(process.argv[2] || "{}");
const stack = { url: opts.url };
const messages = opts.messages ?? 2000;
const runs = opts.runs ?? 5;
const tokens = opts.tokens ?? 20000;
const tokensPerS = opts.tokens_per_s ?? 100;
const log = (...a) => console.error("  ui:", ...a);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Resolves window.__shown with performance.now() at the first frame after `selector` exists.
function shownScript(selector) {
  return `(() => {
    window.__shown = new Promise((resolve) => {
      const done = () => requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0));
      const check = () => document.querySelector(${JSON.stringify(selector)});
      if (check()) return done();
      const obs = new MutationObserver(() => { if (check()) { obs.disconnect(); done(); } });
      obs.observe(document, { subtree: true, childList: true });
    });
  })()`;
}

const browser = await launchBrowser();
const result = { messages, runs, tokens, tokens_per_s: tokensPerS };
try {
  // ---- 1. a long conversation -------------------------------------------------------------------
  const t0 = Date.now();
  const { a, conv } = await seedConversation(stack, messages);
  log(`seeded ${messages} messages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const newest = `section.chat[data-conversation-id="${conv.id}"] article.msg[data-seq="${messages}"]`;
  const cold = [];
  const coldParts = [];
  for (let i = 0; i < runs + 1; i++) {
    const context = await signedInContext(browser, a);
    await context.addInitScript({ content: shownScript(newest) });
    const page = await context.newPage();
    await page.goto(`${stack.url}/c/${conv.id}`);
    const ms = await page.evaluate(() => window.__shown);
    // Where the time went: the app's script ran (DOMContentLoaded ends after it), the first page
    // of messages arrived.
    const parts = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const msgs = performance.getEntriesByType("resource").find((r) => /\/messages\?limit=/.test(r.name));
      return { script_ran: nav.domContentLoadedEventEnd, messages_fetched: msgs ? msgs.responseEnd : null };
    });
    if (i > 0) {
      cold.push(ms); // the first run warms the server's caches and the disk
      coldParts.push(parts);
    }
    await context.close();
  }
  const switches = [];
  {
    const context = await signedInContext(browser, a);
    const page = await context.newPage();
    await page.goto(`${stack.url}/`);
    const link = page.locator(`.conv[data-id="${conv.id}"] a`);
    await link.waitFor();
    for (let i = 0; i < runs + 1; i++) {
      await page.evaluate(shownScript(newest));
      const ms = await link.evaluate((n) => {
        const start = performance.now();
        n.click();
        return window.__shown.then((t) => t - start);
      });
      if (i > 0) switches.push(ms);
      await page.locator(".brand").click();
      await page.locator("section.welcome").waitFor();
    }
    result.dom_messages = await (async () => {
      await page.goto(`${stack.url}/c/${conv.id}`);
      await page.locator(newest).waitFor();
      return page.locator("article.msg").count();
    })();
    await context.close();
  }
  result.cold_load_ms = {
    median: median(cold),
    max: Math.max(...cold),
    all: cold.map((x) => Math.round(x)),
    script_ran_median: median(coldParts.map((p) => p.script_ran)),
    messages_fetched_median: median(coldParts.map((p) => p.messages_fetched ?? NaN)),
  };
  result.switch_ms = { median: median(switches), max: Math.max(...switches), all: switches.map((x) => Math.round(x)) };
  log("cold load", result.cold_load_ms, "switch", result.switch_ms);

  // ---- 2. a long streamed reply ---------------------------------------------------------------
  const user = await ApiClient.signup(stack, { displayName: "Streamer" });
  const chat = await user.post("/conversations", { kind: "assistant" }, { expect: 201 });
  const context = await signedInContext(browser, user);
  await context.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  });
  const page = await context.newPage();
  await page.goto(`${stack.url}/c/${chat.id}`);
  await page.locator(`section.chat[data-conversation-id="${chat.id}"]`).waitFor();
  await page.locator(".history-status", { hasText: "Ask anything" }).waitFor();
  const interval = Math.max(1, Math.round(1000 / tokensPerS));
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(`write a long story [[fake:tokens=${tokens},interval_ms=${interval}]]`);
  const sentAt = await page.evaluate(() => performance.now());
  const started = Date.now();
  await box.press("Enter");
  await page.locator("article.msg.assistant.streaming").waitFor();
  await page.locator("article.msg.assistant:not(.streaming) .msg-actions").waitFor({ timeout: (tokens / tokensPerS) * 1000 * 2 + 60_000 });
  const seconds = (Date.now() - started) / 1000;
  const words = await page.locator("article.msg.assistant .msg-body").evaluate((n) => n.textContent.trim().split(/\s+/).length);
  const tasks = (await page.evaluate(() => window.__longtasks)).filter(([start]) => start >= sentAt);
  const stored = (await user.get(`/conversations/${chat.id}/messages`)).items.find((m) => m.role === "assistant");
  result.stream = {
    seconds,
    status: stored?.status,
    rendered_words: words,
    long_tasks: tasks.length,
    longest_task_ms: tasks.length ? Math.max(...tasks.map(([, d]) => d)) : 0,
    long_tasks_over_100ms: tasks.filter(([, d]) => d > 100).length,
    // When the longest ones ran, in seconds after the send (the stream lasts `seconds`).
    longest_tasks_at_s: [...tasks].sort((x, y) => y[1] - x[1]).slice(0, 5).map(([start, d]) => [Math.round((start - sentAt) / 100) / 10, Math.round(d)]),
  };
  log("stream", result.stream);
  await context.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
