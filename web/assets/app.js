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
      text += ": " + u.summary.plays.toLocaleString("en-US") + (u.summary.plays === 1 ? " play, " : " plays, ") + span(u.summary);
    }
    if (u.state === "failed" && u.reason) { text += ": " + u.reason; }
    return text;
  }

  // One file: a progress bar for the transfer, then its state. With `direct`, the file goes
  // straight to the object store with a presigned form the API prepares for it.
  function send(file, list, done, direct) {
    var item = el("div", "item");
    var name = el("strong", "", file.name);
    var bar = el("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    var status = el("span", "status", " Uploading…");
    status.setAttribute("role", "status");
    item.appendChild(name); item.appendChild(status); item.appendChild(bar);
    list.appendChild(item);

    function refused(xhr) {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      // S3 answers in XML: <Error><Code>EntityTooLarge</Code><Message>…</Message></Error>.
      var s3 = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText || "");
      item.setAttribute("data-state", "refused");
      status.className = "status error";
      status.textContent = " " + ((body.error && body.error.message) || (s3 && s3[1]) ||
        ("Upload failed (" + xhr.status + ")."));
      done();
    }
    function lost() {
      status.className = "status error";
      status.textContent = " The connection was lost; nothing was stored. Try again.";
      done();
    }
    // The transfer is over and the upload exists: follow it to ready or failed.
    function accepted(upload) {
      bar.value = 100;
      item.setAttribute("data-upload-id", upload.id);
      status.textContent = " " + describe(upload);
      refreshUploads();
      follow(upload.id, function (u) {
        item.setAttribute("data-state", u.state);
        status.textContent = " " + describe(u);
        if (u.state === "ready" && !item.querySelector("a")) {
          var a = el("a", "", "Open its dashboard");
          a.href = "/dashboard?u=" + encodeURIComponent(u.id);
          item.appendChild(document.createTextNode(" "));
          item.appendChild(a);
        }
      });
      done();
    }
    function progress(e) {
      if (e.lengthComputable) {
        bar.value = Math.round(e.loaded * 100 / e.total);
        status.textContent = " " + bar.value + " %";
      }
    }

    if (direct) {
      var prep = new XMLHttpRequest();
      prep.open("POST", "/api/v1/uploads/direct");
      prep.setRequestHeader("X-CSRF-Token", csrf());
      prep.setRequestHeader("Content-Type", "application/json");
      prep.setRequestHeader("Accept", "application/json");
      prep.onload = function () {
        if (prep.status !== 201) { refused(prep); return; }
        var p = JSON.parse(prep.responseText);
        setCsrf(p.csrf_token);
        var data = new FormData();
        p.form.fields.forEach(function (f) { data.append(f.name, f.value); });
        data.append("file", file);
        var up = new XMLHttpRequest();
        up.open("POST", p.form.url);
        up.upload.onprogress = progress;
        // The store refused the file or the connection broke: the prepared upload goes.
        function forget() {
          var del = new XMLHttpRequest();
          del.open("DELETE", "/api/v1/uploads/" + encodeURIComponent(p.upload.id));
          del.setRequestHeader("X-CSRF-Token", csrf());
          del.send();
        }
        up.onload = function () {
          if (up.status >= 200 && up.status < 300) { accepted(p.upload); } else { forget(); refused(up); }
        };
        up.onerror = function () { forget(); lost(); };
        up.send(data);
      };
      prep.onerror = lost;
      prep.send(JSON.stringify({ name: file.name, size: file.size }));
      return;
    }

    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/uploads?name=" + encodeURIComponent(file.name));
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = progress;
    xhr.onload = function () {
      if (xhr.status === 202) {
        var body = JSON.parse(xhr.responseText);
        setCsrf(body.csrf_token);
        accepted(body.upload);
      } else {
        refused(xhr);
      }
    };
    xhr.onerror = lost;
    xhr.send(file);
  }

  function sendAll(files, list, direct) {
    var queue = Array.prototype.slice.call(files);
    function next() { if (queue.length) { send(queue.shift(), list, next, direct); } }
    next();  // one at a time: the first may start the session the others use
  }

  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var input = form.querySelector('input[type="file"]');
    var list = form.querySelector(".progress-list");
    var direct = form.hasAttribute("data-direct");
    // Files start as soon as they are chosen or dropped: the button (for pages without the
    // script) would only send the emptied input again.
    form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.hidden = true; });
    var hint = form.querySelector("[data-upload-hint]");
    if (hint) { hint.textContent = "Each file starts uploading as soon as you choose or drop it."; }
    form.addEventListener("submit", function (e) {
      if (!input.files.length) { return; }
      e.preventDefault();
      sendAll(input.files, list, direct);
      input.value = "";
    });
    input.addEventListener("change", function () {
      if (input.files.length) { sendAll(input.files, list, direct); input.value = ""; }
    });
    ["dragenter", "dragover"].forEach(function (t) {
      form.addEventListener(t, function (e) { e.preventDefault(); form.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      form.addEventListener(t, function () { form.classList.remove("dragging"); });
    });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) { sendAll(e.dataTransfer.files, list, direct); }
    });
  });

  // The list of uploads on this page, read again from the server: a new upload's row appears
  // without a reload (and follows itself to ready).
  function refreshUploads() {
    var section = document.querySelector("[data-uploads-list]");
    if (!section) { return; }
    var xhr = new XMLHttpRequest();
    xhr.open("GET", "/uploads");
    xhr.responseType = "document";
    xhr.onload = function () {
      var fresh = xhr.status === 200 && xhr.response && xhr.response.querySelector("[data-uploads-list]");
      if (!fresh) { return; }
      section.replaceWith(fresh);
      followRows(fresh);
    };
    xhr.send();
  }

  // Rows of the uploads table still in progress update themselves.
  followRows(document);
  function followRows(root) { root.querySelectorAll("table[data-uploads] tr[data-id]").forEach(function (row) {
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
        if (plays && u.summary) { plays.textContent = u.summary.plays.toLocaleString("en-US"); }
        var sp = row.querySelector(".span");
        if (sp) { sp.textContent = span(u.summary); }
      }
      if (u.state === "failed" && u.reason && !row.querySelector(".reason")) {
        label.parentNode.appendChild(el("p", "reason", u.reason));
      }
      if (u.state === "ready" || u.state === "failed") { refreshUploads(); }
    });
  }); }
})();

// Charts: the focused or hovered mark's value in a tooltip (announced to screen readers), one
// tab stop per chart and the arrow keys, Home and End to move between its marks.
(function () {
  var svgs = document.querySelectorAll(".chart svg[role=img]");
  if (!svgs.length) { return; }
  var tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.setAttribute("role", "status");
  document.body.appendChild(tip);

  function markOf(node) {
    return node && node.closest ? node.closest(".chart .mark") : null;
  }
  function show(mark) {
    var title = mark.querySelector("title");
    var text = title ? title.textContent : "";
    if (!text) { hide(); return; }
    tip.textContent = text;
    tip.classList.add("shown");
    var r = mark.getBoundingClientRect();
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var x = Math.max(4, Math.min(r.left + r.width / 2 - w / 2, document.documentElement.clientWidth - w - 4));
    var y = r.top - h - 6;
    if (y < 4) { y = r.bottom + 6; }
    tip.style.left = Math.round(x + window.scrollX) + "px";
    tip.style.top = Math.round(y + window.scrollY) + "px";
  }
  function hide() {
    tip.classList.remove("shown");
    tip.textContent = "";
  }
  // A ring around the focused mark, drawn last so that no neighbour hides it: a copy of the
  // mark's shape, white under dark, to show on light and dark colours alike.
  var rings = [];
  function ring(mark) {
    unring();
    try { if (!mark.matches(":focus-visible")) { return; } } catch (e) { /* older browsers */ }
    ["chart-ring-halo", "chart-ring"].forEach(function (cls) {
      var r = mark.cloneNode(false);
      r.removeAttribute("tabindex");
      r.setAttribute("class", cls);
      r.setAttribute("aria-hidden", "true");
      mark.ownerSVGElement.appendChild(r);
      rings.push(r);
    });
  }
  function unring() {
    rings.forEach(function (r) { r.parentNode.removeChild(r); });
    rings = [];
  }
  // Back to the focused mark, if any, when the pointer leaves one.
  function rest() {
    var focused = markOf(document.activeElement);
    if (focused) { show(focused); } else { hide(); }
  }
  // The nearest mark in the arrow's direction among those level with this one (sharing a
  // row for left and right, a column for up and down), or null.
  function neighbour(list, from, key) {
    var a = from.getBoundingClientRect(), best = null, bestScore = Infinity;
    var horizontal = key === "ArrowRight" || key === "ArrowLeft";
    var sign = key === "ArrowRight" || key === "ArrowDown" ? 1 : -1;
    list.forEach(function (m) {
      if (m === from) { return; }
      var b = m.getBoundingClientRect();
      var along = horizontal ? (b.left + b.right - a.left - a.right) / 2 : (b.top + b.bottom - a.top - a.bottom) / 2;
      var gap = horizontal ? Math.max(a.top, b.top) - Math.min(a.bottom, b.bottom)
                           : Math.max(a.left, b.left) - Math.min(a.right, b.right);
      var across = horizontal ? (b.top + b.bottom - a.top - a.bottom) / 2 : (b.left + b.right - a.left - a.right) / 2;
      along *= sign;
      if (along < 0.5 || gap > 1) { return; }
      var score = along + 0.1 * Math.abs(across);
      if (score < bestScore) { bestScore = score; best = m; }
    });
    return best;
  }

  svgs.forEach(function (svg) {
    var list = Array.prototype.slice.call(svg.querySelectorAll(".mark"));
    if (!list.length) { return; }
    list.forEach(function (m, i) { m.setAttribute("tabindex", i === 0 ? "0" : "-1"); });
    svg.addEventListener("keydown", function (e) {
      var from = markOf(e.target), to = null;
      if (!from) { return; }
      var i = list.indexOf(from);
      switch (e.key) {
        case "Home": to = list[0]; break;
        case "End": to = list[list.length - 1]; break;
        // Left and right fall back to the order of the data where no mark lies that way.
        case "ArrowRight": to = neighbour(list, from, e.key) || list[i + 1]; break;
        case "ArrowLeft": to = neighbour(list, from, e.key) || list[i - 1]; break;
        case "ArrowDown": case "ArrowUp": to = neighbour(list, from, e.key); break;
        default: return;
      }
      e.preventDefault();
      if (to && to !== from) {
        from.setAttribute("tabindex", "-1");
        to.setAttribute("tabindex", "0");
        to.focus();
      }
    });
    svg.addEventListener("focusin", function (e) {
      var m = markOf(e.target);
      if (m) { show(m); ring(m); }
    });
    svg.addEventListener("focusout", function () { hide(); unring(); });
    svg.addEventListener("mouseover", function (e) {
      var m = markOf(e.target);
      if (m) { show(m); }
    });
    svg.addEventListener("mouseout", function (e) {
      if (markOf(e.target) && !markOf(e.relatedTarget)) { rest(); }
    });
    var scroller = svg.closest(".chart-scroll");
    if (scroller) { scroller.addEventListener("scroll", rest); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && tip.classList.contains("shown")) { hide(); }
  });
  window.addEventListener("resize", rest);
})();

// The ranking (the original app's top-artists list): ↑ and ↓ move through the entries and on
// to the previous or next page; Enter opens the focused artist (a plain link).
(function () {
  var list = document.querySelector("ol[data-ranking]");
  if (!list) { return; }
  var links = Array.prototype.slice.call(list.querySelectorAll("a.rank-link"));
  if (!links.length) { return; }
  var focus = new URLSearchParams(window.location.search).get("focus");
  if (focus === "first") { links[0].focus(); }
  if (focus === "last") { links[links.length - 1].focus(); }
  document.addEventListener("keydown", function (e) {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") { return; }
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") { return; }
    var i = links.indexOf(document.activeElement);
    var next;
    if (e.key === "ArrowDown") {
      if (i === -1) { next = links[0]; }
      else if (i < links.length - 1) { next = links[i + 1]; }
      else {
        var more = document.querySelector("a[data-pager=next]");
        if (more) { e.preventDefault(); window.location.href = more.href; }
        return;
      }
    } else {
      if (i === -1) { next = links[links.length - 1]; }
      else if (i > 0) { next = links[i - 1]; }
      else {
        var back = document.querySelector("a[data-pager=prev]");
        if (back) { e.preventDefault(); window.location.href = back.href; }
        return;
      }
    }
    e.preventDefault();
    next.focus();
  });
})();

// Pages that show work in progress (the admin page during a re-ingestion) reload themselves.
(function () {
  var el = document.querySelector("[data-autorefresh]");
  if (!el) { return; }
  var seconds = parseInt(el.getAttribute("data-autorefresh"), 10) || 5;
  setTimeout(function () { window.location.reload(); }, seconds * 1000);
})();

// The browser's time zone, the first time a dashboard is seen from it: a visitor whose zone was
// never chosen (still UTC, the default) gets their own, and the page reloads in it. Once
// asked per browser and zone; a zone the visitor chose is never replaced.
(function () {
  if (!document.querySelector("nav.controls")) { return; }
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone || zone === "UTC") { return; }
  var KEY = "backspin-tz-asked";
  try { if (localStorage.getItem(KEY) === zone) { return; } } catch (e) { return; }
  function remember() { try { localStorage.setItem(KEY, zone); } catch (e) { /* private mode */ } }
  var get = new XMLHttpRequest();
  get.open("GET", "/api/v1/settings");
  get.setRequestHeader("Accept", "application/json");
  get.onload = function () {
    if (get.status !== 200) { return; }
    var s = JSON.parse(get.responseText);
    remember();
    if (s.tz !== "UTC") { return; }
    var put = new XMLHttpRequest();
    put.open("PUT", "/api/v1/settings");
    put.setRequestHeader("Content-Type", "application/json");
    put.setRequestHeader("Accept", "application/json");
    put.setRequestHeader("X-CSRF-Token", (document.querySelector('meta[name="csrf-token"]') || {}).content || "");
    put.onload = function () { if (put.status === 200) { window.location.reload(); } };
    put.send(JSON.stringify({ tz: zone, min_play_seconds: s.min_play_seconds }));
  };
  get.send();
})();
