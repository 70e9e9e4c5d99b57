/* The photographer's gallery page: copy buttons, and reordering photos by drag or keyboard. */
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var input = document.querySelector(btn.dataset.copy);
      var done = function () { var t = btn.textContent; btn.textContent = "Copied"; setTimeout(function () { btn.textContent = t; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(input.value).then(done, function () { input.select(); document.execCommand("copy"); done(); }); }
      else { input.select(); document.execCommand("copy"); done(); }
    });
  });

  var list = document.getElementById("ga-order");
  if (!list) return;
  var dragged = null;
  list.addEventListener("dragstart", function (e) {
    dragged = e.target.closest(".ga-item"); if (!dragged) return;
    dragged.classList.add("dragging"); e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", dragged.dataset.key);
  });
  list.addEventListener("dragend", function () { if (dragged) dragged.classList.remove("dragging"); dragged = null; });
  list.addEventListener("dragover", function (e) {
    e.preventDefault();
    var over = e.target.closest(".ga-item");
    if (!dragged || !over || over === dragged) return;
    var r = over.getBoundingClientRect(), after = (e.clientX - r.left) > r.width / 2;
    list.insertBefore(dragged, after ? over.nextSibling : over);
  });
  list.addEventListener("keydown", function (e) {
    var item = e.target.closest(".ga-item"); if (!item) return;
    var prev = item.previousElementSibling, next = item.nextElementSibling;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      if (e.altKey) {
        if (e.key === "ArrowLeft" && prev) list.insertBefore(item, prev);
        if (e.key === "ArrowRight" && next) list.insertBefore(next, item);
        item.focus();
      } else {
        var to = e.key === "ArrowLeft" ? prev : next; if (to) to.focus();
      }
    }
  });
})();
