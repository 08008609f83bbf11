// The console's shell: sign-in, navigation and the router. Each screen is a module under screens/ exporting
// `render(ctx)`; its state lives in the query string, so a reload or a pasted link shows the same view.
import { api, el, token, showError } from "./lib.js";

const screens = {
  overview: { label: "Overview", load: () => import("./screens/overview.js") },
  service: { label: "Service", load: () => import("./screens/service.js"), hidden: true },
  alerts: { label: "Alerts", load: () => import("./screens/alerts.js") },
  funnels: { label: "Funnels", load: () => import("./screens/funnels.js") },
  events: { label: "Events", load: () => import("./screens/events.js") },
  explore: { label: "Explore", load: () => import("./screens/explore.js") },
  dashboards: { label: "Dashboards", load: () => import("./screens/dashboards.js") },
  status: { label: "Status", load: () => import("./screens/status.js") },
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const banner = document.getElementById("banner");
let identity = null;
let cleanup = null;
let generation = 0;

function currentParams() { return new URLSearchParams(location.search); }

/** Replaces (or pushes) the query string with `params` and renders the view. */
export function navigate(params, { replace = false, render = true } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const url = `/?${q}`;
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
  if (render) route();
}

function renderNav(view) {
  nav.replaceChildren(...Object.entries(screens).filter(([, s]) => !s.hidden).map(([key, s]) =>
    el("a", { href: `/?view=${key}`, "data-nav": "1", class: key === view ? "current" : null }, s.label)));
}

function renderWho() {
  who.replaceChildren();
  if (!identity) return;
  who.append(`${identity.name} (${identity.scopes.join(", ")})`,
    el("button", { type: "button", id: "signout", onclick: () => { token.clear(); identity = null; route(); } }, "Sign out"));
}

function renderSignIn(message) {
  renderNav(null);
  renderWho();
  const input = el("input", { type: "password", name: "token", id: "token", autocomplete: "off", placeholder: "token" });
  const form = el("form", { class: "signin", id: "signin" },
    el("h2", {}, "Sign in"),
    el("p", {}, "Paste an Opsight token (auth.tokens in the configuration; `make run` prints a development one). ",
      "It is kept in this tab only (sessionStorage)."),
    input, el("p", {}, el("button", { type: "submit" }, "Sign in")));
  if (message) form.append(el("p", { class: "error", role: "alert" }, message));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    token.set(input.value.trim());
    identity = null;
    await route();
  });
  main.replaceChildren(form);
  input.focus();
}

async function route() {
  const mine = ++generation;
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  banner.hidden = true;
  if (!token.get()) { renderSignIn(); return; }
  if (!identity) {
    try {
      identity = await api("/api/v1/whoami");
    } catch (error) {
      token.clear();
      renderSignIn(error.message);
      return;
    }
  }
  if (mine !== generation) return;
  renderWho();
  const params = currentParams();
  const view = screens[params.get("view")] ? params.get("view") : "overview";
  renderNav(view === "service" ? "overview" : view);
  if (!identity.scopes.includes("read")) {
    main.replaceChildren(el("p", { class: "message", role: "alert" },
      `The token '${identity.name}' has no 'read' scope, so there is nothing it may see here; sign in with a read token.`));
    return;
  }
  let module;
  try {
    module = await screens[view].load();
  } catch (error) {
    main.replaceChildren();
    showError(main, error);
    return;
  }
  if (mine !== generation) return;
  const container = el("div", { class: "screen", "data-screen": view });
  main.replaceChildren(container);
  document.title = `Opsight · ${screens[view].label}`;
  const ctx = {
    container, params, identity,
    isAdmin: identity.scopes.includes("admin"),
    // Updates the query string without re-rendering (the screen already shows it) or with.
    setParams: (changes, { render = false, replace = true } = {}) => {
      const next = Object.fromEntries(currentParams());
      for (const [k, v] of Object.entries(changes)) { if (v === null || v === undefined || v === "") delete next[k]; else next[k] = String(v); }
      navigate(next, { replace, render });
    },
    navigate,
    stale: () => mine !== generation,
  };
  try {
    cleanup = (await module.render(ctx)) ?? null;
  } catch (error) {
    if (mine === generation) showError(container, error);
  }
}

document.addEventListener("click", (e) => {
  const a = e.target.closest?.("a[data-nav]");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  const url = new URL(a.href);
  history.pushState(null, "", url.pathname + url.search);
  route();
});
window.addEventListener("popstate", route);
route();
