// The console's entry point: who is logged in, and a hash router (#/login, #/board, #/calls/{id}, #/history,
// #/history/{id}, #/campaigns, #/campaigns/{id}). Hash routes because the server serves index.html at `/` only;
// every view is a function `render(root, context) -> cleanup`, and the cleanup (closing sockets, the microphone,
// refresh timers) runs on every route change.

import { renderAudit, renderUsers } from "./admin.js";
import { api, onUnauthenticated } from "./api.js";
import { renderBoard } from "./board.js";
import { renderCall } from "./call.js";
import { renderCampaign, renderCampaigns } from "./campaigns.js";
import { clear, el } from "./dom.js";
import "./hooks.js";
import { renderHistory, renderRecord } from "./history.js";

const root = document.getElementById("view");
const userBox = document.getElementById("user");
const nav = document.getElementById("nav");
let user = null;
let cleanup = null;

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

const ROUTES = [
  [/^#\/board$/, () => renderBoard(root, { navigate })],
  [/^#\/calls\/([^/?]+)$/, (m) => renderCall(root, { callId: decodeURIComponent(m[1]), user, navigate })],
  [/^#\/history(?:\?(.*))?$/, (m) => renderHistory(root, { params: new URLSearchParams(m[1] ?? ""), navigate })],
  [/^#\/history\/(\d+)$/, (m) => renderRecord(root, { recordId: m[1] })],
  [/^#\/campaigns$/, () => renderCampaigns(root, { user, navigate })],
  [/^#\/campaigns\/(\d+)$/, (m) => renderCampaign(root, { campaignId: m[1], user })],
  [/^#\/admin\/users$/, () => renderUsers(root), "admin"],
  [/^#\/audit$/, () => renderAudit(root), "staff"],
];
const STAFF = ["supervisor", "admin"];

/** Whether the user's role may open a page restricted to `need` ("admin", "staff"); the server checks again. */
function allowed(need) {
  if (!need) return true;
  return need === "admin" ? user.role === "admin" : STAFF.includes(user.role);
}

function route() {
  cleanup?.();
  cleanup = null;
  const hash = location.hash || "#/board";
  if (!user) {
    renderLogin(hash === "#/login" ? "#/board" : hash);
    return;
  }
  for (const [pattern, render, need] of ROUTES) {
    const match = hash.match(pattern);
    if (match && allowed(need)) {
      cleanup = render(match);
      markNav(hash);
      return;
    }
  }
  navigate("#/board");
}

function markNav(hash) {
  for (const link of nav.querySelectorAll("a")) {
    link.classList.toggle("current", hash.startsWith(link.getAttribute("href")));
  }
}

function showUser() {
  clear(userBox);
  nav.hidden = !user;
  if (!user) return;
  for (const link of nav.querySelectorAll("a[data-need]")) link.hidden = !allowed(link.dataset.need);
  const logout = el("button", { type: "button", class: "small", text: "Log out" });
  logout.addEventListener("click", async () => {
    await api.logout().catch(() => {});
    user = null;
    showUser();
    navigate("#/login");
  });
  userBox.append(
    el("span", { class: "username", text: user.username }),
    el("span", { class: "role", text: user.role }),
    logout,
  );
}

function renderLogin(next) {
  const username = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = el("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const error = el("p", { id: "login-error", class: "message", attrs: { role: "alert" } });
  const form = el(
    "form",
    { id: "login", class: "login panel" },
    el("h1", { text: "Agent console" }),
    el("label", {}, "Username", username),
    el("label", {}, "Password", password),
    el("button", { type: "submit", class: "primary", text: "Log in" }),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      user = await api.login(username.value, password.value);
    } catch (e) {
      error.textContent =
        e.status === 429
          ? "Too many attempts: wait a few minutes."
          : e.status === 401
            ? "Wrong username or password."
            : e.message;
      return;
    }
    showUser();
    navigate(next);
  });
  clear(root).append(form);
  username.focus();
}

onUnauthenticated(() => {
  if (!user) return;
  user = null;
  showUser();
  navigate("#/login");
});

window.addEventListener("hashchange", route);

async function boot() {
  try {
    user = await api.me();
  } catch {
    user = null; // 401: the login page
  }
  showUser();
  route();
}

boot();
