// Campaigns (docs/console.md, "Campaigns"): the list with status and progress, the create form and a campaign's
// page — lead upload with its cleaning report, Start / Pause / Resume / Stop, progress refreshed every few seconds,
// and charts (funnel, grades, voice-to-voice latency). Supervisors and admins change things; agents read their
// teams' campaigns only (the server enforces both: the buttons are a convenience, not the rule).

import { api } from "./api.js";
import { columnChart, funnelChart, histogramChart } from "./charts.js";
import { clear, el, formatTime } from "./dom.js";

const REFRESH_MS = 3000;
const STAFF = ["supervisor", "admin"];
const GRADES = ["A", "B", "C", "D"];
const STEPS = { draft: ["start"], running: ["pause", "stop"], paused: ["resume", "stop"], stopped: [] };
const STEP_LABEL = { start: "Start", pause: "Pause", resume: "Resume", stop: "Stop" };
const FUNNEL = [
  ["dialed", "Dialed"],
  ["answered", "Answered"],
  ["qualified", "Qualified (A/B)"],
  ["handed_to_person", "Handed to a person"],
];

const isStaff = (user) => STAFF.includes(user.role);

// -- the list ------------------------------------------------------------------------------------------------------

export function renderCampaigns(root, { user, navigate }) {
  const list = el("div", { class: "campaign-list" }, el("p", { class: "muted", text: "Loading…" }));
  const page = el("div", { class: "campaigns" }, el("section", { class: "panel" }, list));
  clear(root).append(el("h1", { text: "Campaigns" }), page);
  const refresh = () =>
    api
      .get("/api/campaigns")
      .then(({ campaigns }) => clear(list).append(campaignTable(campaigns)))
      .catch((error) => clear(list).append(el("p", { class: "message", text: error.message })));
  refresh();
  if (isStaff(user)) page.append(newCampaignForm(navigate));
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}

function campaignTable(campaigns) {
  if (!campaigns.length) return el("p", { class: "empty", text: "No campaigns yet." });
  const head = ["Campaign", "Status", "Leads", "Done", ""].map((h) => el("th", { text: h }));
  const rows = campaigns.map((c) =>
    el(
      "tr",
      { data: { campaignId: c.id } },
      el("td", {}, el("a", { href: `#/campaigns/${c.id}`, text: c.name })),
      el("td", {}, statusBadge(c.status)),
      el("td", { class: "leads", text: c.progress.leads_total }),
      el("td", { text: `${c.progress.done_pct}%` }),
      el("td", {}, el("progress", { max: 100, value: c.progress.done_pct })),
    ),
  );
  return el("table", { id: "campaigns" }, el("thead", {}, el("tr", {}, ...head)), el("tbody", {}, ...rows));
}

function statusBadge(status, id) {
  return el("span", { id, class: "badge campaign-status", data: { status }, text: status });
}

function numberInput(name, value, attrs) {
  return el("input", { name, type: "number", value, required: true, attrs });
}

function newCampaignForm(navigate) {
  const name = el("input", { name: "name", required: true, maxLength: 200, autocomplete: "off" });
  const script = el("select", { name: "script_id", required: true });
  const team = el("select", { name: "team_id" }, el("option", { value: "", text: "No team (staff only)" }));
  const concurrent = numberInput("max_concurrent_calls", 1, { min: 1, max: 1000 });
  const cps = numberInput("calls_per_second", 1, { min: 0.1, max: 100, step: 0.1 });
  const attempts = numberInput("max_attempts", 3, { min: 1, max: 20 });
  const callerId = el("input", { name: "caller_id", placeholder: "+12125550100 (optional)", autocomplete: "off" });
  const status = el("p", { class: "message", attrs: { role: "alert" } });
  fillOptions(script, team, status);
  const field = (label, input) => el("label", {}, label, input);
  const form = el(
    "form",
    { class: "new-campaign panel" },
    el("h2", { text: "New campaign" }),
    field("Name", name),
    field("Script", script),
    field("Team", team),
    field("Max concurrent calls", concurrent),
    field("Calls per second", cps),
    field("Max attempts per lead", attempts),
    field("Caller id", callerId),
    el("p", { class: "muted", text: "Calling windows and retries: the defaults (edit them through the API)." }),
    el("button", { type: "submit", class: "primary", text: "Create" }),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const body = {
      name: name.value.trim(),
      script_id: script.value,
      team_id: team.value ? Number(team.value) : null,
      max_concurrent_calls: Number(concurrent.value),
      calls_per_second: Number(cps.value),
      max_attempts: Number(attempts.value),
      caller_id: callerId.value.trim() || null,
    };
    try {
      const { campaign } = await api.post("/api/campaigns", body);
      navigate(`#/campaigns/${campaign.id}`);
    } catch (error) {
      status.textContent = error.message;
    }
  });
  return form;
}

function fillOptions(script, team, status) {
  api
    .get("/api/scripts")
    .then(({ scripts }) => {
      for (const s of scripts) script.append(el("option", { value: s.id, text: `${s.title} (${s.language})` }));
    })
    .catch((error) => (status.textContent = error.message));
  api
    .get("/api/teams")
    .then(({ teams }) => {
      for (const t of teams) team.append(el("option", { value: t.id, text: t.name }));
    })
    .catch(() => {});
}

// -- one campaign ----------------------------------------------------------------------------------------------------

export function renderCampaign(root, { campaignId, user }) {
  const parts = {
    head: el("div", { class: "campaign-head" }),
    progress: el("section", { class: "panel campaign-progress" }, el("p", { class: "muted", text: "Loading…" })),
    charts: el("section", { class: "panel campaign-charts" }),
    message: el("p", { class: "message", attrs: { role: "alert" } }),
  };
  const upload = isStaff(user) ? uploadPanel(campaignId) : null;
  clear(root).append(
    el("a", { class: "back", href: "#/campaigns", text: "← Campaigns" }),
    parts.head,
    parts.message,
    el("div", { class: "campaign-body" }, el("div", {}, parts.progress, upload?.panel), parts.charts),
  );
  let campaign = null;
  const refresh = async () => {
    try {
      const [data, latency] = await Promise.all([
        api.get(`/api/campaigns/${campaignId}`),
        api.get(`/api/campaigns/${campaignId}/latency`),
      ]);
      campaign = data.campaign;
      showHead(parts.head, campaign, isStaff(user) ? (step) => runStep(step) : null);
      showProgress(parts.progress, data.progress);
      showCharts(parts.charts, data.progress, latency);
      upload?.setStatus(campaign.status);
    } catch (error) {
      parts.message.textContent = error.message;
    }
  };
  const runStep = async (step) => {
    parts.message.textContent = "";
    try {
      await api.post(`/api/campaigns/${campaignId}/${step}`);
    } catch (error) {
      parts.message.textContent = error.message;
    }
    await refresh();
  };
  refresh();
  upload?.onImported(refresh);
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}

function showHead(head, campaign, onStep) {
  const buttons = el("div", { class: "buttons campaign-steps" });
  for (const step of onStep ? STEPS[campaign.status] : []) {
    const cls = step === "stop" ? "danger" : step === "pause" ? "" : "primary";
    const button = el("button", { type: "button", class: cls, text: STEP_LABEL[step], data: { step } });
    button.addEventListener("click", () => {
      button.disabled = true;
      onStep(step);
    });
    buttons.append(button);
  }
  const settings = `script ${campaign.script_id} · up to ${campaign.max_concurrent_calls} calls at once · ${
    campaign.calls_per_second
  } calls/s · ${campaign.max_attempts} attempts · created ${formatTime(campaign.created_at)}`;
  clear(head).append(
    el("div", {}, el("h1", { text: campaign.name }), el("p", { class: "muted", text: settings })),
    el("div", { class: "campaign-state" }, statusBadge(campaign.status, "campaign-status"), buttons),
  );
}

function figure(key, label, value) {
  const parts = [el("span", { class: "n", text: value }), el("span", { class: "label", text: label })];
  return el("div", { class: "count", data: { figure: key } }, ...parts);
}

function showProgress(box, progress) {
  const by = progress.leads_by_status;
  const finished = (by.done ?? 0) + (by.do_not_call ?? 0);
  const pct = progress.leads_total ? Math.round((1000 * finished) / progress.leads_total) / 10 : 0;
  const dispositions = Object.entries(progress.dispositions).map(([k, v]) => `${k} ${v}`);
  clear(box).append(
    el("h2", { text: "Progress" }),
    el(
      "div",
      { class: "counts" },
      figure("leads_total", "leads", progress.leads_total),
      figure("queued", "queued", by.queued ?? 0),
      figure("calling", "calling now", by.calling ?? 0),
      figure("done", "done", by.done ?? 0),
      figure("do_not_call", "do not call", by.do_not_call ?? 0),
      figure("open_attempts", "open attempts", progress.open_attempts),
    ),
    el("progress", { class: "campaign-bar", max: 100, value: pct }),
    el("p", { class: "muted", text: `${pct}% of the leads finished` }),
    el("p", { class: "muted", text: dispositions.length ? `Ended: ${dispositions.join(" · ")}` : "None ended yet." }),
  );
}

function showCharts(box, progress, latency) {
  const funnel = FUNNEL.map(([key, label]) => [label, progress.funnel[key] ?? 0]);
  const grades = GRADES.map((g) => [g, progress.grades[g] ?? 0]);
  const latencyNote =
    latency.n > 0
      ? `${latency.n} replies · median ${latency.p50_ms} ms · p95 ${latency.p95_ms} ms`
      : "No replies measured yet.";
  const chartBox = (chart, svg) => el("div", { class: "chart-box", data: { chart } }, svg);
  clear(box).append(
    el("h2", { text: "Funnel" }),
    chartBox("funnel", funnelChart(funnel, { title: "Funnel" })),
    el("h2", { text: "Grades" }),
    chartBox("grades", columnChart(grades, { title: "Grades", classOf: (g) => `grade-${g}` })),
    el("h2", { text: "Voice-to-voice latency" }),
    el("p", { class: "muted", text: latencyNote }),
    chartBox("latency", histogramChart(latency.bins, { title: "Voice-to-voice latency" })),
  );
}

// -- lead upload and the cleaning report --------------------------------------------------------------------------

function uploadPanel(campaignId) {
  const file = el("input", { type: "file", name: "leads", accept: ".csv,.xlsx", required: true });
  const region = el("input", { name: "region", placeholder: "US", maxLength: 8, size: 4, autocomplete: "off" });
  const submit = el("button", { type: "submit", class: "primary", text: "Upload" });
  const status = el("p", { class: "message", attrs: { role: "alert" } });
  const report = el("div", { class: "cleaning-report" });
  const listeners = [];
  const state = { busy: false, stopped: false };
  const sync = () => (submit.disabled = state.busy || state.stopped);
  const regionField = el("label", {}, "Region of national numbers", region);
  const form = el("form", { class: "lead-upload" }, file, regionField, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    status.textContent = "";
    state.busy = true;
    sync();
    try {
      showReport(report, await uploadLeads(campaignId, file.files[0], region.value.trim()));
      form.reset();
      for (const listener of listeners) listener();
    } catch (error) {
      status.textContent = error.status === 429 ? "Another import is running: try again shortly." : error.message;
    } finally {
      state.busy = false;
      sync();
    }
  });
  latestImport(campaignId).then((found) => found && showReport(report, found)).catch(() => {});
  const panel = el("section", { class: "panel campaign-upload" }, el("h2", { text: "Leads" }), form, status, report);
  return {
    panel,
    onImported: (listener) => listeners.push(listener),
    setStatus: (campaignStatus) => {
      state.stopped = campaignStatus === "stopped";
      sync();
    },
  };
}

/** POST the File itself as the body (docs/console-api.md, "Lead imports"); the cleaning summary. */
function uploadLeads(campaignId, file, region) {
  const params = new URLSearchParams({ filename: file.name });
  if (region) params.set("region", region);
  return api.upload(`/api/campaigns/${campaignId}/imports?${params}`, file);
}

async function latestImport(campaignId) {
  const { imports } = await api.get(`/api/campaigns/${campaignId}/imports`);
  if (!imports.length) return null;
  return api.get(`/api/imports/${imports[0].id}`);
}

function showReport(box, summary) {
  const reasons = Object.entries(summary.rejected).map(([reason, count]) =>
    el("tr", { data: { reason } }, el("td", { text: reason }), el("td", { class: "n", text: count })),
  );
  clear(box).append(
    el("h3", { text: "Cleaning report" }),
    el(
      "div",
      { class: "counts" },
      figure("rows_total", "rows", summary.rows_total),
      figure("rows_kept", "kept", summary.rows_kept),
      figure("rows_rejected", "rejected", summary.rows_rejected),
    ),
    reasons.length ? rejectionTable(reasons) : el("p", { class: "muted", text: "No row was rejected." }),
    summary.rows_rejected
      ? el("a", { href: summary.report_url, class: "report-link", text: "Rejected rows (report.csv)", download: "" })
      : null,
  );
}

function rejectionTable(rows) {
  const head = el("tr", {}, el("th", { text: "Reason" }), el("th", { text: "Rows" }));
  return el("table", { class: "rejections" }, el("thead", {}, head), el("tbody", {}, ...rows));
}
