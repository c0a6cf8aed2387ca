// Suggestions as one types in the catalogue's search, 250 ms after the last keystroke, from
// /catalogue/suggestions: a list under the field, as the ARIA "combobox with a listbox"
// pattern writes it (arrows to move, Enter or a tap to choose — which searches at once —,
// Escape to close). Not a <datalist>: browsers filter those again by the exact letters
// typed, so « mathematiques » hid « Mathématiques » that the server had found. Without
// this file (no JavaScript), the search works the same, without suggestions.
(function () {
  "use strict";
  var input = document.querySelector("input[data-suggestions]");
  if (!input || !window.fetch) {
    return;
  }
  var list = document.getElementById(input.getAttribute("aria-controls"));
  var status = document.getElementById(list.id + "-status");
  var timer = null;
  var asked = "";
  var controller = null;
  var active = -1;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");

  function options() {
    return list.querySelectorAll("[role=option]");
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function show(index) {
    var all = options();
    active = index;
    for (var i = 0; i < all.length; i += 1) {
      all[i].setAttribute("aria-selected", i === index ? "true" : "false");
    }
    if (index < 0) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    input.setAttribute("aria-activedescendant", all[index].id);
    all[index].scrollIntoView({ block: "nearest" });
  }

  function choose(option) {
    input.value = option.getAttribute("data-value");
    asked = input.value.trim();
    close();
    input.form.requestSubmit ? input.form.requestSubmit() : input.form.submit();
  }

  function fill(suggestions) {
    var items = document.createDocumentFragment();
    suggestions.forEach(function (suggestion, index) {
      var item = document.createElement("li");
      item.id = list.id + "-" + index;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.setAttribute("data-value", suggestion.label);
      item.className = "cr-suggestions__option";
      var kind = document.createElement("span");
      kind.className = "cr-suggestions__kind";
      kind.textContent = input.getAttribute("data-kind-" + suggestion.kind) || "";
      item.setAttribute("aria-label", suggestion.label + " (" + kind.textContent + ")");
      item.appendChild(document.createTextNode(suggestion.label + " "));
      item.appendChild(kind);
      items.appendChild(item);
    });
    list.replaceChildren(items);
    active = -1;
    input.removeAttribute("aria-activedescendant");
    var count = suggestions.length;
    list.hidden = count === 0;
    input.setAttribute("aria-expanded", count ? "true" : "false");
    if (count === 0) {
      status.textContent = "";
    } else if (count === 1) {
      status.textContent = input.getAttribute("data-count-one");
    } else {
      status.textContent = count + " " + input.getAttribute("data-count-many");
    }
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
        if (text === asked && document.activeElement === input) {
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

  input.addEventListener("keydown", function (event) {
    var count = options().length;
    if (list.hidden || count === 0) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      show((active + 1) % count);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      show(active <= 0 ? count - 1 : active - 1);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(options()[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });

  // mousedown, not click: the field keeps the focus (its blur would close the list first).
  list.addEventListener("mousedown", function (event) {
    event.preventDefault();
  });
  list.addEventListener("click", function (event) {
    var option = event.target.closest("[role=option]");
    if (option) {
      choose(option);
    }
  });
  input.addEventListener("blur", close);
})();
