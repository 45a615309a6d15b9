// Suggested articles while a case's subject is typed (no inline script: the CSP forbids it).
// The page names the suggestion endpoint in #suggestions[data-url]; answers are HTML fragments
// rendered and escaped by the server.
(function () {
  "use strict";
  function ready() {
    var box = document.getElementById("suggestions");
    var subject = document.querySelector("input[data-suggest]");
    if (!box || !subject || !box.dataset.url) return;
    var timer = null, last = "", controller = null;
    function ask() {
      var q = subject.value.trim();
      if (q === last) return;
      last = q;
      if (q.length < 3) { box.innerHTML = ""; return; }
      if (controller) controller.abort();
      controller = new AbortController();
      fetch(box.dataset.url + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin", signal: controller.signal, headers: {"Accept": "text/html"}
      }).then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { box.innerHTML = html; })
        .catch(function () {});
    }
    subject.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    });
    ask();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
