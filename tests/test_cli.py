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
