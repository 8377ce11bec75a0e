// The stock socket.io-client under remote control: JSON commands on stdin, one JSON line per thing it sees.
//   {"cmd":"open","url","namespace","session","csrf","reconnectionDelay"}  connect (cookie + csrf in auth)
//   {"cmd":"drop"}            close the transport under the socket (what a Wi-Fi blink looks like)
//   {"cmd":"url","url"}       reconnect to another node from now on
//   {"cmd":"emit","event","data"}  emit with an ack; prints {"type":"ack"}
//   {"cmd":"close"}           disconnect and exit
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
let socket = null;

function open({ url, namespace = "/", session, csrf, reconnectionDelay = 200 }) {
  socket = io(url + (namespace === "/" ? "" : namespace), {
    transports: ["websocket"],
    forceNew: true,
    reconnectionDelay,
    reconnectionDelayMax: reconnectionDelay,
    randomizationFactor: 0,
    extraHeaders: { Cookie: `session=${session}` },
    auth: { csrf_token: csrf },
  });
  socket.on("connect", () => say({ type: "connect", id: socket.id, recovered: socket.recovered === true }));
  socket.on("disconnect", (reason) => say({ type: "disconnect", reason }));
  socket.on("connect_error", (err) => say({ type: "connect_error", message: err.message, data: err.data ?? null }));
  socket.onAny((event, ...args) => {
    const last = args[args.length - 1];
    const offset = typeof last === "string" ? last : null;
    say({ type: "event", event, data: args[0] ?? null, offset });
  });
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line);
  if (command.cmd === "open") open(command);
  else if (command.cmd === "drop") socket.io.engine.close();
  else if (command.cmd === "url") {
    socket.io.uri = command.url;
    say({ type: "url", url: command.url });
  } else if (command.cmd === "emit") {
    const reply = await socket.timeout(5000).emitWithAck(command.event, command.data ?? {});
    say({ type: "ack", event: command.event, data: reply });
  } else if (command.cmd === "close") {
    socket.close();
    break;
  }
}
process.exit(0);
