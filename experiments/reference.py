"""One method, one seed, one plain training loop, top to bottom: the test oracle of the fused
trainer (training.py) and of its CUDA-graph replay (cuda_graph.py); tests/test_reference.py.

Nothing here is batched or fused: an nn.Sequential MLP, torch.optim.Adam (or SGD), a Python
loop over steps. The row's options read here: behaviour_eps, behaviour_lag, batch_reuse,
reward, optimizer, and the method's loss and policy head (its baseline lives in its loss). It reads what a fused lane reads (the same data, the same initial weights, the same
context and action random streams), so a fused slot must follow this loop: the same first
non-finite step, weights and accuracies within float reordering.

    python -m experiments.reference      # one short run on synthetic data, printed
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call

from experiments import data as datasets
from experiments.training import ACTION_SEED_OFFSET, CONTEXT_SEED_OFFSET
from experiments.model import greedy_action, init_params
from experiments.policy import Batch, Method, policy_probs, reward_values, sample_actions


def train(method: Method, config: dict, seed: int, device: str = "cpu") -> dict:
    """Train one seed of one method; returns its evals, first non-finite step and weights."""
    # DATA: the row's dataset and the task's labels; the training split is sampled with
    # replacement, batch_size contexts per step
    data = datasets.load(config["data"], device)
    task, steps = config["task"], int(config["steps"])
    batch_size, eval_every = int(config["batch_size"]), int(config["eval_every"])
    y_train = datasets.task_labels(data.y_train, task)
    y_eval = datasets.task_labels(data.y_eval, task)
    n_actions = datasets.n_actions(task)
    eps = float(config.get("behaviour_eps", 1.0))    # behaviour = (1-eps) pi + eps uniform
    lag = int(config.get("behaviour_lag", 0))        # act from a snapshot refreshed every lag
    reuse = int(config.get("batch_reuse", 1))        # K updates on each collected minibatch
    miss, hit = reward_values(config)                # the reward of a wrong and a right action

    # MODEL: in -> hidden -> outputs, starting from the seed's weights (model.init_params)
    start = init_params([seed], data.x_train.shape[1], int(config["hidden"]),
                        method.n_outputs(task))
    net = nn.Sequential(nn.Linear(*start["W1"].shape[1:]), nn.ReLU(),
                        nn.Linear(*start["W2"].shape[1:])).to(device)
    with torch.no_grad():
        for layer, w, b in ((net[0], "W1", "b1"), (net[2], "W2", "b2")):
            layer.weight.copy_(start[w][0].T)
            layer.bias.copy_(start[b][0])
    snapshot = {name: p.detach().clone() for name, p in net.named_parameters()}
    optimizer = (torch.optim.SGD if config.get("optimizer", "adam") == "sgd"
                 else torch.optim.Adam)(net.parameters(), lr=float(config["lr"]))
    contexts = torch.Generator().manual_seed(seed + CONTEXT_SEED_OFFSET)
    uniforms = torch.Generator().manual_seed(seed + ACTION_SEED_OFFSET)

    def accuracy() -> float | None:
        if first_nonfinite is not None:
            return None
        with torch.no_grad():
            outputs = net(data.x_eval)
            if method.policy_head is not None:
                outputs = method.policy_head(outputs)
            return (greedy_action(outputs) == y_eval).float().mean().item()

    first_nonfinite, kept = None, None
    evals = [(0, accuracy())]
    for chunk_start in range(0, steps, eval_every):
        n_chunk = min(eval_every, steps - chunk_start)  # the streams are drawn a chunk at a time
        if first_nonfinite is None:
            idx = torch.randint(len(y_train), (n_chunk, batch_size), generator=contexts)
            uniform = torch.rand(n_chunk, batch_size, generator=uniforms)
        for i in range(n_chunk if first_nonfinite is None else 0):
            step = chunk_start + i + 1
            collect = (step - 1) % reuse == 0          # else: the kept minibatch again
            rows = idx[i].to(device) if collect else kept[0]
            x, labels = data.x_train[rows], y_train[rows]
            outputs = net(x).unsqueeze(0)              # (1, B, n_out): the losses' shape

            # ACT: one action per context from the behaviour policy, recording b(a|x)
            with torch.no_grad():
                if collect:
                    acting = (functional_call(net, snapshot, (x,)).unsqueeze(0) if lag
                              else outputs)
                    behaviour = (1 - eps) * policy_probs(method, acting) + eps / n_actions
                    actions = sample_actions(behaviour, uniform[i].to(device).unsqueeze(0))
                    behaviour_prob = behaviour.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
                    kept = (rows, actions, behaviour_prob)
                _, actions, behaviour_prob = kept
                rewards = torch.where(actions == labels, hit, miss)

            # LEARN: the method's loss, mean over the minibatch, one optimiser step (Adam or SGD)
            loss = method.loss(outputs, Batch(labels.unsqueeze(0), actions, rewards,
                                              behaviour_prob), config).mean()
            optimizer.zero_grad()
            loss.backward()
            if not (loss.isfinite() and all(p.grad.isfinite().all() for p in net.parameters())):
                first_nonfinite = step  # the run stops; its weights stay those of step - 1
                break
            if lag and step % lag == 0:  # refreshed before this update: acting lags 1..lag
                snapshot = {name: p.detach().clone() for name, p in net.named_parameters()}
            optimizer.step()

        # EVAL: greedy accuracy on the held-out split (None once the run has stopped)
        evals.append((chunk_start + n_chunk, accuracy()))
    weights = {"W1": net[0].weight.detach().T, "b1": net[0].bias.detach(),
               "W2": net[2].weight.detach().T, "b2": net[2].bias.detach()}
    return {"steps": [s for s, _ in evals], "accuracy": [a for _, a in evals],
            "first_nonfinite_step": first_nonfinite,
            "weights": {k: v.cpu().clone() for k, v in weights.items()}}


if __name__ == "__main__":
    from experiments.methods import policy_gradient

    demo = {"task": "binary", "hidden": 32, "lr": 1e-3, "batch_size": 32, "steps": 100,
            "eval_every": 25, "behaviour_eps": 1.0, "log_prob": "stable",
            "data": {"name": "synthetic", "n_train": 512, "n_eval": 128, "dim": 64, "seed": 0}}
    out = train(policy_gradient.METHOD, demo, seed=0)
    print({k: v for k, v in out.items() if k != "weights"}, "finite" if all(
        math.isfinite(a) for a in out["accuracy"] if a is not None) else "")
