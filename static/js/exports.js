/* Eye Spy exports page: copy buttons for the Lightroom filters, XMP options only for the exports that write XMP. */
(function () {
  "use strict";

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const field = document.querySelector(button.dataset.copy);
    if (!field) return;
    const done = () => {
      const before = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = before), 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, () => legacyCopy(field, done));
    } else {
      legacyCopy(field, done);
    }
  });

  function legacyCopy(field, done) {
    field.focus();
    field.select();
    try {
      document.execCommand("copy");
      done();
    } catch (e) {
      /* the text stays selected for Ctrl+C */
    }
  }

  // Without JS the XMP options stay visible for every format.
  const form = document.querySelector(".export-form");
  const options = form && form.querySelector(".xmp-options");
  if (!options) return;
  const update = () => {
    const chosen = form.querySelector('input[name="format"]:checked');
    options.hidden = !chosen || !options.dataset.formats.split(" ").includes(chosen.value);
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "format") update();
  });
  update();
})();
