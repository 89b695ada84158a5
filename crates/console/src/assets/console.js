// loyalbatch console: keeps the counts of running jobs current and asks before
// a form that says so. A job page follows the job's event stream; where there
// is none (or it fails), pages poll the job's progress every second.
"use strict";

function show(el, fields) {
  for (const [field, value] of Object.entries(fields)) {
    const cell = el.querySelector('[data-field="' + field + '"]');
    if (cell && value !== undefined) cell.textContent = String(value);
  }
}

function setStatus(el, status) {
  const all = el.getAttribute("data-page") === "job"
    ? document.querySelectorAll('[data-field="status"]')
    : el.querySelectorAll('[data-field="status"]');
  for (const s of all) {
    s.textContent = status;
    s.className = "status " + status;
  }
}

function ended(el) {
  el.removeAttribute("data-progress-url");
  el.removeAttribute("data-events-url");
  // A job page offers its results once the job has ended (the page stays as it is).
  const note = document.getElementById("ended");
  if (note && el.getAttribute("data-page") === "job") note.hidden = false;
  for (const form of document.querySelectorAll("form[data-while-running]")) form.hidden = true;
}

const FINAL = ["completed", "failed", "stopped"];

// The pace the page has seen since it first saw the job: items per second and
// the time left (measured by this page's own clock, whatever the server's).
function pace(el, p) {
  const now = Date.now();
  if (!el.seen) el.seen = { at: now, total: p.totalCount };
  const secs = (now - el.seen.at) / 1000;
  const rate = secs > 0 ? (p.totalCount - el.seen.total) / secs : 0;
  if (rate > 0) show(el, { rate: Math.round(rate) + "/s" });
  const left = FINAL.includes(p.status) || p.unprocessedCount === 0 || !(rate > 0)
    ? "—"
    : "~" + Math.round(p.unprocessedCount / rate) + " s";
  show(el, { eta: left });
}

// One shape for every update of a job: its progress as the stream's `progress`
// event carries it, which the final event's status and the polled progress
// share (jobId, status, itemCount, totalCount, finishedCount, errorCount,
// unprocessedCount).
function counts(el, p) {
  show(el, { succeeded: p.finishedCount, failed: p.errorCount, remaining: p.unprocessedCount });
  const bar = el.querySelector('[data-field="percent"]');
  if (bar) bar.value = p.itemCount > 0 ? Math.floor((p.totalCount * 100) / p.itemCount) : 100;
  setStatus(el, p.status);
  pace(el, p);
}

function poll(el) {
  const url = el.getAttribute("data-progress-url");
  if (!url) return;
  fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => {
      // Not JSON (the session ended: the login page): stop.
      const json = (r.headers.get("content-type") || "").startsWith("application/json");
      if (!r.ok || !json) return Promise.reject(json ? r.status : "ended");
      return r.json();
    })
    .then((p) => {
      counts(el, p);
      if (FINAL.includes(p.status)) return ended(el);
      setTimeout(() => poll(el), 1000);
    })
    .catch((why) => {
      if (why !== "ended") setTimeout(() => poll(el), 3000);
    });
}

function follow(el) {
  const url = el.getAttribute("data-events-url");
  if (!url || !window.EventSource) return poll(el);
  const source = new EventSource(url);
  source.addEventListener("progress", (e) => counts(el, JSON.parse(e.data)));
  for (const name of FINAL) {
    source.addEventListener(name, (e) => {
      source.close();
      // The final counts (the status of the job as it ended).
      counts(el, JSON.parse(e.data));
      ended(el);
    });
  }
  source.onerror = () => {
    // The stream is gone (the server restarted, the session ended): poll instead.
    source.close();
    setTimeout(() => poll(el), 1000);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-events-url]")) follow(el);
  for (const el of document.querySelectorAll("[data-progress-url]:not([data-events-url])")) {
    setTimeout(() => poll(el), 1000);
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  }
});
