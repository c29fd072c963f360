// zhucan console: the little script the pages use. Everything works without it.
"use strict";

// A form is sent once: a second click (or Enter) while the first send is on its way does
// nothing, and the button says so. (The server files a need once anyway: Idempotency-Key.)
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.getAttribute("method") !== "post") {
    return;
  }
  if (form.dataset.sent === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  form.querySelectorAll("button[type=submit]").forEach(function (b) {
    b.setAttribute("aria-disabled", "true");
  });
});

// A form that came back with errors: move the focus to its summary, which links to each field.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary, .notice.problem");
  if (summary) {
    summary.focus();
  }
});
