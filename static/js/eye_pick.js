/* Eye Spy: say which eye is closed (the learning loop's labelling rule).
 *
 * On the review screen every eye close-up becomes a button: click it, or focus it (Tab) and press Enter or
 * Space, and that eye is recorded as the closed one of its face (POST, one at a time). Training then labels
 * exactly that eye when the face or photo is marked BLINKING, instead of the eye the model saw as most
 * closed. Picked eyes are outlined; the marks survive card swaps. Kept apart from review.js on purpose.
 */
(function () {
  "use strict";

  const config = document.getElementById("eye-pick-config");
  const review = document.getElementById("review");
  if (!config || !review) return;
  const pickUrl = config.dataset.pickUrl;
  const picksUrl = config.dataset.picksUrl;
  const zero = "00000000-0000-0000-0000-000000000000";
  const picks = {}; // "photo-uuid:face" -> "left" | "right"

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function eyeOf(target) {
    const eye = target && target.closest ? target.closest(".photo-card .face .eye[data-eye-side]") : null;
    return eye && eye.closest(".face[data-face]") && eye.closest(".photo-card[data-photo]") ? eye : null;
  }

  function keyOf(eye) {
    const card = eye.closest(".photo-card[data-photo]");
    const face = eye.closest(".face[data-face]");
    return card.dataset.photo + ":" + face.dataset.face;
  }

  function mark() {
    review.querySelectorAll(".photo-card .face .eye[data-eye-side]").forEach(function (eye) {
      if (!eye.hasAttribute("tabindex")) eye.setAttribute("tabindex", "0");
      eye.setAttribute("role", "button");
      const picked = picks[keyOf(eye)] === eye.dataset.eyeSide;
      eye.classList.toggle("eye-picked", picked);
      eye.setAttribute("aria-pressed", picked ? "true" : "false");
      if (!eye.dataset.pickTitle) {
        eye.dataset.pickTitle = "1";
        eye.title = (eye.title ? eye.title + " · " : "") + "click or press Enter: this is the closed eye";
      }
    });
  }

  let queue = Promise.resolve();

  function pick(eye) {
    const card = eye.closest(".photo-card[data-photo]");
    const face = eye.closest(".face[data-face]").dataset.face;
    const side = eye.dataset.eyeSide;
    const body = new URLSearchParams({ face: face, side: side });
    queue = queue.then(function () {
      return fetch(pickUrl.replace(zero, card.dataset.photo), {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
        body: body,
        credentials: "same-origin",
      }).then(function (r) {
        if (!r.ok) return r.text().then(function (t) { throw new Error(t); });
        picks[card.dataset.photo + ":" + face] = side;
        mark();
        const status = document.getElementById("review-status");
        if (status) status.textContent = "Face " + (Number(face) + 1) + ": " + side + " eye marked as the closed one";
      }).catch(function (e) {
        const status = document.getElementById("review-status");
        if (status) status.textContent = "Could not mark the eye: " + e.message;
      });
    });
  }

  document.addEventListener("click", function (ev) {
    const eye = eyeOf(ev.target);
    if (!eye) return;
    ev.preventDefault();
    pick(eye);
  });

  // Capture phase: the review's own keys (Enter opens the lightbox) must not see a key meant for an eye.
  document.addEventListener("keydown", function (ev) {
    const eye = eyeOf(ev.target);
    if (!eye || ev.target !== eye || (ev.key !== "Enter" && ev.key !== " ")) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    pick(eye);
  }, true);

  new MutationObserver(mark).observe(review, { childList: true, subtree: true });
  fetch(picksUrl, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : { picks: {} }; })
    .then(function (data) { Object.assign(picks, data.picks || {}); mark(); })
    .catch(mark);
})();
