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
