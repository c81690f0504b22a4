// Ferry's one script. It asks before destructive forms (data-confirm),
// switches the fields of a oneOf choice in a spec form, shows a
// connection schedule's next runs as it is typed, and on a job page it
// follows the attempt log over Server-Sent Events: "log" events are
// lines, "status" events update the badge, "progress" events the live
// figures and the throughput chart, and "end" closes the stream and,
// while the job was still going, reloads the page so its attempts and
// counts are fresh. Pages work without it, minus the live parts.
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

  document.documentElement.className += " js";
  schedulePreview();

  var live = document.getElementById("live");
  var progress = liveProgress();
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

  es.addEventListener("progress", function (ev) {
    progress.update(JSON.parse(ev.data));
  });

  es.addEventListener("end", function () {
    progress.stop();
    es.close();
    if (state) {
      state.textContent = "";
    }
    live.setAttribute("data-ended", "true");
    if (live.getAttribute("data-reload") === "true") {
      window.setTimeout(function () { window.location.reload(); }, 500);
    }
  });

  // The builder's schedule: show the inputs of the chosen type and ask
  // the server for the next three runs (the scheduler's own computation)
  // whenever an input changes. Without the script every input shows and
  // a "Show next runs" button posts the form.
  function schedulePreview() {
    var box = document.getElementById("schedule");
    if (!box) {
      return;
    }
    var list = document.getElementById("next-runs");
    var timer = null;
    function val(name) {
      var el = box.querySelector('[name="' + name + '"]');
      return el ? el.value : "";
    }
    function toggle() {
      var type = val("schedule.type");
      var parts = box.querySelectorAll("[data-when]");
      for (var i = 0; i < parts.length; i++) {
        parts[i].hidden = parts[i].getAttribute("data-when") !== type;
      }
    }
    function show(items, cls) {
      list.textContent = "";
      for (var i = 0; i < items.length; i++) {
        var li = document.createElement("li");
        li.textContent = items[i];
        if (cls) {
          li.className = cls;
        }
        list.appendChild(li);
      }
    }
    function ask() {
      var q = new URLSearchParams({type: val("schedule.type"), interval: val("schedule.interval"),
        unit: val("schedule.unit"), cron: val("schedule.cron"), timezone: val("schedule.timezone")});
      fetch(box.getAttribute("data-preview") + "?" + q.toString(), {headers: {Accept: "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (res) {
          if (res.errors) {
            var msgs = [];
            for (var k in res.errors) {
              msgs.push(res.errors[k]);
            }
            show(msgs, "error");
          } else if (res.next.length === 0) {
            show(["only when you press Sync now"], "muted");
          } else {
            show(res.next, "");
          }
          list.setAttribute("data-updated", String(Date.now()));
        });
    }
    function changed() {
      toggle();
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 250);
    }
    box.addEventListener("input", changed);
    box.addEventListener("change", changed);
    toggle();
  }

  // The job page's live figures. Each progress event replaces the texts
  // and adds a sample to the chart; between events a one-second clock
  // moves the durations, and the rates are those between the last two
  // events. drawChart is chartLine in ui_job_live.go.
  function liveProgress() {
    var box = document.getElementById("progress");
    var none = {update: function () {}, stop: function () {}};
    if (!box) {
      return none;
    }
    var svg = document.getElementById("chart");
    var samples = JSON.parse(svg.getAttribute("data-samples") || "[[0,0,0]]");
    var attempt = Number(box.getAttribute("data-attempt"));
    var last = {at: Date.now(), elapsed: Number(box.getAttribute("data-elapsed")),
      job: Number(box.getAttribute("data-job-duration"))};
    var running = box.getAttribute("data-live") === "true";
    function text(id, v) {
      var el = document.getElementById(id);
      if (el && v !== undefined) {
        el.textContent = v;
      }
    }
    function human(ms) {
      var s = ms / 1000;
      if (s < 60) {
        return s.toFixed(1) + "s";
      }
      if (s < 3600) {
        return Math.floor(s / 60) + "m" + String(Math.floor(s % 60)).padStart(2, "0") + "s";
      }
      return Math.floor(s / 3600) + "h" + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
    }
    var tick = running ? window.setInterval(function () {
      text("job-duration", human(last.job + Date.now() - last.at));
    }, 1000) : null;
    function drawChart() {
      var line = [[0, 0]], peak = 0;
      for (var i = 1; i < samples.length; i++) {
        var dt = (samples[i][0] - samples[i - 1][0]) / 1000;
        if (dt <= 0) {
          continue;
        }
        var r = (samples[i][1] - samples[i - 1][1]) / dt;
        line.push([samples[i][0], r]);
        peak = Math.max(peak, r);
      }
      var span = Math.max(line[line.length - 1][0], 1), top = Math.max(peak, 1);
      var pts = line.map(function (p) {
        return (p[0] / span * 600).toFixed(1) + "," + (160 - p[1] / top * 150).toFixed(1);
      });
      document.getElementById("chart-line").setAttribute("points", pts.join(" "));
      svg.setAttribute("data-count", String(samples.length));
      text("chart-peak", peak.toFixed(1));
      text("chart-span", human(span));
    }
    function streamRows(streams) {
      var body = document.getElementById("p-streams");
      body.textContent = "";
      var labels = ["Stream", "Status", "Emitted", "Committed", "Bytes committed", "States committed"];
      streams.forEach(function (s) {
        var tr = document.createElement("tr");
        var cells = [s.stream, s.status || "—", s.recordsEmitted.toLocaleString("en-US"),
          s.recordsCommitted.toLocaleString("en-US"), s.bytesCommitted.toLocaleString("en-US") + " B",
          s.statesCommitted.toLocaleString("en-US") + " of " + s.statesEmitted.toLocaleString("en-US")];
        cells.forEach(function (c, i) {
          var td = document.createElement("td");
          td.textContent = c;
          td.setAttribute("data-label", labels[i]);
          if (i > 1) {
            td.className = "num";
          }
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
    }
    return {
      update: function (p) {
        if (attempt === 0) {
          attempt = p.attempt; // the page was drawn while the job was queued
        }
        if (p.attempt !== attempt) {
          return; // a new attempt: the page reloads when the log ends
        }
        var prev = samples[samples.length - 1];
        if (p.elapsedMs > prev[0]) {
          var dt = (p.elapsedMs - prev[0]) / 1000;
          text("p-rps", ((p.recordsEmitted - prev[1]) / dt).toFixed(1));
          text("p-mbps", ((p.bytesEmitted - prev[2]) / dt / 1e6).toFixed(2));
          samples.push([p.elapsedMs, p.recordsEmitted, p.bytesEmitted]);
          drawChart();
        }
        last = {at: Date.now(), elapsed: p.elapsedMs, job: p.jobDurationMs};
        text("p-emitted", p.emitted);
        text("p-committed", p.committed);
        text("job-committed", p.jobCommitted);
        text("job-duration", p.duration);
        text("p-state", p.committedState ? "yes" : "not yet");
        var badge = document.getElementById("progress-status");
        badge.textContent = p.status;
        badge.className = "badge " + p.status;
        streamRows(p.streams);
      },
      stop: function () {
        if (tick) {
          window.clearInterval(tick);
        }
      }
    };
  }
})();
