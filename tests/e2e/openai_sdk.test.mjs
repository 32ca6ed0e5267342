// chatd's OpenAI-compatible surface (/v1) driven by the official `openai` SDK (pinned in
// package.json), through nginx against the real stack and the fake LLM: what a script, an editor
// or an agent does with a chatd API key. No browser here; this file shares the stack helpers of
// the browser suite (support.mjs).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { ApiClient, startStack } from "./support.mjs";

const DEFAULT_MODEL = "00000000-0000-0000-0000-000000000001";
let stack;
before(async () => {
  stack = await startStack({ env: { MAX_CONTEXT_TOKENS: "2000", MAX_RESPONSE_TOKENS: "200" } });
});
after(async () => {
  await stack?.close();
});

// A user with an API key, and a client for it (no SDK retries: every answer is the server's own).
async function keyedClient() {
  const user = await ApiClient.signup(stack);
  const key = await user.post("/keys", { name: "sdk test" }, { expect: 201 });
  const client = new OpenAI({ apiKey: key.key, baseURL: stack.url + "/v1", maxRetries: 0, timeout: 30_000 });
  return { user, key, client };
}

async function fakeRequests() {
  const res = await fetch(stack.fake_url + "/_fake/requests?limit=200");
  return (await res.json()).requests;
}

describe("the openai SDK against /v1", () => {
  it("lists models and completes with one of them", async () => {
    const { user, client } = await keyedClient();
    const mine = await user.post("/assistants", { name: "Helper", system_prompt: "You help." }, { expect: 201 });
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    assert.deepEqual(models, [DEFAULT_MODEL, mine.id]);
    assert.equal((await client.models.retrieve(mine.id)).id, mine.id);

    const completion = await client.chat.completions.create({
      model: mine.id,
      messages: [{ role: "user", content: "Hello SDK [[fake:tokens=4]]" }],
    });
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.choices[0].message.role, "assistant");
    assert.match(completion.choices[0].message.content, /^You said: Hello SDK/);
    assert.equal(completion.choices[0].finish_reason, "stop");
    assert.equal(completion.usage.completion_tokens, 4);
  });

  it("streams chunk by chunk with usage at the end", async () => {
    const { client } = await keyedClient();
    const stream = await client.chat.completions.create({
      model: DEFAULT_MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream please [[fake:tokens=6,interval_ms=20]]" }],
    });
    const pieces = [];
    let usage = null;
    let finish = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice?.delta?.content) pieces.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    assert.ok(pieces.length >= 2, `got ${pieces.length} pieces`);
    assert.equal(pieces.join("").split(/\s+/).filter(Boolean).length, 6);
    assert.equal(finish, "stop");
    assert.equal(usage.completion_tokens, 6);
    assert.equal(usage.total_tokens, usage.prompt_tokens + 6);
  });

  it("sends the assistant's system prompt and a document chunk upstream", async () => {
    const { user, client } = await keyedClient();
    const a = await user.post("/assistants", { name: "Vet", system_prompt: "You are a vet. SDKSYS" }, { expect: 201 });
    await user.post(`/assistants/${a.id}/documents`, { filename: "otters.md", content: "KNOWLEDGE: otters hold hands while sleeping." }, { expect: 201 });
    const marker = Math.random().toString(36).slice(2, 10);
    const completion = await client.chat.completions.create({
      model: a.id,
      messages: [
        { role: "system", content: "Be concise." },
        { role: "user", content: `why do otters hold hands ${marker}` },
      ],
    });
    assert.deepEqual(completion.chatd.sources.map((s) => s.filename), ["otters.md"]);
    const upstream = (await fakeRequests()).filter((r) => (r.last_user || "").includes(marker)).at(-1);
    assert.ok(upstream, "the fake saw the request");
    assert.ok(upstream.system.indexOf("SDKSYS") < upstream.system.indexOf("Be concise."));
    assert.ok(upstream.system.includes("KNOWLEDGE: otters hold hands while sleeping."));
  });

  it("a revoked key is an AuthenticationError", async () => {
    const { user, key, client } = await keyedClient();
    await user.del(`/keys/${key.id}`, { expect: 204 });
    await assert.rejects(client.models.list(), (err) => err instanceof OpenAI.AuthenticationError && err.status === 401 && err.code === "invalid_api_key");
  });

  it("an unknown model and an oversized context are the SDK's typed errors", async () => {
    const { client } = await keyedClient();
    await assert.rejects(
      client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
      (err) => err instanceof OpenAI.NotFoundError && err.code === "model_not_found",
    );
    await assert.rejects(
      client.chat.completions.create({ model: DEFAULT_MODEL, messages: [{ role: "user", content: "word ".repeat(6000) }] }),
      (err) => err instanceof OpenAI.BadRequestError && err.code === "context_length_exceeded",
    );
  });

  it("rate and quota exhaustion are RateLimitErrors with a retry hint", async () => {
    const limited = await startStack({ env: { LLM_RATE_PER_MIN: "2", DAILY_TOKEN_QUOTA: "1000000" } });
    try {
      const user = await ApiClient.signup(limited);
      const key = await user.post("/keys", { name: "rate" }, { expect: 201 });
      const client = new OpenAI({ apiKey: key.key, baseURL: limited.url + "/v1", maxRetries: 0 });
      const ask = () => client.chat.completions.create({ model: DEFAULT_MODEL, messages: [{ role: "user", content: "hi [[fake:tokens=2]]" }] });
      await ask();
      await ask();
      await assert.rejects(ask(), (err) => err instanceof OpenAI.RateLimitError && err.code === "rate_limit_exceeded" && Number(err.headers.get("retry-after")) > 0);
    } finally {
      await limited.close();
    }
    const broke = await startStack({ env: { DAILY_TOKEN_QUOTA: "5" } });
    try {
      const user = await ApiClient.signup(broke);
      const key = await user.post("/keys", { name: "quota" }, { expect: 201 });
      const client = new OpenAI({ apiKey: key.key, baseURL: broke.url + "/v1", maxRetries: 0 });
      const ask = () => client.chat.completions.create({ model: DEFAULT_MODEL, messages: [{ role: "user", content: "spend it all [[fake:tokens=20]]" }] });
      await ask(); // crosses the quota (the check comes before a reply, as in the UI)
      await assert.rejects(ask(), (err) => err instanceof OpenAI.RateLimitError && err.code === "insufficient_quota" && Number(err.headers.get("retry-after")) > 0);
    } finally {
      await broke.close();
    }
  });

  it("an opted-in exchange appears in the user's conversation list", async () => {
    const { user, client } = await keyedClient();
    const completion = await client.chat.completions.create(
      { model: DEFAULT_MODEL, messages: [{ role: "user", content: "keep this exchange [[fake:tokens=3]]" }] },
      { headers: { "X-Chatd-Store": "true" } },
    );
    const id = completion.chatd.conversation_id;
    assert.ok(id);
    const list = await user.get("/conversations");
    assert.deepEqual(list.items.map((c) => c.id), [id]);
    const messages = await user.get(`/conversations/${id}/messages`);
    assert.deepEqual(messages.items.map((m) => m.role), ["user", "assistant"]);
    assert.equal(messages.items[1].content, completion.choices[0].message.content);
  });
});
