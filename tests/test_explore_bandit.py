"""The live bandit's trainer (static/js/bandit-core.js, run in Node) against PyTorch with the
project's model code and method losses, through one small adapter (`torch_run`): same initial
weights, same minibatches and action uniforms, on the frozen digit subset (results/
bandit-digits.json, so no MNIST is needed). One step agrees to 1e-5 relative for each method,
and a 200-step run's greedy accuracy on the subset's eval digits within 1 point."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from experiments import model  # noqa: E402
from experiments.digit_subset import unpack  # noqa: E402
from experiments.methods import importance, policy_gradient, ppo, q_regression  # noqa: E402
from experiments.policy import Batch, policy_probs, sample_actions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORE_JS = ROOT / "static" / "js" / "bandit-core.js"
DIGITS = ROOT / "results" / "bandit-digits.json"
HIDDEN, BATCH, LR = 32, 64, 1e-3
# the page's method keys -> (method module, its loss settings, behaviour eps it forces)
ADAPT = {"q": (q_regression, {}, None), "pg_naive": (policy_gradient, {"log_prob": "naive"}, None),
         "pg_stable": (policy_gradient, {"log_prob": "stable"}, None),
         "pg_onpolicy": (policy_gradient, {"log_prob": "stable"}, 0.0),
         "ppo": (ppo, {"clip_eps": 0.2}, None), "is": (importance, {}, None)}
NODE_RUNNER = """
const core = require(process.argv[1]);
const jobs = JSON.parse(require("fs").readFileSync(0, "utf8"));
const digits = core.decodeDigits(JSON.parse(require("fs").readFileSync(process.argv[2], "utf8")).result);
console.log(JSON.stringify(jobs.map(job => {
  const tr = core.createTrainer({method: job.method, eps: job.eps, rewards: job.rewards,
    hidden: job.hidden, lr: job.lr, batch: job.batch, nIn: digits.dim, weights: job.weights});
  const snapshots = {};
  for (let t = 0; t < job.idx.length; t++) {
    core.trainStep(tr, digits.train, Int32Array.from(job.idx[t]), Float64Array.from(job.u[t]));
    if (job.snapshot_at.includes(t + 1)) snapshots[t + 1] = Object.fromEntries(tr.params.map(
      p => [p.name, {value: Array.from(p.value), grad: Array.from(p.grad)}]));
  }
  const ev = core.evaluate(tr, digits.eval);
  return {snapshots, accuracy: ev.accuracy, logit_abs_max: ev.logitAbsMax,
          first_nonfinite: tr.firstNonfinite};
})));
"""


@pytest.fixture(scope="module")
def digits():
    payload = json.loads(DIGITS.read_text())["result"]
    dim, levels = payload["side"] ** 2, payload["levels"]
    parts = {}
    for part in ("train", "eval"):
        p = payload[part]
        grey = unpack(base64.b64decode(p["pixels"]), p["n"], dim)
        parts[part] = (torch.from_numpy(grey.astype(np.float64) / (levels - 1)),
                       torch.tensor([int(d) >= 5 for d in p["digits"]], dtype=torch.long))
    return dim, parts


def torch_run(method: str, eps: float, rewards: str, weights: dict, parts: dict,
              idx: torch.Tensor, u: torch.Tensor, snapshot_at=()) -> dict:
    """THE ADAPTER: the trainer's step (experiments/training.py) for one seed, in float64, with
    experiments/model.py's network and the method's own METHOD.loss."""
    module, config, forced = ADAPT[method]
    eps = forced if forced is not None else eps
    params = {k: v.detach().clone().to(torch.float64).unsqueeze(0).requires_grad_()
              for k, v in weights.items()}
    optimizer = torch.optim.Adam(params.values(), lr=LR)
    x_train, y_train = parts["train"]
    wrong = 0.0 if rewards == "01" else -1.0
    snapshots, first_nonfinite = {}, None
    for t in range(len(idx)):
        x, labels = x_train[idx[t]], y_train[idx[t]].unsqueeze(0)
        outputs = model.forward(params, x)
        with torch.no_grad():
            behaviour = (1 - eps) * policy_probs(module.METHOD, outputs) + eps / 2
            actions = sample_actions(behaviour, u[t].unsqueeze(0))
            behaviour_prob = behaviour.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
            reward = torch.where(actions == labels, 1.0, wrong).to(torch.float64)
        loss = module.METHOD.loss(outputs, Batch(labels, actions, reward, behaviour_prob),
                                  config).mean(dim=1)
        optimizer.zero_grad()
        loss.sum().backward()
        if not (loss.isfinite().all() and all(p.grad.sum().isfinite() for p in params.values())):
            first_nonfinite = t + 1
            break
        optimizer.step()
        if t + 1 in snapshot_at:
            snapshots[t + 1] = {k: {"value": p.detach()[0].clone(), "grad": p.grad[0].clone()}
                                for k, p in params.items()}
    with torch.no_grad():
        out = model.forward(params, parts["eval"][0])
        accuracy = (model.greedy_action(out) if module is not q_regression
                    else out.argmax(-1))[0].eq(parts["eval"][1]).double().mean().item()
    return {"snapshots": snapshots, "accuracy": accuracy, "first_nonfinite": first_nonfinite,
            "logit_abs_max": out.abs().max().item()}


def js_runs(jobs: list[dict]) -> list[dict]:
    """Every job (method, eps, rewards, weights, idx, u, snapshot_at) in one Node process."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found (it is needed for KaTeX too: install Node.js 20)")
    payload = [{"method": j["method"], "eps": j["eps"], "rewards": j["rewards"],
                "hidden": HIDDEN, "lr": LR, "batch": BATCH,
                "snapshot_at": list(j.get("snapshot_at", ())),
                "weights": {k: v.reshape(-1).tolist() for k, v in j["weights"].items()},
                "idx": j["idx"].tolist(), "u": j["u"].tolist()} for j in jobs]
    proc = subprocess.run([node, "-e", NODE_RUNNER, str(CORE_JS), str(DIGITS)],
                          input=json.dumps(payload), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _setting(method: str, dim: int, n_train: int, steps: int, seed: int = 0):
    n_out = ADAPT[method][0].METHOD.n_outputs("binary")
    init = model.init_params([seed], dim, HIDDEN, n_out, dtype=torch.float64)
    weights = {k: v.detach()[0] for k, v in init.items()}
    gen = torch.Generator().manual_seed(seed + 17)
    idx = torch.randint(n_train, (steps, BATCH), generator=gen)
    u = torch.rand(steps, BATCH, generator=gen, dtype=torch.float64)
    return weights, idx, u


def _relative(js: list, ref: torch.Tensor) -> float:
    ref = ref.reshape(-1)
    diff = (torch.tensor(js, dtype=torch.float64) - ref).abs().max().item()
    return diff / max(ref.abs().max().item(), 1e-300)


def test_one_step_equals_pytorch(digits, torch_one_thread):
    dim, parts = digits
    jobs = []
    for method in sorted(ADAPT):
        for rewards in ("pm1", "01"):
            for eps in (1.0, 0.1):
                weights, idx, u = _setting(method, dim, len(parts["train"][1]), 10)
                jobs.append({"method": method, "eps": eps, "rewards": rewards,
                             "weights": weights, "idx": idx, "u": u, "snapshot_at": (1, 10)})
    for job, js in zip(jobs, js_runs(jobs)):
        where = f"{job['method']} eps={job['eps']} rewards={job['rewards']}"
        py = torch_run(job["method"], job["eps"], job["rewards"], job["weights"], parts,
                       job["idx"], job["u"], snapshot_at=(1, 10))
        assert js["first_nonfinite"] == py["first_nonfinite"] is None, where
        weights = job["weights"]
        for step in (1, 10):
            for name, ref in py["snapshots"][step].items():
                got = js["snapshots"][str(step)][name]
                assert _relative(got["grad"], ref["grad"]) <= 1e-5, (where, step, name, "grad")
                assert _relative(got["value"], ref["value"]) <= 1e-5, (where, step, name)
                if step == 1:  # the step itself, not only the weights it moved a little
                    update = torch.tensor(got["value"]) - weights[name].reshape(-1)
                    ref_update = ref["value"].reshape(-1) - weights[name].reshape(-1)
                    assert _relative(update.tolist(), ref_update) <= 1e-5, (where, name)


RUNS_200 = [("q", 1.0), ("pg_naive", 1.0), ("pg_stable", 1.0), ("pg_onpolicy", 0.0),
            ("ppo", 1.0), ("is", 1.0), ("pg_stable", 0.05)]


def test_200_steps_reach_the_same_accuracy(digits, torch_one_thread):
    dim, parts = digits
    jobs = []
    for method, eps in RUNS_200:
        weights, idx, u = _setting(method, dim, len(parts["train"][1]), 200, seed=3)
        jobs.append({"method": method, "eps": eps, "rewards": "pm1", "weights": weights,
                     "idx": idx, "u": u})
    for job, js in zip(jobs, js_runs(jobs)):
        method, eps = job["method"], job["eps"]
        py = torch_run(method, eps, "pm1", job["weights"], parts, job["idx"], job["u"])
        assert js["first_nonfinite"] == py["first_nonfinite"], method
        assert abs(js["accuracy"] - py["accuracy"]) <= 0.01, (method, eps, js, py["accuracy"])
        assert py["accuracy"] > 0.6 or method == "pg_naive", method  # it learned something
        assert js["logit_abs_max"] == pytest.approx(py["logit_abs_max"], rel=1e-4), method


# -- the frozen digit subset (experiments/digit_subset.py) -------------------------------------

def test_frozen_digit_subset_matches_its_hashes_and_budget():
    """Its hashes match its pixels, it is schema-valid and small enough to load on Run."""
    import gzip
    import hashlib

    from experiments import digit_subset
    from onpolicy import schema

    document = json.loads(DIGITS.read_text())
    frozen = document["result"]
    assert not schema.problems(document)
    for part in ("train", "eval"):
        packed = base64.b64decode(frozen[part]["pixels"])
        assert hashlib.sha256(packed).hexdigest() == frozen[part]["sha256"]
        levels = unpack(packed, frozen[part]["n"], frozen["side"] ** 2)
        assert digit_subset.pack(levels) == packed and levels.max() == frozen["levels"] - 1
    assert len(gzip.compress(json.dumps(frozen).encode(), 6)) <= 150_000


def test_frozen_digit_subset_is_its_rows_export_of_mnist(monkeypatch):
    """The frozen file is what the row exports from the real MNIST split (the same as every
    result's), when the IDX files are here."""
    from experiments import digit_subset, mnist_files
    from experiments.suite import BY_NAME, effective_config

    frozen = json.loads(DIGITS.read_text())["result"]
    from tests.test_data import real_mnist_dir  # where the build looks; skips, saying so

    monkeypatch.setenv(mnist_files.ENV_VAR, str(real_mnist_dir(mnist_files.TEST_FILES)))
    config = effective_config(BY_NAME["bandit-digits"])
    fresh = digit_subset.run(config, [0], "cpu")
    assert {k: fresh[k] for k in ("side", "levels", "train", "eval", "source")} == \
        {k: frozen[k] for k in ("side", "levels", "train", "eval", "source")}
