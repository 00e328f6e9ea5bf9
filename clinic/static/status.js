// Live analysis status: polls each unfinished version and updates its badge and bar.
(function () {
  "use strict";
  const colours = { done: "text-bg-success", failed: "text-bg-danger" };

  function update(box, state) {
    const label = box.querySelector(".status-label");
    label.textContent = state.label;
    label.className = "status-label badge " + (colours[state.status] || "text-bg-info");
    const bar = box.querySelector(".progress-bar");
    const wrap = box.querySelector(".progress");
    if (bar) { bar.style.width = state.progress + "%"; wrap.setAttribute("aria-valuenow", state.progress); }
    if (state.finished) {
      box.dataset.finished = "true";
      if (wrap) wrap.remove();
      // Show findings counts, errors and the review link that only exist once done.
      window.setTimeout(function () { window.location.reload(); }, 400);
    }
  }

  function poll(box) {
    if (box.dataset.finished === "true") return;
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (state) update(box, state);
        if (!state || !state.finished) window.setTimeout(function () { poll(box); }, 1500);
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 5000); });
  }

  document.querySelectorAll(".version-status[data-finished='false']").forEach(poll);
  const live = document.getElementById("status-live");
  if (live) live.setAttribute("aria-live", "polite");
})();
