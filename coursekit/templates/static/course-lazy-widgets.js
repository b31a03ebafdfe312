// Widgets on demand: a page with widgets loads their stored state (a script beside the page)
// and the widget manager (html-manager's embed.js, 1.9 MB) only when a widget comes near the
// screen, so a reader who never scrolls to an explorer does not download them.
(function () {
  "use strict";
  var me = document.currentScript;
  var manager = me && me.dataset.manager;
  var started = false;

  function load(src, then) {
    var script = document.createElement("script");
    script.src = src;
    script.onload = then;
    script.onerror = function () { console.error("could not load " + src); };
    document.head.appendChild(script);
  }

  function startManager() {
    // embed.js renders the widgets on window "load"; when that is past, run its listener now.
    var add = window.addEventListener;
    window.addEventListener = function (type, listener, options) {
      if (type === "load" && document.readyState === "complete") {
        window.addEventListener = add;
        setTimeout(listener, 0);
        return undefined;
      }
      return add.call(window, type, listener, options);
    };
    load(manager, function () { window.addEventListener = add; });
  }

  function start() {
    if (started || !manager) return;
    started = true;
    var state = document.getElementById("course-widget-state");
    if (state && state.dataset.src && !state.textContent.trim()) {
      load(state.dataset.src, function () {
        state.textContent = JSON.stringify(window.courseWidgetState);
        startManager();
      });
    } else {
      startManager();
    }
  }

  function watch() {
    var views = document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]');
    if (!views.length) return;
    if (!("IntersectionObserver" in window)) { start(); return; }
    var observer = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) {
        observer.disconnect();
        start();
      }
    }, { rootMargin: "1500px 0px" });
    views.forEach(function (view) { observer.observe(view.parentElement); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
})();
