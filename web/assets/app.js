// Backspin's only script. Everything works without it; with it, uploads get drag and drop,
// a progress bar per file and live states, without reloading the page.
"use strict";

(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  function csrf() { return csrfMeta ? csrfMeta.getAttribute("content") : ""; }
  // A first upload starts the visitor's session, which ends the token the page came with: the
  // page's forms (hidden _csrf fields, the file form's action) take the new one too.
  function setCsrf(t) {
    if (!t) { return; }
    if (csrfMeta) { csrfMeta.setAttribute("content", t); }
    document.querySelectorAll('input[name="_csrf"]').forEach(function (i) { i.value = t; });
    document.querySelectorAll("form[data-upload]").forEach(function (f) {
      var action = f.getAttribute("action") || "";
      f.setAttribute("action", action.replace(/([?&]_csrf=)[^&#]*/, "$1" + encodeURIComponent(t)));
    });
  }

  var LABELS = { queued: "Queued", processing: "Processing…", ready: "Ready", failed: "Failed", deleting: "Deleting…" };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function span(summary) {
    if (!summary || !summary.first_ts || !summary.last_ts) { return ""; }
    return summary.first_ts.slice(0, 10) + " – " + summary.last_ts.slice(0, 10);
  }

  // Polls an upload until it is ready or failed, calling show(upload) on each answer.
  function follow(id, show) {
    var delay = 700;
    function tick() {
      var xhr = new XMLHttpRequest();
      xhr.open("GET", "/api/v1/uploads/" + encodeURIComponent(id));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.onload = function () {
        if (xhr.status !== 200) { return; }
        var u = JSON.parse(xhr.responseText);
        show(u);
        if (u.state === "queued" || u.state === "processing") {
          delay = Math.min(delay * 1.3, 3000);
          setTimeout(tick, delay);
        }
      };
      xhr.send();
    }
    tick();
  }

  function describe(u) {
    var text = LABELS[u.state] || u.state;
    if (u.state === "ready" && u.summary) {
      text += ": " + u.summary.plays.toLocaleString() + " plays, " + span(u.summary);
    }
    if (u.state === "failed" && u.reason) { text += ": " + u.reason; }
    return text;
  }

  // One file: a progress bar for the transfer, then its state.
  function send(file, list, done) {
    var item = el("div", "item");
    var name = el("strong", "", file.name);
    var bar = el("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    var status = el("span", "status", " Uploading…");
    status.setAttribute("role", "status");
    item.appendChild(name); item.appendChild(status); item.appendChild(bar);
    list.appendChild(item);

    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/uploads?name=" + encodeURIComponent(file.name));
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round(e.loaded * 100 / e.total);
        status.textContent = " " + bar.value + " %";
      }
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 202) {
        bar.value = 100;
        setCsrf(body.csrf_token);
        item.setAttribute("data-upload-id", body.upload.id);
        status.textContent = " " + describe(body.upload);
        follow(body.upload.id, function (u) {
          item.setAttribute("data-state", u.state);
          status.textContent = " " + describe(u);
          if (u.state === "ready" && !item.querySelector("a")) {
            var a = el("a", "", "Open its dashboard");
            a.href = "/dashboard?u=" + encodeURIComponent(u.id);
            item.appendChild(document.createTextNode(" "));
            item.appendChild(a);
          }
        });
      } else {
        item.setAttribute("data-state", "refused");
        status.className = "status error";
        status.textContent = " " + ((body.error && body.error.message) || ("Upload failed (" + xhr.status + ")."));
      }
      done();
    };
    xhr.onerror = function () {
      status.className = "status error";
      status.textContent = " The connection was lost; nothing was stored. Try again.";
      done();
    };
    xhr.send(file);
  }

  function sendAll(files, list) {
    var queue = Array.prototype.slice.call(files);
    function next() { if (queue.length) { send(queue.shift(), list, next); } }
    next();  // one at a time: the first may start the session the others use
  }

  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var input = form.querySelector('input[type="file"]');
    var list = form.querySelector(".progress-list");
    form.addEventListener("submit", function (e) {
      if (!input.files.length) { return; }
      e.preventDefault();
      sendAll(input.files, list);
      input.value = "";
    });
    input.addEventListener("change", function () {
      if (input.files.length) { sendAll(input.files, list); input.value = ""; }
    });
    ["dragenter", "dragover"].forEach(function (t) {
      form.addEventListener(t, function (e) { e.preventDefault(); form.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      form.addEventListener(t, function () { form.classList.remove("dragging"); });
    });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) { sendAll(e.dataTransfer.files, list); }
    });
  });

  // Rows of the uploads table still in progress update themselves.
  document.querySelectorAll("table[data-uploads] tr[data-id]").forEach(function (row) {
    var state = row.getAttribute("data-state");
    if (state !== "queued" && state !== "processing") { return; }
    follow(row.getAttribute("data-id"), function (u) {
      row.setAttribute("data-state", u.state);
      var label = row.querySelector(".state");
      if (label) {
        label.textContent = LABELS[u.state] || u.state;
        label.className = "state state-" + u.state;
        label.setAttribute("data-state", u.state);
      }
      if (u.state === "ready") {
        var box = row.querySelector('input[type="checkbox"]');
        if (box) { box.disabled = false; }
        var plays = row.querySelector(".plays");
        if (plays && u.summary) { plays.textContent = u.summary.plays; }
        var sp = row.querySelector(".span");
        if (sp) { sp.textContent = span(u.summary); }
      }
      if (u.state === "failed" && u.reason && !row.querySelector(".reason")) {
        label.parentNode.appendChild(el("p", "reason", u.reason));
      }
    });
  });
})();
