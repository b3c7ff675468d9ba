// The agent console: queues and offers on the left, the agent's chats in tabs, each with its whisper
// (the private context panel the patient never sees). Everything live comes over the console
// WebSocket; every action is a REST call whose answer is the stored result.
import { el, api, signIn, signOut, socketUrl, duration } from "/assets/staff.js";

const app = document.getElementById("app");
await signIn(app, ["agent", "nurse", "supervisor"], "Careline agent console");
const profile = await api("GET", "/agent/me");
const supervisor = profile.role === "supervisor";

const offers = new Map(); // chat id -> offer notice with its deadline
const chats = new Map(); // chat id -> { view, dom, alerts }
let queues = [];
let active = null;
let muted = false;

// ---- the frame -------------------------------------------------------------------------------------

const presence = el("select", { id: "presence" }, [
  el("option", { value: "available", text: "Available" }),
  el("option", { value: "away", text: "Away" }),
  el("option", { value: "offline", text: "Offline" }),
]);
presence.value = profile.status;
/** What the agent chose: the server sets an agent Away when the console's connection drops, so after a
 * reconnect the console asks for it again rather than leave the agent believing they take offers. */
let wanted = profile.status;
presence.addEventListener("change", async () => {
  wanted = presence.value;
  try {
    const r = await api("POST", "/agent/status", { status: presence.value });
    presence.value = r.status;
  } catch (e) {
    presenceNote.textContent = `Status not changed: ${e.message}`;
    presenceNote.hidden = false;
  }
});
const sound = el("button", { type: "button", "aria-pressed": "true", text: "Sound on" });
sound.addEventListener("click", () => {
  muted = !muted;
  sound.setAttribute("aria-pressed", String(!muted));
  sound.textContent = muted ? "Sound off" : "Sound on";
});
const connection = el("span", { class: "muted", role: "status" });
const queueBody = el("tbody");
// The offer list changes every second (its timers): it is no live region. New offers and alerts are
// announced once, in their own regions.
const offerList = el("div");
const announcer = el("p", { class: "sr-only", "aria-live": "assertive" });
const alerts = el("div", { class: "alerts", role: "alert" });
const presenceNote = el("p", { class: "problem", role: "status", hidden: true });
const waitingList = el("div");
const tabs = el("div", { class: "tabs", role: "tablist", "aria-label": "My chats" });
const panels = el("div");
const empty = el("p", { class: "muted", text: "No chats yet. Set yourself Available to receive offers." });

app.append(
  el("header", { class: "topbar" }, [
    el("h1", { text: "Careline console" }),
    el("span", { text: `${profile.name} (${profile.role}) · ${profile.languages.join(", ")} · ${profile.skills.join(", ")}` }),
    el("label", { for: "presence", text: "Status" }), presence,
    sound, connection,
    el("button", { type: "button", text: "Sign out", onclick: signOut }),
  ]),
  announcer, alerts, presenceNote,
  el("div", { class: "console" }, [
    el("div", { class: "side" }, [
      el("section", { class: "card", "aria-labelledby": "queues-title" }, [
        el("h2", { id: "queues-title", text: "Queues" }),
        el("table", {}, [
          el("thead", {}, el("tr", {}, ["Queue", "Waiting", "Crisis", "Oldest wait", "On shift"].map((h) => el("th", { scope: "col", text: h })))),
          queueBody,
        ]),
      ]),
      el("section", { class: "card", "aria-labelledby": "offers-title" }, [el("h2", { id: "offers-title", text: "Offers" }), offerList]),
      supervisor ? el("section", { class: "card", "aria-labelledby": "waiting-title" }, [el("h2", { id: "waiting-title", text: "Waiting chats (serving order)" }), waitingList]) : null,
    ]),
    el("section", { class: "work", "aria-label": "My chats" }, [tabs, empty, panels]),
  ]),
);

// ---- sound: a short tone for an offer, three urgent ones for a crisis ------------------------------

let audio = null;
function beep(urgent) {
  if (muted) return;
  try {
    audio ||= new AudioContext();
    const tones = urgent ? [880, 660, 880] : [660];
    tones.forEach((f, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = f;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + i * 0.2);
      osc.stop(audio.currentTime + i * 0.2 + 0.15);
    });
  } catch { /* no audio device: the visual cue still shows */ }
}

// ---- queues and offers -----------------------------------------------------------------------------

function renderQueues() {
  const sorted = [...queues].sort((a, b) => b.crisis - a.crisis || b.oldest_wait_seconds - a.oldest_wait_seconds);
  queueBody.replaceChildren(...sorted.map((q) => el("tr", { class: q.crisis ? "crisis-row" : null }, [
    el("th", { scope: "row", text: q.queue }),
    el("td", { text: String(q.waiting) }),
    el("td", {}, q.crisis ? el("span", { class: "badge crisis", text: `${q.crisis} crisis` }) : "0"),
    el("td", { text: duration(q.oldest_wait_seconds) }),
    el("td", { text: String(q.agents_on_shift) }),
  ])));
  if (!sorted.length) queueBody.append(el("tr", {}, el("td", { colspan: "5", class: "muted", text: "Nobody is waiting." })));
  if (supervisor) refreshWaiting().catch(() => {});
}

function evidenceList(whisper) {
  const items = (whisper.risk || []).flatMap((r) => r.evidence.map((e) =>
    el("li", {}, [el("span", { class: `badge ${r.level === "crisis" ? "crisis" : ""}`, text: r.level }), ` “${e.phrase}” (${e.lang}${e.kind ? ", " + e.kind.replace("_", " ") : ""}${e.context ? ", " + e.context : ""})`])));
  return items.length ? el("ul", { class: "evidence" }, items) : null;
}

function renderOffers() {
  const list = [...offers.values()].sort((a, b) => (b.priority === "crisis") - (a.priority === "crisis"));
  offerList.replaceChildren(...list.map((o) => {
    const crisis = o.priority === "crisis";
    return el("article", { class: `offer ${crisis ? "crisis" : ""}`, "aria-label": `Offer: ${o.queue}, ${o.reason || "hand-off"}` }, [
      el("p", {}, [el("span", { class: `badge ${crisis ? "crisis" : o.priority === "high" ? "high" : ""}`, text: o.priority }), ` ${o.queue} · ${o.reason || ""}`]),
      el("p", { class: "timer", "data-chat": o.chat, text: timerText(o) }),
      o.whisper.summary ? el("p", { text: o.whisper.summary }) : null,
      evidenceList(o.whisper),
      el("div", { class: "buttons" }, [
        el("button", { type: "button", class: crisis ? "danger" : "primary", text: "Take", onclick: () => take(o.chat) }),
        el("button", { type: "button", class: "secondary", text: "Decline", onclick: () => decline(o.chat) }),
      ]),
    ]);
  }));
  if (!list.length) offerList.append(el("p", { class: "muted", text: "No offers." }));
  titleAlerts();
}

function timerText(o) {
  return `Take within ${Math.max(0, Math.ceil((o.deadline - Date.now()) / 1000))} s`;
}

setInterval(() => {
  for (const node of offerList.querySelectorAll(".timer")) {
    const o = offers.get(node.dataset.chat);
    if (o) node.textContent = timerText(o);
  }
}, 1000);

async function refreshWaiting() {
  const r = await api("GET", "/supervisor/chats");
  waitingList.replaceChildren(...r.waiting.map((w) => el("p", {}, [
    el("span", { class: `badge ${w.priority === "crisis" ? "crisis" : ""}`, text: w.priority }),
    ` ${w.queue} · waiting since ${new Date(w.since).toLocaleTimeString()} `,
    el("button", { type: "button", class: "secondary", text: "Take", onclick: () => take(w.chat) }),
  ])));
  if (!r.waiting.length) waitingList.append(el("p", { class: "muted", text: "Nobody is waiting." }));
}

async function take(id) {
  try {
    const view = await api("POST", `/agent/chats/${id}/take`);
    offers.delete(id);
    renderOffers();
    showChat(view);
  } catch (e) {
    alert(`Could not take the chat: ${e.message}`);
  }
}

async function decline(id) {
  await api("POST", `/agent/chats/${id}/decline`).catch(() => {});
  offers.delete(id);
  renderOffers();
}

// ---- chats in tabs ---------------------------------------------------------------------------------

function select(id) {
  active = id;
  for (const [cid, c] of chats) {
    const on = cid === id;
    c.dom.tab.setAttribute("aria-selected", String(on));
    c.dom.tab.tabIndex = on ? 0 : -1;
    c.dom.panel.hidden = !on;
  }
}

tabs.addEventListener("keydown", (e) => {
  const ids = [...chats.keys()];
  const i = ids.indexOf(active);
  if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
    const next = ids[(i + (e.key === "ArrowRight" ? 1 : ids.length - 1)) % ids.length];
    select(next);
    chats.get(next).dom.tab.focus();
  }
});

function tabLabel(view) {
  return `${view.state.handoff ? view.state.handoff.queue : view.state.language}${view.state.handoff && view.state.handoff.priority === "crisis" ? " · crisis" : ""}`;
}

async function openChat(id) {
  showChat(await api("GET", `/agent/chats/${id}`));
}

function showChat(view) {
  let c = chats.get(view.chat_id);
  if (!c) {
    c = { view, dom: buildChat(view.chat_id), seen: new Set(), acknowledged: 0 };
    chats.set(view.chat_id, c);
    tabs.append(c.dom.tab);
    panels.append(c.dom.panel);
    empty.hidden = true;
    const busy = active && chats.get(active) && chats.get(active).dom.reply.value.trim();
    if (!busy) select(view.chat_id);
  }
  c.view = view;
  renderChat(c);
}

function buildChat(id) {
  const tab = el("button", { type: "button", role: "tab", id: `tab-${id}`, "aria-controls": `panel-${id}`, onclick: () => select(id) });
  const panel = el("section", { role: "tabpanel", id: `panel-${id}`, "aria-labelledby": `tab-${id}`, hidden: true });
  const heading = el("h2");
  const transcript = el("ol", { class: "transcript", "aria-label": "Transcript", "aria-live": "polite", tabindex: "0" });
  const typing = el("p", { class: "typing-note", "aria-live": "polite" });
  const reply = el("textarea", { id: `reply-${id}`, rows: "3" });
  const replyForm = el("form", { class: "reply" }, [
    el("label", { for: `reply-${id}`, class: "sr-only", text: "Reply to the patient" }), reply,
    el("button", { type: "submit", class: "primary", text: "Send" }),
  ]);
  let lastTyping = 0;
  reply.addEventListener("input", () => {
    if (Date.now() - lastTyping > 2000 && socket && socket.readyState === WebSocket.OPEN) {
      lastTyping = Date.now();
      socket.send(JSON.stringify({ type: "typing", chat: id }));
    }
  });
  reply.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); replyForm.requestSubmit(); }
  });
  replyForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = reply.value.trim();
    if (!text || replyForm.dataset.sending) return;
    // One send at a time: Enter pressed twice must not send the words twice.
    replyForm.dataset.sending = "1";
    reply.value = "";
    try {
      const r = await api("POST", `/agent/chats/${id}/messages`, { text });
      lastTyping = 0; // the message ended the patient's typing notice: the next keystroke starts a new one
      const c = chats.get(id);
      if (c) addMessage(c, r.message);
    } catch (err) {
      reply.value = reply.value ? `${text}\n${reply.value}` : text;
      problem(panel, `Not sent: ${err.message}`);
    } finally {
      delete replyForm.dataset.sending;
    }
  });

  // Canned responses, searched in the patient's language.
  const cannedQuery = el("input", { id: `canned-${id}`, type: "search" });
  const cannedResults = el("ul", { class: "canned-results" });
  const searchCanned = async () => {
    const lang = chats.get(id).view.state.language;
    const r = await api("GET", `/agent/canned?lang=${encodeURIComponent(lang)}&q=${encodeURIComponent(cannedQuery.value)}`);
    cannedResults.replaceChildren(...r.canned.map((c) => el("li", {}, el("button", {
      type: "button", class: "secondary suggestion", text: `${c.title}: ${c.text}`,
      onclick: () => { reply.value = c.text; reply.focus(); },
    }))));
    if (!r.canned.length) cannedResults.append(el("li", { class: "muted", text: "No canned response matches." }));
  };
  cannedQuery.addEventListener("input", searchCanned);

  // Transfer: to a queue or a named agent, with a note for whoever is next.
  const queueSelect = el("select", { id: `tq-${id}` }, [el("option", { value: "", text: "(a queue)" }), ...profile.queues.map((q) => el("option", { value: q, text: q }))]);
  const agentInput = el("input", { id: `ta-${id}`, placeholder: "agent id" });
  const note = el("textarea", { id: `tn-${id}`, rows: "2", required: true });
  const transfer = el("form", {}, [
    el("label", { for: `tq-${id}`, text: "To queue" }), queueSelect,
    el("label", { for: `ta-${id}`, text: "Or to agent" }), agentInput,
    el("label", { for: `tn-${id}`, text: "Note for the next agent" }), note,
    el("button", { type: "submit", class: "secondary", text: "Transfer" }),
  ]);
  transfer.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = agentInput.value.trim() ? { agent: agentInput.value.trim(), note: note.value } : { queue: queueSelect.value, note: note.value };
    try { await api("POST", `/agent/chats/${id}/transfer`, body); } catch (err) { problem(panel, `Transfer failed: ${err.message}`); }
  });

  // Escalate to phone: a call-back request with the number and the reason.
  const phone = el("input", { id: `pp-${id}`, type: "tel", required: true, autocomplete: "off" });
  const phoneReason = el("input", { id: `pr-${id}`, required: true });
  const phoneForm = el("form", {}, [
    el("label", { for: `pp-${id}`, text: "Phone number" }), phone,
    el("label", { for: `pr-${id}`, text: "Reason" }), phoneReason,
    el("button", { type: "submit", class: "danger", text: "Request a call-back" }),
  ]);
  phoneForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("POST", `/agent/chats/${id}/phone`, { phone: phone.value, reason: phoneReason.value });
      problem(panel, "Call-back requested.", true);
      phone.value = "";
    } catch (err) { problem(panel, `Call-back not recorded: ${err.message}`); }
  });

  // Close with a disposition and the review that feeds escalation accuracy.
  const disposition = el("select", { id: `cd-${id}` }, ["resolved", "callback-scheduled", "transferred-to-phone", "no-response", "other"].map((d) => el("option", { value: d, text: d })));
  const needed = el("input", { id: `cn-${id}`, type: "checkbox", checked: true });
  const right = el("input", { id: `cr-${id}`, type: "checkbox", checked: true });
  const correct = el("select", { id: `cc-${id}` }, ["", "crisis", "distress", "clinical", "phi", "no_progress", "requested", "language", "routing"].map((r) => el("option", { value: r, text: r || "(as given)" })));
  const closeForm = el("form", {}, [
    el("label", { for: `cd-${id}`, text: "Disposition" }), disposition,
    el("label", {}, [needed, " A person was needed"]),
    el("label", {}, [right, " The hand-off reason was right"]),
    el("label", { for: `cc-${id}`, text: "If not, the right reason" }), correct,
    el("button", { type: "submit", class: "primary", text: "Close chat" }),
  ]);
  closeForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { disposition: disposition.value, handoff_needed: needed.checked };
    if (needed.checked) {
      body.reason_right = right.checked;
      if (!right.checked && correct.value) body.correct_reason = correct.value;
    }
    try { await api("POST", `/agent/chats/${id}/close`, body); } catch (err) { problem(panel, `Not closed: ${err.message}`); }
  });

  const whisper = el("aside", { class: "card whisper", "aria-label": "Whisper: private context, never shown to the patient" });
  panel.append(el("div", { class: "chat" }, [
    el("div", {}, [
      heading, transcript, typing, replyForm,
      el("div", { class: "tools" }, [
        el("details", {}, [el("summary", { text: "Canned responses" }), el("label", { for: `canned-${id}`, text: "Search" }), cannedQuery, cannedResults]),
        el("details", {}, [el("summary", { text: "Transfer" }), transfer]),
        el("details", {}, [el("summary", { text: "Escalate to phone" }), phoneForm]),
        el("details", {}, [el("summary", { text: "Close with a disposition" }), closeForm]),
      ]),
    ]),
    whisper,
  ]));
  return { tab, panel, heading, transcript, typing, whisper, reply };
}

function problem(panel, message, ok = false) {
  const p = el("p", { class: ok ? "muted" : "problem", role: "status", text: message });
  panel.prepend(p);
  setTimeout(() => p.remove(), 8000);
}

function addMessage(c, m) {
  if (c.seen.has(m.seq)) return;
  c.seen.add(m.seq);
  const who = m.sender === "agent" ? (m.author || "Agent") : m.sender === "patient" ? "Patient" : m.sender === "bot" ? "Bot" : "Notice";
  const node = el("li", { class: `${m.sender} ${m.kind}`, "data-seq": String(m.seq) }, [el("span", { class: "who", text: who }), m.text]);
  const later = [...c.dom.transcript.children].find((li) => Number(li.dataset.seq) > m.seq);
  c.dom.transcript.insertBefore(node, later || null);
  c.dom.transcript.scrollTop = c.dom.transcript.scrollHeight;
}

function renderChat(c) {
  const v = c.view;
  c.dom.tab.textContent = tabLabel(v);
  c.dom.heading.textContent = `${tabLabel(v)} · ${v.state.language} · ${v.state.status}`;
  for (const m of v.transcript) addMessage(c, m);
  renderWhisper(c);
  const raised = v.whispers.filter((w) => w.alert);
  if (raised.length > Math.max(c.acknowledged, c.raised || 0)) {
    c.raised = raised.length;
    raiseAlert(c, raised[raised.length - 1].alert, raised.length);
  }
}

function renderWhisper(c) {
  const w = c.view.whisper;
  const slots = Object.entries(w.slots || {});
  const notes = c.view.whispers.filter((x) => x.transfer || x.alert);
  c.dom.whisper.replaceChildren(
    el("h2", { text: "Whisper (private)" }),
    el("dl", {}, [
      el("dt", { text: "Language" }), el("dd", { text: w.language }),
      el("dt", { text: "Reason" }), el("dd", { text: w.reason || "–" }),
      el("dt", { text: "Intent" }), el("dd", { text: w.intent || "–" }),
      el("dt", { text: "Verified" }), el("dd", {}, el("span", { class: `badge ${w.verification === "verified" ? "ok" : w.verification === "locked" ? "fail" : ""}`, text: w.verification })),
      el("dt", { text: "Path" }), el("dd", { text: (w.path || []).join(" → ") || "–" }),
      el("dt", { text: "Summary" }), el("dd", { text: w.summary || "–" }),
    ]),
    el("h3", { text: "Risk flags" }),
    evidenceList(w) || el("p", { class: "muted", text: "None." }),
    el("h3", { text: "Collected" }),
    slots.length ? el("table", {}, el("tbody", {}, slots.map(([k, [value, phi]]) => el("tr", {}, [el("th", { scope: "row", text: k + (phi ? " (PHI)" : "") }), el("td", { text: value })])))) : el("p", { class: "muted", text: "Nothing." }),
    el("h3", { text: "Suggested replies" }),
    ...(w.suggestions || []).map(([, titleText, text]) => el("button", {
      type: "button", class: "secondary suggestion", text: `${titleText}: ${text}`,
      onclick: () => { c.dom.reply.value = text; c.dom.reply.focus(); },
    })),
    (w.suggestions || []).length ? null : el("p", { class: "muted", text: "None for this intent." }),
    notes.length ? el("h3", { text: "Notes and alerts" }) : null,
    notes.length ? el("ul", {}, notes.map((n) => el("li", { text: n.alert ? `Alert: ${n.alert}` : `Transfer from ${n.transfer.from}: ${n.transfer.note}` }))) : null,
  );
}

/**
 * A crisis phrase mid-chat: a red banner above every tab (so an alert on a chat in the background is
 * seen too) that stays until acknowledged, a red tab, the page title, and the urgent tone. Raised again
 * only when a new alert arrives, not on every refresh.
 */
function raiseAlert(c, text, count) {
  c.dom.tab.classList.add("alerting");
  c.dom.tab.textContent = "⚠ " + tabLabel(c.view);
  const id = c.view.chat_id;
  alerts.querySelector(`[data-chat="${id}"]`)?.remove();
  alerts.append(el("div", { class: "alert-banner", "data-chat": id }, [
    el("span", { text: `ALERT in ${tabLabel(c.view)}: ${text}` }),
    el("span", {}, [
      el("button", { type: "button", text: "Go to chat", onclick: () => { select(id); c.dom.reply.focus(); } }),
      " ",
      el("button", {
        type: "button", text: "Acknowledge",
        onclick: () => {
          c.acknowledged = count;
          alerts.querySelector(`[data-chat="${id}"]`)?.remove();
          c.dom.tab.classList.remove("alerting");
          c.dom.tab.textContent = tabLabel(c.view);
          titleAlerts();
          c.dom.reply.focus();
        },
      }),
    ]),
  ]));
  titleAlerts();
  beep(true);
}

function titleAlerts() {
  const n = alerts.children.length;
  document.title = (n ? `⚠ ${n} alert${n > 1 ? "s" : ""} · ` : "") + (offers.size ? `(${offers.size}) ` : "") + "Careline console";
}

function release(id) {
  const c = chats.get(id);
  if (!c) return;
  c.dom.tab.remove();
  c.dom.panel.remove();
  chats.delete(id);
  empty.hidden = chats.size > 0;
  if (active === id) {
    active = null;
    if (chats.size) {
      const next = [...chats.keys()][0];
      select(next);
      chats.get(next).dom.tab.focus();
    }
  }
  alerts.querySelector(`[data-chat="${id}"]`)?.remove();
}

// ---- the live connection ---------------------------------------------------------------------------

let socket = null;
let delay = 500;
function connect() {
  const ws = new WebSocket(socketUrl("/agent/ws"));
  socket = ws;
  ws.onopen = async () => {
    delay = 500;
    connection.textContent = "Connected";
    await reload();
    if (wanted === "available" && presence.value !== "available") {
      const r = await api("POST", "/agent/status", { status: "available" });
      presence.value = r.status;
      presenceNote.textContent = "The connection dropped and came back: you are Available again.";
      presenceNote.hidden = false;
      setTimeout(() => { presenceNote.hidden = true; }, 10000);
    }
  };
  ws.onmessage = (ev) => {
    const n = JSON.parse(ev.data);
    switch (n.type) {
      case "queues": queues = n.queues; renderQueues(); break;
      case "offer":
        offers.set(n.chat, { ...n, deadline: Date.now() + n.expires_in_seconds * 1000 });
        renderOffers();
        announcer.textContent = `New ${n.priority === "crisis" ? "CRISIS " : ""}offer: ${n.queue}, ${n.reason || "hand-off"}.`;
        beep(n.priority === "crisis");
        break;
      case "offer_withdrawn": offers.delete(n.chat); renderOffers(); break;
      case "assigned": openChat(n.chat).catch(() => {}); break;
      case "released": release(n.chat); break;
      case "message": { const c = chats.get(n.chat); if (c) { addMessage(c, n.message); c.dom.typing.textContent = ""; } break; }
      case "whisper": openChat(n.chat).catch(() => {}); break;
      case "typing": {
        const c = chats.get(n.chat);
        if (c) {
          c.dom.typing.textContent = "The patient is typing…";
          clearTimeout(c.typingTimer);
          c.typingTimer = setTimeout(() => { c.dom.typing.textContent = ""; }, 5000);
        }
        break;
      }
      case "resync": reload().catch(() => {}); break;
    }
  };
  ws.onclose = async (ev) => {
    socket = null;
    connection.textContent = "Reconnecting…";
    // A closed session (1008) or a refused upgrade: ask once over REST, whose 401 goes to sign-in.
    if (ev.code === 1008 || ev.code === 1006) await api("GET", "/agent/me").catch(() => {});
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 10000);
  };
}

/** Everything from REST: after connecting, and whenever the server says notices were missed. */
async function reload() {
  const [mine, q, who] = await Promise.all([api("GET", "/agent/chats"), api("GET", "/agent/queues"), api("GET", "/agent/me")]);
  presence.value = who.status;
  queues = q.queues;
  renderQueues();
  await Promise.allSettled(mine.assigned.map((id) => openChat(id)));
  for (const id of [...chats.keys()]) if (!mine.assigned.includes(id)) release(id);
  for (const id of [...offers.keys()]) if (!mine.offers.some((o) => o.chat === id)) offers.delete(id);
  // Offers made while the console was away: shown with what REST knows (the whisper comes with the
  // chat once taken), so no offer lapses unseen.
  for (const o of mine.offers) {
    if (offers.has(o.chat)) continue;
    const deadline = new Date(o.offered_at).getTime() + profile.offer_timeout_seconds * 1000;
    offers.set(o.chat, { chat: o.chat, queue: o.queue, priority: o.priority, reason: null, whisper: {}, deadline });
  }
  renderOffers();
}

connect();
