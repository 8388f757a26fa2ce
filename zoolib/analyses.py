"""The smaller analyses behind the book's pages, each a function of zoos returning tidy frames or a result
that shows itself (`readable`) and says what it concludes (`finding`, by the rules of `zoolib.claims`).

- `learning_curve`: R^2 and Kendall tau against the number of training nets (how many nets the method needs);
- `bias_ranges`: first- and final-layer bias ranges of every net (paper Figure 4), `rank_correlation`
  of a statistic with accuracy (Kendall tau with a bootstrap interval) and `bias_range_correlations`;
- `gbm_importance`: which weight statistics a fitted GBM splits on (share of the total gain);
- `readable_zoos` / `architecture_table`: which architectures the fixed-size `wstats-arch` input can read,
  and what each is (layers, parameters, nets, training nets per fit: why a GBM may predict a constant).
They follow the protocol of `zoolib.evaluation` (runs split by seed, validation for early stopping
and model choice, test runs scored once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zoolib import claims
from zoolib.claims import Claim, Estimate, Finding, interval_table
from zoolib.evaluation import (checkpoint_rows, finite_checkpoints, fit_and_predict, fit_on_split, paired, run_split,
                               run_splits, scored, zoo_features)
from zoolib.experiments import run_tasks
from zoolib.features import feature_names, layers_of
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


def _curve_splits(metrics: pd.DataFrame, runs: np.ndarray, seed: int, folds: int | None, val_fraction: float,
                  test_fraction: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The split labels of `runs` (the final rows' modeldirs, in their order; splits drawn over the zoo's
    `metrics`) and each split's training rows in the seeded order that nests the training subsets (the first n)."""
    splits = [split.loc[runs].to_numpy() for split in run_splits(metrics, folds, val_fraction, test_fraction, seed)]
    orders = [np.flatnonzero(labels == "train")[np.random.default_rng(seed).permutation((labels == "train").sum())]
              for labels in splits]
    return splits, orders


def _curve_point(zoo: Zoo, predictor: str, inputs: str, n: int, seed: int, preset: str, folds: int | None,
                 val_fraction: float, test_fraction: float) -> tuple[dict, pd.DataFrame]:
    """One point of a curve: the predictor fitted on the first n training runs of each split."""
    rows, _ = checkpoint_rows(zoo, "final")
    splits, orders = _curve_splits(zoo.metrics, rows.metrics["modeldir"].to_numpy(), seed, folds, val_fraction,
                                   test_fraction)
    X = zoo_features(rows, inputs, input_encoding(make_predictor(predictor)))
    y = rows.metrics["test_accuracy"].to_numpy(float)
    nested = []
    for labels, order in zip(splits, orders):
        subset = labels.copy()
        subset[order[n:]] = "unused"
        nested.append(subset)
    dataset = "+".join(datasets_of(zoo.metrics)) or None
    p, split_sizes = fit_and_predict(lambda: make_predictor(predictor, dataset, preset, seed), X, y, nested)
    return {**split_sizes, "n_train": n, "predictor": predictor, "inputs": inputs}, p.assign(n_train=n, predictor=predictor)


@dataclass
class LearningCurve:
    """Per collection, predictor and number of training nets: `scores` (n_train, n_test, r2, kendall_tau with
    intervals, ...) and `predictions` (collection, predictor, n_train, y_true, y_pred, indexed by run)."""

    scores: pd.DataFrame
    predictions: pd.DataFrame
    n_bootstrap: int
    seed: int

    def readable(self) -> pd.DataFrame:
        return interval_table(self.scores, ["collection", "predictor", "n_train"])

    def difference(self, collection: str, predictor: str, n_a: int, n_b: int, metric: str = "r2") -> tuple[Estimate, int]:
        """metric with n_a training nets minus metric with n_b, paired on the same test nets."""
        p = self.predictions[(self.predictions["collection"] == collection) & (self.predictions["predictor"] == predictor)]
        return paired(p[p["n_train"] == n_a], p[p["n_train"] == n_b], metric, self.n_bootstrap, self.seed)

    def finding(self, predictor: str = "gbm") -> Finding:
        """The more_nets claim: the largest training size beats the smallest (paired R^2 difference, per
        collection, combined)."""
        parts, verdicts = [], []
        for collection, curve in self.scores[self.scores["predictor"] == predictor].groupby("collection", sort=False):
            curve = curve.sort_values("n_train")
            small, large = curve.iloc[0], curve.iloc[-1]
            difference, n = self.difference(collection, predictor, int(large.n_train), int(small.n_train))
            verdicts.append(claims.above(difference))
            parts.append(f"{collection}: {predictor.upper()} R² {Estimate.from_row(large)} with {int(large.n_train)} "
                         f"training nets against {Estimate.from_row(small)} with {int(small.n_train)}, "
                         + claims.compared(difference, n, "a difference of"))
        verdict = claims.combine(verdicts)
        return Finding((Claim("more_nets", "; ".join(parts), verdict),),
                       "; ".join(parts) + f". More training nets give a better {predictor.upper()} here: {verdict}. "
                       "The distance from the last point to the star is what a larger zoo would have to close.")


def learning_curve(zoos: dict[str, Zoo], predictors: Sequence[str] = ("gbm",), inputs: str = "wstats-layers:0,1,2,3",
                   sizes: Sequence[int] | None = None, seed: int = 0, preset: str = "paper", n_bootstrap: int = 200,
                   folds: int | None = None, val_fraction: float = 0.1, test_fraction: float = 0.5, client=None,
                   scheduler: str | None = None, workers: int | None = None) -> LearningCurve:
    """Test R^2 and Kendall tau when the predictor sees only the first n training runs, for each n in `sizes`.

    The split of runs is that of Table 2 (same seed, single split or `folds` cross-fitting): the validation
    and test runs are the same for every n, and the training subsets are nested (the first n of one seeded
    shuffle of each split's training runs), so two sizes compare on the same test nets. Final checkpoints.
    Default sizes: `learning_curve_sizes` of the fewest training runs of a split (the largest size every
    split allows). Each point (collection, predictor, size) is a task (`zoolib.experiments.run_tasks`: client,
    scheduler, workers).
    """
    protocol = (seed, folds, val_fraction, test_fraction)
    points = []  # (collection, predictor, n): one task each
    for collection, zoo in zoos.items():
        positions, _ = finite_checkpoints(zoo, "final")  # the final rows; their weights are not copied here
        runs = zoo.metrics["modeldir"].to_numpy()[positions]
        largest = min(len(order) for order in _curve_splits(zoo.metrics, runs, *protocol)[1])
        curve = sizes if sizes is not None else learning_curve_sizes(largest)
        for n in curve:
            if not 1 <= n <= largest:
                raise ValueError(f"size {n} is outside 1..{largest} (the training runs of the splits of {collection!r})")
        points += [(collection, predictor, n) for predictor in predictors for n in curve]
    tasks = [(_curve_point, (zoos[collection], predictor, inputs, n, seed, preset, folds, val_fraction, test_fraction))
             for collection, predictor, n in points]
    scores, predictions = [], []
    for (collection, _, _), (row, p) in zip(points, run_tasks(tasks, "learning curve", client, scheduler, workers)):
        scores.append({"collection": collection, **row, **scored(p, n_bootstrap, seed)})
        predictions.append(p.assign(collection=collection))
    return LearningCurve(pd.DataFrame(scores), pd.concat(predictions), n_bootstrap, seed)


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


RANGES = ("first-layer bias range", "final-layer bias range")


@dataclass
class BiasRangeCorrelations:
    """Kendall tau of each bias range with test accuracy, per collection, with its bootstrap interval."""

    correlations: dict[tuple[str, str], Estimate]  # (collection, one of RANGES) -> tau
    nets: dict[str, int]  # collection -> nets with finite weights

    def readable(self) -> pd.DataFrame:
        return pd.DataFrame([{"collection": c, "statistic": statistic, "nets": self.nets[c],
                              "Kendall τ with test accuracy [95 % CI]": str(tau)}
                             for (c, statistic), tau in self.correlations.items()]).set_index(["collection", "statistic"])

    def finding(self, importance: dict[str, pd.Series] | None = None) -> Finding:
        """The bias_ranges claim: both ranges rank the nets (tau's interval excludes 0, either sign), per
        collection, combined; with the GBM's top three statistics (`gbm_importance`) when given."""
        parts, verdicts = [], []
        for c in self.nets:
            first, last = (self.correlations[(c, statistic)] for statistic in RANGES)
            verdicts.append(claims.combine([claims.nonzero(first), claims.nonzero(last)]))
            parts.append(f"{c}: Kendall τ of accuracy with the first-layer range {first}, with the final-layer range "
                         f"{last} ({verdicts[-1]})")
        verdict = claims.combine(verdicts)
        tops = [f"{c}: the GBM's top three statistics ({', '.join(top.index)}) take {top.sum():.0%} of its gain"
                for c, top in ((c, share.nlargest(3)) for c, share in (importance or {}).items()) if top.sum() > 0]
        return Finding((Claim("bias_ranges", "; ".join(parts), verdict),),
                       "; ".join(parts + tops) + f". Both bias ranges rank the nets by accuracy (in either direction): "
                       f"{verdict}.")


def bias_range_correlations(frames: dict[str, pd.DataFrame], n_bootstrap: int = 200,
                            seed: int = 0) -> BiasRangeCorrelations:
    """`rank_correlation` of each bias range with accuracy, for each collection's `bias_ranges` frame."""
    return BiasRangeCorrelations(
        {(c, statistic): Estimate(*rank_correlation(frame[statistic], frame["test_accuracy"], n_bootstrap, seed))
         for c, frame in frames.items() for statistic in RANGES},
        {c: len(frame) for c, frame in frames.items()})


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


def architecture_table(zoos: dict[str, Zoo], folds: int | None = None, val_fraction: float = 0.1,
                       test_fraction: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """One row per architecture: layers (with weights), parameters, nets, training nets per fit (the protocol's
    split, single or `folds`) and epochs."""
    rows = []
    for name, zoo in zoos.items():
        splits = run_splits(zoo.metrics, folds, val_fraction, test_fraction, seed)
        rows.append({"architecture": name, "layers": len(layers_of(zoo.layout)), "parameters": zoo.weights.shape[1],
                     "nets": zoo.metrics["modeldir"].nunique(),
                     "training nets per fit": int(round(np.mean([(s == "train").sum() for s in splits]))),
                     "epochs": int(zoo.metrics["step"].max())})
    return pd.DataFrame(rows).set_index("architecture")
