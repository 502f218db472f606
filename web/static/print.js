// The 打印 button of the printable documents: the browser's print dialogue (no inline script under the CSP).
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-print]") : null;
  if (button) { event.preventDefault(); window.print(); }
});
