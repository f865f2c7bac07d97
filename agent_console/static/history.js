// Call history: search finished calls (lead name, number's last digits, transcript text; campaign; grade), read
// one call's transcript and play its recording with a plain <audio> element (the server supports Range
// requests, so seeking works). The search lives in the URL (#/history?q=…&page=2): back and reload keep it.

import { api } from "./api.js";
import { clear, el, formatDuration, formatTime } from "./dom.js";

const PAGE_SIZE = 25;
const SPEAKER_LABEL = { customer: "Customer", robot: "Robot", agent: "Agent" };

export function renderHistory(root, { params, navigate }) {
  const form = searchForm(params, navigate);
  const results = el("div", { class: "history-results" });
  clear(root).append(el("h1", { text: "Call history" }), form, results);
  search(results, params, navigate);
  return () => {};
}

function searchForm(params, navigate) {
  const q = el("input", {
    type: "search",
    name: "q",
    value: params.get("q") ?? "",
    placeholder: "Name, last digits or words",
  });
  const grade = el(
    "select",
    { name: "grade", attrs: { "aria-label": "Grade" } },
    el("option", { value: "", text: "Any grade" }),
    ...["A", "B", "C", "D"].map((g) => el("option", { value: g, text: g })),
  );
  grade.value = params.get("grade") ?? "";
  const campaign = el(
    "select",
    { name: "campaign", attrs: { "aria-label": "Campaign" } },
    el("option", { value: "", text: "Any campaign" }),
  );
  api
    .get("/api/campaigns")
    .then(({ campaigns }) => {
      for (const c of campaigns) campaign.append(el("option", { value: c.id, text: c.name }));
      campaign.value = params.get("campaign") ?? "";
    })
    .catch(() => {});
  const form = el("form", { class: "search" }, q, campaign, grade, el("button", { type: "submit", text: "Search" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, input] of [
      ["q", q],
      ["campaign", campaign],
      ["grade", grade],
    ]) {
      if (input.value.trim()) next.set(key, input.value.trim());
    }
    navigate(`#/history?${next}`);
  });
  return form;
}

async function search(results, params, navigate) {
  const query = new URLSearchParams(params);
  query.set("page_size", String(PAGE_SIZE));
  let data;
  try {
    data = await api.get(`/api/history?${query}`);
  } catch (error) {
    results.append(el("p", { class: "message", text: error.message }));
    return;
  }
  if (data.items.length === 0) {
    results.append(el("p", { class: "muted", text: "No calls found." }));
    return;
  }
  const rows = data.items.map((item) =>
    el(
      "tr",
      { class: "history-row", on: { click: () => navigate(`#/history/${item.id}`) } },
      el(
        "td",
        {},
        el("a", { href: `#/history/${item.id}`, text: item.lead_name || `Call ${item.id}` }),
        el("div", { class: "muted", text: item.phone ?? "" }),
      ),
      el("td", { text: item.campaign_name ?? "" }),
      el("td", { text: formatTime(item.started_at) }),
      el("td", { text: item.duration_s === null ? "" : formatDuration(item.duration_s) }),
      el("td", { text: (item.outcome ?? "").replaceAll("_", " ") }),
      el("td", {}, el("span", { class: "grade", data: { grade: item.grade ?? "" }, text: item.grade ?? "–" })),
      el("td", { text: item.has_recording ? "▶" : "" }),
    ),
  );
  const head = ["Lead", "Campaign", "Started", "Duration", "Outcome", "Grade", "Rec."].map((h) =>
    el("th", { text: h }),
  );
  results.append(el("table", { class: "history" }, el("thead", {}, el("tr", {}, ...head)), el("tbody", {}, ...rows)));
  results.append(pager(data, params, navigate));
}

function pager({ page, page_size: size, total }, params, navigate) {
  const pages = Math.max(1, Math.ceil(total / size));
  const go = (n) => {
    const next = new URLSearchParams(params);
    next.set("page", String(n));
    navigate(`#/history?${next}`);
  };
  return el(
    "div",
    { class: "pager" },
    el("button", {
      type: "button",
      class: "small",
      text: "← Newer",
      disabled: page <= 1,
      on: { click: () => go(page - 1) },
    }),
    el("span", { class: "muted", text: `Page ${page} of ${pages} · ${total} calls` }),
    el("button", {
      type: "button",
      class: "small",
      text: "Older →",
      disabled: page >= pages,
      on: { click: () => go(page + 1) },
    }),
  );
}

export function renderRecord(root, { recordId }) {
  const box = el("div", { class: "record" }, el("p", { class: "muted", text: "Loading…" }));
  clear(root).append(el("a", { href: "#/history", class: "back", text: "← History" }), box);
  api
    .get(`/api/history/${encodeURIComponent(recordId)}`)
    .then((record) => showRecord(box, record))
    .catch((error) =>
      clear(box).append(el("p", { class: "message", text: error.status === 404 ? "No such call." : error.message })),
    );
  return () => {
    box.querySelector("audio")?.pause();
  };
}

function showRecord(box, record) {
  const facts = [
    record.phone,
    record.campaign_name,
    formatTime(record.started_at),
    record.duration_s === null ? null : formatDuration(record.duration_s),
  ];
  const lines = record.transcript.map((line) =>
    el(
      "li",
      { class: ["line", "final", `speaker-${line.speaker}`] },
      el("span", { class: "who", text: SPEAKER_LABEL[line.speaker] ?? line.speaker }),
      el("span", { class: "at", text: formatDuration(line.start_s ?? 0) }),
      el("span", { class: "text", text: line.text }),
    ),
  );
  clear(box).append(
    el("h1", { text: record.lead_name || `Call ${record.id}` }),
    el("p", { class: "muted", text: facts.filter(Boolean).join(" · ") }),
    el(
      "p",
      {},
      el("span", {
        class: "grade",
        data: { grade: record.grade ?? "" },
        text: record.grade ? `Grade ${record.grade} · ${record.score}` : "Not graded",
      }),
      " ",
      el("span", { class: "badge", text: (record.outcome ?? "no outcome").replaceAll("_", " ") }),
    ),
    record.recording_url
      ? el("audio", { controls: true, preload: "metadata", src: record.recording_url, class: "recording" })
      : el("p", { class: "muted", text: "No recording." }),
    el(
      "div",
      { class: "record-body" },
      el("section", { class: "panel transcript-box" }, el("ol", { class: "transcript" }, ...lines)),
      details(record),
    ),
  );
}

/** The stored signals and handoff, whatever their shape: keys and values as plain text. */
function details(record) {
  const list = el("dl", { class: "details" });
  const add = (key, value) =>
    list.append(el("dt", { text: key }), el("dd", { text: typeof value === "string" ? value : JSON.stringify(value) }));
  for (const [key, value] of Object.entries(record.signals ?? {})) add(key, value);
  for (const [key, value] of Object.entries(record.handoff ?? {})) add(`handoff ${key}`, value);
  return el("section", { class: "panel" }, el("h2", { text: "Signals" }), list);
}
