// Small behaviours of the console; the pages work without them.

// Refreshes the health card (status page and dashboard) every 5 seconds.
(function () {
  var card = document.getElementById("health");
  if (!card) return;
  function set(id, state, text) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = text || state;
    el.className = state;
  }
  function refresh() {
    fetch("/api/health", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (h) {
      card.dataset.status = h.status;
      var badge = document.getElementById("health-status");
      badge.textContent = h.status;
      badge.className = "badge " + h.status;
      var db = h.database || {};
      set("health-database", db.status, db.status === "up" ? "up (" + (db.latency_ms || 0).toFixed(1) + " ms)" : db.status);
      set("health-nats", h.nats);
      set("health-redis", h.redis);
      Object.keys(h.services || {}).forEach(function (name) { set("health-service-" + name, h.services[name]); });
      set("health-uptime", "", h.uptime_seconds + " s");
    }).catch(function () { set("health-status", "down", "unreachable"); });
  }
  setInterval(refresh, 5000);
})();

// Reads a chosen file into the textarea named by the file input's data-target
// (license activation, renewal and receipt import), so the form posts text.
(function () {
  var inputs = document.querySelectorAll("input[type=file][data-target]");
  Array.prototype.forEach.call(inputs, function (input) {
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var target = document.getElementById(input.dataset.target);
      if (!file || !target) return;
      var reader = new FileReader();
      reader.onload = function () { target.value = reader.result; };
      reader.readAsText(file);
    });
  });
})();

// Refreshes the runners table (GET /runners) every 5 seconds from
// GET /api/v1/runners, updating the cells of each row tr#runner-<id> with the
// same formatting as the server (runners_view.go). New runners appear on reload.
(function () {
  var table = document.getElementById("runners-table");
  if (!table) return;
  var dash = "\u2014", skew = 0, busy = false, timer;
  function pct(v) { return (v || 0).toFixed(1) + " %"; }
  function bytes(n) {
    n = n || 0;
    if (n < 1024) return n + " B";
    var units = ["KiB", "MiB", "GiB", "TiB", "PiB"], v = n / 1024, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toFixed(1) + " " + units[i];
  }
  function ago(iso) {
    if (!iso) return "never";
    var s = Math.max(0, Math.floor((Date.now() + skew - Date.parse(iso)) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }
  function utc(iso) { return iso ? new Date(iso).toISOString().slice(0, 16).replace("T", " ") + " UTC" : dash; }
  function set(row, cls, text) {
    var el = row.querySelector("." + cls);
    if (el && el.textContent !== text) el.textContent = text;
  }
  function update(r) {
    var row = document.getElementById("runner-" + r.id);
    if (!row) return false;
    var seen = !!r.last_seen_at, m = r.metrics || {};
    row.dataset.status = r.status;
    var badge = row.querySelector(".runner-status");
    if (badge) {
      badge.textContent = String(r.status).replace(/_/g, " ");
      badge.className = "runner-status badge status-" + r.status;
    }
    var last = row.querySelector(".runner-last-seen");
    if (last) last.dataset.at = r.last_seen_at || "";
    set(row, "runner-last-seen-at", utc(r.last_seen_at));
    set(row, "runner-connected-from", r.connected_from || dash);
    set(row, "runner-version", r.version || dash);
    set(row, "runner-os", r.os || dash);
    set(row, "runner-hostname", r.hostname || dash);
    set(row, "runner-cpu", seen ? pct(m.cpu_percent) : dash);
    set(row, "runner-memory", seen ? pct(m.memory_percent) : dash);
    set(row, "runner-disk-free", seen ? bytes(m.disk_free_bytes) : dash);
    return true;
  }
  function tick() {
    Array.prototype.forEach.call(table.querySelectorAll(".runner-last-seen"), function (td) {
      var el = td.querySelector(".runner-last-seen-ago");
      if (el) el.textContent = ago(td.dataset.at);
    });
  }
  // page reads one page of runners and follows next_cursor while rows of
  // this table are still unseen (at most 4 pages of 500).
  function page(cursor, pending, n) {
    var q = "/api/v1/runners?limit=500";
    if (table.dataset.environment) q += "&environment=" + encodeURIComponent(table.dataset.environment);
    if (cursor) q += "&cursor=" + encodeURIComponent(cursor);
    return fetch(q, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (r.status === 401) { clearInterval(timer); throw new Error("signed out"); }
      if (!r.ok) throw new Error("HTTP " + r.status);
      var d = Date.parse(r.headers.get("Date") || "");
      if (!isNaN(d)) skew = d - Date.now();
      return r.json();
    }).then(function (list) {
      (list.items || []).forEach(function (r) { if (update(r)) pending--; });
      if (pending > 0 && list.next_cursor && n < 4) return page(list.next_cursor, pending, n + 1);
    });
  }
  function refresh() {
    if (busy) return;
    busy = true;
    var rows = table.querySelectorAll("tr[id^='runner-']").length;
    page("", rows, 1).then(function () {
      table.dataset.refreshed = new Date().toISOString();
      table.dataset.stale = "false";
    }).catch(function () {
      table.dataset.stale = "true";
    }).then(function () { tick(); busy = false; });
  }
  timer = setInterval(refresh, 5000);
})();

// Copy buttons (button[data-copy] names the element whose text is copied):
// the machine secret and the agent command after registering a runner.
(function () {
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (btn) {
    var label = btn.textContent;
    function say(text) {
      btn.textContent = text;
      setTimeout(function () { btn.textContent = label; }, 2000);
    }
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.dataset.copy);
      if (!el) return;
      if (!navigator.clipboard || !navigator.clipboard.writeText) { select(el); say("Press Ctrl+C"); return; }
      navigator.clipboard.writeText(el.textContent).then(function () { say("Copied"); },
        function () { select(el); say("Press Ctrl+C"); });
    });
  });
})();

// Publishes a package (GET /packages, DEVELOPER and ADMIN): uploads the chosen
// zip with fetch() as multipart field "package" to POST /api/v1/packages with
// the form's data-csrf as X-CSRF-Token (the CSRF cookie is HttpOnly), then
// reloads; the API's error message goes into #error.
(function () {
  var form = document.getElementById("packages-publish-form");
  if (!form) return;
  var input = document.getElementById("packages-file");
  var button = document.getElementById("packages-publish");
  function fail(text) {
    var el = document.getElementById("error");
    if (!el) { alert(text); return; }
    el.textContent = text;
    el.hidden = false;
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = input && input.files && input.files[0];
    if (!file) { fail("Choose a package file first."); return; }
    var body = new FormData();
    body.append("package", file, file.name);
    button.disabled = true;
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin", cache: "no-store",
      headers: { "X-CSRF-Token": form.dataset.csrf || "", Accept: "application/json" }
    }).then(function (r) {
      if (r.ok) { window.location.reload(); return; }
      return r.json().catch(function () { return {}; }).then(function (b) {
        var e = (b && b.error) || {};
        fail(e.message || ("Publishing failed (HTTP " + r.status + ")."));
      });
    }).catch(function () {
      fail("The Hub could not be reached; try again.");
    }).then(function () { button.disabled = false; });
  });
})();

// Follows a job (GET /jobs/<id>): every second while the job is not finished,
// appends the log lines after the last one shown (GET /api/v1/jobs/<id>/logs
// ?after=<seq>) to #job-logs and refreshes #job-status from GET /api/v1/jobs/<id>.
(function () {
  var logs = document.getElementById("job-logs");
  if (!logs) return;
  var id = logs.dataset.job, after = parseInt(logs.dataset.after || "0", 10) || 0;
  var done = logs.dataset.finished === "true", busy = false, timer;
  var base = "/api/v1/jobs/" + encodeURIComponent(id);
  function get(url) {
    return fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (r.status === 401) { clearInterval(timer); throw new Error("signed out"); }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }
  function append(lines) {
    if (!lines.length) return;
    var empty = document.getElementById("job-logs-empty");
    if (empty) empty.remove();
    var stick = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    lines.forEach(function (l) {
      if (l.seq <= after) return;
      var div = document.createElement("div");
      div.className = "log-line stream-" + l.stream;
      div.dataset.seq = l.seq;
      div.dataset.stream = l.stream;
      var ts = document.createElement("span");
      ts.className = "log-ts";
      ts.textContent = l.ts ? new Date(l.ts).toISOString().slice(11, 19) : "";
      var msg = document.createElement("span");
      msg.className = "log-message";
      msg.textContent = l.message;
      div.appendChild(ts);
      div.appendChild(document.createTextNode(" "));
      div.appendChild(msg);
      logs.appendChild(div);
      after = l.seq;
    });
    logs.dataset.after = after;
    if (stick) logs.scrollTop = logs.scrollHeight;
  }
  function status(job) {
    var badge = document.getElementById("job-status");
    if (badge && badge.textContent !== job.status) {
      badge.textContent = job.status;
      badge.className = "job-status badge status-" + job.status;
    }
    var card = document.getElementById("job");
    if (card) card.dataset.status = job.status;
    var reason = document.getElementById("job-pending-reason");
    if (reason && job.status !== "pending") reason.remove();
    return ["succeeded", "failed", "canceled"].indexOf(job.status) >= 0;
  }
  // drain reads log pages until one comes back short (at most 20 pages per tick).
  function drain(n) {
    return get(base + "/logs?after=" + after).then(function (b) {
      var lines = (b && b.lines) || [];
      append(lines);
      if (lines.length >= 1000 && n < 20) return drain(n + 1);
    });
  }
  function refresh() {
    if (busy) return;
    busy = true;
    var finishedNow = false;
    get(base).then(function (job) {
      finishedNow = status(job);
      return drain(1);
    }).then(function () {
      logs.dataset.stale = "false";
      if (finishedNow) {
        clearInterval(timer);
        logs.dataset.finished = "true";
        // the cancel form and the times belong to a running job: show the final page
        if (!done) window.location.reload();
      }
    }).catch(function () {
      logs.dataset.stale = "true";
    }).then(function () { busy = false; });
  }
  if (done) { drain(1).catch(function () {}); return; }
  timer = setInterval(refresh, 1000);
})();

// Live durations: every span.duration with a start and no end counts up each
// second, formatted as duration() in jobs.go ("45 s", "3 min 05 s", "2 h 03 min").
(function () {
  function fmt(s) {
    s = Math.max(0, Math.floor(s));
    function two(n) { return (n < 10 ? "0" : "") + n; }
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + two(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + two(Math.floor((s % 3600) / 60)) + " min";
  }
  function tick() {
    Array.prototype.forEach.call(document.querySelectorAll("span.duration[data-start]"), function (el) {
      if (!el.dataset.start || el.dataset.end) return;
      var t = fmt((Date.now() - Date.parse(el.dataset.start)) / 1000);
      if (el.textContent !== t) el.textContent = t;
    });
  }
  if (document.querySelector("span.duration")) setInterval(tick, 1000);
})();

// Refreshes the jobs table (GET /jobs) every 3 seconds while a row shown is
// pending, claimed or running: the same URL is fetched and the table's body
// and paging swapped in, so the filter, scroll position and focus stay.
(function () {
  var table = document.getElementById("jobs-table");
  if (!table) return;
  var timer = setInterval(function () {
    if (table.dataset.live !== "true") { clearInterval(timer); return; }
    fetch(window.location.href, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      if (!r.ok || r.redirected) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("jobs-table");
      if (!fresh) return;
      table.tBodies[0].replaceWith(fresh.tBodies[0]);
      table.dataset.live = fresh.dataset.live;
      table.dataset.refreshed = new Date().toISOString();
      var paging = document.querySelector("#jobs .paging"), freshPaging = doc.querySelector("#jobs .paging");
      if (paging && freshPaging) paging.replaceWith(freshPaging);
    }).catch(function () { table.dataset.stale = "true"; });
  }, 3000);
})();

// The start form: choosing a package or a version reloads the form for it
// (its versions and declared parameters); without the script, "Choose" does.
// The schedule form's package chooser does the same.
(function () {
  [["jobs-start-choose", "jobs-start-package", "jobs-start-version"],
   ["schedule-choose", "schedule-package", "schedule-version"]].forEach(function (ids) {
    var form = document.getElementById(ids[0]);
    if (!form) return;
    var pkg = document.getElementById(ids[1]), ver = document.getElementById(ids[2]);
    pkg.addEventListener("change", function () { ver.value = "latest"; form.submit(); });
    ver.addEventListener("change", function () { form.submit(); });
  });
})();

// A table or chart wider than its container scrolls inside it; while it does,
// the container takes keyboard focus so that it can be scrolled with the keys.
(function () {
  function mark() {
    Array.prototype.forEach.call(document.querySelectorAll(".scroll, .chart-scroll"), function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        if (!el.hasAttribute("tabindex")) { el.setAttribute("tabindex", "0"); el.dataset.scrollFocus = "true"; }
      } else if (el.dataset.scrollFocus) {
        el.removeAttribute("tabindex");
        delete el.dataset.scrollFocus;
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
  document.addEventListener("toggle", mark, true); // a data table opened
})();
