"""The NFN benchmark: split members against NFN's own loading procedure (reimplemented here as their
code reads), StatNN's statistics, StatNN and GBM end to end, the PyTorch-layout loader and the commands."""

import hashlib
import random
import sys
import types

import numpy as np
import pandas as pd
import pytest

from tests.zoo_fixtures import learnable_zoo, write_released_style_zoo
from zoolib import nfn
from zoolib.cli import main
from zoolib.cnn import PAPER_ARCHITECTURE, build_model, parameter_layout, set_flat_parameters
from zoolib.metrics import score, tau_ceiling
from zoolib.release import SPLIT_FILES
from zoolib.zoo import read_zoo, select_rows, write_zoo


def write_split_file(path, n_rows: int, seed: int = 0):
    """A split file in the NFN format: a line '0', then a permutation of 0..n_rows-1, one per line."""
    order = np.random.default_rng(seed).permutation(n_rows)
    path.write_text("0\n" + "".join(f"{i}\n" for i in order))
    return path


def released_zoo_with_split_file(tmp_path, dataset: str = "cifar10", n_runs: int = 60, monkeypatch=None):
    """A released-style zoo (steps up to 86, one run stopped early) and its split file beside it; with
    `monkeypatch`, that file's sha256 stands in for the published one (else it is a user-supplied split)."""
    _, metrics = write_released_style_zoo(tmp_path / dataset, n_runs=n_runs, stopped_early=3)
    metrics.assign(**{"config.dataset": dataset}).to_csv(tmp_path / dataset / "metrics.csv.gz")
    split_file = write_split_file(tmp_path / SPLIT_FILES[dataset][0], len(metrics))
    if monkeypatch is not None:
        data = split_file.read_bytes()
        monkeypatch.setitem(SPLIT_FILES, dataset, (split_file.name, len(data), hashlib.sha256(data).hexdigest()))
    return read_zoo(tmp_path / dataset)


def generated_zoo(path, n_runs: int, **kwargs):
    """A zoo like zoolib generates: a short schedule (epochs 0, 1, 2) that config.epochs records."""
    zoo = learnable_zoo(path / "src", n_runs=n_runs, steps=(0, 1, 2), **kwargs)
    return write_zoo(path / "zoo", zoo.weights, zoo.metrics.assign(**{"config.epochs": 2}), zoo.layout)


def nfn_loader_rows(zoo_dir, split_file, mode, activation=None, rule=None) -> np.ndarray:
    """NFN's ZooDataset (and the ScaleGMN / Monomial-NFN variants) as their code reads, on row ids.

    `data` stands for weights.npy: row i holds i, so the rows it ends with are the members' row indices.
    """
    shuffled_idcs = pd.read_csv(split_file, header=None).values.flatten()
    metrics = pd.read_csv(zoo_dir / "metrics.csv.gz", compression="gzip")
    data = np.arange(len(metrics))[:, None][shuffled_idcs]
    metrics = metrics.iloc[shuffled_idcs]
    isfinal = metrics["step"] == 86
    if rule == "filter-then-split":  # Monomial-NFN
        isfinal = isfinal & (metrics["config.activation"] == activation)
    metrics = metrics[isfinal]
    data = data[isfinal]
    metrics.index = np.arange(0, len(metrics))
    test_split_point = int(0.5 * len(data))
    splits = {"test": list(range(test_split_point, len(data)))}
    trainval_idcs = list(range(test_split_point))
    val_point = int(0.8 * len(trainval_idcs))
    rng = random.Random(0)
    rng.shuffle(trainval_idcs)
    splits["train"], splits["val"] = trainval_idcs[:val_point], trainval_idcs[val_point:]
    idcs = splits[mode]
    data = data[idcs]
    if rule == "split-then-filter":  # ScaleGMN
        data = data[(metrics.iloc[idcs]["config.activation"] == activation).to_numpy()]
    return data[:, 0]


@pytest.mark.parametrize("dataset", list(SPLIT_FILES))
def test_a_split_file_beside_the_zoo_gives_nfns_members_in_nfns_order(tmp_path, monkeypatch, dataset):
    split = nfn.nfn_split(released_zoo_with_split_file(tmp_path, dataset, monkeypatch=monkeypatch))
    assert split.benchmark and split.source == SPLIT_FILES[dataset][0] and split.kind == "the NFN benchmark split"
    for part in nfn.PARTS:
        expected = nfn_loader_rows(tmp_path / dataset, tmp_path / SPLIT_FILES[dataset][0], part)
        np.testing.assert_array_equal(split.parts[part], expected)
    assert sum(split.sizes) == 57  # every complete run once: 60 runs, 3 stopped early


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("rule", nfn.SUBSET_RULES)
def test_activation_subsets_follow_both_conventions(tmp_path, activation, rule):
    released_zoo_with_split_file(tmp_path, "cifar10")
    zoo, split_file = read_zoo(tmp_path / "cifar10"), tmp_path / "cifar10_split.csv"
    split = nfn.nfn_split(zoo, split_file, activation=activation, subset_rule=rule)
    for part in nfn.PARTS:
        expected = nfn_loader_rows(tmp_path / "cifar10", split_file, part, activation, rule)
        np.testing.assert_array_equal(split.parts[part], expected)
    assert rule in split.label() and activation in split.label()


def test_the_two_subset_rules_give_different_members(tmp_path):
    released_zoo_with_split_file(tmp_path, "cifar10", n_runs=200)
    zoo = read_zoo(tmp_path / "cifar10")
    a = nfn.nfn_split(zoo, activation="relu", subset_rule="split-then-filter")
    b = nfn.nfn_split(zoo, activation="relu", subset_rule="filter-then-split")
    assert not np.array_equal(np.sort(a.parts["test"]), np.sort(b.parts["test"]))
    with pytest.raises(ValueError, match="no 'gelu' nets"):
        nfn.nfn_split(zoo, activation="gelu")
    with pytest.raises(ValueError, match="subset_rule must be one of"):
        nfn.nfn_split(zoo, activation="relu", subset_rule="filter")


def test_a_split_file_of_another_zoo_is_refused(tmp_path):
    released_zoo_with_split_file(tmp_path, "cifar10")
    zoo = read_zoo(tmp_path / "cifar10")
    with pytest.raises(ValueError, match=f"not a permutation of the zoo's {len(zoo)} rows"):
        nfn.nfn_split(zoo, write_split_file(tmp_path / "other.csv", len(zoo) + 1))
    (tmp_path / "bad.csv").write_text("3\n0\n1\n")
    with pytest.raises(ValueError, match="not an NFN split file"):
        nfn.nfn_split(zoo, tmp_path / "bad.csv")


def test_only_the_published_split_file_is_the_benchmark(tmp_path, capsys, monkeypatch):
    zoo = released_zoo_with_split_file(tmp_path, "cifar10")  # the right length, but not the published bytes
    split = nfn.nfn_split(zoo)
    assert not split.benchmark and split.kind == "a user-supplied split"
    assert split.label().startswith("a user-supplied split, NOT the NFN benchmark split (cifar10_split.csv)")
    assert main(["nfn", "split", str(zoo.path), "--out", str(tmp_path / "s.csv")]) == 0
    assert "a user-supplied split" in capsys.readouterr().out
    other = write_split_file(tmp_path / "fashion.csv", len(zoo), seed=1)  # published for another dataset
    data = other.read_bytes()
    monkeypatch.setitem(SPLIT_FILES, "fashion_mnist", (other.name, len(data), hashlib.sha256(data).hexdigest()))
    assert nfn.nfn_split(zoo, other).kind == "a user-supplied split"


def test_nfn_commands_warn_when_the_final_epoch_is_not_86(tmp_path, capsys):
    zoo = generated_zoo(tmp_path, n_runs=20)
    assert main(["nfn", "split", str(zoo.path), "--out", str(tmp_path / "s.csv")]) == 0
    err = capsys.readouterr().err
    assert "final checkpoint is epoch 2, not 86" in err and "except with --split-file" in err
    assert main(["nfn", "export", str(zoo.path), "--part", "val", "--out", str(tmp_path / "v.npz")]) == 0
    assert "not 86" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 8], ids=["empty", "binary"])
def test_a_split_file_that_is_not_one_is_refused_naming_it(tmp_path, capsys, content):
    zoo = released_zoo_with_split_file(tmp_path, "cifar10")
    (tmp_path / "bad.csv").write_bytes(content)
    assert main(["nfn", "split", str(zoo.path), "--split-file", str(tmp_path / "bad.csv"),
                 "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'bad.csv'}: not an NFN split file" in err and "Traceback" not in err


def test_a_split_file_on_a_zoo_without_step_86_says_so(tmp_path):
    zoo = learnable_zoo(tmp_path / "zoo", n_runs=20, steps=(0, 1, 2))
    with pytest.raises(ValueError, match="no checkpoint at step 86 .its last epoch is 2"):
        nfn.nfn_split(zoo, write_split_file(tmp_path / "s.csv", len(zoo)))


def test_a_generated_zoo_uses_its_final_checkpoints_in_a_seeded_order_and_says_it_is_not_the_benchmark(tmp_path):
    zoo = generated_zoo(tmp_path, n_runs=42, stopped_early=0, nonfinite_runs=1)
    zoo.metrics.loc[2, "step"] = 1  # the first run stopped at epoch 1 (rows 0-2 are its epochs 0, 1, 2)
    split = nfn.nfn_split(zoo)
    assert not split.benchmark and "NOT the benchmark" in split.label() and "seed 0" in split.label()
    assert split.dropped_nonfinite == 1
    assert split.sizes == (16, 4, 20)  # 40 finite final checkpoints: test the last 20, 80 % of 20 train
    members = np.concatenate(list(split.parts.values()))
    nonfinite = ~np.isfinite(zoo.weights).all(axis=1)
    assert sorted(members) == [r for r in select_rows(zoo.metrics, "completed") if not nonfinite[r]]
    assert len(select_rows(zoo.metrics, "completed")) == 41
    assert (zoo.metrics["step"].to_numpy()[members] == 2).all()
    again, other = nfn.nfn_split(zoo), nfn.nfn_split(zoo, seed=1)
    assert all(np.array_equal(split.parts[p], again.parts[p]) for p in nfn.PARTS)
    assert not np.array_equal(np.sort(split.parts["test"]), np.sort(other.parts["test"]))


def test_final_rows_follow_config_epochs():
    metrics = pd.DataFrame({"modeldir": ["a", "a", "a", "b", "b"], "step": [0, 1, 2, 0, 1], "config.epochs": 2})
    assert select_rows(metrics, "completed").tolist() == [2]  # run b stopped (diverged) before its last epoch
    assert select_rows(metrics.drop(columns="config.epochs"), "completed").tolist() == [2]


def test_split_sizes_are_compared_with_the_published_ones():
    def split_of(sizes):
        return nfn.NFNSplit({p: np.zeros(n, int) for p, n in zip(nfn.PARTS, sizes)}, "test", True)

    assert nfn.check_split_sizes(split_of((11_995, 2_999, 14_994)), "svhn_cropped")["match"] is True
    check = nfn.check_split_sizes(split_of((400, 100, 500)), "cifar10")
    assert check["match"] is False and "DIFFER FROM the published (12000, 3000, 15000)" in check["message"]
    assert nfn.check_split_sizes(split_of((4, 1, 5)), "mnist")["match"] is None


def test_statnn_features_are_nfns_statistics_kernel_before_bias(tmp_path):
    zoo = learnable_zoo(tmp_path / "zoo", n_runs=10, steps=(0, 86))
    rows = np.array([7, 0, 3, 19])
    X = nfn.statnn_features(zoo, rows, chunk_rows=3)
    assert X.shape == (4, 56) and list(X.columns[:8]) == [
        "layer0.kernel.mean", "layer0.kernel.var", "layer0.kernel.q0", "layer0.kernel.q25", "layer0.kernel.q50",
        "layer0.kernel.q75", "layer0.kernel.q100", "layer0.bias.mean"]
    layout = parameter_layout()
    for i, row in enumerate(rows):
        flat = np.asarray(zoo.weights[row], np.float64)
        expected = []
        for layer in range(4):  # layout order is bias, kernel per layer; StatNN takes the kernel first
            bias, kernel = layout.iloc[2 * layer], layout.iloc[2 * layer + 1]
            for t in (flat[kernel.start_idx : kernel.end_idx], flat[bias.start_idx : bias.end_idx]):
                expected += [t.mean(), t.var(ddof=1), *np.percentile(t, [0, 25, 50, 75, 100])]
        np.testing.assert_allclose(X.iloc[i].to_numpy(), expected, rtol=1e-4, atol=1e-6)


def test_statnn_keeps_the_epoch_with_the_best_validation_tau(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    y = 1 / (1 + np.exp(-X[:, 0] + 0.5 * X[:, 1]))
    y_val = 1 - y[200:]  # the opposite ranking: the more an epoch learns, the worse its val tau
    model = nfn.StatNN(hidden=16, epochs=4, batch_size=32).fit(X[:200], y[:200], X[200:], y_val)
    assert len(model.val_tau_) == 4 and model.best_epoch_ == int(np.argmax(model.val_tau_)) < 3
    assert nfn.kendall_tau(y_val, model.predict(X[200:])) == pytest.approx(max(model.val_tau_), abs=1e-9)
    with pytest.raises(ValueError, match="pass X_val and y_val"):
        nfn.StatNN(epochs=1).fit(X, y)


def test_statnn_and_gbm_run_end_to_end_on_a_generated_zoo(tmp_path):
    zoo = generated_zoo(tmp_path, n_runs=240)
    split = nfn.nfn_split(zoo)
    table = nfn.run_benchmark(zoo, split, statnn_epochs=3, gbm_search=2, n_bootstrap=20)
    assert list(table["method"]) == ["StatNN (ours)", "GBM (ours)"]
    assert (table["n_test"] == 120).all() and (table["n_train"] == 96).all() and not table["benchmark"].any()
    assert (table["tau_ci_low"] <= table["kendall_tau"]).all() and (table["kendall_tau"] <= table["tau_ci_high"]).all()
    y_test = zoo.metrics["test_accuracy"].to_numpy()[split.parts["test"]]
    assert (table["tau_ceiling"] == tau_ceiling(y_test)).all()
    assert table["kendall_tau"].iloc[1] > 0.5  # the GBM finds the accuracy in the statistics
    assert table["chosen"].iloc[0].startswith("epoch ") and "val tau" in table["chosen"].iloc[1]
    shown = nfn.readable(table)
    assert shown.index.tolist() == ["StatNN (ours)", "GBM (ours)"]  # the page shows no row numbers 0, 1
    with pd.option_context("display.max_colwidth", 50):  # pandas' default: a longer cell is cut with "..."
        assert "..." not in shown.to_html()


def _benchmark_table(y_test, statnn_pred, gbm_pred) -> pd.DataFrame:
    """A run_benchmark-shaped table of two methods' predictions of the same test nets."""
    rows = [{"method": name, **score(y_test, pred, 200), "n_train": 12000, "n_val": 3000, "chosen": "c",
             "seconds": 1.0, "y_test": y_test, "y_pred": pred}
            for name, pred in (("StatNN (ours)", statnn_pred), ("GBM (ours)", gbm_pred))]
    return pd.DataFrame(rows)


def test_the_verdict_is_decided_from_the_paired_difference():
    rng = np.random.default_rng(0)
    y = rng.uniform(size=60)
    shared = rng.normal(0, 0.1, 60)  # both methods predict the same nets: their errors move together
    good, worse = y + shared, y + shared + rng.normal(0, 0.1, 60)
    table = _benchmark_table(y, worse, good)
    text = nfn.verdict("zoo", table, published_statnn=0.99)
    assert text.startswith("zoo: StatNN τ ")
    assert "better than StatNN, a τ difference (GBM minus StatNN) of +" in text and "(holds)" in text
    assert "above the published 0.990: does not hold" in text
    assert "(does not hold)" in nfn.verdict("zoo", _benchmark_table(y, good, worse))
    assert "cannot tell" in nfn.verdict("zoo", _benchmark_table(y, good, good + rng.normal(0, 1e-3, 60)))
    constant = nfn.verdict("zoo", _benchmark_table(y, good, np.full(60, 0.5)))
    assert "GBM τ undefined" in constant and "cannot tell" in constant and "constant prediction" in constant
    shown = nfn.readable(table)
    assert shown["nets (train / val / test)"].iloc[0] == "12,000 / 3,000 / 60"


def small_zoo(tmp_path, n: int = 9):
    layout = parameter_layout()
    rng = np.random.default_rng(0)
    weights = (0.2 * rng.normal(size=(n, int(layout["end_idx"].iloc[-1])))).astype(np.float32)
    metrics = pd.DataFrame({"modeldir": [f"r{i}" for i in range(n)], "step": 2, "test_accuracy": rng.uniform(size=n)})
    return write_zoo(tmp_path / "zoo", weights, metrics, layout)


def test_torch_layout_matches_a_direct_reshape_and_transpose_of_each_row(tmp_path):
    zoo = small_zoo(tmp_path)
    rows = np.array([5, 2, 8, 0, 2])
    data = nfn.torch_layout(zoo, rows, chunk_rows=2)
    assert [w.shape for w in data.weights] == [(5, 16, 1, 3, 3), (5, 16, 16, 3, 3), (5, 16, 16, 3, 3), (5, 10, 16)]
    assert [b.shape for b in data.biases] == [(5, 16)] * 3 + [(5, 10)]
    layout = parameter_layout()
    for i, row in enumerate(rows):
        flat = zoo.weights[row]
        for layer in range(4):
            bias, kernel = layout.iloc[2 * layer], layout.iloc[2 * layer + 1]
            k = flat[kernel.start_idx : kernel.end_idx].reshape(eval(kernel["shape"]))
            k = np.transpose(k, (3, 2, 0, 1)) if k.ndim == 4 else k.T  # TF (kh, kw, in, out) / (in, out)
            np.testing.assert_array_equal(data.weights[layer][i], k)
            np.testing.assert_array_equal(data.biases[layer][i], flat[bias.start_idx : bias.end_idx])
    np.testing.assert_array_equal(data.test_accuracy, zoo.metrics["test_accuracy"].to_numpy(np.float32)[rows])
    assert data.metrics["modeldir"].tolist() == [f"r{r}" for r in rows]


def conv_nchw(x, w, b, stride):
    """PyTorch's conv2d (no padding): x (N, C, H, W), w (out, C, kh, kw)."""
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwab,ocab->nohw", windows, w) + b[None, :, None, None]


def test_a_net_rebuilt_from_the_torch_layout_gives_the_keras_logits(tmp_path):
    zoo = small_zoo(tmp_path, n=2)
    data = nfn.torch_layout(zoo, np.array([1]))
    images = np.random.default_rng(1).uniform(size=(4, 28, 28, 1)).astype(np.float32)
    model = build_model(PAPER_ARCHITECTURE, activation="relu")
    set_flat_parameters(model, zoo.weights[1])
    keras_logits = np.asarray(model(images))
    x = images.transpose(0, 3, 1, 2)  # NHWC -> NCHW
    for w, b in zip(data.weights[:3], data.biases[:3]):
        x = np.maximum(conv_nchw(x, w[0], b[0], PAPER_ARCHITECTURE.stride), 0)
    logits = x.mean(axis=(2, 3)) @ data.weights[3][0].T + data.biases[3][0]
    np.testing.assert_allclose(logits, keras_logits, rtol=1e-4, atol=1e-4)


def test_torch_dataset_gives_nfns_items(tmp_path, monkeypatch):
    try:
        import torch  # noqa: F401
    except ImportError:  # a stand-in with the two names the adapter uses
        fake = types.ModuleType("torch")
        fake.from_numpy = np.asarray
        fake.utils = types.ModuleType("torch.utils")
        fake.utils.data = types.ModuleType("torch.utils.data")
        fake.utils.data.Dataset = object
        for name, module in (("torch", fake), ("torch.utils", fake.utils), ("torch.utils.data", fake.utils.data)):
            monkeypatch.setitem(sys.modules, name, module)
    data = nfn.torch_layout(small_zoo(tmp_path), np.array([3, 1]))
    dataset = nfn.torch_dataset(data)
    (weights, biases), accuracy = dataset[1]
    assert len(dataset) == 2 and accuracy == pytest.approx(float(data.test_accuracy[1]))
    assert tuple(weights[0].shape) == (1, 16, 1, 3, 3) and tuple(biases[3].shape) == (1, 10)
    np.testing.assert_array_equal(np.asarray(weights[3])[0], data.weights[3][1])


def test_nfn_commands_write_the_split_and_a_part_in_torch_layout(tmp_path, capsys, monkeypatch):
    released_zoo_with_split_file(tmp_path, "cifar10", monkeypatch=monkeypatch)
    zoo_dir = str(tmp_path / "cifar10")
    assert main(["nfn", "split", zoo_dir, "--out", str(tmp_path / "split.csv")]) == 0
    assert "NFN benchmark split (cifar10_split.csv)" in capsys.readouterr().out
    members = pd.read_csv(tmp_path / "split.csv")
    split = nfn.nfn_split(read_zoo(zoo_dir))
    pd.testing.assert_frame_equal(members[["part", "row"]], split.frame())
    assert main(["nfn", "export", zoo_dir, "--part", "val", "--out", str(tmp_path / "val.npz")]) == 0
    saved = np.load(tmp_path / "val.npz")
    expected = nfn.torch_layout(read_zoo(zoo_dir), split.parts["val"])
    np.testing.assert_array_equal(saved["row"], split.parts["val"])
    np.testing.assert_array_equal(saved["weight_1"], expected.weights[1])
    np.testing.assert_array_equal(saved["bias_3"], expected.biases[3])
    np.testing.assert_array_equal(saved["test_accuracy"], expected.test_accuracy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar10", "cifar10_split.csv", "split.csv", "val.npz"]


def test_nfn_commands_refuse_unclear_requests(tmp_path, capsys):
    released_zoo_with_split_file(tmp_path, "cifar10")
    zoo_dir = str(tmp_path / "cifar10")
    assert main(["nfn", "split", zoo_dir, "--activation", "relu", "--out", str(tmp_path / "s.csv")]) == 2
    assert "--activation and --subset-rule go together" in capsys.readouterr().err
    (tmp_path / "s.csv").write_text("someone else's file")
    assert main(["nfn", "split", zoo_dir, "--out", str(tmp_path / "s.csv")]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "s.csv").read_text() == "someone else's file"
    assert main(["nfn", "split", zoo_dir, "--force", "--activation", "tanh", "--subset-rule", "filter-then-split",
                 "--out", str(tmp_path / "s.csv")]) == 0
    assert "tanh nets only, filter-then-split" in capsys.readouterr().out


def test_the_pages_runs_are_the_benchmark_on_released_zoos_and_the_protocol_on_generated_ones(tmp_path, monkeypatch):
    import dataclasses

    from zoolib import book_zoos, profiles

    released = dataclasses.replace(profiles.downloaded(), statnn_epochs=2, nfn_gbm_search=1, n_bootstrap=20)
    cifar = released_zoo_with_split_file(tmp_path / "released", "cifar10", n_runs=60, monkeypatch=monkeypatch)
    mnist = generated_zoo(tmp_path / "mnist", n_runs=40)
    collections = {name: book_zoos.Collection(name, released, name, zoo.path, {"cnn": zoo}, book_zoos.RELEASED_SOURCE)
                   for name, zoo in (("cifar10", cifar), ("mnist", mnist))}
    runs = nfn.run_collections(collections, released)
    assert [run.dataset for run in runs] == ["cifar10"]  # no published split for MNIST: not the benchmark
    run = runs[0]
    assert run.label == "Released CIFAR10-GS (the benchmark)" and run.published_statnn == 0.915 and run.n_bootstrap == 20
    assert "NFN benchmark split" in run.note and "DIFFER FROM the published" in run.note
    assert run.verdict().startswith("Released CIFAR10-GS (the benchmark): StatNN τ ")
    assert "above the published 0.915" in run.verdict()

    svhn = released_zoo_with_split_file(tmp_path / "user", "svhn_cropped", n_runs=60)  # not the published file
    user = nfn.run_collections({"svhn_cropped": book_zoos.Collection("svhn_cropped", released, "svhn_cropped", svhn.path,
                                                                     {"cnn": svhn}, book_zoos.RELEASED_SOURCE)}, released)
    assert user[0].label == "Released SVHN-GS (a user-supplied split: NOT the benchmark's members)"
    assert "a user-supplied split" in user[0].note and "no split file" not in user[0].note

    tiny = dataclasses.replace(profiles.resolve("tiny"), statnn_epochs=2, nfn_gbm_search=1, n_bootstrap=20)
    own = nfn.run_collections({"mnist": book_zoos.Collection("mnist", tiny, "mnist", mnist.path, {"cnn": mnist},
                                                             "generated")}, tiny)
    assert [r.label for r in own] == ["tiny zoo, MNIST, 40 nets, 2 epochs (not the benchmark)"]
    assert own[0].published_statnn is None and "NOT the benchmark" in own[0].note


def test_the_pages_verdict_tables_and_notes_join_the_runs():
    rng = np.random.default_rng(0)
    y = rng.uniform(size=60)
    table = _benchmark_table(y, y + rng.normal(0, 0.2, 60), y + rng.normal(0, 0.05, 60))
    runs = [nfn.ZooRun("cifar10", "CIFAR10-GS", "Released CIFAR10-GS (the benchmark)", "**a**: split.", table, 0.915, 50),
            nfn.ZooRun("mnist", "MNIST", "tiny zoo (not the benchmark)", "**b**: split.", table, None, 50)]
    assert nfn.page_verdict(runs) == (nfn.verdict(runs[0].label, table, 0.915, 50) + " "
                                      + nfn.verdict(runs[1].label, table, n_bootstrap=50))
    assert nfn.page_verdict([]) == "No zoo to run the protocol on in this build."
    assert nfn.notes(runs) == "**a**: split.\n\n**b**: split."
    shown = nfn.readable_runs(runs)
    assert shown.index.names == ["zoo", "method"] and shown.loc[("MNIST", "GBM (ours)")].equals(nfn.readable(table).loc["GBM (ours)"])
    against = nfn.against_published(runs[:1])
    assert against.index.tolist() == [f"{m} (published)" for m in nfn.PUBLISHED_TAU.index] + ["StatNN (ours)", "GBM (ours)"]
    assert against.loc["StatNN (published)", "cifar10"] == "0.915"
    assert against.loc["GBM (ours)", "cifar10"] == nfn.readable(table).loc["GBM (ours)", "Kendall τ [95 % CI]"]
