// The analyst and supervisor dashboard: the figures that say whether the bot helps (containment,
// first response, waits, CSAT, escalation accuracy), charts over days, the flows with their validation
// and conversation tests, and de-identified transcripts to review. Nothing here shows a patient.
import { el, api, signIn, signOut, duration, percent } from "/assets/staff.js";
import { barChart, lineChart } from "/assets/charts.js";

const app = document.getElementById("app");
const me = await signIn(app, ["analyst", "supervisor", "admin"], "Careline dashboard");
const readsFlows = me.role !== "admin";

/** Seconds on a chart axis: tenths below ten seconds, so a small scale does not read "1 s, 1 s, 0 s". */
const secs = (v) => (v < 10 ? `${v.toFixed(1)} s` : duration(v));

const windowSelect = el("select", { id: "window" }, [7, 14, 30, 90].map((d) => el("option", { value: String(d), text: `Last ${d} days` })));
windowSelect.value = "14";
const updated = el("span", { class: "muted", role: "status" });
const grid = el("div");
app.append(
  el("header", { class: "topbar" }, [
    el("h1", { text: "Careline dashboard" }),
    el("span", { text: `${me.name} (${me.role})` }),
    el("label", { for: "window", text: "Period" }), windowSelect,
    el("button", { type: "button", text: "Refresh", onclick: () => load() }),
    updated,
    el("button", { type: "button", text: "Sign out", onclick: signOut }),
  ]),
  grid,
);
windowSelect.addEventListener("change", () => loadFigures());

function figure(label, value, note) {
  return el("div", { class: "figure" }, [el("span", { class: "value", text: value }), el("span", { class: "label", text: label }), note ? el("span", { class: "muted", text: " " + note }) : null]);
}

function headline(s) {
  const acc = s.escalation_accuracy;
  return el("section", { class: "card wide", "aria-labelledby": "headline-title" }, [
    el("h2", { id: "headline-title", text: "At a glance" }),
    el("div", { class: "figures" }, [
      figure("Chats", String(s.chats), `(${s.engaged} engaged)`),
      figure("Containment rate", percent(s.containment_rate), `(${s.contained} resolved by the bot)`),
      figure("Hand-offs", String(s.handoffs)),
      figure("Phone escalations", String(s.phone_escalations)),
      figure("First response, median", duration(s.first_response_seconds.count ? s.first_response_seconds.p50 : null), `p90 ${duration(s.first_response_seconds.count ? s.first_response_seconds.p90 : null)}`),
      figure("Queue wait, median", duration(s.queue_wait_seconds.count ? s.queue_wait_seconds.p50 : null), `p90 ${duration(s.queue_wait_seconds.count ? s.queue_wait_seconds.p90 : null)}`),
      figure("CSAT", s.csat.count ? `${s.csat.mean.toFixed(2)} / 5` : "–", `(${s.csat.count} ratings)`),
      figure("Unneeded hand-offs", percent(acc.reviewed ? acc.unnecessary_rate : null), `(${acc.reviewed} reviewed)`),
      figure("Wrong reason", percent(acc.reviewed ? acc.wrong_reason_rate : null)),
      figure("Under-triaged", String(acc.under_triaged), "reason less urgent than the truth"),
    ]),
  ]);
}

function flowsCard(report, runTests) {
  const { disk, tests } = report;
  const failing = tests ? tests.results.filter((r) => !r.passed) : [];
  return el("section", { class: "card wide", "aria-labelledby": "flows-title" }, [
    el("h2", { id: "flows-title", text: "Flows" }),
    el("p", {}, [
      el("span", { class: `badge ${disk.valid ? "ok" : "fail"}`, text: disk.valid ? "Files on disk validate" : `${disk.problems.length} problem(s) on disk` }),
      disk.changed_since_start ? " Edited since the server started: restart to serve the edits. " : " ",
      tests
        ? el("span", { class: `badge ${tests.failed || tests.problems.length ? "fail" : "ok"}`, text: `Conversation tests: ${tests.passed} passed, ${tests.failed} failed` })
        : null,
      tests ? el("span", { class: "muted", text: ` (${tests.directory}) ` }) : null,
      // Tests run on request: a flow's lookups may reach the plan's own systems.
      el("button", { type: "button", class: "secondary", text: tests ? "Run the tests again" : "Run the conversation tests", onclick: runTests }),
    ]),
    disk.problems.length ? el("ul", {}, disk.problems.map((p) => el("li", { text: `${p.file}:${p.line}${p.step ? ` (${p.step})` : ""}: ${p.problem}. Fix: ${p.fix}` }))) : null,
    failing.length || (tests && tests.problems.length) ? el("ul", {}, [
      ...failing.map((r) => el("li", {}, [el("strong", { text: `FAIL ${r.name}` }), ` (${r.file}:${r.line}): ${r.failures.join("; ")}`])),
      ...tests.problems.map((p) => el("li", { text: `${p.file}:${p.line}: ${p.problem}` })),
    ]) : null,
    el("table", {}, [
      el("thead", {}, el("tr", {}, ["Flow", "What it does", "Languages", "Steps", "Verification", "Hand-offs go to"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, report.flows.map((f) => el("tr", {}, [
        el("th", { scope: "row", text: f.id }),
        el("td", { text: f.description }),
        el("td", { text: f.languages.join(" ") }),
        el("td", { text: String(f.steps) }),
        el("td", { text: f.requires_verification ? "required" : "–" }),
        el("td", { text: f.skill }),
      ]))),
    ]),
    tests ? el("details", {}, [
      el("summary", { text: `Every conversation test (${tests.results.length})` }),
      el("ul", {}, tests.results.map((r) => el("li", {}, [
        el("span", { class: `badge ${r.passed ? "ok" : "fail"}`, text: r.passed ? "pass" : "FAIL" }),
        ` ${r.name} `,
        el("span", { class: "muted", text: `${r.file}:${r.line}` }),
      ]))),
    ]) : null,
  ]);
}

function transcriptsCard(list) {
  return el("section", { class: "card wide", "aria-labelledby": "tr-title" }, [
    el("h2", { id: "tr-title", text: "Transcripts to review (de-identified)" }),
    el("div", { class: "transcript-review" }, list.length ? list.map((t) => el("article", {}, [
      el("h3", { text: `${t.chat} · ${t.language} · ${t.intent || "no intent"} · ${t.handoff_reason ? "handed off: " + t.handoff_reason : t.contained ? "contained" : "not contained"}${t.csat ? ` · CSAT ${t.csat}` : ""}` }),
      el("details", {}, [el("summary", { text: `${t.messages.length} messages` }), el("ol", {}, t.messages.map((m) => el("li", { text: `${m.sender}: ${m.text}` })))]),
    ])) : el("p", { class: "muted", text: "No closed chats yet." })),
  ]);
}

// Three areas, refreshed separately: the figures every minute; the flows and the transcripts (whose
// every read is audited as an export) when the page opens or on request.
const figures = el("div", { class: "dashboard" });
const flowsArea = el("div", { class: "dashboard-area" });
const transcriptsArea = el("div", { class: "dashboard-area" });
grid.replaceChildren(figures, flowsArea, transcriptsArea);

async function loadFigures() {
  const days = windowSelect.value;
  try {
    const [summary, daily] = await Promise.all([api("GET", `/metrics/summary?days=${days}`), api("GET", `/metrics/daily?days=${days}`)]);
    const labels = daily.map((d) => d.date.slice(5));
    const entries = (o) => Object.entries(o).sort((a, b) => b[1] - a[1]);
    figures.replaceChildren(
      headline(summary),
      lineChart("Chats and hand-offs per day", labels, [
        { name: "Chats", values: daily.map((d) => d.chats) },
        { name: "Hand-offs", values: daily.map((d) => d.handoffs) },
      ]),
      lineChart("Containment rate per day", labels, [{ name: "Containment", values: daily.map((d) => (d.chats ? d.containment_rate * 100 : null)) }], (v) => `${Math.round(v)}%`),
      lineChart("Queue waits over time", labels, [
        { name: "Median wait", values: daily.map((d) => d.queue_wait_p50) },
        { name: "90th percentile", values: daily.map((d) => d.queue_wait_p90) },
      ], secs),
      lineChart("First response per day (median)", labels, [{ name: "First response", values: daily.map((d) => d.first_response_p50) }], secs),
      barChart("Hand-offs by reason", entries(summary.handoffs_by_reason)),
      barChart("Hand-offs by language", entries(summary.handoffs_by_language)),
      barChart("Queue wait by queue (median)", Object.entries(summary.queue_wait_by_queue).map(([q, d]) => [q, d.p50]), secs),
      barChart("CSAT ratings", summary.csat.distribution.map((n, i) => [`${i + 1} of 5`, n])),
    );
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    figures.replaceChildren(el("p", { class: "problem", role: "alert", text: `Could not load the figures: ${e.message}` }));
  }
}

async function loadFlows(tests = false) {
  try {
    const report = await api("GET", `/analyst/flows${tests ? "?tests=true" : ""}`);
    flowsArea.replaceChildren(flowsCard(report, () => loadFlows(true)));
  } catch (e) {
    flowsArea.replaceChildren(el("p", { class: "problem", role: "alert", text: `Could not load the flows: ${e.message}` }));
  }
}

async function loadTranscripts() {
  try {
    const r = await api("GET", "/analyst/transcripts?limit=20");
    transcriptsArea.replaceChildren(transcriptsCard(r.transcripts));
  } catch (e) {
    transcriptsArea.replaceChildren(el("p", { class: "problem", role: "alert", text: `Could not load the transcripts: ${e.message}` }));
  }
}

function load() {
  const all = [loadFigures()];
  if (readsFlows) all.push(loadFlows(), loadTranscripts());
  return Promise.all(all);
}

await load();
setInterval(loadFigures, 60000);
