// Sends the browser's time zone once, so pages show times in it (no inline script: the CSP
// forbids it). base.html includes this only for a signed-in person whose zone is not known yet;
// the server stores it only while none is stored, so a zone the person chose always stays.
// The script's data attributes name the endpoint and carry the CSRF token.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.url || !window.fetch || !window.Intl) return;
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  if (!zone) return;
  var body = new URLSearchParams({timezone: zone, csrf_token: script.dataset.csrf || ""});
  fetch(script.dataset.url, {
    method: "POST", credentials: "same-origin", body: body,
    headers: {"X-CSRFToken": script.dataset.csrf || ""}
  }).catch(function () {});
})();
