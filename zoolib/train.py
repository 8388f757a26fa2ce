"""Training the zoo's networks with the paper's protocol, fast.

The protocol (the paper's train_network.py, with Keras 3 semantics):
- a run keeps the first int(N * train_fraction) training images of a shuffle seeded by its
  config.random_seed, reshuffles them every epoch and trains on batches of 512 (drop_remainder);
  under the shared seed policy (zoolib.hparams) every run has the zoo's seed, so runs with the same
  train fraction see the same subset in the same batch order;
- Keras-default SGD (no momentum), Adam or RMSprop with the sampled learning rate, no schedule;
- dropout after each hidden layer, L2(l2reg) on the kernels (l2 * sum(w**2) added to the loss), sparse
  cross-entropy on logits; batch normalization (cnn_bn) with Keras' moving statistics (momentum 0.99,
  epsilon 1e-3); initialization is `zoolib.cnn.build_model`'s for the run's seed;
- checkpoint e holds the parameters after e epochs (0 = initialization), evaluated in inference mode
  (no dropout, moving statistics) on the run's training subset and on the test set. The reported loss
  is what Keras' model.evaluate reports: mean cross-entropy plus the L2 term;
- a run stops at the first checkpoint whose parameters or losses are not finite, or after an epoch in
  which its training loss or parameters turned NaN/Inf: it keeps its earlier checkpoints only.

Two engines train under one checkpoint loop (`checkpoint_loop`):
- "fast": K nets of the same optimizer, activation, subset size and dropout on/off in one graph (a
  "stack"), a whole epoch per tf.function call. Parameters live as one (K, P) matrix in the released
  layout; convolutions are grouped (net j owns output channels [16 j, 16 (j + 1))); when every net of
  the stack trains on the same batches (shared seeds) the batch is gathered once and the first
  convolution is one convolution with K x 16 output channels. Optimizer updates are pure functions
  (`UPDATES`), dropout masks come from 8-bit Philox integers (one stream for a stack of shared-seed
  nets, so a stacked net gets exactly its single-run masks). A diverged net is zeroed and frozen so that
  it cannot poison its neighbours. Any kind (cnn, cnn_bn, mlp). The same graph takes stacks of
  hundreds of nets for a GPU (tested on CPU against single runs; not yet measured on a GPU).
- "keras": plain Keras model.fit on the same batches, one net at a time: the reference.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from zoolib.cnn import (MODEL_NAME, Architecture, build_model, get_flat_parameters, layer_names, parameter_layout,
                        parse_shape)
from zoolib.hparams import BATCH_SIZE, CONFIG_COLUMNS

# -- defaults
RESULT_COLUMNS = ["modeldir", "step", "test_accuracy", "test_loss", "train_accuracy", "train_loss"]  # per checkpoint row
STACK = 2  # nets per graph on a CPU worker (generation, the benchmark); benchmarks/README.md says how it was chosen
ENGINE = "fast"
ENGINES = ("fast", "keras")
OPTIMIZERS = ("sgd", "adam", "rmsprop")
NEEDED_COLUMNS = [
    "config.optimizer", "config.learning_rate", "config.l2reg", "config.dropout", "config.init_std",
    "config.w_init", "config.b_init", "config.activation", "config.train_fraction",
    "config.random_seed", "modeldir",
]
# Keras 3 defaults.
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7
RMSPROP_RHO, RMSPROP_EPSILON = 0.9, 1e-7
BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3
DROPOUT_LEVELS = 256  # dropout rates are rounded to multiples of 1/256 (8-bit masks)
EVAL_IMAGE_NETS = 8192  # images x nets per evaluation call (at least 256 images)

Rows = list[tuple[int, np.ndarray, dict]]  # a run's checkpoints: (epoch, flat parameters, metrics)


def configure_worker(threads: int = 1) -> None:
    """Turn on op determinism and set TensorFlow's thread pools (first thing in a worker process).

    Determinism is switched on even when the pools already run (RuntimeError then), so that every
    worker computes the same bits for the same task whatever it ran before."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as err:
        raise RuntimeError(
            "TensorFlow already started its thread pools in this process; call "
            "configure_worker() first thing in the worker, before any TensorFlow op runs"
        ) from err


# ----------------------------------------------------------------------------- data order


def training_subset(seed: int, num_train: int, fraction: float) -> np.ndarray:
    """Indices of a run's training images: the first int(N * fraction) of a shuffle seeded by `seed`."""
    keep = int(num_train * fraction)
    return np.random.default_rng([int(seed), 0]).permutation(num_train)[:keep]


def epoch_batches(seed: int, epoch: int, num_images: int, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Positions (batches, batch_size) into a run's subset for one epoch: reshuffled, drop_remainder."""
    batches = num_images // batch_size
    order = np.random.default_rng([int(seed), 1, int(epoch)]).permutation(num_images)
    return order[: batches * batch_size].reshape(batches, batch_size)


def initial_parameters(arch: Architecture, run: pd.Series) -> np.ndarray:
    """The flat initial parameters of a run, as `zoolib.cnn.build_model` initializes them."""
    model = build_model(
        arch, activation=run["config.activation"], w_init=run["config.w_init"],
        b_init=run["config.b_init"], init_std=float(run["config.init_std"]),
        seed=int(run["config.random_seed"]),
    )
    return get_flat_parameters(model)


def stack_key(config: pd.Series) -> tuple:
    """Runs with equal keys can train in one stack: (optimizer, activation, train fraction, dropout on)."""
    return (config["config.optimizer"], config["config.activation"], float(config["config.train_fraction"]),
            float(config["config.dropout"]) > 0)


def stack_groups(configs: pd.DataFrame) -> list[np.ndarray]:
    """Row positions of the configs grouped by `stack_key`, groups in order of first appearance."""
    groups: dict[tuple, list[int]] = {}
    for i, (_, config) in enumerate(configs.iterrows()):
        groups.setdefault(stack_key(config), []).append(i)
    return [np.array(g) for g in groups.values()]


# ----------------------------------------------------------------------------- optimizer updates
# Pure functions (theta, grad, slots, lr, iteration) -> (new theta, new slots), element-wise, with
# Keras 3's formulas; lr broadcasts against theta (one rate per net: (K, 1)).


def sgd_update(theta, grad, slots, lr, iteration):
    """Keras SGD without momentum: theta - lr * grad."""
    return theta - lr * grad, slots


def rmsprop_update(theta, grad, slots, lr, iteration):
    """Keras RMSprop (rho 0.9, epsilon 1e-7, no momentum, not centered)."""
    import tensorflow as tf

    (v,) = slots
    v = RMSPROP_RHO * v + (1 - RMSPROP_RHO) * tf.square(grad)
    return theta - lr * grad / tf.sqrt(v + RMSPROP_EPSILON), (v,)


def adam_update(theta, grad, slots, lr, iteration):
    """Keras Adam (beta_1 0.9, beta_2 0.999, epsilon 1e-7); `iteration` counts from 1."""
    import tensorflow as tf

    m, v = slots
    t = tf.cast(iteration, theta.dtype)
    alpha = lr * (tf.sqrt(1 - tf.pow(ADAM_BETA_2, t)) / (1 - tf.pow(ADAM_BETA_1, t)))
    m = m + (grad - m) * (1 - ADAM_BETA_1)
    v = v + (tf.square(grad) - v) * (1 - ADAM_BETA_2)
    return theta - m * alpha / (tf.sqrt(v) + ADAM_EPSILON), (m, v)


UPDATES: dict[str, tuple[Callable, int]] = {  # name -> (update, number of slots)
    "sgd": (sgd_update, 0), "rmsprop": (rmsprop_update, 1), "adam": (adam_update, 2),
}


# ----------------------------------------------------------------------------- the checkpoint loop


def checkpoint_loop(engine, steps: list[int], bar=None) -> list[Rows]:
    """Train an engine's nets to the last step, saving checkpoints; per net its list of rows.

    `engine` has `k` (nets), `checkpoint()` -> (parameters (k, P), metrics {name: (k,)}) and
    `train_epoch(epoch, active)` -> (k,) bool, True for nets whose loss or parameters turned non-finite.
    A net stops at the first non-finite checkpoint or after its first non-finite epoch.
    """
    rows: list[Rows] = [[] for _ in range(engine.k)]
    stopped = np.zeros(engine.k, bool)
    for epoch in range(steps[-1] + 1):
        if epoch in steps:
            params, metrics = engine.checkpoint()
            finite = np.isfinite(params).all(axis=1)
            for values in metrics.values():
                finite &= np.isfinite(values)
            stopped |= ~finite
            for j in np.flatnonzero(~stopped):
                rows[j].append((epoch, params[j], {name: float(v[j]) for name, v in metrics.items()}))
        if epoch == steps[-1] or stopped.all():
            break
        stopped |= engine.train_epoch(epoch, ~stopped)
        if bar is not None:
            bar.update(engine.k)
    return rows


@dataclass
class _Run:
    index: int  # position in the configs table
    config: pd.Series
    subset: np.ndarray  # absolute indices of the training subset

    @property
    def seed(self) -> int:
        return int(self.config["config.random_seed"])


def train_nets(
    configs: pd.DataFrame,
    data,
    checkpoints: Sequence[int],
    arch: Architecture | None = None,
    *,
    stack: int = STACK,
    engine: str = ENGINE,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Train one net per configs row; return (weights (rows, P) float32, metrics rows).

    checkpoints: epochs to save (0 = initialization); training runs max(checkpoints) epochs.
    arch: None means the paper's CNN sized for the data's images.
    stack: nets trained together in one graph by the fast engine; runs are grouped by `stack_key`,
        then stacked in table order. A stack of nets with one seed gives the single runs' results
        (up to float round-off); with different seeds the dropout masks depend on the stack.
    engine: "fast" (stacked, any kind) or "keras" (model.fit, one net at a time: the reference).
    Rows come run by run in the configs' order, steps increasing.
    """
    missing = [c for c in NEEDED_COLUMNS if c not in configs.columns]
    if missing:
        raise ValueError(f"configs lack the columns {missing}; make them with zoolib.hparams.sample_configs")
    steps = sorted({int(e) for e in checkpoints})
    if not steps or steps[0] < 0:
        raise ValueError(f"checkpoints must be non-negative epoch numbers, got {list(checkpoints)}")
    x_train, y_train = np.asarray(data.x_train, np.float32), np.asarray(data.y_train, np.int64)
    x_test, y_test = np.asarray(data.x_test, np.float32), np.asarray(data.y_test, np.int64)
    height, width, channels = x_train.shape[1:]
    if height != width:
        raise ValueError(f"expected square images, got {height}x{width}")
    arch = Architecture(input_size=height, channels=channels) if arch is None else arch
    if arch.input_shape != (height, width, channels):
        raise ValueError(f"architecture expects images {arch.input_shape}, the data has {(height, width, channels)}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if stack < 1:
        raise ValueError(f"stack must be a positive number of nets, got {stack}")
    bad = sorted(set(configs["config.optimizer"]) - set(OPTIMIZERS))
    if bad:
        raise ValueError(f"unknown optimizers {bad}; expected one of {OPTIMIZERS}")

    runs = []
    for i, (_, config) in enumerate(configs.iterrows()):
        subset = training_subset(int(config["config.random_seed"]), len(x_train), float(config["config.train_fraction"]))
        if len(subset) < batch_size:
            raise ValueError(
                f"run {config['modeldir']}: train_fraction {config['config.train_fraction']} of "
                f"{len(x_train)} images leaves {len(subset)}, less than one batch of {batch_size}"
            )
        runs.append(_Run(i, config, subset))

    results: dict[int, Rows] = {}
    bar = tqdm(total=len(runs) * steps[-1], desc="training", unit="net-epoch", disable=None if progress else True)
    if engine == "keras":
        chunks = [[run] for run in runs]
        make = lambda chunk: _KerasEngine(arch, chunk[0], (x_train, y_train, x_test, y_test), batch_size)  # noqa: E731
    else:
        import tensorflow as tf

        tensors = tuple(tf.convert_to_tensor(t) for t in (x_train, y_train, x_test, y_test))
        initial = functools.lru_cache(maxsize=None)(  # shared seeds: many runs start from the same draws
            lambda *key: initial_parameters(arch, pd.Series(dict(zip(_INIT_COLUMNS, key)))))
        chunks = [[runs[i] for i in group[start : start + stack]]
                  for group in stack_groups(configs) for start in range(0, len(group), stack)]
        make = lambda chunk: _FastEngine(arch, chunk, tensors, batch_size, initial)  # noqa: E731
    for chunk in chunks:
        for run, rows in zip(chunk, checkpoint_loop(make(chunk), steps, bar)):
            results[run.index] = rows
    bar.close()
    return _assemble(configs, runs, results, int(parameter_layout(arch)["end_idx"].iloc[-1]))


_INIT_COLUMNS = ("config.activation", "config.w_init", "config.b_init", "config.init_std", "config.random_seed")


def _assemble(configs, runs, results, size) -> tuple[np.ndarray, pd.DataFrame]:
    config_columns = [c for c in CONFIG_COLUMNS if c in configs.columns]
    config_columns += [c for c in configs.columns if c.startswith("config.") and c not in config_columns]
    weights, rows = [], []
    for run in runs:
        for step, params, metrics in results[run.index]:
            weights.append(params)
            rows.append({**{c: run.config[c] for c in config_columns}, "modeldir": run.config["modeldir"],
                         "step": step, **metrics})
    matrix = np.stack(weights).astype(np.float32) if weights else np.zeros((0, size), np.float32)
    return matrix, pd.DataFrame(rows, columns=config_columns + RESULT_COLUMNS)


# ----------------------------------------------------------------------------- the Keras engine


class _KerasEngine:
    """One run with plain Keras model.fit on the run's batches (the reference engine)."""

    k = 1

    def __init__(self, arch: Architecture, run: _Run, tensors, batch_size: int):
        import keras

        x_train, y_train, self.x_test, self.y_test = tensors
        c = self.config = run.config
        self.run, self.batch_size = run, batch_size
        keras.utils.set_random_seed(run.seed)  # dropout draws from Keras' global stream
        self.model = build_model(
            arch, activation=c["config.activation"], dropout=float(c["config.dropout"]),
            w_init=c["config.w_init"], b_init=c["config.b_init"], init_std=float(c["config.init_std"]),
            l2reg=float(c["config.l2reg"]), seed=run.seed,
        )
        optimizer = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
        self.model.compile(
            optimizer=optimizer[c["config.optimizer"]](learning_rate=float(c["config.learning_rate"])),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
        )
        self.x_sub, self.y_sub = x_train[run.subset], y_train[run.subset]

    def checkpoint(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        train_loss, train_acc = self.model.evaluate(self.x_sub, self.y_sub, batch_size=4096, verbose=0)
        test_loss, test_acc = self.model.evaluate(self.x_test, self.y_test, batch_size=4096, verbose=0)
        metrics = dict(test_accuracy=test_acc, test_loss=test_loss, train_accuracy=train_acc, train_loss=train_loss)
        return get_flat_parameters(self.model)[None], {k: np.array([v]) for k, v in metrics.items()}

    def train_epoch(self, epoch: int, active: np.ndarray) -> np.ndarray:
        order = epoch_batches(self.run.seed, epoch, len(self.run.subset), self.batch_size).reshape(-1)
        history = self.model.fit(self.x_sub[order], self.y_sub[order], batch_size=self.batch_size,
                                 shuffle=False, epochs=1, verbose=0)
        finite = np.isfinite(history.history["loss"]).all() and np.isfinite(get_flat_parameters(self.model)).all()
        return np.array([not finite])


# ----------------------------------------------------------------------------- the fast engine


@dataclass(frozen=True)
class StackSpec:
    """What one compiled stacked graph is specialized for."""

    arch: Architecture
    k: int  # nets
    optimizer: str
    activation: str
    dropout: bool  # any dropout in the stack
    shared: bool  # every net has the same seed: same batches, one dropout mask stream


class _State(NamedTuple):
    theta: object  # (K, P) parameters, released layout
    slots: tuple  # optimizer slots, each (K, P)
    iteration: object  # int64, optimizer steps taken
    alive: object  # (K,) bool


class _Hyper(NamedTuple):
    lr: object  # (K, 1)
    l2: object  # (K, P): l2reg on kernel columns, 0 elsewhere
    keep_threshold: object  # (K, units) int32: an element is kept when its 8-bit draw >= this
    keep_scale: object  # (K,) 1 / (1 - rounded rate)
    seed: object  # int64: Philox key of the dropout masks


def _variables(arch: Architecture) -> list[tuple[str, str, tuple[int, ...]]]:
    """(layer, variable, shape) in the released flat order."""
    out = []
    for row in parameter_layout(arch).itertuples():
        layer, variable = row.varname.removeprefix(f"{MODEL_NAME}/").removesuffix(":0").split("/")
        out.append((layer, variable, parse_shape(row.shape)))
    return out


def stacked_tensors(arch: Architecture, theta) -> dict[tuple[str, str], object]:
    """The (K, P) parameter matrix as stacked tensors, keyed by (layer, variable).

    Conv kernels (kh, kw, cin, K * cout), net-major on the last axis (grouped convolutions); conv
    biases and batch-norm vectors (K * units,); dense kernels (K, in, out) and biases (K, out).
    """
    import tensorflow as tf

    variables = _variables(arch)
    pieces = tf.split(theta, [int(np.prod(shape)) for _, _, shape in variables], axis=1)
    k = theta.shape[0]
    out = {}
    for (layer, variable, shape), piece in zip(variables, pieces):
        t = tf.reshape(piece, (k, *shape))
        if layer.startswith("conv2d") and variable == "kernel":
            t = tf.reshape(tf.transpose(t, [1, 2, 3, 0, 4]), (*shape[:3], k * shape[3]))
        elif not layer.startswith("dense"):
            t = tf.reshape(t, [-1])
        out[layer, variable] = t
    return out


def _keep_mask(spec: StackSpec, hyper: _Hyper, prefix, seed):
    """0/1 float mask (*prefix, K, units). Draws are 8-bit Philox integers (one 32-bit word gives four);
    a shared stack draws one (*prefix, units) block that every net compares with its own threshold."""
    import tensorflow as tf

    units = spec.arch.num_units
    channels = units * (1 if spec.shared else spec.k)
    words = -(-channels // 4)
    bits = tf.random.stateless_uniform(tf.concat([prefix, [words]], 0), seed, minval=None, maxval=None, dtype=tf.uint32)
    bits = tf.reshape(tf.bitcast(bits, tf.uint8), tf.concat([prefix, [4 * words]], 0))[..., :channels]
    bits = tf.reshape(bits, tf.concat([prefix, [channels // units, units]], 0))
    return tf.cast(bits >= tf.cast(hyper.keep_threshold, tf.uint8), tf.float32)


def _forward(spec: StackSpec, tensors, hyper: _Hyper, x, training: bool, step):
    """Logits (B, K, classes) and, when training a cnn_bn stack, the new moving statistics.

    x: (B, H, W, C) images shared by all nets, or (B, H, W, K * C) per net (an mlp: (B, D) or (B, K, D)).
    Dropout keeps 0/1 masks on the activations and folds its 1/(1-rate) scale into the next layer's
    kernel (same function, fewer full-size element-wise passes).
    """
    import tensorflow as tf

    arch, k, units = spec.arch, spec.k, spec.arch.num_units
    activation = {"relu": tf.nn.relu, "tanh": tf.math.tanh}[spec.activation]
    dropout = training and spec.dropout
    moving = {}
    layers = layer_names(arch)
    hidden = [name for name, kind in layers if kind != "batch_normalization"][:-1]
    h = x
    for i, name in enumerate(hidden):
        kernel, bias = tensors[name, "kernel"], tensors[name, "bias"]
        if arch.kind == "mlp":  # h (B, D) shared or (B, K, D); kernel (K, D, units)
            if dropout and i:
                kernel = kernel * hyper.keep_scale[:, None, None]
            shared_input = len(h.shape) == 2
            z = tf.einsum("bd,kdu->bku" if shared_input else "bkd,kdu->bku", h, kernel) + bias
        else:  # h (B, H, W, C or K * C); kernel (kh, kw, C, K * units): one (grouped) convolution
            if dropout and i:
                kernel = kernel * tf.repeat(hyper.keep_scale, units)
            z = tf.nn.conv2d(h, kernel, arch.stride, arch.padding.upper()) + bias
        if arch.kind == "cnn_bn":
            bn = f"batch_normalization{name.removeprefix('conv2d')}"
            if training:  # one fused kernel: normalized output and the batch mean and (Bessel-corrected) variance
                z, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                    z, tensors[bn, "gamma"], tensors[bn, "beta"], epsilon=BN_EPSILON, is_training=True)
                n = tf.cast(tf.reduce_prod(tf.shape(z)[:3]), tf.float32)
                variance = variance * ((n - 1.0) / n)  # Keras' moving variance takes the biased one
                old_mean, old_variance = tensors[bn, "moving_mean"], tensors[bn, "moving_variance"]
                moving[bn, "moving_mean"] = old_mean * BN_MOMENTUM + mean * (1.0 - BN_MOMENTUM)
                moving[bn, "moving_variance"] = old_variance * BN_MOMENTUM + variance * (1.0 - BN_MOMENTUM)
            else:
                mean, variance = tensors[bn, "moving_mean"], tensors[bn, "moving_variance"]
                z = tf.nn.batch_normalization(z, mean, variance, tensors[bn, "beta"], tensors[bn, "gamma"], BN_EPSILON)
        h = activation(z)
        if dropout:
            shape = tf.shape(h)
            prefix = shape[:1] if arch.kind == "mlp" else shape[:-1]
            seed = tf.stack([hyper.seed, step * len(hidden) + i])
            mask = _keep_mask(spec, hyper, prefix, seed)  # (*prefix, K, units)
            h = h * (mask if arch.kind == "mlp" else tf.reshape(mask, shape))
    if arch.kind != "mlp":
        h = tf.reshape(tf.reduce_mean(h, axis=[1, 2]), [-1, k, units])  # global average pooling
    head = layers[-1][0]
    kernel = tensors[head, "kernel"]
    if dropout:
        kernel = kernel * hyper.keep_scale[:, None, None]
    return tf.einsum("bku,kuc->bkc", h, kernel) + tensors[head, "bias"], moving


def _inputs(spec: StackSpec, x, idx):
    """Images of a step: idx (B,) shared -> (B, H, W, C); idx (K, B) -> (B, H, W, K * C) (mlp: flat)."""
    import tensorflow as tf

    images = tf.gather(x, idx)
    if spec.arch.kind == "mlp":
        flat = tf.reshape(images, tf.concat([tf.shape(idx), [-1]], 0))
        return flat if len(idx.shape) == 1 else tf.transpose(flat, [1, 0, 2])
    if len(idx.shape) == 1:
        return images
    images = tf.transpose(images, [1, 2, 3, 0, 4])  # (B, H, W, K, C)
    shape = tf.shape(images)
    return tf.reshape(images, [shape[0], shape[1], shape[2], spec.k * spec.arch.channels])


def _labels(spec: StackSpec, y, idx):
    """Labels (B, K) of a step's images."""
    import tensorflow as tf

    labels = tf.gather(y, idx)
    return tf.broadcast_to(labels[:, None], [tf.shape(idx)[0], spec.k]) if len(idx.shape) == 1 else tf.transpose(labels)


def _train_step(spec: StackSpec, state: _State, hyper: _Hyper, x, y, idx, step) -> _State:
    import tensorflow as tf

    update, _ = UPDATES[spec.optimizer]
    theta = state.theta
    with tf.GradientTape() as tape:
        tape.watch(theta)
        tensors = stacked_tensors(spec.arch, theta)
        logits, moving = _forward(spec, tensors, hyper, _inputs(spec, x, idx), True, step)
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(_labels(spec, y, idx), logits), axis=0)
        total = tf.reduce_sum(tf.where(state.alive, ce, 0.0))
    # Keras' L2 term l2 * sum(w**2): its value joins the loss, its gradient is 2 * l2 * w.
    grad = tape.gradient(total, theta) + 2.0 * hyper.l2 * theta
    loss = ce + tf.reduce_sum(hyper.l2 * tf.square(theta), axis=1)
    iteration = state.iteration + 1
    new, slots = update(theta, grad, state.slots, hyper.lr, iteration)
    if moving:  # batch norm: moving statistics are not trained, they take their new values
        new = _replace_columns(spec.arch, new, moving)
    alive = state.alive & tf.math.is_finite(loss) & tf.reduce_all(tf.math.is_finite(new), axis=1)
    # a diverged net is zeroed and frozen so that it cannot poison its neighbours
    return _State(tf.where(alive[:, None], new, 0.0), slots, iteration, alive)


def _replace_columns(arch: Architecture, theta, values: dict):
    """theta (K, P) with the columns of the variables in `values` (stacked form (K * units,)) replaced."""
    import tensorflow as tf

    variables = _variables(arch)
    pieces = tf.split(theta, [int(np.prod(shape)) for _, _, shape in variables], axis=1)
    k = theta.shape[0]
    for i, (layer, variable, _) in enumerate(variables):
        if (layer, variable) in values:
            pieces[i] = tf.reshape(values[layer, variable], [k, -1])
    return tf.concat(pieces, axis=1)


def _evaluate(spec: StackSpec, theta, hyper: _Hyper, x, y, idx):
    """Sum of cross-entropies and number of correct predictions per net on images idx ((B,) or (K, B))."""
    import tensorflow as tf

    logits, _ = _forward(spec, stacked_tensors(spec.arch, theta), hyper, _inputs(spec, x, idx), False, 0)
    labels = _labels(spec, y, idx)
    ce = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits), axis=0)
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, -1), labels), tf.float32), axis=0)
    return ce, correct


def _train_epoch(spec: StackSpec, state: _State, hyper: _Hyper, x, y, idx, epoch) -> _State:
    """One epoch: a step per batch of idx ((batches, B) shared or (batches, K, B))."""
    import tensorflow as tf

    for i in tf.range(tf.shape(idx)[0]):
        state = _train_step(spec, state, hyper, x, y, idx[i], epoch * 1_000_000 + tf.cast(i, tf.int64))
    return state


@functools.lru_cache(maxsize=64)
def _compiled(spec: StackSpec):
    """(epoch, evaluate) as tf.functions for one stack shape. They are pure (state in, state out), so
    this cache holds no training state; it only spares retracing the same graph."""
    import tensorflow as tf

    trace = functools.partial(tf.function, reduce_retracing=True)
    return trace(functools.partial(_train_epoch, spec)), trace(functools.partial(_evaluate, spec))


class _FastEngine:
    """A stack of K runs in the compiled stacked graph (see `StackSpec`)."""

    def __init__(self, arch: Architecture, runs: list[_Run], tensors, batch_size: int, initial: Callable):
        import tensorflow as tf

        configs = [r.config for r in runs]
        k = self.k = len(runs)
        optimizer = configs[0]["config.optimizer"]
        rates = np.array([float(c["config.dropout"]) for c in configs])
        self.spec = StackSpec(arch, k, optimizer, configs[0]["config.activation"], bool((rates > 0).any()),
                              len({r.seed for r in runs}) == 1)
        self.runs, self.tensors, self.batch_size = runs, tensors, batch_size
        self._epoch, self._evaluate = _compiled(self.spec)
        theta = np.stack([initial(*(c[name] for name in _INIT_COLUMNS)) for c in configs])
        slots = tuple(tf.zeros_like(theta) for _ in range(UPDATES[optimizer][1]))
        self.state = _State(tf.constant(theta), slots, tf.constant(0, tf.int64), tf.ones([k], tf.bool))
        layout = parameter_layout(arch)
        is_kernel = np.concatenate([np.full(r.end_idx - r.start_idx, r.varname.endswith("kernel:0"))
                                    for r in layout.itertuples()])
        per_net = lambda column: np.array([float(c[column]) for c in configs], np.float32)  # noqa: E731
        threshold = np.minimum(np.round(rates * DROPOUT_LEVELS), DROPOUT_LEVELS - 1).astype(np.int32)
        self.hyper = _Hyper(
            lr=tf.constant(per_net("config.learning_rate")[:, None]),
            l2=tf.constant(per_net("config.l2reg")[:, None] * is_kernel.astype(np.float32)),
            keep_threshold=tf.constant(np.repeat(threshold[:, None], arch.num_units, axis=1)),
            keep_scale=tf.constant((DROPOUT_LEVELS / (DROPOUT_LEVELS - threshold)).astype(np.float32)),
            seed=tf.constant(runs[0].seed, tf.int64),  # dropout masks: Philox key (first run's seed, step, layer)
        )
        self.subsets = runs[0].subset if self.spec.shared else np.stack([r.subset for r in runs])

    def checkpoint(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        x_train, y_train, x_test, y_test = self.tensors
        theta = self.state.theta.numpy()
        reg = (self.hyper.l2.numpy() * np.square(theta, dtype=np.float64)).sum(axis=1)
        train_loss, train_acc = self._metrics(x_train, y_train, self.subsets, reg)
        test_loss, test_acc = self._metrics(x_test, y_test, np.arange(len(y_test)), reg)
        return theta, dict(test_accuracy=test_acc, test_loss=test_loss, train_accuracy=train_acc, train_loss=train_loss)

    def _metrics(self, x, y, idx: np.ndarray, reg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss (mean cross-entropy + L2 term) and accuracy per net on images idx ((N,) or (K, N))."""
        import tensorflow as tf

        shared = idx.ndim == 1
        spec = dataclasses.replace(self.spec, shared=shared)
        evaluate = self._evaluate if spec == self.spec else _compiled(spec)[1]
        ce, correct = np.zeros(self.k), np.zeros(self.k)
        chunk = max(256, EVAL_IMAGE_NETS // self.k)  # bounds activation memory for large stacks
        for start in range(0, idx.shape[-1], chunk):
            c, n = evaluate(self.state.theta, self.hyper, x, y, tf.constant(idx[..., start : start + chunk], tf.int32))
            ce += c.numpy()
            correct += n.numpy()
        return ce / idx.shape[-1] + reg, correct / idx.shape[-1]

    def train_epoch(self, epoch: int, active: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        x_train, y_train, _, _ = self.tensors
        seeds = [self.runs[0]] if self.spec.shared else self.runs
        order = np.stack([epoch_batches(r.seed, epoch, len(r.subset), self.batch_size) for r in seeds], axis=1)
        if self.spec.shared:
            idx = self.subsets[order[:, 0]]  # (batches, batch_size)
        else:
            idx = self.subsets[np.arange(self.k)[None, :, None], order]  # (batches, K, batch_size)
        self.state = self.state._replace(alive=self.state.alive & tf.constant(active))
        self.state = self._epoch(self.state, self.hyper, x_train, y_train, tf.constant(idx, tf.int32),
                                 tf.constant(epoch, tf.int64))
        return ~self.state.alive.numpy()
