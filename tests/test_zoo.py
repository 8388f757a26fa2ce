import gzip
import json

import numpy as np
import pandas as pd
import pytest

from zoolib.cnn import parameter_layout
from zoolib.zoo import (
    ZooFormatError,
    describe,
    drop_nonfinite,
    finite_rows,
    read_zoo,
    select_rows,
    write_zoo,
)
from tests.zoo_fixtures import STEPS, released_style_metrics, write_released_style_zoo


def test_reads_a_released_style_zoo(tmp_path):
    weights, metrics = write_released_style_zoo(tmp_path / "zoo", n_runs=5, stopped_early=1)
    zoo = read_zoo(tmp_path / "zoo")
    assert isinstance(zoo.weights, np.memmap)
    np.testing.assert_array_equal(zoo.weights, weights)
    assert "Unnamed: 0" not in zoo.metrics.columns
    assert zoo.metrics["laststep"].dtype == bool
    assert zoo.metrics["laststep"].sum() == 5
    assert zoo.steps == STEPS
    assert list(zoo.layout["varname"])[0] == "sequential/conv2d/bias:0"


def test_final_selection_takes_each_runs_last_checkpoint_including_stopped_runs(tmp_path):
    _, metrics = write_released_style_zoo(tmp_path / "zoo", n_runs=4, stopped_early=1)
    zoo = read_zoo(tmp_path / "zoo")
    final = zoo.take(select_rows(zoo.metrics, "final"))
    assert len(final) == 4
    assert sorted(final.metrics["step"]) == [2, 86, 86, 86]
    assert final.metrics["laststep"].all()
    expected_rows = np.flatnonzero(metrics["laststep"].to_numpy())
    np.testing.assert_array_equal(final.weights, zoo.weights[expected_rows])
    assert len(zoo.take(select_rows(zoo.metrics, 20))) == 3
    assert len(zoo.take(select_rows(zoo.metrics, "all"))) == len(zoo)
    with pytest.raises(ValueError, match="no checkpoint at epoch 5"):
        select_rows(zoo.metrics, 5)


def test_written_zoo_reads_back_identically(tmp_path):
    metrics = released_style_metrics(3, stopped_early=0).drop(columns="laststep")
    weights = np.random.default_rng(1).normal(size=(len(metrics), 4970)).astype(np.float32)
    zoo = write_zoo(tmp_path / "out", weights, metrics, parameter_layout())
    again = read_zoo(tmp_path / "out")
    np.testing.assert_array_equal(again.weights, weights)
    pd.testing.assert_frame_equal(again.metrics.drop(columns="laststep"), metrics, check_dtype=False)
    assert again.metrics["laststep"].sum() == 3
    pd.testing.assert_frame_equal(again.layout, parameter_layout())
    header = gzip.open(tmp_path / "out" / "metrics.csv.gz", "rt").readline().rstrip("\n").split(",")
    assert header[0] == "" and header[1:4] == ["config.activation", "config.b_init", "config.dataset"]
    assert zoo.metrics.shape == again.metrics.shape
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_write_replaces_an_existing_zoo_atomically(tmp_path):
    metrics = released_style_metrics(2, stopped_early=0)
    ones = np.ones((len(metrics), 4970), np.float32)
    write_zoo(tmp_path / "z", ones, metrics, parameter_layout())
    write_zoo(tmp_path / "z", 2 * ones, metrics, parameter_layout())
    assert float(read_zoo(tmp_path / "z").weights[0, 0]) == 2.0
    with pytest.raises(ZooFormatError):
        write_zoo(tmp_path / "z", ones[:-1], metrics, parameter_layout())
    assert float(read_zoo(tmp_path / "z").weights[0, 0]) == 2.0


def test_drop_nonfinite_reports_how_many(tmp_path):
    weights, _ = write_released_style_zoo(tmp_path / "zoo", n_runs=3)
    weights[4, 100] = np.nan
    weights[7, 0] = np.inf
    np.save(tmp_path / "zoo" / "weights.npy", weights)
    zoo = read_zoo(tmp_path / "zoo")
    clean, dropped = drop_nonfinite(zoo)
    assert dropped == 2 and len(clean) == len(zoo) - 2
    assert np.isfinite(clean.weights).all()
    assert describe(zoo)["nonfinite_rows"] == 2
    # positions in any order, over chunk boundaries
    np.testing.assert_array_equal(finite_rows(zoo.weights, [7, 0, 4, 5], chunk_rows=3), [False, True, False, True])
    np.testing.assert_array_equal(finite_rows(zoo.weights, chunk_rows=3), np.isfinite(weights).all(axis=1))


def test_tensor_reshapes_by_layout(tmp_path):
    weights, _ = write_released_style_zoo(tmp_path / "zoo", n_runs=2)
    kernels = read_zoo(tmp_path / "zoo").tensor("sequential/conv2d_1/kernel:0")
    assert kernels.shape == (len(weights), 3, 3, 16, 16)
    np.testing.assert_array_equal(kernels[1].reshape(-1), weights[1, 176:2480])


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda d, w, m: np.save(d / "weights.npy", w[:-1]), r"weights.npy has \d+ rows but metrics.csv.gz has"),
        (lambda d, w, m: np.save(d / "weights.npy", w.astype(np.float64)), "dtype float64, expected float32"),
        (lambda d, w, m: np.save(d / "weights.npy", w[:, :4000]), r"must cover columns \[0, 4000\)"),
        (lambda d, w, m: (d / "layout.csv").unlink(), "layout.csv: missing"),
        (lambda d, w, m: (d / "weights.npy").write_bytes(b"not numpy"), "not a readable .npy"),
        (lambda d, w, m: m.drop(columns="modeldir").to_csv(d / "metrics.csv.gz"), r"missing columns \['modeldir'\]"),
        (
            lambda d, w, m: parameter_layout().drop(columns="shape").to_csv(d / "layout.csv"),
            r"layout.csv: missing columns \['shape'\]",
        ),
        (
            lambda d, w, m: parameter_layout().assign(shape="(3, 3)").to_csv(d / "layout.csv"),
            "shape .3, 3. holds 9 values",
        ),
        (lambda d, w, m: parameter_layout().iloc[:0].to_csv(d / "layout.csv"), "layout.csv: no tensors listed"),
    ],
)
def test_validation_errors_name_the_file_and_expectation(tmp_path, break_it, message):
    weights, metrics = write_released_style_zoo(tmp_path / "zoo", n_runs=2)
    break_it(tmp_path / "zoo", weights, metrics)
    with pytest.raises(ZooFormatError, match=message):
        read_zoo(tmp_path / "zoo")


def test_missing_directory_says_how_to_get_a_zoo(tmp_path):
    with pytest.raises(ZooFormatError, match="zoolib zoo download"):
        read_zoo(tmp_path / "nowhere")


def test_write_refuses_a_folder_with_the_users_files_unless_forced(tmp_path):
    metrics = released_style_metrics(2, stopped_early=0)
    ones = np.ones((len(metrics), 4970), np.float32)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(FileExistsError, match="thesis.tex.*--force"):
        write_zoo(tmp_path / "mine", ones, metrics, parameter_layout())
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "years of work"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        write_zoo(tmp_path / "afile", ones, metrics, parameter_layout())
    write_zoo(tmp_path / "mine", ones, metrics, parameter_layout(), force=True)
    assert not (tmp_path / "mine" / "thesis.tex").exists()


def _resident_kib(path) -> int:
    """Resident KiB of this process's mappings of `path` (/proc/self/smaps)."""
    total, current = 0, False
    for line in open("/proc/self/smaps"):
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:
            current = len(fields) == 6 and fields[5] == str(path)
        elif current and fields[0] == "Rss:":
            total += int(fields[1])
    return total


def test_read_rows_gathers_rows_and_hands_back_the_mapped_pages(tmp_path):
    from zoolib.zoo import read_rows

    path = tmp_path / "w.npy"
    np.save(path, np.random.default_rng(0).standard_normal((3000, 1024)).astype(np.float32))  # 12 MiB
    weights = np.load(path, mmap_mode="r")
    rows = np.random.default_rng(1).permutation(3000)[:2000]
    assert np.array_equal(read_rows(weights, rows, chunk_rows=256), weights[rows])  # order kept
    if not __import__("os").path.exists("/proc/self/smaps"):
        pytest.skip("needs /proc/self/smaps")
    weights = np.load(path, mmap_mode="r")
    read_rows(weights, np.arange(0, 3000, 3), chunk_rows=256)
    assert _resident_kib(path) < 2048  # without the page drops all 12 MiB stay resident


def test_generation_json_is_read_typed_once(tmp_path):
    from zoolib.zoo import read_generation

    assert read_generation(tmp_path) is None  # none: downloaded or written by hand
    spec = {"dataset": "mnist", "nets": 3, "checkpoints": [0, 1, 2], "arch_name": "cnn"}
    (tmp_path / "generation.json").write_text(json.dumps(
        {"spec": spec, "data_source": "files", "train_images": 1100, "test_images": 200, "train_fractions": [0.5, 1],
         "runs": 3, "seconds_last_session": 12.5}))
    generation = read_generation(tmp_path)
    assert (generation.nets, generation.epochs, generation.arch_name, generation.seconds) == (3, 2, "cnn", 12.5)
    assert generation.train_fractions == (0.5, 1.0) and generation.trained and not generation.synthetic
    (tmp_path / "generation.json").write_text('{"synthetic": true}')
    assert read_generation(tmp_path).synthetic and not read_generation(tmp_path).trained
    for text in ("[]", '{"spec": null}', '{"spec": {"dataset": "mnist", "nets": "3", "checkpoints": [2]}}',
                 '{"spec": {"dataset": "mnist", "nets": 3, "checkpoints": [2]}, "train_images": "many"}', "{oops"):
        (tmp_path / "generation.json").write_text(text)
        with pytest.raises(ZooFormatError, match=str(tmp_path / "generation.json")):
            read_generation(tmp_path)
