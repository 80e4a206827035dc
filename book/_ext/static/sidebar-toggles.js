// sphinx-book-theme 1.3 + pydata-sphinx-theme 0.17: the theme scripts attach their click
// handlers to the first .primary-toggle / .secondary-toggle of the page only (the navbar pair,
// hidden in this theme), so the visible toggles in the article header open nothing
// (pydata-sphinx-theme#2451, sphinx-book-theme#988). Forward their clicks to the first button.
(function () {
  function forward() {
    ["primary-toggle", "secondary-toggle"].forEach(function (cls) {
      var all = document.querySelectorAll("." + cls);
      for (var i = 1; i < all.length; i++) {
        all[i].addEventListener("click", function (event) {
          event.preventDefault();
          event.stopImmediatePropagation();
          all[0].click();
        });
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", forward);
  else forward();
})();
