"""Training the zoo's networks with the paper's protocol, fast.

The protocol (the paper's train_network.py, with Keras 3 semantics):
- a run keeps the first int(N * train_fraction) training images of a shuffle seeded by its
  config.random_seed, reshuffles them every epoch and trains on batches of 512 (drop_remainder);
- Keras-default SGD (no momentum), Adam or RMSprop with the sampled learning rate, no schedule;
- dropout after each conv layer, L2(l2reg) on the kernels (l2 * sum(w**2) added to the loss), sparse
  cross-entropy on logits; initialization is `zoolib.cnn.build_model`'s for the run's seed;
- checkpoint e holds the parameters after e epochs (0 = initialization), evaluated in inference mode
  (no dropout) on the run's training subset and on the test set. The reported loss is what Keras'
  model.evaluate reports: mean cross-entropy plus the L2 term;
- a run whose training loss or parameters turn NaN/Inf stops: it keeps its earlier checkpoints only.

The fast engine (plain CNNs) runs a whole epoch in one tf.function over in-memory tensors, with the
optimizers written element-wise and dropout masks from 8-bit Philox integers. It can stack K nets
into one graph (`stack=K`): grouped convolutions, every net with its own batches, so a stacked run
gives the same result as K single runs (up to float round-off; dropout masks depend on the stack).
A diverged net in a stack is zeroed and frozen, so it cannot poison its neighbours. Other kinds
(cnn_bn, mlp) train with plain Keras model.fit on the same batches (engine "keras").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from zoolib.cnn import Architecture, build_model, get_flat_parameters, num_parameters, parameter_layout
from zoolib.zoo import CONFIG_COLUMNS, RESULT_COLUMNS, parse_shape

OPTIMIZERS = ("sgd", "adam", "rmsprop")
BATCH_SIZE = 512
NEEDED_COLUMNS = [
    "config.optimizer", "config.learning_rate", "config.l2reg", "config.dropout", "config.init_std",
    "config.w_init", "config.b_init", "config.activation", "config.train_fraction",
    "config.random_seed", "modeldir",
]
# Keras 3 defaults.
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7
RMSPROP_RHO, RMSPROP_EPSILON = 0.9, 1e-7
DROPOUT_LEVELS = 256  # dropout rates are rounded to multiples of 1/256 (8-bit masks)


def configure_threads(intra: int = 1, inter: int = 1) -> None:
    """Set TensorFlow's thread pools (call in a worker process before TensorFlow runs anything)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError as err:
        raise RuntimeError(
            "TensorFlow already started its thread pools in this process; call "
            "configure_threads() first thing in the worker, before any TensorFlow op runs"
        ) from err


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
    stack: int = 1,
    engine: str = "auto",
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Train one net per configs row; return (weights (rows, P) float32, metrics rows).

    checkpoints: epochs to save (0 = initialization); training runs max(checkpoints) epochs.
    arch: None means the paper's CNN sized for the data's images.
    stack: nets trained together in one graph (fast engine); runs are grouped by optimizer,
        activation, subset size and dropout on/off, then stacked in table order. On a 2-core CPU,
        stack=2 is ~15 % cheaper per net than 1 and larger stacks bring nothing; on a GPU use many.
        Dropout masks depend on the stack (seeded by its first run), everything else does not.
    engine: "fast" (plain CNNs only), "keras" (model.fit, any kind) or "auto" (fast when it can).
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
    if engine == "auto":
        engine = "fast" if arch.kind == "cnn" else "keras"
    if engine not in ("fast", "keras") or (engine == "fast" and arch.kind != "cnn"):
        raise ValueError(f"engine must be 'auto', 'keras' or 'fast' (plain cnn only), got {engine!r} for {arch.kind}")
    if stack < 1:
        raise ValueError(f"stack must be a positive number of nets, got {stack}")
    bad = sorted(set(configs["config.optimizer"]) - set(OPTIMIZERS))
    if bad:
        raise ValueError(f"unknown optimizers {bad}; expected one of {OPTIMIZERS}")

    runs = []
    for i, (_, config) in enumerate(configs.iterrows()):
        fraction = float(config["config.train_fraction"])
        subset = training_subset(int(config["config.random_seed"]), len(x_train), fraction)
        if len(subset) < batch_size:
            raise ValueError(
                f"run {config['modeldir']}: train_fraction {config['config.train_fraction']} of "
                f"{len(x_train)} images leaves {len(subset)}, less than one batch of {batch_size}"
            )
        runs.append(_Run(i, config, subset))

    results: dict[int, list[tuple[int, np.ndarray, dict]]] = {}
    bar = tqdm(total=len(runs) * steps[-1], desc="training", unit="net-epoch", disable=None if progress else True)
    tensors = (x_train, y_train, x_test, y_test)
    if engine == "keras":
        for run in runs:
            results[run.index] = _train_keras(arch, run, tensors, steps, batch_size, bar)
    else:
        import tensorflow as tf

        tensors = tuple(tf.convert_to_tensor(t) for t in tensors)
        groups: dict[tuple, list[_Run]] = {}
        for run in runs:
            c = run.config
            key = (c["config.optimizer"], c["config.activation"], len(run.subset), float(c["config.dropout"]) > 0)
            groups.setdefault(key, []).append(run)
        for (optimizer, activation, _, has_dropout), members in groups.items():
            for start in range(0, len(members), stack):
                chunk = members[start : start + stack]
                key = (arch, len(chunk), optimizer, activation, has_dropout)
                if key not in _STACKS:
                    _STACKS[key] = _CnnStack(*key)
                net = _STACKS[key]
                for run, rows in zip(chunk, net.train(chunk, tensors, steps, batch_size, bar)):
                    results[run.index] = rows
    bar.close()
    return _assemble(configs, runs, results, num_parameters(arch))


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


def _train_keras(arch, run, tensors, steps, batch_size, bar) -> list[tuple[int, np.ndarray, dict]]:
    """One run with plain Keras model.fit on the run's batches (any architecture kind)."""
    import keras

    x_train, y_train, x_test, y_test = tensors
    c = run.config
    keras.utils.set_random_seed(run.seed)  # dropout draws from Keras' global stream: make it per run
    model = build_model(
        arch, activation=c["config.activation"], dropout=float(c["config.dropout"]),
        w_init=c["config.w_init"], b_init=c["config.b_init"], init_std=float(c["config.init_std"]),
        l2reg=float(c["config.l2reg"]), seed=run.seed,
    )
    optimizer = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    model.compile(
        optimizer=optimizer[c["config.optimizer"]](learning_rate=float(c["config.learning_rate"])),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
    )
    x_sub, y_sub = x_train[run.subset], y_train[run.subset]
    rows = []
    for epoch in range(steps[-1] + 1):
        params = get_flat_parameters(model)
        if not np.isfinite(params).all():
            break
        if epoch in steps:
            train_loss, train_acc = model.evaluate(x_sub, y_sub, batch_size=4096, verbose=0)
            test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=4096, verbose=0)
            rows.append((epoch, params, dict(test_accuracy=test_acc, test_loss=test_loss,
                                             train_accuracy=train_acc, train_loss=train_loss)))
        if epoch == steps[-1]:
            break
        order = epoch_batches(run.seed, epoch, len(run.subset), batch_size).reshape(-1)
        history = model.fit(x_sub[order], y_sub[order], batch_size=batch_size, shuffle=False, epochs=1, verbose=0)
        bar.update(1)
        if not np.isfinite(history.history["loss"]).all():
            break
    return rows


_STACKS: dict[tuple, "_CnnStack"] = {}  # kept per process, so that each graph is traced once


class _CnnStack:
    """K plain CNNs in one graph: grouped convolutions, per-net batches, element-wise optimizers.

    Conv kernels are stacked (k, k, cin, K * units), net-major on the last axis, so net j owns output
    channels [j * units, (j + 1) * units) and reads the j-th group of the stacked input channels; the
    head is a batched matmul with kernels (K, units, classes). All stacked tensors live in ONE flat
    variable (`self.theta`), so that the optimizer, the L2 term and the divergence check are a few
    element-wise ops over one vector; `self.net_of` says which net owns each element.
    """

    def __init__(self, arch: Architecture, k: int, optimizer: str, activation: str, has_dropout: bool):
        import tensorflow as tf

        self.arch, self.k, self.optimizer, self.has_dropout = arch, k, optimizer, has_dropout
        self.activation = {"relu": tf.nn.relu, "tanh": tf.math.tanh}[activation]
        layout = parameter_layout(arch)
        self.names = list(layout["varname"])
        self.shapes, self.offsets = [], [0]
        net_of, column_of, is_kernel = [], [], []
        for row in layout.itertuples():
            shape = parse_shape(row.shape)
            size = row.end_idx - row.start_idx
            nets = np.broadcast_to(np.arange(k).reshape((k,) + (1,) * len(shape)), (k,) + shape)
            columns = np.broadcast_to(row.start_idx + np.arange(size).reshape(shape), (k,) + shape)
            nets, columns = self._stacked(nets, row.varname), self._stacked(columns, row.varname)
            self.shapes.append(nets.shape)
            self.offsets.append(self.offsets[-1] + nets.size)
            net_of.append(nets.ravel())
            column_of.append(columns.ravel())
            is_kernel.append(np.full(nets.size, row.varname.endswith("kernel:0")))
        self.net_of_np, self.column_of = np.concatenate(net_of), np.concatenate(column_of)
        self.net_of = tf.constant(self.net_of_np, tf.int32)
        self.is_kernel = np.concatenate(is_kernel)
        zeros = tf.zeros([self.offsets[-1]])
        self.theta = tf.Variable(zeros, trainable=False)
        num_slots = {"sgd": 0, "rmsprop": 1, "adam": 2}[optimizer]
        self.slots = [tf.Variable(zeros, trainable=False) for _ in range(num_slots)]
        self.lr = tf.Variable(zeros, trainable=False)  # per element
        self.l2 = tf.Variable(zeros, trainable=False)  # per element, 0 on biases
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.alive = tf.Variable(tf.ones([k], tf.bool), trainable=False)
        self.keep_threshold = tf.Variable(tf.zeros([k * arch.num_units], tf.int32), trainable=False)
        self.keep_scale = tf.Variable(tf.ones([k]), trainable=False)
        self.seed = tf.Variable(0, dtype=tf.int64, trainable=False)
        images = tf.TensorSpec([None, *arch.input_shape], tf.float32)
        labels = tf.TensorSpec([None], tf.int64)
        self._epoch = tf.function(self._train_epoch, input_signature=[
            images, labels, tf.TensorSpec([None, k, None], tf.int32), tf.TensorSpec([], tf.int64)])
        self._evaluate = tf.function(self._evaluate_chunk, input_signature=[
            images, labels, tf.TensorSpec([k, None], tf.int32)])

    # -- parameters: released rows (K, P) <-> the stacked flat vector
    def _stacked(self, per_net: np.ndarray, varname: str) -> np.ndarray:
        """(K, *shape) per-net values of one tensor -> its stacked form."""
        if "/conv2d" in varname and varname.endswith("kernel:0"):
            return np.moveaxis(per_net, 0, 3).reshape(per_net.shape[1:4] + (-1,))
        if "/conv2d" in varname:
            return per_net.reshape(-1)
        return per_net

    def set_flat(self, rows: np.ndarray) -> None:
        self.theta.assign(rows[self.net_of_np, self.column_of])

    def get_flat(self) -> np.ndarray:
        rows = np.zeros((self.k, num_parameters(self.arch)), np.float32)
        rows[self.net_of_np, self.column_of] = self.theta.numpy()
        return rows

    def _tensors(self, theta) -> dict[str, object]:
        import tensorflow as tf

        return {
            name: tf.reshape(theta[a:b], shape)
            for name, shape, a, b in zip(self.names, self.shapes, self.offsets, self.offsets[1:])
        }

    def _per_net(self, values):
        """The stacked output-channel vector (K * units,) of a per-net vector (K,)."""
        import tensorflow as tf

        return tf.repeat(values, self.arch.num_units)

    # -- the network
    def _forward(self, tensors, x, training, step):
        """Logits (B, K, classes). Dropout keeps 0/1 masks on the activations and folds its 1/(1-rate)
        scale into the next layer's kernel (same function, fewer full-size element-wise passes)."""
        import tensorflow as tf

        arch = self.arch
        dropout = training and self.has_dropout
        h = x
        for layer in range(arch.num_layers):
            name = f"sequential/conv2d{f'_{layer}' if layer else ''}"
            kernel = tensors[f"{name}/kernel:0"]
            if dropout and layer:
                kernel = kernel * self._per_net(self.keep_scale)
            h = self.activation(tf.nn.conv2d(h, kernel, arch.stride, arch.padding.upper()) + tensors[f"{name}/bias:0"])
            if dropout:
                seed = tf.stack([self.seed, step * arch.num_layers + layer])
                h = h * self._keep_mask(tf.shape(h), seed)
        h = tf.reshape(tf.reduce_mean(h, axis=[1, 2]), [-1, self.k, arch.num_units])
        kernel = tensors["sequential/dense/kernel:0"]
        if dropout:
            kernel = kernel * tf.reshape(self.keep_scale, [self.k, 1, 1])
        return tf.einsum("bku,kuc->bkc", h, kernel) + tensors["sequential/dense/bias:0"]

    def _keep_mask(self, shape, seed):
        """0/1 float mask: an element is kept when its 8-bit Philox integer >= rate * 256 (one
        generated 32-bit word gives four masks; generation dominates the cost of dropout)."""
        import tensorflow as tf

        channels = self.k * self.arch.num_units
        words = -(-channels // 4)
        bits = tf.random.stateless_uniform(
            tf.concat([shape[:-1], [words]], 0), seed, minval=None, maxval=None, dtype=tf.uint32)
        bits = tf.reshape(tf.bitcast(bits, tf.uint8), tf.concat([shape[:-1], [4 * words]], 0))
        if 4 * words != channels:
            bits = bits[..., :channels]
        return tf.cast(bits >= tf.cast(self.keep_threshold, tf.uint8), tf.float32)

    def _inputs(self, x, idx):
        """Per-net images (B, H, W, K * channels) from absolute indices (K, B)."""
        import tensorflow as tf

        images = tf.transpose(tf.gather(x, idx), [1, 2, 3, 0, 4])  # (B, H, W, K, C)
        shape = tf.shape(images)
        return tf.reshape(images, [shape[0], shape[1], shape[2], self.k * self.arch.channels])

    # -- one epoch in one graph
    def _train_epoch(self, x, y, idx, epoch):
        import tensorflow as tf

        for i in tf.range(tf.shape(idx)[0]):
            self._step(x, y, idx[i], epoch * 1_000_000 + tf.cast(i, tf.int64))

    def _step(self, x, y, idx, step):
        import tensorflow as tf

        images, labels = self._inputs(x, idx), tf.transpose(tf.gather(y, idx))
        theta = tf.convert_to_tensor(self.theta)
        with tf.GradientTape() as tape:
            tensors = self._tensors(theta)
            tape.watch(list(tensors.values()))
            logits = self._forward(tensors, images, True, step)
            ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits), axis=0)
            total = tf.reduce_sum(tf.where(self.alive, ce, 0.0))
        grads = tape.gradient(total, list(tensors.values()))
        # Keras' L2 term l2 * sum(w**2): its value joins the loss, its gradient is 2 * l2 * w.
        grad = tf.concat([tf.reshape(g, [-1]) for g in grads], 0) + 2.0 * self.l2 * theta
        loss = ce + tf.math.unsorted_segment_sum(self.l2 * tf.square(theta), self.net_of, self.k)
        self.iterations.assign_add(1)
        if self.optimizer == "sgd":
            new = theta - self.lr * grad
        elif self.optimizer == "rmsprop":
            (v,) = self.slots
            v.assign(RMSPROP_RHO * v + (1 - RMSPROP_RHO) * tf.square(grad))
            new = theta - self.lr * grad / tf.sqrt(v + RMSPROP_EPSILON)
        else:
            m, v = self.slots
            t = tf.cast(self.iterations, tf.float32)
            alpha = self.lr * (tf.sqrt(1 - tf.pow(ADAM_BETA_2, t)) / (1 - tf.pow(ADAM_BETA_1, t)))
            m.assign_add((grad - m) * (1 - ADAM_BETA_1))
            v.assign_add((tf.square(grad) - v) * (1 - ADAM_BETA_2))
            new = theta - m * alpha / (tf.sqrt(v) + ADAM_EPSILON)
        # a net is finite when the sum of 0 * its entries is (0 * inf and 0 * nan are nan)
        finite = tf.math.is_finite(tf.math.unsorted_segment_sum(new * 0.0, self.net_of, self.k))
        alive = self.alive & tf.math.is_finite(loss) & finite
        self.alive.assign(alive)
        # a diverged net is zeroed and frozen so that it cannot poison its neighbours
        self.theta.assign(tf.where(tf.gather(alive, self.net_of), new, 0.0))

    def _evaluate_chunk(self, x, y, idx):
        """Sum of cross-entropies and number of correct predictions per net on images idx (K, B)."""
        import tensorflow as tf

        tensors = self._tensors(tf.convert_to_tensor(self.theta))
        logits = self._forward(tensors, self._inputs(x, idx), False, tf.constant(0, tf.int64))
        labels = tf.transpose(tf.gather(y, idx))
        ce = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits), axis=0)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, -1), labels), tf.float32), axis=0)
        return ce, correct

    def _metrics(self, x, y, idx: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
        import tensorflow as tf

        ce, correct = np.zeros(self.k), np.zeros(self.k)
        for start in range(0, idx.shape[1], chunk):
            c, k = self._evaluate(x, y, tf.constant(idx[:, start : start + chunk], tf.int32))
            ce += c.numpy()
            correct += k.numpy()
        reg = np.bincount(self.net_of_np, self.l2.numpy() * np.square(self.theta.numpy()), self.k)
        return ce / idx.shape[1] + reg, correct / idx.shape[1]

    # -- the protocol
    def train(self, runs: list[_Run], tensors, steps: list[int], batch_size: int, bar):
        """Train the stack; per run the list of (step, flat parameters, metrics) checkpoints."""
        import tensorflow as tf

        x_train, y_train, x_test, y_test = tensors
        configs = [r.config for r in runs]
        self.set_flat(np.stack([initial_parameters(self.arch, c) for c in configs]))
        for slot in self.slots:
            slot.assign(tf.zeros_like(slot))
        self.iterations.assign(0)
        self.alive.assign(tf.ones([self.k], tf.bool))
        per_net = lambda column: np.array([float(c[column]) for c in configs], np.float32)[self.net_of_np]
        self.lr.assign(per_net("config.learning_rate"))
        self.l2.assign(per_net("config.l2reg") * self.is_kernel)
        rates = np.array([float(c["config.dropout"]) for c in configs])
        threshold = np.minimum(np.round(rates * DROPOUT_LEVELS), DROPOUT_LEVELS - 1).astype(np.int32)
        self.keep_threshold.assign(np.repeat(threshold, self.arch.num_units))
        self.keep_scale.assign(DROPOUT_LEVELS / (DROPOUT_LEVELS - threshold))
        self.seed.assign(runs[0].seed)  # dropout masks: Philox key (first run's seed, step and layer)
        subsets = np.stack([r.subset for r in runs])
        test_idx = np.broadcast_to(np.arange(len(y_test)), (self.k, len(y_test)))
        chunk = max(256, 8192 // self.k)
        rows: list[list] = [[] for _ in runs]
        stopped = np.zeros(self.k, bool)
        for epoch in range(steps[-1] + 1):
            if epoch in steps:
                flat = self.get_flat()
                train_loss, train_acc = self._metrics(x_train, y_train, subsets, chunk)
                test_loss, test_acc = self._metrics(x_test, y_test, test_idx, chunk)
                finite = np.isfinite(flat).all(axis=1) & np.isfinite(train_loss) & np.isfinite(test_loss)
                stopped |= ~self.alive.numpy() | ~finite
                for j in np.flatnonzero(~stopped):
                    rows[j].append((epoch, flat[j], dict(
                        test_accuracy=float(test_acc[j]), test_loss=float(test_loss[j]),
                        train_accuracy=float(train_acc[j]), train_loss=float(train_loss[j]))))
                self.alive.assign(~stopped)
            if epoch == steps[-1] or stopped.all():
                break
            order = np.stack([epoch_batches(r.seed, epoch, len(r.subset), batch_size) for r in runs], axis=1)
            idx = subsets[np.arange(self.k)[None, :, None], order]  # (batches, K, batch_size)
            self._epoch(x_train, y_train, tf.constant(idx, tf.int32), tf.constant(epoch, tf.int64))
            stopped |= ~self.alive.numpy()
            bar.update(self.k)
        return rows
