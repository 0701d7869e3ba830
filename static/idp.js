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
