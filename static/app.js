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

// Typing goes on while a line saves. Saves in one editor are queued (hx-sync
// "queue all" on the editor). An answer re-renders the lines as the server has
// them, so a field edited here and not yet saved would lose what was typed: a
// field whose value differs from the one the server last rendered (its default),
// and that was not sent with this very request, keeps what was typed and is saved
// in its turn: at once, or on leaving the field still being typed in. (htmx is set
// to settle at once, in base.html, so this happens before the next request goes.)
//
// A save queued from a form that an answer has since replaced is dropped by htmx
// (what it held is re-sent from the new form, as above), but htmx then stops, and
// what was queued behind it (a scan, another line) would wait for a request that
// never comes: after each request, go on past such entries. The queue is htmx's
// own, reached through the internal API htmx hands to extensions.
(function () {
  var sent = new WeakMap(), kept = new WeakMap();  // by request
  var settling = 0;  // swaps whose typed-since values are not re-applied yet
  var api = null;
  htmx.defineExtension("sme-queue", {init: function (internal) { api = internal; }});
  function queues() {
    return Array.prototype.map.call(document.querySelectorAll("[hx-sync]"), function (el) {
      return api.getInternalData(el);
    });
  }
  function drain() {
    queues().forEach(function (data) {
      while (!data.xhr && data.queuedRequests && data.queuedRequests.length) data.queuedRequests.shift()();
    });
  }
  // afterRequest does not reach the document when the requesting element has gone (htmx fires
  // it on that element after a failed request); afterSettle fires on the swapped target.
  document.addEventListener("htmx:afterRequest", function () { setTimeout(drain, 0); });
  document.addEventListener("htmx:afterSettle", function () { setTimeout(drain, 0); });

  function fields(root) {
    var list = root.matches && root.matches("input[id], textarea[id], select[id]") ? [root] : [];
    return list.concat(Array.prototype.slice.call(root.querySelectorAll("input[id], textarea[id], select[id]")));
  }
  function edited(el) {  // changed here since the server rendered it
    if (el.type === "hidden" || el.type === "checkbox" || el.type === "radio" || el.type === "file") return false;
    if (el.tagName === "SELECT") {
      var options = Array.prototype.slice.call(el.options);
      if (el.multiple) return options.some(function (o) { return o.selected !== o.defaultSelected; });
      // a single select with no option marked selected shows its first one
      var shown = options.filter(function (o) { return o.defaultSelected; }).pop() || options[0];
      return shown ? !shown.selected : false;
    }
    return el.value !== el.defaultValue;
  }
  function included(elt) {  // what htmx sends: the form it is in, itself, its hx-include
    var roots = [], form = elt.closest("form"), include = api.getClosestAttributeValue(elt, "hx-include");
    if (form) roots.push(form);
    if (elt.matches("input, select, textarea")) roots.push(elt);
    if (include) include.split(",").forEach(function (selector) {
      var found = selector.trim() === "this" ? elt : api.querySelectorExt(elt, selector.trim());
      if (found) roots.push(found);
    });
    return roots;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var values = {};
    included(event.detail.elt).forEach(function (root) {
      fields(root).forEach(function (el) { values[el.id] = el.value; });
    });
    sent.set(event.detail.xhr, values);
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var values = sent.get(event.detail.xhr), list = [], active = document.activeElement;
    if (!values || !event.detail.shouldSwap) return;
    fields(event.detail.target).forEach(function (el) {
      if (!edited(el) || (el.id in values && el.value === values[el.id])) return;
      var k = {id: el.id, value: el.value, active: el === active, start: null, end: null};
      try { k.start = el.selectionStart; k.end = el.selectionEnd; } catch (e) { /* date inputs */ }
      list.push(k);
    });
    if (list.length) { kept.set(event.detail.xhr, list); settling++; }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var list = kept.get(event.detail.xhr);
    if (!list) return;
    kept.delete(event.detail.xhr);
    settling--;
    list.forEach(function (k) {
      var el = document.getElementById(k.id);
      if (!el || el.value === k.value) return;
      el.value = k.value;
      if (!k.active) { el.dispatchEvent(new Event("change", {bubbles: true})); return; }
      if (document.activeElement !== el) el.focus();
      try { if (k.start !== null) el.setSelectionRange(k.start, k.end); } catch (e) { /* date inputs */ }
      el.dataset.unsaved = "1";
      el.addEventListener("change", function () { delete el.dataset.unsaved; }, {once: true});
      el.addEventListener("blur", function () {
        if (el.dataset.unsaved) { delete el.dataset.unsaved; el.dispatchEvent(new Event("change", {bubbles: true})); }
      }, {once: true});
    });
  });

  // Posting, sending or confirming waits for the last edit to be saved, so the
  // document posted is the one on the screen (and its version is the latest).
  function busy() {
    return settling > 0 || document.querySelector(".htmx-request") !== null ||
      document.querySelector("[data-unsaved]") !== null ||
      queues().some(function (data) { return data.queuedRequests && data.queuedRequests.length > 0; });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once") || form.dataset.sent) return;
    var active = document.activeElement;
    if (active && active.dataset && active.dataset.unsaved) active.blur();
    if (!busy()) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    var idle = 0, tries = 0, submitter = event.submitter;
    var timer = setInterval(function () {
      drain();
      idle = busy() ? 0 : idle + 1;
      if (idle >= 2 || ++tries > 200) { clearInterval(timer); form.requestSubmit(submitter || undefined); }
    }, 50);
  }, true);
})();
