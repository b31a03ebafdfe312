// Widgets on demand: a page with widgets loads their stored state (a script beside the page)
// and the widget manager (the course's own bundle, coursekit/templates/widgets/, 0.6 MB) only when
// a widget comes near the screen, so a reader who never scrolls to an explorer does not download
// them. The manager renders the widgets as soon as it runs once the page has loaded.
(function () {
  "use strict";
  var me = document.currentScript;
  var manager = me && me.dataset.manager;
  var started = false;

  function load(src, then) {
    var script = document.createElement("script");
    script.src = src;
    if (then) script.onload = then;
    script.onerror = function () { console.error("could not load " + src); };
    document.head.appendChild(script);
  }

  function start() {
    if (started || !manager) return;
    started = true;
    var state = document.getElementById("course-widget-state");
    if (state && state.dataset.src && !state.textContent.trim()) {
      load(state.dataset.src, function () {
        state.textContent = JSON.stringify(window.courseWidgetState);
        load(manager);
      });
    } else {
      load(manager);
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
