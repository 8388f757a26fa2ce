"""The hyperparameter space of the Small CNN Zoo (the paper's Table 1) and seeded sampling from it.

Run i of a zoo draws its hyperparameters from a generator seeded with (seed, dataset, i), so the
configs are a pure function of (n, dataset, seed, ...) and the first k runs of a larger sample are
the k runs of a smaller one.

The training seed (config.random_seed) follows a seed policy:
- "shared", the paper's: every run of a zoo trains with the zoo's seed, as the paper's script did
  (one global seed, no per-run seeds; the released metrics show config.random_seed 0 in every row).
  Runs with the same initializer then start from the same draws (RandomNormal and TruncatedNormal
  ones scaled by init_std), runs with the same train fraction see the same subset in the same batch
  order, and dropout masks come from one shared stream;
- "per-run": every run draws its own training seed, so no two runs share draws.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from zoolib.cnn import PAPER_ARCHITECTURE, Architecture

# Table 1: (hyperparameter, distribution, values). Ranges of the continuous ones are inferred.
SPACE: dict[str, tuple[str, tuple]] = {
    "optimizer": ("choice", ("adam", "rmsprop", "sgd")),
    "learning_rate": ("log-uniform", (5e-4, 5e-2)),
    "l2reg": ("log-uniform", (1e-8, 1e-2)),
    "dropout": ("uniform", (0.0, 0.7)),
    "init_std": ("log-uniform", (1e-3, 0.5)),
    "w_init": ("choice", ("he_normal", "orthogonal", "glorot_normal", "RandomNormal", "TruncatedNormal")),
    "b_init": ("choice", ("zeros",)),
    "activation": ("choice", ("relu", "tanh")),
    "train_fraction": ("choice", (0.1, 0.25, 0.5, 1.0)),
}
# The config.* columns of a zoo's metrics.csv.gz, as released (one per run, repeated on its checkpoints).
CONFIG_COLUMNS = [
    "config.activation",
    "config.b_init",
    "config.dataset",
    "config.dnn_architecture",
    "config.dropout",
    "config.epochs",
    "config.epochs_between_checkpoints",
    "config.init_std",
    "config.l2reg",
    "config.learning_rate",
    "config.num_layers",
    "config.num_units",
    "config.optimizer",
    "config.random_seed",
    "config.train_fraction",
    "config.w_init",
]
SEED_POLICIES = ("shared", "per-run")
DEFAULT_SEED_POLICY = "shared"  # the paper's
BATCH_SIZE = 512
CHECKPOINTS = (0, 1, 2, 3, 20, 40, 60, 80, 86)  # the epochs whose weights the paper kept (and released)
FIXED = {"layers": 3, "units": 16, "stride": 2, "epochs": CHECKPOINTS[-1], "epochs between checkpoints": 20,
         "batch size": BATCH_SIZE}


def space_table() -> pd.DataFrame:
    """Table 1 as a DataFrame (hyperparameter, distribution, values) plus the fixed settings."""
    rows = []
    for name, (kind, values) in SPACE.items():
        shown = f"[{values[0]:g}, {values[1]:g}]" if kind != "choice" else ", ".join(str(v) for v in values)
        rows.append({"hyperparameter": name, "distribution": kind, "values": shown})
    fixed = ", ".join(f"{k} {v}" for k, v in FIXED.items())
    rows.append({"hyperparameter": "fixed", "distribution": "-", "values": fixed})
    return pd.DataFrame(rows)


def _draw(rng: np.random.Generator, kind: str, values: tuple):
    if kind == "choice":
        return values[rng.integers(len(values))]
    low, high = values
    if kind == "uniform":
        return float(rng.uniform(low, high))
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def run_id(dataset: str, seed: int, index: int, arch_name: str = "cnn") -> str:
    """Stable run id (modeldir) of run `index` of a sample, e.g. 'fashion_mnist/cnn/seed0/run000042'."""
    return f"{dataset}/{arch_name}/seed{seed}/run{index:06d}"


def sample_configs(
    n: int,
    dataset: str,
    seed: int,
    epochs: int,
    epochs_between_checkpoints: int = 20,
    arch: Architecture = PAPER_ARCHITECTURE,
    arch_name: str = "cnn",
    start: int = 0,
    train_fractions: tuple[float, ...] | None = None,
    seeds: str = DEFAULT_SEED_POLICY,
) -> pd.DataFrame:
    """Runs `start`..`start + n - 1` of a seeded sample: the config.* columns and `modeldir`.

    train_fractions replaces Table 1's choices (for training sets too small for a batch at 0.1).
    seeds: "shared" (config.random_seed = `seed` for every run, the paper's) or "per-run" (each run
    draws its own).
    """
    if n < 0 or start < 0:
        raise ValueError(f"n and start must be non-negative, got n={n}, start={start}")
    if seeds not in SEED_POLICIES:
        raise ValueError(f"seeds must be one of {SEED_POLICIES}, got {seeds!r}")
    space = dict(SPACE)
    if train_fractions is not None:
        space["train_fraction"] = ("choice", tuple(train_fractions))
    dataset_key = zlib.crc32(dataset.encode())
    rows = []
    for index in range(start, start + n):
        rng = np.random.default_rng([seed, dataset_key, index])
        drawn = {name: _draw(rng, kind, values) for name, (kind, values) in space.items()}
        own_seed = int(rng.integers(2**31 - 1))  # drawn under both policies: the other draws stay the same
        rows.append(
            {
                **{f"config.{k}": v for k, v in drawn.items()},
                "config.dataset": dataset,
                "config.dnn_architecture": arch.kind,
                "config.epochs": epochs,
                "config.epochs_between_checkpoints": epochs_between_checkpoints,
                "config.num_layers": arch.num_layers,
                "config.num_units": arch.num_units,
                "config.random_seed": own_seed if seeds == "per-run" else int(seed),
                "modeldir": run_id(dataset, seed, index, arch_name),
            }
        )
    return pd.DataFrame(rows, columns=CONFIG_COLUMNS + ["modeldir"])
