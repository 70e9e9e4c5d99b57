/* Eyes at 100 %: a worker cuts the crop from the original on first view, and until then the zoom URL answers
 * 202 with a "Preparing" placeholder. For each zoom image on the page (and in lightboxes htmx swaps in), ask
 * again (0.5 s, then backing off to every 3 s) until it answers with the crop, then show it. `redirect: "manual"`: on S3 the answer is a
 * redirect to a signed URL, which counts as ready (following it cross-origin would need CORS). */
(function () {
  "use strict";
  const FIRST_MS = 500;
  const MAX_MS = 3000;
  const GIVE_UP_AFTER = 30; // ~1 min: a worker that is down gets a message instead of endless asking
  const delay = (tries) => Math.min(MAX_MS, FIRST_MS * Math.pow(1.5, tries));

  function ready(response) {
    return response.type === "opaqueredirect" || response.status === 200;
  }

  function watch(img) {
    if (img.dataset.zoomWatched) return;
    img.dataset.zoomWatched = "1";
    const url = img.dataset.zoom;
    let tries = 0;
    const ask = () => {
      fetch(url, { credentials: "same-origin", redirect: "manual", cache: "no-store" })
        .then((response) => {
          // Finish with the answer's body (a tiny placeholder, or the crop the <img> fetches itself).
          if (response.body) response.body.cancel().catch(() => {});
          if (ready(response)) {
            // Shown at its own pixel size in a scrolling box: start on the eyes (common.js).
            img.addEventListener("load", () => window.EyeSpy.centreOnEyes(img), { once: true });
            img.src = url + (url.includes("?") ? "&" : "?") + "ready=1";
            img.closest("figure")?.classList.remove("zoom-pending");
          } else if (response.status === 202 && ++tries < GIVE_UP_AFTER) {
            img.closest("figure")?.classList.add("zoom-pending");
            setTimeout(ask, delay(tries));
          } else {
            img.alt = "The 100 % view isn't available right now.";
          }
        })
        .catch(() => { if (++tries < GIVE_UP_AFTER) setTimeout(ask, MAX_MS); });
    };
    ask();
  }

  function scan(root) {
    root.querySelectorAll("img[data-zoom]").forEach(watch);
  }

  document.addEventListener("DOMContentLoaded", () => scan(document));
  document.addEventListener("htmx:load", (event) => scan(event.target));
  // Parts put in place by our own scripts (the loupe, the review's lightbox) rather than by an htmx swap.
  document.addEventListener("eyespy:content", (event) => scan(event.target));
})();
