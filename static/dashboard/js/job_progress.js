/*
 * Follows background jobs on a page: every element with data-job-run-status-url polls that JSON endpoint
 * (dashboard/jobs/<id>/status/) until the job finishes, updating its [data-job-run-bar] width,
 * [data-job-run-label] text, [data-job-run-error] and the [data-job-run-result] link's address, and showing
 * the viewer's retry / cancel forms ([data-job-run-retry], [data-job-run-cancel]) as the job's state allows.
 * An element marked [data-job-run-reload] reloads the page once its job finishes (the page then shows the
 * job's result). Polling slows down while a job runs long and stops
 * on finish or on an answer that is not 200 (the job was pruned, or the session ended); a 503 (the database
 * is away for a moment) keeps it polling.
 * Load it with {% job_progress_script %} (dashboard/templatetags/custodian_jobs.py): the script tag carries
 * the delays from settings.CUSTODIAN_JOB_POLL_MS, so tests can make the poller fast.
 */
(function () {
  "use strict";

  var script = document.currentScript;

  function delaySetting(name, fallback) {
    var value = script ? parseInt(script.getAttribute(name), 10) : NaN;
    return value > 0 ? value : fallback;
  }

  var FIRST_DELAY_MS = delaySetting("data-poll-first-ms", 1000);
  var MAX_DELAY_MS = Math.max(delaySetting("data-poll-max-ms", 10000), FIRST_DELAY_MS);

  function render(el, data) {
    var bar = el.querySelector("[data-job-run-bar]");
    var label = el.querySelector("[data-job-run-label]");
    var error = el.querySelector("[data-job-run-error]");
    var percent = data.percent;
    if (bar) bar.style.width = (percent === null ? 0 : percent) + "%";
    if (label) {
      var text = data.status_label;
      if (percent !== null) text += " · " + percent + "%";
      else if (data.done) text += " · " + data.done;
      label.textContent = text;
    }
    if (error) error.textContent = data.error ? data.error.slice(0, 200) : "";
    var result = el.querySelector("[data-job-run-result]");
    if (result && data.result_url) result.setAttribute("href", data.result_url);
    var retry = el.querySelector("[data-job-run-retry]");
    var cancel = el.querySelector("[data-job-run-cancel]");
    if (retry) retry.hidden = !data.can_retry;
    if (cancel) cancel.hidden = !data.can_cancel;
    el.setAttribute("data-job-run-status", data.status);
    el.setAttribute("data-job-run-finished", data.finished ? "1" : "0");
  }

  function follow(el) {
    var url = el.getAttribute("data-job-run-status-url");
    var delay = FIRST_DELAY_MS;

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.status === 503) return null; // the database is away for a moment: keep following
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (data) render(el, data);
          if (data && data.finished && el.hasAttribute("data-job-run-reload")) {
            window.location.reload();
            return;
          }
          if (!data || !data.finished) {
            window.setTimeout(poll, delay);
            delay = Math.min(delay * 1.5, MAX_DELAY_MS);
          }
        })
        .catch(function () {
          el.setAttribute("data-job-run-poll", "stopped");
        });
    }

    poll();
  }

  function init() {
    document.querySelectorAll("[data-job-run-status-url]").forEach(function (el) {
      if (el.getAttribute("data-job-run-finished") !== "1") follow(el);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
