/* Eye Spy lightbox page (/photos/<id>/lightbox/): arrows follow its previous/next links, Esc goes back to
 * the review, B / K press its buttons. */
(function () {
  "use strict";

  const page = document.getElementById("lightbox-page");
  if (!page) return;
  window.EyeSpy.centreZooms(page);
  // Opened and shown: the agreement line may count it (a GET never changes anything, so it is a POST).
  const seen = new URLSearchParams({ photos: page.dataset.photo });
  fetch(page.dataset.seenUrl, { method: "POST", body: seen, credentials: "same-origin",
    headers: { "X-CSRFToken": window.EyeSpy.csrfToken(), "HX-Request": "true" } })
    .then((r) => r.text()) // read to the end, so the request is over (nothing on this page shows the answer)
    .catch(() => null);
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
