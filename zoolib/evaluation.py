"""The evaluation protocol: how a predictor of test accuracy is trained and scored honestly.

The protocol (`evaluate_predictor`):
1. keep one checkpoint per run (`step`: 'final' by default), then drop rows whose weights or test
   accuracy are NaN/Inf (their count is reported);
2. split RUNS into train / val / test with `split_runs` over all runs of the zoo, so one
   seed gives the same test runs whatever the step, inputs or predictor; val is carved from the
   runs that are not test;
3. compute the inputs (`zoolib.features.compute_features`), fit on train, early-stop and choose
   settings on val ONLY, predict the test rows once;
4. score with `zoolib.metrics.score`: R^2, Kendall tau-b, MSE, MAD, the tau-b ceiling from ties,
   bootstrap confidence intervals.
Feature frames are indexed by run id (modeldir), so a predictor can see (and a test can check) which
runs reached `fit`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from zoolib.features import compute_features
from zoolib.metrics import score
from zoolib.predictors import input_encoding, make_predictor
from zoolib.zoo import Zoo, datasets_of, finite_rows, select_rows


def split_runs(
    runs: pd.Series | np.ndarray,
    val_fraction: float = 0.1,
    test_fraction: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """Label every row 'train', 'val' or 'test' so that all rows of one run share a label.

    Runs (not rows) are shuffled with `seed`; the first `test_fraction` of runs go to test, the next
    `val_fraction` to validation (carved out of the training runs), the rest to train.
    """
    if not (0 <= val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"bad split fractions: val {val_fraction}, test {test_fraction}")
    codes, unique_runs = pd.factorize(pd.Series(runs), sort=True)
    order = np.random.default_rng(seed).permutation(len(unique_runs))
    n_test = int(round(test_fraction * len(unique_runs)))
    n_val = int(round(val_fraction * len(unique_runs)))
    run_label = np.empty(len(unique_runs), dtype=object)
    run_label[order[:n_test]] = "test"
    run_label[order[n_test : n_test + n_val]] = "val"
    run_label[order[n_test + n_val :]] = "train"
    return run_label[codes].astype(str)


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
    the encoding the estimator declares (`zoolib.predictors.input_encoding`). Returns one tidy row: zoo, dataset, predictor,
    settings, chosen (the settings a search chose on val, '' without search), inputs, step, seed, n_train, n_val, n_test, r2, r2_ci_low, r2_ci_high, kendall_tau,
    tau_ci_low, tau_ci_high, mse, mad, tau_ceiling, dropped_nonfinite, seconds.
    """
    start = time.perf_counter()
    dataset = dataset or "+".join(datasets_of(zoo.metrics)) or "unknown"
    labels_by_run = run_split(zoo.metrics, val_fraction, test_fraction, seed)
    rows, dropped = checkpoint_rows(zoo, step)
    estimator = make_predictor(predictor, dataset, preset, seed, n_search)
    name = predictor if isinstance(predictor, str) else type(predictor).__name__
    settings = "given" if not isinstance(predictor, str) else f"{preset}+search{n_search}" if n_search else preset
    X = zoo_features(rows, inputs, categorical or input_encoding(estimator))
    labels = labels_by_run.loc[X.index].to_numpy()
    row, _ = fit_and_score(estimator, X, rows.metrics["test_accuracy"].to_numpy(float), labels, n_bootstrap, seed)
    chosen = getattr(estimator, "best_params_", None)  # what a search chose on the validation runs
    return {
        "zoo": str(zoo.path) if zoo.path else "in memory",
        "dataset": dataset, "predictor": name,
        "settings": settings, "chosen": "" if chosen is None else ", ".join(f"{k}={v:g}" for k, v in chosen.items()),
        "inputs": inputs, "step": step, "seed": seed,
        **row, "dropped_nonfinite": dropped, "seconds": time.perf_counter() - start,
    }
