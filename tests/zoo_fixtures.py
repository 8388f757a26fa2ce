"""Small zoos in the released format, written the way real copies of the files look."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zoolib.cnn import parameter_layout

STEPS = [0, 1, 2, 3, 20, 40, 60, 80, 86]


def released_style_metrics(n_runs: int, steps=STEPS, stopped_early: int = 1, seed: int = 0) -> pd.DataFrame:
    """Metrics rows like the released file: config.* columns, modeldir, step = epoch, laststep.

    The last `stopped_early` runs end after their first three checkpoints (as a diverged run does).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(n_runs):
        run_steps = steps[:3] if run >= n_runs - stopped_early else steps
        config = {
            "config.activation": rng.choice(["relu", "tanh"]),
            "config.b_init": "zeros",
            "config.dataset": "mnist",
            "config.dnn_architecture": "cnn",
            "config.dropout": rng.uniform(0, 0.7),
            "config.epochs": 86,
            "config.epochs_between_checkpoints": 20,
            "config.init_std": rng.uniform(1e-3, 0.5),
            "config.l2reg": 10 ** rng.uniform(-8, -2),
            "config.learning_rate": 10 ** rng.uniform(-3.3, -1.3),
            "config.num_layers": 3,
            "config.num_units": 16,
            "config.optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
            "config.random_seed": 0,
            "config.train_fraction": rng.choice([0.1, 0.25, 0.5, 1.0]),
            "config.w_init": rng.choice(["he_normal", "TruncatedNormal"]),
        }
        for step in run_steps:
            acc = float(rng.uniform(0.1, 0.99))
            rows.append(
                {
                    **config,
                    "modeldir": f"/tmp/zoo/run_{run:05d}",
                    "step": step,
                    "test_accuracy": acc,
                    "test_loss": -np.log(acc),
                    "train_accuracy": min(1.0, acc + 0.01),
                    "train_loss": -np.log(acc) * 0.9,
                    "laststep": step == run_steps[-1],
                }
            )
    return pd.DataFrame(rows)


def write_released_style_zoo(path: Path, n_runs: int = 6, seed: int = 0, **kwargs) -> tuple[np.ndarray, pd.DataFrame]:
    """Write a zoo directory by hand (not through zoolib.zoo.write_zoo), released-style.

    metrics.csv.gz gets pandas' unnamed index column and laststep as TRUE/FALSE strings, layout.csv
    an index column too.
    """
    path.mkdir(parents=True, exist_ok=True)
    metrics = released_style_metrics(n_runs, seed=seed, **kwargs)
    weights = np.random.default_rng(seed).normal(size=(len(metrics), 4970)).astype(np.float32)
    np.save(path / "weights.npy", weights)
    written = metrics.assign(laststep=metrics["laststep"].map({True: "TRUE", False: "FALSE"}))
    written.to_csv(path / "metrics.csv.gz", index=True)
    parameter_layout().to_csv(path / "layout.csv", index=True)
    return weights, metrics
