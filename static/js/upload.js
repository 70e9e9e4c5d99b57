/* Eye Spy bulk uploader: drop or pick hundreds of photos, each goes up in its own POST.
 *
 * - at most `data-concurrency` requests in flight (default 3)
 * - per-file and overall progress (XMLHttpRequest, because fetch has no upload progress)
 * - network errors, 5xx, 408 and 429 are retried 3 times with backoff; then "Retry failed uploads"
 * - 4xx answers are rejections: the server's reason is listed per file; duplicates count as skipped
 * Without JavaScript the same form posts all files at once and the server redirects back.
 * With S3 storage (data-direct-url) each file goes straight to the bucket: see sendDirect.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-upload-url]");
  if (!root || !window.XMLHttpRequest || !window.FormData) return;

  var MAX_RETRIES = 3;
  var BACKOFF_MS = [1000, 3000, 8000];
  var IGNORED_NAMES = { "thumbs.db": 1, "desktop.ini": 1 };

  var url = root.getAttribute("data-upload-url");
  // Straight to the bucket where the server offers it and the browser can hash (a secure context).
  var directUrl = root.getAttribute("data-direct-url");
  var directDoneUrl = root.getAttribute("data-direct-done-url");
  var direct = !!(directUrl && directDoneUrl && window.crypto && window.crypto.subtle && window.Promise);
  var concurrency = Math.min(6, Math.max(1, parseInt(root.getAttribute("data-concurrency"), 10) || 3));
  var maxBytes = parseInt(root.getAttribute("data-max-bytes"), 10) || 0;
  var form = root.querySelector("form");
  var input = root.querySelector("input[type=file]");
  var statusBox = root.querySelector(".upload-status");
  var countEl = root.querySelector(".upload-count");
  var rateEl = root.querySelector(".upload-rate");
  var overallBar = root.querySelector(".upload-overall > span");
  var overallWrap = root.querySelector(".upload-overall");
  var alertEl = root.querySelector(".upload-alert");
  var rejectedBox = root.querySelector(".upload-rejected-box");
  var rejectedList = root.querySelector(".upload-rejected");
  var fileList = root.querySelector(".upload-files");
  var retryBtn = root.querySelector(".upload-retry");
  var cancelBtn = root.querySelector(".upload-cancel");

  var items = [];      // every file added in this page view
  var queue = [];      // items waiting for a free slot
  var active = 0;      // requests in flight
  var waitingRetry = 0; // items sleeping before a retry
  var startedAt = 0, bytesAtStart = 0;
  var renderQueued = false, lastNotify = 0, notifyTimer = null;

  root.classList.add("js-upload");

  // --- helpers ------------------------------------------------------------------------------------
  function fmtBytes(n) {
    if (n >= 1073741824) return (n / 1073741824).toFixed(1) + " GB";
    if (n >= 1048576) return (n / 1048576).toFixed(n >= 10485760 ? 0 : 1) + " MB";
    return Math.max(1, Math.round(n / 1024)) + " KB";
  }
  function fmtDuration(s) {
    if (s < 60) return Math.max(1, Math.round(s)) + " s";
    if (s < 3600) return Math.round(s / 60) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function csrfToken() {
    // The cookie wins: it is fresh if the photographer logged in again in another tab.
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var field = form.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function isSettled(it) { return it.status === "done" || it.status === "duplicate" || it.status === "rejected" || it.status === "failed"; }
  function isBusy() { return active > 0 || queue.length > 0 || waitingRetry > 0; }

  // --- adding files --------------------------------------------------------------------------------
  function addFiles(files) {
    var added = 0;
    for (var i = 0; i < files.length; i++) {
      var f = files[i];
      var lower = (f.name || "").toLowerCase();
      if (!f.name || f.name.charAt(0) === "." || IGNORED_NAMES[lower]) continue;
      var it = { file: f, name: f.name, size: f.size, loaded: 0, attempts: 0, status: "waiting", xhr: null };
      it.row = el("li", "uf uf-waiting");
      it.row.appendChild(el("span", "uf-name", f.name));
      var bar = el("span", "uf-bar");
      it.bar = el("span");
      bar.appendChild(it.bar);
      it.row.appendChild(bar);
      it.note = el("span", "uf-note", "waiting");
      it.row.appendChild(it.note);
      fileList.appendChild(it.row);
      items.push(it);
      added++;
      if (maxBytes && f.size > maxBytes) {
        reject(it, "file too large (" + fmtBytes(f.size) + "; limit " + fmtBytes(maxBytes) + ")");
      } else {
        queue.push(it);
      }
    }
    if (!added) return;
    statusBox.hidden = false;
    if (!startedAt || !isBusy()) { startedAt = Date.now(); bytesAtStart = sentBytes(); }
    pump();
    render();
  }

  // --- the queue -----------------------------------------------------------------------------------
  function pump() {
    while (active < concurrency && queue.length) send(queue.shift());
    render();
  }

  function send(it) {
    active++;
    it.inFlight = true;
    setStatus(it, "uploading", it.attempts ? "retry " + it.attempts + "…" : "0%");
    if (direct) { sendDirect(it); return; }
    var body = new FormData();
    body.append("file", it.file, it.name);
    request(it, url, body, { toApp: true, progress: true }, function (status, json) { finish(it, status, json); });
  }

  // One request of an item; `it.xhr` is what Cancel aborts. `opts.toApp`: our own endpoint (JSON, CSRF).
  function request(it, target, body, opts, done) {
    var xhr = new XMLHttpRequest();
    it.xhr = xhr;
    xhr.open("POST", target, true);
    if (opts.toApp) {
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      if (typeof body === "string") xhr.setRequestHeader("Content-Type", "application/json");
    }
    xhr.timeout = 15 * 60 * 1000;
    if (opts.progress) {
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        it.loaded = Math.min(it.size, Math.round(it.size * e.loaded / e.total));
        it.bar.style.width = Math.round(100 * e.loaded / e.total) + "%";
        it.note.textContent = Math.round(100 * e.loaded / e.total) + "%";
        render();
      };
    }
    var settle = function (status) {
      if (it.xhr !== xhr) return;
      it.xhr = null;
      done(status, status > 0 ? parseJson(xhr) : null);
    };
    xhr.onload = function () { settle(xhr.status); };
    xhr.onerror = function () { settle(0); };
    xhr.ontimeout = function () { settle(0); };
    xhr.onabort = function () { settle(-1); };
    xhr.send(body);
  }

  // With S3 storage: hash the file, ask the app for a presigned POST (a duplicate needs none), send the
  // bytes to the bucket, then tell the app, which checks what arrived and records the photo.
  function sendDirect(it) {
    var hashed = it.sha256 ? Promise.resolve(it.sha256) : sha256Hex(it.file);
    it.note.textContent = "checking…";
    hashed.then(function (hex) {
      it.sha256 = hex;
      if (it.cancelled) return finish(it, -1, null);
      var ask = JSON.stringify({ name: it.name, size: it.size, sha256: hex });
      request(it, directUrl, ask, { toApp: true }, function (status, json) {
        if (status !== 200 || !json || !json.ok || !json.url) return finish(it, status, json);
        var body = new FormData();
        Object.keys(json.fields).forEach(function (k) { body.append(k, json.fields[k]); });
        body.append("file", it.file, it.name);  // S3 wants the file last
        request(it, json.url, body, { progress: true }, function (s3status) {
          if (s3status < 200 || s3status >= 300) {
            // The bucket's answer is XML, not for people. Network and server errors are retried, and so is
            // 403: the signed POST expired while the tab waited (a retry asks for a new one). Others are final.
            var status = s3status === 403 ? 0 : s3status;
            if (status > 0 && status < 500) status = 422;
            return finish(it, status,
                          { ok: false, error: "the storage refused the file (HTTP " + s3status + ")" });
          }
          it.note.textContent = "checking…";
          request(it, directDoneUrl, JSON.stringify({ ticket: json.ticket }), { toApp: true }, function (s, j) {
            finish(it, s, j);
          });
        });
      });
    }, function () {
      finish(it, 422, { ok: false, error: "the browser could not read this file" });
    });
  }

  function sha256Hex(file) {
    return file.arrayBuffer().then(function (buf) { return window.crypto.subtle.digest("SHA-256", buf); })
      .then(function (digest) {
        var bytes = new Uint8Array(digest), hex = "";
        for (var i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
        return hex;
      });
  }

  function parseJson(xhr) {
    try { return JSON.parse(xhr.responseText); } catch (e) { return null; }
  }

  function finish(it, status, body) {
    if (!it.inFlight) return; // already settled (abort after cancel)
    it.inFlight = false;
    it.cancelled = false;
    active--;
    if (status === -1) {
      fail(it, "cancelled");
    } else if ((status === 200 || status === 201) && body && body.ok) {
      it.loaded = it.size;
      if (body.duplicate) setStatus(it, "duplicate", "skipped: already in this session");
      else setStatus(it, "done", "uploaded");
      notifyUploaded();
    } else if (status === 401 || status === 403) {
      // Login or CSRF token expired: stop sending; everything can be retried after logging in again.
      var why = (body && body.error) || "Your login has expired. Log in again in another tab, then press Retry.";
      showAlert(why);
      fail(it, "not sent: login expired");
      while (queue.length) fail(queue.shift(), "not sent: login expired");
    } else if (status === 0 || status >= 500 || status === 408 || status === 429) {
      if (it.attempts < MAX_RETRIES) {
        var delay = BACKOFF_MS[it.attempts] + Math.round(Math.random() * 500);
        it.attempts++;
        waitingRetry++;
        setStatus(it, "retrying", (status ? "server error " + status : "network error") + ", retrying in " + Math.round(delay / 1000) + " s");
        setTimeout(function () {
          waitingRetry--;
          if (it.status !== "retrying") return; // cancelled meanwhile
          queue.unshift(it);
          pump();
        }, delay);
      } else {
        fail(it, (status ? "server error " + status : "network error") + " after " + MAX_RETRIES + " retries");
      }
    } else {
      reject(it, (body && body.error) || "rejected by the server (HTTP " + status + ")");
    }
    pump();
  }

  function setStatus(it, status, note) {
    it.status = status;
    it.row.className = "uf uf-" + status;
    it.note.textContent = note;
    if (status === "done" || status === "duplicate") it.bar.style.width = "100%";
  }

  function reject(it, reason) {
    setStatus(it, "rejected", reason);
    var li = el("li");
    li.appendChild(el("span", "fname", it.name));
    li.appendChild(document.createTextNode(" — "));
    li.appendChild(el("span", "reason", reason));
    rejectedList.appendChild(li);
    rejectedBox.hidden = false;
  }

  function fail(it, reason) {
    it.loaded = 0;
    it.bar.style.width = "0%";
    setStatus(it, "failed", reason);
  }

  function showAlert(text) {
    alertEl.textContent = text;
    alertEl.hidden = !text;
  }

  // Tell the progress panel (htmx) to refresh: at most every 2 s, and once more at the end.
  function notifyUploaded() {
    var now = Date.now();
    if (now - lastNotify >= 2000) {
      lastNotify = now;
      document.body.dispatchEvent(new CustomEvent("eyespy:uploaded"));
    } else if (!notifyTimer) {
      notifyTimer = setTimeout(function () { notifyTimer = null; notifyUploaded(); }, 2000 - (now - lastNotify));
    }
  }

  // --- rendering -----------------------------------------------------------------------------------
  function sentBytes() {
    var n = 0;
    for (var i = 0; i < items.length; i++) if (items[i].status !== "rejected") n += items[i].loaded;
    return n;
  }

  function render() {
    if (renderQueued) return;
    renderQueued = true;
    window.requestAnimationFrame(function () { renderQueued = false; draw(); });
  }

  function draw() {
    var c = { done: 0, duplicate: 0, rejected: 0, failed: 0 }, total = 0, totalBytes = 0;
    for (var i = 0; i < items.length; i++) {
      var it = items[i];
      if (c[it.status] !== undefined) c[it.status]++;
      if (it.status !== "rejected") { total++; totalBytes += it.size; }
    }
    var sent = sentBytes();
    var pct = totalBytes ? Math.round(100 * sent / totalBytes) : 100;
    overallBar.style.width = pct + "%";
    overallWrap.setAttribute("aria-valuenow", String(pct));

    // "38 uploaded · 1 duplicate skipped · 3 rejected" (while busy: "Uploading: 12 of 42 photos · …").
    var busy = isBusy();
    var parts = [busy ? "Uploading: " + c.done + " of " + total + " photo" + (total === 1 ? "" : "s") : c.done + " uploaded"];
    if (c.duplicate) parts.push(c.duplicate + " duplicate" + (c.duplicate === 1 ? "" : "s") + " skipped");
    if (c.rejected) parts.push(c.rejected + " rejected");
    if (c.failed) parts.push(c.failed + " failed");
    countEl.textContent = parts.join(" · ");
    countEl.setAttribute("data-state", busy ? "uploading" : "finished");

    if (busy) {
      var secs = (Date.now() - startedAt) / 1000;
      var rate = secs > 1 ? (sent - bytesAtStart) / secs : 0;
      rateEl.textContent = rate > 0
        ? fmtBytes(rate) + "/s · about " + fmtDuration(Math.max(0, totalBytes - sent) / rate) + " left"
        : "";
    } else {
      // Only while the progress panel still shows photos being analysed; once it says finished, say nothing.
      var panel = document.getElementById("progress-panel");
      var analysing = panel && panel.getAttribute("data-active") === "true";
      rateEl.textContent = c.done + c.duplicate === total && total && analysing ? "Analysis continues in the background." : "";
    }
    retryBtn.hidden = isBusy() || !c.failed;
    cancelBtn.hidden = !isBusy();
  }

  // The progress panel is swapped by htmx as analysis goes on: follow its "finished".
  document.body.addEventListener("htmx:afterSettle", function () { if (items.length) render(); });

  // --- controls ------------------------------------------------------------------------------------
  retryBtn.addEventListener("click", function () {
    showAlert("");
    for (var i = 0; i < items.length; i++) {
      var it = items[i];
      if (it.status === "failed") { it.attempts = 0; setStatus(it, "waiting", "waiting"); queue.push(it); }
    }
    startedAt = Date.now(); bytesAtStart = sentBytes();
    pump();
  });

  cancelBtn.addEventListener("click", function () {
    while (queue.length) fail(queue.shift(), "cancelled");
    for (var i = 0; i < items.length; i++) {
      var it = items[i];
      if (it.status === "retrying") fail(it, "cancelled");
      if (it.xhr) it.xhr.abort();
      else if (it.inFlight) it.cancelled = true;  // still hashing: stops before sending
    }
    render();
  });

  window.addEventListener("beforeunload", function (e) {
    if (!isBusy()) return;
    e.preventDefault();
    e.returnValue = "Uploads are still running.";
  });

  // --- picking and dropping ------------------------------------------------------------------------
  input.addEventListener("change", function () {
    addFiles(input.files);
    input.value = ""; // picking the same files again must fire "change" again
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (input.files.length) { addFiles(input.files); input.value = ""; }
  });

  function readEntry(entry, out) {
    // Folders dropped from the desktop: walk them (readEntries returns at most 100 per call).
    return new Promise(function (resolve) {
      if (entry.isFile) {
        entry.file(function (f) { out.push(f); resolve(); }, function () { resolve(); });
      } else if (entry.isDirectory) {
        if (entry.name.charAt(0) === ".") return resolve();
        var reader = entry.createReader();
        var batch = function () {
          reader.readEntries(function (entries) {
            if (!entries.length) return resolve();
            Promise.all(entries.map(function (x) { return readEntry(x, out); })).then(batch);
          }, function () { resolve(); });
        };
        batch();
      } else {
        resolve();
      }
    });
  }

  var dragDepth = 0;
  form.addEventListener("dragenter", function (e) { e.preventDefault(); dragDepth++; form.classList.add("over"); });
  form.addEventListener("dragover", function (e) { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; });
  form.addEventListener("dragleave", function () { if (--dragDepth <= 0) { dragDepth = 0; form.classList.remove("over"); } });
  form.addEventListener("drop", function (e) {
    e.preventDefault();
    dragDepth = 0;
    form.classList.remove("over");
    var dt = e.dataTransfer;
    var entries = [];
    if (dt.items && dt.items.length && dt.items[0].webkitGetAsEntry) {
      for (var i = 0; i < dt.items.length; i++) {
        var entry = dt.items[i].webkitGetAsEntry();
        if (entry) entries.push(entry);
      }
    }
    if (!entries.length) { addFiles(dt.files); return; }
    var out = [];
    Promise.all(entries.map(function (x) { return readEntry(x, out); })).then(function () {
      out.sort(function (a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; });
      addFiles(out);
    });
  });
  // A drop that misses the zone must not navigate away from the page (and lose the queue).
  window.addEventListener("dragover", function (e) { e.preventDefault(); });
  window.addEventListener("drop", function (e) { if (!form.contains(e.target)) e.preventDefault(); });
})();
