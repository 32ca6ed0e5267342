// A user picker over GET /users?q= (non-guest users by username or display-name prefix): a search
// box and a result list; onPick(user) is called with the chosen PublicUser.
import { el, replaceChildren } from "../dom.js";
import { friendlyMessage } from "../errors.js";

export function userSearch({ api, meId, onPick, exclude = () => false, label = "Find people" }) {
  const input = el("input", { type: "search", placeholder: "Username or name", "aria-label": label, autocomplete: "off" });
  const results = el("ul", { class: "user-results", "aria-label": "Search results" });
  const status = el("p", { class: "field-hint", role: "status" });
  let timer = null;
  let seq = 0;
  async function search() {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) {
      replaceChildren(results, );
      status.textContent = "";
      return;
    }
    try {
      const page = await api.get("/users?" + new URLSearchParams({ q, limit: "10" }));
      if (mine !== seq) return;
      const items = page.items.filter((u) => u.id !== meId && !exclude(u));
      status.textContent = items.length ? "" : "No one found.";
      replaceChildren(results, 
        ...items.map((u) =>
          el(
            "li",
            null,
            el(
              "button",
              { type: "button", class: "user-pick", onclick: () => onPick(u) },
              el("span", { class: "name", text: u.display_name || u.username }),
              el("span", { class: "handle", text: "@" + u.username }),
            ),
          ),
        ),
      );
    } catch (err) {
      if (mine === seq) status.textContent = friendlyMessage(err);
    }
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  return { el: el("div", { class: "user-search" }, input, status, results), input };
}
