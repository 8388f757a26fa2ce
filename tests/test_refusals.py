"""What zoolib refuses, case by case: damaged zoos, bad flags, bad archives, user folders at --out /
--dest, a crash and its debris, a damaged shard, two generations of one zoo.

Every case asserts the exit code (2 for a user error, 1 for a check that checked nothing), that no
traceback is printed, that the message names the culprit (file, field or flag), and that no file in
the test's folder changed. CLI cases run in-process (zoolib.cli.main); only the crash and the
concurrent generations run real processes.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_release import N_ROWS, make_archive
from tests.zoo_fixtures import write_released_style_zoo
from zoolib import release
from zoolib.cli import main
from zoolib.files import TEMP_PREFIX
from zoolib.zoo import MANIFEST_FILE, read_zoo

REPO = Path(__file__).resolve().parents[1]
ZOO_READERS = [  # every command that reads a zoo, {zoo} and {tmp} filled in
    "zoo info {zoo}", "zoo verify {zoo}", "predict {zoo}", "features {zoo} --out {tmp}/f.csv",
    "nfn split {zoo} --out {tmp}/s.csv",
]


def snapshot(root: Path) -> dict[str, str]:
    """Every path under root with the sha256 of its bytes ('dir' for folders)."""
    return {
        str(p.relative_to(root)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
    }


def refused(argv: str | list[str], capsys, culprit: str | list[str], code: int = 2) -> str:
    """Run the CLI in-process; assert the exit code, no traceback, and each culprit named; return stderr."""
    got = main(argv.split() if isinstance(argv, str) else argv)
    err = capsys.readouterr().err
    assert got == code, err
    assert "Traceback" not in err
    for name in [culprit] if isinstance(culprit, str) else culprit:
        assert name in err, f"{name!r} not in: {err}"
    return err


# ----------------------------------------------------------------------------- damaged zoo files


def _edit_csv(file: str, column: str, row: int, value):
    def edit(zoo: Path):
        table = pd.read_csv(zoo / file, index_col=0)
        table[column] = table[column].astype(object)
        table.loc[row, column] = value
        table.to_csv(zoo / file)

    return edit


def _swap_bias_and_kernel_names(zoo: Path):
    layout = pd.read_csv(zoo / "layout.csv", index_col=0)
    layout.loc[[0, 1], "varname"] = layout.loc[[1, 0], "varname"].to_numpy()
    layout.to_csv(zoo / "layout.csv")


def _empty_zoo(zoo: Path):
    np.save(zoo / "weights.npy", np.zeros((0, 4970), np.float32))
    pd.read_csv(zoo / "metrics.csv.gz", index_col=0).iloc[:0].to_csv(zoo / "metrics.csv.gz")


def _duplicate_row(zoo: Path, row: int) -> None:
    """Row `row` of metrics.csv.gz twice (and its weights row), as a careless merge leaves it."""
    metrics = pd.read_csv(zoo / "metrics.csv.gz", index_col=0)
    pd.concat([metrics, metrics.iloc[[row]]], ignore_index=True).to_csv(zoo / "metrics.csv.gz")
    weights = np.load(zoo / "weights.npy")
    np.save(zoo / "weights.npy", np.concatenate([weights, weights[[row]]]))


def _truncate(name: str, keep: int):
    return lambda zoo: (zoo / name).write_bytes((zoo / name).read_bytes()[:keep])


DAMAGED_ZOOS = {  # id: (damage, file named, words of the message)
    "0-byte weights": (_truncate("weights.npy", 0), "weights.npy", "not a readable .npy"),
    "truncated weights": (_truncate("weights.npy", 5000), "weights.npy", "truncated"),
    "weights header cut": (_truncate("weights.npy", 60), "weights.npy", "not a readable .npy"),
    "metrics not gzip": (lambda z: (z / "metrics.csv.gz").write_text("a,b\n1,2\n"), "metrics.csv.gz", "not gzip"),
    "metrics gzip truncated": (_truncate("metrics.csv.gz", 300), "metrics.csv.gz", "damaged"),
    "metrics gzip of binary garbage": (
        lambda z: (z / "metrics.csv.gz").write_bytes(gzip.compress(b"\x00\xff\xfe garbage")), "metrics.csv.gz", "damaged"),
    "metrics gzip of text garbage": (
        lambda z: (z / "metrics.csv.gz").write_bytes(gzip.compress(b"lorem ipsum\ndolor")), "metrics.csv.gz",
        "missing columns"),
    "metrics empty gzip": (lambda z: (z / "metrics.csv.gz").write_bytes(gzip.compress(b"")), "metrics.csv.gz", "damaged"),
    "empty layout": (lambda z: (z / "layout.csv").write_text(""), "layout.csv", "damaged"),
    "accuracy text": (_edit_csv("metrics.csv.gz", "test_accuracy", 3, "high"), "metrics.csv.gz", "test_accuracy holds 'high'"),
    "accuracy above 1": (_edit_csv("metrics.csv.gz", "test_accuracy", 3, 1.5), "metrics.csv.gz", "[0, 1]"),
    "train accuracy below 0": (_edit_csv("metrics.csv.gz", "train_accuracy", 0, -0.1), "metrics.csv.gz", "train_accuracy"),
    "step text": (_edit_csv("metrics.csv.gz", "step", 3, "ten"), "metrics.csv.gz", "step holds 'ten'"),
    "step NaN": (_edit_csv("metrics.csv.gz", "step", 3, np.nan), "metrics.csv.gz", "step holds 'nan'"),
    "step fraction": (_edit_csv("metrics.csv.gz", "step", 3, 2.5), "metrics.csv.gz", "integer"),
    "shape banana": (_edit_csv("layout.csv", "shape", 1, "banana"), "layout.csv", "'banana'"),
    "start_idx text": (_edit_csv("layout.csv", "start_idx", 1, "x"), "layout.csv", "start_idx holds 'x'"),
    "bias and kernel names swapped": (_swap_bias_and_kernel_names, "layout.csv", "bias"),
    "kernel shape permuted": (_edit_csv("layout.csv", "shape", 1, "(16, 1, 3, 3)"), "layout.csv", "last dimension"),
    "empty zoo": (_empty_zoo, "", "no nets"),
    "accuracy NaN": (_edit_csv("metrics.csv.gz", "test_accuracy", 3, np.nan), "metrics.csv.gz",
                     "test_accuracy holds 'nan'"),
    "a run's row twice": (lambda z: _duplicate_row(z, 4), "metrics.csv.gz", "2 rows at epoch"),
    "blank modeldir": (_edit_csv("metrics.csv.gz", "modeldir", 2, " "), "metrics.csv.gz", "modeldir is empty in row 2"),
    "config text": (_edit_csv("metrics.csv.gz", "config.learning_rate", 1, "oops"), "metrics.csv.gz",
                    "config.learning_rate holds 'oops'"),
}


@pytest.mark.parametrize("damage, file, words", DAMAGED_ZOOS.values(), ids=DAMAGED_ZOOS.keys())
def test_a_damaged_zoo_is_refused_naming_the_file(tmp_path, capsys, damage, file, words):
    zoo = tmp_path / "zoo"
    write_released_style_zoo(zoo, n_runs=2)
    damage(zoo)
    before = snapshot(tmp_path)
    refused(["zoo", "info", str(zoo)], capsys, [str(zoo / file).rstrip("/"), words, "zoolib: error:"])
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ZOO_READERS)
def test_every_command_that_reads_a_zoo_refuses_a_damaged_one(tmp_path, capsys, command):
    zoo = tmp_path / "zoo"
    write_released_style_zoo(zoo, n_runs=2)
    _edit_csv("metrics.csv.gz", "step", 3, "ten")(zoo)
    before = snapshot(tmp_path)
    refused(command.format(zoo=zoo, tmp=tmp_path), capsys, [str(zoo / "metrics.csv.gz"), "step holds 'ten'"])
    assert snapshot(tmp_path) == before


# ----------------------------------------------------------------------------- bad flags


BAD_FLAGS = {  # id: (command line, what the message names)
    "verify --n 0": ("zoo verify {zoo} --n 0", "--n"),
    "verify --n -3": ("zoo verify {zoo} --n -3", "--n"),
    "verify --test-images 0": ("zoo verify {zoo} --test-images 0", "--test-images"),
    "verify --test-images -5": ("zoo verify {zoo} --test-images -5", "--test-images"),
    "verify --tolerance nan": ("zoo verify {zoo} --tolerance nan", "--tolerance"),
    "generate --nets 0": ("zoo generate --dataset fashion_mnist --nets 0", "--nets"),
    "generate --shard-size 0": ("zoo generate --dataset fashion_mnist --shard-size 0", "--shard-size"),
    "generate --workers 0": ("zoo generate --dataset fashion_mnist --workers 0", "--workers"),
    "generate --out without --dataset": ("zoo generate --out {tmp}/z", "--dataset"),
    "predict --bootstrap -5": ("predict {zoo} --bootstrap -5", "--bootstrap"),
    "predict --search -2": ("predict {zoo} --search -2", "--search"),
    "predict --val-fraction 1.5": ("predict {zoo} --val-fraction 1.5", "--val-fraction"),
    "predict --test-fraction 0": ("predict {zoo} --test-fraction 0", "--test-fraction"),
    "predict fractions sum to 1": ("predict {zoo} --val-fraction 0.5 --test-fraction 0.5", "--val-fraction"),
    "predict --step banana": ("predict {zoo} --step banana", "--step"),
    "predict --step absent": ("predict {zoo} --step 5", "epoch 5"),
    "predict --seed -1": ("predict {zoo} --seed -1", "--seed"),
    "features --chunk-rows 0": ("features {zoo} --out {tmp}/f.csv --chunk-rows 0", "--chunk-rows"),
    "features --step x": ("features {zoo} --out {tmp}/f.csv --step x", "--step"),
    "features --out a folder": ("features {zoo} --out {tmp}", "is a folder"),
    "features --out under a file": ("features {zoo} --out {tmp}/notes.csv/f.csv", "notes.csv"),
    "features --out an existing file": ("features {zoo} --out {tmp}/notes.csv", "--force"),
    "features --out no extension": ("features {zoo} --out {tmp}/f.txt", "--out"),
    "features --out inside the zoo it reads, --force or not": ("features {zoo} --out {zoo}/metrics.csv.gz --force",
                                                              "inside"),
    "nfn split --out inside the zoo": ("nfn split {zoo} --out {zoo}/s.csv --force", "inside"),
    "nfn split --out a folder": ("nfn split {zoo} --out {tmp}/folder.csv --force", "folder.csv: is a folder"),
    "nfn export --out a folder": ("nfn export {zoo} --part val --out {tmp}/folder.npz --force", "folder.npz: is a folder"),
    "verify --integrity of no folder": ("zoo verify --integrity {tmp}/nowhere", "nowhere: no such zoo folder"),
    "layout --input-size 0": ("layout --input-size 0", "--input-size"),
    "download --sha256 not hex": ("zoo download mnist --sha256 xyz", "--sha256"),
    "download --dest for two": ("zoo download mnist cifar10 --dest {tmp}/d", "--dest"),
}


@pytest.mark.parametrize("command, flag", BAD_FLAGS.values(), ids=BAD_FLAGS.keys())
def test_a_bad_flag_is_refused_naming_it(tmp_path, capsys, command, flag):
    zoo = tmp_path / "zoo"
    write_released_style_zoo(zoo, n_runs=4, stopped_early=0)
    (tmp_path / "notes.csv").write_text("mine")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "folder.npz").mkdir()
    before = snapshot(tmp_path)
    refused(command.format(zoo=zoo, tmp=tmp_path), capsys, flag)
    assert snapshot(tmp_path) == before


# ----------------------------------------------------------------------------- bad archives


def _save_weights(make):
    def edit(folder: Path):
        shape = np.load(folder / "weights.npy", mmap_mode="r").shape
        np.save(folder / "weights.npy", make(shape))

    return edit


def _edit_metrics(change):
    def edit(folder: Path):
        metrics = pd.read_csv(folder / "metrics.csv.gz", index_col=0)
        change(metrics)
        metrics.to_csv(folder / "metrics.csv.gz")

    return edit


def _padding(size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo("mnist/padding.bin")
    info.size = size
    return info


BAD_ARCHIVES = {  # id: (make_archive keywords, words of the message)
    "all-zero weights": (dict(edit=_save_weights(lambda s: np.zeros(s, np.float32))), "all zero"),
    "constant weights": (dict(edit=_save_weights(lambda s: np.full(s, 0.25, np.float32))), "constant"),
    "NaN weights": (dict(edit=_save_weights(lambda s: np.full(s, np.nan, np.float32))), "NaN"),
    "a member past the size cap": (dict(extra=[(_padding(4 << 20), bytes(4 << 20))]), "more than a released zoo needs"),
    "other checkpoint epochs": (dict(edit=_edit_metrics(lambda m: m.replace({"step": {20: 25}}, inplace=True))),
                                "epochs"),
    "accuracy above 1": (dict(edit=_edit_metrics(lambda m: m.__setitem__("test_accuracy", 3 * m["test_accuracy"]))),
                         "test_accuracy"),
    "bias and kernel swapped": (dict(edit=_swap_bias_and_kernel_names), "bias"),
}


@pytest.mark.parametrize("how, words", BAD_ARCHIVES.values(), ids=BAD_ARCHIVES.keys())
def test_a_bad_archive_is_refused_and_nothing_installed(tmp_path, capsys, monkeypatch, how, words):
    monkeypatch.setitem(release.RELEASED_ROWS, "mnist", N_ROWS)
    archive = tmp_path / "mnist.tar.xz"
    archive.write_bytes(make_archive(tmp_path / "work", **how))
    dest = tmp_path / "zoos" / "mnist"
    dest.parent.mkdir()
    before = snapshot(tmp_path)
    refused(["zoo", "download", "mnist", "--archive", str(archive), "--dest", str(dest)], capsys, [str(archive), words])
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("body, flags, words", [
    (b"not an archive at all", [], "not a valid, complete .tar.xz"),
    (None, ["--sha256", "0" * 64], "sha256"),
], ids=["not xz", "another sha256"])
def test_an_archive_that_is_not_the_one_meant_is_refused(tmp_path, capsys, monkeypatch, body, flags, words):
    monkeypatch.setitem(release.RELEASED_ROWS, "mnist", N_ROWS)
    archive = tmp_path / "mnist.tar.xz"
    archive.write_bytes(body or make_archive(tmp_path / "work"))
    dest = tmp_path / "zoos" / "mnist"
    dest.parent.mkdir()
    before = snapshot(tmp_path)
    refused(["zoo", "download", "mnist", "--archive", str(archive), "--dest", str(dest), *flags], capsys,
            [str(archive), words])
    assert snapshot(tmp_path) == before


# ----------------------------------------------------------------------------- user folders at --out / --dest


def _users_folder(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "thesis.tex").write_text("years of work")


def _a_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a file, not a folder")


def _downloaded_zoo(path: Path) -> None:
    write_released_style_zoo(path, n_runs=2)


def _damaged_zoo(path: Path) -> None:
    write_released_style_zoo(path, n_runs=3)
    (path / "weights.npy").write_bytes(b"")


USER_FOLDERS = {  # id: (command, what is at the target, words of the message)
    "generate --out: the user's folder": ("zoo generate --profile tiny --dataset fashion_mnist --out {target}",
                                          _users_folder, ["thesis.tex", "--force"]),
    "generate --out: a file": ("zoo generate --profile tiny --dataset fashion_mnist --out {target}", _a_file,
                               ["is a file", "--force"]),
    "generate --out: a zoo zoolib did not generate": (
        "zoo generate --profile tiny --dataset fashion_mnist --out {target}", _downloaded_zoo,
        ["did not generate", "--force"]),
    "generate --out: the user's folder as an _archs collection": (
        "zoo generate --profile tiny --dataset fashion_mnist_archs --out {target}", _users_folder,
        ["thesis.tex", "--force"]),
    "download --dest: the user's folder": ("zoo download mnist --archive {archive} --dest {target}", _users_folder,
                                           ["thesis.tex", "--force"]),
    "download --dest: a damaged zoo": ("zoo download mnist --archive {archive} --dest {target}", _damaged_zoo,
                                       ["weights.npy", "--force"]),
    "download --dest: a file": ("zoo download mnist --archive {archive} --dest {target}", _a_file, ["--force"]),
}


@pytest.mark.parametrize("command, prepare, words", USER_FOLDERS.values(), ids=USER_FOLDERS.keys())
def test_a_folder_zoolib_did_not_write_is_left_alone(tmp_path, capsys, monkeypatch, command, prepare, words):
    monkeypatch.setitem(release.RELEASED_ROWS, "mnist", N_ROWS)
    archive = tmp_path / "mnist.tar.xz"
    archive.write_bytes(make_archive(tmp_path / "work"))
    target = tmp_path / "mine" / "target"
    prepare(target)
    before = snapshot(tmp_path)
    refused(command.format(target=target, archive=archive), capsys, [str(target), *words])
    assert snapshot(tmp_path) == before


def test_force_replaces_a_damaged_zoo_with_a_fresh_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(release.RELEASED_ROWS, "mnist", N_ROWS)
    archive = tmp_path / "mnist.tar.xz"
    archive.write_bytes(make_archive(tmp_path / "work"))
    dest = tmp_path / "mnist"
    _damaged_zoo(dest)
    monkeypatch.setattr(release, "download_split_file", lambda *args, **kwargs: tmp_path / "split.csv")
    assert main(["zoo", "download", "mnist", "--archive", str(archive), "--dest", str(dest), "--force"]) == 0
    assert read_zoo(dest).weights.shape == (N_ROWS, 4970)


# ----------------------------------------------------------------------------- checks that check nothing, integrity


def test_verify_fails_when_no_net_could_be_checked(tmp_path, capsys, monkeypatch):
    from zoolib import verify
    from zoolib.data import Dataset

    zoo = tmp_path / "zoo"
    weights, _ = write_released_style_zoo(zoo, n_runs=3)
    np.save(zoo / "weights.npy", np.full_like(weights, np.nan))
    images = np.zeros((10, 28, 28, 1), np.float32)
    monkeypatch.setattr(verify, "load_test_set", lambda *a, **k: (Dataset("mnist", images, np.zeros(10), images,
                                                                           np.zeros(10), "fixture"), None))
    before = snapshot(tmp_path)
    refused(["zoo", "verify", str(zoo)], capsys, [str(zoo), "no net was checked", "NaN"], code=1)
    assert snapshot(tmp_path) == before


def _test_set_of(monkeypatch, n_images: int) -> None:
    """`zoo verify` evaluates on `n_images` blank MNIST images (no dataset needed)."""
    from zoolib import verify
    from zoolib.data import Dataset

    images, labels = np.zeros((n_images, 28, 28, 1), np.float32), np.zeros(n_images, np.int64)
    monkeypatch.setattr(verify, "load_test_set", lambda zoo, allow, test_images=None: (
        Dataset("mnist", images, labels, images[:test_images], labels[:test_images], "fixture"), None))


@pytest.mark.parametrize("flags, n_images, words, code", [
    ("--n 4 --test-images 1", 10, ["--tolerance 1", "1 test images", "could not fail"], 2),
    ("--n 4 --tolerance 10", 10, ["--tolerance 10", "could not fail"], 2),
    ("--n 4 --tolerance 6", 10, ["cannot tell", "--tolerance"], 1),  # recorded 0.5: any accuracy is within 5 images
], ids=["one test image", "a tolerance of the whole test set", "no net could fail"])
def test_verify_that_could_not_fail_is_never_ok(tmp_path, capsys, monkeypatch, flags, n_images, words, code):
    zoo = tmp_path / "zoo"
    write_released_style_zoo(zoo, n_runs=4)
    _edit_metrics(lambda m: m.__setitem__("test_accuracy", 0.5))(zoo)  # every recorded accuracy wrong
    _test_set_of(monkeypatch, n_images)
    before = snapshot(tmp_path)
    err = refused(f"zoo verify {zoo} {flags}", capsys, words, code=code)
    assert "OK" not in err + capsys.readouterr().out
    assert snapshot(tmp_path) == before


def test_verify_refuses_other_test_images_than_the_recorded_ones(tmp_path, capsys):
    zoo = tmp_path / "zoo"
    write_released_style_zoo(zoo, n_runs=2)
    spec = {"dataset": "mnist", "nets": 2, "checkpoints": [0, 1], "test_images": 200}
    (zoo / "generation.json").write_text(json.dumps({"spec": spec, "test_images": 200}))
    before = snapshot(tmp_path)
    refused(f"zoo verify {zoo} --test-images 1", capsys, ["--test-images 1", str(zoo / "generation.json"), "200"])
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("text", ["[]", '{"spec": null}', '{"spec": {"dataset": "mnist"}}', '"spec"'])
@pytest.mark.parametrize("command", ["zoo verify {zoo}", "zoo generate --profile tiny --dataset mnist --out {zoo}"])
def test_a_generation_json_of_the_wrong_shape_is_named(tmp_path, capsys, text, command):
    zoo = tmp_path / "zoo"
    write_released_style_zoo(zoo, n_runs=2)
    (zoo / "generation.json").write_text(text)
    before = snapshot(tmp_path)
    refused(command.format(zoo=zoo), capsys, [str(zoo / "generation.json"), "not as zoolib writes it"
                                              if text.startswith("{") else "expected an object"])
    assert snapshot(tmp_path) == before


def test_ctrl_c_ends_with_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    from zoolib import features

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    zoo = tmp_path / "zoo"
    write_released_style_zoo(zoo, n_runs=2)
    monkeypatch.setattr(features, "compute_features", interrupted)
    before = snapshot(tmp_path)
    assert main(["features", str(zoo), "--out", str(tmp_path / "f.csv")]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "zoolib: interrupted" in err and "Traceback" not in err
    assert snapshot(tmp_path) == before


def test_a_full_disk_names_the_file_and_what_to_do(tmp_path, capsys, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    zoo = tmp_path / "zoo"
    write_released_style_zoo(zoo, n_runs=2)
    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    before = snapshot(tmp_path)
    refused(f"features {zoo} --out {tmp_path}/f.csv", capsys, [f"{tmp_path}/f.csv: No space left", "free space"])
    assert snapshot(tmp_path) == before


def test_a_failed_data_download_leaves_no_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ZOOLIB_DATASET_MIRROR", "http://127.0.0.1:9/")
    (tmp_path / "data" / "datasets").mkdir(parents=True)
    before = snapshot(tmp_path)
    refused("data download svhn_cropped", capsys, "127.0.0.1:9")
    assert snapshot(tmp_path) == before


def test_verify_names_a_dataset_that_is_not_on_this_machine(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ZOOLIB_DATASET_MIRROR", "http://127.0.0.1:9/")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    zoo = tmp_path / "zoo"
    write_released_style_zoo(zoo, n_runs=2)
    _edit_metrics(lambda m: m.__setitem__("config.dataset", "svhn_cropped"))(zoo)
    before = snapshot(tmp_path)
    refused(["zoo", "verify", str(zoo)], capsys, ["svhn_cropped", "zoolib data download"])
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("change, words, code", [
    (lambda z: (z / "weights.npy").write_bytes((z / "weights.npy").read_bytes()[:-1] + b"\x01"), "weights.npy", 1),
    (lambda z: (z / "layout.csv").unlink(), "layout.csv", 1),
    (lambda z: (z / "metrics.csv.gz").write_bytes(b""), "metrics.csv.gz", 1),
    (lambda z: (z / MANIFEST_FILE).unlink(), MANIFEST_FILE, 2),
    (lambda z: (z / MANIFEST_FILE).write_text("{}"), MANIFEST_FILE, 2),
    (lambda z: (z / MANIFEST_FILE).write_text('{"files": {}}'), MANIFEST_FILE, 2),
], ids=["a changed byte", "a missing file", "an emptied file", "no manifest", "a damaged manifest",
        "a manifest of no files"])
def test_integrity_names_the_file_that_changed(tmp_path, capsys, change, words, code):
    from tests.zoo_fixtures import learnable_zoo

    zoo = learnable_zoo(tmp_path / "zoo", n_runs=4).path
    assert main(["zoo", "verify", "--integrity", str(zoo)]) == 0
    change(zoo)
    capsys.readouterr()
    before = snapshot(tmp_path)
    refused(["zoo", "verify", "--integrity", str(zoo)], capsys, [str(zoo), words], code=code)
    assert snapshot(tmp_path) == before


# ----------------------------------------------------------------------------- generation: a crash, a damaged shard, two at once


@pytest.fixture
def fixture_data(tmp_path) -> dict[str, str]:
    """A small Fashion-MNIST in the idx format (1100 train, 200 test images); the environment to use it."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "datasets" / "fashion_mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", 1100), ("t10k", 200)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.integers(0, 60, (n, 28, 28)) + labels[:, None, None] * 19).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
            (folder / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes()))
    return {**os.environ, "ZOOLIB_DATA": str(tmp_path / "data"), "ZOOLIB_DATASET_MIRROR": "http://127.0.0.1:9/",
            "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}


def _generate(out: Path, env: dict, wait: bool = True, nets: int = 2):
    command = [sys.executable, "-m", "zoolib.cli", "zoo", "generate", "--profile", "tiny", "--dataset",
               "fashion_mnist", "--nets", str(nets), "--shard-size", "1", "--workers", "1", "--out", str(out)]
    if wait:
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _wait_for(condition, proc, seconds: float = 300) -> None:
    deadline = time.time() + seconds
    while not condition() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)


def test_after_kill_9_debris_is_removed_and_a_damaged_shard_retrained(tmp_path, fixture_data):
    out = tmp_path / "zoos" / "zoo"
    shards = out.with_name("zoo.shards")
    proc = _generate(out, fixture_data, wait=False, nets=3)
    try:
        _wait_for(lambda: list(shards.glob("shard-*.npz")), proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the command, its scheduler and workers
        proc.wait()
    done = sorted(shards.glob("shard-*.npz"))
    assert done and not out.exists(), "expected a run killed between its first shard and its merge"
    done[0].write_bytes(done[0].read_bytes()[: done[0].stat().st_size // 2])  # a shard cut short
    (out.parent / f"{TEMP_PREFIX}zoo.abc123").mkdir()  # a half-written zoo of an earlier crash
    (out.parent / f"{TEMP_PREFIX}zoo.abc123" / "weights.npy").write_bytes(bytes(1 << 20))
    (shards / f"{TEMP_PREFIX}shard-000002.xyz").write_bytes(b"half a shard")
    (out.parent / "notes.txt").write_text("mine")  # the user's file beside the zoo: left alone

    again = _generate(out, fixture_data, nets=3)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr
    assert f"shard {done[0]} is damaged" in again.stderr and "training its nets again" in again.stderr
    assert "temporary file(s) left by an interrupted run" in again.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["notes.txt", "zoo"]  # no debris, shards or lock
    assert (out.parent / "notes.txt").read_text() == "mine"
    zoo = read_zoo(out)
    assert zoo.runs.nunique() == 3 and (out / MANIFEST_FILE).is_file()
    assert main(["zoo", "verify", "--integrity", str(out)]) == 0
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())  # usual permissions, not tempfile's 0700
    assert oct((out / "generation.json").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_second_generate_of_the_same_zoo_is_refused_naming_the_first(tmp_path, fixture_data):
    out = tmp_path / "zoo"
    first = _generate(out, fixture_data, wait=False, nets=3)
    try:
        _wait_for(lambda: (tmp_path / "zoo.shards").is_dir(), first)  # training, under the lock
        os.killpg(first.pid, signal.SIGSTOP)  # paused while it holds the lock: the second surely meets it
        second = _generate(out, fixture_data)
        os.killpg(first.pid, signal.SIGCONT)
        assert second.returncode == 2, second.stderr[-3000:]
        assert "Traceback" not in second.stderr
        assert f"{out}: another `zoolib zoo generate` (pid {first.pid})" in second.stderr
        assert first.wait(timeout=600) == 0
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert read_zoo(out).runs.nunique() == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "zoo"]  # the lock file is gone


@pytest.mark.parametrize("name", ["link", "."], ids=["a symlink to the folder", "'.' inside it"])
def test_the_generation_lock_is_taken_on_the_resolved_out(tmp_path, capsys, monkeypatch, name):
    import fcntl

    real = tmp_path / "zoos" / "real"
    real.mkdir(parents=True)
    (tmp_path / "zoos" / "link").symlink_to(real)
    monkeypatch.chdir(real)
    with open(real.parent / ".real.lock", "a+") as held:  # another generation of the same folder holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242\n")
        held.flush()
        out = tmp_path / "zoos" / "link" if name == "link" else Path(".")
        refused(f"zoo generate --profile tiny --dataset fashion_mnist --out {out}", capsys,
                [f"{real}: another `zoolib zoo generate` (pid 4242)"])
    assert list(real.iterdir()) == []


def test_a_page_run_as_a_plain_script_generates_on_the_local_cluster(tmp_path):
    """`python page.py` (not Jupyter, not the book build): Dask spawns its workers, which must not run
    the page again (they did: "bootstrapping phase", "Nanny failed to start")."""
    page = tmp_path / "page.py"
    page.write_text(
        "# %% [markdown]\n# A page that has to generate its zoo (the tiny MNIST collection, 2 nets).\n\n# %%\n"
        "from zoolib.cli import main\n\n"
        "print('page ran', flush=True)\n"
        "assert main(['zoo', 'generate', '--profile', 'tiny', '--dataset', 'mnist', '--nets', '2',\n"
        "             '--shard-size', '1', '--workers', '1']) == 0\n"
    )
    env = {**os.environ, "ZOOLIB_DATA": str(tmp_path / "data"), "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, str(page)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("page ran") == 1 and "bootstrapping phase" not in result.stderr
    assert read_zoo(tmp_path / "data" / "zoos" / "tiny" / "mnist").runs.nunique() == 2


def test_ctrl_c_during_generate_ends_with_one_line_keeps_the_shards_and_releases_the_lock(tmp_path, fixture_data):
    out = tmp_path / "zoos" / "zoo"
    command = [sys.executable, "-m", "zoolib.cli", "zoo", "generate", "--profile", "tiny", "--dataset", "fashion_mnist",
               "--nets", "3", "--shard-size", "1", "--workers", "1", "--out", str(out)]
    proc = subprocess.Popen(command, cwd=REPO, env=fixture_data, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: list(out.with_name("zoo.shards").glob("shard-*.npz")), proc)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: to the command and its worker processes
        err = proc.communicate(timeout=300)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-3000:]
    assert err.strip().splitlines() == [err.strip()] and err.startswith("zoolib: interrupted"), err[-3000:]
    assert sorted(p.name for p in out.parent.iterdir()) == ["zoo.shards"]  # kept for the resume; no lock
