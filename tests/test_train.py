"""The trainer against plain Keras: same batches, same start, same parameters after a few steps."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from zoolib.cnn import Architecture, build_model, get_flat_parameters, num_parameters, set_flat_parameters
from zoolib.train import (
    _CnnStack,
    epoch_batches,
    initial_parameters,
    train_nets,
    training_subset,
)
from zoolib.zoo import RESULT_COLUMNS

BATCH = 64
# Ours vs Keras after 5 steps: |ours - keras| <= ATOL + RTOL * |keras| on every parameter.
RTOL, ATOL = 1e-4, 1e-6


@dataclass
class Data:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = "random"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    images = lambda n: rng.uniform(-1, 1, (n, 28, 28, 1)).astype(np.float32)  # noqa: E731
    return Data("random", images(320), rng.integers(0, 10, 320), images(100), rng.integers(0, 10, 100))


def config(i, optimizer="adam", lr=0.01, l2=1e-3, dropout=0.0, seed=None, fraction=1.0, w_init="he_normal"):
    return {
        "config.activation": "relu", "config.b_init": "zeros", "config.dataset": "random",
        "config.dnn_architecture": "cnn", "config.dropout": dropout, "config.epochs": 1,
        "config.epochs_between_checkpoints": 1, "config.init_std": 0.05, "config.l2reg": l2,
        "config.learning_rate": lr, "config.num_layers": 3, "config.num_units": 16,
        "config.optimizer": optimizer, "config.random_seed": i + 1 if seed is None else seed,
        "config.train_fraction": fraction, "config.w_init": w_init, "modeldir": f"run{i}",
    }


def keras_reference(run: dict, data, epochs: int, arch: Architecture = Architecture()):
    """Plain Keras: build_model, compile with the same optimizer, train_on_batch on our batches."""
    import keras

    model = build_model(arch, activation=run["config.activation"], w_init=run["config.w_init"],
                        init_std=run["config.init_std"], l2reg=run["config.l2reg"], seed=run["config.random_seed"])
    optimizer = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    model.compile(optimizer=optimizer[run["config.optimizer"]](learning_rate=run["config.learning_rate"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    subset = training_subset(run["config.random_seed"], len(data.y_train), run["config.train_fraction"])
    for epoch in range(epochs):
        for batch in epoch_batches(run["config.random_seed"], epoch, len(subset), BATCH):
            model.train_on_batch(data.x_train[subset[batch]], data.y_train[subset[batch]])
    return model, subset


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_five_steps_match_keras_train_on_batch_and_evaluate(data, optimizer):
    run = config(0, optimizer, lr=0.02 if optimizer == "sgd" else 0.003, l2=1e-2)
    weights, metrics = train_nets(pd.DataFrame([run]), data, [0, 1], batch_size=BATCH, progress=False)
    model, subset = keras_reference(run, data, epochs=1)  # 320 images / 64 = 5 steps
    np.testing.assert_allclose(weights[0], initial_parameters(Architecture(), pd.Series(run)))
    np.testing.assert_allclose(weights[1], get_flat_parameters(model), rtol=RTOL, atol=ATOL)
    assert not np.allclose(weights[0], weights[1])
    # the saved checkpoint's metrics are what Keras' model.evaluate reports for the saved weights
    import keras

    saved = build_model(l2reg=run["config.l2reg"], seed=0)
    set_flat_parameters(saved, weights[1])
    saved.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    test_loss, test_acc = saved.evaluate(data.x_test, data.y_test, verbose=0)  # loss includes L2
    train_loss, train_acc = saved.evaluate(data.x_train[subset], data.y_train[subset], verbose=0)
    final = metrics.iloc[1]
    np.testing.assert_allclose([final.test_loss, final.train_loss], [test_loss, train_loss], rtol=1e-5)
    np.testing.assert_allclose([final.test_accuracy, final.train_accuracy], [test_acc, train_acc])


def test_other_cnn_shapes_match_keras(data):
    arch = Architecture(num_layers=4, num_units=8, padding="same")
    run = config(0, "sgd", lr=0.05, l2=1e-3)
    weights, _ = train_nets(pd.DataFrame([run]), data, [1], arch=arch, batch_size=BATCH, progress=False)
    model, _ = keras_reference(run, data, epochs=1, arch=arch)
    assert weights.shape == (1, num_parameters(arch))
    np.testing.assert_allclose(weights[0], get_flat_parameters(model), rtol=RTOL, atol=ATOL)


def test_checkpoint_schedule_row_order_and_columns(data):
    configs = pd.DataFrame([config(0, "sgd"), config(1, "adam", lr=0.003)])
    weights, metrics = train_nets(configs, data, [3, 0, 1], batch_size=BATCH, progress=False)
    assert list(metrics["modeldir"]) == ["run0"] * 3 + ["run1"] * 3
    assert list(metrics["step"]) == [0, 1, 3, 0, 1, 3]
    assert list(metrics.columns[-len(RESULT_COLUMNS):]) == RESULT_COLUMNS
    assert (metrics["config.optimizer"] == ["sgd"] * 3 + ["adam"] * 3).all()
    assert weights.dtype == np.float32 and weights.shape == (6, 4970)
    assert metrics[["test_accuracy", "train_accuracy"]].stack().between(0, 1).all()


def test_train_fraction_subset_and_drop_remainder():
    subset = training_subset(seed=7, num_train=1000, fraction=0.25)
    assert len(subset) == 250 and len(set(subset)) == 250 and subset.max() < 1000
    np.testing.assert_array_equal(subset, training_subset(7, 1000, 0.25))
    assert not np.array_equal(subset, training_subset(8, 1000, 0.25))
    batches = epoch_batches(seed=7, epoch=0, num_images=250, batch_size=64)
    assert batches.shape == (3, 64) and len(set(batches.ravel())) == 192  # 58 images dropped
    assert not np.array_equal(batches, epoch_batches(7, 1, 250, 64))  # reshuffled every epoch


def test_subset_smaller_than_a_batch_is_refused(data):
    with pytest.raises(ValueError, match="less than one batch"):
        train_nets(pd.DataFrame([config(0, fraction=0.1)]), data, [1], batch_size=BATCH, progress=False)


def test_missing_columns_are_named(data):
    with pytest.raises(ValueError, match="config.l2reg"):
        train_nets(pd.DataFrame([config(0)]).drop(columns="config.l2reg"), data, [1], progress=False)


def test_stacked_nets_match_single_runs_and_survive_a_diverging_neighbour(data):
    configs = pd.DataFrame([
        config(0, "sgd", lr=0.05, l2=1e-3),
        config(1, "sgd", lr=1e6, l2=0.0),  # diverges within the first epoch
        config(2, "sgd", lr=0.02, l2=1e-2, w_init="glorot_normal"),
    ])  # same optimizer, activation and subset size: one stack of three
    single_w, single_m = train_nets(configs, data, [0, 1, 2], batch_size=BATCH, progress=False)
    stacked_w, stacked_m = train_nets(configs, data, [0, 1, 2], batch_size=BATCH, stack=3, progress=False)
    for metrics in (single_m, stacked_m):
        assert list(metrics["modeldir"]) == ["run0"] * 3 + ["run1"] + ["run2"] * 3
        assert list(metrics["step"]) == [0, 1, 2, 0, 0, 1, 2]
    assert np.isfinite(stacked_w).all()
    np.testing.assert_allclose(stacked_w, single_w, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(stacked_m["test_loss"], single_m["test_loss"], rtol=1e-5)


def test_dropout_masks_keep_the_expected_fraction():
    import tensorflow as tf

    rates = np.array([0.0, 0.3, 0.6])
    stack = _CnnStack(Architecture(), 3, "sgd", "relu", True)
    threshold = np.round(rates * 256).astype(np.int32)
    stack.keep_threshold.assign(np.repeat(threshold, 16))
    shape = tf.constant([256, 13, 13, 48])
    mask = stack._keep_mask(shape, tf.constant([5, 0], tf.int64)).numpy()
    assert set(np.unique(mask)) <= {0.0, 1.0}
    kept = mask.reshape(-1, 3, 16).mean(axis=(0, 2))
    expected = 1 - threshold / 256
    sigma = np.sqrt(expected * (1 - expected) / (mask.size / 3))
    assert (np.abs(kept - expected) <= 5 * sigma + 1e-12).all(), (kept, expected)
    other = stack._keep_mask(shape, tf.constant([5, 1], tf.int64)).numpy()
    assert 0.3 < np.mean(other[..., 16:32] != mask[..., 16:32])  # fresh masks for another seed


def test_dropout_training_is_seeded_and_differs_from_no_dropout(data):
    configs = pd.DataFrame([config(0, "adam", lr=0.003, dropout=0.4)])
    first, _ = train_nets(configs, data, [1], batch_size=BATCH, progress=False)
    again, _ = train_nets(configs, data, [1], batch_size=BATCH, progress=False)
    without, _ = train_nets(configs.assign(**{"config.dropout": 0.0}), data, [1], batch_size=BATCH, progress=False)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, without, atol=1e-4)


def test_keras_engine_trains_other_kinds(data):
    arch = Architecture(kind="mlp", num_layers=2, num_units=8)
    configs = pd.DataFrame([config(0, "rmsprop", lr=0.003, dropout=0.2)])
    weights, metrics = train_nets(configs, data, [0, 1], arch=arch, batch_size=BATCH, progress=False)
    assert weights.shape == (2, num_parameters(arch)) and np.isfinite(weights).all()
    model = build_model(arch, seed=0)
    set_flat_parameters(model, weights[1])  # the layout is the model's
    assert list(metrics["step"]) == [0, 1]
