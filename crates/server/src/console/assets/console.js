// loyalbatch console: refreshes the counts of jobs that are still running
// (polling their progress every second) and asks before a form that says so.
"use strict";

function refresh(el) {
  const url = el.getAttribute("data-progress-url");
  if (!url) return;
  fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((p) => {
      for (const field of ["succeeded", "failed", "remaining", "rate", "eta"]) {
        const cell = el.querySelector('[data-field="' + field + '"]');
        if (cell) cell.textContent = String(p[field]);
      }
      const bar = el.querySelector('[data-field="percent"]');
      if (bar) bar.value = p.percent;
      const statuses = el.hasAttribute("data-reload-when-final")
        ? document.querySelectorAll('[data-field="status"]')
        : el.querySelectorAll('[data-field="status"]');
      for (const s of statuses) {
        s.textContent = p.status;
        s.className = "status " + p.status;
      }
      if (p.final) {
        el.removeAttribute("data-progress-url");
        // A job page shows its results once the job has ended.
        if (el.hasAttribute("data-reload-when-final")) window.location.reload();
        return;
      }
      setTimeout(() => refresh(el), 1000);
    })
    .catch(() => setTimeout(() => refresh(el), 3000));
}

document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-progress-url]")) {
    setTimeout(() => refresh(el), 1000);
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  }
});
