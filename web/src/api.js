// The HTTP client of the API (docs/openapi.yaml): JSON in and out, problem+json turned into
// ApiError, the access token attached and refreshed once when the server says TOKEN_EXPIRED, and
// streamed replies (SSE over fetch, parsed by eventsource-parser). Views call this, never fetch.
import { createParser } from "eventsource-parser";
import { ApiError } from "./errors.js";

const BASE = "/api/v1";

export class Api {
  constructor(session) {
    this.session = session; // may be null for the anonymous calls (info, login, signup)
  }

  // `json`: a body that is JSON text already (a file's, sent as it is); `body`: a value to encode.
  async #fetch(method, path, { body, json, headers = {}, signal, auth = true, accept = "application/json" } = {}) {
    const h = { Accept: accept, ...headers };
    let payload;
    if (body !== undefined || json !== undefined) {
      h["Content-Type"] = "application/json; charset=utf-8";
      payload = json !== undefined ? json : JSON.stringify(body);
    }
    for (let attempt = 0; ; attempt++) {
      if (auth && this.session) {
        const token = await this.session.accessToken();
        if (token) h.Authorization = "Bearer " + token;
      }
      let res;
      try {
        res = await fetch(BASE + path, { method, headers: h, body: payload, signal, credentials: "same-origin" });
      } catch (e) {
        if (e.name === "AbortError") throw e;
        throw new ApiError({ detail: "network error" }, 0);
      }
      if (res.status === 401 && auth && this.session && attempt === 0) {
        const problem = await readProblem(res);
        if (problem.code === "TOKEN_EXPIRED" && (await this.session.refresh(h.Authorization))) continue;
        const err = new ApiError(problem, 401);
        this.session.ended(err);
        throw err;
      }
      return res;
    }
  }

  async request(method, path, opts = {}) {
    const res = await this.#fetch(method, path, opts);
    if (!res.ok) throw await toError(res);
    if (res.status === 204) return null;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  get(path, opts) {
    return this.request("GET", path, opts);
  }

  // A file the API answers as an attachment (an export): {blob, filename}.
  async download(path) {
    const res = await this.#fetch("GET", path, { accept: "*/*" });
    if (!res.ok) throw await toError(res);
    const disposition = res.headers.get("Content-Disposition") || "";
    const m = /filename="([^"]+)"/.exec(disposition);
    return { blob: await res.blob(), filename: m ? m[1] : "chatd-export" };
  }
  post(path, body = {}, opts = {}) {
    return this.request("POST", path, { ...opts, body });
  }
  // POST of JSON text as it is (an imported file: not parsed and encoded again on the way).
  postJsonText(path, text, opts = {}) {
    return this.request("POST", path, { ...opts, json: text });
  }
  patch(path, body, opts = {}) {
    return this.request("PATCH", path, { ...opts, body });
  }
  del(path, opts) {
    return this.request("DELETE", path, opts);
  }

  // POST that may answer with a stream of Server-Sent Events (a reply) or with JSON (a message that
  // no assistant answers, a repeated client_message_id). handlers: {message, delta, done, error}.
  // Resolves with the JSON body when the answer was JSON, or with the final "done" message.
  async stream(path, body, handlers, signal) {
    const res = await this.#fetch("POST", path, {
      body,
      signal,
      accept: "text/event-stream, application/json;q=0.9",
    });
    if (!res.ok) throw await toError(res);
    const type = res.headers.get("Content-Type") || "";
    if (!type.startsWith("text/event-stream")) return { json: await res.json() };
    let final = null;
    let failure = null;
    const parser = createParser({
      onEvent(ev) {
        let data;
        try {
          data = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (ev.event === "message") handlers.message?.(data);
        else if (ev.event === "delta") handlers.delta?.(data);
        else if (ev.event === "done") {
          final = data;
          handlers.done?.(data);
        } else if (ev.event === "error") {
          failure = new ApiError(data, data.status || 502);
          handlers.error?.(failure);
        }
      },
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch (e) {
      if (e.name === "AbortError") throw e;
      // The connection dropped mid-reply: the reply goes on server-side and arrives over /ws.
      if (!final && !failure) throw new ApiError({ detail: "stream interrupted" }, 0);
    }
    return { done: final, error: failure };
  }
}

async function readProblem(res) {
  try {
    const text = await res.text();
    return JSON.parse(text);
  } catch {
    return { status: res.status, title: res.statusText };
  }
}

async function toError(res) {
  const problem = await readProblem(res);
  const ra = Number(res.headers.get("Retry-After"));
  return new ApiError(problem, res.status, Number.isFinite(ra) && ra > 0 ? ra : undefined);
}
