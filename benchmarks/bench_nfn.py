"""Time of the NFN benchmark's two predictors at the released CIFAR10-GS size (12,000 / 3,000 / 15,000 nets).

With --zoo DIR (a released zoo with its split file, or a released-like one: benchmarks/released_like.py),
the split (zoolib.nfn.nfn_split) and StatNN's 56 statistics of its 30,000 members are computed from the
memory map first; without it, a synthetic 56-column feature matrix of those sizes stands in (accuracy a
noisy logistic function of the columns). Then zoolib.nfn.StatNN as published (50 epochs, batch 8, the
epoch with the best val tau kept) and the GBM random search on val tau (--gbm-search settings) are
timed: wall and CPU seconds, and the load average, which says how busy the machine was.
The last line is `nfn_predictors features_s=.. statnn_s=.. statnn_epoch_s=.. gbm_s=.. load=..`.

    python benchmarks/bench_nfn.py [--zoo DIR] [--epochs 50] [--gbm-search 8]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from zoolib import nfn
from zoolib.metrics import kendall_tau
from zoolib.zoo import read_zoo

SIZES = {"train": 12_000, "val": 3_000, "test": 15_000}


def synthetic(seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    X = {p: rng.normal(size=(n, 56)).astype(np.float32) for p, n in SIZES.items()}
    w = rng.normal(size=56) / 8
    return X, {p: 1 / (1 + np.exp(-(X[p] @ w) + rng.normal(0, 0.3, len(X[p])))) for p in SIZES}


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", help="zoo folder (default: a synthetic feature matrix)")
    parser.add_argument("--epochs", type=int, default=50, help="StatNN epochs (50 as published)")
    parser.add_argument("--gbm-search", type=int, default=8, help="GBM settings tried on val tau")
    args = parser.parse_args()
    wall, cpu = clock()
    if args.zoo:
        zoo = read_zoo(args.zoo)
        split = nfn.nfn_split(zoo)
        print(f"{args.zoo}: {split.label()}; sizes {split.sizes}", flush=True)
        X = {p: nfn.statnn_features(zoo, split.parts[p]).to_numpy() for p in nfn.PARTS}
        y = {p: zoo.metrics["test_accuracy"].to_numpy(float)[split.parts[p]] for p in nfn.PARTS}
    else:
        X, y = synthetic()
        print(f"synthetic 56-column features, sizes {tuple(SIZES.values())}", flush=True)
    features_s = time.perf_counter() - wall
    wall, cpu = clock()
    model = nfn.StatNN(epochs=args.epochs).fit(X["train"], y["train"], X["val"], y["val"])
    statnn_tau = kendall_tau(y["test"], model.predict(X["test"]))
    statnn_s, statnn_cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"StatNN {args.epochs} epochs: {statnn_s:.0f} s wall, {statnn_cpu:.0f} s CPU; best epoch "
          f"{model.best_epoch_ + 1}; test tau {statnn_tau:.3f}", flush=True)
    wall, cpu = clock()
    gbm, chosen = nfn.fit_gbm(X, y, args.gbm_search)
    gbm_tau = kendall_tau(y["test"], gbm.predict(X["test"]))
    gbm_s, gbm_cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"GBM, {chosen}: {gbm_s:.0f} s wall, {gbm_cpu:.0f} s CPU; test tau {gbm_tau:.3f}", flush=True)
    print(f"nfn_predictors features_s={features_s:.1f} statnn_s={statnn_s:.0f} "
          f"statnn_epoch_s={statnn_s / args.epochs:.1f} gbm_s={gbm_s:.0f} load={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
