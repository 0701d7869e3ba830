// Show/hide password buttons (no inline script: the CSP forbids it).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-reveal]");
  if (!button) return;
  var input = document.getElementById(button.getAttribute("data-reveal"));
  var show = input.type === "password";
  input.type = show ? "text" : "password";
  button.setAttribute("aria-pressed", show ? "true" : "false");
  button.textContent = show ? button.getAttribute("data-hide") : button.getAttribute("data-show");
});

// The language switch reloads the page: keep what was typed (never a password) for it.
var KEEP = "idp-typed:" + location.pathname;
var KEPT_TYPES = ["text", "email", "tel", "number", "search"];

document.addEventListener("click", function (event) {
  var link = event.target.closest(".languages a");
  if (!link) return;
  var typed = {};
  document.querySelectorAll("main form input").forEach(function (input) {
    if (KEPT_TYPES.indexOf(input.type) >= 0 && !input.readOnly && input.value) {
      typed[input.name] = input.value;
    }
  });
  try { sessionStorage.setItem(KEEP, JSON.stringify(typed)); } catch (e) { /* private mode */ }
});

document.addEventListener("DOMContentLoaded", function () {
  var typed;
  try {
    typed = JSON.parse(sessionStorage.getItem(KEEP) || "{}");
    sessionStorage.removeItem(KEEP);
  } catch (e) { return; }
  Object.keys(typed).forEach(function (name) {
    var input = document.querySelector("main form input[name='" + CSS.escape(name) + "']");
    if (input && !input.value && KEPT_TYPES.indexOf(input.type) >= 0) input.value = typed[name];
  });
  var focused = document.querySelector("main form input[autofocus]");
  if (!focused || !focused.value) return;
  // Autofocus goes to the first empty field, also once the kept values are back.
  var fields = document.querySelectorAll("main form input:not([type=hidden]):not([readonly])");
  for (var i = 0; i < fields.length; i++) {
    if (!fields[i].value && fields[i].type !== "checkbox") { fields[i].focus(); break; }
  }
});

// Live password strength (fields with data-strength): the provider's own estimate, asked while
// the customer types, said in the region under the field. Without the script, the same
// verdict comes on submit.
(function () {
  var timers = {};
  function say(input, answer) {
    var region = document.getElementById(input.id + "-strength");
    if (!region) return;
    region.hidden = false;
    region.className = "strength " + (answer.acceptable ? "strength-ok" : "strength-weak");
    region.textContent = "";
    var verdict = document.createElement("strong");
    verdict.textContent = answer.verdict;
    region.appendChild(verdict);
    answer.advice.forEach(function (text) {
      region.appendChild(document.createTextNode(" " + text));
    });
  }
  function ask(input) {
    var form = input.form;
    var token = form && form.querySelector("input[name=csrf_token]");
    var context = [];
    form.querySelectorAll("input[name=login], input[name=email]").forEach(function (field) {
      if (field.value) context.push(field.value);
    });
    fetch(input.getAttribute("data-strength"), {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token ? token.value : ""},
      body: JSON.stringify({password: input.value, context: context})
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (answer && input.value) say(input, answer);
    }).catch(function () { /* the verdict comes on submit */ });
  }
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-strength]")) return;
    clearTimeout(timers[input.id]);
    if (!input.value) {
      var region = document.getElementById(input.id + "-strength");
      if (region) region.hidden = true;
      return;
    }
    timers[input.id] = setTimeout(function () { ask(input); }, 350);
  });
})();
