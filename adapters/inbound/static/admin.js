// admin.js: the admin dashboard at /admin/. Live system_status_update per component with a hand-drawn
// SVG chart of connections and memory, admin_alert by severity, the user_activity_update feed,
// admin_notification, and a form that sends a user_notification (POST /session/admin/notifications).

import { callService, connectRealtime, decodeEntities, describeError } from "./client.js";
import { $, el, setConnection, showAuth, signedIn, toast } from "./ui.js";

const WINDOW_MS = 5 * 60 * 1000;
const FEED_MAX = 100;
const SVG = "http://www.w3.org/2000/svg";
const samples = []; // {t, connections, memory}
const users = new Map(); // user_id -> username, from the activity feed

function text(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : decodeEntities(value);
}

function prepend(list, item) {
  list.prepend(item);
  while (list.children.length > FEED_MAX) list.lastElementChild.remove();
}

function stamp(data) {
  return new Date(data.timestamp || Date.now()).toLocaleTimeString();
}

function component(data) {
  const name = decodeEntities(data.component);
  const id = `component-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const metrics = el("td", {}, ...Object.entries(data.metrics || {}).map(([k, v]) => el("div", { text: `${decodeEntities(k)}: ${text(v)}` })));
  const row = el("tr", { attrs: { id, "data-status": String(data.status) } },
    el("td", { text: name }),
    el("td", {}, el("span", { cls: "badge", text: data.status, attrs: { "data-status": String(data.status) } })),
    metrics);
  const tbody = $("components");
  tbody.querySelector("td.muted")?.parentElement.remove();
  const old = document.getElementById(id);
  if (old) old.replaceWith(row);
  else tbody.append(row);
  $("status-updated").textContent = `updated ${stamp(data)}`;
  const count = Number($("components").dataset.updates || 0) + 1;
  $("components").dataset.updates = String(count);
  if (name === "websocket_server") {
    const m = data.metrics || {};
    samples.push({ t: Date.now(), connections: Number(m.active_connections) || 0, memory: parseFloat(m.memory_usage) || 0 });
    while (samples.length && samples[0].t < Date.now() - WINDOW_MS) samples.shift();
    drawChart();
  }
}

function svg(tag, attrs, content) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (content !== undefined) node.textContent = content;
  return node;
}

/** Two lines, each scaled to its own maximum, over the samples of the last WINDOW_MS; drawn by hand. */
function drawChart() {
  const chart = $("chart");
  const W = Math.max(200, Math.round(chart.clientWidth || 600));
  const H = 180, pad = 20, top = 26, now = Date.now();
  chart.setAttribute("viewBox", `0 0 ${W} ${H}`);
  // The time axis spans the data seen so far: at least a minute, at most WINDOW_MS.
  const span = Math.min(WINDOW_MS, Math.max(60000, samples.length ? now - samples[0].t : 0));
  const x = (t) => pad + ((t - (now - span)) / span) * (W - 2 * pad);
  const line = (key, cls) => {
    const max = Math.max(1, ...samples.map((s) => s[key]));
    const y = (v) => H - pad - (v / max) * (H - pad - top);
    const points = samples.map((s) => `${x(s.t).toFixed(1)},${y(s[key]).toFixed(1)}`).join(" ");
    return [svg("polyline", { class: cls, points }), max];
  };
  const [conn, connMax] = line("connections", "conn");
  const [mem, memMax] = line("memory", "mem");
  const last = samples[samples.length - 1] || { connections: 0, memory: 0 };
  chart.replaceChildren(
    svg("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#d8dee4" }),
    svg("line", { x1: pad, y1: top, x2: W - pad, y2: top, stroke: "#eef1f4" }),
    conn,
    mem,
    svg("text", { x: pad, y: 14 }, `connections ${last.connections} (top line = ${connMax})`),
    svg("text", { x: W - pad, y: 14, "text-anchor": "end" }, `memory ${last.memory} MB (top line = ${memMax} MB)`),
    svg("text", { x: pad, y: H - 5 }, `-${Math.round(span / 1000)} s`),
    svg("text", { x: W - pad, y: H - 5, "text-anchor": "end" }, "now"),
  );
  chart.dataset.points = String(samples.length);
}

const handlers = {
  system_status_update: component,
  admin_alert(data) {
    const severity = String(data.severity);
    prepend($("alerts"), el("li", { attrs: { "data-severity": severity } },
      el("span", { cls: "badge", text: severity, attrs: { "data-severity": severity } }),
      el("span", { text: ` ${stamp(data)} ${decodeEntities(data.component)}: ` }),
      el("strong", { text: data.title }),
      el("span", { text: ` ${decodeEntities(data.message)}${data.recommended_action ? ` · ${decodeEntities(data.recommended_action)}` : ""}` })));
  },
  user_activity_update(data) {
    const username = decodeEntities(data.username);
    if (!users.has(data.user_id)) {
      users.set(data.user_id, username);
      $("known-users").append(el("option", { attrs: { value: Number(data.user_id), label: username } }));
    }
    if (!$("notify-user").value && data.user_id) $("notify-user").value = String(Number(data.user_id));
    const details = Object.entries(data.details || {}).map(([k, v]) => `${decodeEntities(k)}=${text(v)}`).join(" ");
    prepend($("activity"), el("li", { attrs: { "data-activity": String(data.activity_type), "data-user": username } },
      el("span", { cls: "muted", text: `${stamp(data)} ` }),
      el("strong", { text: username }),
      el("span", { text: ` ${decodeEntities(data.activity_type)} ${details}` })));
  },
  admin_notification(data) {
    prepend($("admin-notifications"), el("li", { attrs: { "data-priority": String(data.priority) } },
      el("span", { cls: "muted", text: `${stamp(data)} [${decodeEntities(data.priority)}] ` }),
      el("strong", { text: data.title }),
      el("span", { text: ` ${decodeEntities(data.message)}${data.action_required ? " (action required)" : ""}` })));
  },
};

const me = await signedIn();
if (me) {
  connectRealtime({
    namespace: "/admin",
    csrfToken: me.csrf_token,
    onStatus(state, detail) {
      if (!$("auth").hidden) return; // signed out: the auth outcome stays on screen
      if (state === "connected") {
        $("dashboard").hidden = false;
        setConnection("connected", detail);
      } else if (state === "disconnected") {
        setConnection(detail.willReconnect ? "reconnecting" : "offline", { text: `disconnected (${detail.reason})` });
      } else if (state !== "refused" && state !== "joined") {
        setConnection(state);
      }
    },
    onEvent(name, data) {
      if (handlers[name]) handlers[name](data);
    },
    onError(payload) {
      toast({ type: "error", title: payload.error_code || "error", message: payload.error_message || payload.message || "", dismiss_timeout: 8000 });
    },
    onAuth(payload) {
      showAuth(payload, "dashboard");
    },
  });
  $("notify").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      user_id: Number($("notify-user").value),
      title: $("notify-title").value,
      message: $("notify-message").value,
      type: $("notify-type").value,
      auto_dismiss: $("notify-dismiss").checked,
      dismiss_timeout: Number($("notify-timeout").value) || 5000,
    };
    const { status, body: answer } = await callService("/session/admin/notifications", { method: "POST", csrfToken: me.csrf_token, body });
    $("notify-result").textContent = status === 202 ? `Sent ${answer.notification_id} to user ${answer.user_id}` : describeError(answer);
    $("notify-result").dataset.status = String(status);
  });
  setInterval(drawChart, 5000); // keeps the time axis moving between updates
}
