// Count one read of a help-centre article (pages never write on GET): post the page's hidden
// form once the article was shown.
(function () {
  "use strict";
  function ready() {
    var form = document.getElementById("viewed-form");
    if (!form) return;
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .catch(function () {});
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
