// The report's only script (allowed by hash in the page's CSP): the download button, and
// opening the folded evidence for print.
(function () {
  "use strict";
  var button = document.getElementById("download-trace");
  var data = document.getElementById("stsdebug-trace");
  if (!button || !data || !window.Blob || !window.URL) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var blob = new Blob([data.textContent], { type: "application/json" });
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = button.getAttribute("data-filename") || "stsdebug-trace.json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  });
})();
// Folded evidence opens for printing, so a printed report holds everything.
(function () {
  "use strict";
  window.addEventListener("beforeprint", function () {
    var folds = document.querySelectorAll("details.fold");
    for (var i = 0; i < folds.length; i++) folds[i].open = true;
  });
})();
