// Upload forms: check each chosen file against the limits before anything is sent.
// A file over the per-file limit (or beyond what one upload takes) is named with the
// limit and left out; the rest of the batch is sent, with the names and sizes of the
// files left out, so that the page after the upload sums up the whole batch. The
// server checks every file again: without this script it refuses them itself.
(function () {
  "use strict";
  const KB = 1024;
  const MB = KB * 1024;
  const GB = MB * 1024;

  // The same words as clinic.uploads.format_size.
  function formatSize(size) {
    if (size < KB) return size + (size === 1 ? " byte" : " bytes");
    const units = [["GB", GB], ["MB", MB], ["KB", KB]];
    for (const [unit, scale] of units) {
      if (size >= scale) {
        const value = size / scale;
        let text = value < 10 ? value.toFixed(1) : value.toFixed(0);
        if (text.endsWith(".0")) text = text.slice(0, -2);
        return text + " " + unit;
      }
    }
    return size + " bytes";
  }

  function limitsOf(form) {
    const d = form.dataset;
    return {
      fileBytes: Number(d.maxFileBytes),
      fileLabel: d.maxFileLabel,
      maxFiles: Number(d.maxFiles),
      requestBytes: Number(d.maxRequestBytes),
      requestLabel: d.maxRequestLabel,
    };
  }

  // Which files go and which stay, in the order chosen.
  function plan(files, limits) {
    const send = [];
    const skip = [];
    let total = 0;
    Array.from(files).forEach(function (file) {
      if (file.size > limits.fileBytes) {
        let shown = formatSize(file.size);
        if (shown === limits.fileLabel) shown = "more than " + shown; // rounded down to the limit
        skip.push({ file: file, text: "‘" + file.name + "’ is " + shown +
          "; the limit is " + limits.fileLabel + " per file." });
      } else if (send.length >= limits.maxFiles || total + file.size > limits.requestBytes) {
        skip.push({ file: file, text: "‘" + file.name + "’ does not fit in this upload: one upload takes up to " +
          limits.maxFiles + " files and " + limits.requestLabel + " in all. Upload it in another batch." });
      } else {
        send.push(file);
        total += file.size;
      }
    });
    return { send: send, skip: skip };
  }

  function show(box, result) {
    box.replaceChildren();
    if (!result.skip.length) {
      box.hidden = true;
      return;
    }
    const lead = document.createElement("p");
    lead.className = "mb-1 fw-semibold";
    const n = result.send.length;
    lead.textContent = n
      ? (result.skip.length === 1 ? "This file will not be sent" : "These files will not be sent") +
        "; the other " + (n === 1 ? "file" : n + " files") + " will be."
      : "None of the chosen files can be sent.";
    const list = document.createElement("ul");
    list.className = "mb-0";
    result.skip.forEach(function (s) {
      const item = document.createElement("li");
      item.textContent = s.text;
      list.appendChild(item);
    });
    box.append(lead, list);
    box.hidden = false;
  }

  document.querySelectorAll("form.upload-form[data-max-file-bytes]").forEach(function (form) {
    const input = form.querySelector("input[type=file]");
    const box = form.querySelector(".upload-check");
    if (!input || !box) return;
    const limits = limitsOf(form);

    input.addEventListener("change", function () {
      show(box, plan(input.files, limits));
    });

    form.addEventListener("submit", function (event) {
      form.querySelectorAll("input[name=not_sent]").forEach(function (el) { el.remove(); });
      const result = plan(input.files, limits);
      show(box, result);
      if (!result.skip.length) return;
      if (!result.send.length) {
        event.preventDefault();
        input.focus();
        return;
      }
      try {
        const kept = new DataTransfer();
        result.send.forEach(function (file) { kept.items.add(file); });
        input.files = kept.files;
      } catch (error) {
        return; // no DataTransfer here: send everything, the server refuses what it must
      }
      result.skip.forEach(function (s) {
        const field = document.createElement("input");
        field.type = "hidden";
        field.name = "not_sent";
        field.value = JSON.stringify({ name: s.file.name, size: s.file.size });
        form.appendChild(field);
      });
    });
  });
})();
