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
  document.addEventListener("DOMContentLoaded", function () { initCountry(document); });
  document.addEventListener("htmx:load", function (event) { initCountry(event.target); });
})();
