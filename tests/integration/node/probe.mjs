// Drives the stock socket.io-client the way a page does and prints what it saw, one JSON line per step.
import { io } from "socket.io-client";

const [url, sessionId, csrfToken, userId] = process.argv.slice(2);
const say = (step, data) => console.log(JSON.stringify({ step, data }));
const once = (socket, event, ms = 5000) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    socket.once(event, (value) => { clearTimeout(timer); resolve(value); });
  });

// 1. No session: `connect` fires, then the reference's `auth_required` handler receives the refusal,
//    then the server disconnects ("io server disconnect").
const anonymous = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
const seen = [];
anonymous.onAny((name) => seen.push(name));
anonymous.on("connect", () => seen.push("connect"));
const required = once(anonymous, "auth_required");
const anonymousGone = once(anonymous, "disconnect");
const refused = await required;
say("anonymous", { message: refused.message, data: refused, disconnect: await anonymousGone, seen });
anonymous.close();

// 2. A non-admin on /admin: `auth_error`.
const intruder = io(`${url}/admin`, {
  transports: ["websocket"], reconnection: false, forceNew: true,
  extraHeaders: { Cookie: `session=${sessionId}` }, auth: { csrf_token: csrfToken },
});
const denied = await once(intruder, "auth_error");
say("admin_denied", { message: denied.message, data: denied });
intruder.close();

// 3. A signed-in page: the session cookie, the CSRF token in auth, polling first then the upgrade.
const page = io(url, {
  transports: ["polling", "websocket"], reconnection: false, forceNew: true,
  extraHeaders: { Cookie: `session=${sessionId}` }, auth: { csrf_token: csrfToken },
});
await once(page, "connect");
const joined = await page.timeout(5000).emitWithAck("join_room", { room_name: `user_${userId}_captions`, room_type: "user_specific", message_id: "js-1" });
say("joined", joined);
const status = once(page, "caption_status_response");
page.emit("request_caption_status", {});
say("status_event", await status);
const error = once(page, "error");
page.emit("join_room", { room_name: `user_${Number(userId) + 1}_captions` });
say("error_event", await error);
await new Promise((r) => setTimeout(r, 300));
say("transport", page.io.engine.transport.name);
page.close();
process.exit(0);
