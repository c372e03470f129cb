"""The "bandit-digits" row: a small, fixed subset of the same MNIST split the results train on,
frozen as a result so that the article's live bandit (static/js/explore-bandit.js) trains in
the browser without MNIST, on a fresh clone and on Pages alike.

The first n_train digits of the train split and the first n_eval of the eval split (the split
is already a seeded random permutation, experiments/data.py), each 28x28 image averaged over
pool x pool blocks (14x14 for pool 2) and quantised to `levels` grey levels: pixel value
level / (levels - 1). Pixels are packed two per byte (high nibble first) and base64-encoded;
digits are a string of '0'..'9'.
"""
from __future__ import annotations

import base64
import hashlib
import time

import numpy as np
import torch

from experiments import data as datasets

SOURCE = {"dataset": "MNIST", "creators": "Yann LeCun and Corinna Cortes",
          "url": "http://yann.lecun.com/exdb/mnist/", "licence": "CC BY-SA 3.0",
          "licence_url": "https://creativecommons.org/licenses/by-sa/3.0/"}


def quantised(x: torch.Tensor, pool: int, levels: int) -> np.ndarray:
    """(N, 784) floats in [0, 1] -> (N, (28 / pool)^2) grey levels 0..levels-1 (uint8)."""
    side = datasets.IMAGE_SIDE
    pooled = torch.nn.functional.avg_pool2d(x.reshape(-1, 1, side, side).double(), pool)
    return (pooled.reshape(len(x), -1) * (levels - 1)).round().to(torch.uint8).numpy()


def pack(levels: np.ndarray) -> bytes:
    flat = levels.reshape(-1)
    if len(flat) % 2:
        flat = np.append(flat, 0)
    return ((flat[0::2] << 4) | flat[1::2]).astype(np.uint8).tobytes()


def unpack(packed: bytes, n: int, dim: int) -> np.ndarray:
    """The inverse of pack: (n, dim) grey levels."""
    raw = np.frombuffer(packed, dtype=np.uint8)
    flat = np.stack([raw >> 4, raw & 15], axis=1).reshape(-1)[:n * dim]
    return flat.reshape(n, dim)


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    start = time.perf_counter()
    pool, levels = int(config["pool"]), int(config["levels"])
    if levels > 16:
        raise ValueError(f"levels must be at most 16 (two pixels per byte), not {levels}")
    data = datasets.load(config["data"], "cpu")
    out = {"side": datasets.IMAGE_SIDE // pool, "pool": pool, "levels": levels,
           "source": dict(SOURCE)}
    for part, x, y in (("train", data.x_train, data.y_train), ("eval", data.x_eval, data.y_eval)):
        n = int(config[f"n_{part}"])
        packed = pack(quantised(x[:n], pool, levels))
        out[part] = {"n": n, "digits": "".join(str(int(d)) for d in y[:n]),
                     "pixels": base64.b64encode(packed).decode("ascii"),
                     "sha256": hashlib.sha256(packed).hexdigest()}
    if progress:
        progress(1, 1)
    return {**out, "wall_time_s": time.perf_counter() - start}


def merge(config: dict, parts: list[dict]) -> dict:
    return parts[0]  # one deterministic export
