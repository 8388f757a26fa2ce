"""zoolib zoo export: one net of a generated zoo of every architecture variant as a .keras file that a
fresh Python process loads with plain Keras at the recorded accuracy; as PyTorch tensors equal to
`zoolib nfn export`'s; and the refusals."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from tests.test_generate import write_idx
from tests.zoo_fixtures import learnable_zoo
from zoolib import export, generate
from zoolib.cli import main
from zoolib.cnn import PAPER_ARCHITECTURE
from zoolib.export import torch_state_dict
from zoolib.verify import load_test_set
from zoolib.zoo import keras_model, read_zoo, run_row, select_rows, write_zoo

VARIANTS = {"cnn": PAPER_ARCHITECTURE, **generate.ARCHITECTURES}


@pytest.fixture(scope="module")
def zoos(tmp_path_factory):
    """A generated zoo of each variant (4 nets, epochs 0 and 1) on a small Fashion-MNIST in idx format."""
    from dask.distributed import Client, LocalCluster

    root = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    folder = root / "data" / "datasets" / "fashion_mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", 1024), ("t10k", 200)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)) + labels[:, None, None] * 19  # brightness tells the class
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images.astype(np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOOLIB_DATA", str(root / "data"))
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            paths = {name: generate.generate_zoo(
                generate.ZooSpec(dataset="fashion_mnist", nets=4, checkpoints=(0, 1), epochs_between_checkpoints=1,
                                 arch=arch, arch_name=name, shard_size=4, train_images=1024, test_images=200),
                root / "zoos" / name, client=client, progress=False) for name, arch in VARIANTS.items()}
        yield {name: read_zoo(path) for name, path in paths.items()}


def _export(*args: str) -> int:
    return main(["zoo", "export", *map(str, args)])


def test_a_fresh_process_loads_every_variant_with_plain_keras_at_the_recorded_accuracy(zoos, tmp_path):
    data, _ = load_test_set(zoos["cnn"])
    np.save(tmp_path / "x.npy", data.x_test)
    np.save(tmp_path / "y.npy", data.y_test)
    recorded, files = {}, {}
    for name, zoo in zoos.items():
        final = select_rows(zoo.metrics, "final")
        row = int(final[np.argmax(zoo.metrics["test_accuracy"].to_numpy()[final])])  # the best net, not a chance one
        files[name] = tmp_path / f"{name}.keras"
        assert _export(zoo.path, "--row", row, "--out", files[name]) == 0
        sidecar = json.loads(files[name].with_name(files[name].name + ".json").read_text())
        assert sidecar["row"] == row and sidecar["architecture"] == VARIANTS[name].to_string()
        assert sidecar["recorded"]["test_accuracy"] == zoo.metrics["test_accuracy"].iloc[row]
        assert sidecar["hyperparameters"]["activation"] == zoo.metrics["config.activation"].iloc[row]
        recorded[name] = sidecar["recorded"]["test_accuracy"]
    script = (
        "import json, sys, numpy as np, keras\n"
        "x, y = np.load(sys.argv[1]), np.load(sys.argv[2])\n"
        "accuracy = {p: float((keras.models.load_model(p).predict(x, verbose=0).argmax(1) == y).mean()) for p in sys.argv[3:]}\n"
        "assert not any(m.startswith('zoolib') for m in sys.modules)\n"
        "print(json.dumps(accuracy))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, tmp_path / "x.npy", tmp_path / "y.npy", *files.values()],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    for name, path in files.items():
        images = abs(measured[str(path)] - recorded[name]) * len(data.y_test)
        assert images <= 1 + 1e-6, (name, measured[str(path)], recorded[name])
    assert max(recorded.values()) > 0.2  # above chance: the check compares nets that learned something


def _forward(modules: list, state: dict, x: np.ndarray) -> np.ndarray:
    """PyTorch's evaluation-mode semantics of the modules used, in NumPy (NCHW)."""
    for i, (name, args, kwargs) in enumerate(modules):
        weight, bias = state.get(f"{i}.weight"), state.get(f"{i}.bias")
        if name == "ZeroPad2d":
            left, right, top, bottom = args[0]
            x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        elif name == "Conv2d":
            k, s = args[2], kwargs["stride"]
            rows, cols = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
            patches = np.stack([x[:, :, i0:i0 + s * rows:s, j0:j0 + s * cols:s] for i0 in range(k) for j0 in range(k)], -1)
            x = np.einsum("bchwk,ock->bohw", patches, weight.reshape(*weight.shape[:2], -1)) + bias[:, None, None]
        elif name == "BatchNorm2d":
            mean, var = state[f"{i}.running_mean"], state[f"{i}.running_var"]
            x = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + kwargs["eps"]) * weight[:, None, None] + bias[:, None, None]
        elif name in ("ReLU", "Tanh"):
            x = np.maximum(x, 0) if name == "ReLU" else np.tanh(x)
        elif name == "AdaptiveAvgPool2d":
            x = x.mean(axis=(2, 3), keepdims=True)
        elif name == "Flatten":
            x = x.reshape(len(x), -1)
        elif name == "Linear":
            x = x @ weight.T + bias
        else:
            assert name == "Dropout"  # the identity in evaluation mode
    return x


def test_the_torch_format_is_the_state_dict_of_the_equivalent_sequential(zoos, tmp_path):
    data, _ = load_test_set(zoos["cnn"])
    x = data.x_test[:64]
    for name, zoo in zoos.items():
        row = int(select_rows(zoo.metrics, "final")[0])
        out = tmp_path / f"{name}.npz"
        assert _export(zoo.path, "--row", row, "--format", "torch", "--out", out) == 0
        modules = json.loads(out.with_name(out.name + ".json").read_text())["torch"]["modules"]
        with np.load(out) as npz:
            state = dict(npz)
        assert list(state) == list(torch_state_dict(zoo, row))
        if name == "cnn_bn":
            assert {"1.running_mean", "1.running_var", "1.num_batches_tracked"} <= set(state)
        logits = _forward(modules, state, x.transpose(0, 3, 1, 2))  # NCHW, as the recipe feeds PyTorch
        expected = np.asarray(keras_model(zoo, row)(x, training=False))
        np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("name", ["cnn", "cnn_deep", "mlp"])
def test_the_torch_tensors_equal_nfn_exports(zoos, tmp_path, name):
    zoo = zoos[name]
    assert main(["nfn", "export", str(zoo.path), "--part", "test", "--out", str(tmp_path / "part.npz")]) == 0
    with np.load(tmp_path / "part.npz") as part:
        nfn = dict(part)
    row = int(nfn["row"][0])
    assert _export(zoo.path, "--row", row, "--format", "torch", "--out", tmp_path / "net.npz") == 0
    with np.load(tmp_path / "net.npz") as net:
        weights = [net[k] for k in net.files if k.endswith(".weight")]
        biases = [net[k] for k in net.files if k.endswith(".bias")]
    assert len(weights) == len(biases) == sum(k.startswith("weight_") for k in nfn)
    for i, (weight, bias) in enumerate(zip(weights, biases)):
        np.testing.assert_array_equal(weight, nfn[f"weight_{i}"][0])
        np.testing.assert_array_equal(bias, nfn[f"bias_{i}"][0])


def test_a_run_and_step_pick_the_row(zoos, tmp_path):
    zoo = zoos["cnn"]
    run = str(zoo.metrics["modeldir"].iloc[0])
    first, last = run_row(zoo, run, 0), run_row(zoo, run)
    assert (zoo.metrics["step"].iloc[first], zoo.metrics["step"].iloc[last]) == (0, 1)
    assert _export(zoo.path, "--run", run, "--step", 0, "--out", tmp_path / "net.keras") == 0
    assert json.loads((tmp_path / "net.keras.json").read_text())["row"] == first


def _refused(capsys, *args) -> str:
    assert _export(*args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_refusals_name_the_problem_in_one_line_and_leave_nothing_behind(zoos, tmp_path, capsys):
    zoo = zoos["mlp"]
    out = tmp_path / "out" / "net.keras"
    out.parent.mkdir()
    assert "no row 999" in _refused(capsys, zoo.path, "--row", 999, "--out", out)
    assert "no run 'nope'" in _refused(capsys, zoo.path, "--run", "nope", "--out", out)
    run = str(zoo.metrics["modeldir"].iloc[0])
    assert "no checkpoint at epoch 7; it has epochs [0, 1]" in _refused(capsys, zoo.path, "--run", run, "--step", 7, "--out", out)
    assert "--step picks a checkpoint of --run" in _refused(capsys, zoo.path, "--row", 0, "--step", 0, "--out", out)
    assert "writes a .npz file" in _refused(capsys, zoo.path, "--row", 0, "--format", "torch", "--out", out)
    assert list(out.parent.iterdir()) == []
    nan_zoo = learnable_zoo(tmp_path / "nan", n_runs=3, steps=(0, 1), nonfinite_runs=1, stopped_early=0)
    nan_row = int(np.flatnonzero(~np.isfinite(nan_zoo.weights).all(axis=1))[0])
    assert "NaN/Inf" in _refused(capsys, nan_zoo.path, "--row", nan_row, "--format", "torch", "--out", out.with_suffix(".npz"))
    assert list(out.parent.iterdir()) == []
    assert _export(zoo.path, "--row", 0, "--out", out) == 0
    before = out.read_bytes()
    assert "exists; pass --force" in _refused(capsys, zoo.path, "--row", 1, "--out", out)
    assert out.read_bytes() == before and json.loads(out.with_name(out.name + ".json").read_text())["row"] == 0
    assert _export(zoo.path, "--row", 1, "--out", out, "--force") == 0
    assert json.loads(out.with_name(out.name + ".json").read_text())["row"] == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["net.keras", "net.keras.json"]  # no temporary files


def test_the_books_two_nets_are_the_extremes_rebuilt_at_their_recorded_accuracy(zoos):
    zoo = zoos["cnn"]
    rows = export.extreme_rows(zoo)
    final = zoo.metrics["test_accuracy"].to_numpy()[select_rows(zoo.metrics, "final")]
    assert zoo.metrics["test_accuracy"].iloc[rows["most accurate"]] == final.max()
    assert zoo.metrics["test_accuracy"].iloc[rows["least accurate"]] == final.min()
    table, said = export.remeasure(zoo, rows)
    assert list(table.index) == ["most accurate", "least accurate"] and said.startswith("measured again on 200 test images")
    assert (table["difference (test images)"].abs() <= 1).all()
    assert export.remeasure_verdict(table, "tiny").endswith("within one test image: holds.")
    off = table.assign(**{"difference (test images)": [0.0, 2.0]})
    assert export.remeasure_verdict(off, "tiny").endswith(": does not hold.")
    model = keras_model(zoo, rows["most accurate"])
    np.testing.assert_array_equal(export.first_layer_kernel(zoo, rows["most accurate"]), model.get_layer("conv2d").kernel.numpy())


def test_a_diverged_net_is_never_shown_and_a_missing_test_set_is_said(tmp_path, monkeypatch):
    zoo = learnable_zoo(tmp_path / "zoo", n_runs=4, steps=(0, 1), nonfinite_runs=1, stopped_early=0)
    nan_row = int(np.flatnonzero(~np.isfinite(zoo.weights).all(axis=1))[0])
    metrics = zoo.metrics.copy()
    metrics.loc[nan_row, "test_accuracy"] = 1.0  # the most accurate on record, but NaN weights
    zoo = write_zoo(tmp_path / "zoo", np.asarray(zoo.weights), metrics, zoo.layout)
    rows = export.extreme_rows(zoo)
    assert nan_row not in rows.values() and np.isfinite(zoo.weights[list(rows.values())]).all()
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    table, said = export.remeasure(zoo, rows)
    assert said.startswith("not measured again: ") and "mnist" in said and table["measured again"].isna().all()
    assert "cannot tell (no test set on this machine)" in export.remeasure_verdict(table, "tiny")
