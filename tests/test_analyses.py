"""The pages' analyses on a zoo whose accuracy is a known function of its weights."""

import numpy as np
import pytest

from tests.zoo_fixtures import learnable_zoo
from zoolib import analyses
from zoolib.zoo import Zoo


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return learnable_zoo(tmp_path_factory.mktemp("zoo") / "mnist", n_runs=160, steps=(0, 1, 20), seed=0)


def test_learning_curve_sizes_are_log_spaced_and_end_at_all_runs():
    assert analyses.learning_curve_sizes(100, points=3) == [8, 28, 100]
    assert analyses.learning_curve_sizes(10) == [2, 10]  # a tiny zoo: from a quarter, two points
    assert analyses.learning_curve_sizes(64) == [8, 13, 23, 38, 64]
    assert analyses.learning_curve_sizes(1) == [1]
    with pytest.raises(ValueError):
        analyses.learning_curve_sizes(0)


@pytest.mark.parametrize("folds", [None, 4])
def test_learning_curve_uses_nested_subsets_and_improves_with_nets(zoo, folds):
    curve = analyses.learning_curve({"MNIST": zoo}, ["gbm"], "wstats-layers:0,3", sizes=[10, 64], preset="fast",
                                    n_bootstrap=50, folds=folds, workers=0)
    scores = curve.scores
    assert list(scores["n_train"]) == [10, 64] and set(scores["collection"]) == {"MNIST"}
    assert scores["n_test"].nunique() == 1 and scores["n_val"].nunique() == 1  # same val and test runs
    assert scores["n_test"].iloc[0] == (160 if folds else 80)  # cross-fitting: every run is a test run
    assert scores["r2"].iloc[1] > scores["r2"].iloc[0] + 0.1
    difference, n = curve.difference("MNIST", "gbm", 64, 10)
    assert n == scores["n_test"].iloc[0] and difference.value == pytest.approx(scores["r2"].iloc[1] - scores["r2"].iloc[0])
    claim = curve.finding().claims[0]
    assert claim.key == "more_nets" and claim.verdict == "holds" and "a difference of +" in claim.ours
    with pytest.raises(ValueError, match="outside"):
        analyses.learning_curve({"MNIST": zoo}, ["gbm"], "wstats-layers:0,3", sizes=[10_000], preset="fast", n_bootstrap=0,
                                workers=0)


def test_cross_fitting_lets_the_curve_reach_more_training_nets(zoo):
    common = dict(preset="fast", n_bootstrap=0, workers=0)
    single = analyses.learning_curve({"m": zoo}, ["linear"], "wstats-layers:0,3", **common)
    crossfit = analyses.learning_curve({"m": zoo}, ["linear"], "wstats-layers:0,3", folds=4, **common)
    assert single.scores["n_train"].max() == 64 and crossfit.scores["n_train"].max() == 104  # 160 - 40 test - 16 val


def test_the_curves_are_dask_tasks_with_the_serial_results(zoo):
    from zoolib.cluster import dask_client

    common = dict(sizes=[10, 64], preset="fast", n_bootstrap=20, folds=4)
    serial = analyses.learning_curve({"a": zoo, "b": zoo}, ["linear", "gbm"], "wstats-layers:0,3", workers=0, **common)
    with dask_client(workers=2) as client:
        tasks = analyses.learning_curve({"a": zoo, "b": zoo}, ["linear", "gbm"], "wstats-layers:0,3", client=client,
                                        **common)
    assert list(tasks.scores["collection"]) == ["a"] * 4 + ["b"] * 4
    assert list(tasks.scores["predictor"]) == ["linear", "linear", "gbm", "gbm"] * 2
    np.testing.assert_allclose(tasks.scores["r2"], serial.scores["r2"], rtol=1e-9)


def test_each_point_of_the_curve_is_a_task(zoo, monkeypatch):
    submitted = []
    run_tasks = analyses.run_tasks

    def recording(tasks, *args, **kwargs):
        submitted.extend((args_[1], args_[3]) for _, args_ in tasks)
        return run_tasks(tasks, *args, **kwargs)

    monkeypatch.setattr(analyses, "run_tasks", recording)
    curve = analyses.learning_curve({"m": zoo}, ["linear", "gbm"], "wstats-layers:0,3", sizes=[10, 30, 64], preset="fast",
                                    n_bootstrap=0, workers=0)
    points = [("linear", 10), ("linear", 30), ("linear", 64), ("gbm", 10), ("gbm", 30), ("gbm", 64)]
    assert submitted == points and list(zip(curve.scores["predictor"], curve.scores["n_train"])) == points


def test_bias_ranges_and_their_rank_correlation_with_accuracy(zoo):
    frame, dropped = analyses.bias_ranges(zoo)
    assert dropped == 0 and len(frame) == 160
    assert (frame[["first-layer bias range", "final-layer bias range"]] >= 0).all().all()
    tau, low, high = analyses.rank_correlation(frame["final-layer bias range"], frame["test_accuracy"], 100)
    assert low <= tau <= high
    noise = np.random.default_rng(0).normal(size=len(frame))
    tau_noise, low_noise, high_noise = analyses.rank_correlation(noise, frame["test_accuracy"], 100)
    assert low_noise < 0 < high_noise


def test_gbm_importance_points_at_the_statistics_that_carry_accuracy(zoo):
    share = analyses.gbm_importance(zoo, "wstats-layers:0,3", preset="fast")
    assert share.sum() == pytest.approx(1.0)
    # accuracy depends on the head kernel's scale and the first bias's shift (tests.zoo_fixtures)
    assert share.nlargest(3).index.str.startswith(("layer3.kernel", "layer0.bias")).all()


def test_readable_zoos_names_why_a_layout_cannot_give_wstats_arch(zoo):
    short = Zoo(zoo.weights[:, :10], zoo.metrics, zoo.layout.iloc[:2], None)
    readable, unreadable = analyses.readable_zoos({"cnn": zoo, "short": short})
    assert list(readable) == ["cnn"] and list(unreadable) == ["short"] and unreadable["short"]
    table = analyses.architecture_table({"cnn": zoo})
    assert table.loc["cnn", "training nets per fit"] == 64  # 160 runs: 80 test, 16 val, 64 train
    assert table.loc["cnn", "layers"] == 4 and table.loc["cnn", "nets"] == 160


def test_bias_range_correlations_decide_the_claim(zoo):
    frame, _ = analyses.bias_ranges(zoo)
    noise = frame.assign(**{r: np.random.default_rng(1).random(len(frame)) for r in analyses.RANGES})
    found = analyses.bias_range_correlations({"signal": frame, "noise": noise}, 100)
    assert found.readable().shape == (4, 2)
    claim = found.finding().claims[0]
    assert claim.key == "bias_ranges" and claim.verdict != "holds"  # noise ranks nothing
    assert analyses.bias_range_correlations({"signal": frame}, 100).finding().claims[0].verdict in ("holds", "cannot tell at this size")
