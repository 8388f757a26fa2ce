"""`zoolib compare`: two predictors on the same runs, their paired differences and the verdict."""

import json

import pytest

from tests.zoo_fixtures import learnable_zoo, write_released_style_zoo
from zoolib.claims import HOLDS
from zoolib.cli import main

FAST = ["--preset", "fast", "--bootstrap", "30"]


def strict_json(text: str) -> dict:
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return learnable_zoo(tmp_path_factory.mktemp("zoo") / "zoo", n_runs=120, steps=(0, 86), nonfinite_runs=2)


def test_statistics_beat_hyperparameters_on_a_zoo_whose_accuracy_is_a_function_of_the_weights(zoo, capsys):
    argv = ["compare", str(zoo.path), "--a", "gbm:wstats-layers:0,1,2,3", "--b", "gbm:hyper", "--folds", "3", *FAST]
    assert main([*argv, "--json"]) == 0
    result = strict_json(capsys.readouterr().out)
    assert result["n"] == 118 and result["split"] == "3-fold cross-fitting"  # every finite run, each scored once
    assert result["a"]["n_test"] == result["b"]["n_test"] == 118
    for metric, key in (("r2", "r2_difference"), ("kendall_tau", "tau_difference")):
        difference = result[key]
        assert difference["value"] == pytest.approx(result["a"][metric] - result["b"][metric])
        assert 0 < difference["low"] <= difference["value"] <= difference["high"]
        assert difference["verdict"] == HOLDS
    assert result["verdict"] == HOLDS and result["r2_difference"]["text"].startswith("R² A - B +")
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "118 nets scored" in text and "A:     gbm on wstats-layers:0,1,2,3: R² " in text
    assert text.rstrip().endswith("(R² difference above 0): holds")


def test_a_released_format_zoo_is_compared_on_its_single_split(tmp_path, capsys):
    write_released_style_zoo(tmp_path / "zoo", n_runs=40)
    argv = ["compare", str(tmp_path / "zoo"), "--a", "linear:hyper", "--b", "gbm:wstats-layers:0,3", *FAST, "--json"]
    assert main(argv) == 0
    result = strict_json(capsys.readouterr().out)
    assert result["n"] == 20 and result["split"].startswith("single split")  # half of the 40 runs
    assert {result["a"]["inputs"], result["b"]["inputs"]} == {"hyper", "wstats-layers:0,3"}
    assert result["verdict"] in ("holds", "does not hold", "cannot tell at this size")


@pytest.mark.parametrize("flags, says", [
    (["--a", "svm:xyz", "--b", "gbm:hyper"], "--a svm:xyz: expected PREDICTOR:INPUTS"),
    (["--a", "gbm", "--b", "gbm:hyper"], "--a gbm: expected PREDICTOR:INPUTS"),
    (["--a", "gbm:hyper", "--b", "gbm:xyz"], "--b gbm:xyz: unknown input 'xyz'"),
])
def test_a_bad_spec_is_a_one_line_error_before_any_fit(zoo, flags, says, capsys, monkeypatch):
    monkeypatch.setattr("zoolib.evaluation.predict_runs", lambda *a, **k: pytest.fail("fitted before checking"))
    assert main(["compare", str(zoo.path), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"zoolib: error: {says}")


def test_folds_below_two_are_refused(zoo, capsys):
    assert main(["compare", str(zoo.path), "--a", "gbm:hyper", "--b", "gbm:hyper", "--folds", "1"]) == 2
    assert "an integer >= 2" in capsys.readouterr().err
