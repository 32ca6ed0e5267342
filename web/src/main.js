// The entry point: wires the session, the API client and live sync once, then shows the signed-out
// screen or the app, and switches between them when the session changes (sign-in, sign-out,
// another tab, or the server ending the session). A share link (/s/<token>) is decided first: its
// public page is shown whether anyone is signed in or not, and no session is ever made for it
// (no token read, refreshed or sent, no live connection).
import "./styles/app.css";
import { initTheme } from "./theme.js";
import { Session } from "./session.js";
import { Api } from "./api.js";
import { Live } from "./live.js";
import { parseRoute } from "./router.js";
import { App } from "./views/app.js";
import { renderAuth } from "./views/auth.js";
import { renderShared } from "./views/shared.js";

initTheme();
const root = document.getElementById("app");
const route = parseRoute();
if (route.name === "shared") renderShared(root, { api: new Api(null), token: route.token });
else await startApp();

async function startApp() {
  const session = new Session();
  const api = new Api(session);
  const live = new Live(session);
  let app = null;
  let info = null;

  async function loadInfo() {
    try {
      info = await api.get("/info", { auth: false });
    } catch {
      info = null; // the UI falls back to the documented defaults
    }
  }

  function show(notice) {
    app?.stop();
    app = null;
    if (session.signedIn) {
      app = new App(root, { api, session, live, info });
      app.start();
    } else {
      if (location.pathname !== "/") history.replaceState(null, "", "/");
      renderAuth(root, { api, session, info, notice });
      root.setAttribute("aria-busy", "false");
    }
  }

  session.addEventListener("change", (e) => {
    const reason = e.detail?.reason;
    show(reason === "signed-out-elsewhere" ? "You were signed out in another tab." : null);
  });
  session.addEventListener("ended", (e) => {
    const code = e.detail?.error?.code;
    show(code === "TOKEN_REUSED" ? "For your safety you were signed out: this session was used from somewhere else. Please sign in again." : "Your session has ended (it expired or was signed out from another device). Please sign in again.");
  });

  // Signed in, the app starts at once and learns the server's limits when /info answers (its
  // defaults are the documented ones); the sign-in screen waits for it (it shows the demo note).
  const infoLoaded = loadInfo();
  if (session.signedIn) {
    show(null);
    infoLoaded.then(() => app?.setInfo(info));
  } else {
    await infoLoaded;
    show(null);
  }
}
