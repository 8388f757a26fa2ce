"""How well predicted accuracies match true ones: R^2, Kendall tau-b, MSE, MAD, the tau ceiling that ties
impose, and bootstrap intervals. A leaf: numpy and scipy only, so every other module can use it."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau


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
    if np.isnan(values).all():  # e.g. tau of constant predictions: undefined in every resample
        return float("nan"), float("nan")
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
