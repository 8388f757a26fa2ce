"""How well predicted accuracies match true ones: R^2, Kendall tau-b, MSE, MAD, the tau ceiling that ties
impose, and bootstrap intervals. A leaf: numpy and scipy only, so every other module can use it."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import kendalltau, norm


def r2(y_true, y_pred) -> float:
    """1 - MSE / Var(y_true), Var the population variance (ddof=0), as sklearn's r2_score; NaN if Var is 0."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    variance = np.var(y_true)  # a constant y_true can give a rounding-error variance: test the spread itself
    return float(1.0 - np.mean((y_pred - y_true) ** 2) / variance) if np.ptp(y_true) > 0 else float("nan")


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


def resamples(n: int, n_resamples: int = 200, seed: int = 0) -> np.ndarray:
    """Row indices of `n_resamples` bootstrap resamples of n rows, shape (n_resamples, n), seeded.

    Two metrics computed on the same resamples move together: their difference is what a paired
    comparison bootstraps (`paired_difference`)."""
    return np.random.default_rng(seed).integers(0, n, (n_resamples, n)) if n else np.zeros((n_resamples, 0), int)


def bootstrap_values(y_true, y_pred, metric: str, indices: np.ndarray) -> np.ndarray:
    """The metric on each resample (a row of `indices`, from `resamples`)."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    return np.array([METRICS[metric](y_true[idx], y_pred[idx]) for idx in indices], float)


def percentile_interval(values, level: float = 0.95) -> tuple[float, float]:
    """The central `level` percentile interval of bootstrap values, NaN resamples left out (NaN if all are)."""
    values = np.asarray(values, float)
    if np.isnan(values).all():  # e.g. tau of constant predictions: undefined in every resample
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ci(y_true, y_pred, metric: str, n_resamples: int = 200, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a metric over test rows (one row per run), seeded."""
    indices = resamples(len(np.asarray(y_true)), n_resamples, seed)
    return percentile_interval(bootstrap_values(y_true, y_pred, metric, indices), level)


def paired_difference(y_true, pred_a, pred_b, metric: str = "r2", n_resamples: int = 200, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float, float]:
    """metric(y_true, pred_a) - metric(y_true, pred_b) and its percentile interval, both metrics computed on
    the SAME bootstrap resamples of the rows (a paired comparison: two predictions of the same nets)."""
    y_true = np.asarray(y_true, float)
    indices = resamples(len(y_true), n_resamples, seed)
    differences = bootstrap_values(y_true, pred_a, metric, indices) - bootstrap_values(y_true, pred_b, metric, indices)
    value = METRICS[metric](y_true, pred_a) - METRICS[metric](y_true, pred_b)
    return (float(value), *percentile_interval(differences, level))


def median_over_pairs(pairs: list[tuple[str, np.ndarray, np.ndarray]], metric: str = "kendall_tau",
                      n_resamples: int = 200, level: float = 0.95, seed: int = 0) -> tuple[tuple[float, float, float], np.ndarray]:
    """A claim made of many comparisons (e.g. the pairs of a transfer grid), each pair (test group, y_true,
    y_pred): the median of the metric over the pairs with its percentile interval, and per pair the one-sided
    p-value of "metric <= 0" from the bootstrap's standard error (normal approximation: a few hundred
    resamples could not resolve the p-values below 1 / n_resamples that Holm's correction over many pairs
    needs). Each test group is resampled once per bootstrap draw, so the pairs that test on the same nets
    share their resamples (as `paired_difference` does)."""
    groups = {group: len(y) for group, y, _ in pairs}
    indices = {group: resamples(n, n_resamples, seed + k) for k, (group, n) in enumerate(groups.items())}
    values = np.array([bootstrap_values(y, p, metric, indices[group]) for group, y, p in pairs])  # (pairs, R)
    point = np.array([METRICS[metric](y, p) for _, y, p in pairs])
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample where every pair is undefined: NaN
        medians = np.nanmedian(values, axis=0) if len(pairs) else values
        p_values = norm.sf(point / np.nanstd(values, axis=1)) if len(pairs) else point
    median = float(np.nanmedian(point)) if len(pairs) and not np.isnan(point).all() else float("nan")
    return (median, *percentile_interval(medians, level)), p_values


def score(y_true, y_pred, n_bootstrap: int = 200, seed: int = 0) -> dict:
    """All metrics of test predictions, with 95 % bootstrap intervals of R^2 and tau (n_bootstrap=0: none)."""
    row = {"n_test": len(y_true), "r2": r2(y_true, y_pred), "r2_ci_low": np.nan, "r2_ci_high": np.nan,
           "kendall_tau": kendall_tau(y_true, y_pred), "tau_ci_low": np.nan, "tau_ci_high": np.nan,
           "mse": mse(y_true, y_pred), "mad": mad(y_true, y_pred), "tau_ceiling": tau_ceiling(y_true)}
    if n_bootstrap:
        row["r2_ci_low"], row["r2_ci_high"] = bootstrap_ci(y_true, y_pred, "r2", n_bootstrap, seed=seed)
        row["tau_ci_low"], row["tau_ci_high"] = bootstrap_ci(y_true, y_pred, "kendall_tau", n_bootstrap, seed=seed)
    return row
