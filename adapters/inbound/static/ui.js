// ui.js: small DOM helpers shared by the pages: elements built with textContent only, toasts that
// dismiss themselves, the signed-in header, the connection pill and the "not signed in" panel.
// Nothing here ever assigns innerHTML: every string from the server goes through decodeEntities()
// into textContent.

import { callService, decodeEntities } from "./client.js";

export const $ = (id) => document.getElementById(id);

/** An element with `text` (decoded) as its content and `attrs` set as attributes (never event handlers). */
export function el(tag, { text, cls, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = decodeEntities(text);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (!name.toLowerCase().startsWith("on")) node.setAttribute(name, String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** A link only for http(s) or same-origin paths: anything else (javascript:, data:) becomes text. */
export function safeLink(url, text) {
  const decoded = decodeEntities(url);
  let parsed = null;
  try {
    parsed = new URL(decoded, location.origin);
  } catch {
    parsed = null;
  }
  if (!parsed || !["http:", "https:"].includes(parsed.protocol)) return el("span", { text: text || url });
  const a = el("a", { text: text || url, attrs: { href: parsed.href, rel: "noopener noreferrer" } });
  if (parsed.origin !== location.origin) a.target = "_blank";
  return a;
}

/** Shows a toast; auto_dismiss (default true) removes it after dismiss_timeout ms (default 10 s). */
export function toast({ type = "info", title = "", message = "", action_url, action_text, auto_dismiss = true, dismiss_timeout = 10000, notification_id } = {}) {
  const box = el("div", { cls: "toast", attrs: { "data-type": String(type), "data-id": notification_id || "" } });
  const close = el("button", { text: "×", attrs: { type: "button", "aria-label": "dismiss" } });
  close.addEventListener("click", () => box.remove());
  box.append(close, el("strong", { text: title }), el("span", { text: message }));
  if (action_url) box.append(document.createTextNode(" "), safeLink(action_url, action_text ? decodeEntities(action_text) : "open"));
  $("toasts").append(box);
  if (auto_dismiss !== false) {
    const ms = Number.isFinite(Number(dismiss_timeout)) && Number(dismiss_timeout) > 0 ? Number(dismiss_timeout) : 10000;
    setTimeout(() => box.remove(), ms);
  }
  return box;
}

/** Shows an auth_required / auth_error payload in the #auth panel (and hides `hide` sections). */
export function showAuth(payload, ...hide) {
  const data = payload || {};
  $("auth").hidden = false;
  $("auth-message").textContent = decodeEntities(data.message || "Authentication required");
  $("auth-code").textContent = `${data.event || "auth_required"}: ${data.error_code || "AUTH_REQUIRED"}`;
  const link = $("auth-link");
  if (data.redirect_url && data.redirect_url.startsWith("/")) link.setAttribute("href", data.redirect_url);
  for (const id of hide) $(id).hidden = true;
  setConnection("refused", { text: data.error_code || "signed out" });
}

/** The connection pill: state is connected / connecting / reconnecting / refused / offline. */
export function setConnection(state, detail = {}) {
  const pill = $("connection");
  pill.dataset.state = state;
  pill.textContent = detail.text || (state === "connected" && detail.transport ? `connected (${detail.transport})` : state);
  if (detail.transport) pill.dataset.transport = detail.transport;
  if (state === "connected") pill.dataset.recovered = String(detail.recovered === true);
}

/**
 * The signed-in user ({user_id, username, role, csrf_token, expires_at}) from GET /session, or null
 * after showing why not. Fills the header and wires the sign-out button.
 */
export async function signedIn() {
  const { status, body } = await callService("/session");
  if (status !== 200) {
    $("who").textContent = "not signed in";
    showAuth(body && body.data ? { ...body.data, event: body.event } : null);
    return null;
  }
  $("who").textContent = `${body.username} (${body.role})`;
  $("who").dataset.userId = String(body.user_id);
  const logout = $("logout");
  logout.hidden = false;
  logout.addEventListener("click", async () => {
    const answer = await callService("/logout", { method: "POST", csrfToken: body.csrf_token });
    location.href = (answer.body && answer.body.redirect_url) || "/login";
  });
  return body;
}

/** "12 s", "3 min 4 s". */
export function seconds(value) {
  const s = Math.max(0, Math.round(Number(value) || 0));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
