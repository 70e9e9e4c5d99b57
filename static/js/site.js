// Small behaviours every page shares. No inline script anywhere: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  // Panels that poll (data-poll, hx-trigger "every Ns") skip their request while the tab is hidden,
  // and pick up again on the next tick once it is visible. (An htmx trigger filter would need eval.)
  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail && event.detail.elt;
    if (document.hidden && el && el.hasAttribute && el.hasAttribute("data-poll")) event.preventDefault();
  });
})();
