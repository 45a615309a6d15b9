// While a new idea's title is typed, show existing ideas like it (GET /ideas/similar: the same
// full-text search as the knowledge base), so a customer can vote for one instead of proposing a
// duplicate. Text only: no HTML is built from what the server returns.
(function () {
  "use strict";

  function render(box, ideas) {
    box.replaceChildren();
    if (!ideas.length) {
      return;
    }
    var heading = document.createElement("h2");
    heading.className = "h6";
    heading.textContent = box.dataset.heading;
    var list = document.createElement("ul");
    list.className = "list-group";
    ideas.forEach(function (idea) {
      var item = document.createElement("li");
      item.className = "list-group-item";
      var link = document.createElement("a");
      link.href = idea.url;
      link.textContent = idea.title;
      var meta = document.createElement("div");
      meta.className = "small text-muted";
      meta.textContent = idea.status + " · " + idea.votes + " " + box.dataset.votes;
      item.append(link, meta);
      list.append(item);
    });
    box.append(heading, list);
  }

  // Loaded with ``defer``: the document is parsed when this runs.
  (function init() {
    var box = document.getElementById("similar-ideas");
    var title = document.getElementById("title");
    if (!box || !title) {
      return;
    }
    var timer = null;
    var latest = 0;
    title.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var asked = ++latest;
        var url = box.dataset.url + "?title=" + encodeURIComponent(title.value);
        fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) {
            return response.ok ? response.json() : [];
          })
          .then(function (ideas) {
            if (asked === latest) {
              render(box, ideas);
            }
          })
          .catch(function () {});
      }, 250);
    });
    if (title.value) {
      title.dispatchEvent(new Event("input"));  // typed before this script ran
    }
  })();
})();
