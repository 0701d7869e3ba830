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
