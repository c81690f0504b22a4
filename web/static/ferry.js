// Ferry's one script. It asks before destructive forms (data-confirm),
// switches the fields of a oneOf choice in a spec form, and on a job page it follows the attempt log over Server-Sent Events:
// "log" events are lines, "status" events update the badge, and "end"
// closes the stream and, while the job was still going, reloads the page
// so its attempts and counts are fresh. Pages work without it, minus the
// live log.
(function () {
  "use strict";

  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });

  // A oneOf select shows the chosen variant's fields and disables the
  // others, so only the chosen ones are posted. Without the script the
  // form's "Show its fields" button asks the server to do the same.
  document.addEventListener("change", function (ev) {
    var sel = ev.target;
    var id = sel.getAttribute && sel.getAttribute("data-choice");
    if (!id) {
      return;
    }
    var box = document.getElementById(id);
    var variants = box.querySelectorAll(":scope > fieldset.variant");
    for (var i = 0; i < variants.length; i++) {
      var on = variants[i].getAttribute("data-variant") === sel.value;
      variants[i].hidden = !on;
      variants[i].disabled = !on;
    }
  });

  var live = document.getElementById("live");
  if (!live || !window.EventSource) {
    return;
  }
  var log = document.getElementById("log");
  var badge = document.getElementById("job-status");
  var state = document.getElementById("live-state");
  // The browser sends Accept: text/event-stream, which makes the log
  // route follow; on a dropped connection it reconnects by itself with
  // Last-Event-ID, and the server resumes from that offset.
  var es = new EventSource(live.getAttribute("data-stream"));

  es.addEventListener("log", function (ev) {
    var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.appendChild(document.createTextNode(ev.data + "\n"));
    if (atBottom) {
      log.scrollTop = log.scrollHeight;
    }
  });

  es.addEventListener("status", function (ev) {
    var job = JSON.parse(ev.data);
    if (badge && job.status) {
      badge.textContent = job.status;
      badge.className = "badge " + job.status;
    }
  });

  es.addEventListener("end", function () {
    es.close();
    if (state) {
      state.textContent = "";
    }
    live.setAttribute("data-ended", "true");
    if (live.getAttribute("data-reload") === "true") {
      window.setTimeout(function () { window.location.reload(); }, 500);
    }
  });
})();
