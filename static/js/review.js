/* Eye Spy review screen: keyboard review without page reloads, in the grid or the loupe (loupe.js).
 *
 * Arrows move between photos; the keys of the page's key table (#review-keys: each check's own keys, such
 * as B blinking / K not a blink, and N no face, A keep anyway, R reject) mark the focused photo (or the face
 * picked with F, for a check judged on faces or eyes), U or Ctrl+Z
 * undoes the last change you made in this session (the server keeps the history, so it survives a
 * reload), X / Space select, Shift+B / Shift+K mark the selection, Enter opens the lightbox, L the loupe
 * (G back to the grid; there P keeps, X rejects, Z shows the eyes at 100%, C compares), 1 2 3 4 jump to a group
 * (by each section's data-key: 1 Rejects, 2 Keepers, 3 No face, 4 Check these, whatever the page
 * order). Each change is one POST answered with the updated card and out-of-band counts (the same
 * partials htmx uses for mouse clicks). Every request, typed or clicked, goes through htmx's queue on
 * #review (hx-sync="this:queue all"): one at a time, in order, so an undo never overtakes the change it
 * undoes. Without JavaScript every button is a plain form POST.
 */
(function () {
  "use strict";

  const review = document.getElementById("review");
  if (!review) return;
  const { typing, centreZooms } = window.EyeSpy;
  setupStickyOffset();

  const status = document.getElementById("review-status");
  const lightbox = document.getElementById("lightbox");
  const lightboxBody = document.getElementById("lightbox-body");
  const bulkForm = document.getElementById("bulk-form");
  const bulkCount = document.getElementById("bulk-count");
  const bulkUrl = review.dataset.bulkUrl;
  const sort = review.dataset.sort || "";
  const undoUrl = review.dataset.undoUrl;
  const loupe = () => window.EyeSpy.loupe; // loupe.js; absent on pages without a loupe
  const inLoupe = () => !!(loupe() && loupe().isOpen());
  let currentId = null;
  let faceFocus = null; // index of the face picked with F on the current card
  let inFlight = 0; // requests sent through htmx's queue and not answered yet

  // The cards a photographer can see: folded burst frames and other subjects' photos are skipped.
  function cards() {
    return Array.from(review.querySelectorAll(".photo-card")).filter(
      (c) => !c.classList.contains("subject-hidden") && (!c.classList.contains("in-stack") || c.classList.contains("stack-open")));
  }

  function cardById(id) {
    return id ? document.getElementById("card-" + id) : null;
  }

  function current() {
    return cardById(currentId);
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  let whenIdle = []; // callbacks waiting for every queued change to be answered

  function setBusy(delta) {
    inFlight += delta;
    document.body.dataset.reviewBusy = inFlight > 0 ? "1" : "0";
    if (inFlight === 0) whenIdle.splice(0).forEach((fn) => fn());
  }

  function afterChanges(fn) {
    if (inFlight === 0) fn();
    else whenIdle.push(fn);
  }

  // --- Focus ------------------------------------------------------------------------------------------

  function focusCard(card, opts) {
    if (!card) return;
    const previous = current();
    if (previous && previous !== card) {
      previous.classList.remove("is-current");
      clearFaceFocus(previous);
    }
    currentId = card.dataset.photo;
    card.classList.add("is-current");
    card.focus({ preventScroll: true });
    if (!opts || opts.scroll !== false) aim(card, { block: "nearest", inline: "nearest" });
    if (inLoupe()) loupe().show(card);
  }

  // Cards far from the screen are laid out with an estimated size (content-visibility in review.css) and take
  // their real one when they come near, which moves what a jump aimed at by a few pixels: aim again once
  // they have (two frames later). #review[data-settled] says when the page has stopped moving.
  let aimedAt = null; // only the latest jump is aimed again (arrow keys held down jump many times a second)
  function aim(el, options) {
    el.scrollIntoView(options);
    aimedAt = el;
    review.dataset.settled = "0";
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (aimedAt !== el) return;
      el.scrollIntoView(options);
      review.dataset.settled = "1";
    }));
  }

  function clearFaceFocus(card) {
    faceFocus = null;
    if (inLoupe()) loupe().pickFace(null);
    if (card) card.querySelectorAll(".face.face-focus").forEach((f) => f.classList.remove("face-focus"));
  }

  function moveBy(step) {
    const all = cards();
    const index = all.indexOf(current());
    const next = all[Math.min(all.length - 1, Math.max(0, index + step))];
    if (next) focusCard(next);
    return next;
  }

  function moveVertical(direction) {
    const card = current();
    if (!card) return focusCard(cards()[0]);
    const here = card.getBoundingClientRect();
    const centre = here.left + here.width / 2;
    let bestRow = null;
    let best = null;
    for (const other of cards()) {
      if (other === card) continue;
      const r = other.getBoundingClientRect();
      const dy = direction > 0 ? r.top - here.top : here.top - r.top;
      if (dy <= 5) continue;
      if (bestRow === null || dy < bestRow - 5) {
        bestRow = dy;
        best = other;
      } else if (Math.abs(dy - bestRow) <= 5) {
        const c = r.left + r.width / 2;
        const bc = best.getBoundingClientRect();
        if (Math.abs(c - centre) < Math.abs(bc.left + bc.width / 2 - centre)) best = other;
      }
    }
    if (best) focusCard(best);
  }

  function pickFace(card) {
    const faces = card.querySelectorAll(".face");
    if (faces.length < 2) return;
    const position = faceFocus === null ? 0 : (Array.from(faces).findIndex((f) => f.dataset.face === String(faceFocus)) + 1) % faces.length;
    const face = faces[position];
    faceFocus = Number(face.dataset.face);
    faces.forEach((f) => f.classList.toggle("face-focus", f === face));
    const folded = face.closest("details");
    if (folded) folded.open = true;
    if (!inLoupe()) face.scrollIntoView({ block: "nearest" });
    else loupe().pickFace(faceFocus);
    say("Face " + (faceFocus + 1) + " picked: B or K marks just this face, F the next one, Esc the whole photo again.");
  }

  // --- Server round trips -------------------------------------------------------------------------------

  // Every change is answered with out-of-band parts only (swap "none"): whatever was swapped in by an earlier
  // answer in the queue, each part finds its element by id when its own answer arrives.
  function post(url, params) {
    setBusy(+1);
    const values = Object.assign({ swap: "oob" }, params);
    Object.keys(values).forEach((k) => (values[k] === null || values[k] === undefined) && delete values[k]);
    return window.htmx.ajax("POST", url, { source: review, values, swap: "none" });
  }

  function afterSwap(fresh) {
    if (!fresh.classList || !fresh.classList.contains("photo-card")) return;
    markMoved(fresh);
    if (loupe()) loupe().refresh(fresh.dataset.photo);
    if (undoing) {
      // The undone photo (the first one a bulk undo puts back) becomes the current card, as it was when
      // decided, so the next key acts on it again.
      undoing = false;
      focusCard(fresh, { scroll: true });
    }
    if (fresh.dataset.photo !== currentId) return;
    fresh.classList.add("is-current");
    if (faceFocus !== null) {
      const face = fresh.querySelector('.face[data-face="' + faceFocus + '"]');
      if (face) {
        face.classList.add("face-focus");
        const folded = face.closest("details");
        if (folded) folded.open = true;
      }
    }
    if (document.activeElement === document.body || !document.activeElement) fresh.focus({ preventScroll: true });
  }

  // An undo's answer is being swapped in (the queue may still hold answers to changes sent before it, so
  // it is told by its URL, not by the key press): the focus goes to the card it puts back.
  let undoing = false;
  review.addEventListener("htmx:beforeOnLoad", (event) => {
    if (event.detail.elt !== review) return;
    undoing = !!event.detail.requestConfig && event.detail.requestConfig.path === undoUrl;
  });
  // The queue's requests are counted from the moment they are queued until htmx has answered them.
  review.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.elt !== review) return;
    undoing = false; // answered without a card (nothing left to undo): the next change's card keeps its focus
    setBusy(-1);
    updateBulkCount();
  });
  // Fired on each element swapped in (the new card), after the old one is gone.
  document.body.addEventListener("htmx:oobAfterSwap", (event) => afterSwap(event.target));

  function markMoved(card) {
    const section = card.closest("[data-group]:not(.photo-card)");
    card.classList.toggle("moved", !!section && section.dataset.group !== card.dataset.group);
  }

  // What each key decides, from the page (the server builds it from the registered checks' words).
  const keyTable = JSON.parse((document.getElementById("review-keys") || {}).textContent || "{}");

  function decide(card, action) {
    const face = action.face ? faceFocus : null;
    const params = { flag: action.flag, value: action.value, sort };
    if (face !== null) params.face = face;
    const name = card.querySelector(".fname") ? card.querySelector(".fname").textContent : "photo";
    say(name + (face !== null ? " face " + (face + 1) : "") + " → " + action.words + ". U undoes.");
    post(card.dataset.correctUrl, params);
    if (face === null) moveBy(1);
  }

  // The loupe's P (keep) and X (reject) and the card's old verdict words go through the same table.
  const LABEL_KEYS = { BLINKING: "b", NOT_BLINKING: "k", NO_FACE: "n" };
  function label(card, value) {
    decide(card, keyTable[LABEL_KEYS[value]]);
  }

  function selected() {
    return Array.from(document.querySelectorAll('input[name="photos"][form="bulk-form"]:checked')).map((b) => b.value);
  }

  function bulk(value) {
    const ids = selected();
    if (!ids.length) {
      say("Nothing selected: X or Space selects the focused photo.");
      return;
    }
    say("Marked " + ids.length + " photo" + (ids.length === 1 ? "" : "s") + " " + (value === "BLINKING" ? "blinking" : "keep") + ". U undoes.");
    document.querySelectorAll('input[name="photos"][form="bulk-form"]:checked').forEach((b) => (b.checked = false));
    post(bulkUrl, { action: value, photos: ids, sort });
    updateBulkCount();
  }

  // The server knows the last change you made here (one photo, a face or a bulk change) and answers with
  // the cards it put back plus a status line naming what was undone.
  function undo() {
    say("Undoing…");
    post(undoUrl, { sort });
  }

  function toggleSelect(card) {
    const box = card && card.querySelector('input[name="photos"]');
    if (!box) return;
    box.checked = !box.checked;
    updateBulkCount();
  }

  function updateBulkCount() {
    if (!bulkCount) return;
    const n = selected().length;
    document.querySelectorAll(".photo-card").forEach((c) => {
      const box = c.querySelector('input[name="photos"]');
      c.classList.toggle("is-selected", !!(box && box.checked));
    });
    bulkCount.textContent = n
      ? n + " selected: Shift+B marks them blinking, Shift+K keeps them."
      : "Select photos (X) to change many at once:";
  }

  // --- Lightbox -----------------------------------------------------------------------------------------

  function openLightbox(card) {
    if (!card || !lightbox) return;
    focusCard(card, { scroll: true });
    fetch(card.dataset.lightboxUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.statusText))))
      .then((html) => {
        lightboxBody.innerHTML = html;
        lightboxBody.dispatchEvent(new CustomEvent("eyespy:content", { bubbles: true })); // zoom.js: 100 % crops
        centreZooms(lightboxBody);
        if (loupe()) loupe().markSeen(card.dataset.photo); // shown to the photographer: it was looked at
        lightbox.hidden = false;
        document.body.classList.add("lightbox-open");
      })
      .catch((err) => say("Can't open the photo: " + err.message));
  }

  function closeLightbox() {
    if (!lightbox || lightbox.hidden) return;
    lightbox.hidden = true;
    lightboxBody.innerHTML = "";
    document.body.classList.remove("lightbox-open");
    const card = current();
    if (card) card.focus({ preventScroll: true });
  }

  function lightboxOpen() {
    return lightbox && !lightbox.hidden;
  }

  // --- Keys ---------------------------------------------------------------------------------------------

  document.addEventListener("keydown", (event) => {
    if (typing(event.target) || event.altKey || event.metaKey) return;
    // Caps Lock gives "B" without Shift: read it as "b". Only Shift+letter (the bulk keys) stays upper case.
    const key = event.key.length === 1 && !event.shiftKey ? event.key.toLowerCase() : event.key;
    const ctrl = event.ctrlKey;
    if (ctrl && (key === "z" || key === "Z")) {
      event.preventDefault();
      undo();
      return;
    }
    if (ctrl) return;
    // Space and Enter on a focused button or link keep their usual meaning.
    if ((key === " " || key === "Enter") && event.target.closest && event.target.closest("button, a, summary")) return;
    const card = current();
    if (!card && (["ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp", "x", " ", "Enter"].includes(key) || keyTable[key])) {
      focusCard(cards()[0]);
      event.preventDefault();
      return;
    }
    const inBox = lightboxOpen();
    const strip = inLoupe(); // the grid is a filmstrip: every arrow walks it
    switch (key) {
      case "ArrowRight":
        moveBy(1);
        if (inBox) openLightbox(current());
        break;
      case "ArrowLeft":
        moveBy(-1);
        if (inBox) openLightbox(current());
        break;
      case "ArrowDown":
        if (inBox) return;
        if (strip) moveBy(1);
        else moveVertical(1);
        break;
      case "ArrowUp":
        if (inBox) return;
        if (strip) moveBy(-1);
        else moveVertical(-1);
        break;
      case "l":
      case "L":
        if (!loupe() || inBox || !card) return;
        if (strip) loupe().close();
        else loupe().open(card);
        card.scrollIntoView({ block: "nearest", inline: "center" });
        break;
      case "]":
      case "[":
        if (!card || !stepInBurst(card, key === "]" ? 1 : -1)) say("Not in a burst: ] and [ step through a burst's frames.");
        break;
      case "g":
      case "G":
        if (!strip || !card) return;
        loupe().close();
        card.scrollIntoView({ block: "center" });
        break;
      case "z":
      case "Z":
        if (!strip) return;
        loupe().zoom(faceFocus);
        break;
      case "c":
      case "C":
        if (!strip || !card) return;
        say(loupe().compare(card) ? "Pinned " + card.querySelector(".fname").textContent + ": the next photos show beside it. C unpins." : "Compare off.");
        break;
      case "p":
      case "P":
        if (!strip || !card || !card.querySelector(".card-actions")) return;
        label(card, "NOT_BLINKING");
        break;
      case "B":
        bulk("BLINKING");
        break;
      case "K":
        bulk("NOT_BLINKING");
        break;
      case "u":
      case "U":
        undo();
        break;
      case "x":
        if (strip) {
          if (card.querySelector(".card-actions")) label(card, "BLINKING");
          break;
        }
        toggleSelect(card);
        break;
      case " ":
        toggleSelect(card);
        break;
      case "f":
        if (card) pickFace(card);
        break;
      case "Enter":
        openLightbox(card);
        break;
      case "Escape":
        if (inBox) closeLightbox();
        else if (faceFocus === null && strip) loupe().close();
        else if (card) {
          clearFaceFocus(card);
          say("");
        }
        break;
      case "1":
      case "2":
      case "3":
      case "4": {
        const section = review.querySelector('section[data-key="' + key + '"]');
        const first = section && section.querySelector(".photo-card");
        if (first) focusCard(first);
        else if (section) aim(section, { block: "start" });
        break;
      }
      default: {
        const action = keyTable[key]; // a check's key, or the whole photo's (no face, keep anyway, reject)
        if (!action) return;
        if (!card.querySelector(".card-actions")) return say("This file couldn't be read: nothing to mark.");
        decide(card, action);
        if (inBox) afterChanges(() => openLightbox(current()));
      }
    }
    event.preventDefault();
  });

  // --- Mouse: keep the keyboard's idea of "current" in step -------------------------------------------------

  review.addEventListener("click", (event) => {
    const card = event.target.closest(".photo-card");
    if (!card) return;
    if (event.target.closest("[data-open-lightbox]")) {
      event.preventDefault();
      // On a touch screen the loupe is where the faces' eyes are big enough to judge.
      if (loupe() && window.matchMedia("(pointer: coarse)").matches) {
        focusCard(card, { scroll: false });
        loupe().open(card);
      } else openLightbox(card);
      return;
    }
    if (!event.target.closest("button, input, label, a, summary")) focusCard(card, { scroll: false });
    else if (currentId !== card.dataset.photo) {
      // A button on another card: that card becomes current, the click itself goes ahead.
      const previous = current();
      if (previous) previous.classList.remove("is-current");
      clearFaceFocus(previous);
      currentId = card.dataset.photo;
      card.classList.add("is-current");
    }
  });

  // The group links in the header: the browser jumps, then the jump is aimed again (see aim()).
  review.addEventListener("click", (event) => {
    const link = event.target.closest('a[href^="#"]');
    const target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!target || target.closest(".photo-card")) return;
    event.preventDefault();
    history.replaceState(null, "", link.getAttribute("href"));
    aim(target, { block: "start" });
  });

  review.addEventListener("change", (event) => {
    if (event.target.matches('input[name="photos"]')) updateBulkCount();
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });

  if (lightbox) {
    lightbox.addEventListener("click", (event) => {
      if (event.target === lightbox || event.target.closest("[data-close]")) closeLightbox();
      const button = event.target.closest("[data-lb-label]");
      if (button) {
        event.preventDefault();
        const card = current();
        if (card) {
          label(card, button.dataset.lbLabel);
          afterChanges(() => openLightbox(current()));
        }
      }
    });
  }

  // The loupe's buttons and swipes (loupe.js) act on the current photo like the keys do.
  // ] / [: the next / previous frame of the current photo's burst, opening the burst if it is folded (with C in
  // the loupe, the frames then show side by side with the pinned one).
  function stepInBurst(card, step) {
    const burst = card.dataset.burst;
    if (!burst) return false;
    const toggle = document.querySelector('[data-stack-toggle="' + burst + '"]');
    if (toggle && toggle.getAttribute("aria-expanded") !== "true") toggle.click();
    const frames = cards().filter((c) => c.dataset.burst === burst);
    const next = frames[frames.indexOf(card) + step];
    if (next) focusCard(next, { scroll: true });
    else say(step > 0 ? "Last frame of this burst." : "First frame of this burst.");
    return true;
  }

  // Bursts: "show all" opens the frames folded under a burst's best one (and folds them again).
  review.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-stack-toggle]");
    if (!toggle) return;
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = toggle.textContent.replace(open ? "show all" : "fold", open ? "fold" : "show all");
    document.querySelectorAll('.photo-card.in-stack[data-burst="' + toggle.dataset.stackToggle + '"]')
      .forEach((c) => c.classList.toggle("stack-open", open));
  });

  // Filters: one subject's photos (the subjects step), the photos one check flags or is unsure of.
  const subjectFilter = document.querySelector("[data-subject-filter]");
  const flagFilter = document.querySelector("[data-flag-filter]");
  function applyFilters(quiet) {
    const subject = subjectFilter ? subjectFilter.value : "";
    const flag = flagFilter ? flagFilter.value : "";
    document.querySelectorAll(".photo-card").forEach((c) => {
      const hidden = (subject && c.dataset.subject !== subject) || (flag && !(c.dataset.flags || "").split(" ").includes(flag));
      c.classList.toggle("subject-hidden", !!hidden);
    });
    if (quiet === true) return;
    const shown = cards().length;
    say(subject || flag ? "Showing " + shown + " photo" + (shown === 1 ? "" : "s") + "." : "Showing every photo.");
  }
  [subjectFilter, flagFilter].forEach((select) => select && select.addEventListener("change", () => applyFilters()));
  // A card swapped in after a correction gets the filters too (its flags may have changed).
  document.body.addEventListener("htmx:afterSettle", () => applyFilters(true));

  review.addEventListener("eyespy:loupe-action", (event) => {
    const detail = event.detail;
    const card = current();
    if (!card) return;
    if (detail.undo) return undo();
    if (detail.step) return moveBy(detail.step);
    if (!card.querySelector(".card-actions")) return say("This file couldn't be read: nothing to mark.");
    if (detail.action) return decide(card, detail.action);
    if (detail.face !== null && detail.face !== undefined) {
      const saved = faceFocus;
      faceFocus = detail.face;
      label(card, detail.value);
      faceFocus = saved;
      return;
    }
    label(card, detail.value);
  });

  // The filmstrip in the loupe: a tap on a thumbnail shows that photo.
  review.addEventListener("click", (event) => {
    if (!inLoupe()) return;
    const thumb = event.target.closest(".photo-card .thumb");
    if (!thumb) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    focusCard(thumb.closest(".photo-card"));
  }, true);

  // htmx swaps from mouse clicks (after htmx has settled the new card's attributes): keep the "moved"
  // marks, the current card and the selection count right.
  document.body.addEventListener("htmx:afterSettle", () => {
    cards().forEach(markMoved);
    const card = current();
    if (card) card.classList.add("is-current");
    updateBulkCount();
  });

  // A refused click (htmx doesn't swap 4xx answers): say why instead of doing nothing.
  document.body.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    say("Not saved: " + ((xhr && xhr.responseText) || "the server said no") + ".");
  });

  // --- Strictness slider --------------------------------------------------------------------------------------

  const slider = document.getElementById("strictness");
  const sliderValue = document.getElementById("strictness-value");
  if (slider && sliderValue) {
    slider.addEventListener("input", () => (sliderValue.value = Number(slider.value).toFixed(2)));
  }
  document.querySelectorAll("[data-nojs-only]").forEach((el) => (el.hidden = true));

  // --- Start ---------------------------------------------------------------------------------------------------

  const fromHash = location.hash.startsWith("#card-") ? document.getElementById(location.hash.slice(1)) : null;
  const first = fromHash || review.querySelector(".photo-card");
  if (first) focusCard(first, { scroll: !!fromHash });
  const openButton = document.getElementById("loupe-open");
  if (openButton && loupe()) {
    openButton.hidden = false;
    openButton.addEventListener("click", () => {
      if (inLoupe()) loupe().close();
      else if (current()) loupe().open(current());
    });
  }
  if (new URLSearchParams(location.search).get("view") === "loupe" && loupe() && current()) loupe().open(current());
  document.body.dataset.reviewReady = "1";
  document.body.dataset.reviewBusy = "0";

  // --- Sticky review header ----------------------------------------------------------------------------------------

  // Cards and group sections scroll to just below the sticky header, whatever height it wraps to.
  function setupStickyOffset() {
    const head = review.querySelector(".review-head");
    if (!head) return;
    const update = () => review.style.setProperty("--review-head-h", head.offsetHeight + "px");
    update();
    if (window.ResizeObserver) new ResizeObserver(update).observe(head);
    else window.addEventListener("resize", update);
  }
})();
