// ipywidgets 8 typesets widget labels with the MathJax 2 API (MathJax.Hub.Queue), but this site
// loads MathJax 3, which has no Hub: every widget with a description then fails to render. Give
// whatever object becomes window.MathJax (the config first, MathJax 3 itself later) a small Hub
// that forwards to MathJax 3's typesetPromise.
(function () {
  "use strict";
  var hub = {
    Queue: function (job) {
      var mj = window.MathJax;
      var el = job && job[2];
      if (el && mj && mj.startup && mj.startup.promise && mj.typesetPromise) {
        mj.startup.promise.then(function () { return mj.typesetPromise([el]); });
      }
    },
  };
  function withHub(value) {
    if (value && typeof value === "object" && !value.Hub) {
      Object.defineProperty(value, "Hub", { value: hub, enumerable: false, configurable: true });
    }
    return value;
  }
  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); },
  });
})();
