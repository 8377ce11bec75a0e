// flask_reference.mjs: the API reference's JavaScript, verbatim, in Chromium, on pages of a real Flask host app.
//
//   node tests/browser/flask_reference.mjs <flask_url> <realtime_url> <foreign_url> <artifacts_dir>   (API_TOKEN)
//
// A user and an admin log in through the Flask app's own login form; the browser then holds only that
// Flask `session` cookie. Pages of the Flask app containing the reference's examples connect to the
// realtime service (another port), receive a caption job's events and the admin feed; the reference's
// testing functions run; logging out, demoting the admin and deactivating the user end what they
// should; a page of a foreign origin is refused. One JSON line per step, "OK" at the end, exit 1 on
// the first failure (with a screenshot). Every wait is bounded.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import path from "node:path";

const [flask, realtime, foreignBase, artifacts] = process.argv.slice(2);
const TOKEN = process.env.API_TOKEN;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT = 20000;
mkdirSync(artifacts, { recursive: true });
const say = (step, data = {}) => console.log(JSON.stringify({ step, ...data }));
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}
setTimeout(() => {
  console.error("flask_reference.mjs: global timeout (150 s)");
  process.exit(1);
}, 150000);

async function post(url, body, headers = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function login(page, username) {
  await page.goto(`${flask}/login`, { timeout: WAIT });
  await page.fill("#username", username);
  await page.fill("#password", "pw");
  await Promise.all([page.waitForURL(`${flask}/`, { timeout: WAIT }), page.click("#submit")]);
}

/** window.seen entries of a kind, once at least `count` exist. */
async function seen(page, kind, count = 1) {
  await page.waitForFunction(
    ([k, n]) => window.seen.filter((e) => e.kind === k).length >= n,
    [kind, count],
    { timeout: WAIT },
  );
  return page.evaluate((k) => window.seen.filter((e) => e.kind === k).map((e) => e.data), kind);
}

const consoleLines = new Map();
const pageErrors = []; // an example that throws (a missing field, an undefined function) fails the run
function watch(page, name) {
  consoleLines.set(page, []);
  page.on("console", (msg) => consoleLines.get(page).push(msg.text()));
  page.on("pageerror", (err) => {
    pageErrors.push(`${name}: ${err.message}`);
    console.error(`[${name} pageerror] ${err.message}`);
  });
}
async function logged(page, text) {
  const deadline = Date.now() + WAIT;
  while (!consoleLines.get(page).some((line) => line.includes(text))) {
    if (Date.now() > deadline) throw new Error(`no console line "${text}": ${JSON.stringify(consoleLines.get(page))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 30000,
});
const userContext = await browser.newContext();
const adminContext = await browser.newContext();
const pages = [];
try {
  // --- The user logs in through the host's form: the browser holds the Flask session cookie, nothing else.
  const client = await userContext.newPage();
  pages.push(client);
  watch(client, "client");
  await login(client, "alice");
  const cookies = await userContext.cookies();
  check(cookies.length === 1 && cookies[0].name === "session", `only the Flask cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
  say("logged_in", { cookie: cookies[0].name, compressed: cookies[0].value.startsWith(".") });

  // --- The reference's "JavaScript Client Setup" + caption handlers + testing tools, verbatim.
  await client.goto(`${flask}/reference/client`, { timeout: WAIT });
  await logged(client, "WebSocket connected");
  const userId = await client.evaluate(() => currentUserId);
  const transport = await client.evaluate(() => socket.io.engine.transport.name);
  const joined = (await seen(client, "room_joined"))[0];
  check(joined.success === true && joined.room_name === `user_${userId}_captions`, `joined: ${JSON.stringify(joined)}`);
  say("client_connected", { userId, transport, joined: joined.room_name });

  const started = await post(`${realtime}/api/v1/caption-jobs`, { user_id: userId }, { Authorization: `Bearer ${TOKEN}` });
  check(started.status === 202, `job started: ${JSON.stringify(started)}`);
  const summary = (await seen(client, "completed"))[0];
  const progress = await seen(client, "progress");
  const generated = await seen(client, "generated");
  check(summary.successful_captions === generated.length && generated.length > 0, `captions: ${JSON.stringify(summary)}`);
  check(progress.length >= generated.length, "progress before each caption");
  check((await seen(client, "started")).length === 1 && (await seen(client, "refresh")).length === 1, "started and refresh once");
  // The reference's caption_generation_error handler: the failed posts (retryable) offer a retry each.
  const retries = summary.failed_captions > 0 ? await seen(client, "retry", summary.failed_captions) : [];
  check(retries.length === summary.failed_captions && retries.every((id) => typeof id === "string" && id), `retry options: ${JSON.stringify(retries)}`);
  say("caption_events", { progress: progress.length, generated: generated.length, errors: retries.length, completed: summary.total_posts_processed });

  // The reference's `error` handler: a refused event shows its error_message (retry_possible false: no reconnect).
  const errorsBefore = (await client.evaluate(() => window.seen.filter((e) => e.kind === "error").length));
  await client.evaluate(() => socket.emit("join_room", { room_name: "user_999999_captions" }));
  const shown = await seen(client, "error", errorsBefore + 1);
  check(typeof shown[errorsBefore] === "string" && shown[errorsBefore].length > 0, `error shown: ${JSON.stringify(shown)}`);
  check(await client.evaluate(() => socket.connected), "still connected after a refused event");
  say("error_handler_ran", { error_message: shown[errorsBefore] });

  // --- The reference's testing functions: a second, polling-first connection (cross-origin, credentials).
  await client.evaluate(() => testWebSocketConnection());
  await logged(client, "✅ WebSocket connection successful");
  await client.evaluate(() => testWebSocketAuth());
  await logged(client, "✅ Authenticated connection successful");
  say("reference_tests_pass");

  // --- The admin: the reference's "Admin Client Setup" receives the admin feed.
  const admin = await adminContext.newPage();
  pages.push(admin);
  watch(admin, "admin");
  await login(admin, "boss");
  await admin.goto(`${flask}/reference/admin`, { timeout: WAIT });
  const status = await seen(admin, "system_status");
  check(status[0].component, "a system_status_update");
  check(await admin.evaluate(() => adminSocket.connected), "adminSocket connected");
  say("admin_feed", { components: [...new Set(status.map((s) => s.component))] });
  // The reference's admin_alert handler shows critical alerts only; user_activity_update reaches its log.
  const alert = { component: "database", title: "Pool exhausted", message: "All connections in use" };
  for (const severity of ["warning", "critical"]) {
    const raised = await post(`${realtime}/api/v1/admin/alerts`, { ...alert, severity }, { Authorization: `Bearer ${TOKEN}` });
    check(raised.status === 202, `alert raised: ${JSON.stringify(raised)}`);
  }
  const critical = await seen(admin, "critical");
  check(critical.length === 1 && critical[0].severity === "critical", `only the critical alert shown: ${JSON.stringify(critical)}`);
  await client.evaluate(() => testWebSocketConnection());  // the user connects again: admins see it
  const activity = await seen(admin, "activity");
  check(activity.some((a) => a.activity_type === "connected"), `user activity: ${JSON.stringify(activity)}`);
  say("admin_alert_and_activity", { activity: [...new Set(activity.map((a) => a.activity_type))] });

  // --- A page of a foreign origin is refused on both transports.
  const foreign = await adminContext.newPage();
  pages.push(foreign);
  await foreign.goto(`${foreignBase}/foreign`, { timeout: WAIT });
  await foreign.waitForFunction(() => window.outcomes && window.outcomes.polling && window.outcomes.websocket, null, { timeout: WAIT });
  const outcomes = await foreign.evaluate(() => window.outcomes);
  check(outcomes.polling.connect_error && outcomes.websocket.connect_error, `foreign refused: ${JSON.stringify(outcomes)}`);
  say("foreign_refused", outcomes);

  // --- Demoting the admin ends /admin within the session check; the page's socket stays down.
  const demoted = await post(`${flask}/admin/users/${await admin.evaluate(() => currentUserId)}`, { role: "VIEWER" });
  check(demoted.status === 200, "demoted");
  await admin.waitForFunction(() => !adminSocket.connected, null, { timeout: WAIT });
  // The reference's admin client has no disconnect handler: after "io server disconnect" it stays down
  // (the driver checks the server holds no /admin connection any more).
  say("admin_demoted");

  // --- Logging out of the host: the browser's cookie no longer names a user, so a new connection gets
  //     auth_required (the reference's testWebSocketAuth logs it). The cookie it had is not revoked.
  const auth = await userContext.newPage();
  pages.push(auth);
  watch(auth, "auth");
  await auth.goto(`${flask}/reference/auth`, { timeout: WAIT });
  await auth.waitForFunction(() => socket.connected, null, { timeout: WAIT });
  const home = await userContext.newPage();
  pages.push(home);
  await home.goto(`${flask}/`, { timeout: WAIT });
  await Promise.all([home.waitForURL(`${flask}/login`, { timeout: WAIT }), home.click("#logout")]);
  await auth.evaluate(() => testWebSocketAuth());
  await logged(auth, "✅ Authentication required (expected)");
  say("logged_out_gets_auth_required");
  // A host that calls session.clear() on logout makes Flask delete the cookie: the browser then sends no
  // cookie at all, and the reference's auth_required handler must still run (error_code says why).
  await userContext.clearCookies();
  const requiredBefore = consoleLines.get(auth).filter((l) => l.includes("Authentication required")).length;
  await auth.evaluate(() => testWebSocketAuth());
  const deadline = Date.now() + WAIT;
  while (consoleLines.get(auth).filter((l) => l.includes("Authentication required")).length <= requiredBefore) {
    if (Date.now() > deadline) throw new Error(`no auth_required without cookies: ${JSON.stringify(consoleLines.get(auth))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  say("no_cookie_gets_auth_required");

  // --- Deactivating the user: the reference's auth_error handler sends the page to /login, and the
  //     client-setup page's reconnect-on-server-disconnect ends in a refusal it does not retry.
  await login(home, "alice");
  await auth.goto(`${flask}/reference/auth`, { timeout: WAIT });
  await auth.waitForFunction(() => socket.connected, null, { timeout: WAIT });
  const deactivated = await post(`${flask}/admin/users/${userId}`, { is_active: false });
  check(deactivated.status === 200, "deactivated");
  await auth.waitForURL(`${flask}/login**`, { timeout: WAIT });
  say("deactivated_redirected_to_login");
  const errors = await seen(client, "connect_error");
  check(errors[0].data && errors[0].data.error_code === "CONNECTION_REFUSED", `the reconnect loop ended: ${JSON.stringify(errors)}`);
  say("client_reconnects_ended", { final: errors[0].data.error_code, refused_for: errors[0].data.error_details.refused_for });

  check(pageErrors.length === 0, `no uncaught page errors: ${pageErrors.join("; ")}`);
  for (const [i, page] of pages.entries()) {
    const file = path.resolve(artifacts, `flask-reference-${i}.png`);
    await page.screenshot({ path: file }).catch(() => {});
  }
  console.log("OK");
} catch (err) {
  console.error(err.stack || String(err));
  for (const [i, page] of pages.entries()) {
    await page.screenshot({ path: path.resolve(artifacts, `flask-reference-failure-${i}.png`) }).catch(() => {});
  }
  await browser.close();
  process.exit(1);
}
await browser.close();
process.exit(0);
