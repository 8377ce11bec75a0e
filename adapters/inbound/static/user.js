// user.js: the user page at /. Starts a caption job on the user's demo platform, shows its progress,
// captions, pause/resume and summary, the platform status, and notifications as toasts, all live
// from the realtime socket (see client.js). Payload strings are decoded once and set as textContent.

import { callService, connectRealtime, decodeEntities, describeError } from "./client.js";
import { loadReviews, reviewHandlers, startReviews } from "./review.js";
import { $, el, safeLink, seconds, setConnection, showAuth, signedIn, toast } from "./ui.js";

const ACTIVE = new Set(["queued", "running", "paused", "pause-requested"]);
const job = { id: null, state: "idle", captions: 0 };

function setJobState(state, message) {
  job.state = state;
  $("job").dataset.state = state;
  $("job-state").textContent = state;
  $("start").disabled = ACTIVE.has(state);
  $("pause").disabled = !(state === "running" || state === "queued");
  $("resume").disabled = state !== "paused";
  if (message !== undefined) $("job-message").textContent = message;
}

function setProgress(percentage, text) {
  $("progress").value = Math.max(0, Math.min(100, Number(percentage) || 0));
  $("progress").dataset.value = String($("progress").value);
  $("progress-text").textContent = text;
}

function newJob(jobId) {
  if (job.id === jobId) return;
  job.id = jobId;
  job.captions = 0;
  $("captions").replaceChildren();
  $("job-errors").replaceChildren();
  $("summary").hidden = true;
  $("job").dataset.captions = "0";
}

function summary(data) {
  const rows = [
    ["status", data.status],
    ["posts processed", data.total_posts_processed],
    ["captions written", data.successful_captions],
    ["failed", data.failed_captions],
    ["total time", seconds(data.total_processing_time)],
    ["average per post", `${Number(data.average_processing_time || 0).toFixed(2)} s`],
  ];
  $("summary-list").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
  $("summary").hidden = false;
}

function platform(data) {
  const list = $("platforms");
  list.querySelector(".muted")?.remove();
  const id = `platform-${Number(data.platform_id)}`;
  const item = el("li", { attrs: { id, "data-status": String(data.status) } },
    el("strong", { text: data.platform_name }),
    el("span", { text: ` (${decodeEntities(data.platform_type)}): ` }),
    el("span", { cls: "state", text: data.status }),
    el("span", { cls: "muted", text: data.last_sync ? ` · last sync ${new Date(data.last_sync).toLocaleString()}` : "" }));
  const old = document.getElementById(id);
  if (old) old.replaceWith(item);
  else list.append(item);
}

const handlers = {
  caption_status_response(data) {
    if (data.job_id) newJob(data.job_id);
    const p = data.current_progress;
    if (p) setProgress(p.progress_percentage, `${p.current_post} / ${p.total_posts} posts · ${p.progress_percentage} %`);
    if (!data.status) return;
    // A pause is stored at once, but the runner stops after the current post: caption_generation_paused says so.
    if (job.state === "pause-requested" && data.status === "paused") return;
    setJobState(data.status);
  },
  caption_generation_started(data) {
    newJob(data.job_id);
    setJobState("running", `Started: ${data.total_posts} posts, about ${seconds(data.estimated_duration)}`);
    setProgress(0, `0 / ${data.total_posts} posts · about ${seconds(data.estimated_duration)} left`);
  },
  caption_progress(data) {
    newJob(data.job_id);
    if (!ACTIVE.has(job.state)) setJobState("running");
    setProgress(
      data.progress_percentage,
      `${data.current_post} / ${data.total_posts} posts · ${data.progress_percentage} % · about ${seconds(data.estimated_time_remaining)} left`,
    );
  },
  caption_generated(data) {
    newJob(data.job_id);
    job.captions += 1;
    $("job").dataset.captions = String(job.captions);
    // Ollama reports no confidence (null): show none rather than a made-up 0 %.
    const confidence = data.confidence_score == null ? "" : ` · ${Math.round(Number(data.confidence_score) * 100)} %`;
    const meta = `${decodeEntities(data.post_id)}${confidence} · ${Number(data.processing_time).toFixed(2)} s`;
    $("captions").append(
      el("li", { attrs: { "data-post": decodeEntities(data.post_id) } },
        data.post_url ? safeLink(data.post_url, meta) : el("span", { text: meta }),
        document.createTextNode(" "),
        el("span", { cls: "caption", text: data.caption })),
    );
  },
  caption_generation_error(data) {
    $("job-errors").append(el("li", { text: `${decodeEntities(data.post_id || "job")}: ${decodeEntities(data.error_type)}: ${decodeEntities(data.error_message)}` }));
  },
  caption_generation_paused(data) {
    setJobState("paused", `Paused${data.reason ? `: ${decodeEntities(data.reason)}` : ""}`);
  },
  caption_generation_resumed() {
    setJobState("running", "Resumed");
  },
  caption_generation_completed(data) {
    setProgress(data.status === "completed" ? 100 : $("progress").value, `${data.total_posts_processed} posts processed`);
    setJobState(data.status, data.status === "completed" ? "Done" : "The job failed");
    summary(data);
  },
  platform_connection_status: platform,
  platform_sync_progress(data) {
    $("sync").hidden = false;
    $("sync").value = Number(data.progress_percentage) || 0;
    $("sync-text").textContent = `syncing ${decodeEntities(data.sync_type)}: ${data.current_item} / ${data.total_items}`;
  },
  user_notification(data) {
    toast(data);
  },
};

async function control(event, pendingState) {
  const before = job.state;
  if (pendingState) setJobState(pendingState);
  try {
    const reply = await rt.emit(event, event === "pause_caption_generation" ? { reason: "paused from the page" } : {});
    if (reply && reply.error_code) {
      setJobState(before, describeError({ data: reply }));
    } else if (reply) {
      $("job-message").textContent = event === "pause_caption_generation" ? "Pausing after the current post…" : "Resuming…";
      if (reply.status === "running" && job.state !== "running") setJobState("running");
    }
  } catch (err) {
    setJobState(before, `No answer: ${err.message}`);
  }
}

/** A fresh (not recovered) connection missed whatever was sent while away: ask for the job's state,
 * rebuild the caption list from the job's stored results, and reload the reviews. */
async function resync() {
  $("job").dataset.resyncs = String(Number($("job").dataset.resyncs || 0) + 1);
  loadReviews();
  let status = null;
  try {
    status = await rt?.emit("request_caption_status", {});
  } catch {
    return;
  }
  if (!status || status.error_code) return;
  handlers.caption_status_response(status);
  if (!status.job_id) return;
  const { status: code, body } = await callService(`/session/caption-jobs/${encodeURIComponent(status.job_id)}`, { csrfToken: me.csrf_token });
  if (code !== 200 || body.job_id !== job.id) return;
  $("captions").replaceChildren();
  job.captions = 0;
  for (const result of body.results || []) if (result.caption) handlers.caption_generated({ ...result, job_id: body.job_id });
}

let rt = null;
const me = await signedIn();
if (me) {
  for (const id of ["job", "platforms-panel"]) $(id).hidden = false;
  if (me.role === "admin") $("admin-link").hidden = false;
  setJobState("idle");
  startReviews(me);
  rt = connectRealtime({
    namespace: "/",
    csrfToken: me.csrf_token,
    rooms: [`user_${me.user_id}_captions`],
    onStatus(state, detail) {
      if (!$("auth").hidden) return; // signed out: the auth outcome stays on screen
      if (state === "connected") {
        setConnection("connected", detail);
        if (!detail.recovered) resync(); // a recovered socket got every missed event replayed: nothing to do
      } else if (state === "joined") {
        $("job").dataset.rooms = detail && detail.success ? decodeEntities(detail.room_name) : "";
      } else if (state === "disconnected") {
        setConnection(detail.willReconnect ? "reconnecting" : "offline", { text: `disconnected (${detail.reason})` });
        $("job").dataset.rooms = "";
      } else if (state !== "refused") {
        setConnection(state);
      }
    },
    onEvent(name, data) {
      if (handlers[name]) handlers[name](data);
      if (reviewHandlers[name]) reviewHandlers[name](data);
    },
    onError(payload) {
      toast({ type: "error", title: payload.error_code || "error", message: payload.error_message || payload.message || "", dismiss_timeout: 8000 });
    },
    onAuth(payload) {
      showAuth(payload, "job", "platforms-panel", "reviews-panel");
    },
  });
  $("start").addEventListener("click", async () => {
    setJobState("queued", "Starting…");
    const { status, body } = await callService("/session/caption-jobs", { method: "POST", csrfToken: me.csrf_token, body: {} });
    if (status === 202) {
      newJob(body.job_id);
      $("job-message").textContent = `Job ${body.job_id} ${body.status}`;
    } else {
      setJobState("idle", describeError(body));
    }
  });
  $("pause").addEventListener("click", () => control("pause_caption_generation", "pause-requested"));
  $("resume").addEventListener("click", () => control("resume_caption_generation"));
}
