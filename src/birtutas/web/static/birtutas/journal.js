// Journal grid enhancement: saves each cell as it changes and moves with arrow keys and Enter.
// Without this script the grid is one form that saves every changed cell at once.
(function () {
  var form = document.getElementById("grid");
  if (!form || !window.fetch) return;
  var token = form.querySelector("[name=csrfmiddlewaretoken]").value;
  function url(input) {
    var p = input.name.split("-");
    var base = p[0] === "c" ? form.dataset.cellUrl : form.dataset.pointsUrl;
    return base.replace("/0/", "/" + p[1] + "/").replace(/\/0\/$/, "/" + p[2] + "/");
  }
  // Saves go one at a time, in the order typed: on a slow link a later value never lands first.
  var queue = Promise.resolve();
  function save(input) {
    if (input.value === input.defaultValue) return;
    var value = input.value;
    input.defaultValue = value;
    input.classList.remove("saved", "failed");
    queue = queue.then(function () { return post(input, value); });
  }
  function post(input, value) {
    var body = new URLSearchParams({ value: value, csrfmiddlewaretoken: token });
    return fetch(url(input), { method: "POST", body: body, headers: { "X-CSRFToken": token, "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.ok) {
          if (input.value === value) input.value = data.value;
          input.defaultValue = data.value;
          input.classList.add("saved");
          input.removeAttribute("aria-invalid");
          input.title = "";
          var row = input.closest("tr"); // its term percent and grade, as the server now has them
          row.querySelector(".pct").textContent = data.percent;
          row.querySelector(".grade strong").textContent = data.grade;
        } else { fail(input, data.error); }
      })
      .catch(function () { fail(input, form.dataset.error); });
  }
  function fail(input, message) {
    input.classList.add("failed");
    input.setAttribute("aria-invalid", "true");
    input.title = message || form.dataset.error;
    var live = document.getElementById("grid-status");
    if (live) live.textContent = message || form.dataset.error;
  }
  function move(input, dRow, dCol) {
    var cell = input.parentNode, row = cell.parentNode;
    var col = Array.prototype.indexOf.call(row.children, cell);
    var target = dRow ? row.parentNode.rows[row.sectionRowIndex + dRow] : row;
    var next = target && target.children[col + dCol];
    var field = next && next.querySelector("input");
    if (field) { field.focus(); field.select(); }
  }
  form.addEventListener("change", function (e) { if (e.target.tagName === "INPUT") save(e.target); });
  form.addEventListener("keydown", function (e) {
    var t = e.target;
    if (t.tagName !== "INPUT" || !t.closest(".grid")) return;
    var keys = { ArrowUp: [-1, 0], ArrowDown: [1, 0], Enter: [1, 0] };
    if (t.selectionStart === t.value.length) keys.ArrowRight = [0, 1];
    if (t.selectionStart === 0) keys.ArrowLeft = [0, -1];
    var step = keys[e.key];
    if (!step) return;
    e.preventDefault();
    save(t);
    move(t, step[0], step[1]);
  });
  var status = document.createElement("p");
  status.id = "grid-status";
  status.setAttribute("role", "status");
  status.className = "error";
  form.insertBefore(status, form.firstChild);
})();
