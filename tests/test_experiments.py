"""Each experiment on small zoos whose test accuracy is a known function of the weights; the same
results serially and as Dask tasks."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from tests.zoo_fixtures import learnable_zoo
from zoolib.cnn import Architecture
from zoolib.evaluation import run_split
from zoolib import experiments
from zoolib.experiments import (
    _MappedZoo,
    _portable,
    early_checkpoints,
    paper_table2,
    run_tasks,
    table2,
    transfer_across,
    transfer_architectures,
)
from zoolib.cluster import dask_client

FAST = dict(preset="fast", n_bootstrap=0, workers=0)  # serially in this process; test_same_results_on_dask


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoos")
    return {
        "MNIST": learnable_zoo(root / "mnist", n_runs=300, steps=(86,), seed=1, dataset="mnist"),
        "F-MNIST": learnable_zoo(root / "fmnist", n_runs=300, steps=(86,), seed=2, dataset="fashion_mnist"),
    }


def test_paper_table2_holds_the_papers_numbers():
    paper = paper_table2()
    assert len(paper) == 14 * 4 * 3
    one = paper.query("inputs == 'wstats-layers:0,1,2,3' and dataset == 'fashion_mnist' and predictor == 'gbm'")
    assert one["paper_r2"].item() == 0.993


def test_table2_has_one_row_per_collection_predictor_and_inputs(collections):
    result = table2(collections, predictors=("linear", "gbm"), inputs=("wstats-layers:0,3", "hyper"), **FAST)
    table = result.scores
    assert len(table) == 2 * 2 * 2
    assert set(zip(table["collection"], table["predictor"], table["inputs"])) == {
        (c, p, i) for c in collections for p in ("linear", "gbm") for i in ("wstats-layers:0,3", "hyper")
    }
    stats = table[table["inputs"] == "wstats-layers:0,3"]
    assert (stats["r2"] > 0.8).all()
    assert (table[table["inputs"] == "hyper"]["r2"] < 0.2).all()  # no signal in the hyperparameters here
    assert table.query("collection == 'F-MNIST' and predictor == 'gbm' and inputs == 'hyper'")["paper_r2"].item() == 0.924
    assert set(table["dataset"]) == {"mnist", "fashion_mnist"}
    assert result.readable("r2").shape == (4, 4)  # (collection, input) x (predictor, this build / paper)


@pytest.mark.parametrize("folds", [None, 3])
def test_table2_decides_its_claims_from_paired_differences(collections, folds):
    inputs = {"linear": ["wstats-layers:0,1,2,3"], "gbm": ["wstats-layers:0,1,2,3", "hyper", "hyper.learning_rate"]}
    result = table2(collections, predictors=("linear", "gbm"), inputs=inputs, preset="fast", n_bootstrap=50,
                    workers=0, folds=folds)
    assert (result.scores["n_test"] == (300 if folds else 150)).all()  # cross-fitting: every run is tested
    difference, n = result.difference("MNIST", ("gbm", "wstats-layers:0,1,2,3"), ("gbm", "hyper"))
    cells = result.scores.set_index(["collection", "predictor", "inputs"])["r2"]
    assert difference.value == pytest.approx(cells[("MNIST", "gbm", "wstats-layers:0,1,2,3")] - cells[("MNIST", "gbm", "hyper")])
    assert difference.low > 0 and n == (300 if folds else 150)
    found = {c.key: c for c in result.finding().claims}
    assert set(found) == {"stats_vs_hyper", "stats_vs_lr", "gbm_vs_linear"}
    assert found["stats_vs_hyper"].verdict == found["stats_vs_lr"].verdict == "holds"
    assert "difference +" in found["stats_vs_hyper"].ours


def test_transfer_across_collections(collections):
    result = transfer_across(collections, inputs="wstats-layers:0,1,2,3", **FAST)
    scores, predictions = result.scores, result.predictions
    assert len(scores) == 4 and set(zip(scores["train_on"], scores["test_on"])) == {
        (i, j) for i in collections for j in collections
    }
    assert (scores["seen"] == (scores["train_on"] == scores["test_on"])).all()
    assert (scores["r2"] > 0.75).all() and (scores["kendall_tau"] > 0.6).all()  # same function in both zoos
    assert list(predictions.columns) == ["modeldir", "train_on", "test_on", "y_true", "y_pred", "fold"]
    for (train_on, test_on), panel in predictions.groupby(["train_on", "test_on"]):
        labels = run_split(collections[test_on].metrics)
        assert set(panel["modeldir"]) <= set(labels.index[labels == "test"])
        assert len(panel) == scores.query("train_on == @train_on and test_on == @test_on")["n_test"].item()


def test_transfer_with_cross_fitting_tests_every_run_once_and_decides_on_the_median(collections):
    result = transfer_across(collections, inputs="wstats-layers:0,1,2,3", preset="fast", n_bootstrap=50, workers=0,
                             folds=3)
    for (train_on, test_on), panel in result.predictions.groupby(["train_on", "test_on"]):
        assert panel["modeldir"].is_unique and len(panel) == 300
    median, holding, pairs = result.median_tau()
    assert pairs == 2 and holding == 2 and median.low > 0
    claim = experiments.transfer_across_finding(result).claims[0]
    assert claim.key == "transfer" and claim.verdict == "holds" and "2 of 2 pairs" in claim.ours


def test_early_checkpoints_predict_the_final_accuracy(tmp_path):
    zoo = learnable_zoo(tmp_path / "zoo", n_runs=300, steps=(0, 1, 20, 86), stopped_early=5)
    result = early_checkpoints({"z": zoo}, inputs="wstats-layers:0,3", **FAST)
    table = result.scores
    assert list(table["epoch"]) == [0, 1, 20, 86]
    assert (table["r2"] > 0.8).all()  # the fixture's weights show the final accuracy from epoch 0 on
    n_test = table.set_index("epoch")["n_test"]
    assert n_test[0] == n_test[1] == n_test[20] and n_test[86] <= n_test[0]  # 5 runs stop after epoch 20
    labels = run_split(zoo.metrics)
    assert n_test[0] == (labels == "test").sum()
    assert early_checkpoints({"z": zoo}, inputs="wstats-layers:3", epochs=[1], **FAST).scores["epoch"].tolist() == [1]
    difference, n = result.difference("z", 1, 0)
    assert n == n_test[0] and result.finding().claims[0].key == "early"


def test_transfer_architectures_on_fixed_size_inputs(tmp_path):
    zoos = {
        "cnn3": learnable_zoo(tmp_path / "cnn3", n_runs=250, steps=(86,), seed=3),
        "cnn5": learnable_zoo(tmp_path / "cnn5", n_runs=250, steps=(86,), seed=4,
                              arch=Architecture(num_layers=5, padding="same")),
    }
    result = transfer_architectures(zoos, **FAST)
    scores, predictions = result.scores, result.predictions
    assert set(scores["train_on"]) == {"cnn3", "cnn5", "all"}
    assert len(scores) == 3 * 2 and scores.query("train_on == 'all'")["seen"].all()
    unseen = scores[~scores["seen"]]
    assert len(unseen) == 2 and (unseen["r2"] > 0.6).all()
    assert np.isfinite(predictions["y_pred"]).all()
    only = transfer_architectures(zoos, train_on={"deep": ["cnn5"]}, **FAST).scores
    assert experiments.architectures_finding({"F": result}).claims[0].key == "architectures"
    assert experiments.architectures_finding({}).claims[0].verdict == "not run on this build"
    assert list(only["train_on"]) == ["deep", "deep"]
    with pytest.raises(ValueError, match="cnn7"):
        transfer_architectures(zoos, train_on={"x": ["cnn7"]}, **FAST)


def test_a_memory_mapped_zoo_travels_as_its_file_name(tmp_path):
    zoo = learnable_zoo(tmp_path / "zoo", n_runs=200, steps=(86,))
    shipped = _portable(zoo)
    assert isinstance(shipped, _MappedZoo) and shipped.weights_file == str(zoo.path / "weights.npy")
    assert len(pickle.dumps(shipped)) < zoo.weights.nbytes / 4  # the weights stay behind
    reopened = shipped.open()
    assert np.array_equal(reopened.weights, zoo.weights) and reopened.metrics is zoo.metrics
    part = zoo.take(np.arange(10))  # in memory: sent as it is
    assert _portable(part) is part
    rows_view = zoo.weights[5:]  # a view of the map is not the whole file
    assert not isinstance(_portable(type(zoo)(rows_view, zoo.metrics.iloc[5:], zoo.layout, zoo.path)), _MappedZoo)


def _square(x):
    return x * x


def _row_sum(shared: dict, key: str, row: int) -> float:
    return float(shared[key][row].sum())


def test_run_tasks_keeps_the_order_of_the_tasks_and_sends_shared_data_once():
    tasks = [(_square, (k,)) for k in range(7)]
    assert run_tasks(tasks, "squares", workers=0) == [k * k for k in range(7)]
    shared = {"a": np.ones((2000, 4000)), "b": np.zeros((10, 10))}  # 61 MiB, used by every task
    with dask_client(workers=2) as client:
        assert run_tasks(tasks, "squares", client=client) == [k * k for k in range(7)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sums = run_tasks([(_row_sum, (shared, "a", row)) for row in range(4)], "sums", client=client)
    assert sums == [4000.0] * 4
    assert not [w for w in caught if "large graph" in str(w.message)]  # not embedded in each task's graph


def test_same_results_serially_and_on_dask(collections, tmp_path):
    zoo = learnable_zoo(tmp_path / "zoo", n_runs=200, steps=(0, 20, 86))
    common = dict(preset="fast", n_bootstrap=20)
    with dask_client(workers=2) as client:
        cluster = [
            table2(collections, predictors=("linear", "gbm"), inputs=("wstats-layers:0,3",), client=client, **common),
            early_checkpoints({"z": zoo}, inputs="wstats-layers:3", client=client, **common),
            transfer_across(collections, inputs="wstats-layers:3", client=client, **common),
        ]
    serial = [
        table2(collections, predictors=("linear", "gbm"), inputs=("wstats-layers:0,3",), workers=0, **common),
        early_checkpoints({"z": zoo}, inputs="wstats-layers:3", workers=0, **common),
        transfer_across(collections, inputs="wstats-layers:3", workers=0, **common),
    ]
    for ours, theirs in zip([r.scores for r in cluster] + [r.predictions for r in cluster],
                            [r.scores for r in serial] + [r.predictions for r in serial]):
        pd.testing.assert_frame_equal(ours.drop(columns="seconds", errors="ignore"),
                                      theirs.drop(columns="seconds", errors="ignore"))
