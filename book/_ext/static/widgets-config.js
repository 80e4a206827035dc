// Loaded on pages with widgets, after RequireJS and before the widget manager (nb_ipywidgets_js).
// 1. Widget front ends and the manager's fonts come from the site's own _static folder, found
//    from the page's content root, so a page at any depth (and a file:// page) works offline.
// 2. The widget manager calls MathJax 2's MathJax.Hub.Queue; Sphinx loads MathJax 3. A small
//    Hub.Queue over MathJax 3's typesetPromise is added to whichever MathJax object is current.
(function () {
  var root = document.documentElement.dataset.content_root || "./";
  var base = new URL(root + "_static/", document.baseURI).href;
  window.__jupyter_widgets_assets_path__ = base + "html-manager/";
  if (window.requirejs) {
    // The manager's fonts are fetched relative to its own module's URL, which RequireJS
    // derives from this path (without it, from the page's folder: a 404 on every page).
    window.requirejs.config({ paths: {
      anywidget: base + "anywidget/index",
      "@jupyter-widgets/html-manager/dist": base + "html-manager",
    } });
  }

  function queue(job) {
    var el = job && job.length > 2 ? job[2] : undefined;
    var tries = 0;
    (function typeset() {
      var mj = window.MathJax;
      if (mj && typeof mj.typesetPromise === "function") {
        var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
        ready.then(function () { return mj.typesetPromise(el ? [el] : undefined); })
          .catch(function (err) { console.warn("MathJax typeset of a widget failed:", err); });
      } else if (tries++ < 100) {
        setTimeout(typeset, 100);
      }
    })();
  }
  function addHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      Object.defineProperty(mj, "Hub", { value: { Queue: queue }, enumerable: false, configurable: true });
    }
    return mj;
  }
  var current = addHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = addHub(value); },
  });
})();
