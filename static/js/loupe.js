/* Eye Spy culling loupe (review page): the current photo large, its faces' eyes big enough to judge, the grid
 * folded into a filmstrip below. review.js owns the keys and "which photo is current"; this file shows it.
 *
 * Instant next photo: each photo's loupe part is fetched once and kept, and the next photos (and the one
 * before) are fetched ahead, their preview and eye close-ups decoded, so a step is a swap of ready nodes.
 * What was really shown (not what was prefetched) is reported to the server in batches: the agreement line
 * counts only photos the photographer looked at. Exposes window.EyeSpy.loupe for review.js.
 */
(function () {
  "use strict";

  const review = document.getElementById("review");
  const loupe = document.getElementById("loupe");
  if (!review || !loupe) return;
  const slot = document.getElementById("loupe-current");
  const pinnedSlot = document.getElementById("loupe-pinned");
  const AHEAD = 4; // photos fetched ahead of the current one
  const cache = new Map(); // photo uuid -> Promise of a ready DocumentFragment's HTML
  const seen = new Set();
  let shown = null; // uuid in the loupe now
  let pinned = null; // uuid pinned for comparison
  const pendingSeen = []; // shown, not reported yet
  let seenTimer = null;
  let bringIntoView = false; // a phone's first photo after opening: scroll it to the top once it is in

  function urlFor(card) {
    return card.dataset.loupeUrl;
  }

  // Fetch a photo's loupe part and decode its images, once; the promise resolves to its HTML.
  function load(card) {
    const id = card.dataset.photo;
    if (!cache.has(id)) {
      const ready = fetch(urlFor(card), { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.statusText))))
        .then((html) => {
          const t = document.createElement("template");
          t.innerHTML = html;
          const images = Array.from(t.content.querySelectorAll("img")).map((img) => {
            const src = img.getAttribute("src");
            // A 100 % crop may still be cut by a worker (202 + placeholder): asking now starts it. One that is
            // ready is decoded ahead like the preview and needs no zoom.js watch; a pending one keeps its
            // data-zoom, and zoom.js swaps the crop in once shown.
            const ready = img.dataset.zoom
              ? fetch(src, { credentials: "same-origin", redirect: "manual" }).then((r) => {
                if (r.body) r.body.cancel().catch(() => {});
                const made = r.status === 200 || r.type === "opaqueredirect";
                if (made) img.removeAttribute("data-zoom");
                return made;
              }).catch(() => false)
              : Promise.resolve(true);
            return ready.then((made) => {
              if (!made) return null;
              const pre = new Image();
              pre.src = src;
              return pre.decode ? pre.decode().catch(() => null) : null;
            });
          });
          return Promise.all(images).then(() => t.innerHTML);
        });
      ready.catch(() => cache.delete(id));
      cache.set(id, ready);
    }
    return cache.get(id);
  }

  function neighbours(card) {
    const all = Array.from(review.querySelectorAll(".photo-card"));
    const i = all.indexOf(card);
    const out = [];
    for (let k = 1; k <= AHEAD; k++) if (all[i + k]) out.push(all[i + k]);
    if (all[i - 1]) out.push(all[i - 1]);
    return out;
  }

  function render(target, html) {
    target.innerHTML = html;
    // Face numbers sit on their boxes: placed through the CSSOM (the strict CSP allows no style= attributes).
    target.querySelectorAll(".fb-num").forEach((el) => {
      el.style.left = el.dataset.x + "%";
      el.style.top = el.dataset.y + "%";
    });
    target.querySelectorAll(".loupe-zoom img").forEach((img) => img.closest(".loupe-zoom").classList.toggle("is-loaded", img.complete));
    // zoom.js swaps a "preparing" placeholder for the crop once the worker has cut it.
    target.dispatchEvent(new CustomEvent("eyespy:content", { bubbles: true }));
  }

  function show(card) {
    if (!card || !isOpen()) return;
    const id = card.dataset.photo;
    const started = performance.now();
    shown = id;
    loupe.dataset.photo = id;
    loupe.dataset.ready = "0";
    load(card)
      .then((html) => {
        if (shown !== id) return; // the photographer has moved on
        render(slot, html);
        if (bringIntoView) loupe.scrollIntoView({ block: "start" });
        bringIntoView = false;
        loupe.dataset.ready = "1";
        loupe.dataset.lastMs = String(Math.round(performance.now() - started));
        markSeen(id);
        neighbours(card).forEach(load);
      })
      .catch((err) => {
        slot.textContent = "Can't show this photo: " + err.message;
      });
  }

  function markSeen(id) {
    if (seen.has(id)) return;
    seen.add(id);
    pendingSeen.push(id);
    clearTimeout(seenTimer);
    seenTimer = setTimeout(flushSeen, 600);
  }

  function flushSeen() {
    if (!pendingSeen.length) return;
    const ids = pendingSeen.splice(0);
    window.htmx.ajax("POST", loupe.dataset.seenUrl, { source: loupe, values: { photos: ids }, swap: "none" });
  }

  // Leaving the page: what was shown but not yet reported goes with a beacon.
  window.addEventListener("pagehide", () => {
    if (!pendingSeen.length || !navigator.sendBeacon) return;
    const body = new FormData();
    pendingSeen.splice(0).forEach((id) => body.append("photos", id));
    body.append("csrfmiddlewaretoken", window.EyeSpy.csrfToken());
    navigator.sendBeacon(loupe.dataset.seenUrl, body);
  });

  // The toolbar's toggle says where it leads.
  function label(open) {
    const button = document.getElementById("loupe-open");
    if (button && button.firstChild) button.firstChild.textContent = open ? "Grid " : "Loupe ";
  }

  function isOpen() {
    return review.classList.contains("is-loupe");
  }

  function open(card) {
    review.classList.add("is-loupe");
    loupe.hidden = false;
    // On a laptop the loupe sits right below the sticky review header and fits the window; on a phone the
    // header scrolls away, so the photo goes to the top of the screen (once it is in: an empty loupe is short).
    window.scrollTo({ top: 0 });
    bringIntoView = window.matchMedia("(max-width: 760px)").matches;
    label(true);
    show(card);
    if (card) card.scrollIntoView({ block: "nearest", inline: "center" });
  }

  function close() {
    review.classList.remove("is-loupe", "is-compare");
    loupe.hidden = true;
    pinned = null;
    pinnedSlot.hidden = true;
    pinnedSlot.innerHTML = "";
    shown = null;
    label(false);
  }

  // C: pin the photo in the loupe; the next photos show beside it. C again unpins.
  function compare(card) {
    if (!isOpen() || !card) return false;
    if (pinned) {
      pinned = null;
      pinnedSlot.hidden = true;
      pinnedSlot.innerHTML = "";
      review.classList.remove("is-compare");
      return false;
    }
    pinned = card.dataset.photo;
    load(card).then((html) => {
      render(pinnedSlot, html);
      pinnedSlot.hidden = false;
      review.classList.add("is-compare");
    });
    return true;
  }

  // Z: the current photo's eye close-ups between "fit the panel" and true 100% (scrolling, centred).
  function zoom(face) {
    const figures = slot.querySelectorAll(".loupe-zoom");
    const target = face !== undefined && face !== null ? slot.querySelector('.loupe-face[data-face="' + face + '"] .loupe-zoom') : null;
    const boxes = target ? [target] : Array.from(figures);
    const on = !boxes.every((b) => b.classList.contains("is-100"));
    boxes.forEach((b) => b.classList.toggle("is-100", on));
    window.EyeSpy.centreZooms(slot);
    return on;
  }

  // A card changed (a correction): its cached part is stale; the loupe shows the new one.
  function refresh(id) {
    cache.delete(id);
    if (pinned === id) {
      const card = document.getElementById("card-" + id);
      if (card) load(card).then((html) => render(pinnedSlot, html));
    }
    if (shown === id) {
      const card = document.getElementById("card-" + id);
      if (card) show(card);
    }
  }

  function pickFace(index) {
    slot.querySelectorAll("[data-face]").forEach((el) => el.classList.toggle("face-focus", index !== null && el.dataset.face === String(index)));
  }

  // Buttons in the loupe ask review.js to do what the keys do.
  loupe.addEventListener("click", (event) => {
    const zoomBox = event.target.closest("[data-zoom]");
    if (zoomBox) {
      zoomBox.classList.toggle("is-100");
      window.EyeSpy.centreZooms(zoomBox);
      return;
    }
    const button = event.target.closest("[data-loupe-label], [data-face-label], [data-loupe-undo], [data-loupe-decision]");
    if (!button) return;
    let detail;
    if (button.hasAttribute("data-loupe-undo")) detail = { undo: true };
    else if (button.dataset.loupeDecision) {
      // A check's own button ("focus:clear") or the whole photo's (":keep"), as the card's buttons send it.
      const [flag, value] = button.dataset.loupeDecision.split(":");
      detail = { action: { flag, value, words: button.dataset.words || value, face: false } };
    } else detail = { value: button.dataset.loupeLabel || button.dataset.faceLabel, face: button.dataset.faceLabel ? Number(button.dataset.face) : null };
    review.dispatchEvent(new CustomEvent("eyespy:loupe-action", { detail }));
  });

  // Touch: swipe left/right for the next/previous photo, up to keep, down to reject.
  let touch = null;
  loupe.addEventListener("touchstart", (event) => {
    if (event.touches.length !== 1 || !event.target.closest(".loupe-stage")) return;
    touch = { x: event.touches[0].clientX, y: event.touches[0].clientY };
  }, { passive: true });
  loupe.addEventListener("touchend", (event) => {
    if (!touch) return;
    const t = event.changedTouches[0];
    const dx = t.clientX - touch.x;
    const dy = t.clientY - touch.y;
    touch = null;
    const far = 60;
    let detail = null;
    if (Math.abs(dx) > far && Math.abs(dx) > 1.5 * Math.abs(dy)) detail = { step: dx < 0 ? 1 : -1 };
    else if (Math.abs(dy) > far && Math.abs(dy) > 1.5 * Math.abs(dx)) detail = { value: dy < 0 ? "NOT_BLINKING" : "BLINKING", face: null };
    if (detail) review.dispatchEvent(new CustomEvent("eyespy:loupe-action", { detail }));
  }, { passive: true });

  window.EyeSpy.loupe = { open, close, isOpen, show, compare, zoom, refresh, pickFace, markSeen };
})();
