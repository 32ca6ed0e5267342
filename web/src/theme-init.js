// Runs before the first paint (a classic script in <head>): applies the remembered theme, so a
// dark-theme user never sees a white flash. theme.js owns the setting afterwards.
(function () {
  var pref = "system";
  try {
    pref = localStorage.getItem("chatd.theme") || "system";
  } catch (e) {
    /* storage disabled: follow the system */
  }
  var dark = pref === "dark" || (pref === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  document.documentElement.dataset.themePref = pref;
})();
