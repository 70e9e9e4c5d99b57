/* Eye Spy lightbox page (/photos/<id>/lightbox/): arrows follow its previous/next links, Esc goes back to
 * the review, B / K press its buttons. */
(function () {
  "use strict";

  const page = document.getElementById("lightbox-page");
  if (!page) return;
  window.EyeSpy.centreZooms(page);
  const follow = (selector) => {
    const link = document.querySelector(selector);
    if (link) location.assign(link.href);
    return !!link;
  };
  const press = (value) => {
    const button = page.querySelector('.lb-actions button[value="' + value + '"]');
    if (button) button.click();
    return !!button;
  };
  document.addEventListener("keydown", (event) => {
    if (window.EyeSpy.typing(event.target) || event.altKey || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const done = {
      ArrowLeft: () => follow("[data-lb-prev]"),
      ArrowRight: () => follow("[data-lb-next]"),
      Escape: () => follow("[data-lb-back]"),
      b: () => press("BLINKING"),
      k: () => press("NOT_BLINKING"),
    }[event.key];
    if (done && done()) event.preventDefault();
  });
})();
