"""Metrics and the evaluation protocol: how a predictor of test accuracy is trained and scored honestly.

The protocol (`evaluate_predictor`):
1. keep one checkpoint per run (`step`: 'final' by default), then drop rows whose weights or test
   accuracy are NaN/Inf (their count is reported);
2. split RUNS into train / val / test with `zoolib.zoo.split_runs` over all runs of the zoo, so one
   seed gives the same test runs whatever the step, inputs or predictor; val is carved from the
   runs that are not test;
3. compute the inputs (`zoolib.features.compute_features`), fit on train, early-stop and choose
   settings on val ONLY, predict the test rows once;
4. score: R^2, Kendall tau-b, MSE, MAD, the tau-b ceiling from ties, bootstrap confidence intervals.
Feature frames are indexed by run id (modeldir), so a predictor can see (and a test can check) which
runs reached `fit`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from sklearn.base import BaseEstimator

from zoolib.features import compute_features
from zoolib.predictors import GBMRegressor, RandomSearch, make_predictor
from zoolib.zoo import Zoo, datasets_of, finite_rows, select_rows, split_runs


def r2(y_true, y_pred) -> float:
    """1 - MSE / Var(y_true), Var the population variance (ddof=0), as sklearn's r2_score; NaN if Var is 0."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    variance = np.var(y_true)
    return float(1.0 - np.mean((y_pred - y_true) ** 2) / variance) if variance > 0 else float("nan")


def mse(y_true, y_pred) -> float:
    """Mean squared error."""
    return float(np.mean((np.asarray(y_pred, float) - np.asarray(y_true, float)) ** 2))


def mad(y_true, y_pred) -> float:
    """Mean absolute deviation of the prediction from the truth: mean |y_pred - y_true|."""
    return float(np.mean(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))


def kendall_tau(y_true, y_pred) -> float:
    """Kendall tau-b (ties in either argument accounted for), scipy.stats.kendalltau."""
    return float(kendalltau(y_true, y_pred).statistic)


def tau_ceiling(y_true) -> float:
    """Highest tau-b a predictor without ties of its own can reach against `y_true`.

    A perfect ranker that must break the ties of y_true (e.g. y_true plus a strictly increasing
    tie-breaker) gets every untied pair right, so tau-b = (n0 - n1) / sqrt((n0 - n1) n0) =
    sqrt(1 - n1 / n0), n0 the number of pairs and n1 the pairs tied in y_true. It is 1 without ties
    and below 1 with ties (e.g. many nets stuck at the majority-class accuracy).
    """
    _, counts = np.unique(np.asarray(y_true), return_counts=True)
    n = counts.sum()
    pairs, tied = n * (n - 1) / 2, float((counts * (counts - 1) / 2).sum())
    return float(np.sqrt(1.0 - tied / pairs)) if pairs else float("nan")


METRICS = {"r2": r2, "kendall_tau": kendall_tau, "mse": mse, "mad": mad}


def bootstrap_ci(y_true, y_pred, metric: str, n_resamples: int = 200, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a metric over test rows (one row per run), seeded."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        idx = rng.integers(0, len(y_true), len(y_true))
        values.append(METRICS[metric](y_true[idx], y_pred[idx]))
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def score(y_true, y_pred, n_bootstrap: int = 200, seed: int = 0) -> dict:
    """All metrics of test predictions, with 95 % bootstrap intervals of R^2 and tau (n_bootstrap=0: none)."""
    row = {"n_test": len(y_true), "r2": r2(y_true, y_pred), "r2_ci_low": np.nan, "r2_ci_high": np.nan,
           "kendall_tau": kendall_tau(y_true, y_pred), "tau_ci_low": np.nan, "tau_ci_high": np.nan,
           "mse": mse(y_true, y_pred), "mad": mad(y_true, y_pred), "tau_ceiling": tau_ceiling(y_true)}
    if n_bootstrap:
        row["r2_ci_low"], row["r2_ci_high"] = bootstrap_ci(y_true, y_pred, "r2", n_bootstrap, seed=seed)
        row["tau_ci_low"], row["tau_ci_high"] = bootstrap_ci(y_true, y_pred, "kendall_tau", n_bootstrap, seed=seed)
    return row


def run_split(metrics: pd.DataFrame, val_fraction: float = 0.1, test_fraction: float = 0.5,
              seed: int = 0) -> pd.Series:
    """'train' / 'val' / 'test' of every run of a zoo (a Series indexed by modeldir)."""
    runs = pd.Series(metrics["modeldir"].unique())
    return pd.Series(split_runs(runs, val_fraction, test_fraction, seed), index=runs.values, name="split")


def checkpoint_rows(zoo: Zoo, step: str | int = "final") -> tuple[Zoo, int]:
    """One checkpoint per run (`step`), without rows whose weights or test accuracy are not finite.

    Returns the sub-zoo and how many selected rows were dropped as non-finite.
    """
    if step == "all":
        raise ValueError("step must be 'final' or an epoch number (one checkpoint per run), not 'all'")
    selected = zoo.take(select_rows(zoo.metrics, step))
    finite = finite_rows(selected.weights) & np.isfinite(selected.metrics["test_accuracy"].to_numpy(float))
    return (selected if finite.all() else selected.take(finite)), int((~finite).sum())


def default_categorical(predictor: str | BaseEstimator) -> str:
    """'category' for the GBM (LightGBM splits on categories), 'onehot' for the others."""
    return "category" if predictor == "gbm" or isinstance(predictor, GBMRegressor) else "onehot"


def zoo_features(zoo: Zoo, inputs: str, categorical: str = "onehot") -> pd.DataFrame:
    """The inputs of every zoo row as a DataFrame indexed by run id (modeldir)."""
    X = compute_features(zoo, inputs, categorical=categorical)
    X.index = pd.Index(zoo.metrics["modeldir"].to_numpy(), name="modeldir")
    return X


def fit_on_split(estimator: BaseEstimator, X: pd.DataFrame, y: np.ndarray, labels: np.ndarray) -> BaseEstimator:
    """Fit on the 'train' rows, early-stopping on the 'val' rows; 'test' rows are never passed."""
    train, val = labels == "train", labels == "val"
    if not train.any():
        raise ValueError("no training runs; use a larger zoo or smaller val/test fractions")
    y = np.asarray(y, float)
    if val.any():
        return estimator.fit(X[train], y[train], X_val=X[val], y_val=y[val])
    return estimator.fit(X[train], y[train])


def fit_and_score(estimator: BaseEstimator, X: pd.DataFrame, y: np.ndarray, labels: np.ndarray,
                  n_bootstrap: int = 200, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Fit on train (early stopping on val), predict the test rows once, score them.

    Returns the row (n_train, n_val and the `score` columns) and the test predictions.
    """
    test = labels == "test"
    if not test.any():
        raise ValueError("no test runs; use a larger zoo or a larger test fraction")
    fit_on_split(estimator, X, y, labels)
    y_pred = estimator.predict(X[test])
    row = {"n_train": int((labels == "train").sum()), "n_val": int((labels == "val").sum()),
           **score(np.asarray(y, float)[test], y_pred, n_bootstrap, seed)}
    return row, y_pred


def make_estimator(predictor: str | BaseEstimator, dataset: str | None, preset: str, seed: int,
                   n_search: int = 0) -> tuple[str, BaseEstimator]:
    """(name, unfitted estimator) from a predictor name, or an estimator given as is (fitted in place).

    With n_search > 0 a name gives a `RandomSearch` of n_search settings around `preset`.
    """
    if not isinstance(predictor, str):
        return type(predictor).__name__, predictor
    if n_search:
        return predictor, RandomSearch(predictor, n_search, seed, preset)
    return predictor, make_predictor(predictor, dataset, preset, seed)


def dataset_name(zoo: Zoo) -> str:
    """The zoo's config.dataset value(s), joined by '+', or 'unknown' without that column."""
    if "config.dataset" not in zoo.metrics:
        return "unknown"
    return "+".join(datasets_of(zoo.metrics))


def evaluate_predictor(
    zoo: Zoo,
    predictor: str | BaseEstimator,
    inputs: str,
    seed: int = 0,
    step: str | int = "final",
    val_fraction: float = 0.1,
    test_fraction: float = 0.5,
    preset: str = "paper",
    dataset: str | None = None,
    categorical: str | None = None,
    n_bootstrap: int = 200,
    n_search: int = 0,
) -> dict:
    """Train a predictor on a zoo's train runs (early stopping on val runs), score it on its test runs.

    `predictor` is 'linear', 'gbm', 'dnn' (settings from `preset` and `dataset`; with n_search > 0,
    the best of a seeded random search of n_search settings, chosen on val R^2) or an unfitted
    estimator with fit(X, y, X_val=None, y_val=None), fitted in place. `categorical` defaults to
    'category' for the GBM, 'onehot' otherwise. Returns one tidy row: zoo, dataset, predictor,
    settings, inputs, step, seed, n_train, n_val, n_test, r2, r2_ci_low, r2_ci_high, kendall_tau,
    tau_ci_low, tau_ci_high, mse, mad, tau_ceiling, dropped_nonfinite, seconds.
    """
    start = time.perf_counter()
    dataset = dataset or dataset_name(zoo)
    labels_by_run = run_split(zoo.metrics, val_fraction, test_fraction, seed)
    rows, dropped = checkpoint_rows(zoo, step)
    name, estimator = make_estimator(predictor, dataset, preset, seed, n_search)
    settings = "given" if not isinstance(predictor, str) else f"{preset}+search{n_search}" if n_search else preset
    X = zoo_features(rows, inputs, categorical or default_categorical(predictor))
    labels = labels_by_run.loc[X.index].to_numpy()
    row, _ = fit_and_score(estimator, X, rows.metrics["test_accuracy"].to_numpy(float), labels, n_bootstrap, seed)
    return {
        "zoo": str(zoo.path) if zoo.path else "in memory",
        "dataset": dataset, "predictor": name,
        "settings": settings,
        "inputs": inputs, "step": step, "seed": seed,
        **row, "dropped_nonfinite": dropped, "seconds": time.perf_counter() - start,
    }
