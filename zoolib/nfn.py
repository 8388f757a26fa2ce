"""The benchmark split later work uses on the Small CNN Zoo (NFN protocol, Zhou et al. 2023).

Protocol (as described in FACTS.md): keep each run's checkpoint at the final epoch (step == 86 in
the released zoo; runs that stopped early have none), order those rows with a fixed shuffle, put
the last half in test, and split the first half 80/20 into train/val with random.Random(0). Model
selection on val Kendall tau; the metric is Kendall tau-b, reported next to its tie ceiling
(zoolib.evaluation.tau_ceiling: the tau-b of a perfect, tie-free ranker; FACTS.md: many SVHN-GS ReLU
nets sit exactly at the majority-class accuracy, so the ceiling there is well below 1).

One departure, stated wherever the split is used: the NFN code orders the rows with a fixed shuffle
file that we do not have. We use a seeded NumPy permutation instead (`np.random.default_rng(seed)`,
seed 0), so the split SIZES match the published ones but the MEMBERS differ from NFN's; numbers are
comparable in distribution, not net for net.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

PUBLISHED_SPLIT_SIZES = {"cifar10": (12_000, 3_000, 15_000), "svhn_cropped": (11_995, 2_999, 14_994)}
PUBLISHED_TAU = pd.DataFrame(
    {"cifar10": [0.915, 0.922, 0.934, 0.935], "svhn_cropped": [0.843, 0.856, 0.931, 0.872]},
    index=pd.Index(["StatNN", "NFN_NP", "NFN_HNP", "NG-T"], name="method"),
)
"""Kendall tau-b on the test split as published (NG-T from a secondary source)."""


def final_rows(metrics: pd.DataFrame) -> np.ndarray:
    """Row positions of checkpoints at the run's final epoch (config.epochs, else the zoo's last step)."""
    steps = metrics["step"].to_numpy()
    final = metrics["config.epochs"].to_numpy() if "config.epochs" in metrics else np.full(len(steps), steps.max())
    return np.flatnonzero(steps == final)


def nfn_split(metrics: pd.DataFrame, activation: str | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Row positions (into `metrics`) of the NFN protocol's train, val and test nets.

    The split is made on all final-epoch rows; `activation` ('relu' or 'tanh') then keeps only those
    nets in each part, so a net sits on the same side whichever subset is asked for.
    """
    rows = final_rows(metrics)
    if rows.size < 4:
        raise ValueError(
            f"only {rows.size} rows at the final epoch; the NFN split needs final checkpoints "
            "(step == config.epochs) of at least 4 runs"
        )
    order = rows[np.random.default_rng(seed).permutation(rows.size)]
    half = int(0.5 * rows.size)
    first = order[:half].tolist()
    random.Random(0).shuffle(first)
    n_train = int(0.8 * len(first))
    split = {"train": np.array(first[:n_train]), "val": np.array(first[n_train:]), "test": order[half:]}
    if activation is not None:
        if "config.activation" not in metrics:
            raise ValueError("activation subset asked for, but the metrics have no config.activation column")
        acts = metrics["config.activation"].astype(str).to_numpy()
        if activation not in set(acts):
            raise ValueError(f"no {activation!r} nets; the zoo's activations are {sorted(set(acts))}")
        split = {name: part[acts[part] == activation] for name, part in split.items()}
    return split


def check_split_sizes(split: dict[str, np.ndarray], dataset: str) -> dict[str, object]:
    """Compare split sizes with the published NFN ones; `match` is None where none were published."""
    sizes = tuple(len(split[name]) for name in ("train", "val", "test"))
    published = PUBLISHED_SPLIT_SIZES.get(dataset)
    match = None if published is None else sizes == published
    if match is None:
        message = f"{dataset}: split sizes {sizes}; no published NFN sizes to compare with"
    else:
        message = f"{dataset}: split sizes {sizes} {'match' if match else 'DIFFER FROM'} the published {published}"
    return {"dataset": dataset, "sizes": sizes, "published": published, "match": match, "message": message}

