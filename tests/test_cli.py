"""End-to-end tests of the `zoolib` console script (run as a real subprocess)."""

import io
import json
import subprocess
import sys

import pandas as pd

from zoolib.cnn import parameter_layout
from tests.zoo_fixtures import write_released_style_zoo


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoolib.cli", *args], capture_output=True, text=True, timeout=300)


def test_layout_prints_the_paper_layout_as_csv():
    out = run_cli("layout")
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(io.StringIO(out.stdout))
    pd.testing.assert_frame_equal(table, parameter_layout())


def test_layout_of_a_variant_architecture():
    out = run_cli("layout", "--arch", "mlp:num_layers=1,num_units=4")
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(io.StringIO(out.stdout))
    assert list(table["varname"]) == [
        "sequential/dense/bias:0", "sequential/dense/kernel:0",
        "sequential/dense_1/bias:0", "sequential/dense_1/kernel:0",
    ]
    assert table["end_idx"].iloc[-1] == 4 + 784 * 4 + 10 + 40


def test_zoo_info_summarizes_a_released_style_zoo(tmp_path):
    write_released_style_zoo(tmp_path / "zoo", n_runs=4, stopped_early=1)
    out = run_cli("zoo", "info", str(tmp_path / "zoo"))
    assert out.returncode == 0, out.stderr
    assert "runs:       4" in out.stdout
    assert "[0, 1, 2, 3, 20, 40, 60, 80, 86]" in out.stdout
    assert "3 checkpoints: 1 runs, 9 checkpoints: 3 runs" in out.stdout
    info = json.loads(run_cli("zoo", "info", "--json", str(tmp_path / "zoo")).stdout)
    assert info["rows"] == 30 and info["datasets"] == ["mnist"] and info["nonfinite_rows"] == 0


def test_zoo_info_on_a_bad_directory_fails_with_a_clear_message(tmp_path):
    out = run_cli("zoo", "info", str(tmp_path / "missing"))
    assert out.returncode == 2
    assert "not a directory" in out.stderr and "Traceback" not in out.stderr


def test_zoo_info_warns_when_the_final_checkpoint_is_not_epoch_86(tmp_path):
    write_released_style_zoo(tmp_path / "released", n_runs=2)
    assert "warning" not in run_cli("zoo", "info", str(tmp_path / "released")).stderr
    write_released_style_zoo(tmp_path / "short", n_runs=2, steps=[0, 1, 2])
    out = run_cli("zoo", "info", str(tmp_path / "short"))
    assert out.returncode == 0 and "warning: the final checkpoint is epoch 2, not 86" in out.stderr
    assert "load no nets from this zoo" in out.stderr


def test_json_output_is_strict_json_with_null_for_nan(tmp_path, capsys):
    from zoolib.cli import main

    write_released_style_zoo(tmp_path / "zoo", n_runs=1, stopped_early=0)  # one final row: std is NaN
    assert main(["zoo", "info", "--json", str(tmp_path / "zoo")]) == 0

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    info = json.loads(capsys.readouterr().out, parse_constant=no_constants)
    assert info["final_test_accuracy"]["std"] is None and info["rows"] == 9


def test_strict_json_converts_numpy_scalars_and_non_finite_numbers():
    import numpy as np

    from zoolib.cli import _strict_json

    value = {"r2": np.float32(0.5), "n": np.int64(3), "ci": (float("nan"), np.inf), "ok": np.bool_(True)}
    assert _strict_json(value) == {"r2": 0.5, "n": 3, "ci": [None, None], "ok": True}
    json.dumps(_strict_json(value), allow_nan=False)


def test_a_user_error_is_one_line_and_debug_adds_the_traceback(tmp_path, capsys):
    from zoolib.cli import main

    assert main(["zoo", "info", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoolib: error: ") and "Traceback" not in err and "missing" in err
    assert main(["zoo", "info", str(tmp_path / "missing"), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZooFormatError" in err and err.rstrip().endswith("zoo download` or `zoolib zoo generate` to make one)")


def test_an_unexpected_error_still_shows_its_traceback(tmp_path, monkeypatch):
    import pytest

    from zoolib import zoo
    from zoolib.cli import main

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(zoo, "describe", broken)
    write_released_style_zoo(tmp_path / "zoo", n_runs=2)
    with pytest.raises(KeyError, match="a bug"):
        main(["zoo", "info", str(tmp_path / "zoo")])


def test_verify_integrity_checks_a_written_zoo_against_its_manifest(tmp_path, capsys):
    from tests.zoo_fixtures import learnable_zoo
    from zoolib.cli import main

    zoo = learnable_zoo(tmp_path / "zoo", n_runs=3).path
    manifest = json.loads((zoo / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["layout.csv", "metrics.csv.gz", "weights.npy"]
    assert manifest["files"]["weights.npy"]["size"] == (zoo / "weights.npy").stat().st_size
    assert main(["zoo", "verify", "--integrity", str(zoo)]) == 0
    out = capsys.readouterr().out
    assert "OK: all 3 files match manifest.json" in out
    (zoo / "generation.json").write_text("{}")  # a file the manifest does not list
    assert main(["zoo", "verify", "--integrity", str(zoo)]) == 1
    captured = capsys.readouterr()
    assert "generation.json  not in the manifest" in captured.out and "generation.json" in captured.err
