// The live bandit's trainer: the binary MNIST bandit of experiments/ (digit >= 5 or not), with a
// small MLP (inputs -> hidden ReLU -> 1 logit, or 2 Q-values) in Float64Arrays, the methods'
// per-sample losses of experiments/methods/*.py differentiated by hand, and Adam as
// torch.optim.Adam computes it. One function, banditCore(), so that explore-bandit.js can run
// it in a Web Worker (from its source text: workers cannot load a file:// script) and
// tests/test_explore_bandit.py can run it in Node against PyTorch with the same weights and
// minibatches. Deterministic per seed: its own generators for weights, contexts and actions.
function banditCore() {
  "use strict";
  var BETA1 = 0.9, BETA2 = 0.999, ADAM_EPS = 1e-8, CLIP = 0.2;
  // method key -> [outputs, loss settings]; on-policy PG is the stable loss at eps = 0
  var METHODS = { q: 2, pg_naive: 1, pg_stable: 1, pg_onpolicy: 1, ppo: 1, is: 1 };
  var STREAMS = { init: 0, contexts: 1000003, actions: 2000003 };

  // mulberry32: a small, fast 32-bit generator; uniform() in [0, 1) with 32 random bits
  function generator(seed, stream) {
    var a = (seed * 2654435761 + stream) >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function decodeBase64(text) {
    if (typeof atob === "function") {
      var bin = atob(text), out = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out;
    }
    return new Uint8Array(Buffer.from(text, "base64"));
  }

  // One part ("train" or "eval") of experiments/digit_subset.py's payload -> dense pixels and
  // their non-zero entries per digit (the first layer skips the blank three quarters).
  function decodePart(part, dim, levels) {
    var packed = decodeBase64(part.pixels), n = part.n;
    var x = new Float64Array(n * dim), labels = new Uint8Array(n);
    var ptr = new Int32Array(n + 1), idx = [], val = [];
    for (var s = 0; s < n; s++) {
      labels[s] = Number(part.digits[s]) >= 5 ? 1 : 0;
      for (var i = 0; i < dim; i++) {
        var k = s * dim + i, byte = packed[k >> 1];
        var level = (k & 1) ? (byte & 15) : (byte >> 4);
        if (level) {
          x[k] = level / (levels - 1);
          idx.push(i);
          val.push(x[k]);
        }
      }
      ptr[s + 1] = idx.length;
    }
    return { n: n, dim: dim, x: x, labels: labels, ptr: ptr, idx: Int32Array.from(idx),
             val: Float64Array.from(val) };
  }

  function decodeDigits(payload) {
    var dim = payload.side * payload.side;
    return { dim: dim, train: decodePart(payload.train, dim, payload.levels),
             eval: decodePart(payload.eval, dim, payload.levels) };
  }

  function initWeights(seed, nIn, hidden, nOut) {
    var u = generator(seed, STREAMS.init), b1 = 1 / Math.sqrt(nIn), b2 = 1 / Math.sqrt(hidden);
    function fill(n, bound) {
      var a = new Float64Array(n);
      for (var i = 0; i < n; i++) a[i] = (u() * 2 - 1) * bound;
      return a;
    }
    return { W1: fill(nIn * hidden, b1), b1: fill(hidden, b1), W2: fill(hidden * nOut, b2),
             b2: fill(nOut, b2) };
  }

  // opts: {method, eps, rewards ("pm1" | "01"), hidden, lr, batch, nIn, seed, weights?}
  function createTrainer(opts) {
    if (!(opts.method in METHODS)) throw new Error("unknown method " + opts.method);
    var nOut = METHODS[opts.method], H = opts.hidden, B = opts.batch;
    var w = opts.weights || initWeights(opts.seed, opts.nIn, H, nOut);
    var params = ["W1", "b1", "W2", "b2"].map(function (k) {
      var value = Float64Array.from(w[k]);
      return { name: k, value: value, grad: new Float64Array(value.length),
               m: new Float64Array(value.length), v: new Float64Array(value.length) };
    });
    var eps = opts.method === "pg_onpolicy" ? 0 : opts.eps;
    return {
      method: opts.method, nOut: nOut, H: H, B: B, nIn: opts.nIn, lr: opts.lr,
      keep: 1 - eps, spread: eps / 2, eps: eps, wrong: opts.rewards === "01" ? 0 : -1,
      params: params, W1: params[0].value, b1: params[1].value, W2: params[2].value,
      b2: params[3].value, t: 0, alive: true, firstNonfinite: null, lastLoss: 0,
      h: new Float64Array(B * H), out: new Float64Array(B * nOut),
      dout: new Float64Array(B * nOut), dh: new Float64Array(H),
      active: new Int32Array(H), dact: new Float64Array(H),
      contexts: generator(opts.seed || 0, STREAMS.contexts),
      actions: generator(opts.seed || 0, STREAMS.actions)
    };
  }

  // outputs of digit s of part into out[o..], hidden activations into h[hOff..]
  function forwardOne(tr, part, s, h, hOff, out, o) {
    var H = tr.H, W1 = tr.W1, W2 = tr.W2, b1 = tr.b1, nOut = tr.nOut, j;
    var ptr = part.ptr, pix = part.idx, val = part.val, end = ptr[s + 1];
    for (j = 0; j < H; j++) h[hOff + j] = b1[j];
    for (var p = ptr[s]; p < end; p++) {
      var row = pix[p] * H, xi = val[p];
      for (j = 0; j + 3 < H; j += 4) {
        h[hOff + j] += xi * W1[row + j];
        h[hOff + j + 1] += xi * W1[row + j + 1];
        h[hOff + j + 2] += xi * W1[row + j + 2];
        h[hOff + j + 3] += xi * W1[row + j + 3];
      }
      for (; j < H; j++) h[hOff + j] += xi * W1[row + j];
    }
    for (j = 0; j < H; j++) if (h[hOff + j] < 0) h[hOff + j] = 0;  // ReLU
    for (var k = 0; k < nOut; k++) {
      var acc = tr.b2[k];
      for (j = 0; j < H; j++) acc += h[hOff + j] * W2[j * nOut + k];
      out[o + k] = acc;
    }
  }

  function sigmoid(x) {
    if (x >= 0) return 1 / (1 + Math.exp(-x));
    var z = Math.exp(x);
    return z / (1 + z);
  }

  function logSigmoid(x) { return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)); }

  // One optimiser update on the minibatch idx (digit indices into part) with action uniforms u;
  // returns false (and stops for good) when the loss or a gradient is non-finite.
  function trainStep(tr, part, idx, u) {
    if (!tr.alive) return false;
    tr.t += 1;
    var B = tr.B, nOut = tr.nOut, out = tr.out, dout = tr.dout, loss = 0;
    for (var s = 0; s < B; s++) {
      forwardOne(tr, part, idx[s], tr.h, s * tr.H, out, s * nOut);
      var label = part.labels[idx[s]], pi1, x = out[s * nOut];
      if (nOut === 2) pi1 = out[s * 2 + 1] > out[s * 2] ? 1 : 0;  // greedy on Q (first max)
      else pi1 = sigmoid(x);
      var b0 = tr.keep * (1 - pi1) + tr.spread, b1 = tr.keep * pi1 + tr.spread;
      var a = b0 <= u[s] ? 1 : 0, bp = a ? b1 : b0;
      var r = a === label ? 1 : tr.wrong, g, l;
      if (tr.method === "q") {
        var q = out[s * 2 + a] - r;
        l = q * q;
        dout[s * 2 + a] = 2 * q / B;
        dout[s * 2 + 1 - a] = 0;
      } else if (tr.method === "pg_naive") {
        var p1 = sigmoid(x), pa = a ? p1 : 1 - p1;
        l = -r * Math.log(pa);
        g = (-r / B) / pa;                      // d loss / d pa
        dout[s] = (a ? g : -g) * (p1 * (1 - p1));
      } else if (tr.method === "is") {
        var q1 = sigmoid(x), pia = a ? q1 : 1 - q1;
        l = -(pia / bp) * r;
        g = -(r / bp) / B;
        dout[s] = (a ? g : -g) * (q1 * (1 - q1));
      } else {
        var lp = a ? logSigmoid(x) : logSigmoid(-x), dlp = a ? 1 - sigmoid(x) : -sigmoid(x);
        if (tr.method === "ppo") {
          var ratio = Math.exp(lp - Math.log(bp));
          var clipped = Math.min(Math.max(ratio, 1 - CLIP), 1 + CLIP);
          var un = ratio * r, cl = clipped * r, share;
          l = -Math.min(un, cl);
          // torch.min's gradient: all to the smaller term, half each on a tie; the clipped
          // term passes it on only inside the clip range (where it equals the unclipped one)
          if (un < cl) share = 1;
          else if (un > cl) share = 0;
          else share = 0.5 + (ratio >= 1 - CLIP && ratio <= 1 + CLIP ? 0.5 : 0);
          dout[s] = (-r / B) * share * ratio * dlp;
        } else {  // pg_stable, pg_onpolicy
          l = -r * lp;
          dout[s] = (-r / B) * dlp;
        }
      }
      loss += l;
    }
    tr.lastLoss = loss / B;
    backward(tr, part, idx);
    var finite = isFinite(tr.lastLoss);
    tr.params.forEach(function (p) {
      var sum = 0;
      for (var i = 0; i < p.grad.length; i++) sum += p.grad[i];
      if (!isFinite(sum)) finite = false;
    });
    if (!finite) {
      tr.alive = false;
      tr.firstNonfinite = tr.t;
      return false;
    }
    adam(tr);
    return true;
  }

  function backward(tr, part, idx) {
    var H = tr.H, nOut = tr.nOut, B = tr.B, gW1 = tr.params[0].grad, gb1 = tr.params[1].grad;
    var gW2 = tr.params[2].grad, gb2 = tr.params[3].grad, dh = tr.dh, h = tr.h, W2 = tr.W2;
    var dout = tr.dout, ptr = part.ptr, pix = part.idx, val = part.val, j, k;
    var active = tr.active, dact = tr.dact;
    gW1.fill(0); gb1.fill(0); gW2.fill(0); gb2.fill(0);
    for (var s = 0; s < B; s++) {
      var hOff = s * H, any = false;
      for (k = 0; k < nOut; k++) if (dout[s * nOut + k] !== 0) any = true;
      if (!any) continue;  // e.g. a reward of 0, or a clipped PPO sample: it adds nothing
      for (j = 0; j < H; j++) dh[j] = 0;
      for (k = 0; k < nOut; k++) {
        var d = dout[s * nOut + k];
        gb2[k] += d;
        for (j = 0; j < H; j++) {
          gW2[j * nOut + k] += h[hOff + j] * d;
          dh[j] += d * W2[j * nOut + k];
        }
      }
      var na = 0;  // the units ReLU let through: only their weights get a gradient
      for (j = 0; j < H; j++) {
        if (!(h[hOff + j] > 0)) dh[j] = 0;
        else { active[na] = j; dact[na] = dh[j]; na++; }
        gb1[j] += dh[j];
      }
      var digit = idx[s], end = ptr[digit + 1], q;
      for (var p = ptr[digit]; p < end; p++) {
        var row = pix[p] * H, xi = val[p];
        for (q = 0; q + 3 < na; q += 4) {
          gW1[row + active[q]] += xi * dact[q];
          gW1[row + active[q + 1]] += xi * dact[q + 1];
          gW1[row + active[q + 2]] += xi * dact[q + 2];
          gW1[row + active[q + 3]] += xi * dact[q + 3];
        }
        for (; q < na; q++) gW1[row + active[q]] += xi * dact[q];
      }
    }
  }

  function adam(tr) {
    var t = tr.t, bc1 = 1 - Math.pow(BETA1, t), bc2 = Math.sqrt(1 - Math.pow(BETA2, t));
    var stepSize = tr.lr / bc1;
    tr.params.forEach(function (p) {
      var w = p.value, g = p.grad, m = p.m, v = p.v;
      for (var i = 0; i < w.length; i++) {
        m[i] += (g[i] - m[i]) * (1 - BETA1);
        v[i] = v[i] * BETA2 + (1 - BETA2) * g[i] * g[i];
        w[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / bc2 + ADAM_EPS);
      }
    });
  }

  // Greedy accuracy and the largest |output| on a part (the results' eval metrics)
  function evaluate(tr, part) {
    var h = new Float64Array(tr.H), out = new Float64Array(tr.nOut), right = 0, big = 0;
    for (var s = 0; s < part.n; s++) {
      forwardOne(tr, part, s, h, 0, out, 0);
      var greedy = tr.nOut === 2 ? (out[1] > out[0] ? 1 : 0) : (out[0] > 0 ? 1 : 0);
      if (greedy === part.labels[s]) right++;
      for (var k = 0; k < tr.nOut; k++) big = Math.max(big, Math.abs(out[k]));
    }
    return { accuracy: right / part.n, logitAbsMax: big };
  }

  // The next minibatch from the trainer's own generators: digit indices and action uniforms
  function draw(tr, n) {
    if (!tr.drawn) tr.drawn = { idx: new Int32Array(tr.B), u: new Float64Array(tr.B) };
    var idx = tr.drawn.idx, u = tr.drawn.u, s;
    for (s = 0; s < tr.B; s++) idx[s] = Math.floor(tr.contexts() * n);
    for (s = 0; s < tr.B; s++) u[s] = tr.actions();
    return { idx: idx, u: u };
  }

  return { METHODS: METHODS, generator: generator, decodeDigits: decodeDigits,
           initWeights: initWeights, createTrainer: createTrainer, trainStep: trainStep,
           evaluate: evaluate, draw: draw, sigmoid: sigmoid };
}

// The worker's message loop, run from its source text as
// `(banditWorker)((banditCore)())` in a blob: URL (which also works from file://). Messages in:
// {type: "digits", payload}, {type: "run", config}, {type: "stop"}; out: an evaluation every
// config.evalEvery steps ({type: "eval" | "done", run, step, accuracy, logitAbsMax, seconds})
// and {type: "nonfinite", run, firstNonfinite}; run counts the "run" messages. It trains in slices of config.sliceMs, so a Stop is
// read between slices.
function banditWorker(core) {
  var digits = null, tr = null, config = null, running = false, started = 0, runs = 0;
  function report(type) {
    var ev = tr.alive ? core.evaluate(tr, digits.eval) : null;
    self.postMessage({ type: type, run: runs, step: tr.t, accuracy: ev && ev.accuracy,
                       logitAbsMax: ev && ev.logitAbsMax, firstNonfinite: tr.firstNonfinite,
                       seconds: (performance.now() - started) / 1000 });
  }
  function loop(run) {
    if (!running || run !== runs) return;  // stopped, or a newer run has started
    var t0 = performance.now();
    while (running && performance.now() - t0 < config.sliceMs) {
      var d = core.draw(tr, digits.train.n);
      if (!core.trainStep(tr, digits.train, d.idx, d.u)) {
        running = false;
        report("nonfinite");
        return;
      }
      if (tr.t % config.evalEvery === 0 || tr.t >= config.steps) {
        report(tr.t >= config.steps ? "done" : "eval");
      }
      if (tr.t >= config.steps) { running = false; return; }
    }
    setTimeout(loop, 0, run);
  }
  self.onmessage = function (event) {
    var msg = event.data;
    if (msg.type === "digits") digits = core.decodeDigits(msg.payload);
    else if (msg.type === "run") {
      config = msg.config;
      tr = core.createTrainer(Object.assign({ nIn: digits.dim }, config));
      started = performance.now();
      running = true;
      runs += 1;
      report("eval");
      setTimeout(loop, 0, runs);
    } else if (msg.type === "stop") running = false;
  };
}

if (typeof module === "object" && module.exports) module.exports = banditCore();
else {
  window.onpolicyBanditCore = banditCore;
  window.onpolicyBanditWorker = banditWorker;
}
