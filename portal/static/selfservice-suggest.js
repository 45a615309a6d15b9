// The new-case form (no inline script: the CSP forbids it).
// 1. Suggested articles while a case's subject is typed. The page names the suggestion endpoint
//    in #suggestions[data-url]; answers are HTML fragments rendered and escaped by the server.
// 2. The draft survives reading a suggested article: what is typed is kept in this tab's
//    sessionStorage (under form[data-draft], which names the signed-in person), put back into
//    the fields that came back empty, and forgotten when the form is sent.
(function () {
  "use strict";

  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" &&
        ["hidden", "file", "submit", "button", "password"].indexOf(el.type) === -1;
    });
  }

  function isUntouched(el) {
    if (el.tagName === "SELECT") {
      var chosen = el.options[el.selectedIndex];
      return !chosen || chosen.defaultSelected || el.selectedIndex === 0;
    }
    if (el.type === "checkbox" || el.type === "radio") return el.checked === el.defaultChecked;
    return el.value.trim() === "";
  }

  function keepDraft(form) {
    var key = form.dataset.draft;
    var store;
    try { store = window.sessionStorage; } catch (e) { return; }
    if (!key || !store) return;
    var fields = draftFields(form);
    function save() {
      var draft = {}, any = false;
      fields.forEach(function (el) {
        draft[el.name] = (el.type === "checkbox" || el.type === "radio") ? el.checked : el.value;
        if (el.tagName !== "SELECT" && el.value.trim()) any = true;
      });
      try {
        if (any) store.setItem(key, JSON.stringify(draft));
        else store.removeItem(key);
      } catch (e) { /* storage full or refused: nothing to keep */ }
    }
    var saved = null;
    try { saved = JSON.parse(store.getItem(key) || "null"); } catch (e) { saved = null; }
    if (saved) {
      fields.forEach(function (el) {
        if (!(el.name in saved) || !isUntouched(el)) return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = !!saved[el.name];
        else el.value = saved[el.name];
      });
    }
    save();  // what the server sent back (a form with errors) is a draft too
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", function () {
      try { store.removeItem(key); } catch (e) { /* nothing kept */ }
    });
  }

  function suggest() {
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

  function ready() {
    var form = document.querySelector("form[data-draft]");
    if (form) keepDraft(form);
    suggest();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
