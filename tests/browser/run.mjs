// run.mjs: the served pages in Debian's Chromium, driven by playwright-core (no downloaded browser).
//
//   node tests/browser/run.mjs <base_url> <artifacts_dir>      (API_TOKEN in the environment)
//
// Signs in as the demo admin and the demo user (two browser contexts), runs a caption job with pause
// and resume, sends notifications (HTTP API and the admin form), checks that a page of a foreign
// origin cannot connect, then asks its driver to restart the server: it prints the line "RESTART" and
// waits for the line "RESTARTED" on stdin; the pages must reconnect by themselves and keep working.
// Prints one JSON line per step, "ARTIFACT <path>" per screenshot, and "OK" at the end; exits 1 on
// the first failure (after saving failure screenshots). Every wait is bounded.

import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error("usage: node tests/browser/run.mjs <base_url> <artifacts_dir>");
  process.exit(2);
}
const TOKEN = process.env.API_TOKEN;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT = 15000;

mkdirSync(artifacts, { recursive: true });
const say = (step, data = {}) => console.log(JSON.stringify({ step, ...data }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}
const watchdog = setTimeout(() => {
  console.error("run.mjs: global timeout (180 s)");
  process.exit(1);
}, 180000);

const stdin = readline.createInterface({ input: process.stdin });
const stdinLines = [];
let stdinWaiter = null;
stdin.on("line", (line) => {
  stdinLines.push(line.trim());
  stdinWaiter?.();
});
async function waitForLine(expected, ms) {
  const deadline = Date.now() + ms;
  while (!stdinLines.includes(expected)) {
    if (Date.now() > deadline) throw new Error(`no "${expected}" on stdin within ${ms} ms`);
    await new Promise((resolve) => {
      stdinWaiter = resolve;
      setTimeout(resolve, 250);
    });
  }
}

async function api(pathname, body) {
  const response = await fetch(base + pathname, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** A page of another origin (another port of 127.0.0.1) that loads the stock client and tries to connect. */
function foreignServer() {
  const bundle = readFileSync(path.join(ROOT, "node_modules/socket.io-client/dist/socket.io.esm.min.js"));
  const script = `import { io } from "/vendor.js";
const target = new URLSearchParams(location.search).get("target");
window.outcomes = {};
for (const transports of [["polling"], ["websocket"]]) {
  const name = transports[0];
  const s = io(target, { transports, withCredentials: true, reconnection: false, timeout: 5000 });
  s.on("connect", () => { window.outcomes[name] = { connected: true }; s.close(); });
  s.on("connect_error", (e) => { window.outcomes[name] = { connect_error: e.message }; s.close(); });
}`;
  const server = http.createServer((req, res) => {
    const url = req.url.split("?")[0];
    if (url === "/vendor.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(bundle);
    else if (url === "/foreign.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(script);
    else res.writeHead(200, { "Content-Type": "text/html" }).end('<!doctype html><title>foreign</title><script type="module" src="/foreign.js"></script>');
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const pageErrors = [];
function watch(page, name) {
  page.on("pageerror", (err) => pageErrors.push(`${name}: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") console.error(`[${name} console] ${msg.text()}`);
  });
}

async function connected(page) {
  await page.waitForSelector('#connection[data-state="connected"]', { timeout: WAIT });
}

/** Records every state the connection pill takes, to see a disconnect and the reconnect after it. */
async function recordStates(page) {
  await page.evaluate(() => {
    const pill = document.getElementById("connection");
    window.states = [pill.dataset.state];
    new MutationObserver(() => window.states.push(pill.dataset.state)).observe(pill, { attributes: true, attributeFilter: ["data-state"] });
  });
}

async function reconnectedAfterDrop(page) {
  await page.waitForFunction(() => {
    const s = window.states || [];
    const drop = s.findIndex((x) => x !== "connected");
    return drop >= 0 && s.slice(drop).includes("connected") && s[s.length - 1] === "connected";
  }, null, { timeout: 30000 });
}

async function shoot(page, name) {
  const file = path.resolve(artifacts, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`ARTIFACT ${file}`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true, // playwright adds --headless, and a fresh temporary --user-data-dir per launch
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 30000,
});
const adminContext = await browser.newContext({ viewport: { width: 1200, height: 900 } });
const userContext = await browser.newContext({ viewport: { width: 1100, height: 900 } });
const admin = await adminContext.newPage();
const user = await userContext.newPage();
watch(admin, "admin");
watch(user, "user");
// The user page's WebSockets go through playwright, so the test can drop one from the server's side
// and see every frame the page sends (to check it asks for no resync after a recovered reconnect).
const userSockets = [];
const userSent = [];
const userFrames = []; // both directions, shown when the script fails
await user.routeWebSocket(/\/socket\.io\//, (ws) => {
  const server = ws.connectToServer();
  ws.onMessage((message) => {
    userSent.push(String(message));
    userFrames.push(`>> ${String(message).slice(0, 100)}`);
    server.send(message);
  });
  server.onMessage((message) => {
    userFrames.push(`<< ${String(message).slice(0, 100)}`);
    ws.send(message);
  });
  userSockets.push(server);
});
let foreign = null;

try {
  // --- Signed out: the user page says so, with the service's own payload.
  await user.goto(`${base}/`, { timeout: WAIT });
  await user.waitForSelector("#auth:not([hidden])", { timeout: WAIT });
  check((await user.textContent("#auth-code")).includes("AUTH_REQUIRED"), "the signed-out page shows AUTH_REQUIRED");
  say("signed_out_shown");

  // --- The admin signs in first, so the live feeds see everything the user does.
  await admin.goto(`${base}/login`, { timeout: WAIT });
  await admin.waitForSelector("#demo:not([hidden])", { timeout: WAIT });
  await Promise.all([admin.waitForURL(`${base}/admin/`, { timeout: WAIT }), admin.click("#login-admin")]);
  await connected(admin);
  await admin.waitForSelector("#component-websocket_server", { timeout: WAIT });
  const firstUpdates = Number(await admin.getAttribute("#components", "data-updates"));
  say("admin_connected", { status_updates: firstUpdates });

  // --- The user signs in, connects over WebSocket and joins the captions room.
  await user.goto(`${base}/login`, { timeout: WAIT });
  await Promise.all([user.waitForURL(`${base}/`, { timeout: WAIT }), user.click("#login-demo")]);
  await connected(user);
  const userId = Number(await user.getAttribute("#who", "data-user-id"));
  await user.waitForSelector(`#job[data-rooms="user_${userId}_captions"]`, { timeout: WAIT });
  await user.waitForSelector('#connection[data-transport="websocket"]', { timeout: WAIT });
  say("user_connected", { user_id: userId });
  await admin.waitForSelector('#activity li[data-user="demo"][data-activity="connected"]', { timeout: WAIT });
  say("admin_saw_user_connect");

  // --- A caption job: start, pause after the first caption, nothing arrives while paused, resume, 100 %.
  await user.click("#start");
  await user.waitForFunction(() => Number(document.getElementById("job").dataset.captions || 0) >= 1, null, { timeout: WAIT });
  await user.click("#pause");
  await user.waitForSelector('#job[data-state="paused"]', { timeout: WAIT });
  const pausedCaptions = Number(await user.getAttribute("#job", "data-captions"));
  const pausedProgress = Number(await user.getAttribute("#progress", "data-value"));
  check(/about \d.* left/.test(await user.textContent("#progress-text")), "time remaining is shown");
  check(pausedProgress < 100, `the job was paused before it finished (progress ${pausedProgress})`);
  await sleep(1500);
  check(Number(await user.getAttribute("#job", "data-captions")) === pausedCaptions, "no caption arrives while paused");
  check((await user.textContent("#job-state")) === "paused", "the job stays paused");
  say("paused", { captions: pausedCaptions, progress: pausedProgress });
  await user.click("#resume");

  // --- The server drops the page's connection mid-job: the stock client reconnects, the server recovers
  // its socket and replays what it missed, and the page keeps a complete caption list without a resync.
  await user.waitForFunction((n) => Number(document.getElementById("job").dataset.captions || 0) > n, pausedCaptions, { timeout: WAIT });
  await recordStates(user);
  const sentBeforeDrop = userSent.length;
  const resyncsBeforeDrop = Number((await user.getAttribute("#job", "data-resyncs")) || 0);
  for (const socket of userSockets.splice(0)) socket.close();
  await reconnectedAfterDrop(user);
  check((await user.getAttribute("#connection", "data-recovered")) === "true", "the page's socket was recovered");
  await user.waitForSelector('#job[data-state="completed"]', { timeout: WAIT });
  await user.waitForSelector('#progress[data-value="100"]', { timeout: WAIT });
  check(await user.isVisible("#summary"), "the completion summary is shown");
  const captions = Number(await user.getAttribute("#job", "data-captions"));
  check(captions === 6, `6 captions arrived (got ${captions})`);
  const posts = await user.$$eval("#captions li", (items) => items.map((li) => li.dataset.post));
  check(posts.length === 6 && new Set(posts).size === 6, `the caption list is complete, each post once: ${posts}`);
  check(!userSent.slice(sentBeforeDrop).some((m) => m.includes("request_caption_status")), "no resync request after the recovered reconnect");
  check(Number((await user.getAttribute("#job", "data-resyncs")) || 0) === resyncsBeforeDrop, "the page did not resync");
  say("job_completed_across_a_recovered_drop", { captions, user_states: await user.evaluate(() => window.states) });
  await admin.waitForSelector('#activity li[data-user="demo"][data-activity="caption_generation_started"]', { timeout: WAIT });
  await admin.waitForSelector('#activity li[data-user="demo"][data-activity="caption_generation_completed"]', { timeout: WAIT });
  await admin.waitForFunction((n) => Number(document.getElementById("components").dataset.updates) > n, firstUpdates, { timeout: WAIT });
  check(Number(await admin.getAttribute("#chart", "data-points")) >= 2, "the chart has points");
  say("admin_saw_job_and_status");

  // --- The review list: every caption waits for review; edit one (the counter follows), approve it and see
  // it published live; reject and regenerate another; then approve and publish the rest in bulk.
  await user.waitForFunction(() => Number(document.getElementById("reviews-panel").dataset.pending || 0) === 6, null, { timeout: WAIT });
  const reviewIds = await user.$$eval("#reviews li.review", (nodes) => nodes.map((n) => n.dataset.item));
  const one = `#reviews li[data-item="${reviewIds[0]}"]`;
  const edited = `A grey cat & a <small> "dog"`;
  await user.fill(`${one} .review-caption`, edited);
  check((await user.textContent(`${one} .review-count`)) === `${edited.length} / 1000`, "the counter counts against Pixelfed's limit");
  check((await user.getAttribute(`${one} a`, "href") || "").startsWith("https://pixelfed.example.com/p/"), "the item links to its post");
  await user.click(`${one} .review-approve`);
  await user.waitForSelector(`${one}[data-status="published"]`, { timeout: WAIT });
  check((await user.inputValue(`${one} .review-caption`)) === edited, "the published caption is the edited text, decoded once");
  check(await user.$eval(`${one} .review-caption`, (a) => a.readOnly), "a published caption is no longer editable");
  say("review_edited_approved_published");
  const two = `#reviews li[data-item="${reviewIds[1]}"]`;
  await user.click(`${two} .review-reject`);
  await user.waitForSelector(`${two}[data-status="rejected"]`, { timeout: WAIT });
  const rejectedVersion = Number(await user.getAttribute(two, "data-version"));
  await user.click(`${two} .review-regenerate`);
  await user.waitForFunction(([sel, v]) => {
    const node = document.querySelector(sel);
    return node && node.dataset.status === "pending" && Number(node.dataset.version) > v;
  }, [two, rejectedVersion], { timeout: WAIT });
  say("review_rejected_and_regenerated");
  const three = `#reviews li[data-item="${reviewIds[2]}"]`;
  const typed = "Typed, not saved, then bulk-approved.";
  await user.fill(`${three} .review-caption`, typed);
  await user.click("#review-bulk");
  await user.waitForSelector('#publish-progress[data-remaining="0"]', { timeout: WAIT });
  await user.waitForFunction(() => document.getElementById("reviews-panel").dataset.published === "6", null, { timeout: WAIT });
  check((await user.textContent("#publish-progress")).includes("5 published"), "the bulk progress counted its five");
  check((await user.inputValue(`${three} .review-caption`)) === typed, "a caption typed before the bulk approval is the one published");
  await admin.waitForSelector('#activity li[data-user="demo"][data-activity="caption_published"]', { timeout: WAIT });
  await shoot(user, "reviews.png");
  say("bulk_published_live");
  check(await user.$eval(`${one} img.thumb`, (img) => /^https?:.+\.jpg$/.test(img.src)), "a caption shows its image as a thumbnail");
  // The platform's auto-approve setting, from the page: stored (the checkbox reflects the answer, not the click).
  const autoBox = "#auto-approve input.auto-approve";
  check(!(await user.isChecked(autoBox)), "auto-approve is off by default");
  await user.click(autoBox);
  await user.waitForFunction((sel) => { const b = document.querySelector(sel); return b.checked && !b.disabled; }, autoBox, { timeout: WAIT });
  say("auto_approve_toggled");

  // --- A notification through the HTTP API: a toast whose text is exactly what was sent, then gone.
  const title = `Tom & Jerry <b>bold</b> "quoted" it's`;
  const sent = await api("/api/v1/notifications", { user_id: userId, title, message: "<img src=x onerror=alert(1)>", type: "success", auto_dismiss: true, dismiss_timeout: 2500 });
  check(sent.status === 202, `the API accepted the notification (${sent.status})`);
  const toastSel = `.toast[data-id="${sent.body.notification_id}"]`;
  await user.waitForSelector(toastSel, { timeout: WAIT });
  check((await user.textContent(`${toastSel} strong`)) === title, "the toast shows the title as sent, decoded once");
  check((await user.locator(`${toastSel} b, ${toastSel} img`).count()) === 0, "no markup from the payload became elements");
  await shoot(user, "user.png");
  await user.waitForSelector(toastSel, { state: "detached", timeout: 6000 });
  say("toast_shown_and_dismissed");

  // --- The admin form sends a notification to the user.
  await admin.fill("#notify-user", String(userId));
  await admin.fill("#notify-title", "From the admin");
  await admin.fill("#notify-message", "Hello from the dashboard");
  await admin.click('#notify button[type="submit"]');
  await admin.waitForSelector('#notify-result[data-status="202"]', { timeout: WAIT });
  await user.waitForSelector('.toast strong:text-is("From the admin")', { timeout: WAIT });
  say("admin_form_notified_user");
  const alert = await api("/api/v1/admin/alerts", { severity: "warning", component: "database", title: "Slow queries", message: "p95 over 500 ms" });
  const notice = await api("/api/v1/admin/notifications", { title: "Maintenance", message: "tonight at 22:00", priority: "high" });
  check(alert.status === 202 && notice.status === 202, "the API sent an alert and an admin notification");
  await admin.waitForSelector('#alerts li[data-severity="warning"]', { timeout: WAIT });
  await admin.waitForSelector('#admin-notifications li[data-priority="high"]', { timeout: WAIT });
  await shoot(admin, "admin.png");
  say("admin_saw_alert_and_notification");

  // --- A page of a foreign origin, in the signed-in user's browser, cannot connect on either transport.
  foreign = await foreignServer();
  const foreignUrl = `http://127.0.0.1:${foreign.address().port}/?target=${encodeURIComponent(base)}`;
  const stranger = await userContext.newPage();
  await stranger.goto(foreignUrl, { timeout: WAIT });
  await stranger.waitForFunction(() => window.outcomes && window.outcomes.polling && window.outcomes.websocket, null, { timeout: WAIT });
  const outcomes = await stranger.evaluate(() => window.outcomes);
  check(outcomes.polling.connect_error && outcomes.websocket.connect_error, `the foreign page got connect_error: ${JSON.stringify(outcomes)}`);
  await stranger.close();
  say("foreign_origin_refused", { outcomes });

  // --- Kill and restart the server: both pages reconnect by themselves and keep working.
  await recordStates(user);
  await recordStates(admin);
  console.log("RESTART");
  await waitForLine("RESTARTED", 90000);
  await reconnectedAfterDrop(user);
  await reconnectedAfterDrop(admin);
  await user.waitForSelector(`#job[data-rooms="user_${userId}_captions"]`, { timeout: WAIT });
  const again = await api("/api/v1/notifications", { user_id: userId, title: "After the restart", message: "still here", auto_dismiss: false });
  check(again.status === 202, "the restarted server accepts notifications");
  await user.waitForSelector(`.toast[data-id="${again.body.notification_id}"]`, { timeout: WAIT });
  const updates = Number(await admin.getAttribute("#components", "data-updates"));
  await admin.waitForFunction((n) => Number(document.getElementById("components").dataset.updates) > n, updates, { timeout: WAIT });
  say("reconnected_after_restart", { user_states: await user.evaluate(() => window.states) });

  // --- Revoking the session (as the host application would) ends the page's socket with auth_error.
  const cookie = (await userContext.cookies(base)).find((c) => c.name === "session");
  check(cookie && cookie.httpOnly && cookie.sameSite === "Lax", "the session cookie is HttpOnly and SameSite=Lax");
  const revoked = await fetch(`${base}/api/v1/sessions/${encodeURIComponent(cookie.value)}`, { method: "DELETE", headers: { Authorization: `Bearer ${TOKEN}` } });
  check(revoked.status === 200, `the API revoked the session (${revoked.status})`);
  await user.waitForSelector("#auth:not([hidden])", { timeout: WAIT });
  check((await user.textContent("#auth-code")).includes("AUTH_INVALID_SESSION"), "the page shows auth_error AUTH_INVALID_SESSION");
  check(await user.isHidden("#job"), "the job panel is hidden once signed out");
  say("revoked_session_shown");

  check(pageErrors.length === 0, `no uncaught page errors: ${pageErrors.join("; ")}`);
  console.log("OK");
} catch (err) {
  console.error(`run.mjs: ${err.stack || err}`);
  for (const frame of userFrames.slice(-60)) console.error(`user page frame ${frame}`);
  for (const [page, name] of [[user, "failure-user.png"], [admin, "failure-admin.png"]]) {
    try {
      await shoot(page, name);
    } catch {}
  }
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  stdin.close();
  foreign?.close();
  await browser.close().catch(() => {});
}
