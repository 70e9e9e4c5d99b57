/* Eye Spy client gallery: lazy previews, hearts, notes, the lightbox (keys + swipe), the selection bar.
   No inline script or style anywhere: everything is wired here from data- attributes. */
(function () {
  "use strict";
  var app = document.getElementById("g-app");
  if (!app) return;
  var base = app.dataset.base, csrf = app.dataset.csrf;
  var max = app.dataset.max ? parseInt(app.dataset.max, 10) : null;
  var min = parseInt(app.dataset.min || "0", 10);
  var count = parseInt(app.dataset.count || "0", 10);
  var sent = app.dataset.sent === "1";
  var tiles = Array.prototype.slice.call(document.querySelectorAll(".g-tile"));
  var countEl = document.getElementById("g-count"), msg = document.getElementById("g-msg");
  var bar = document.getElementById("g-bar");

  // --- Lazy previews: only what is near the screen is fetched (first view stays small) ---
  function load(img) {
    if (img.dataset.srcset) { img.srcset = img.dataset.srcset; delete img.dataset.srcset; }
    if (img.dataset.src) { img.src = img.dataset.src; delete img.dataset.src; }
  }
  var lazy = document.querySelectorAll("img[data-src]");
  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { if (e.isIntersecting) { load(e.target); io.unobserve(e.target); } });
    }, {rootMargin: "300px 0px"});
    lazy.forEach(function (img) { io.observe(img); });
  } else { lazy.forEach(load); }

  // --- Talking to the server ---
  function post(url, data) {
    var body = new FormData();
    Object.keys(data || {}).forEach(function (k) { body.append(k, data[k]); });
    return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                       headers: {"X-CSRFToken": csrf, "Accept": "application/json"}})
      .then(function (r) { return r.json().then(function (j) { j.ok = r.ok; return j; }, function () { return {ok: false, error: "Something went wrong; please try again."}; }); });
  }
  function say(text, kind) {
    msg.textContent = text || "";
    bar.classList.toggle("is-warn", kind === "warn");
    if (kind === "warn") { bar.classList.remove("shake"); void bar.offsetWidth; bar.classList.add("shake"); }
  }
  function showCount() {
    countEl.textContent = count;
    bar.classList.toggle("is-full", max !== null && count >= max);
    if (!sent && max !== null && count >= max) say("That's all " + max + " of your package. Send your selection when you're happy.");
    else if (!sent) say("");
  }

  // --- Hearts ---
  function keyOf(tile) { return tile.dataset.key; }
  function setFav(tile, fav) {
    tile.classList.toggle("is-fav", fav);
    tile.querySelector(".g-heart").setAttribute("aria-pressed", fav ? "true" : "false");
    if (lbIndex !== null && tiles[lbIndex] === tile) lbHeart.setAttribute("aria-pressed", fav ? "true" : "false");
  }
  function toggle(tile) {
    if (sent) { say("Your selection has been sent and is locked.", "warn"); return; }
    var want = !tile.classList.contains("is-fav");
    post(base + "p/" + keyOf(tile) + "/favourite/", {favourite: want ? "1" : "0"}).then(function (r) {
      if (typeof r.count === "number") count = r.count;
      setFav(tile, r.ok ? r.favourite : !want);
      showCount();
      if (!r.ok) say(r.error, "warn");
    });
  }
  document.getElementById("g-grid").addEventListener("click", function (e) {
    var heart = e.target.closest(".g-tile > .g-heart");
    if (heart) { e.preventDefault(); toggle(heart.closest(".g-tile")); }
  });

  // --- Filter: all / favourites ---
  document.querySelectorAll("[data-filter]").forEach(function (chip) {
    chip.addEventListener("click", function () {
      document.querySelectorAll("[data-filter]").forEach(function (c) { c.setAttribute("aria-pressed", c === chip ? "true" : "false"); });
      document.getElementById("g-grid").classList.toggle("only-fav", chip.dataset.filter === "fav");
      lazy.forEach(load);
    });
  });

  // --- Lightbox ---
  var lb = document.getElementById("g-lightbox"), lbImg = document.getElementById("g-lb-img");
  var lbHeart = document.getElementById("g-lb-heart"), lbPos = document.getElementById("g-lb-pos");
  var lbComment = document.getElementById("g-lb-comment"), lbText = document.getElementById("g-lb-comment-text");
  var lbSaved = document.getElementById("g-lb-saved"), lbDownload = document.getElementById("g-lb-download");
  var lbIndex = null, lastFocus = null;
  var ready = tiles.filter(function (t) { return !t.classList.contains("is-pending"); });

  function visible() {
    var onlyFav = document.getElementById("g-grid").classList.contains("only-fav");
    return ready.filter(function (t) { return !onlyFav || t.classList.contains("is-fav"); });
  }
  function show(tile) {
    lbIndex = tiles.indexOf(tile);
    var key = keyOf(tile), list = visible();
    lbImg.removeAttribute("src");
    lbImg.srcset = base + "p/" + key + "/960.jpg 960w, " + base + "p/" + key + "/1600.jpg 1600w";
    lbImg.src = base + "p/" + key + "/960.jpg";
    lbImg.alt = "Photo " + (lbIndex + 1);
    lbHeart.setAttribute("aria-pressed", tile.classList.contains("is-fav") ? "true" : "false");
    lbPos.textContent = (list.indexOf(tile) + 1) + " / " + list.length;
    if (lbText) { lbText.value = tile.dataset.comment || ""; lbSaved.textContent = ""; }
    if (lbDownload) lbDownload.action = base + "p/" + key + "/download/";
    if (history.replaceState) history.replaceState(null, "", "#p-" + key);
  }
  function open(tile) { lastFocus = document.activeElement; lb.hidden = false; document.body.classList.add("lb-open"); show(tile); lbHeart.focus(); }
  function close() {
    lb.hidden = true; document.body.classList.remove("lb-open");
    var tile = tiles[lbIndex]; lbIndex = null;
    if (history.replaceState) history.replaceState(null, "", location.pathname);
    if (tile) tile.scrollIntoView({block: "nearest"});
    if (lastFocus) lastFocus.focus();
  }
  function step(d) {
    var list = visible(), i = list.indexOf(tiles[lbIndex]);
    if (!list.length) return;
    show(list[(i + d + list.length) % list.length]);
  }
  document.querySelectorAll(".g-open").forEach(function (a) {
    a.addEventListener("click", function (e) { e.preventDefault(); open(a.closest(".g-tile")); });
  });
  document.getElementById("g-lb-close").addEventListener("click", close);
  document.getElementById("g-lb-prev").addEventListener("click", function () { step(-1); });
  document.getElementById("g-lb-next").addEventListener("click", function () { step(1); });
  lbHeart.addEventListener("click", function () { toggle(tiles[lbIndex]); });
  document.addEventListener("keydown", function (e) {
    if (lb.hidden || (e.target && e.target.tagName === "TEXTAREA")) return;
    if (e.key === "ArrowRight") { step(1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { step(-1); e.preventDefault(); }
    else if (e.key === "Escape") { close(); e.preventDefault(); }
    else if (e.key === "f" || e.key === "F") { toggle(tiles[lbIndex]); e.preventDefault(); }
  });
  var touchX = null, touchY = null;
  lb.addEventListener("touchstart", function (e) { touchX = e.touches[0].clientX; touchY = e.touches[0].clientY; }, {passive: true});
  lb.addEventListener("touchend", function (e) {
    if (touchX === null) return;
    var dx = e.changedTouches[0].clientX - touchX, dy = e.changedTouches[0].clientY - touchY;
    touchX = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > Math.abs(dy)) step(dx < 0 ? 1 : -1);
  });
  if (lbComment) {
    lbComment.addEventListener("submit", function (e) {
      e.preventDefault();
      var tile = tiles[lbIndex];
      post(base + "p/" + keyOf(tile) + "/comment/", {comment: lbText.value}).then(function (r) {
        if (!r.ok) { lbSaved.textContent = r.error; return; }
        tile.dataset.comment = r.comment; lbSaved.textContent = "Saved";
        tile.classList.toggle("has-comment", !!r.comment);
      });
    });
  }

  // --- Sending the selection ---
  var submitForm = document.getElementById("g-submit-form"), dialog = document.getElementById("g-confirm");
  if (submitForm) {
    submitForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var need = Math.max(1, min);
      if (count < need) { say("Choose at least " + need + " favourite" + (need === 1 ? "" : "s") + " before sending.", "warn"); return; }
      document.getElementById("g-confirm-count").textContent = count + (max !== null ? " of " + max : "");
      if (dialog.showModal) dialog.showModal(); else if (confirm("Send your selection?")) send();
    });
    document.getElementById("g-confirm-cancel").addEventListener("click", function () { dialog.close(); });
    document.getElementById("g-confirm-send").addEventListener("click", send);
  }
  function send() {
    post(submitForm.action, {}).then(function (r) {
      if (dialog.open) dialog.close();
      if (r.ok) { location.reload(); } else { say(r.error, "warn"); }
    });
  }

  // Opened with #p-<key> (a shared or reloaded link): start in the lightbox.
  var start = location.hash && document.getElementById(location.hash.slice(1));
  if (start && start.classList.contains("g-tile") && !start.classList.contains("is-pending")) open(start);
  if (!sent) showCount();
})();
