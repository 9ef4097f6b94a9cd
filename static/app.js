// SME Pulse: small progressive enhancements. Everything works without this
// file; it only closes menus, confirms destructive buttons, copies links and
// shows country-specific fields. No eval, no inline handlers (CSP).
(function () {
  "use strict";

  // Close an open <details data-close-outside> when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-close-outside][open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details[data-close-outside][open]").forEach(function (d) { d.removeAttribute("open"); });
    }
  });

  // <form data-confirm="…">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  // Copy buttons next to read-only inputs.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-prev]");
    if (!button) return;
    var input = button.previousElementSibling;
    input.select();
    if (navigator.clipboard) navigator.clipboard.writeText(input.value);
    button.textContent = "Copied";
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  // Country-dependent fields on the organization form.
  var COUNTRY_DEFAULTS = {IN: ["INR", "gst_india", "4"], VN: ["VND", "vat", "1"], AE: ["AED", "vat", "1"],
    GB: ["GBP", "vat", "4"], KW: ["KWD", "none", "1"], US: ["USD", "none", "1"], SG: ["SGD", "vat", "1"]};
  function applyCountry(select, changed) {
    var form = select.form;
    var value = select.value;
    form.querySelectorAll("[data-show-country]").forEach(function (el) { el.hidden = el.getAttribute("data-show-country") !== value; });
    form.querySelectorAll("[data-hide-country]").forEach(function (el) { el.hidden = el.getAttribute("data-hide-country") === value; });
    if (changed && COUNTRY_DEFAULTS[value]) {
      var d = COUNTRY_DEFAULTS[value];
      if (form.base_currency) form.base_currency.value = d[0];
      if (form.tax_regime) form.tax_regime.value = d[1];
      if (form.fiscal_year_start_month) form.fiscal_year_start_month.value = d[2];
    }
  }
  function initCountry(root) {
    (root || document).querySelectorAll("[data-country-select]").forEach(function (select) {
      if (select.dataset.bound) return;
      select.dataset.bound = "1";
      applyCountry(select, false);
      select.addEventListener("change", function () { applyCountry(select, true); });
    });
  }
  // Combobox: a text input asks the server for options (htmx); choosing one
  // puts its value into the hidden input and fires `change` there, which the
  // surrounding row (hx-trigger="change") saves. The text input's own change
  // events are kept from the row, so typing a search saves nothing.
  function choose(option) {
    var box = option.closest("[data-combobox]");
    var hidden = box.querySelector("[data-combobox-value]");
    var input = box.querySelector("[data-combobox-input]");
    hidden.value = option.getAttribute("data-value");
    input.value = option.getAttribute("data-label");
    box.querySelector(".combobox-results").innerHTML = "";
    input.setAttribute("aria-expanded", "false");
    box.dispatchEvent(new CustomEvent("combobox:chosen", {bubbles: true, detail: {value: hidden.value, extra: option.getAttribute("data-extra")}}));
    hidden.dispatchEvent(new Event("change", {bubbles: true}));
  }
  document.addEventListener("click", function (event) {
    var option = event.target.closest(".combobox-option");
    if (option) { event.preventDefault(); choose(option); return; }
    document.querySelectorAll("[data-combobox] .combobox-results").forEach(function (results) {
      if (!results.parentNode.contains(event.target)) results.innerHTML = "";
    });
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-combobox-input]")) event.stopPropagation();
  }, true);
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-combobox-input]")) return;
    var results = input.parentNode.querySelector(".combobox-results");
    var options = Array.prototype.slice.call(results.querySelectorAll(".combobox-option"));
    if (!options.length) return;
    var current = options.findIndex(function (o) { return o.classList.contains("active"); });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (current >= 0) options[current].classList.remove("active");
      current = event.key === "ArrowDown" ? (current + 1) % options.length : (current <= 0 ? options.length - 1 : current - 1);
      options[current].classList.add("active");
      options[current].scrollIntoView({block: "nearest"});
    } else if (event.key === "Enter") {
      event.preventDefault();
      choose(options[current >= 0 ? current : 0]);
    } else if (event.key === "Escape") {
      results.innerHTML = "";
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target.classList && target.classList.contains("combobox-results")) {
      var input = target.parentNode.querySelector("[data-combobox-input]");
      if (input) input.setAttribute("aria-expanded", target.children.length ? "true" : "false");
    }
  });

  // <form data-once>: a second click while the first submit is on its way does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once") || event.defaultPrevented) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
  });

  document.addEventListener("DOMContentLoaded", function () { initCountry(document); });
  document.addEventListener("htmx:load", function (event) { initCountry(event.target); });
})();

// Camera barcode scanning on the stock lookup, where the browser has BarcodeDetector.
(function () {
  "use strict";
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  var stream = null, timer = null;
  function stop(box) {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if (box) box.hidden = true;
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-camera-scan]").forEach(function (b) { b.hidden = false; });
  });
  document.addEventListener("click", function (event) {
    var start = event.target.closest("[data-camera-scan]");
    var box = document.querySelector("[data-camera-box]");
    if (event.target.closest("[data-camera-stop]")) { stop(box); return; }
    if (!start || !box) return;
    var form = start.closest("form");
    var input = form.querySelector("[data-scanner-input]");
    var video = box.querySelector("video");
    var detector = new window.BarcodeDetector();
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.play();
      box.hidden = false;
      timer = setInterval(function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            input.value = codes[0].rawValue;
            stop(box);
            form.submit();
          }
        }).catch(function () {});
      }, 250);
    }).catch(function () { start.hidden = true; });
  });
})();

document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});

// Quick sale: show the change as the cash is typed. Exact: amounts become whole
// minor units (paise, đồng) as integers; the server computes the change again.
function toMinor(text, places) {
  var m = String(text).replace(/[,\s]/g, "").match(/^(\d+)(?:\.(\d*))?$/);
  if (!m) return null;
  var frac = (m[2] || "").slice(0, places);
  while (frac.length < places) frac += "0";
  return parseInt(m[1] + frac, 10);
}
function fromMinor(n, places) {
  var s = String(Math.abs(n));
  while (s.length <= places) s = "0" + s;
  return places ? s.slice(0, -places) + "." + s.slice(-places) : s;
}
document.addEventListener("input", function (event) {
  var input = event.target;
  if (!input.matches || !input.matches(".cash-input")) return;
  var out = input.form.querySelector("[data-change]");
  var places = parseInt(input.getAttribute("data-places") || "2", 10);
  var cash = toMinor(input.value, places), total = toMinor(input.getAttribute("data-total"), places);
  if (!out) return;
  if (cash === null || total === null) { out.textContent = ""; return; }
  var diff = cash - total;
  out.textContent = diff >= 0 ? "Change to give: " + fromMinor(diff, places) : "Still to pay: " + fromMinor(diff, places);
});
