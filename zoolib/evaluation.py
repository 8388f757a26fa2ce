"""The evaluation protocol: how a predictor of test accuracy is trained and scored honestly.

The protocol (`evaluate_predictor`):
1. keep one checkpoint per run (`step`: 'final' by default), then drop rows whose weights or test
   accuracy are NaN/Inf (their count is reported);
2. split RUNS over all runs of the zoo, so one seed gives the same test runs whatever the step,
   inputs or predictor (`run_splits`): either the paper's single split into train / val / test
   (`folds=None`, `split_runs`), or cross-fitting (`folds=K`, `fold_splits`): K splits whose test
   parts are K disjoint folds covering every run, so every run is predicted once by a model that
   never saw it; val is always carved from the runs that are not test;
3. compute the inputs (`zoolib.features.compute_features`); for each split, fit on train,
   early-stop and choose settings on val ONLY, predict the test rows once (`fit_and_predict`);
4. score all test predictions together with `zoolib.metrics.score`: R^2, Kendall tau-b, MSE, MAD,
   the tau-b ceiling from ties, bootstrap confidence intervals over runs.
Feature frames are indexed by run id (modeldir), so a predictor can see (and a test can check) which
runs reached `fit`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from zoolib.claims import Estimate
from zoolib.features import compute_features
from zoolib.metrics import paired_difference, score
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


def fold_splits(runs: pd.Series | np.ndarray, folds: int, val_fraction: float = 0.1, seed: int = 0) -> list[np.ndarray]:
    """Cross-fitting: `folds` labelings of the rows ('train' / 'val' / 'test', all rows of a run alike).

    Runs are shuffled with `seed` and dealt into `folds` folds; in the k-th labeling fold k is 'test',
    the first `val_fraction` of all runs among the others (in the shuffled order) is 'val', the rest 'train'.
    Every run is 'test' in exactly one labeling.
    """
    if folds < 2 or not 0 <= val_fraction < 1 - 1 / folds:
        raise ValueError(f"cross-fitting needs folds >= 2 and val_fraction below 1 - 1/folds; got folds={folds}, "
                         f"val_fraction={val_fraction}")
    codes, unique_runs = pd.factorize(pd.Series(runs), sort=True)
    order = np.random.default_rng(seed).permutation(len(unique_runs))
    fold = np.empty(len(unique_runs), int)
    fold[order] = np.arange(len(unique_runs)) % folds
    n_val = int(round(val_fraction * len(unique_runs)))
    out = []
    for k in range(folds):
        run_label = np.full(len(unique_runs), "train", dtype=object)
        run_label[fold == k] = "test"
        run_label[[r for r in order if fold[r] != k][:n_val]] = "val"
        out.append(run_label[codes].astype(str))
    return out


def run_splits(metrics: pd.DataFrame, folds: int | None = None, val_fraction: float = 0.1,
               test_fraction: float = 0.5, seed: int = 0) -> list[pd.Series]:
    """The split(s) of a zoo's runs, each a Series of 'train' / 'val' / 'test' indexed by modeldir: the
    paper's single split (`folds=None`: `split_runs`, test_fraction of the runs are test) or `folds`
    cross-fitting splits (`fold_splits`; test_fraction is not used)."""
    runs = pd.Series(metrics["modeldir"].unique())
    labels = (fold_splits(runs, folds, val_fraction, seed) if folds else
              [split_runs(runs, val_fraction, test_fraction, seed)])
    return [pd.Series(label, index=runs.values, name="split") for label in labels]


def run_split(metrics: pd.DataFrame, val_fraction: float = 0.1, test_fraction: float = 0.5,
              seed: int = 0) -> pd.Series:
    """'train' / 'val' / 'test' of every run of a zoo (a Series indexed by modeldir): the single split."""
    return run_splits(metrics, None, val_fraction, test_fraction, seed)[0]


def _one_per_run(metrics: pd.DataFrame, step: str | int) -> np.ndarray:
    if step == "all":
        raise ValueError("step must be 'final' or an epoch number (one checkpoint per run), not 'all'")
    return select_rows(metrics, step)


def _finite(zoo: Zoo, rows: np.ndarray | None = None) -> np.ndarray:
    """Mask of the rows (all, or the positions `rows`) whose weights and test accuracy are finite."""
    accuracy = zoo.metrics["test_accuracy"].to_numpy(float)
    return finite_rows(zoo.weights, rows) & np.isfinite(accuracy if rows is None else accuracy[rows])


def finite_checkpoints(zoo: Zoo, step: str | int = "final") -> tuple[np.ndarray, int]:
    """Row positions of one checkpoint per run (`step`) whose weights and test accuracy are finite, and how
    many selected rows were not. The weights are checked chunk by chunk, never copied whole."""
    selected = _one_per_run(zoo.metrics, step)
    finite = _finite(zoo, selected)
    return selected[finite], int((~finite).sum())


def checkpoint_rows(zoo: Zoo, step: str | int = "final") -> tuple[Zoo, int]:
    """The rows of `finite_checkpoints` as a sub-zoo (their weights read once, into memory), and how many
    selected rows were dropped as non-finite."""
    selected = zoo.take(_one_per_run(zoo.metrics, step))
    finite = _finite(selected)
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


def fit_and_predict(make_estimator: Callable[[], BaseEstimator], X: pd.DataFrame, y: np.ndarray,
                    splits: Sequence[np.ndarray]) -> tuple[pd.DataFrame, dict]:
    """For each split (labels aligned with X's rows): fit a new estimator on its 'train' rows (early stopping
    and any search on its 'val' rows), predict its 'test' rows once.

    Returns the predictions (indexed like X: y_true, y_pred, fold = the split that predicted the row) and
    the sizes {"n_train", "n_val"} (the mean over splits, rounded, and "folds": how many splits).
    """
    y = np.asarray(y, float)
    predictions, n_train, n_val = [], [], []
    for k, labels in enumerate(splits):
        test = labels == "test"
        if not test.any():
            continue
        estimator = fit_on_split(make_estimator(), X, y, labels)
        predictions.append(pd.DataFrame({"y_true": y[test], "y_pred": estimator.predict(X[test]), "fold": k},
                                        index=X.index[test]))
        n_train.append(int((labels == "train").sum()))
        n_val.append(int((labels == "val").sum()))
    if not predictions:
        raise ValueError("no test runs; use a larger zoo or a larger test fraction")
    sizes = {"n_train": int(round(np.mean(n_train))), "n_val": int(round(np.mean(n_val))), "folds": len(splits)}
    return pd.concat(predictions), sizes


def predict_runs(
    zoo: Zoo,
    predictor: str | BaseEstimator,
    inputs: str,
    seed: int = 0,
    step: str | int = "final",
    val_fraction: float = 0.1,
    test_fraction: float = 0.5,
    folds: int | None = None,
    preset: str = "paper",
    dataset: str | None = None,
    categorical: str | None = None,
    n_search: int = 0,
) -> tuple[dict, pd.DataFrame]:
    """The protocol up to the predictions: one checkpoint per run, the split(s) of `run_splits` (the single
    split, or `folds` cross-fitting splits), one fit per split, its test runs predicted once.

    Returns the description row (zoo, dataset, predictor, settings, chosen, inputs, step, seed, n_train,
    n_val, folds, dropped_nonfinite) and the predictions (indexed by modeldir: y_true, y_pred, fold).
    A given estimator is fitted in place on the single split and cloned for each fold.
    """
    dataset = dataset or "+".join(datasets_of(zoo.metrics)) or "unknown"
    splits = run_splits(zoo.metrics, folds, val_fraction, test_fraction, seed)
    rows, dropped = checkpoint_rows(zoo, step)
    fitted: list[BaseEstimator] = []

    def make_estimator() -> BaseEstimator:
        estimator = make_predictor(predictor, dataset, preset, seed, n_search)
        fitted.append(clone(estimator) if folds and not isinstance(predictor, str) else estimator)
        return fitted[-1]

    X = zoo_features(rows, inputs, categorical or input_encoding(make_predictor(predictor, dataset, preset, seed)))
    predictions, sizes = fit_and_predict(make_estimator, X, rows.metrics["test_accuracy"].to_numpy(float),
                                         [split.loc[X.index].to_numpy() for split in splits])
    chosen = [getattr(e, "best_params_", None) for e in fitted]  # what each search chose on its validation runs
    chosen = list(dict.fromkeys(", ".join(f"{k}={v:g}" for k, v in c.items()) for c in chosen if c is not None))
    return {
        "zoo": str(zoo.path) if zoo.path else "in memory",
        "dataset": dataset, "predictor": predictor if isinstance(predictor, str) else type(predictor).__name__,
        "settings": "given" if not isinstance(predictor, str) else f"{preset}+search{n_search}" if n_search else preset,
        "chosen": " | ".join(chosen), "inputs": inputs, "step": step, "seed": seed, **sizes,
        "dropped_nonfinite": dropped,
    }, predictions


def scored(predictions: pd.DataFrame, n_bootstrap: int, seed: int) -> dict:
    """`zoolib.metrics.score` of a frame of test predictions (y_true, y_pred)."""
    return score(predictions["y_true"].to_numpy(float), predictions["y_pred"].to_numpy(float), n_bootstrap, seed)


def paired(a: pd.DataFrame, b: pd.DataFrame, metric: str, n_bootstrap: int, seed: int) -> tuple[Estimate, int]:
    """metric(a) - metric(b) on the runs both predicted (frames indexed by run: y_true, y_pred), with the
    paired bootstrap interval, and the number of runs compared."""
    common = a.index.intersection(b.index)
    a, b = a.loc[common], b.loc[common]
    return Estimate.of(paired_difference(a["y_true"], a["y_pred"], b["y_pred"], metric, n_bootstrap, seed=seed)), len(common)


def evaluate_runs(zoo: Zoo, predictor: str | BaseEstimator, inputs: str, n_bootstrap: int = 200,
                  **protocol) -> tuple[dict, pd.DataFrame]:
    """`evaluate_predictor`'s row and the test predictions behind it (for paired comparisons)."""
    start = time.perf_counter()
    row, predictions = predict_runs(zoo, predictor, inputs, **protocol)
    row = {**row, **scored(predictions, n_bootstrap, protocol.get("seed", 0)), "seconds": time.perf_counter() - start}
    return row, predictions


def evaluate_predictor(zoo: Zoo, predictor: str | BaseEstimator, inputs: str, n_bootstrap: int = 200,
                       **protocol) -> dict:
    """Train a predictor on a zoo's train runs (early stopping on val runs), score it on its test runs.

    `predictor` is 'linear', 'gbm', 'dnn' (settings from `preset` and `dataset`; with n_search > 0,
    the best of a seeded random search of n_search settings, chosen on val R^2) or an unfitted
    estimator with fit(X, y, X_val=None, y_val=None). `protocol`: the keywords of `predict_runs` (seed,
    step, val_fraction, test_fraction, folds, preset, dataset, categorical, n_search); `categorical`
    defaults to the encoding the estimator declares (`zoolib.predictors.input_encoding`). With `folds`,
    every run is predicted once out of fold and all are scored together. Returns one tidy row: the row of
    `predict_runs` (chosen: the settings each search chose on val, '' without search), then n_test, r2,
    r2_ci_low, r2_ci_high, kendall_tau, tau_ci_low, tau_ci_high, mse, mad, tau_ceiling, seconds.
    """
    return evaluate_runs(zoo, predictor, inputs, n_bootstrap, **protocol)[0]
