"""The split by run; the protocol on a zoo whose accuracy is a known function of the weights."""

import json
import subprocess
import sys

import numpy as np
import pytest
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from tests.zoo_fixtures import learnable_zoo
from zoolib.evaluation import (checkpoint_rows, evaluate_predictor, finite_checkpoints, fold_splits, predict_runs, run_split,
                               split_runs)
from zoolib.zoo import select_rows
from zoolib.predictors import DNNRegressor

ROW_COLUMNS = [
    "zoo", "dataset", "predictor", "settings", "chosen", "inputs", "step", "seed", "n_train", "n_val", "folds",
    "dropped_nonfinite", "n_test", "r2", "r2_ci_low",
    "r2_ci_high", "kendall_tau", "tau_ci_low", "tau_ci_high", "mse", "mad", "tau_ceiling", "seconds",
]


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return learnable_zoo(tmp_path_factory.mktemp("zoo") / "zoo", n_runs=400, steps=(0, 20, 86), nonfinite_runs=3)


def test_split_is_by_run_seeded_and_sized():
    runs = np.repeat([f"run{i}" for i in range(100)], 9)
    labels = split_runs(runs, val_fraction=0.1, test_fraction=0.5, seed=3)
    per_run = pd.DataFrame({"run": runs, "label": labels}).groupby("run")["label"].nunique()
    assert (per_run == 1).all()
    counts = pd.Series(labels[::9]).value_counts()
    assert counts["test"] == 50 and counts["val"] == 10 and counts["train"] == 40
    np.testing.assert_array_equal(labels, split_runs(runs, 0.1, 0.5, seed=3))
    assert (labels != split_runs(runs, 0.1, 0.5, seed=4)).any()


def test_finite_checkpoints_are_final_rows_without_nonfinite_ones(zoo):
    positions, dropped = finite_checkpoints(zoo, "final")
    final = select_rows(zoo.metrics, "final")
    assert dropped == 3 and len(positions) == len(final) - 3 and set(positions) < set(final)
    assert np.isfinite(np.asarray(zoo.weights[positions])).all()
    rows, _ = checkpoint_rows(zoo, "final")
    np.testing.assert_array_equal(rows.weights, zoo.weights[positions])


def test_gbm_on_statistics_learns_the_known_function(zoo):
    row = evaluate_predictor(zoo, "gbm", "wstats-layers:0,1,2,3", preset="fast", n_bootstrap=50)
    assert list(row) == ROW_COLUMNS
    assert row["r2"] > 0.8 and row["kendall_tau"] > 0.7
    assert row["r2_ci_low"] < row["r2"] < row["r2_ci_high"]
    assert row["tau_ci_low"] < row["kendall_tau"] < row["tau_ci_high"] <= 1
    assert row["dropped_nonfinite"] == 3
    assert row["n_train"] + row["n_val"] + row["n_test"] == 400 - 3
    assert row["n_test"] == pytest.approx(200, abs=3) and row["n_val"] == pytest.approx(40, abs=3)
    assert row["dataset"] == "mnist" and row["step"] == "final"


@pytest.mark.parametrize("predictor", ["linear", DNNRegressor(num_layers=2, num_units=32, epochs=40, batch_size=64,
                                                              learning_rate=1e-2, patience=10)])
def test_linear_and_dnn_beat_the_train_mean(zoo, predictor):
    row = evaluate_predictor(zoo, predictor, "wstats-layers:0,3", preset="fast", n_bootstrap=0)
    assert row["r2"] > 0.8  # predicting the train mean gives R^2 <= 0


def test_random_search_chooses_on_validation_runs(zoo):
    row = evaluate_predictor(zoo, "linear", "wstats-layers:0,3", preset="fast", n_search=3, n_bootstrap=0)
    assert row["settings"] == "fast+search3" and row["r2"] > 0.8


def test_hyperparameters_carry_no_signal_here(zoo):
    # The fixture's accuracy depends on the weights only, so the hyperparameters cannot predict it.
    row = evaluate_predictor(zoo, "gbm", "hyper", preset="fast", n_bootstrap=0)
    assert row["r2"] < 0.2


class Spy(RegressorMixin, BaseEstimator):
    """Records the run ids (the feature frame's index) that reach fit, early stopping and predict."""

    def fit(self, X, y, X_val=None, y_val=None):
        self.fit_runs_, self.val_runs_, self.predicted_ = set(X.index), set(X_val.index), []
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        self.predicted_.append(set(X.index))
        return np.clip(self.mean_ + 1e-3 * np.argsort(X.iloc[:, 0].to_numpy()), 0, 1)


@pytest.mark.parametrize("step", ["final", 20])
def test_no_test_run_reaches_training_or_early_stopping(zoo, step):
    spy = Spy()
    row = evaluate_predictor(zoo, spy, "wstats-layers:3", step=step, seed=7, n_bootstrap=0)
    labels = run_split(zoo.metrics, seed=7)
    test_runs = set(labels.index[labels == "test"])
    assert spy.fit_runs_ and spy.val_runs_
    assert not spy.fit_runs_ & test_runs, "test runs reached fit"
    assert not spy.val_runs_ & test_runs, "test runs reached early stopping"
    assert not spy.fit_runs_ & spy.val_runs_
    assert spy.fit_runs_ <= set(labels.index[labels == "train"])
    assert len(spy.predicted_) == 1 and spy.predicted_[0] <= test_runs  # the test split is touched once
    assert row["n_test"] == len(spy.predicted_[0]) and row["predictor"] == "Spy"


class FoldSpy(Spy):
    """A Spy whose clones (one per fold) all report to the class: (runs fitted on, runs predicted) per fit."""

    log: list = []

    def fit(self, X, y, X_val=None, y_val=None):
        super().fit(X, y, X_val, y_val)
        FoldSpy.log.append(self)
        return self


def test_fold_splits_put_every_run_in_test_once():
    runs = np.repeat([f"run{i}" for i in range(50)], 3)
    splits = fold_splits(runs, folds=4, val_fraction=0.1, seed=2)
    tested = np.sum([labels == "test" for labels in splits], axis=0)
    assert len(splits) == 4 and (tested == 1).all()
    for labels in splits:
        assert (pd.Series(labels[::3]).value_counts()["val"]) == 5  # 10 % of all runs
        assert pd.DataFrame({"run": runs, "label": labels}).groupby("run")["label"].nunique().max() == 1
    with pytest.raises(ValueError, match="folds"):
        fold_splits(runs, folds=1)


@pytest.mark.parametrize("folds", [2, 5])
def test_cross_fitting_predicts_every_run_once_by_a_model_that_never_saw_it(zoo, folds):
    FoldSpy.log = []
    row, predictions = predict_runs(zoo, FoldSpy(), "wstats-layers:3", folds=folds, seed=1)
    assert len(FoldSpy.log) == folds and row["folds"] == folds
    assert predictions.index.is_unique and len(predictions) == zoo.metrics["modeldir"].nunique() - 3  # 3 NaN runs
    for fold, spy in enumerate(FoldSpy.log):
        predicted = set(predictions.index[predictions["fold"] == fold])
        assert spy.predicted_ == [predicted]
        assert not predicted & (spy.fit_runs_ | spy.val_runs_), "a run was predicted by a model that saw it"
    scored = evaluate_predictor(zoo, "gbm", "wstats-layers:0,1,2,3", preset="fast", n_bootstrap=20, folds=folds)
    assert scored["n_test"] == len(predictions) and scored["r2"] > 0.8


def test_the_test_runs_do_not_depend_on_the_step_or_inputs(zoo):
    seen = []
    for step, inputs in (("final", "wstats-glob"), (0, "wstats-layers:3"), (20, "hyper")):
        spy = Spy()
        evaluate_predictor(zoo, spy, inputs, step=step, n_bootstrap=0)
        seen.append(spy.predicted_[0])
    assert seen[1] == seen[2]  # every run has epochs 0 and 20
    assert seen[0] <= seen[1] and len(seen[1] - seen[0]) <= 3  # minus runs whose final weights are NaN


def test_bad_steps_and_predictors_get_clear_errors(zoo):
    with pytest.raises(ValueError, match="one checkpoint per run"):
        evaluate_predictor(zoo, "gbm", "wstats-glob", step="all")
    with pytest.raises(ValueError, match="epochs"):
        evaluate_predictor(zoo, "gbm", "wstats-glob", step=5)
    with pytest.raises(ValueError, match="unknown predictor"):
        evaluate_predictor(zoo, "svm", "wstats-glob")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoolib.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_predict_prints_the_row(zoo):
    out = run_cli("predict", str(zoo.path), "--predictor", "gbm", "--inputs", "wstats-layers:0,1,2,3",
                  "--preset", "fast", "--bootstrap", "20", "--json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert list(row) == ROW_COLUMNS and row["r2"] > 0.8 and row["dropped_nonfinite"] == 3


def test_cli_predict_reports_bad_input(zoo):
    out = run_cli("predict", str(zoo.path), "--step", "last")
    assert out.returncode == 2 and "epoch number" in out.stderr
    out = run_cli("predict", str(zoo.path) + "-missing")
    assert out.returncode == 2 and "not a directory" in out.stderr


def test_a_sized_search_reports_what_it_chose_on_validation(zoo):
    from zoolib.predictors import SIZED_GRIDS

    row = evaluate_predictor(zoo, "gbm", "wstats-layers:0,3", preset="sized", n_bootstrap=0)
    assert row["settings"] == "sized" and row["r2"] > 0.5
    chosen = dict(part.split("=") for part in row["chosen"].split(", "))
    assert set(chosen) == set(SIZED_GRIDS["gbm"])
    assert int(chosen["num_leaves"]) in SIZED_GRIDS["gbm"]["num_leaves"]
    assert evaluate_predictor(zoo, "gbm", "wstats-layers:0,3", preset="fast", n_bootstrap=0)["chosen"] == ""


class CandidateSpy(Spy):
    """Stands in for a predictor class inside a search: every candidate the search makes reports to `log`."""

    log: list = []

    def __init__(self, **settings):
        self.settings = settings
        CandidateSpy.log.append(self)


@pytest.mark.parametrize("search", [{"preset": "sized"}, {"preset": "fast", "n_search": 3}])
def test_a_search_chooses_without_seeing_the_test_runs(zoo, monkeypatch, search):
    from zoolib import predictors

    CandidateSpy.log = []
    monkeypatch.setitem(predictors.CLASSES, "linear", CandidateSpy)
    row, predictions = predict_runs(zoo, "linear", "wstats-layers:3", seed=5, **search)
    labels = run_split(zoo.metrics, seed=5)
    test, val = set(labels.index[labels == "test"]), set(labels.index[labels == "val"])
    fitted = [spy for spy in CandidateSpy.log if hasattr(spy, "fit_runs_")]
    assert len(fitted) >= 3  # a search: several candidates, each fitted
    for spy in fitted:
        assert not (spy.fit_runs_ | spy.val_runs_) & test, "a candidate was fitted or early-stopped on test runs"
    calls = [runs for spy in fitted for runs in spy.predicted_]
    touching_test = [runs for runs in calls if runs & test]
    assert touching_test == [set(predictions.index)], "the test runs were predicted more than once: a search saw them"
    assert all(runs <= val for runs in calls if not runs & test), "candidates were compared on other than validation runs"
