"""Trainer throughput: zoolib.train against the paper's method (Keras model.fit per net on tf.data).

Same data (Fashion-MNIST when installed, else random images of its shape), same run, batch 512, the
same work per net (EPOCHS epochs of Adam, then one checkpoint: loss and accuracy on the training and
the test set):
- the paper's method: one net at a time, model.fit on a shuffled, batched tf.data pipeline, with
  dropout, then model.evaluate; TensorFlow's default threads (all cores);
- ours: `train_nets` exactly as generation runs it (the first lines printed say how: engine, stack,
  seed policy): one single-threaded, deterministic worker process per core (zoolib.train.configure_worker),
  each training STACK nets of one seed in one graph (the paper's shared seed: they share the gathered
  batches and the dropout mask stream), with dropout and without, and stack=1 with dropout for
  reference; counted end to end (parameter init and checkpoint evaluation included).
Rounds interleave the two methods and each figure is the best of its rounds, which tames the noise of
a shared machine.
Throughput is in image-nets per second (training images seen, summed over nets). The fp32 matmul rate
of the machine (a big tf.matmul) puts the no-dropout figure in context (~0.70 MFLOP per 28x28 image).
The last line is machine-readable. `--rounds 1 --epochs 1 --train-images 10240` is a quick look.

`--stacks 64,256,1024` measures the GPU path instead: one process on the default device (a GPU when
TensorFlow sees one) trains stacks of K shared-seed nets for `--epochs` epochs each and prints
image-nets/s per K and the projected time of one dataset's paper zoo (30,000 nets, 86 epochs).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd

from zoolib.hparams import DEFAULT_SEED_POLICY
from zoolib.train import ENGINE, STACK

EPOCHS = 2  # timed epochs per net
NETS_PER_WORKER = STACK
TRAIN_MFLOP_PER_IMAGE = 0.70  # 28x28 input
DROPOUT = 0.3


def load_data():
    """Fashion-MNIST if this machine has its files (no download), else random images of the same shape."""
    from zoolib.data import load_dataset
    from zoolib.files import datasets_dir

    if any(os.path.isdir(d) for d in ("/usr/share/datasets/fashion-mnist", datasets_dir() / "fashion_mnist")):
        return load_dataset("fashion_mnist"), "Fashion-MNIST"
    else:
        from dataclasses import dataclass

        @dataclass
        class RandomData:
            x_train: np.ndarray
            y_train: np.ndarray
            x_test: np.ndarray
            y_test: np.ndarray

        rng = np.random.default_rng(0)
        images = lambda n: rng.uniform(-1, 1, (n, 28, 28, 1)).astype(np.float32)  # noqa: E731
        labels = lambda n: rng.integers(0, 10, n)  # noqa: E731
        return RandomData(images(60000), labels(60000), images(10000), labels(10000)), "random (Fashion-MNIST absent)"


def configs(n: int, dropout: float, seed: int) -> pd.DataFrame:
    """n Adam runs; one training seed for all (generation's shared seed policy)."""
    return pd.DataFrame([{
        "config.optimizer": "adam", "config.learning_rate": 1e-3, "config.l2reg": 1e-5,
        "config.dropout": dropout, "config.init_std": 0.05, "config.w_init": "he_normal",
        "config.b_init": "zeros", "config.activation": "relu", "config.train_fraction": 1.0,
        "config.random_seed": seed, "modeldir": f"bench/seed{seed}/run{i}",
    } for i in range(n)])


PLAN = ((DROPOUT, STACK), (0.0, STACK), (DROPOUT, 1))  # (dropout, stack) of our measurements
ROUNDS = 3  # each figure is the best of ROUNDS, rounds interleave Keras and ours
WAIT_S = 300  # give up on workers that take longer than this for one step of the plan


def _worker(rank: int, barrier, results, args) -> None:
    from dataclasses import replace

    from zoolib.train import configure_worker, train_nets

    configure_worker(1)
    data = _data(args)
    small = replace(data, x_train=data.x_train[:1024], y_train=data.y_train[:1024])
    for dropout, stack in PLAN:  # trace every graph once, on a few images
        train_nets(configs(stack, dropout, 1000 + rank), small, [1], stack=stack, engine=ENGINE, progress=False)
    for round_ in range(args.rounds):
        for dropout, stack in PLAN:
            barrier.wait()
            start = time.perf_counter()
            train_nets(configs(NETS_PER_WORKER, dropout, rank), data, [args.epochs], stack=stack, engine=ENGINE,
                       progress=False)
            results.put(time.perf_counter() - start)


def _data(args):
    from dataclasses import replace

    data, _ = load_data()
    if args.train_images:
        data = replace(data, x_train=data.x_train[: args.train_images], y_train=data.y_train[: args.train_images])
    return data


class KerasFit:
    """The paper's method: model.fit of one net on a shuffled, batched tf.data pipeline, with dropout."""

    def __init__(self, data, epochs: int):
        import keras
        import tensorflow as tf

        from zoolib.cnn import build_model

        self.model = build_model(dropout=DROPOUT, l2reg=1e-5, seed=0)
        self.model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                           loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        batches = lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)).batch(512)  # noqa: E731
        self.ds = (tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
                   .shuffle(len(data.y_train), seed=0).batch(512, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
        self.train_eval, self.test_eval = batches(data.x_train, data.y_train), batches(data.x_test, data.y_test)
        self.model.fit(self.ds, epochs=1, verbose=0)  # trace
        self.model.evaluate(self.test_eval, verbose=0)
        self.epochs = epochs

    def seconds(self) -> float:
        """`epochs` epochs, then the checkpoint's evaluation on the training and the test set."""
        start = time.perf_counter()
        self.model.fit(self.ds, epochs=self.epochs, verbose=0)
        self.model.evaluate(self.train_eval, verbose=0)
        self.model.evaluate(self.test_eval, verbose=0)
        return time.perf_counter() - start


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    """fp32 matmul rate of this machine with TensorFlow's default threads."""
    import tensorflow as tf

    a, b = tf.random.normal([n, n]), tf.random.normal([n, n])
    tf.matmul(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        c = tf.matmul(a, b)
    c.numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def stack_rates(args) -> None:
    """The stacked engine in this process for each K of --stacks (the GPU path)."""
    import tensorflow as tf

    from zoolib.hparams import SPACE
    from zoolib.train import train_nets

    tf.config.experimental.enable_op_determinism()
    fraction = float(np.mean(SPACE["train_fraction"][1]))  # Table 1's fractions are drawn uniformly
    data = _data(args)
    images_per_epoch = len(data.y_train) // 512 * 512
    device = ", ".join(d.name for d in tf.config.list_physical_devices("GPU")) or "CPU (no GPU visible)"
    print(f"stacked engine on {device} (TensorFlow {tf.__version__}, built with CUDA: {tf.test.is_built_with_cuda()}); "
          f"data: {images_per_epoch} training images per epoch; adam, dropout {DROPOUT}")
    for k in (int(v) for v in args.stacks.split(",")):
        train_nets(configs(k, DROPOUT, 0), data, [1], stack=k, progress=False)  # trace
        start = time.perf_counter()
        train_nets(configs(k, DROPOUT, 0), data, [args.epochs], stack=k, progress=False)
        rate = k * args.epochs * images_per_epoch / (time.perf_counter() - start)
        hours = 30_000 * 86 * fraction * 60_000 / rate / 3600
        print(f"K={k}: {rate:,.0f} image-nets/s; a 30,000-net, 86-epoch zoo of 60k-image data in ~{hours:.1f} h "
              f"(mean train fraction {fraction:.3f})", flush=True)


def main() -> None:
    import warnings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"interleaved rounds (default {ROUNDS})")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"timed epochs per net (default {EPOCHS})")
    parser.add_argument("--train-images", type=int, help="use the first N training images (default: all)")
    parser.add_argument("--stacks", help="comma-separated K: measure the stacked engine in-process (GPU path)")
    args = parser.parse_args()
    if args.stacks:
        stack_rates(args)
        return
    warnings.filterwarnings("ignore", message=".*shuffle=True.*")
    workers = os.cpu_count() or 1
    _, source = load_data()
    data = _data(args)
    images_per_epoch = len(data.y_train) // 512 * 512
    print(f"generation's configuration, measured here: engine={ENGINE}, stack={STACK}, seeds={DEFAULT_SEED_POLICY}, "
          f"{workers} worker processes x 1 thread, op determinism on (zoolib.train.configure_worker)")
    print(f"data: {source}, {images_per_epoch} training images per epoch; {workers} cores; "
          f"load average at start {os.getloadavg()[0]:.1f}; best of {args.rounds} interleaved rounds")
    peak = max(matmul_gflops() for _ in range(3))
    print(f"fp32 matmul (2048^2, default threads, best of 3): {peak:.1f} GFLOP/s")
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, barrier, results, args), daemon=True) for r in range(workers)]
    for p in procs:
        p.start()
    keras_fit = KerasFit(data, args.epochs)
    keras_times, our_times = [], {item: [] for item in PLAN}
    for _ in range(args.rounds):
        keras_times.append(keras_fit.seconds())
        for item in PLAN:
            barrier.wait(timeout=WAIT_S)  # raises when a worker died
            our_times[item].append(max(results.get(timeout=WAIT_S) for _ in procs))
    for p in procs:
        p.join()
        if p.exitcode:
            sys.exit(f"benchmark worker failed with exit code {p.exitcode}")
    keras_rate = args.epochs * images_per_epoch / min(keras_times)
    print(f"paper's method, Keras model.fit on tf.data, dropout {DROPOUT}: {keras_rate:,.0f} image-nets/s")
    rates = {}
    for (dropout, stack), times in our_times.items():
        rates[dropout, stack] = rate = workers * NETS_PER_WORKER * args.epochs * images_per_epoch / min(times)
        gflops = rate * TRAIN_MFLOP_PER_IMAGE / 1e3
        print(f"zoolib.train, {workers} processes x 1 thread, stack={stack}, dropout {dropout}: {rate:,.0f} "
              f"image-nets/s = {rate / keras_rate:.2f}x Keras fit, {gflops:.1f} GFLOP/s = "
              f"{100 * gflops / peak:.0f} % of the matmul rate")
    print(f"load average at end {os.getloadavg()[0]:.1f} (absolute numbers are noisy on a shared machine)")
    best = rates[DROPOUT, STACK]
    print(f"train_throughput ratio_vs_keras_fit={best / keras_rate:.2f} "
          f"ours_img_nets_per_s={best:.0f} keras_img_nets_per_s={keras_rate:.0f}")


if __name__ == "__main__":
    main()
