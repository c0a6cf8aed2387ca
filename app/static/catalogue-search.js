// Suggestions as one types in the catalogue's search: the <datalist> of the search field
// filled from /catalogue/suggestions, 250 ms after the last keystroke. Without this file
// (no JavaScript), the search works the same, without suggestions.
(function () {
  "use strict";
  var input = document.querySelector("input[data-suggestions]");
  if (!input || !window.fetch) {
    return;
  }
  var list = document.getElementById(input.getAttribute("list"));
  var timer = null;
  var asked = "";
  var controller = null;

  function fill(suggestions) {
    var options = document.createDocumentFragment();
    suggestions.forEach(function (suggestion) {
      var option = document.createElement("option");
      option.value = suggestion.label;
      option.label = input.getAttribute("data-kind-" + suggestion.kind) || "";
      options.appendChild(option);
    });
    list.replaceChildren(options);
  }

  function ask() {
    var text = input.value.trim();
    if (text === asked) {
      return;
    }
    asked = text;
    if (text.length < 2) {
      fill([]);
      return;
    }
    if (controller) {
      controller.abort();
    }
    controller = window.AbortController ? new AbortController() : null;
    var url = input.getAttribute("data-suggestions") + "?q=" + encodeURIComponent(text);
    fetch(url, { headers: { Accept: "application/json" }, signal: controller && controller.signal })
      .then(function (response) {
        return response.ok ? response.json() : { suggestions: [] };
      })
      .then(function (body) {
        if (text === asked) {
          fill(body.suggestions || []);
        }
      })
      .catch(function () {
        // offline, aborted or refused: the plain search still works
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 250);
  });
})();
