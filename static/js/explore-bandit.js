// The live bandit explorable: the reader picks a method, eps, the reward scheme and a seed,
// presses Run, and a Web Worker trains bandit-core.js's small network on the frozen digit
// subset (loaded only then); greedy accuracy and the largest |logit| are drawn as they come,
// over the frozen result of the same setting (the article's network), and said in words.
(function () {
  "use strict";
  var script = document.currentScript;
  var CORE_SRC = script.src.replace(/explore-bandit\.js/, "bandit-core.js");
  var HIDDEN = 32, LR = 1e-3, BATCH = 64, SLICE_MS = 30, FLUSH_MS = 250;
  var METHODS = [
    ["q", "Q-regression"], ["pg_naive", "vanilla PG, naive log-probability"],
    ["pg_stable", "vanilla PG, stable log-probability"], ["pg_onpolicy", "on-policy PG"],
    ["ppo", "PPO (clip 0.2)"], ["is", "importance-weighted PG"]];
  var EPS = [0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function select(parent, id, label, options, value) {
    var row = el("div", { class: "explorable-control" });
    row.appendChild(el("label", { for: id }, label));
    var input = el("select", { id: id });
    options.forEach(function (o) {
      var opt = el("option", { value: String(o[0]) }, o[1]);
      if (String(o[0]) === String(value)) opt.selected = true;
      input.appendChild(opt);
    });
    row.appendChild(input);
    parent.appendChild(row);
    return input;
  }

  function pct(v) { return v === null || v === undefined ? "\u2013" : (100 * v).toFixed(1) + "%"; }
  function num(v) {
    if (v === null || v === undefined) return "\u2013";
    return v >= 1e4 ? v.toExponential(1) : v >= 100 ? Math.round(v).toLocaleString("en")
                                                    : v.toPrecision(3);
  }

  function figure(metric, frozen, steps, yaxis) {
    var traces = [];
    if (frozen) {
      traces.push({ type: "scatter", mode: "lines", name: "frozen result (article's network)",
                    x: frozen.steps, y: frozen[metric], line: { color: "#999999", width: 1.5,
                    dash: "dash" }, hovertemplate: "step %{x}: %{y:.3g}<extra>frozen</extra>" });
    }
    traces.push({ type: "scatter", mode: "lines", name: "this run (in the page)", x: [], y: [],
                  line: { color: "#0072B2", width: 2.5 },
                  hovertemplate: "step %{x}: %{y:.3g}<extra>this run</extra>" });
    return { data: traces, layout: { margin: { l: 60, r: 20, t: 20, b: 50 },
      legend: { orientation: "h", yanchor: "top", y: -0.18, x: 0 },
      xaxis: { title: { text: "training step" }, range: [0, steps] }, yaxis: yaxis } };
  }

  function init(element, data, kit) {
    var body = element.querySelector(".explorable-body"), uid = element.id;
    var info = data.digits, steps = data.steps;
    body.appendChild(el("p", { class: "explorable-readout" },
      "The page trains a smaller network than the article's: " + info.side + "\u00d7" + info.side +
      " inputs (each digit averaged over " + info.pool + "\u00d7" + info.pool + " blocks, " +
      info.levels + " grey levels), " + HIDDEN + " hidden ReLU units and one logit (two " +
      "Q-values for Q-regression), Adam at learning rate " + LR + ", minibatches of " + BATCH +
      ", " + steps.toLocaleString("en") + " steps on " + info.n_train.toLocaleString("en") +
      " training digits; accuracy is measured on " + info.n_eval + " held-out digits every " +
      data.eval_every + " steps. Digits: " + info.source.dataset + " by " + info.source.creators +
      ", " + info.source.licence + "."));
    var controls = el("div", { class: "explorable-controls" });
    body.appendChild(controls);
    var method = select(controls, uid + "-method", "Method", METHODS, "pg_stable");
    var eps = select(controls, uid + "-eps", "Share of random actions, \u03b5",
                     EPS.map(function (e) { return [e, String(e)]; }), 1);
    var rewards = select(controls, uid + "-rewards", "Rewards, right / wrong action",
                         [["pm1", "+1 / \u22121 (the article's)"], ["01", "+1 / 0"]], "pm1");
    var seedRow = el("div", { class: "explorable-control" });
    seedRow.appendChild(el("label", { for: uid + "-seed" }, "Seed"));
    var seed = el("input", { id: uid + "-seed", type: "number", min: "0", max: "9999",
                             step: "1", value: "0", inputmode: "numeric" });
    seedRow.appendChild(seed);
    controls.appendChild(seedRow);
    var buttons = el("div", { class: "explorable-control" });
    var run = el("button", { type: "button" }, "Run"), stop = el("button", { type: "button" }, "Stop");
    var reset = el("button", { type: "button" }, "Reset");
    stop.disabled = true;
    [run, stop, reset].forEach(function (b) { buttons.appendChild(b); });
    controls.appendChild(buttons);
    var boxes = [el("div", { class: "chart-2d" }), el("div", { class: "chart-2d" })];
    boxes.forEach(function (b) { body.appendChild(b); });
    var status = el("p", { class: "explorable-readout", "aria-live": "polite" });
    var notice = el("p", { class: "explorable-notice", role: "status" });
    body.appendChild(status);
    body.appendChild(notice);

    var worker = null, last = null, state = "idle", runsPosted = 0;
    function setting() {
      var m = method.value, e = m === "pg_onpolicy" ? 0 : Number(eps.value);
      var s = Math.max(0, Math.min(9999, Math.floor(Number(seed.value) || 0)));
      return { method: m, eps: e, rewards: rewards.value, seed: s };
    }
    function frozenFor(s) {
      if (s.rewards !== "pm1") return null;
      var key = (s.method === "pg_onpolicy" ? "pg_stable" : s.method) + "@" + s.eps;
      return data.runs[key] || null;
    }
    function setState(next) {
      state = next;
      element.setAttribute("data-state", next);
      run.disabled = next === "running" || next === "loading";
      stop.disabled = next !== "running";
      [method, eps, rewards, seed].forEach(function (c) { c.disabled = next === "running"; });
      if (method.value === "pg_onpolicy") eps.disabled = true;
    }
    function draw() {
      var s = setting(), frozen = frozenFor(s);
      window.onpolicyChart2d.draw(boxes[0], figure("accuracy", frozen, steps,
        { title: { text: "greedy accuracy" }, tickformat: ".0%", range: [0, 1.02] }),
        kit.look(boxes[0]), "Greedy accuracy of the live run over training steps");
      window.onpolicyChart2d.draw(boxes[1], figure("logit_abs_max", frozen, steps,
        { title: { text: "largest |logit| (log scale)" }, type: "log" }),
        kit.look(boxes[1]), "Largest absolute logit of the live run over training steps");
      var what = METHODS.filter(function (m) { return m[0] === s.method; })[0][1];
      notice.textContent = frozen ? "" : "No frozen result for " + what + " at \u03b5 = " +
        s.eps + (s.rewards === "pm1" ? "" : " with rewards {0, 1}") + ": only the live run " +
        "is drawn.";
      element.setAttribute("data-frozen", frozen ? "true" : "false");
    }
    // Points wait here and are drawn at most every FLUSH_MS: a redraw per evaluation would keep
    // the main thread busy while the worker trains.
    var queued = [], flushTimer = null;
    function flush() {
      flushTimer = null;
      [[boxes[0], "accuracy"], [boxes[1], "logitAbsMax"]].forEach(function (pair) {
        var chart = pair[0].charts && pair[0].charts[0];
        if (!chart) return;
        var ds = chart.data.datasets[chart.data.datasets.length - 1];
        queued.forEach(function (msg) {
          if (msg[pair[1]] === null) return;
          ds.data.push({ x: msg.step, y: msg[pair[1]] });
          ds.trace.x.push(msg.step);
          ds.trace.y.push(msg[pair[1]]);
        });
        chart.update("none");
      });
      queued = [];
      showLast();
    }
    function add(msg, now) {
      queued.push(msg);
      if (now) {
        clearTimeout(flushTimer);
        flush();
      } else if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_MS);
    }
    function onMessage(event) {
      var msg = event.data;
      if (msg.run !== runsPosted) return;  // from a run stopped before this one
      if (msg.type === "nonfinite") {
        add({ step: msg.step, accuracy: null, logitAbsMax: null }, true);
        setState("nonfinite");
        status.textContent = "Stopped at step " + msg.firstNonfinite.toLocaleString("en") + ".";
        notice.textContent = "At step " + msg.firstNonfinite.toLocaleString("en") + " the loss " +
          "or a gradient became non-finite (infinite or not a number), so the run stopped " +
          "there, as the article's runs do; the curves end at the last finite evaluation." +
          (setting().method === "pg_naive" ? " The naive log-probability takes the log of a " +
           "probability that has rounded to zero: log 0 = \u2212\u221e." : "");
        element.setAttribute("data-nonfinite-step", String(msg.firstNonfinite));
        return;
      }
      if (state !== "running") return;  // arrived after Stop
      last = msg;
      add(msg, msg.type === "done");
      if (msg.type === "done") setState("done");
    }
    function showLast() {  // the latest evaluation, in words (at the pace of the drawing)
      if (!last) return;
      element.setAttribute("data-step", String(last.step));
      element.setAttribute("data-accuracy", String(last.accuracy));
      var rate = last.seconds > 0 ? Math.round(last.step / last.seconds) : null;
      status.textContent = "Step " + last.step.toLocaleString("en") + " of " +
        steps.toLocaleString("en") + ": greedy accuracy " + pct(last.accuracy) +
        ", largest |logit| " + num(last.logitAbsMax) +
        (rate ? " (" + rate.toLocaleString("en") + " steps per second)" : "") + ".";
    }
    function ensureWorker() {
      if (worker) return Promise.resolve(worker);
      return Promise.all([kit.demand(), kit.loadScript(CORE_SRC)]).then(function (got) {
        if (worker) return worker;
        var source = "(" + window.onpolicyBanditWorker.toString() + ")((" +
          window.onpolicyBanditCore.toString() + ")());";
        worker = new Worker(URL.createObjectURL(new Blob([source],
                                                         { type: "text/javascript" })));
        worker.onmessage = onMessage;
        worker.postMessage({ type: "digits", payload: got[0] });
        return worker;
      });
    }
    run.addEventListener("click", function () {
      clearTimeout(flushTimer);
      queued = [];
      setState("loading");
      status.textContent = "Loading the digits\u2026";
      draw();
      element.removeAttribute("data-nonfinite-step");
      ensureWorker().then(function (w) {
        var s = setting();
        setState("running");
        runsPosted += 1;
        w.postMessage({ type: "run", config: { method: s.method, eps: s.eps,
          rewards: s.rewards, seed: s.seed, hidden: HIDDEN, lr: LR, batch: BATCH,
          steps: steps, evalEvery: data.eval_every, sliceMs: SLICE_MS } });
      }).catch(function (error) {
        setState("idle");
        status.textContent = "The digits could not be loaded (" + error.message + ").";
      });
    });
    stop.addEventListener("click", function () {
      if (worker) worker.postMessage({ type: "stop" });
      clearTimeout(flushTimer);
      flush();
      setState("stopped");
      status.textContent = (last ? "Stopped at step " + last.step.toLocaleString("en") + ". " : "") +
        status.textContent.replace(/^Stopped at step [\d,]+\. /, "");
      run.focus();
    });
    reset.addEventListener("click", function () {
      if (worker) worker.postMessage({ type: "stop" });
      clearTimeout(flushTimer);
      queued = [];
      last = null;
      setState("idle");
      status.textContent = "";
      draw();
      ["data-step", "data-accuracy", "data-nonfinite-step"].forEach(function (a) {
        element.removeAttribute(a);
      });
    });
    [method, eps, rewards].forEach(function (c) {
      c.addEventListener("change", function () {
        if (state !== "running") { setState(state); draw(); }
      });
    });
    kit.onTheme(function () { boxes.forEach(function (b) {
      if (b.charts) window.onpolicyChart2d.retheme(b, kit.look(b)); }); });
    setState("idle");
    draw();
  }

  window.onpolicyExplorables.register("bandit", init);
})();
