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


def learnable_zoo(path: Path, n_runs: int = 200, steps=(0, 1, 20, 86), seed: int = 0, arch=None,
                  dataset: str = "mnist", stopped_early: int = 1, nonfinite_runs: int = 0):
    """A zoo (written with zoolib.zoo.write_zoo) whose test accuracy is a KNOWN function of the weights.

    Each run has two latent numbers a, b ~ N(0, 1); at every checkpoint the head (last) kernel is
    scaled by exp(0.5 a) and the first bias is shifted by 0.3 b, all other parameters N(0, 0.1^2).
    Final test accuracy = sigmoid(1.5 a - b) + N(0, 0.01^2), clipped to [0.1, 1]; at epoch s it is
    0.1 + (final - 0.1) * sqrt(s / last epoch). So weight statistics (head kernel std, first bias mean)
    of any checkpoint predict the final accuracy. The last `nonfinite_runs` complete runs get NaN
    weights at their final checkpoint.
    """
    from zoolib.cnn import PAPER_ARCHITECTURE
    from zoolib.zoo import write_zoo

    arch = arch or PAPER_ARCHITECTURE
    layout = parameter_layout(arch)
    metrics = released_style_metrics(n_runs, steps=list(steps), stopped_early=stopped_early, seed=seed)
    metrics["config.dataset"] = dataset
    rng = np.random.default_rng(seed + 1000)
    runs, run_index = np.unique(metrics["modeldir"], return_inverse=True)
    a, b = rng.normal(size=len(runs)), rng.normal(size=len(runs))
    final = np.clip(1 / (1 + np.exp(-(1.5 * a - b))) + rng.normal(0, 0.01, len(runs)), 0.1, 1.0)
    progress = np.sqrt(metrics["step"].to_numpy(float) / max(steps))
    acc = 0.1 + (final[run_index] - 0.1) * progress
    metrics["test_accuracy"] = acc
    metrics["test_loss"] = -np.log(acc)
    metrics["train_accuracy"] = np.minimum(1.0, acc + 0.01)
    metrics["train_loss"] = -np.log(np.minimum(1.0, acc + 0.01)) + 1e-3
    weights = rng.normal(0, 0.1, size=(len(metrics), int(layout["end_idx"].iloc[-1]))).astype(np.float32)
    first_bias, head = layout.iloc[0], layout.iloc[-1]
    weights[:, first_bias.start_idx : first_bias.end_idx] += 0.3 * b[run_index, None]
    weights[:, head.start_idx : head.end_idx] *= np.exp(0.5 * a[run_index, None])
    complete = metrics.groupby("modeldir")["step"].transform("max").to_numpy() == max(steps)
    last_rows = np.flatnonzero(complete & (metrics["step"].to_numpy() == max(steps)))
    if nonfinite_runs:
        weights[last_rows[-nonfinite_runs:], :5] = np.nan
    return write_zoo(path, weights, metrics, layout)
