// 全选本页: ticks or clears every row's box of the review queue (the form works without this script too).
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("bulk-all");
  var form = document.getElementById("bulk-form");
  if (!all || !form) { return; }
  var boxes = form.querySelectorAll("input[type=checkbox][name=case]");
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      if (!box.checked) { all.checked = false; }
    });
  });
});
