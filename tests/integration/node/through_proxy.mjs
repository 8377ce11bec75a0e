// through_proxy.mjs: the stock socket.io client through a reverse proxy, over one transport mode.
//   node through_proxy.mjs <url> <session_id> <csrf_token> <polling|websocket|upgrade>
// Prints one JSON line {transport, upgraded, ack, joined} and exits 0, or prints an error and exits 1.
import { io } from "socket.io-client";

const [url, sessionId, csrf, mode] = process.argv.slice(2);
const transports = mode === "polling" ? ["polling"] : mode === "websocket" ? ["websocket"] : ["polling", "websocket"];
const socket = io(url, { transports, reconnection: false, auth: { session_id: sessionId, csrf_token: csrf } });
const fail = (why) => {
  console.log(JSON.stringify({ error: String(why) }));
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), 20000);
socket.on("connect_error", (err) => fail(`connect_error ${err.message} ${JSON.stringify(err.data ?? null)}`));
socket.on("connect", async () => {
  const engine = socket.io.engine;
  let upgraded = engine.transport.name === "websocket";
  if (mode === "upgrade" && !upgraded) {
    await new Promise((resolve) => engine.once("upgrade", resolve));
    upgraded = true;
  }
  const ack = await socket.timeout(10000).emitWithAck("request_caption_status", { message_id: "via-proxy" });
  const joined = await socket.timeout(10000).emitWithAck("join_room", { room_name: "user_1_captions" });
  // Stay a while on polling: several long-poll cycles must reach the same node (sticky sessions).
  for (let i = 0; i < 5; i += 1) {
    await socket.timeout(10000).emitWithAck("request_caption_status", {});
  }
  clearTimeout(timer);
  console.log(JSON.stringify({ transport: engine.transport.name, upgraded, ack, joined }));
  socket.disconnect();
  process.exit(0);
});
