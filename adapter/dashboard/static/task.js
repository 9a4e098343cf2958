// The task page: its events, live over server-sent events, until it ends; then its cost,
// upstream and video from the dashboard's task JSON.
"use strict";
(function () {
  var live = document.getElementById("task-live");
  if (!live || !live.getAttribute("data-stream")) { return; }
  var status = document.getElementById("task-status");
  var list = document.getElementById("task-events");
  var state = document.getElementById("task-stream-state");
  var seen = {};
  list.querySelectorAll("[data-event-id]").forEach(function (item) {
    seen[item.getAttribute("data-event-id")] = true;
  });
  var source = new EventSource(live.getAttribute("data-stream"));

  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content;
    if (className) { node.className = className; }
    return node;
  }

  function show(message) {
    var event = JSON.parse(message.data);
    if (seen[event.id]) { return; }
    seen[event.id] = true;
    var item = document.createElement("li");
    item.setAttribute("data-event-id", event.id);
    // As the server renders it: "2026-11-23 08:00:00 UTC".
    item.appendChild(text("time", event.at.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC")));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(text("span", event.type, "tag"));
    if (event.status) { item.appendChild(document.createTextNode(" " + event.status)); }
    if (event.message) {
      item.appendChild(document.createTextNode(" "));
      item.appendChild(text("span", event.message, "muted"));
    }
    list.appendChild(item);
    if (event.status) {
      status.textContent = event.status;
      status.className = "tag status-" + event.status;
      if (["succeeded", "failed", "cancelled"].indexOf(event.status) >= 0) { end(); }
    }
  }

  function end() {
    source.close();
    if (state) { state.textContent = "(ended)"; }
    fetch(live.getAttribute("data-facts"), { credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })
      .then(facts);
  }

  function facts(task) {
    document.getElementById("task-cost").textContent =
      task.cost_actual === null ? "—" : "$" + task.cost_actual;
    document.getElementById("task-provider").textContent = task.provider || "—";
    document.getElementById("task-upstream-id").textContent = task.upstream_id || "—";
    if (task.error) { document.getElementById("task-error").textContent = task.error; }
    var output = document.getElementById("task-output");
    task.videos.forEach(function (url) {
      var video = document.createElement("video");
      video.controls = true;
      video.preload = "metadata";
      video.src = url;
      output.appendChild(video);
      var link = text("a", url);
      link.href = url;
      var line = document.createElement("p");
      line.appendChild(link);
      output.appendChild(line);
    });
  }

  source.addEventListener("status", show);
  source.addEventListener("webhook", show);
  source.addEventListener("error", function (message) {
    // A named "error" event carries data (the store failed mid-stream); a bare one is the
    // connection dropping, which EventSource retries by itself with Last-Event-ID.
    if (message.data && state) { state.textContent = "(stopped: " + JSON.parse(message.data).message + ")"; }
  });
})();
