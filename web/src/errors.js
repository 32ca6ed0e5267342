// Problem objects (RFC 9457, API.md) as what a person reads: one friendly sentence per code, the
// wait of a 429, and the per-field messages of a VALIDATION_ERROR for forms to place beside
// their inputs.

export class ApiError extends Error {
  constructor(problem, status, retryAfter) {
    super(problem?.detail || problem?.title || `Request failed (${status})`);
    this.problem = problem || {};
    this.status = status;
    this.code = this.problem.code || (status === 0 ? "NETWORK" : "HTTP_" + status);
    this.retryAfter = retryAfter;
    this.fieldErrors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

function waitText(seconds) {
  if (!seconds || !Number.isFinite(seconds)) return "a moment";
  if (seconds < 60) return `${Math.ceil(seconds)} second${Math.ceil(seconds) === 1 ? "" : "s"}`;
  const m = Math.ceil(seconds / 60);
  if (m < 60) return `${m} minute${m === 1 ? "" : "s"}`;
  const h = Math.ceil(m / 60);
  return `${h} hour${h === 1 ? "" : "s"}`;
}

const MESSAGES = {
  NETWORK: () => "Can't reach chatd. Check your connection; we'll keep trying.",
  VALIDATION_ERROR: (e) => (e.fieldErrors.length ? "Please fix the highlighted fields." : e.problem.detail || "That input isn't valid."),
  UNAUTHENTICATED: () => "Your session has ended. Please sign in again.",
  TOKEN_EXPIRED: () => "Your session has expired. Please sign in again.",
  TOKEN_REUSED: () => "For your safety you were signed out (this session was used elsewhere). Please sign in again.",
  INVALID_CREDENTIALS: () => "That username and password don't match.",
  FORBIDDEN: () => "You're not allowed to do that.",
  NOT_FOUND: () => "That isn't here any more (it may have been deleted, or you're no longer a member).",
  METHOD_NOT_ALLOWED: () => "That action isn't supported.",
  CONFLICT: (e) => e.problem.detail || "That conflicts with something that already exists.",
  USERNAME_TAKEN: () => "That username is taken. Try another one.",
  PAYLOAD_TOO_LARGE: () => "That's too large to send.",
  UNSUPPORTED_MEDIA_TYPE: () => "That kind of file or request isn't supported.",
  RATE_LIMITED: (e) => `You're going a bit fast. Please wait ${waitText(e.retryAfter)} and try again.`,
  QUOTA_EXCEEDED: (e) => `You've used today's token quota. It resets in ${waitText(e.retryAfter)}.`,
  INTERNAL: () => "Something went wrong on our side. Please try again.",
  LLM_UNAVAILABLE: () => "The assistant's model is unavailable right now. Try again shortly.",
  SERVICE_UNAVAILABLE: (e) => `chatd is temporarily unavailable. Try again in ${waitText(e.retryAfter)}.`,
  LLM_TIMEOUT: () => "The assistant took too long to answer. Try again.",
};

export function friendlyMessage(err) {
  if (err instanceof ApiError) {
    const fn = MESSAGES[err.code];
    if (fn) return fn(err);
    return err.problem.detail || "Something went wrong. Please try again.";
  }
  return "Something went wrong. Please try again.";
}

// "must be at most 5000 characters" -> shown under the field named by the problem.
export function fieldMessages(err) {
  const out = {};
  if (!(err instanceof ApiError)) return out;
  for (const f of err.fieldErrors) {
    if (f && typeof f.field === "string") out[f.field] = (out[f.field] ? out[f.field] + "; " : "") + f.message;
  }
  return out;
}
