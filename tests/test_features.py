"""Inputs of the predictors (zoolib.features): statistics, norms, raw weights, hyperparameters, CLI."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from tests.zoo_fixtures import released_style_metrics
from zoolib.cnn import Architecture, parameter_layout
from zoolib.features import INPUTS, WeightFeatures, compute_features
from zoolib.zoo import Zoo, select_rows, write_zoo

STATS = ["p0", "p25", "p50", "p75", "p100", "std", "mean"]
PAPER_SPANS = [(0, 16), (16, 160), (160, 176), (176, 2480), (2480, 2496), (2496, 4800), (4800, 4810), (4810, 4970)]


def notebook_stats(weights, spans):
    """The straightforward way: per row and tensor np.percentile, np.std, np.mean."""

    def row_stats(row):
        out = []
        for start, stop in spans:
            x = row[start:stop]
            out += [*np.percentile(x, [0, 25, 50, 75, 100]), np.std(x), np.mean(x)]
        return np.asarray(out)

    return np.apply_along_axis(row_stats, 1, weights)


def random_weights(rows, columns, seed=0):
    rng = np.random.default_rng(seed)
    w = (rng.normal(size=(rows, columns)) * rng.lognormal(0, 1, (rows, 1))).astype(np.float32)
    w[::5, :16] = 0.0  # zero biases (an epoch-0 checkpoint): all ties
    w[1::5, 16:160] = np.round(w[1::5, 16:160], 1)  # many ties
    w[2::5, 4800:4810] += 100.0  # mean far from zero relative to the spread
    return w


def make_zoo(path, arch=Architecture(), n_runs=6, seed=0):
    metrics = released_style_metrics(n_runs, seed=seed)
    layout = parameter_layout(arch)
    weights = random_weights(len(metrics), int(layout["end_idx"].iloc[-1]), seed)
    return write_zoo(path, weights, metrics, layout)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return make_zoo(tmp_path_factory.mktemp("features") / "zoo")


@pytest.mark.parametrize("chunk_rows,n_jobs", [(1, 1), (7, 2), (16, 2), (1000, 1)])
def test_statistics_equal_the_per_row_computation(zoo, chunk_rows, n_jobs):
    assert isinstance(zoo.weights, np.memmap)  # the memory-mapped path, pages dropped per chunk
    features = compute_features(zoo, "wstats-layers:0,1,2,3", chunk_rows=chunk_rows, n_jobs=n_jobs)
    expected = notebook_stats(np.asarray(zoo.weights), PAPER_SPANS)
    np.testing.assert_allclose(features.to_numpy(), expected, rtol=1e-6, atol=1e-6)


def test_memmap_views_and_copy_on_write_edits(zoo):
    view = Zoo(zoo.weights[3:], zoo.metrics.iloc[3:], zoo.layout)
    assert isinstance(view.weights, np.memmap)
    features = compute_features(view, "wstats-layers:1", chunk_rows=4)
    expected = notebook_stats(np.asarray(zoo.weights[3:]), PAPER_SPANS[2:4])
    np.testing.assert_allclose(features.to_numpy(), expected, rtol=1e-6, atol=1e-6)
    edited = np.load(zoo.path / "weights.npy", mmap_mode="c")
    edited[:, 0] = 123.0  # an in-memory edit of a copy-on-write map must survive the chunked pass
    features = compute_features(Zoo(edited, zoo.metrics, zoo.layout), "wstats-layers:0", chunk_rows=3)
    assert (features["layer0.bias.p100"] == 123.0).all() and (edited[:, 0] == 123.0).all()


def test_paper_56_features_in_paper_order_with_names(zoo):
    features = compute_features(zoo, "wstats-layers:0,1,2,3")
    expected = [f"layer{i}.{t}.{s}" for i in range(4) for t in ("bias", "kernel") for s in STATS]
    assert list(features.columns) == expected and features.shape == (len(zoo), 56)
    long_name = compute_features(zoo, "wstats-layers:0,1,2,3-qts:0,25,50,75,100")
    pd.testing.assert_frame_equal(long_name, features)


def test_layer_subsets_have_28_and_14_features(zoo):
    both = compute_features(zoo, "wstats-layers:0,3")
    last = compute_features(zoo, "wstats-layers:3")
    assert both.shape[1] == 28 and last.shape[1] == 14
    assert list(last.columns) == [f"layer3.{t}.{s}" for t in ("bias", "kernel") for s in STATS]
    pd.testing.assert_frame_equal(both.iloc[:, 14:], last)


def test_other_percentiles_and_global_statistics(zoo):
    ten_ninety = compute_features(zoo, "wstats-layers:1-qts:10,90")
    assert list(ten_ninety.columns[:3]) == ["layer1.bias.p10", "layer1.bias.p90", "layer1.bias.std"]
    w = np.asarray(zoo.weights)
    np.testing.assert_allclose(ten_ninety["layer1.kernel.p90"], np.percentile(w[:, 176:2480], 90, axis=1), rtol=1e-6)
    glob = compute_features(zoo, "wstats-glob")
    assert list(glob.columns) == [f"all.{s}" for s in STATS]
    np.testing.assert_allclose(glob.to_numpy(), notebook_stats(w, [(0, 4970)]), rtol=1e-6, atol=1e-6)


def test_raw_weights_of_each_layer(zoo):
    w = np.asarray(zoo.weights)
    widths = [compute_features(zoo, f"weights.{i}").shape[1] for i in range(4)]
    assert widths == [160, 2320, 2320, 170]
    layer1 = compute_features(zoo, "weights.1")
    assert layer1.columns[0] == "w.160" and layer1.columns[-1] == "w.2479"
    np.testing.assert_array_equal(layer1.to_numpy(), w[:, 160:2480])
    everything = compute_features(zoo, "weights", chunk_rows=5)
    assert everything.shape == (len(zoo), 4970) and everything.dtypes.iloc[0] == np.float32
    np.testing.assert_array_equal(everything.to_numpy(), w)


@pytest.mark.parametrize("norm,order", [("l1", 1), ("l2", 2)])
def test_norms_per_tensor(zoo, norm, order):
    features = compute_features(zoo, f"wnorm-layers:0,1,2,3-{norm}")
    assert list(features.columns) == [f"layer{i}.{t}.{norm}" for i in range(4) for t in ("bias", "kernel")]
    w = np.asarray(zoo.weights, np.float64)
    expected = np.stack([np.linalg.norm(w[:, a:b], ord=order, axis=1) for a, b in PAPER_SPANS], axis=1)
    np.testing.assert_allclose(features.to_numpy(), expected, rtol=1e-6)


def test_hyper_one_hot_and_category(zoo):
    onehot = compute_features(zoo, "hyper")
    for name in ("w_init", "activation", "optimizer"):
        group = onehot.filter(like=f"hyper.{name}.")
        assert (group.sum(axis=1) == 1).all()
        chosen = group.idxmax(axis=1).str.removeprefix(f"hyper.{name}.")
        assert (chosen == zoo.metrics[f"config.{name}"]).all()
    assert "hyper.optimizer.rmsprop" in onehot and "hyper.w_init.orthogonal" in onehot  # fixed Table 1 values
    np.testing.assert_array_equal(onehot["hyper.learning_rate"], zoo.metrics["config.learning_rate"])
    category = compute_features(zoo, "hyper", categorical="category")
    assert list(category.columns) == [f"hyper.{n}" for n in
                                      ("w_init", "activation", "learning_rate", "init_std", "l2reg",
                                       "train_fraction", "dropout", "optimizer")]
    assert isinstance(category["hyper.optimizer"].dtype, pd.CategoricalDtype)
    assert list(category["hyper.optimizer"].cat.categories) == ["adam", "rmsprop", "sgd"]
    assert category["hyper.dropout"].dtype == np.float64
    logs = compute_features(zoo, "hyper", log_scale=True)
    np.testing.assert_allclose(logs["hyper.log10_l2reg"], np.log10(zoo.metrics["config.l2reg"]))
    assert list(compute_features(zoo, "hyper.learning_rate").columns) == ["hyper.learning_rate"]
    both = compute_features(zoo, "hyper+weights")
    assert both.shape[1] == onehot.shape[1] + 4970 and both.columns[onehot.shape[1]] == "w.0"


def test_all_paper_inputs_compute(zoo):
    widths = {name: compute_features(zoo, name).shape[1] for name in INPUTS}
    assert len(INPUTS) == 14 and widths["wstats-layers:0,1,2,3"] == 56 and widths["wstats-glob"] == 7
    assert widths["wnorm-layers:0,1,2,3-l2"] == 8 and widths["hyper.learning_rate"] == 1


def test_missing_layer_and_unknown_input_errors(zoo):
    with pytest.raises(ValueError, match=r"wstats-layers:0,4 asks for layer 4 but the layout has layers 0-3: "
                                         r"0 sequential/conv2d, .*3 sequential/dense"):
        compute_features(zoo, "wstats-layers:0,4")
    with pytest.raises(ValueError, match="asks for layer 7"):
        compute_features(zoo, "weights.7")
    with pytest.raises(ValueError, match="unknown input 'wstats-layer:0'"):
        compute_features(zoo, "wstats-layer:0")
    with pytest.raises(ValueError, match="categorical must be 'onehot'"):
        compute_features(zoo, "hyper", categorical="dummies")
    with pytest.raises(ValueError, match="lack \\['config.optimizer'\\]"):
        no_optimizer = zoo.metrics.iloc[:3].drop(columns="config.optimizer")
        compute_features(Zoo(zoo.weights[:3], no_optimizer, zoo.layout), "hyper")


def test_transformer_in_a_pipeline(zoo):
    y = zoo.metrics["test_accuracy"].to_numpy()
    pipeline = Pipeline([("features", WeightFeatures("wstats-layers:0,3")), ("model", LinearRegression())])
    prediction = pipeline.fit(zoo, y).predict(zoo)
    assert prediction.shape == (len(zoo),)
    names = pipeline.named_steps["features"].get_feature_names_out()
    assert len(names) == 28 and names[0] == "layer0.bias.p0"
    direct = LinearRegression().fit(compute_features(zoo, "wstats-layers:0,3"), y).predict(
        compute_features(zoo, "wstats-layers:0,3"))
    np.testing.assert_allclose(prediction, direct)
    assert clone(pipeline).named_steps["features"].get_params()["inputs"] == "wstats-layers:0,3"


def test_wstats_arch_has_one_width_across_depths(tmp_path):
    three = make_zoo(tmp_path / "three", Architecture(num_layers=3, padding="same"))
    five = make_zoo(tmp_path / "five", Architecture(num_layers=5, padding="same"), seed=1)
    bn = make_zoo(tmp_path / "bn", Architecture(kind="cnn_bn", num_layers=5, padding="same"), seed=2)
    a3, a5, abn = (compute_features(z, "wstats-arch") for z in (three, five, bn))
    assert a3.shape[1] == a5.shape[1] == abn.shape[1] == 56
    assert list(a3.columns) == list(a5.columns) == list(abn.columns)
    assert a5.columns[14] == "layer-3.bias.p0" and a5.columns[-1] == "layer-1.kernel.mean"
    # first layer and the top three layers (conv 3, conv 4, dense) of the 5-layer net
    picked = compute_features(five, "wstats-layers:0,3,4,5")
    np.testing.assert_array_equal(a5.to_numpy(), picked.to_numpy())
    # batch-norm tensors are not layers: the cnn_bn net's layer 5 is its dense head
    head = bn.layout.set_index("varname").loc["sequential/dense/bias:0"]
    head_bias = np.asarray(bn.weights)[:, head["start_idx"] : head["end_idx"]]
    np.testing.assert_allclose(abn["layer-1.bias.mean"], head_bias.mean(axis=1, dtype=np.float64), atol=1e-7)
    with pytest.raises(ValueError, match="at least 4 layers"):
        compute_features(make_zoo(tmp_path / "one", Architecture(num_layers=1)), "wstats-arch")


def test_cli_writes_features_csv(zoo, tmp_path):
    out = tmp_path / "features.csv"
    cmd = [sys.executable, "-m", "zoolib.cli", "features", str(zoo.path),
           "--inputs", "wstats-layers:0,3", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(out)
    final = zoo.take(select_rows(zoo.metrics, "final"))
    assert list(written.columns) == ["modeldir", "step"] + list(compute_features(zoo, "wstats-layers:0,3").columns)
    assert len(written) == len(final) and (written["modeldir"] == final.metrics["modeldir"]).all()
    np.testing.assert_allclose(written.iloc[:, 2:].to_numpy(), compute_features(final, "wstats-layers:0,3").to_numpy())
    bad = subprocess.run(cmd[:-4] + ["--inputs", "wstats-layers:9", "--out", str(tmp_path / "bad.csv")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "asks for layer 9" in bad.stderr
