"""Where generation's time goes: training, dropout, checkpoint evaluation, data, shard writing and merge.

For the paper's CNN and each architecture variant (zoolib.generate.ARCHITECTURES) of one dataset of a profile
(default: the default profile's Fashion-MNIST collections), one stack of nets as generation trains it: the
profile's own hyperparameter draws (`zoolib.generate.zoo_configs`; the stack group whose train fraction is
nearest the zoo's mean), `zoolib.train.train_nets` with generation's stack size in one single-threaded,
deterministic process (`zoolib.train.configure_worker`, as a Dask worker runs), then the shard written and
merged into a zoo (`zoolib.generate._write_shard`, `_merge`) in a temporary folder. The stack trains twice,
with its sampled dropout and with dropout 0; timers around zoolib.train's own functions split each run:
- train: `_FastEngine.train_epoch` without dropout, less the batch orders (the in-graph image gather
  counts here);
- dropout: the same with the sampled dropout, minus train;
- eval: `_FastEngine.checkpoint` (loss and accuracy on the run's training subset and on the test set);
- data: the dataset's loading (once per zoo, shared by its nets), training subsets and batch orders,
  initial parameters (Keras build_model), and what else `train_nets` does outside the engine (tensors,
  assembling rows);
- write: the shard written and merged, per net.
Per net on one worker, the measured epochs and checkpoints are scaled to the profile's schedule (its
epochs and number of checkpoints): `s_per_net` is one worker's seconds per net (generation runs one worker
per core). Tracing the graphs (two small warm-up runs; generation pays it once per worker and stack shape) is
printed apart, not in the shares.
The last line is machine-readable (the paper's CNN). `--quick`: the paper's CNN only, on a few images.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from zoolib import generate, train
from zoolib.cnn import num_parameters
from zoolib.profiles import ARCHS_SUFFIX, resolve

PARTS = ("train", "dropout", "eval", "data", "write")
EPOCHS = 1  # timed epochs per stack (scaled to the schedule's epochs)
QUICK_IMAGES = (2048, 512)  # training and test images of --quick
DRAWS = 256  # hyperparameter draws searched for the timed stack
WARM_UP_BATCHES = (2, 3)  # training batches of the two warm-up runs that trace the graphs


@contextlib.contextmanager
def timers(totals: defaultdict):
    """Accumulate seconds spent in zoolib.train's functions into `totals` while the block runs."""
    wrapped = [(train, "training_subset", "subsets"), (train, "epoch_batches", "batch_orders"),
               (train, "initial_parameters", "init"), (train._FastEngine, "checkpoint", "eval"),
               (train._FastEngine, "train_epoch", "epoch")]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in wrapped]

    def timed(function, bucket):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[bucket] += time.perf_counter() - start
        return call

    for (owner, name, bucket), (_, _, function) in zip(wrapped, originals):
        setattr(owner, name, timed(function, bucket))
    try:
        yield totals
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


def stack_configs(spec: generate.ZooSpec, num_train: int, stack: int):
    """`stack` runs of one stack group of the spec's draws (extended to DRAWS runs, so that a full stack exists),
    the group's train fraction nearest the mean."""
    configs = generate.zoo_configs(dataclasses.replace(spec, nets=max(spec.nets, DRAWS)), num_train)
    groups = [g for g in train.stack_groups(configs) if len(g) >= stack]
    if not groups:
        raise SystemExit(f"{spec.arch_name}: no stack group of {stack} runs among {len(configs)} draws; "
                         "give a smaller --stack")
    mean = configs["config.train_fraction"].astype(float).mean()
    group = min(groups, key=lambda g: abs(float(configs["config.train_fraction"].iloc[g[0]]) - mean))
    return configs.iloc[group[:stack]].reset_index(drop=True)


def stacks_of_zoo(spec: generate.ZooSpec, data) -> tuple[Counter, int]:
    """How generating the spec's zoo stacks its nets: stacks by size, and the distinct stacked graphs
    (stack size, optimizer, activation, dropout: what `zoolib.train.StackSpec` varies here) a worker traces.
    Shards as `zoolib.generate` plans them, stacks within a shard as `zoolib.train.train_nets` chunks them."""
    configs = generate.zoo_configs(spec, len(data.y_train))
    sizes, shapes = Counter(), set()
    for positions, _ in generate._shard_plan(spec, configs, data):
        shard = configs.iloc[positions]
        for group in train.stack_groups(shard):
            for start in range(0, len(group), spec.stack):
                chunk = shard.iloc[group[start : start + spec.stack]]
                sizes[len(chunk)] += 1
                shapes.add((len(chunk), chunk["config.optimizer"].iloc[0], chunk["config.activation"].iloc[0],
                            bool((chunk["config.dropout"] > 0).any())))
    return sizes, len(shapes)


def timed_run(configs, data, epochs: int, arch) -> tuple[dict, tuple]:
    """One `train_nets` call with checkpoints 0..epochs under the timers: (seconds by part, its output)."""
    totals = defaultdict(float)
    with timers(totals):
        start = time.perf_counter()
        out = train.train_nets(configs, data, list(range(epochs + 1)), arch=arch, stack=len(configs), progress=False)
        totals["total"] = time.perf_counter() - start
    return totals, out


def write_and_merge(spec: generate.ZooSpec, configs, data, weights, metrics) -> float:
    """Seconds to write the stack's shard and merge it into a zoo (generation's functions, a temporary folder)."""
    spec = dataclasses.replace(spec, nets=len(configs), shard_size=len(configs))
    plan = generate._shard_plan(spec, configs, data)
    with tempfile.TemporaryDirectory(prefix="bench_generation-") as tmp:
        out = Path(tmp) / "zoo"
        shard_dir = Path(tmp) / "zoo.shards"
        shard_dir.mkdir()
        start = time.perf_counter()
        generate._write_shard(shard_dir, plan[0][1], weights, metrics)
        generate._merge(out, spec, data, plan, shard_dir, elapsed=0.0)
        return time.perf_counter() - start


def breakdown(spec: generate.ZooSpec, data, load_s: float, epochs: int) -> dict:
    """Seconds per net of one worker by part (PARTS) for the spec's schedule, their sum s_per_net, and what
    tracing costs (per graph; the zoo's stack sizes and distinct graphs; per net if every worker traces each).
    One stack of spec.stack nets is timed."""
    stack = spec.stack
    configs = stack_configs(spec, len(data.y_train), stack)
    still = configs.assign(**{"config.dropout": 0.0})
    start = time.perf_counter()
    for batches in WARM_UP_BATCHES:  # two shapes, so that TensorFlow traces shape-generic graphs the timed runs reuse
        small = data.subset(batches * train.BATCH_SIZE, batches * train.BATCH_SIZE // 4)
        for c in (configs, still):
            train.train_nets(c.assign(**{"config.train_fraction": 1.0}), small, [0, 1], arch=spec.arch, stack=stack,
                             progress=False)
    trace = time.perf_counter() - start
    plain, _ = timed_run(still, data, epochs, spec.arch)
    noisy, (weights, metrics) = timed_run(configs, data, epochs, spec.arch)
    write = write_and_merge(spec, configs, data, weights, metrics)
    k, checkpoints = len(configs), epochs + 1

    def per_epoch(t):  # training seconds per net and epoch, batch orders left out
        return (t["epoch"] - t["batch_orders"]) / (k * epochs)

    outside = noisy["total"] - noisy["epoch"] - noisy["eval"] - noisy["init"] - noisy["subsets"]
    parts = {
        "train": per_epoch(plain) * spec.epochs,
        "dropout": (per_epoch(noisy) - per_epoch(plain)) * spec.epochs,
        "eval": noisy["eval"] / (k * checkpoints) * len(spec.checkpoints),
        "data": (load_s / spec.nets + (noisy["subsets"] + noisy["init"] + outside) / k
                 + noisy["batch_orders"] / (k * epochs) * spec.epochs),
        "write": write / k,
    }
    sizes, shapes = stacks_of_zoo(spec, data)
    per_shape = trace / 2  # the warm-ups traced two stacked graphs (with and without dropout), as a worker does
    return {**parts, "s_per_net": sum(parts.values()), "init": noisy["init"] / k, "measured_s": noisy["total"],
            "train_fraction": float(configs["config.train_fraction"].iloc[0]), "trace_s": per_shape,
            "stack_sizes": dict(sorted(sizes.items())), "shapes": shapes,
            "trace_per_net": shapes * per_shape * (os.cpu_count() or 1) / spec.nets}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", help="the profile whose schedules and draws are timed (default: the default one)")
    parser.add_argument("--dataset", default="fashion_mnist", help="dataset of the collections (default fashion_mnist)")
    parser.add_argument("--stack", type=int,
                        help="nets per timed stack (default: generation's, zoolib.train.STACK)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"timed epochs per stack (default {EPOCHS})")
    parser.add_argument("--quick", action="store_true",
                        help=f"the paper's CNN only, {QUICK_IMAGES[0]} training and {QUICK_IMAGES[1]} test images")
    args = parser.parse_args(argv)
    train.configure_worker(1)
    profile = resolve(args.profile, generated=True)
    specs = {"cnn": generate.collection_specs(profile, args.dataset, stack=args.stack)[""]}
    if not args.quick:
        specs.update(generate.collection_specs(profile, args.dataset + ARCHS_SUFFIX, stack=args.stack))
    start = time.perf_counter()
    data = generate.load_spec_data(specs["cnn"])
    load_s = time.perf_counter() - start
    if args.quick:
        data = data.subset(*QUICK_IMAGES)
    print(f"profile {profile.name}, {args.dataset} ({data.source}: {len(data.y_train)} training, {len(data.y_test)} "
          f"test images); stack {specs['cnn'].stack}, {args.epochs} timed epoch(s), scaled to each collection's schedule; "
          f"1 worker thread; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    for name, spec in specs.items():
        results[name] = r = breakdown(spec, data, load_s, args.epochs)
        shares = " ".join(f"{p} {r[p]:.2f} s ({100 * r[p] / r['s_per_net']:.0f} %)" for p in PARTS)
        print(f"{name} ({num_parameters(spec.arch):,} parameters; {spec.epochs} epochs, {len(spec.checkpoints)} "
              f"checkpoints, train fraction {r['train_fraction']}): {r['s_per_net']:.2f} s per net per worker = "
              f"{shares}; of data, initial parameters {r['init']:.2f} s; timed run {r['measured_s']:.1f} s", flush=True)
        print(f"  {spec.nets} nets of {name} train in stacks of sizes {r['stack_sizes']} ({{size: stacks}}), "
              f"{r['shapes']} distinct graphs; tracing {r['trace_s']:.1f} s per graph and worker: up to "
              f"{r['trace_per_net']:.2f} s per net if each of {os.cpu_count()} workers traces each (not in the shares)",
              flush=True)
    print(f"load average at end {os.getloadavg()[0]:.1f} (a shared machine makes these figures indicative)")
    cnn = results["cnn"]
    print("generation_breakdown " + " ".join(f"{p}_pct={100 * cnn[p] / cnn['s_per_net']:.1f}" for p in PARTS)
          + f" s_per_net={cnn['s_per_net']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
