/* Eyes at 100 %: a worker cuts the crop from the original on first view, and until then the zoom URL answers
 * 202 with a "Preparing" placeholder. For each zoom image on the page (and in lightboxes htmx swaps in), ask
 * again every ~0.7 s until it answers with the crop, then show it. `redirect: "manual"`: on S3 the answer is a
 * redirect to a signed URL, which counts as ready (following it cross-origin would need CORS). */
(function () {
  "use strict";
  const EVERY_MS = 700;
  const GIVE_UP_AFTER = 60; // ~40 s: a worker that is down gets a message instead of endless asking

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
          if (ready(response)) {
            // Shown at its own pixel size in a scrolling box: start with the middle of the eyes in view.
            img.addEventListener("load", () => {
              const box = img.parentElement;
              box.scrollLeft = Math.max(0, (img.offsetWidth - box.clientWidth) / 2);
              box.scrollTop = Math.max(0, (img.offsetHeight - box.clientHeight) / 2);
            }, { once: true });
            img.src = url + (url.includes("?") ? "&" : "?") + "ready=1";
            img.closest("figure")?.classList.remove("zoom-pending");
          } else if (response.status === 202 && ++tries < GIVE_UP_AFTER) {
            img.closest("figure")?.classList.add("zoom-pending");
            setTimeout(ask, EVERY_MS);
          } else {
            img.alt = "The 100 % view isn't available right now.";
          }
        })
        .catch(() => { if (++tries < GIVE_UP_AFTER) setTimeout(ask, EVERY_MS * 2); });
    };
    ask();
  }

  function scan(root) {
    root.querySelectorAll("img[data-zoom]").forEach(watch);
  }

  document.addEventListener("DOMContentLoaded", () => scan(document));
  document.addEventListener("htmx:load", (event) => scan(event.target));
})();
