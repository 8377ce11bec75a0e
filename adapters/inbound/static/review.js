// review.js: the user page's review list. Every generated caption waits here: a thumbnail, the link to
// its post, an editable caption with a character counter (the platform's alt-text limit), and approve
// (publishes it), reject and regenerate; "approve and publish all pending" approves in bulk. The list is
// read once over HTTP (GET /session/reviews, raw strings) and kept current by the socket's
// review_item_updated / caption_published / caption_publish_failed / caption_publish_progress events
// (HTML-escaped strings, decoded once). Strings only ever go into textContent or form values.

import { callService, decodeEntities, describeError } from "./client.js";
import { $, el, safeLink, toast } from "./ui.js";

const EDITABLE = new Set(["pending", "rejected", "failed", "conflict"]);
const items = new Map(); // item_id -> the latest item seen (raw strings)
let csrfToken = null;
let readOnly = false; // a viewer reads captions but may not review them

/** The event payload's item with its strings decoded, so both sources look alike. */
function decoded(item) {
  const out = { ...item };
  for (const key of ["post_id", "post_url", "image_url", "original_description", "generated_caption", "caption", "error_message"]) {
    if (typeof out[key] === "string") out[key] = decodeEntities(out[key]);
  }
  return out;
}

function text(tag, value, cls) {
  const node = el(tag, { cls });
  node.textContent = value == null ? "" : String(value);
  return node;
}

function counter(area, count, max) {
  count.textContent = `${area.value.length} / ${max}`;
  count.dataset.over = area.value.length > max ? "true" : "false";
}

async function act(item, action, body) {
  $("review-message").textContent = "";
  const { status, body: answer } = await callService(`/session/reviews/${encodeURIComponent(item.item_id)}/${action}`, {
    method: "POST",
    csrfToken,
    body: body || {},
  });
  if (status === 200) show(answer);
  else $("review-message").textContent = describeError(answer);
  return status === 200;
}

function render(item) {
  const li = el("li", { cls: "review", attrs: { id: `review-${item.item_id}`, "data-item": item.item_id, "data-status": item.status, "data-version": item.version } });
  const thumb = el("img", { cls: "thumb", attrs: { alt: item.caption || "image", loading: "lazy", width: 96, height: 96 } });
  thumb.src = item.image_url;
  const area = el("textarea", { cls: "review-caption", attrs: { rows: 3, maxlength: item.max_length, "aria-label": `caption of ${item.post_id}` } });
  area.value = item.caption || "";
  const count = text("span", "", "review-count");
  counter(area, count, item.max_length);
  area.addEventListener("input", () => counter(area, count, item.max_length));
  const editable = EDITABLE.has(item.status) && !readOnly;
  area.readOnly = !editable;
  const buttons = el("div", { cls: "row" });
  const approve = text("button", "Approve & publish", "review-approve");
  approve.type = "button";
  approve.disabled = !editable;
  approve.addEventListener("click", () => act(item, "approve", area.value !== item.caption ? { caption: area.value } : {}));
  const reject = text("button", "Reject", "review-reject");
  reject.type = "button";
  reject.disabled = readOnly || !["pending", "approved", "failed", "conflict"].includes(item.status);
  reject.addEventListener("click", () => act(item, "reject"));
  const regenerate = text("button", "Regenerate", "review-regenerate");
  regenerate.type = "button";
  regenerate.disabled = !editable;
  regenerate.addEventListener("click", async () => {
    regenerate.disabled = true;
    regenerate.textContent = "Regenerating…";
    await act(item, "regenerate");
  });
  buttons.append(approve, reject, regenerate, text("span", item.status, "state review-status"));
  const meta = el("div", { cls: "muted" }, item.post_url ? safeLink(item.post_url, "view post") : null);
  meta.append(document.createTextNode(` · ${item.post_id}${item.edited ? " · edited" : ""}`));
  if (item.original_description) meta.append(document.createTextNode(` · had: “${item.original_description}”`));
  const body = el("div", { cls: "review-body" }, meta, area, count, buttons);
  if (item.error_message) body.append(text("p", `${item.error_type || "error"}: ${item.error_message}`, "review-error"));
  li.append(thumb, body);
  return li;
}

function show(item) {
  const seen = items.get(item.item_id);
  if (seen && seen.version > item.version) return; // an older state arriving late
  items.set(item.item_id, item);
  $("reviews").querySelector(".muted-empty")?.remove();
  const node = render(item);
  const old = document.getElementById(`review-${item.item_id}`);
  if (old) old.replaceWith(node);
  else $("reviews").prepend(node);
  updateBulk();
}

function updateBulk() {
  const pending = [...items.values()].filter((i) => i.status === "pending").length;
  $("review-bulk").disabled = readOnly || pending === 0;
  $("reviews-panel").dataset.pending = String(pending);
  $("reviews-panel").dataset.published = String([...items.values()].filter((i) => i.status === "published").length);
}

/** One checkbox per platform of the user: its captions are approved (and published) as they are generated. */
function autoApprove(platforms) {
  const boxes = platforms.map((p) => {
    const box = el("input", { cls: "auto-approve", attrs: { type: "checkbox", "data-platform": p.platform_id } });
    box.checked = p.auto_approve === true;
    box.disabled = readOnly;
    box.addEventListener("change", async () => {
      box.disabled = true;
      const { status, body } = await callService(`/session/platforms/${Number(p.platform_id)}/review-settings`, {
        method: "PUT",
        csrfToken,
        body: { auto_approve: box.checked },
      });
      if (status === 200) box.checked = body.auto_approve === true;
      else {
        box.checked = !box.checked;
        $("review-message").textContent = describeError(body);
      }
      box.disabled = readOnly;
    });
    const label = el("label", {}, box);
    label.append(document.createTextNode(` auto-approve ${p.platform_name} (${p.platform_type})`));
    return label;
  });
  $("auto-approve").replaceChildren(...boxes);
}

/** Reads the list (after each connect, so nothing missed while offline stays missing). */
export async function loadReviews() {
  const { status, body } = await callService("/session/reviews", { csrfToken });
  if (status !== 200) {
    $("review-message").textContent = describeError(body);
    return;
  }
  autoApprove(body.platforms || []);
  for (const item of [...body.items].reverse()) show(item);
}

export const reviewHandlers = {
  review_item_updated(data) {
    show(decoded(data.item));
  },
  caption_publish_failed(data) {
    toast({ type: "error", title: "Not published", message: `${decodeEntities(data.post_id)}: ${decodeEntities(data.error_message)}`, dismiss_timeout: 8000 });
  },
  caption_publish_progress(data) {
    const progress = $("publish-progress");
    progress.dataset.batch = String(data.batch_id);
    progress.dataset.remaining = String(data.remaining);
    progress.textContent = `publishing: ${data.published} published, ${data.failed} failed, ${data.remaining} left (${data.progress_percentage} %)`;
  },
};

export function startReviews(me) {
  csrfToken = me.csrf_token;
  $("reviews-panel").hidden = false;
  readOnly = me.role === "viewer";
  if (readOnly) $("reviews-panel").dataset.readonly = "true";
  $("review-bulk").addEventListener("click", async () => {
    // A caption typed but not yet saved is stored first, so the bulk approval publishes what the page shows;
    // one whose edit is refused (empty, too long) stays out of the bulk.
    const ids = [];
    for (const item of [...items.values()].filter((i) => i.status === "pending")) {
      const area = document.querySelector(`#review-${CSS.escape(item.item_id)} .review-caption`);
      if (area && area.value !== item.caption && !(await act(item, "edit", { caption: area.value }))) continue;
      ids.push(item.item_id);
    }
    if (!ids.length) return;
    const { status, body } = await callService("/session/reviews/bulk", { method: "POST", csrfToken, body: { action: "approve", item_ids: ids.slice(0, 500) } });
    $("review-message").textContent = status === 202 ? `Publishing ${body.approved.length} captions…` : describeError(body);
  });
}
