"""The book's figures: each function takes DataFrames (or plain data) and returns a matplotlib Figure.

Figures are built on `matplotlib.figure.Figure` (no pyplot state), so they can be made in tests and
worker processes and shown in a notebook by ending a cell with the figure. Every function takes a
`title` that should name the zoo the data came from (source, dataset, nets, epochs); panels are
labelled by the keys or columns the caller passes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

ACCURACY_BINS = np.linspace(0.0, 1.0, 16)  # 15 bins on [0, 1], as in the paper
HISTOGRAM_COLOR = "tab:green"  # the paper's accuracy histograms are green
IDENTITY_STYLE = dict(color="tab:red", linestyle="--", lw=1)  # the paper's y = x: red, dashed
STYLE = {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "legend.fontsize": 9,
         "xtick.labelsize": 9, "ytick.labelsize": 9, "figure.titlesize": 12, "figure.dpi": 100}
"""Sizes for a figure read at about its natural size (100 dpi) in the book's article column."""


def _styled(make):
    """Build the figure under STYLE (text sizes are fixed when the artists are made)."""
    @functools.wraps(make)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return make(*args, **kwargs)
    return wrapper


def _identity_line(ax, low: float = 0.0, high: float = 1.0) -> None:
    ax.plot([low, high], [low, high], label="y = x", **IDENTITY_STYLE)


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs the columns {columns}; missing {missing} (it has {list(frame.columns)})")


@_styled
def accuracy_distributions(
    finals: Mapping[str, pd.DataFrame], n_scatter: int = 1000, seed: int = 0, title: str = ""
) -> Figure:
    """Paper Figure 2: per collection (one column each), the test-accuracy histogram (15 bins on [0, 1])
    above a scatter of test (x) vs train (y) accuracy of up to `n_scatter` random nets with y = x.

    `finals` maps a panel label to one row per net (final checkpoint) with test_accuracy and train_accuracy.
    """
    if not finals:
        raise ValueError("accuracy_distributions needs at least one collection")
    fig = Figure(figsize=(3.2 * len(finals) + 0.6, 6.4), layout="constrained")
    axes = fig.subplots(2, len(finals), squeeze=False, sharex=True)
    rng = np.random.default_rng(seed)
    for column, (label, frame) in enumerate(finals.items()):
        _require(frame, ["test_accuracy", "train_accuracy"], "accuracy_distributions")
        frame = frame[np.isfinite(frame["test_accuracy"]) & np.isfinite(frame["train_accuracy"])]
        top, bottom = axes[0, column], axes[1, column]
        top.hist(frame["test_accuracy"], bins=ACCURACY_BINS, color=HISTOGRAM_COLOR, edgecolor="white")
        top.set_title(f"{label}\n{len(frame)} nets", fontsize=10)
        top.set_xlim(0, 1)
        shown = frame.iloc[rng.permutation(len(frame))[:n_scatter]]
        bottom.scatter(shown["test_accuracy"], shown["train_accuracy"], s=6, alpha=0.5, color="tab:blue",
                       label=f"{len(shown)} random nets")
        _identity_line(bottom)
        bottom.set_xlim(0, 1)
        bottom.set_ylim(0, 1)
        bottom.set_xlabel("test accuracy")
        bottom.legend(loc="upper left", fontsize=8)
    axes[0, 0].set_ylabel("number of nets")
    axes[1, 0].set_ylabel("train accuracy")
    fig.suptitle(title or "Accuracy of the nets (final checkpoints)")
    return fig


@_styled
def hyperparameter_distributions(configs: pd.DataFrame, space: Mapping[str, tuple[str, tuple]], title: str = "") -> Figure:
    """Histograms of the sampled hyperparameters, one panel per entry of `space` that varies.

    `space` maps a name to (distribution, values) as in `zoolib.hparams.SPACE`: 'choice' gives a
    bar per value, 'log-uniform' a histogram on a log axis, 'uniform' a plain histogram. `configs`
    has one row per run with the config.<name> columns.
    """
    names = [n for n, (kind, values) in space.items() if not (kind == "choice" and len(values) == 1)]
    _require(configs, [f"config.{n}" for n in names], "hyperparameter_distributions")
    ncols = 3
    nrows = -(-len(names) // ncols)
    fig = Figure(figsize=(3.3 * ncols, 2.5 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, name in zip(axes.flat, names):
        kind, values = space[name]
        column = configs[f"config.{name}"]
        if kind == "choice":
            counts = column.astype(str).value_counts().reindex([str(v) for v in values], fill_value=0)
            ax.bar(range(len(counts)), counts.to_numpy(), color="tab:blue")
            ax.set_xticks(range(len(counts)), counts.index, rotation=30, ha="right", fontsize=8)
        elif kind == "log-uniform":
            ax.hist(column, bins=np.geomspace(values[0], values[1], 16), color="tab:blue", edgecolor="white")
            ax.set_xscale("log")
        else:
            ax.hist(column, bins=np.linspace(values[0], values[1], 16), color="tab:blue", edgecolor="white")
        ax.set_title(f"{name} ({kind})", fontsize=10)
        ax.set_ylabel("runs")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle(title or "Sampled hyperparameters")
    return fig


@_styled
def bias_range_scatter(frames: Mapping[str, pd.DataFrame], x: str, y: str, color: str = "test_accuracy",
                       title: str = "", xlabel: str | None = None, ylabel: str | None = None) -> Figure:
    """Paper Figure 4: two weight statistics (e.g. bias ranges) on log-log axes, coloured by accuracy,
    one panel per entry of `frames` (panel title -> one row per net).

    Rows with a non-positive or non-finite value cannot sit on a log axis; their number is given in
    the legend instead of silently dropping them.
    """
    if not frames:
        raise ValueError("bias_range_scatter needs at least one panel")
    fig = Figure(figsize=(4.6 * len(frames) + 1.2, 4.6), layout="constrained")
    axes = fig.subplots(1, len(frames), squeeze=False)[0]
    for ax, (label, frame) in zip(axes, frames.items()):
        _require(frame, [x, y, color], "bias_range_scatter")
        values = frame[[x, y, color]].astype(float)
        ok = (values[x] > 0) & (values[y] > 0) & np.isfinite(values).all(axis=1)
        shown = values[ok].sort_values(color)
        points = ax.scatter(shown[x], shown[y], c=shown[color], cmap="viridis", vmin=0, vmax=1, s=10,
                            label=f"{len(shown)} nets" + (f" ({int((~ok).sum())} non-positive or non-finite not shown)" if (~ok).any() else ""))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel or x)
        ax.set_ylabel(ylabel or y)
        ax.legend(loc="best", fontsize=8)
        ax.set_title(label, fontsize=10)
    fig.colorbar(points, ax=list(axes), label=color.replace("_", " "))
    fig.suptitle(title or f"{y} vs {x}")
    return fig


@_styled
def feature_importance(importances: Mapping[str, pd.Series], top: int = 15, title: str = "",
                       xlabel: str = "importance") -> Figure:
    """Horizontal bars of the `top` largest importances (index = feature names), largest on top, one
    panel per entry of `importances` (panel title -> importances)."""
    if not importances or any(s.empty for s in importances.values()):
        raise ValueError("feature_importance needs at least one panel with at least one feature")
    fig = Figure(figsize=(5.2 * len(importances), 0.3 * top + 1.6), layout="constrained")
    axes = fig.subplots(1, len(importances), squeeze=False)[0]
    for ax, (label, series) in zip(axes, importances.items()):
        shown = series.sort_values(ascending=False).head(top)[::-1]
        ax.barh(range(len(shown)), shown.to_numpy(), color="tab:blue")
        ax.set_yticks(range(len(shown)), shown.index, fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_title(label, fontsize=10)
    fig.suptitle(title or "Feature importance")
    return fig


@_styled
def r2_vs_paper(table: pd.DataFrame, title: str = "", floor: float = -1.0) -> Figure:
    """Our test R^2 (x) against the paper's (y) for every (collection, predictor, inputs) that has both.

    `table` has columns r2, paper_r2 and predictor (as `zoolib.experiments.table2` returns). R^2 has
    no lower bound; values below `floor` are drawn at the floor as left-pointing triangles and counted
    in the legend, so that one failed fit does not squash the others.
    """
    _require(table, ["r2", "paper_r2", "predictor"], "r2_vs_paper")
    both = table.dropna(subset=["r2", "paper_r2"])
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.subplots()
    for predictor, part in both.groupby("predictor", sort=True):
        low = part["r2"] < floor
        points = ax.scatter(part.loc[~low, "r2"], part.loc[~low, "paper_r2"], s=24,
                            label=f"{predictor} ({len(part)}" + (f", {int(low.sum())} below {floor:g} at the edge)" if low.any() else ")"))
        if low.any():
            ax.scatter(np.full(int(low.sum()), floor), part.loc[low, "paper_r2"], s=30, marker="<",
                       color=points.get_facecolor()[0])
    _identity_line(ax, floor, 1.0)
    ax.set_xlim(floor - 0.05, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("our test R² (this build's zoo)")
    ax.set_ylabel("paper's test R² (v1 zoo)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "R² here vs in the paper")
    return fig


@_styled
def transfer_grid(predictions: pd.DataFrame, scores: pd.DataFrame, title: str = "", max_points: int = 1000,
                  seed: int = 0) -> Figure:
    """Paper Figure 5: predicted (y) vs true (x) test accuracy, one panel per (train_on row, test_on column).

    `predictions` has train_on, test_on, y_true, y_pred (long form); `scores` one row per
    (train_on, test_on) with kendall_tau, shown in each panel. Diagonal panels (seen collections) are shaded.
    """
    _require(predictions, ["train_on", "test_on", "y_true", "y_pred"], "transfer_grid")
    _require(scores, ["train_on", "test_on", "kendall_tau"], "transfer_grid")
    rows = list(dict.fromkeys(scores["train_on"]))
    cols = list(dict.fromkeys(scores["test_on"]))
    tau = scores.set_index(["train_on", "test_on"])["kendall_tau"]
    fig = Figure(figsize=(2.6 * len(cols) + 0.8, 2.5 * len(rows) + 0.8), layout="constrained")
    axes = fig.subplots(len(rows), len(cols), squeeze=False, sharex=True, sharey=True)
    rng = np.random.default_rng(seed)
    for i, train_on in enumerate(rows):
        for j, test_on in enumerate(cols):
            ax = axes[i, j]
            part = predictions[(predictions["train_on"] == train_on) & (predictions["test_on"] == test_on)]
            part = part.iloc[rng.permutation(len(part))[:max_points]]
            ax.scatter(part["y_true"], part["y_pred"], s=4, alpha=0.5, color="tab:blue")
            _identity_line(ax)
            if train_on == test_on:
                ax.set_facecolor("#eef3fb")
            value = tau.get((train_on, test_on), np.nan)
            ax.text(0.04, 0.93, "τ = n/a" if np.isnan(value) else f"τ = {value:.3f}", transform=ax.transAxes, fontsize=9, va="top",
                    bbox=dict(facecolor="white", alpha=0.8, lw=0))
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            if i == 0:
                ax.set_title(f"test on {test_on}", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"train on {train_on}\npredicted accuracy", fontsize=9)
            if i == len(rows) - 1:
                ax.set_xlabel("true test accuracy", fontsize=9)
    fig.suptitle(title or "Transfer across collections")
    return fig


@_styled
def metric_matrix(scores: pd.DataFrame, value: str = "kendall_tau", title: str = "", label: str = "Kendall τ") -> Figure:
    """A heatmap of `value` with train_on as rows and test_on as columns, each cell annotated."""
    _require(scores, ["train_on", "test_on", value], "metric_matrix")
    matrix = scores.pivot(index="train_on", columns="test_on", values=value)
    matrix = matrix.reindex(index=list(dict.fromkeys(scores["train_on"])), columns=list(dict.fromkeys(scores["test_on"])))
    fig = Figure(figsize=(1.3 * matrix.shape[1] + 2.6, 0.8 * matrix.shape[0] + 1.8), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix.to_numpy(float), cmap="viridis", vmin=min(0.0, float(np.nanmin(matrix.to_numpy(float)))), vmax=1)
    for (i, j), cell in np.ndenumerate(matrix.to_numpy(float)):
        ax.text(j, i, "n/a" if np.isnan(cell) else f"{cell:.2f}", ha="center", va="center",
                color="white" if cell < 0.6 else "black", fontsize=9)
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=30, ha="right")
    ax.set_yticks(range(matrix.shape[0]), matrix.index)
    ax.set_xlabel("tested on")
    ax.set_ylabel("trained on")
    fig.colorbar(image, ax=ax, label=label)
    ax.set_title(title or label)
    return fig


@_styled
def early_checkpoint_curve(results: pd.DataFrame, title: str = "", group: str | None = None,
                           floor: float = -1.0) -> Figure:
    """Paper Figure 6: R^2 and Kendall tau of predicting the FINAL accuracy from each checkpoint epoch.

    `results` has epoch, r2, kendall_tau and, when present, the CI columns (r2_ci_low/high,
    tau_ci_low/high, drawn as bands) and tau_ceiling (dotted). `group` names a column (e.g.
    collection) giving one line per value. The R^2 axis stops at `floor` (noted when values fall below).
    """
    _require(results, ["epoch", "r2", "kendall_tau"], "early_checkpoint_curve")
    groups = list(results.groupby(group, sort=False)) if group else [("", results)]
    epochs = sorted(results["epoch"].unique())
    fig = Figure(figsize=(10.5, 4.4), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for ax, metric, low, high, label in ((axes[0], "r2", "r2_ci_low", "r2_ci_high", "test R²"),
                                         (axes[1], "kendall_tau", "tau_ci_low", "tau_ci_high", "test Kendall τ")):
        for name, part in groups:
            part = part.sort_values("epoch")
            line = ax.plot(part["epoch"], part[metric], "o-", label=str(name) or metric)[0]
            if low in part and part[low].notna().any():
                ax.fill_between(part["epoch"], part[low], part[high], color=line.get_color(), alpha=0.2)
            if metric == "kendall_tau" and "tau_ceiling" in part:
                ax.plot(part["epoch"], part["tau_ceiling"], ":", color=line.get_color(), label=f"{name} tie ceiling".strip())
        shown = results[[c for c in (metric, low) if c in results]].to_numpy(float)
        if metric == "kendall_tau":
            ax.set_ylim(min(0.0, np.nanmin(shown, initial=0.0)) - 0.02, 1.02)
        elif np.nanmin(shown, initial=0.0) < floor:
            ax.set_ylim(floor, 1.0)
            ax.text(0.02, 0.02, f"values below {floor:g} are cut off", transform=ax.transAxes, fontsize=8)
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xticks(epochs, [str(int(e)) for e in epochs])
        ax.set_xlabel("epoch of the checkpoint whose weights are the input")
        ax.set_ylabel(label)
        ax.set_title(f"{label} of the final accuracy")
        ax.legend(fontsize=8, loc="best")
    fig.suptitle(title or "Predicting the final accuracy from early checkpoints")
    return fig


@_styled
def throughput_bars(frame: pd.DataFrame, value: str, label: str, title: str = "") -> Figure:
    """Horizontal bars of a throughput column (e.g. image-nets per second), one bar per row index."""
    _require(frame, [value], "throughput_bars")
    fig = Figure(figsize=(7.2, 0.5 * len(frame) + 1.4), layout="constrained")
    ax = fig.subplots()
    ax.barh(range(len(frame)), frame[value].to_numpy(float), color="tab:blue")
    ax.set_yticks(range(len(frame)), [str(i) for i in frame.index], fontsize=9)
    for i, v in enumerate(frame[value].to_numpy(float)):
        ax.text(v, i, f" {v:,.0f}", va="center", fontsize=8)
    ax.set_xlabel(label)
    ax.set_title(title or label)
    return fig


@_styled
def learning_curve(results: pd.DataFrame, paper: Mapping[str, float] | None = None, title: str = "",
                   paper_nets: int = 15_000, floor: float = -1.0, by: Sequence[str] = ("predictor",)) -> Figure:
    """Test R^2 (left) and Kendall tau (right) against the number of training nets, log x axis.

    `results` has n_train, r2, kendall_tau, the columns `by` (one curve per combination, labelled by their
    values joined with ', ', e.g. 'MNIST, gbm') and, when present, the CI columns (drawn as error bars).
    `paper` maps a curve's label to the paper's R^2 with `paper_nets` training nets, drawn as a star of the
    curve's colour at that x. R^2 below `floor` is cut off (noted).
    """
    _require(results, ["n_train", "r2", "kendall_tau", *by], "learning_curve")
    results = results.assign(predictor=results[list(by)].astype(str).agg(", ".join, axis=1))
    paper = dict(paper or {})
    fig = Figure(figsize=(10.5, 5.4), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for ax, metric, low, high, label in ((axes[0], "r2", "r2_ci_low", "r2_ci_high", "test R²"),
                                         (axes[1], "kendall_tau", "tau_ci_low", "tau_ci_high", "test Kendall τ")):
        for predictor, part in results.groupby("predictor", sort=False):
            part = part.sort_values("n_train")
            errors = None
            if low in part and part[low].notna().any():
                errors = np.vstack([part[metric] - part[low], part[high] - part[metric]]).clip(min=0)
            line = ax.errorbar(part["n_train"], part[metric], yerr=errors, fmt="o-", capsize=3, label=predictor)
            if metric == "r2" and predictor in paper:
                ax.plot([paper_nets], [paper[predictor]], "*", ms=12, color=line[0].get_color(),
                        label=f"{predictor}, paper (v1 zoo, {paper_nets:,} nets)")
        if metric == "r2" and np.nanmin(results[[c for c in (metric, low) if c in results]].to_numpy(float), initial=0.0) < floor:
            ax.set_ylim(floor, 1.05)
            ax.text(0.02, 0.02, f"values below {floor:g} are cut off", transform=ax.transAxes, fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("training nets")
        ax.set_ylabel(label)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)), fontsize=8)
    fig.suptitle(title or "Learning curve")
    return fig


@_styled
def first_layer_filters(kernels: Mapping[str, np.ndarray], title: str = "", columns: int = 8) -> Figure:
    """The first-layer filters of some nets: per net (a block of rows labelled by its key) each output
    channel's kernel (kh, kw), mean over input channels, on a diverging scale symmetric about 0 that is
    the net's own (its colour bar), so the shape of the filters, not their size, is compared.

    `kernels` maps a label to a first conv kernel in TF layout (kh, kw, in, out), e.g. (3, 3, 1, 16).
    """
    if not kernels:
        raise ValueError("first_layer_filters needs at least one net")
    for label, kernel in kernels.items():
        if np.ndim(kernel) != 4:
            raise ValueError(f"{label}: expected a conv kernel (kh, kw, in, out), got shape {np.shape(kernel)}")
    rows = [-(-np.shape(k)[3] // columns) for k in kernels.values()]
    fig = Figure(figsize=(1.0 + 0.8 * columns, sum(0.8 * r + 0.5 for r in rows) + 0.5), layout="constrained")
    blocks = fig.subfigures(len(kernels), 1, height_ratios=[0.8 * r + 0.5 for r in rows], squeeze=False)[:, 0]
    for block, n_rows, (label, kernel) in zip(blocks, rows, kernels.items()):
        filters = np.asarray(kernel, float).mean(axis=2)  # (kh, kw, out)
        bound = float(np.abs(filters).max()) or 1.0
        axes = block.subplots(n_rows, columns, squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            if i >= filters.shape[2]:
                ax.set_visible(False)
                continue
            image = ax.imshow(filters[:, :, i], cmap="RdBu_r", vmin=-bound, vmax=bound)
            ax.set_title(str(i + 1), fontsize=8, pad=2)
        block.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9, label="weight")
        block.suptitle(label, fontsize=10)
    fig.suptitle(title or "First-layer filters")
    return fig
