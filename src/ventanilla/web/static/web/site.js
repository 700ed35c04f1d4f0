// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  var summary = document.querySelector("[data-focus]");
  if (summary) summary.focus();

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // A second click on a submit button while the first request is on its way sends nothing.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitted) { event.preventDefault(); return; }
      form.dataset.submitted = "1";
    });
  });

  // Suggestions as you type: links to the matching procedures, below the search box.
  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    var list = document.createElement("ul");
    list.className = "suggestions";
    list.id = input.id + "-suggestions";
    list.hidden = true;
    list.setAttribute("aria-label", document.documentElement.lang === "en" ? "Suggestions" : "Sugerencias");
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.closest("form").querySelector(".search__row").insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", status);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") list.hidden = true;
    });
    input.setAttribute("aria-controls", list.id);
    var lang = document.documentElement.lang === "en" ? "en" : "es";
    var prefix = lang === "en" ? "/en" : "";
    var timer, last = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q.length < 2 || q === last) { if (q.length < 2) list.hidden = true; return; }
        last = q;
        fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (items) {
            list.textContent = "";
            items.forEach(function (item) {
              var li = document.createElement("li"), a = document.createElement("a");
              a.href = prefix + "/tramites/" + encodeURIComponent(item.code) + "/";
              a.textContent = item["title_" + lang] || item.title_es;
              li.appendChild(a);
              list.appendChild(li);
            });
            list.hidden = items.length === 0;
            status.textContent = lang === "en"
              ? items.length + (items.length === 1 ? " suggestion" : " suggestions")
              : items.length + (items.length === 1 ? " sugerencia" : " sugerencias");
          })
          .catch(function () { list.hidden = true; });
      }, 150);
    });
  });
})();
