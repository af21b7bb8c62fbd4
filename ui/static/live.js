// Live updates of an execution page: an EventSource on the page's event
// stream sets each node's data-status (the CSS colours by it) and the text
// of its table cells. Only textContent and attributes are written, never
// markup. When the execution has finished the page reloads once, to draw
// the final timeline.
(function () {
  "use strict";
  var head = document.getElementById("live");
  if (!head || !window.EventSource) { return; }
  var byNode = {};
  document.querySelectorAll("[data-node]").forEach(function (el) {
    var id = el.getAttribute("data-node");
    (byNode[id] = byNode[id] || []).push(el);
  });
  var es = new EventSource(head.getAttribute("data-events"));
  es.onmessage = function (msg) {
    var st = JSON.parse(msg.data);
    var status = document.getElementById("execution-status");
    status.setAttribute("data-status", st.status);
    status.textContent = st.status;
    document.getElementById("execution-duration").textContent = st.duration;
    st.nodes.forEach(function (n) {
      (byNode[n.id] || []).forEach(function (el) {
        el.setAttribute("data-status", n.status);
        el.querySelectorAll("[data-field]").forEach(function (f) {
          var k = f.getAttribute("data-field");
          if (k === "status") { f.setAttribute("data-status", n.status); }
          if (n[k] !== undefined) { f.textContent = String(n[k]); }
        });
      });
    });
  };
  es.addEventListener("done", function () {
    es.close();
    window.location.reload();
  });
}());
