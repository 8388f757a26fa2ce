"""The book's figures on synthetic data: panels, labels, titles and what each panel shows."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from zoolib import plots


def _finals(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    test = rng.uniform(0.1, 0.9, n)
    return pd.DataFrame({"test_accuracy": test, "train_accuracy": np.clip(test + rng.normal(0, 0.02, n), 0, 1)})


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_accuracy_distributions_has_a_histogram_over_a_scatter_per_collection():
    finals = {"mini, Fashion-MNIST": _finals(1500, 0), "mini, MNIST 5k subset": _finals(40, 1)}
    fig = plots.accuracy_distributions(finals, n_scatter=1000, title="mini zoo, 10 epochs")
    axes = np.array(fig.axes).reshape(2, 2)
    assert fig._suptitle.get_text() == "mini zoo, 10 epochs"
    for column, (label, frame) in enumerate(finals.items()):
        top, bottom = axes[0, column], axes[1, column]
        assert label in top.get_title() and f"{len(frame)} nets" in top.get_title()
        assert len(top.patches) == 15  # 15 bins
        assert sum(p.get_height() for p in top.patches) == len(frame)
        assert top.get_xlim() == (0.0, 1.0)
        points = bottom.collections[0].get_offsets()
        assert len(points) == min(1000, len(frame))
        dashed = [line for line in bottom.lines if line.get_linestyle() == "--"]
        assert len(dashed) == 1 and list(dashed[0].get_xdata()) == [0.0, 1.0]
        assert bottom.get_xlabel() == "test accuracy"
    assert axes[1, 0].get_ylabel() == "train accuracy"


def test_accuracy_distributions_rejects_frames_without_accuracies():
    with pytest.raises(ValueError, match="train_accuracy"):
        plots.accuracy_distributions({"x": pd.DataFrame({"test_accuracy": [0.5]})})


def test_hyperparameter_distributions_panels_follow_the_space():
    space = {"optimizer": ("choice", ("adam", "sgd")), "learning_rate": ("log-uniform", (1e-4, 1e-1)),
             "dropout": ("uniform", (0.0, 0.5)), "b_init": ("choice", ("zeros",))}
    rng = np.random.default_rng(0)
    configs = pd.DataFrame({"config.optimizer": ["adam", "sgd", "adam"], "config.learning_rate": 10 ** rng.uniform(-4, -1, 3),
                            "config.dropout": [0.1, 0.2, 0.3], "config.b_init": "zeros"})
    fig = plots.hyperparameter_distributions(configs, space, title="tiny zoo")
    axes = _visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["optimizer (choice)", "learning_rate (log-uniform)", "dropout (uniform)"]
    assert [p.get_height() for p in axes[0].patches] == [2, 1]
    assert axes[1].get_xscale() == "log"


def test_bias_range_scatter_is_log_log_and_counts_points_it_cannot_show():
    frame = pd.DataFrame({"first": [0.1, 1.0, 0.0, 2.0], "last": [0.5, 0.2, 0.3, np.nan], "test_accuracy": [0.2, 0.9, 0.5, 0.4]})
    fig = plots.bias_range_scatter({"tiny zoo, MNIST": frame, "tiny zoo, Fashion-MNIST": frame.iloc[:2]}, "first", "last",
                                   title="bias ranges", xlabel="first-layer bias range")
    ax, other = fig.axes[:2]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert len(ax.collections[0].get_offsets()) == 2 and len(other.collections[0].get_offsets()) == 2
    assert "2 non-positive or non-finite not shown" in ax.get_legend().get_texts()[0].get_text()
    assert ax.get_xlabel() == "first-layer bias range" and ax.get_title() == "tiny zoo, MNIST"
    assert fig.axes[2].get_ylabel() == "test accuracy"  # one colour bar for both panels
    assert fig._suptitle.get_text() == "bias ranges"


def test_feature_importance_shows_the_top_features_largest_first():
    importances = pd.Series({"a": 1.0, "b": 5.0, "c": 3.0, "d": 0.5})
    fig = plots.feature_importance({"mnist": importances, "fashion": importances * 2}, top=3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "c", "b"]  # bottom to top
    assert [p.get_width() for p in ax.patches] == [1.0, 3.0, 5.0]
    assert [a.get_title() for a in fig.axes] == ["mnist", "fashion"]


def test_r2_vs_paper_plots_one_series_per_predictor_and_skips_missing_paper_values():
    table = pd.DataFrame({"predictor": ["gbm", "gbm", "linear"], "r2": [0.9, 0.8, 0.5], "paper_r2": [0.99, np.nan, 0.7]})
    fig = plots.r2_vs_paper(table)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["gbm (1)", "linear (1)", "y = x"]
    assert "paper" in ax.get_ylabel() and "our" in ax.get_xlabel()


def test_r2_vs_paper_draws_r2_below_the_floor_at_the_edge():
    table = pd.DataFrame({"predictor": ["linear", "linear"], "r2": [-500.0, 0.5], "paper_r2": [0.8, 0.7]})
    ax = plots.r2_vs_paper(table).axes[0]
    assert ax.get_xlim()[0] == pytest.approx(-1.05)
    edge = ax.collections[1].get_offsets()
    assert edge.tolist() == [[-1.0, 0.8]]
    assert "1 below -1 at the edge" in ax.get_legend().get_texts()[0].get_text()


def test_transfer_grid_has_one_panel_per_pair_with_its_tau():
    names = ["mnist", "fashion_mnist", "cifar10"]
    rng = np.random.default_rng(0)
    predictions = pd.concat(
        pd.DataFrame({"train_on": a, "test_on": b, "y_true": rng.uniform(0, 1, 50), "y_pred": rng.uniform(0, 1, 50)})
        for a in names for b in names
    )
    scores = pd.DataFrame([{"train_on": a, "test_on": b, "kendall_tau": 0.1 * i + 0.01 * j}
                           for i, a in enumerate(names) for j, b in enumerate(names)])
    fig = plots.transfer_grid(predictions, scores, title="mini zoos")
    axes = np.array(fig.axes).reshape(3, 3)
    assert axes[0, 1].get_title() == "test on fashion_mnist"
    assert "train on cifar10" in axes[2, 0].get_ylabel()
    assert axes[2, 1].texts[0].get_text() == "τ = 0.210"
    scores.loc[0, "kendall_tau"] = np.nan  # constant predictions: tau undefined
    assert plots.transfer_grid(predictions, scores).axes[0].texts[0].get_text() == "τ = n/a"
    assert len(axes[1, 2].collections[0].get_offsets()) == 50
    assert axes[1, 1].get_facecolor() != axes[1, 2].get_facecolor()  # seen collection shaded


def test_metric_matrix_annotates_every_cell():
    scores = pd.DataFrame({"train_on": ["cnn", "cnn", "all", "all"], "test_on": ["cnn", "mlp", "cnn", "mlp"],
                           "kendall_tau": [0.9, 0.3, 0.85, np.nan]})
    fig = plots.metric_matrix(scores, title="architectures")
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["0.90", "0.30", "0.85", "n/a"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cnn", "all"]
    assert ax.get_xlabel() == "tested on"


def test_early_checkpoint_curve_draws_both_metrics_per_group_with_bands():
    rows = [{"collection": c, "epoch": e, "r2": 0.5 + 0.01 * e, "kendall_tau": 0.4 + 0.01 * e, "r2_ci_low": 0.4,
             "r2_ci_high": 0.6, "tau_ci_low": 0.3, "tau_ci_high": 0.5, "tau_ceiling": 0.99}
            for c in ("mnist", "fashion_mnist") for e in (0, 1, 2, 3, 20)]
    fig = plots.early_checkpoint_curve(pd.DataFrame(rows), title="mini", group="collection")
    r2_ax, tau_ax = fig.axes
    assert r2_ax.get_ylabel() == "test R²" and tau_ax.get_ylabel() == "test Kendall τ"
    assert [t.get_text() for t in r2_ax.get_legend().get_texts()] == ["mnist", "fashion_mnist"]
    assert len(tau_ax.lines) == 4  # a tau line and its tie ceiling per collection
    assert len(r2_ax.collections) == 2  # a CI band per collection
    assert list(r2_ax.lines[0].get_xdata()) == [0, 1, 2, 3, 20]
    assert [t.get_text() for t in r2_ax.get_xticklabels()] == ["0", "1", "2", "3", "20"]


def test_early_checkpoint_curve_cuts_the_r2_axis_at_the_floor():
    results = pd.DataFrame({"epoch": [0, 1], "r2": [-140.0, 0.3], "kendall_tau": [np.nan, 0.2]})
    r2_ax, _ = plots.early_checkpoint_curve(results).axes
    assert r2_ax.get_ylim() == (-1.0, 1.0)
    assert "cut off" in r2_ax.texts[0].get_text()


def test_throughput_bars_label_each_bar():
    frame = pd.DataFrame({"images_per_s": [27000.0, 70000.0]}, index=["keras fit", "fast engine"])
    fig = plots.throughput_bars(frame, "images_per_s", "image-nets per second")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["keras fit", "fast engine"]
    assert ax.texts[1].get_text().strip() == "70,000"


def test_paper_styling_green_histograms_and_red_dashed_identity():
    fig = plots.accuracy_distributions({"a": _finals(100, 0)})
    top, bottom = fig.axes
    assert all(matplotlib.colors.same_color(p.get_facecolor(), "tab:green") for p in top.patches)
    (line,) = [line for line in bottom.lines if line.get_linestyle() == "--"]
    assert matplotlib.colors.same_color(line.get_color(), "tab:red")


def test_learning_curve_has_log_x_intervals_and_the_paper_mark():
    results = pd.DataFrame([{"predictor": p, "n_train": n, "r2": 0.5, "kendall_tau": 0.4, "r2_ci_low": 0.3,
                             "r2_ci_high": 0.6, "tau_ci_low": 0.2, "tau_ci_high": 0.5}
                            for p in ("gbm", "dnn") for n in (8, 20, 60)])
    fig = plots.learning_curve(results, paper={"gbm": 0.993}, title="tiny zoo, Fashion-MNIST")
    r2_ax, tau_ax = fig.axes
    assert r2_ax.get_xscale() == "log" and r2_ax.get_xlabel() == "training nets"
    assert r2_ax.get_ylabel() == "test R²" and tau_ax.get_ylabel() == "test Kendall τ"
    stars = [line for line in r2_ax.lines if line.get_marker() == "*"]
    assert len(stars) == 1 and list(stars[0].get_xdata()) == [15_000] and list(stars[0].get_ydata()) == [0.993]
    assert not [line for line in tau_ax.lines if line.get_marker() == "*"]  # the paper's tau is not marked
    labels = [t.get_text() for t in fig.legends[0].get_texts()]  # one legend for both panels, below them
    assert sorted(labels) == ["dnn", "gbm", "gbm, paper (v1 zoo, 15,000 nets)"]
    bars = r2_ax.containers[0]  # error bars of the first predictor: from the CI columns
    segments = bars.lines[2][0].get_segments()
    assert [tuple(seg[:, 1]) for seg in segments] == [(0.3, 0.6)] * 3
    assert fig._suptitle.get_text() == "tiny zoo, Fashion-MNIST"


def test_first_layer_filters_draws_every_filter_of_each_net_on_its_own_symmetric_scale():
    rng = np.random.default_rng(0)
    kernels = {"best net": rng.normal(0, 0.3, (3, 3, 1, 16)), "worst net": rng.normal(0, 0.01, (3, 3, 1, 16))}
    fig = plots.first_layer_filters(kernels, title="tiny zoo, Fashion-MNIST, 24 nets, 2 epochs")
    assert fig._suptitle.get_text() == "tiny zoo, Fashion-MNIST, 24 nets, 2 epochs"
    assert [block._suptitle.get_text() for block in fig.subfigs] == list(kernels)
    for block, kernel in zip(fig.subfigs, kernels.values()):
        images = [ax.images[0] for ax in block.axes if ax.images]
        assert len(images) == 16 and [ax.get_title() for ax in block.axes if ax.images] == [str(i) for i in range(1, 17)]
        np.testing.assert_array_equal(images[4].get_array(), kernel[:, :, 0, 4])
        low, high = images[0].get_clim()
        assert low == -high == -np.abs(kernel).max()  # the net's own scale, symmetric about 0
    with pytest.raises(ValueError, match="expected a conv kernel"):
        plots.first_layer_filters({"mlp": rng.normal(size=(784, 32))})
