"""The smaller analyses behind the book's pages, each a function of zoos returning tidy frames.

- `learning_curve`: R^2 and Kendall tau against the number of training nets (how many nets the method needs);
- `bias_ranges`: first- and final-layer bias ranges of every net (paper Figure 4), and `rank_correlation`
  of a statistic with accuracy (Kendall tau with a bootstrap interval);
- `gbm_importance`: which weight statistics a fitted GBM splits on (share of the total gain);
- `readable_zoos` / `training_runs`: which architectures the fixed-size `wstats-arch` input can read,
  and how many training runs each has (why a GBM may predict a constant).
They follow the protocol of `zoolib.evaluation` (runs split by seed, validation for early stopping
and model choice, test runs scored once).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from zoolib.evaluation import checkpoint_rows, fit_and_score, fit_on_split, run_split, zoo_features
from zoolib.features import feature_names
from zoolib.metrics import bootstrap_ci, kendall_tau
from zoolib.predictors import input_encoding, make_predictor
from zoolib.zoo import Zoo, datasets_of


def learning_curve_sizes(n_train: int, points: int = 5, smallest: int = 8) -> list[int]:
    """Numbers of training nets for a learning curve: up to `points` roughly log-spaced, ending at
    n_train and starting at `smallest` (or at a quarter of n_train, at least 2, when that is less);
    a small zoo gets fewer points (one per 8 training nets, at least 2), so its curve stays cheap."""
    if n_train < 1:
        raise ValueError("a learning curve needs at least one training run")
    low = min(smallest, max(2, n_train // 4), n_train)
    points = min(points, max(2, n_train // 8))
    return sorted({int(round(n)) for n in np.geomspace(low, n_train, points)})


def learning_curve(zoo: Zoo, predictor: str = "gbm", inputs: str = "wstats-layers:0,1,2,3",
                   sizes: Sequence[int] | None = None, seed: int = 0, preset: str = "paper",
                   n_bootstrap: int = 200, val_fraction: float = 0.1, test_fraction: float = 0.5) -> pd.DataFrame:
    """Test R^2 and Kendall tau when the predictor sees only the first n training runs, for each n in `sizes`.

    The split of runs is that of Table 2 (same seed): the validation and test runs are the same for
    every n, and the training subsets are nested (the first n of one seeded shuffle of the training
    runs). Final checkpoints. Rows: n_train, n_val, n_test, predictor, inputs, r2, kendall_tau, CIs,
    mse, mad, tau_ceiling. Default sizes: `learning_curve_sizes` of all training runs.
    """
    rows, _ = checkpoint_rows(zoo, "final")
    estimator = make_predictor(predictor, None, preset, seed)
    X = zoo_features(rows, inputs, input_encoding(estimator))
    y = rows.metrics["test_accuracy"].to_numpy(float)
    labels = run_split(zoo.metrics, val_fraction, test_fraction, seed).loc[X.index].to_numpy()
    train = np.flatnonzero(labels == "train")
    order = train[np.random.default_rng(seed).permutation(len(train))]
    dataset = "+".join(datasets_of(zoo.metrics)) or None
    out = []
    for n in sizes if sizes is not None else learning_curve_sizes(len(train)):
        if not 1 <= n <= len(train):
            raise ValueError(f"size {n} is outside 1..{len(train)} (the training runs of this zoo)")
        subset = labels.copy()
        subset[order[n:]] = "unused"
        row, _ = fit_and_score(make_predictor(predictor, dataset, preset, seed), X, y, subset, n_bootstrap, seed)
        out.append({**row, "predictor": predictor, "inputs": inputs})
    return pd.DataFrame(out)


def bias_ranges(zoo: Zoo) -> tuple[pd.DataFrame, int]:
    """Per net (final checkpoint): the range (max - min) of the first and of the final layer's biases,
    and the test accuracy. Returns the frame (indexed by run) and how many non-finite nets were left out."""
    final, dropped = checkpoint_rows(zoo, "final")
    stats = zoo_features(final, "wstats-layers:0,3")
    last = max(int(c.split(".")[0].removeprefix("layer")) for c in stats.columns)
    frame = pd.DataFrame({
        "first-layer bias range": stats["layer0.bias.p100"] - stats["layer0.bias.p0"],
        "final-layer bias range": stats[f"layer{last}.bias.p100"] - stats[f"layer{last}.bias.p0"],
        "test_accuracy": final.metrics["test_accuracy"].to_numpy(float),
    }, index=stats.index)
    return frame, dropped


def rank_correlation(x, accuracy, n_bootstrap: int = 200, seed: int = 0) -> tuple[float, float, float]:
    """Kendall tau-b of a statistic with accuracy, and its 95 % bootstrap interval over nets."""
    low, high = bootstrap_ci(accuracy, x, "kendall_tau", n_bootstrap, seed=seed) if n_bootstrap else (np.nan, np.nan)
    return kendall_tau(accuracy, x), low, high


def gbm_importance(zoo: Zoo, inputs: str = "wstats-layers:0,1,2,3", preset: str = "paper",
                   seed: int = 0) -> pd.Series:
    """Share of the total split gain of each input of a GBM fitted on the training runs (early
    stopping and, for preset 'sized', settings chosen on the validation runs); all zero when the
    GBM made no split. Final checkpoints, the split of Table 2."""
    final, _ = checkpoint_rows(zoo, "final")
    X = zoo_features(final, inputs, "category")
    labels = run_split(zoo.metrics).loc[X.index].to_numpy()
    gbm = make_predictor("gbm", "+".join(datasets_of(zoo.metrics)) or None, preset, seed)
    fit_on_split(gbm, X, final.metrics["test_accuracy"].to_numpy(float), labels)
    return pd.Series(gbm.feature_importances_, index=X.columns, name="share of the total gain")


def readable_zoos(zoos: dict[str, Zoo], inputs: str = "wstats-arch") -> tuple[dict[str, Zoo], dict[str, str]]:
    """The zoos whose layout `inputs` can be computed on, and for the others why not."""
    readable, unreadable = {}, {}
    for name, zoo in zoos.items():
        try:
            feature_names(zoo, inputs)
        except ValueError as err:
            unreadable[name] = str(err)
        else:
            readable[name] = zoo
    return readable, unreadable


def training_runs(zoos: dict[str, Zoo], val_fraction: float = 0.1, test_fraction: float = 0.5,
                  seed: int = 0) -> dict[str, int]:
    """How many runs of each zoo the protocol's split puts in training."""
    return {name: int((run_split(zoo.metrics, val_fraction, test_fraction, seed) == "train").sum())
            for name, zoo in zoos.items()}
