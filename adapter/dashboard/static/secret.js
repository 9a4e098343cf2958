// The new key's page: copy the secret, and forget the page (a reload shows the key, not the
// secret, and sends no second create).
"use strict";
(function () {
  var page = document.querySelector("[data-forget-to]");
  if (page && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", page.getAttribute("data-forget-to"));
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var name = button.getAttribute("data-copy");
    var source = document.getElementById(name);
    var copied = document.querySelector('[data-copied="' + name + '"]');
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      var done = function () { if (copied) { copied.hidden = false; } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(source); });
      } else {
        select(source);
        if (document.execCommand("copy")) { done(); }
      }
    });
  });
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
