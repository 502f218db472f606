/* Long forms: a draft kept in the browser, and totals that follow the typing.
 *
 * Served as a static file (the Content-Security-Policy allows scripts from 'self' only, no inline
 * script and no inline handlers); the pages work the same without it, the server stays the judge.
 *
 * <form data-draft="KEY">: every answer is kept in localStorage under "unionflow.draft." + KEY (the
 * case, the step and the case's version: a draft of an older version is never offered). A draft found
 * when the page opens fills the form and shows the notice [data-draft-notice] with its 清除草稿 button
 * [data-draft-clear]. A form shown again after a refused submission (data-draft-restore="no") keeps the
 * answers the server sent and goes on saving them. Submitting marks the draft; the next page that no
 * longer shows this form (the step was done) removes it.
 *
 * The hardship household ([data-household-totals]): counted members, their income and the per-capita
 * figure as one types, by the household rule the page carries.
 *
 * Totals: <input data-score data-group="G" data-max="M" data-step="S"> counts towards every
 * [data-total-of="G"] and [data-total-all] of its form, when it is a number in 0..M on the step S.
 */
(function () {
  "use strict";
  var PREFIX = "unionflow.draft.";
  var SUBMITTED = "unionflow.draft.submitted";

  function storage(kind) {
    try {
      var s = window[kind];
      s.setItem(PREFIX + "probe", "1");
      s.removeItem(PREFIX + "probe");
      return s;
    } catch (e) {
      return null; // private mode or storage switched off: the form works without drafts
    }
  }

  var local = storage("localStorage");
  var session = storage("sessionStorage");

  function kept(el) {
    if (!el.name || el.disabled) return false;
    var t = (el.type || "").toLowerCase();
    if (t === "hidden" || t === "file" || t === "submit" || t === "button" || t === "password") return false;
    return el.name !== "csrf_token" && el.name !== "confirm";
  }

  function snapshot(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) return;
      var t = (el.type || "").toLowerCase();
      if (t === "checkbox" || t === "radio") {
        out[el.name + "\u0000" + el.value] = el.checked;
      } else {
        out[el.name] = el.value;
      }
    });
    return out;
  }

  function restore(form, values) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) return;
      var t = (el.type || "").toLowerCase();
      if (t === "checkbox" || t === "radio") {
        var k = el.name + "\u0000" + el.value;
        if (Object.prototype.hasOwnProperty.call(values, k)) el.checked = !!values[k];
      } else if (Object.prototype.hasOwnProperty.call(values, el.name)) {
        el.value = values[el.name];
      }
    });
  }

  function setUpDraft(form) {
    if (!local) return;
    var key = PREFIX + form.getAttribute("data-draft");
    var notice = form.querySelector("[data-draft-notice]");
    var clear = form.querySelector("[data-draft-clear]");
    var pristine = snapshot(form);
    var saved = null;
    try {
      saved = JSON.parse(local.getItem(key) || "null");
    } catch (e) {
      saved = null;
    }
    if (saved && typeof saved === "object" && form.getAttribute("data-draft-restore") !== "no") {
      restore(form, saved);
      if (notice) notice.hidden = false;
    }
    function save() {
      local.setItem(key, JSON.stringify(snapshot(form)));
    }
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", function () {
      if (session) session.setItem(SUBMITTED, key);
    });
    if (clear) {
      clear.addEventListener("click", function () {
        local.removeItem(key);
        restore(form, pristine);
        if (notice) notice.hidden = true;
        form.dispatchEvent(new Event("recount"));
      });
    }
  }

  /* After a submission: the draft goes when its form is not shown again (the step was done). */
  function forgetSubmitted() {
    if (!local || !session) return;
    var key = session.getItem(SUBMITTED);
    if (!key) return;
    session.removeItem(SUBMITTED);
    var again = Array.prototype.some.call(document.querySelectorAll("form[data-draft]"), function (f) {
      return PREFIX + f.getAttribute("data-draft") === key;
    });
    if (!again) local.removeItem(key);
  }

  /* Halves counted as integers (twice the points): no binary fractions in a sum. */
  function halves(el) {
    var raw = (el.value || "").trim();
    if (!/^\d+(\.\d+)?$/.test(raw)) return null;
    var value = Number(raw);
    var max = Number(el.getAttribute("data-max"));
    var step = Number(el.getAttribute("data-step") || "1");
    var twice = value * 2;
    if (value > max || Math.abs(twice - Math.round(twice)) > 1e-9) return null;
    if (Math.abs(value / step - Math.round(value / step)) > 1e-9) return null;
    return Math.round(twice);
  }

  function shown(twice) {
    return twice % 2 === 0 ? String(twice / 2) : String((twice - 1) / 2) + ".5";
  }

  function setUpTotals(form) {
    var inputs = form.querySelectorAll("[data-score]");
    if (!inputs.length) return;
    function recount() {
      var groups = {};
      var all = 0;
      var scored = 0;
      Array.prototype.forEach.call(inputs, function (el) {
        var g = el.getAttribute("data-group");
        var v = halves(el);
        if (!(g in groups)) groups[g] = 0;
        if (v !== null) {
          groups[g] += v;
          all += v;
          scored += 1;
        }
      });
      Object.keys(groups).forEach(function (g) {
        Array.prototype.forEach.call(form.querySelectorAll('[data-total-of="' + g + '"]'), function (out) {
          out.textContent = shown(groups[g]);
        });
      });
      Array.prototype.forEach.call(form.querySelectorAll("[data-total-all]"), function (out) {
        out.textContent = shown(all);
      });
      Array.prototype.forEach.call(form.querySelectorAll("[data-scored]"), function (out) {
        out.textContent = String(scored);
      });
    }
    form.addEventListener("input", recount);
    form.addEventListener("change", recount);
    form.addEventListener("recount", recount);
    recount();
  }

  /* The hardship household: who counts under the chosen marital status (the rule the server sends in
   * data-household-totals), their monthly incomes added in fen, and the per-capita figure rounded down. */
  function fen(raw) {
    var m = /^\s*(\d{1,12})(?:\.(\d{1,2}))?\s*$/.exec(raw || "");
    if (!m) return null;
    return Number(m[1]) * 100 + Number(((m[2] || "") + "00").slice(0, 2));
  }

  function yuan(cents) {
    var whole = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var part = String(cents % 100);
    return whole + "." + (part.length < 2 ? "0" + part : part);
  }

  function setUpHousehold(out) {
    var form = out.closest("form");
    var rule;
    try {
      rule = JSON.parse(out.getAttribute("data-household-totals"));
    } catch (e) {
      return;
    }
    function field(i, name) {
      return form.querySelector('[name="household-' + i + "-" + name + '"]');
    }
    function recount() {
      var status = form.querySelector('[name="marital_status"]');
      var counts = rule.counted[status ? status.value : ""] || [];
      var members = 0;
      var income = 0;
      for (var i = 0; field(i, "relation"); i += 1) {
        var relation = field(i, "relation").value;
        var married = field(i, "married");
        var name = field(i, "name");
        var cents = fen(field(i, "monthly_income") ? field(i, "monthly_income").value : "");
        if (!relation || !(name && name.value.trim()) && cents === null) continue;
        if (counts.indexOf(relation) < 0) continue;
        if (rule.marry_out.indexOf(relation) >= 0 && married && married.checked) continue;
        members += 1;
        income += cents || 0;
      }
      out.querySelector("[data-hh-count]").textContent = String(members);
      out.querySelector("[data-hh-income]").textContent = yuan(income);
      out.querySelector("[data-hh-per-capita]").textContent = members ? yuan(Math.floor(income / members)) : "\u2014";
    }
    out.hidden = false;
    form.addEventListener("input", recount);
    form.addEventListener("change", recount);
    recount();
  }

  function start() {
    forgetSubmitted();
    Array.prototype.forEach.call(document.querySelectorAll("form[data-draft]"), setUpDraft);
    Array.prototype.forEach.call(document.querySelectorAll("form"), setUpTotals);
    Array.prototype.forEach.call(document.querySelectorAll("[data-household-totals]"), setUpHousehold);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
