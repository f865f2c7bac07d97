// Administration (admins): users (create, role, teams, deactivate / reactivate, password reset) and teams; and
// the audit log (supervisors and admins). Every change goes through the REST API with the CSRF header (api.js).

import { api } from "./api.js";
import { clear, el, formatTime } from "./dom.js";

const ROLES = ["agent", "supervisor", "admin"];

export function renderUsers(root) {
  const page = el("div", { class: "admin" }, el("p", { class: "muted", text: "Loading…" }));
  clear(root).append(el("h1", { text: "Users and teams" }), page);
  const refresh = async () => {
    try {
      const [{ users }, { teams }] = await Promise.all([api.get("/api/users"), api.get("/api/teams")]);
      clear(page).append(usersPanel(users, teams, refresh), teamsPanel(teams, refresh));
    } catch (error) {
      clear(page).append(el("p", { class: "message", text: error.message }));
    }
  };
  refresh();
  return () => {};
}

function teamPicker(teams, selected = []) {
  const picker = el("select", { multiple: true, class: "teams", attrs: { "aria-label": "Teams" } });
  for (const team of teams)
    picker.append(el("option", { value: team.id, text: team.name, selected: selected.includes(team.id) }));
  return picker;
}

const pickedTeams = (picker) => [...picker.selectedOptions].map((option) => Number(option.value));

function usersPanel(users, teams, refresh) {
  const status = el("p", { class: "message", attrs: { role: "alert" } });
  const act = (work) => async () => {
    status.textContent = "";
    try {
      await work();
      await refresh();
    } catch (error) {
      status.textContent = error.message;
    }
  };
  const rows = users.map((user) => {
    const role = el(
      "select",
      { attrs: { "aria-label": "Role" } },
      ...ROLES.map((r) => el("option", { value: r, text: r })),
    );
    role.value = user.role;
    const picker = teamPicker(
      teams,
      user.teams.map((t) => t.id),
    );
    const save = el("button", { type: "button", class: "small", text: "Save" });
    save.addEventListener(
      "click",
      act(() => api.patch(`/api/users/${user.id}`, { role: role.value, team_ids: pickedTeams(picker) })),
    );
    const toggle = el("button", { type: "button", class: "small", text: user.active ? "Deactivate" : "Reactivate" });
    toggle.addEventListener(
      "click",
      act(() =>
        user.active ? api.del(`/api/users/${user.id}`) : api.patch(`/api/users/${user.id}`, { active: true }),
      ),
    );
    const reset = el("button", { type: "button", class: "small", text: "New password" });
    reset.addEventListener(
      "click",
      act(async () => {
        const password = window.prompt(`New password for ${user.username} (8 characters or more)`);
        if (password) await api.post(`/api/users/${user.id}/password`, { password });
      }),
    );
    return el(
      "tr",
      { class: user.active ? "" : "inactive", data: { username: user.username } },
      el("td", { text: user.username }),
      el("td", {}, role),
      el("td", {}, picker),
      el("td", { text: user.active ? "active" : "deactivated" }),
      el("td", {}, el("div", { class: "actions" }, save, toggle, reset)),
    );
  });
  const head = ["User", "Role", "Teams", "Status", ""].map((h) => el("th", { text: h }));
  return el(
    "section",
    { class: "panel" },
    el("h2", { text: "Users" }),
    status,
    el("table", { class: "users" }, el("thead", {}, el("tr", {}, ...head)), el("tbody", {}, ...rows)),
    newUserForm(teams, act),
  );
}

function newUserForm(teams, act) {
  const username = el("input", { name: "username", placeholder: "username", required: true, autocomplete: "off" });
  const password = el("input", {
    name: "password",
    type: "password",
    placeholder: "password (8+)",
    required: true,
    autocomplete: "new-password",
  });
  const role = el(
    "select",
    { name: "role", attrs: { "aria-label": "Role" } },
    ...ROLES.map((r) => el("option", { value: r, text: r })),
  );
  const picker = teamPicker(teams);
  const form = el(
    "form",
    { class: "new-user" },
    el("h3", { text: "New user" }),
    username,
    password,
    role,
    picker,
    el("button", { type: "submit", text: "Create" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(() =>
      api.post("/api/users", {
        username: username.value.trim(),
        password: password.value,
        role: role.value,
        team_ids: pickedTeams(picker),
      }),
    )();
  });
  return form;
}

function teamsPanel(teams, refresh) {
  const name = el("input", { name: "team", placeholder: "team name", required: true });
  const status = el("p", { class: "message", attrs: { role: "alert" } });
  const form = el("form", { class: "new-team" }, name, el("button", { type: "submit", text: "Add team" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.post("/api/teams", { name: name.value.trim() });
      await refresh();
    } catch (error) {
      status.textContent = error.status === 409 ? "That team exists already." : error.message;
    }
  });
  const list = el(
    "ul",
    { class: "team-list" },
    ...teams.map((t) => el("li", { text: `${t.name} · ${t.member_ids.length} members` })),
  );
  return el("section", { class: "panel" }, el("h2", { text: "Teams" }), list, form, status);
}

export function renderAudit(root) {
  const box = el("div", {}, el("p", { class: "muted", text: "Loading…" }));
  clear(root).append(el("h1", { text: "Audit log" }), box);
  api
    .get("/api/audit?limit=200")
    .then(({ entries }) => {
      const rows = entries.map((e) =>
        el(
          "tr",
          {},
          el("td", { text: formatTime(e.at) }),
          el("td", { text: e.user_id ?? "" }),
          el("td", { text: e.action }),
          el("td", { text: e.call_id ?? "" }),
          el("td", {
            class: "muted",
            text: e.details && Object.keys(e.details).length ? JSON.stringify(e.details) : "",
          }),
        ),
      );
      const head = ["When", "User id", "Action", "Call", "Details"].map((h) => el("th", { text: h }));
      clear(box).append(
        el("table", { class: "audit" }, el("thead", {}, el("tr", {}, ...head)), el("tbody", {}, ...rows)),
      );
    })
    .catch((error) => clear(box).append(el("p", { class: "message", text: error.message })));
  return () => {};
}
