// Light / dark / system theme: the choice is kept in localStorage ("chatd.theme") and applied as
// <html data-theme>; theme-init.js applies it before the first paint. "system" follows the OS
// setting live.
const KEY = "chatd.theme";
const media = window.matchMedia("(prefers-color-scheme: dark)");

export function themePreference() {
  try {
    return localStorage.getItem(KEY) || "system";
  } catch {
    return "system";
  }
}

function apply(pref) {
  const dark = pref === "dark" || (pref === "system" && media.matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  document.documentElement.dataset.themePref = pref;
}

export function setThemePreference(pref) {
  if (!["light", "dark", "system"].includes(pref)) pref = "system";
  try {
    localStorage.setItem(KEY, pref);
  } catch {
    /* not remembered, still applied */
  }
  apply(pref);
}

export function initTheme() {
  apply(themePreference());
  media.addEventListener("change", () => apply(themePreference()));
  // Another tab changed it.
  window.addEventListener("storage", (e) => {
    if (e.key === KEY) apply(themePreference());
  });
}
