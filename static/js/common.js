/* Eye Spy: the few helpers every page script shares (window.EyeSpy). Loaded by base.html before any page script. */
window.EyeSpy = (function () {
  "use strict";

  // The CSRF token base.html puts on <body hx-headers>, for requests made outside htmx.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // Keys typed into a field are text, not shortcuts.
  function typing(target) {
    if (!target || !target.tagName) return false;
    const tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) return true;
    return tag === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(target.type);
  }

  // A 100% crop is shown at its real pixel size in a scrolling box: start on the eyes. The crop's middle
  // is not enough: a crop cut off at the frame's edge has its eyes off-centre, and at 100% two eyes can be
  // further apart than the box is wide (the middle is then cheek and nose). data-eyes lists the eye centres
  // as fractions of the crop, the one to check first first: both in view when they fit, else that one.
  function centreOnEyes(img) {
    const box = img.parentElement; // the scrolling box
    const eyes = (img.dataset.eyes || "").split(";").filter(Boolean).map((p) => p.split(",").map(Number));
    let u = 0.5, v = 0.5;
    if (eyes.length) {
      const us = eyes.map((e) => e[0]), vs = eyes.map((e) => e[1]);
      const span = (Math.max(...us) - Math.min(...us)) * img.offsetWidth;
      const both = span <= box.clientWidth * 0.8;
      u = both ? (Math.max(...us) + Math.min(...us)) / 2 : eyes[0][0];
      v = both ? vs.reduce((a, b) => a + b, 0) / vs.length : eyes[0][1];
    }
    box.scrollLeft = Math.max(0, u * img.offsetWidth - box.clientWidth / 2);
    box.scrollTop = Math.max(0, v * img.offsetHeight - box.clientHeight / 2);
  }

  function centreZooms(root) {
    root.querySelectorAll(".lb-zoom-box img, .loupe-zoom.is-100 img").forEach((img) => {
      if (img.complete && img.naturalWidth) centreOnEyes(img);
      else img.addEventListener("load", () => centreOnEyes(img), { once: true });
    });
  }

  // Back/Forward must show the truth: pages are sent no-store, and should a browser still restore one from
  // its back-forward cache (state frozen before a correction), fetch it again.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) window.location.reload();
  });

  return { csrfToken, typing, centreZooms, centreOnEyes };
})();
