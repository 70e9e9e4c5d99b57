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

  // A 100% crop is shown at its real pixel size in a scrolling box: start with the middle of the eyes in view.
  function centreZooms(root) {
    root.querySelectorAll(".lb-zoom-box img, .loupe-zoom.is-100 img").forEach((img) => {
      const centre = () => {
        const box = img.parentElement; // the scrolling box
        box.scrollLeft = Math.max(0, (img.offsetWidth - box.clientWidth) / 2);
        box.scrollTop = Math.max(0, (img.offsetHeight - box.clientHeight) / 2);
      };
      if (img.complete && img.naturalWidth) centre();
      else img.addEventListener("load", centre, { once: true });
    });
  }

  // Back/Forward must show the truth: pages are sent no-store, and should a browser still restore one from
  // its back-forward cache (state frozen before a correction), fetch it again.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) window.location.reload();
  });

  return { csrfToken, typing, centreZooms };
})();
