// The workspace's only script besides htmx: keyboard shortcuts declared in the markup.
// An element with data-key="c" is clicked (or focused, if it is a field) when that key is pressed
// outside a text field; lists marked data-keynav move a selection with j/k.
(function () {
  "use strict";
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  function rows(list) { return Array.prototype.slice.call(list.querySelectorAll("[data-keyrow]")); }
  function select(list, index) {
    var items = rows(list);
    if (!items.length) { return; }
    index = Math.max(0, Math.min(items.length - 1, index));
    items.forEach(function (row, i) { row.setAttribute("aria-selected", i === index ? "true" : "false"); });
    var row = items[index];
    row.scrollIntoView({ block: "nearest" });
    var focus = row.querySelector("[data-keyfocus]") || row;
    focus.focus();
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var list = document.querySelector("[data-keynav]");
    if (list && (event.key === "j" || event.key === "k")) {
      var items = rows(list);
      var current = items.findIndex(function (row) { return row.getAttribute("aria-selected") === "true"; });
      select(list, current + (event.key === "j" ? 1 : -1));
      event.preventDefault();
      return;
    }
    var scope = (list && list.querySelector('[data-keyrow][aria-selected="true"]')) || document;
    var target = scope.querySelector('[data-key="' + event.key + '"]') || document.querySelector('[data-key="' + event.key + '"]');
    if (target) {
      event.preventDefault();
      if (typing(target)) { target.focus(); } else { target.click(); }
    }
  });
})();
// A form answered 422 (the API's field messages) or 409 (already decided) carries the part to show:
// htmx swaps it like a success instead of dropping it.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status === 422 || status === 409) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
