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

// The ID number checked as it is typed: 18 characters, 17 digits and a digit or X, and the
// check digit of GB 11643 (the rule of domain::resident_id; the server checks again and has
// the last word). What it finds goes into the live region the input names in
// aria-describedby, so a screen reader reads it out; the messages are the server's own.
(function () {
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";

  function verdict(value, finished) {
    var v = value.trim().toUpperCase();
    if (v === "") {
      return "";
    }
    if (v.length < 18) {
      return finished ? "身份证号应为 18 位" : "";
    }
    if (v.length > 18) {
      return "身份证号应为 18 位";
    }
    if (!/^[0-9]{17}[0-9X]$/.test(v)) {
      return "身份证号应为 17 位数字加 1 位数字或 X";
    }
    var sum = 0;
    for (var i = 0; i < 17; i++) {
      sum += (v.charCodeAt(i) - 48) * WEIGHTS[i];
    }
    return CHECK.charAt(sum % 11) === v.charAt(17) ? "ok" : "身份证号校验位不对，请逐位核对";
  }

  function check(input, finished) {
    var live = document.getElementById(input.id + "-check");
    if (!live) {
      return;
    }
    var found = verdict(input.value, finished);
    var text = found === "ok" ? "号码格式和校验位正确" : found;
    if (live.textContent !== text) {
      live.textContent = text;
    }
    live.className = "check-message" + (found === "ok" ? " good" : found ? " bad" : "");
    if (found && found !== "ok") {
      input.setAttribute("aria-invalid", "true");
    } else if (found === "ok") {
      input.removeAttribute("aria-invalid");
    }
  }

  document.addEventListener("input", function (event) {
    if (event.target.dataset && event.target.dataset.check === "resident-id") {
      check(event.target, false);
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.dataset && event.target.dataset.check === "resident-id") {
      check(event.target, true);
    }
  });
})();
