// Client-side routes on real paths (nginx answers every non-asset path with index.html):
//   /                      the newest conversation or the welcome screen
//   /c/<id>                a conversation
//   /assistants, /assistants/<id>, /assistants/new
//   /settings, /settings/keys
//   /s/<token>             a share link's public, read-only snapshot (main.js, before any session)
// navigate() pushes a history entry; "route" events fire on every change (also back/forward).

export function parseRoute(pathname = location.pathname) {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "c" && parts[1]) return { name: "chat", id: parts[1] };
  if (parts[0] === "s" && parts[1]) return { name: "shared", token: parts[1] };
  if (parts[0] === "assistants") return { name: "assistants", id: parts[1] || null };
  if (parts[0] === "settings" && parts[1] === "keys") return { name: "keys" };
  if (parts[0] === "settings") return { name: "settings" };
  return { name: "home" };
}

export const router = new EventTarget();

export function navigate(path, { replace = false } = {}) {
  if (path === location.pathname) {
    router.dispatchEvent(new CustomEvent("route", { detail: parseRoute(path) }));
    return;
  }
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  router.dispatchEvent(new CustomEvent("route", { detail: parseRoute(path) }));
}

window.addEventListener("popstate", () => router.dispatchEvent(new CustomEvent("route", { detail: parseRoute() })));
