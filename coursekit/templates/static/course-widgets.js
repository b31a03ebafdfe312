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

// Kernel-free widgets, made readable by assistive technology: a ToggleButtons control becomes a
// named group whose buttons say which one is chosen (aria-pressed), a label without a tooltip
// loses ipywidgets' title="null", and a dropdown keeps its <label for>.
(function () {
  "use strict";
  var serial = 0;

  function labelId(label) {
    if (!label.id) { serial += 1; label.id = "course-widget-label-" + serial; }
    return label.id;
  }

  function describeToggles(widget) {
    var label = widget.querySelector(":scope > .widget-label");
    var group = widget.querySelector(":scope > div:not(.widget-label)");
    if (!group) { return; }
    group.setAttribute("role", "group");
    if (label && label.textContent.trim()) {
      group.setAttribute("aria-labelledby", labelId(label));
    }
    group.querySelectorAll(".widget-toggle-button").forEach(function (button) {
      button.setAttribute("aria-pressed", button.classList.contains("mod-active") ? "true" : "false");
    });
  }

  function tidy(root) {
    root.querySelectorAll(".widget-label[title='null'], .widget-toggle-button[title='null']")
      .forEach(function (el) { el.removeAttribute("title"); });
    root.querySelectorAll(".widget-toggle-buttons").forEach(describeToggles);
  }

  var pending = false;
  function schedule() {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; tidy(document); });
  }

  function start() {
    tidy(document);
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["class", "title"],
    });
  }
  if (document.readyState !== "loading") { start(); } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
