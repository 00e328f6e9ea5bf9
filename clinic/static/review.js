// Review screen: filters, keyboard shortcuts, linking marks and findings, text selection.
(function () {
  "use strict";
  const root = document.getElementById("review");
  if (!root) return;
  const list = document.getElementById("findings");
  const cards = Array.from(list.querySelectorAll("li.finding"));
  const canDecide = root.dataset.canDecide === "true";
  let current = -1;

  function visible() { return cards.filter(function (c) { return !c.hidden; }); }

  function marksFor(id) {
    return document.querySelectorAll("mark.hl, .page-hl").length
      ? Array.from(document.querySelectorAll("mark.hl, .page-hl")).filter(function (m) {
          return (m.dataset.findings || m.dataset.finding || "").split(" ").indexOf(String(id)) >= 0;
        })
      : [];
  }

  function select(card, focusCard) {
    cards.forEach(function (c) { c.classList.remove("active"); });
    document.querySelectorAll(".hl.active, .page-hl.active").forEach(function (m) { m.classList.remove("active"); });
    if (!card) return;
    card.classList.add("active");
    current = cards.indexOf(card);
    const marks = marksFor(card.dataset.id);
    marks.forEach(function (m) { m.classList.add("active"); });
    if (marks.length) reveal(marks[0]);
    if (focusCard) { card.focus({ preventScroll: true }); card.scrollIntoView({ block: "nearest" }); }
  }

  // Bring a highlight to the middle of the document pane. Page images load lazily: their
  // size is reserved from the PDF's page box, but an image without one (or a late font)
  // can still move things, so scroll again when the target page's image has loaded, and
  // when other images load in the next few seconds, until the reader scrolls themself.
  const docPane = document.getElementById("doc-pane");
  let pending = null;
  function reveal(mark) {
    const far = Math.abs(mark.getBoundingClientRect().top - window.innerHeight / 2) > 2 * window.innerHeight;
    mark.scrollIntoView({ block: "center", behavior: far ? "auto" : "smooth" });
    const figure = mark.closest(".page-figure");
    const img = figure && figure.querySelector("img");
    pending = { mark: mark, until: Date.now() + 4000 };
    if (img && !img.complete) {
      img.loading = "eager";
      img.addEventListener("load", function () {
        if (pending && pending.mark === mark) mark.scrollIntoView({ block: "center" });
      }, { once: true });
    }
  }
  if (docPane) {
    docPane.addEventListener("load", function (e) {
      if (e.target.tagName !== "IMG" || !pending) return;
      if (Date.now() > pending.until) { pending = null; return; }
      pending.mark.scrollIntoView({ block: "center" });
    }, true);
    ["wheel", "touchmove", "keydown", "mousedown"].forEach(function (type) {
      docPane.addEventListener(type, function () { pending = null; }, { passive: true });
    });
  }

  function step(delta) {
    const shown = visible();
    if (!shown.length) return;
    let i = shown.indexOf(cards[current]);
    i = i < 0 ? (delta > 0 ? 0 : shown.length - 1) : Math.min(shown.length - 1, Math.max(0, i + delta));
    select(shown[i], true);
  }

  // Filters
  const filters = Array.from(document.querySelectorAll("[data-facet]"));
  const pageFrom = document.getElementById("filter-page-from");
  const pageTo = document.getElementById("filter-page-to");
  function bound(input) {
    const n = input ? parseInt(input.value, 10) : NaN;
    return isNaN(n) ? null : n;
  }
  function inPages(card) {
    const from = bound(pageFrom), to = bound(pageTo);
    if (from === null && to === null) return true;
    if (!card.dataset.page) return false;
    const page = parseInt(card.dataset.page, 10);
    return (from === null || page >= from) && (to === null || page <= to);
  }
  function applyFilters() {
    let shown = 0;
    cards.forEach(function (card) {
      const ok = inPages(card) && filters.every(function (f) { return !f.value || card.dataset[f.dataset.facet] === f.value; });
      card.hidden = !ok;
      if (ok) shown += 1;
    });
    document.getElementById("shown-count").textContent = shown;
    syncBulk();
  }
  filters.forEach(function (f) { f.addEventListener("change", applyFilters); });
  [pageFrom, pageTo].forEach(function (input) { if (input) input.addEventListener("input", applyFilters); });
  function clearFilters() {
    filters.forEach(function (f) { f.value = ""; });
    [pageFrom, pageTo].forEach(function (input) { if (input) input.value = ""; });
    applyFilters();
  }

  // Triage in bulk: picked cards, or every card matching the filters (the server re-applies them)
  const bulk = document.getElementById("bulk-form");
  const bulkAll = document.getElementById("bulk-all");
  const picks = Array.from(document.querySelectorAll(".bulk-pick"));
  function syncBulk() {
    if (!bulk) return;
    const all = bulkAll.checked;
    let count = 0;
    picks.forEach(function (box) {
      const card = box.closest("li.finding");
      if (all) { box.checked = !card.hidden; box.disabled = true; } else box.disabled = false;
      if (box.checked && (!all || !card.hidden)) count += 1;
    });
    document.getElementById("bulk-all-count").textContent = visible().length;
    document.getElementById("bulk-count").textContent = count + " selected";
    return count;
  }
  if (bulk) {
    bulkAll.addEventListener("change", function () {
      if (!bulkAll.checked) picks.forEach(function (box) { box.checked = false; });
      syncBulk();
    });
    picks.forEach(function (box) { box.addEventListener("change", syncBulk); });
    bulk.addEventListener("submit", function (e) {
      const error = document.getElementById("bulk-error");
      const action = e.submitter ? e.submitter.value : "";
      const count = syncBulk();
      let message = "";
      if (!count) message = "Select at least one finding, or all matching the filters.";
      else if (action === "dismiss" && !bulk.querySelector("[name=reason]").value) message = "Choose why the selected findings are dismissed.";
      if (message) {
        e.preventDefault();
        error.textContent = message;
        error.hidden = false;
        return;
      }
      error.hidden = true;
      // The filters the server applies for "all matching" (the same as on screen)
      bulk.querySelectorAll("[data-bulk-filter]").forEach(function (input) {
        const name = input.dataset.bulkFilter;
        const facet = filters.find(function (f) { return f.dataset.facet === name; });
        input.value = name === "page_from" ? (bound(pageFrom) ?? "")
          : name === "page_to" ? (bound(pageTo) ?? "")
          : (facet ? facet.value : "");
      });
      if (bulkAll.checked) picks.forEach(function (box) { box.disabled = true; box.checked = false; });
      const verb = action === "dismiss" ? "Dismiss" : "Confirm";
      if (!window.confirm(verb + " " + count + " finding" + (count === 1 ? "" : "s") + "?")) {
        e.preventDefault();
        syncBulk();
      }
    });
  }

  // Order: document order, or by confidence / severity (strongest first)
  const RANK = { certain: 0, likely: 1, possible: 2, high: 0, medium: 1, low: 2 };
  const original = cards.slice();
  const sorter = document.getElementById("sort-findings");
  if (sorter) {
    sorter.addEventListener("change", function () {
      const keys = sorter.value === "confidence" ? ["confidence", "severity"]
        : sorter.value === "severity" ? ["severity", "confidence"] : [];
      const ordered = original.slice();
      if (keys.length) {
        ordered.sort(function (a, b) {
          for (const k of keys) {
            const d = (RANK[a.dataset[k]] ?? 9) - (RANK[b.dataset[k]] ?? 9);
            if (d) return d;
          }
          return original.indexOf(a) - original.indexOf(b);
        });
      }
      const active = cards[current];
      cards.length = 0;
      ordered.forEach(function (c) { cards.push(c); list.appendChild(c); });
      current = active ? cards.indexOf(active) : -1;
    });
  }

  // Cards and marks point at each other
  cards.forEach(function (card) {
    card.addEventListener("click", function (e) {
      if (e.target.closest("form, details, a:not(.goto), select, button, input")) return;
      e.preventDefault();
      select(card, false);
    });
    card.addEventListener("focus", function () { if (cards[current] !== card) select(card, false); });
  });
  document.querySelectorAll("mark.hl, .page-hl").forEach(function (m) {
    m.addEventListener("click", function (e) {
      const id = (m.dataset.findings || m.dataset.finding || "").split(" ")[0];
      const card = document.getElementById("finding-" + id);
      if (card) { e.preventDefault(); if (card.hidden) clearFilters(); select(card, true); }
    });
  });

  // Keyboard shortcuts (not while typing in a field)
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.closest("input, textarea, select, [contenteditable]")) return;
    const card = cards[current];
    switch (e.key) {
      case "j": case "n": step(1); break;
      case "k": case "p": step(-1); break;
      case "c":
        if (canDecide && card && card.querySelector(".confirm-form")) card.querySelector(".confirm-form").requestSubmit();
        else return;
        break;
      case "r":
        if (canDecide && card && card.querySelector(".reopen-form")) card.querySelector(".reopen-form").requestSubmit();
        else return;
        break;
      case "d":
        if (canDecide && card && card.querySelector("details.dismiss")) {
          const d = card.querySelector("details.dismiss");
          d.open = true;
          d.querySelector("select").focus();
        } else return;
        break;
      default: return;
    }
    e.preventDefault();
  });
  // Enter on the reason list submits the dismissal
  document.querySelectorAll(".dismiss-form select").forEach(function (s) {
    s.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && s.value) { e.preventDefault(); s.form.requestSubmit(); }
    });
  });

  // Open at the finding named in the URL: after a confirm or dismiss the server names
  // the next open finding, so the coach carries on where the work is.
  if (location.hash.indexOf("#finding-") === 0) {
    const card = document.getElementById(location.hash.slice(1));
    if (card) {
      select(card, true);
      card.scrollIntoView({ block: "center" });
    }
  }

  // Manual findings from a text selection: one finding per segment the selection touches
  const form = document.getElementById("manual-form");
  if (!form) return;
  const maxPassages = parseInt(form.dataset.maxPassages, 10) || 20;
  function offsetIn(seg, node, offset) {
    const range = document.createRange();
    range.setStart(seg, 0);
    range.setEnd(node, offset);
    return range.toString().length;
  }
  function passagesOf(range) {
    const out = [];
    docPane.querySelectorAll(".seg").forEach(function (seg) {
      if (!range.intersectsNode(seg)) return;
      const text = seg.textContent;
      let start = seg.contains(range.startContainer) ? offsetIn(seg, range.startContainer, range.startOffset) : 0;
      let end = seg.contains(range.endContainer) ? offsetIn(seg, range.endContainer, range.endOffset) : text.length;
      while (start < end && /\s/.test(text[start])) start += 1;
      while (end > start && /\s/.test(text[end - 1])) end -= 1;
      if (end > start) out.push({ seg: seg, start: start, end: end, text: text.slice(start, end) });
    });
    return out;
  }
  function onSelect() {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return;
    const range = sel.getRangeAt(0);
    if (!docPane.contains(range.commonAncestorContainer)) return;
    const passages = passagesOf(range);
    if (!passages.length) return;
    const first = passages[0];
    form.querySelector("[name=segment_id]").value = first.seg.dataset.segmentId;
    form.querySelector("[name=start]").value = first.start;
    form.querySelector("[name=end]").value = first.end;
    document.getElementById("manual-passages").value = passages.length > 1
      ? JSON.stringify(passages.map(function (p) { return [parseInt(p.seg.dataset.segmentId, 10), p.start, p.end]; }))
      : "";
    const quotes = document.getElementById("manual-quote");
    quotes.textContent = "";
    passages.slice(0, maxPassages).forEach(function (p) {
      const li = document.createElement("li");
      li.textContent = p.text;
      quotes.appendChild(li);
    });
    const count = document.getElementById("manual-count");
    count.hidden = passages.length < 2;
    count.textContent = passages.length + " passages selected: one finding will be added for each.";
    const tooMany = passages.length > maxPassages;
    document.getElementById("manual-too-many").hidden = !tooMany;
    document.getElementById("manual-too-many-n").textContent = passages.length;
    document.getElementById("manual-submit").disabled = tooMany;
    document.getElementById("manual-submit").textContent = passages.length > 1 && !tooMany
      ? "Add " + passages.length + " findings" : "Add finding";
    // Keep the chosen words visibly marked while the focus is in the form.
    if (window.CSS && CSS.highlights && window.Highlight) {
      CSS.highlights.set("manual-selection", new Highlight(range.cloneRange()));
    }
    form.hidden = false;
  }
  function closeForm() {
    form.hidden = true;
    if (window.CSS && CSS.highlights) CSS.highlights.delete("manual-selection");
  }
  docPane.addEventListener("mouseup", onSelect);
  docPane.addEventListener("keyup", function (e) { if (e.shiftKey) onSelect(); });
  document.getElementById("manual-cancel").addEventListener("click", closeForm);
  form.addEventListener("keydown", function (e) { if (e.key === "Escape") closeForm(); });
})();
