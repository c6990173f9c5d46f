/*
 * The validation overview follows a running scan with dashboard/js/job_progress.js; once the job finishes
 * (the poller sets data-job-run-finished="1") the page reloads to show the new report.
 */
(function () {
  "use strict";

  function watch(el) {
    new MutationObserver(function () {
      if (el.getAttribute("data-job-run-finished") === "1") window.location.reload();
    }).observe(el, { attributes: true, attributeFilter: ["data-job-run-finished"] });
  }

  function init() {
    document.querySelectorAll("[data-scan-progress]").forEach(watch);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
