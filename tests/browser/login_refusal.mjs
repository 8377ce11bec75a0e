// login_refusal.mjs: static/client.js reports a refused connect the same way in both REFUSAL_MODEs.
//
//   node tests/browser/login_refusal.mjs <base_url>   (CHROMIUM)
//
// Opens the service's /login page with no session: its client.js probe must end "refused" with the
// refusal's payload (auth_required, AUTH_REQUIRED) whether the server sent it as an event after
// `connect` or in connect_error's err.data. Prints one JSON line, exit 1 on failure. Every wait is bounded.

import { chromium } from "playwright-core";

const [base] = process.argv.slice(2);
const timer = setTimeout(() => {
  console.error("login_refusal.mjs: global timeout (60 s)");
  process.exit(1);
}, 60000);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  timeout: 30000,
});
let code = 0;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${base}/login`, { timeout: 20000 });
  await page.waitForSelector("#socket-outcome[data-error-code]", { state: "attached", timeout: 20000 });
  const outcome = await page.evaluate(() => ({
    text: document.getElementById("socket-outcome").textContent,
    error_code: document.getElementById("socket-outcome").dataset.errorCode,
    connection: document.getElementById("connection").dataset.state,
  }));
  console.log(JSON.stringify({ ...outcome, page_errors: errors }));
} catch (err) {
  console.error(err.stack || String(err));
  code = 1;
} finally {
  await browser.close();
  clearTimeout(timer);
}
process.exit(code);
