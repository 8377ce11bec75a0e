// events_page.mjs: /docs/events in Debian's Chromium: the AsyncAPI component renders the served document.
//   node tests/browser/events_page.mjs <base_url> <screenshot_path>
// Prints one JSON line {rendered, events, errors, requests} and exits 0 when the page rendered every
// event name it was asked about, loaded nothing from another origin and logged no error; 1 otherwise.
import { chromium } from "playwright-core";

const [base, screenshot] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const NAMES = ["caption_progress", "system_status_update", "join_room", "auth_required"];
const watchdog = setTimeout(() => {
  console.log(JSON.stringify({ error: "timeout" }));
  process.exit(1);
}, 60000);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});
const errors = [];
const foreign = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => !r.url().startsWith(base) && !r.url().startsWith("data:") && foreign.push(r.url()));
  await page.goto(`${base}/docs/events`, { waitUntil: "networkidle" });
  await page.waitForFunction(
    (names) => names.every((n) => document.body.innerText.includes(n)),
    NAMES,
    { timeout: 30000 },
  );
  const text = await page.evaluate(() => document.body.innerText);
  await page.screenshot({ path: screenshot, fullPage: false });
  const found = NAMES.filter((n) => text.includes(n));
  const ok = found.length === NAMES.length && errors.length === 0 && foreign.length === 0;
  console.log(JSON.stringify({ rendered: text.includes("vedfolnir-realtime events"), events: found, errors, requests: foreign }));
  clearTimeout(watchdog);
  await browser.close();
  process.exit(ok ? 0 : 1);
} catch (err) {
  console.log(JSON.stringify({ error: String(err), errors, requests: foreign }));
  await browser.close();
  process.exit(1);
}
