// Navigation on every page: the chapter-list and contents buttons, and the language switch.
(function () {
  "use strict";

  // pydata-sphinx-theme 0.17 binds its drawer handler to the first .primary-toggle and
  // .secondary-toggle in the page (upstream issue #2451), which are hidden in the book theme's
  // layout: the visible buttons did nothing. Forward their clicks to the ones the theme listens to.
  function forwardToggles() {
    ["primary", "secondary"].forEach(function (kind) {
      var all = document.querySelectorAll("." + kind + "-toggle");
      var bound = all[0];
      Array.prototype.slice.call(all, 1).forEach(function (button) {
        button.addEventListener("click", function (event) {
          event.preventDefault();
          event.stopPropagation();
          bound.click();
        });
      });
    });
  }

  // A link chosen in a drawer closes the drawer. An in-page link then scrolls once the page is
  // back in place (closing moves the drawer's contents and refocuses the button that opened it).
  function closeDrawerOnLink() {
    document.querySelectorAll("dialog[id$='-sidebar-modal']").forEach(function (dialog) {
      dialog.addEventListener("click", function (event) {
        var link = event.target.closest && event.target.closest("a[href]");
        if (!link || !dialog.open) { return; }
        var href = link.getAttribute("href");
        if (href.charAt(0) !== "#") { dialog.close(); return; }
        event.preventDefault();
        dialog.close();
        setTimeout(function () {
          var target = document.getElementById(decodeURIComponent(href.slice(1)));
          history.pushState(null, "", href);
          if (target) { target.scrollIntoView(); }
          window.dispatchEvent(new HashChangeEvent("hashchange"));
        }, 0);
      });
    });
  }

  // The section the reader is in: the URL's fragment while its target is on screen, else the last
  // sub-section whose heading has scrolled past the top third of the window (at most 120 px).
  function currentSection() {
    var hash = decodeURIComponent(location.hash.slice(1));
    var target = hash && document.getElementById(hash);
    var box = target && target.getBoundingClientRect();
    if (box && box.top < window.innerHeight && box.bottom > 0) {  // still what the reader sees
      var section = target.closest("section[id]");
      return target.matches("section[id]") || !section ? hash : section.id;
    }
    // Sub-sections only: a reader still above the first one stays at the top of the page.
    var sections = document.querySelectorAll("article section[id]");
    var line = Math.min(window.innerHeight / 3, 120);
    var found = "";
    sections.forEach(function (s) {
      var heading = s.querySelector(":scope > h2, :scope > h3, :scope > h4, :scope > h5");
      if (heading && heading.getBoundingClientRect().top <= line) { found = s.id; }
    });
    return found;
  }

  // Sections have the same ids in both editions, so the switch lands on the same section.
  function keepSectionOnSwitch() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a.course-lang-switch");
      if (!link) { return; }
      var id = currentSection();
      link.href = link.href.split("#")[0] + (id ? "#" + encodeURIComponent(id) : "");
    }, true);
  }

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }
  ready(function () { forwardToggles(); closeDrawerOnLink(); keepSectionOnSwitch(); });
})();
