// client.js: the one place pages talk to the vedfolnir-realtime socket. A plain ES module, no framework.
//
// It wraps the stock socket.io client (served by this service at /vendor/socket.io.esm.min.js from
// node_modules) the way every page should use it:
//
//   - connects to `namespace` ("/" for users, "/admin" for admins) with the CSRF token in `auth`
//     (the session itself travels in the HttpOnly session cookie, which the page cannot read);
//   - transports ["websocket", "polling"]: WebSocket first, and long-polling when WebSocket fails
//     (tryAllTransports);
//   - reconnects with the stock client's exponential backoff with jitter, and after every (re)connect
//     joins `rooms` again (a server restart forgets every room);
//   - hands every server event to `onEvent(name, data)`, the standard `error` and
//     `rate_limit_exceeded` payloads also to `onError(payload)`, and authentication outcomes
//     (`auth_required` / `auth_error`) to `onAuth(payload)`. A refused connect arrives either way the
//     server is set to answer: REFUSAL_MODE=event (default) sends the refusal as an event right after
//     `connect`, then disconnects ("io server disconnect"); REFUSAL_MODE=connect_error puts it in
//     connect_error `err.data`. Both reach the same callbacks with the same payload (the standard
//     envelope, `error_details.original_event` = "connect");
//   - reports its state to `onStatus(state, detail)`: "connecting", "connected" (detail.transport),
//     "joined" (detail: the room_joined ack), "reconnecting" (detail.attempt / detail.message),
//     "disconnected" (detail.reason), "refused" (detail: the connect_error payload; no retry for
//     authentication, a delayed retry for limits whose payload says retry_possible).
//
// Usage, in a page served by this service (the CSRF token comes from GET /session, same origin):
//
//   import { connectRealtime, decodeEntities } from "/static/client.js";
//   const me = await (await fetch("/session", { credentials: "same-origin" })).json();
//   const rt = connectRealtime({
//     namespace: "/",
//     csrfToken: me.csrf_token,
//     rooms: [`user_${me.user_id}_captions`],
//     onEvent: (name, data) => console.log(name, data),
//     onStatus: (state, detail) => console.log(state, detail),
//     onError: (payload) => console.warn(payload.error_code, payload.error_message),
//     onAuth: (payload) => { location.href = payload.redirect_url; },
//   });
//   const reply = await rt.emit("pause_caption_generation", { reason: "coffee" });   // the ack payload
//   rt.close();
//
// Payload strings are HTML-escaped by the server. Show them with `el.textContent = decodeEntities(s)`:
// decoding once gives back the text the sender wrote, and textContent never parses it as markup.

import { io } from "../vendor/socket.io.esm.min.js";

const AUTH_EVENTS = new Set(["auth_required", "auth_error"]);
const ERROR_EVENTS = new Set(["error", "rate_limit_exceeded"]);
const noop = () => {};

/**
 * Connects to the realtime service; returns { socket, emit, join, leave, close }.
 * @param {object} o
 * @param {string} [o.url]          service origin; default: this page's origin
 * @param {string} [o.namespace]    "/" or "/admin"
 * @param {string} o.csrfToken      the session's CSRF token (GET /session)
 * @param {Array<string|{room_name:string, room_type?:string}>} [o.rooms]  joined after every connect
 * @param {(name:string, data:any) => void} [o.onEvent]
 * @param {(state:string, detail?:any) => void} [o.onStatus]
 * @param {(payload:object) => void} [o.onError]
 * @param {(payload:object) => void} [o.onAuth]
 * @param {object} [o.options]      extra socket.io-client options (override the defaults below)
 */
export function connectRealtime({
  url = "",
  namespace = "/",
  csrfToken,
  rooms = [],
  onEvent = noop,
  onStatus = noop,
  onError = noop,
  onAuth = noop,
  options = {},
} = {}) {
  const socket = io(`${url}${namespace === "/" ? "/" : namespace}`, {
    auth: csrfToken ? { csrf_token: csrfToken } : {},
    transports: ["websocket", "polling"],
    tryAllTransports: true, // WebSocket refused by a proxy: fall back to long-polling
    withCredentials: true, // the session cookie, also when `url` is another origin of the same site
    reconnection: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
    timeout: 10000,
    ...options,
  });
  const wanted = new Map(rooms.map((r) => (typeof r === "string" ? [r, { room_name: r }] : [r.room_name, r])));
  let retryTimer = null;
  let closed = false;

  const emit = (name, data = {}, timeoutMs = 5000) => socket.timeout(timeoutMs).emitWithAck(name, data);

  async function join(room) {
    const spec = typeof room === "string" ? { room_name: room } : room;
    wanted.set(spec.room_name, spec);
    if (!socket.connected) return null; // joined at the next connect
    const reply = await emit("join_room", spec);
    onStatus("joined", reply);
    return reply;
  }

  async function leave(roomName) {
    wanted.delete(roomName);
    return socket.connected ? emit("leave_room", { room_name: roomName }) : null;
  }

  onStatus("connecting", {});
  socket.on("connect", () => {
    refusal = null;
    // recovered: the server gave this socket back (same id, same rooms) and replayed every event it
    // missed, in order, before any new one: nothing to rejoin, nothing to resync. Otherwise the page
    // missed what was sent while it was away and should resync (user.js asks for the job's state).
    const recovered = socket.recovered === true;
    onStatus("connected", { transport: socket.io.engine.transport.name, recovered });
    socket.io.engine.once("upgrade", (t) => onStatus("connected", { transport: t.name, recovered }));
    if (recovered) {
      for (const spec of wanted.values()) onStatus("joined", { room_name: spec.room_name, success: true, recovered });
      return;
    }
    for (const spec of wanted.values()) {
      emit("join_room", spec).then(
        (reply) => onStatus("joined", reply),
        (err) => onStatus("joined", { room_name: spec.room_name, success: false, message: String(err) }),
      );
    }
  });

  // A refusal's retry: only for limits (retry_possible, or error_details.retry_later when it came as an
  // event), after the limit's reset_time or 5-10 s; authentication refusals are never retried.
  function retryLater(data) {
    if (closed || !(data.retry_possible || (data.error_details && data.error_details.retry_later))) return;
    const at = Date.parse(data.reset_time || "");
    const wait = Number.isFinite(at) ? Math.max(1000, at - Date.now()) : 5000 + Math.random() * 5000;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => socket.connect(), Math.min(wait, 60000));
  }

  let refusal = null; // the refusal event of this connection (REFUSAL_MODE=event), until its disconnect

  socket.on("connect_error", (err) => {
    const data = err && err.data;
    if (socket.active && socket.io.reconnection()) {
      // A transport failure (server down, network, origin refused): the manager retries with backoff.
      // The reference's client-side codes: the stock client's "timeout" is CONNECTION_TIMEOUT, the rest
      // ("xhr poll error", "websocket error") TRANSPORT_ERROR.
      const code = err.message === "timeout" ? "CONNECTION_TIMEOUT" : "TRANSPORT_ERROR";
      onStatus("reconnecting", { message: err.message, error_code: code });
      return;
    }
    // The server refused this connection (or reconnection is off): the stock client does not retry.
    onStatus("refused", data || { message: err.message });
    if (data && AUTH_EVENTS.has(data.event)) {
      onAuth(data);
    } else if (data) {
      onError(data);
      retryLater(data);
    }
  });

  socket.on("disconnect", (reason) => {
    onStatus("disconnected", { reason, willReconnect: socket.active });
    if (refusal && reason === "io server disconnect") {
      const data = refusal;
      refusal = null;
      onStatus("refused", data);
      if (!AUTH_EVENTS.has(data.event)) retryLater(data);
    }
  });
  socket.io.on("reconnect_attempt", (attempt) => onStatus("reconnecting", { attempt }));

  socket.onAny((name, data) => {
    if (data && data.error_details && data.error_details.original_event === "connect") refusal = data;
    onEvent(name, data);
    if (ERROR_EVENTS.has(name)) onError(data);
    if (AUTH_EVENTS.has(name)) onAuth(data);
  });

  return {
    socket,
    emit,
    join,
    leave,
    close() {
      closed = true;
      clearTimeout(retryTimer);
      socket.close();
    },
  };
}

const NAMED = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", "#39": "'", "#x27": "'" };

/**
 * Undoes the server's HTML escaping once (Python's html.escape: &amp; &lt; &gt; &quot; &#x27;, and any
 * numeric reference), in one pass, so "&amp;lt;" becomes "&lt;" and not "<". No DOM parser and no
 * innerHTML is involved; put the result in textContent, never in innerHTML.
 * @param {unknown} value
 * @returns {string}
 */
export function decodeEntities(value) {
  if (value === null || value === undefined) return "";
  return String(value).replace(/&(amp|lt|gt|quot|apos|#39|#x27|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});/g, (whole, name) => {
    if (name in NAMED) return NAMED[name];
    const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
  });
}

/** A JSON fetch to this service with the session cookie and the CSRF header; resolves {status, body}. */
export async function callService(path, { method = "GET", csrfToken, body } = {}) {
  const headers = { Accept: "application/json" };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed };
}

/** Describes an HTTP error answer ({event, data}) in one line for the page. */
export function describeError(body) {
  const data = (body && body.data) || {};
  return decodeEntities(data.error_message || data.message || "Request failed") + (data.error_code ? ` (${data.error_code})` : "");
}
