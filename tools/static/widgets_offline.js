/* Lets the Jupyter widget manager run in the static book with no network (loaded on pages that hold widget
 * state, before require.js and the manager; see nb_ipywidgets_js in _config.yml). It removes the three traps
 * met when the manager and MathJax are served from the book's own _static folder:
 *   1. the theme's Font Awesome JS swaps <i> icons for <svg> as the DOM changes, and the widgets' Play button
 *      then throws: watching DOM mutations is turned off (the theme's own icons are converted at load anyway);
 *   2. the manager asks for its icon fonts relative to where require.js thinks it lives, i.e. the page: a
 *      require.js paths entry points the manager's module at the vendored folder next to this file; the
 *      manager's CDN fallback for third-party widget modules is pointed at a folder of the book, so that a
 *      missing module is a local 404, never a request to a CDN;
 *   3. ipywidgets typesets labels with MathJax 2's MathJax.Hub.Queue, which MathJax 3 lacks: a small Hub
 *      that forwards to MathJax 3's typesetPromise is kept on whatever window.MathJax becomes.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script.src.replace(/[?#].*$/, "");
  base = base.slice(0, base.lastIndexOf("/") + 1);  // .../_static/

  // 1. Font Awesome: read by the theme's fontawesome.js, which is deferred and so runs after this.
  window.FontAwesomeConfig = Object.assign({}, window.FontAwesomeConfig || {}, {observeMutations: false});

  // 2. require.js reads a plain object named `require` as its configuration when it loads. The bundle
  // embed-amd.js defines these modules by name, and each takes webpack's public path (where its fonts are)
  // from the folder of its own module URL; mapping the names into the vendored dist/ folder puts that
  // folder there. Nothing is fetched under these names: the bundle has already defined them.
  var dist = base + "html-manager/dist";
  window.require = {paths: {
    "@jupyter-widgets/html-manager/dist": dist,
    "@jupyter-widgets/html-manager": dist + "/html-manager",
    "@jupyter-widgets/base": dist + "/base",
    "@jupyter-widgets/base7": dist + "/base7",
    "@jupyter-widgets/controls": dist + "/controls",
    "@jupyter-widgets/controls7": dist + "/controls7"
  }};
  // libembed-amd takes the CDN base from any script tag carrying this attribute (the last one wins).
  script.setAttribute("data-jupyter-widgets-cdn", base + "widgets-cdn-disabled/");

  // 3. MathJax 2's Hub.Queue(["Typeset", MathJax.Hub, element]) on top of MathJax 3.
  function typeset(element) {
    if (element && element.classList) {
      // Sphinx's MathJax configuration ignores the page except elements of the "process" classes: opt in.
      element.classList.add("mathjax_process");
      // Jupyter writes label math as $...$; the book's MathJax reads \(...\) and \[...\] only.
      var text = element.textContent;
      if (text && text.indexOf("$") >= 0 && element.children.length === 0) {
        element.textContent = text.replace(/\$\$([^$]+)\$\$/g, "\\[$1\\]").replace(/\$([^$]+)\$/g, "\\($1\\)");
      }
    }
    var mj = window.MathJax;
    if (!mj || !mj.startup || !mj.startup.promise || typeof mj.typesetPromise !== "function") {
      return;  // MathJax 3 not loaded yet: its start-up typesets the page, this element included
    }
    mj.startup.promise
      .then(function () { return mj.typesetPromise(element ? [element] : undefined); })
      .catch(function (err) { console.warn("MathJax could not typeset a widget label:", err); });
  }
  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (Array.isArray(job) && job[0] === "Typeset") { typeset(job[2]); }
        else if (typeof job === "function") { job(); }
      }
    }
  };
  function withHub(value) {
    if (value && typeof value === "object" && !value.Hub) {
      // not enumerable, so MathJax 3 never reads it as a configuration block
      Object.defineProperty(value, "Hub", {value: hub, enumerable: false, configurable: true, writable: true});
    }
    return value;
  }
  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); }
  });
})();
