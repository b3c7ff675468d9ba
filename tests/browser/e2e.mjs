// The pages in a real headless Chromium (Debian's), driven by playwright-core. Run by tests/pages.rs,
// which starts `careline serve` and passes where it listens. Patients, an agent and an analyst each get
// their own browser context, as they would be separate people on separate machines.
//
// Environment: CARELINE_BASE (http://127.0.0.1:PORT), NURSE_USER / NURSE_PASSWORD,
// ANALYST_USER / ANALYST_PASSWORD, SUPERVISOR_TOKEN, SCREENSHOTS (a directory), CHROMIUM (optional).
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:http";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const BASE = process.env.CARELINE_BASE;
const SHOTS = process.env.SCREENSHOTS;
mkdirSync(SHOTS, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let step = "starting";
function log(message) { console.log(`[e2e] ${message}`); }

/** Polls until `fn` is truthy: pages are live, so every check waits for the page to catch up. */
async function until(fn, what, timeout = 15000) {
  const end = Date.now() + timeout;
  let last = null;
  while (Date.now() < end) {
    try { const v = await fn(); if (v) return v; } catch (e) { last = e; }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

function assert(cond, message) { if (!cond) throw new Error(`assertion failed: ${message}`); }

/** Every console error and uncaught exception (a CSP violation shows up here too) fails the run. */
function watch(page, name) {
  const errors = [];
  page.on("console", (m) => {
    // A refused request the test provoked on purpose (offline, aborted) is logged by Chromium.
    // axe-core itself applies inline styles while it measures; the page's CSP rightly refuses them.
    if (axeRunning && /Applying inline style/.test(m.text())) return;
    if (m.type() === "error" && !/net::ERR_INTERNET_DISCONNECTED|net::ERR_FAILED|Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return () => assert(errors.length === 0, `${name} logged errors:\n${errors.join("\n")}`);
}

/** axe-core, WCAG 2.0/2.1 A and AA rules; serious or critical violations fail. */
let axeRunning = false;
async function accessible(page, name) {
  axeRunning = true;
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  await sleep(300);
  axeRunning = false;
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of result.violations) log(`axe ${name}: ${v.impact} ${v.id} (${v.nodes.length}): ${v.help}`);
  log(`axe ${name}: ${result.passes.length} rules passed, ${result.violations.length} violated, ${bad.length} serious or critical`);
  assert(bad.length === 0, `${name}: serious accessibility violations: ${bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`).join("; ")}`);
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
  log(`screenshot ${name}.png`);
}

const W = "#careline-widget";
const bubbles = (page) => page.locator(`${W} .log li`).allInnerTexts();
async function say(page, text) {
  await page.locator(`${W} textarea`).fill(text);
  await page.locator(`${W} textarea`).press("Enter");
}
async function replyContaining(page, text) {
  try {
    return await until(async () => (await bubbles(page)).some((b) => b.toLowerCase().includes(text.toLowerCase())), `a message containing "${text}"`);
  } catch (e) {
    throw new Error(`${e.message}; the chat shows:\n${(await bubbles(page)).join("\n")}`);
  }
}
async function chatCredentials(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage).find((k) => k.startsWith("careline-chat:")))));
}
async function transcript(creds) {
  const r = await fetch(`${BASE}/api/v1/chats/${creds.chatId}`, { headers: { authorization: `Bearer ${creds.token}` } });
  return (await r.json()).messages;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});

try {
  // ---- 1. A patient chats in Spanish through refill status, using only the keyboard -----------------
  step = "spanish refill";
  const maria = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  const mariaClean = watch(maria, "demo page");
  await maria.goto(BASE + "/");
  await accessible(maria, "demo page, widget closed");
  await maria.keyboard.press("Tab"); // the nav links first, then the launcher
  await until(async () => {
    const label = await maria.evaluate(() => document.querySelector("#careline-widget").shadowRoot.activeElement?.className);
    if (label === "launcher") return true;
    await maria.keyboard.press("Tab");
    return false;
  }, "keyboard focus on the chat launcher");
  await maria.keyboard.press("Enter");
  await until(() => maria.locator(`${W} textarea`).evaluate((t) => t.getRootNode().activeElement === t), "focus in the message box after opening");
  await replyContaining(maria, "Careline");
  await maria.keyboard.type("hola, quiero saber si mi receta está lista");
  await maria.keyboard.press("Enter");
  await replyContaining(maria, "nombre completo");
  await until(async () => (await maria.locator(`${W} select`).inputValue()) === "es", "the language picker to follow the detected language");
  await until(async () => (await maria.locator(`${W} .send`).innerText()) === "Enviar", "the widget's own words in Spanish");
  await say(maria, "María García");
  await replyContaining(maria, "fecha de nacimiento");
  await say(maria, "14 de marzo de 1962");
  await replyContaining(maria, "número de miembro");
  await say(maria, "ABC123456");
  await replyContaining(maria, "Lisinopril");
  await shot(maria, "widget-spanish-refill");
  await accessible(maria, "widget open, Spanish");
  await say(maria, "5");
  await replyContaining(maria, "gracias por su opinión");
  const mariaChat = await chatCredentials(maria);
  const patientLines = (await transcript(mariaChat)).filter((m) => m.sender === "patient").map((m) => m.text);
  assert(patientLines.length === 5, `every Spanish message stored once: ${JSON.stringify(patientLines)}`);
  log("spanish refill: verified, answered, rated; 5 patient messages stored once each");
  // Escape closes the window and gives focus back to the launcher.
  await maria.keyboard.press("Escape");
  await until(() => maria.locator(`${W} .launcher`).isVisible(), "the launcher after Escape");
  mariaClean();

  // ---- 2. The agent signs in (staff account) and waits, away -----------------------------------------
  step = "console sign-in";
  const console_ = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  const consoleClean = watch(console_, "console");
  await console_.goto(BASE + "/console");
  await accessible(console_, "console sign-in");
  await console_.getByLabel("Username").fill(process.env.NURSE_USER);
  await console_.getByLabel("Password").fill("wrong password");
  await console_.getByRole("button", { name: "Sign in" }).click();
  await until(() => console_.getByText("Wrong username or password.").isVisible(), "the wrong-password message");
  await console_.getByLabel("Password").fill(process.env.NURSE_PASSWORD);
  await console_.getByRole("button", { name: "Sign in" }).click();
  await until(() => console_.getByRole("heading", { name: "Queues" }).isVisible(), "the console after signing in");
  await console_.getByLabel("Status").selectOption("away");

  // ---- 3. One patient asks for a person; another writes a crisis message ----------------------------
  step = "crisis";
  const waiter = await (await browser.newContext()).newPage();
  await waiter.goto(BASE + "/");
  await waiter.locator(`${W} .launcher`).click();
  await replyContaining(waiter, "Careline");
  await waiter.locator(`${W} .person`).click();
  await until(async () => /number \d+ in line/.test(await waiter.locator(`${W} .status`).innerText()), "the queue position for the patient who asked for a person");

  const crisisCtx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const patient = await crisisCtx.newPage();
  const patientClean = watch(patient, "crisis patient");
  await patient.goto(BASE + "/");
  await patient.locator(`${W} .launcher`).click();
  await replyContaining(patient, "Careline");
  await say(patient, "I can't do this anymore, I want to kill myself");
  await until(() => patient.locator(`${W} .crisis-banner`).isVisible(), "the crisis banner");
  const banner = await patient.locator(`${W} .crisis-banner`).innerText();
  assert(banner.includes("988") && banner.includes("911"), `crisis banner names 988 and 911: ${banner}`);
  assert((await patient.locator(`${W} .crisis-banner a[href="tel:988"]`).count()) === 1, "a tap-to-call 988 link");
  await until(async () => /number 1 in line/.test(await patient.locator(`${W} .status`).innerText()), "the crisis chat first in line");
  await shot(patient, "widget-crisis");
  await accessible(patient, "widget with crisis banner");

  // The console shows the crisis queue first, in red, before anyone takes it.
  await until(async () => (await console_.locator("tbody tr").first().getAttribute("class")) === "crisis-row", "the crisis queue on the first row");
  const firstRow = await console_.locator("tbody tr").first().innerText();
  assert(/crisis/.test(firstRow), `first queue row is the crisis: ${firstRow}`);
  const rowColor = await console_.locator("tbody tr.crisis-row td").first().evaluate((td) => getComputedStyle(td).color);
  assert(rowColor === "rgb(138, 28, 18)", `crisis row is red: ${rowColor}`);
  await shot(console_, "console-queues");

  // Available: the crisis is offered first, with its whisper and a countdown.
  await console_.getByLabel("Status").selectOption("available");
  await until(async () => (await console_.locator(".offer").count()) >= 1, "an offer");
  const firstOffer = console_.locator(".offer").first();
  await until(async () => (await firstOffer.getAttribute("class")).includes("crisis"), "the crisis offer first");
  const offerText = await firstOffer.innerText();
  assert(offerText.includes("kill myself") && /Take within \d+ s/.test(offerText), `offer shows evidence and timer: ${offerText}`);
  await shot(console_, "console-offer");
  await firstOffer.getByRole("button", { name: "Take" }).click();
  await until(() => console_.locator('[role="tab"]').first().isVisible(), "a tab for the taken chat");
  const whisper = console_.locator(".whisper").first();
  await until(async () => (await whisper.innerText()).includes("kill myself"), "the whisper with its evidence");
  const whisperText = await whisper.innerText();
  assert(whisperText.includes("crisis") && whisperText.includes("unverified"), `whisper: reason and verification: ${whisperText}`);
  await until(async () => /chatting with a person/.test(await patient.locator(`${W} .status`).innerText()), "the patient told a person has the chat");

  // The agent replies and the patient sees it.
  const replyBox = console_.getByLabel("Reply to the patient").first();
  await replyBox.fill("Hi, this is Nina, a nurse. I'm here with you. Are you safe right now?");
  await replyBox.press("Enter");
  await replyContaining(patient, "Are you safe right now?");

  // The patient sees the agent typing.
  await replyBox.pressSequentially("One moment", { delay: 20 });
  await until(async () => /typing/.test(await patient.locator(`${W} .typing`).innerText()), "the agent's typing shown to the patient");
  await replyBox.fill("");

  // A second chat in its own tab, then transferred to another queue with a note.
  const second = console_.locator(".offer").first();
  await until(async () => (await second.innerText()).includes("requested"), "the other offer still waiting");
  await second.getByRole("button", { name: "Take" }).click();
  await until(async () => (await console_.locator('[role="tab"]').count()) === 2, "two chats in two tabs");
  await until(async () => /chatting with a person/.test(await waiter.locator(`${W} .status`).innerText()), "the second patient told a person has the chat");
  const secondPanel = console_.locator('[role="tabpanel"]:not([hidden])');
  await secondPanel.getByText("Transfer", { exact: true }).first().click();
  await secondPanel.getByLabel("To queue").selectOption("en/pharmacy");
  await secondPanel.getByLabel("Note for the next agent").fill("asks about a refill; unverified");
  await secondPanel.getByRole("button", { name: "Transfer" }).click();
  await until(async () => (await console_.locator('[role="tab"]').count()) === 1, "the transferred chat's tab gone");
  await until(async () => /in line/.test(await waiter.locator(`${W} .status`).innerText()), "the transferred patient back in line");
  await until(async () => (await console_.locator(".offer").count()) === 1, "the transferred chat offered again");
  await console_.locator(".offer").first().getByRole("button", { name: "Decline" }).click();
  assert((await console_.locator('[role="tab"][aria-selected="true"]').innerText()).includes("crisis"), "the crisis chat's tab selected again");

  // A second crisis phrase while the agent chats: an alert that cannot be missed.
  await say(patient, "no, I have the pills in my hand and I want to die");
  await until(() => console_.locator(".alert-banner").first().isVisible(), "the mid-chat alert banner");
  assert((await console_.locator('[role="tab"].alerting').count()) === 1, "the chat's tab turns red");
  await until(async () => (await console_.locator(".transcript").first().innerText()).includes("pills in my hand"), "the patient's message in the console");
  await shot(console_, "console-alert");
  await accessible(console_, "console with a chat and an alert");
  await console_.getByRole("button", { name: "Acknowledge" }).click();

  // Canned responses in the patient's language.
  await console_.getByText("Canned responses").first().click();
  await console_.getByLabel("Search").first().fill("988");
  await until(async () => (await console_.locator(".canned-results li").count()) >= 1, "a canned response");

  // ---- 4. The patient's network drops; nothing is lost or doubled -----------------------------------
  step = "reconnect";
  await crisisCtx.setOffline(true);
  await say(patient, "are you still there?");
  await until(async () => (await patient.locator(`${W} .pending`).count()) === 1, "the unsent message shown as waiting");
  await until(async () => /Reconnecting/.test(await patient.locator(`${W} .status`).innerText()), "the reconnecting notice");
  await crisisCtx.setOffline(false);
  await until(async () => (await patient.locator(`${W} .pending`).count()) === 0, "the waiting message sent after reconnecting", 30000);
  // The answer to this one is lost on the way back, after the server stored it.
  let dropped = 0;
  await patient.route("**/messages", async (route) => {
    if (dropped++ === 0) { await route.fetch(); await route.abort("failed"); } else { await route.continue(); }
  });
  await say(patient, "hello? my phone is at 2%");
  await until(async () => (await patient.locator(`${W} .pending`).count()) === 0, "the message whose answer was lost, resolved", 30000);
  await patient.unroute("**/messages");
  const creds = await chatCredentials(patient);
  const lines = (await transcript(creds)).filter((m) => m.sender === "patient").map((m) => m.text);
  assert(lines.filter((l) => l === "are you still there?").length === 1, `sent offline, stored once: ${JSON.stringify(lines)}`);
  assert(lines.filter((l) => l === "hello? my phone is at 2%").length === 1, `answer lost, stored once: ${JSON.stringify(lines)}`);
  const shown = (await bubbles(patient)).filter((b) => b.includes("my phone is at 2%"));
  assert(shown.length === 1, `shown once in the widget: ${JSON.stringify(shown)}`);
  await until(async () => (await console_.locator(".transcript").first().innerText()).includes("my phone is at 2%"), "the agent sees the message");
  log("reconnect: offline message sent once; lost-answer message stored and shown once");

  // ---- 5. The agent escalates to phone and closes; the patient rates --------------------------------
  step = "close and rate";
  await console_.getByText("Escalate to phone").first().click();
  await console_.getByLabel("Phone number").first().fill("555-201-3344");
  await console_.getByLabel("Reason").first().fill("crisis follow-up");
  await console_.getByRole("button", { name: "Request a call-back" }).click();
  await until(() => console_.getByText("Call-back requested.").isVisible(), "the call-back confirmation");
  await console_.getByText("Close with a disposition").first().click();
  await console_.getByLabel("Disposition").first().selectOption("callback-scheduled");
  await console_.getByRole("button", { name: "Close chat" }).click();
  await until(async () => (await console_.locator('[role="tab"]').count()) === 0, "the closed chat's tab gone");
  await until(() => patient.locator(`${W} .rating`).isVisible(), "the rating after the agent closed the chat");
  await patient.locator(`${W} .star[data-score="4"]`).click();
  await until(() => patient.locator(`${W} .thanks`).isVisible(), "thanks for the rating");
  consoleClean();
  patientClean();

  // ---- 6. A phone-sized screen --------------------------------------------------------------------
  step = "phone";
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
  await phone.goto(BASE + "/");
  await phone.locator(`${W} .launcher`).tap();
  await replyContaining(phone, "Careline");
  const box = await phone.locator(`${W} .panel`).boundingBox();
  assert(Math.round(box.width) === 390, `the chat fills a phone's width: ${box.width}`);
  await phone.locator(`${W} select`).selectOption("ar");
  await until(async () => (await phone.locator(`${W} .panel`).getAttribute("dir")) === "rtl", "Arabic laid out right to left");
  await shot(phone, "widget-phone-arabic");
  await accessible(phone, "widget on a phone, Arabic");
  // A refusal the patient can meet reads in their language, and their words go back into the box.
  await phone.route("**/messages", (route) => route.fulfill({
    status: 409, contentType: "application/json", body: JSON.stringify({ error: "this chat is closed", status: 409 }),
  }));
  await say(phone, "مرحبا");
  await until(async () => (await phone.locator(`${W} .problem`).innerText()) === "انتهت هذه المحادثة.", "the refusal in Arabic");
  assert((await phone.locator(`${W} textarea`).inputValue()) === "مرحبا", "the refused words back in the box");
  await phone.unroute("**/messages");
  log("phone: Arabic right to left; a refusal in Arabic");

  // ---- 7. Embedded on a health plan's own site (another origin), as a plan deploys it ---------------
  // The sites are real servers on loopback, on other ports: other origins, as a plan's site is.
  const hostPage = (lang) => `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>Plan</title></head>
    <body><h1>Plan</h1><script src="${BASE}/widget.js" defer></script></body></html>`;
  const site = (port, lang) => new Promise((resolve) => {
    const server = createServer((_, res) => { res.writeHead(200, { "content-type": "text/html" }); res.end(hostPage(lang)); });
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
  const planSite = await site(Number(process.env.PLAN_PORT), "vi");
  const otherSite = await site(0, "en");
  const plan = await (await browser.newContext()).newPage();
  await plan.goto(`http://127.0.0.1:${process.env.PLAN_PORT}/members`);
  await until(async () => (await plan.locator(`${W} .launcher`).innerText()) === "Trò chuyện với chúng tôi", "the launcher in the page's language (vi)");
  await plan.locator(`${W} .launcher`).click();
  await replyContaining(plan, "Careline");
  await say(plan, "Mấy giờ phòng khám mở cửa vào thứ Bảy?");
  await until(async () => (await plan.locator(`${W} .log li`).count()) >= 3, "the bot's answer on the plan's site");
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto(`http://127.0.0.1:${otherSite.address().port}/`);
  await stranger.locator(`${W} .launcher`).click();
  await until(async () => /Reconnecting/.test(await stranger.locator(`${W} .status`).innerText()), "a site not in widget_origins gets no chat");
  assert((await stranger.locator(`${W} .log li`).count()) === 0, "no chat for a site that may not embed it");
  planSite.close();
  otherSite.close();
  log("cross-origin: the listed site chats, an unlisted one is refused");

  // ---- 8. The analyst sees the chats in the metrics --------------------------------------------------
  step = "dashboard";
  const analyst = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
  const analystClean = watch(analyst, "dashboard");
  await analyst.goto(BASE + "/dashboard");
  await analyst.getByLabel("Username").fill(process.env.ANALYST_USER);
  await analyst.getByLabel("Password").fill(process.env.ANALYST_PASSWORD);
  await analyst.getByRole("button", { name: "Sign in" }).click();
  await until(() => analyst.getByRole("heading", { name: "At a glance" }).isVisible(), "the dashboard");
  const glance = await analyst.locator(".figures").innerText();
  const chatsShown = Number(/(\d+)\s*Chats/.exec(glance)?.[1]);
  assert(chatsShown >= 4, `the dashboard counts the test's chats: ${glance}`);
  const reasons = await analyst.getByRole("figure").filter({ hasText: "Hand-offs by reason" }).innerText();
  assert(reasons.includes("crisis") && reasons.includes("requested"), `hand-offs by reason: ${reasons}`);
  await analyst.getByRole("button", { name: "Run the conversation tests" }).click();
  await until(() => analyst.getByText(/Conversation tests: \d+ passed/).isVisible(), "the conversation test results");
  const flows = await analyst.locator("section", { hasText: "Conversation tests" }).innerText();
  assert(/Files on disk validate/.test(flows) && /Conversation tests: [1-9]\d* passed, 0 failed/.test(flows), `flows card: ${flows.slice(0, 300)}`);
  const review = await analyst.locator(".transcript-review").innerText();
  assert(review.includes("handed off: crisis") && !review.includes("Maria") && !review.includes("ABC123456"), "de-identified transcripts include the crisis chat and no name or member id");
  await analyst.evaluate(() => window.scrollTo(0, 0));
  await shot(analyst, "dashboard");
  await analyst.screenshot({ path: `${SHOTS}/dashboard-full.png`, fullPage: true });
  await accessible(analyst, "dashboard");
  analystClean();
  log("all page checks passed");
} catch (e) {
  console.error(`[e2e] FAILED during "${step}": ${e.stack || e}`);
  for (const ctx of browser.contexts()) for (const p of ctx.pages()) {
    try { await p.screenshot({ path: `${SHOTS}/failure-${step.replace(/\W+/g, "-")}-${Math.random().toString(16).slice(2, 6)}.png` }); } catch { /* closed */ }
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
