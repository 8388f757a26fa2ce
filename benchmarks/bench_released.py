"""Time and peak memory of the book's steps on ONE zoo of the released size (270,000 x 4970 float32, ~5 GiB).

The zoo is a synthetic released-like one (benchmarks/released_like.py: made once from a tiny
generated zoo, under data/bench/released-like/ unless --zoo names one, e.g. a downloaded released
zoo). Each step runs in its own subprocess; reported are its seconds, its peak resident memory
(VmHWM, memory-mapped pages included) and the peak of the summed resident memory of it and its
Dask worker processes (tree_peak_gib, sampled every 0.2 s; what a machine must hold):
- features: zoolib.features.compute_features, wstats-layers:0,1,2,3 over every row, from the map;
- table2: zoolib.experiments.table2 for this one collection on a REDUCED grid (--predictors x
  --inputs; default the linear model, GBM and DNN on `wstats-layers:0,1,2,3`, where the book's page
  runs 14 inputs x 3 predictors), with --preset (default the paper's settings), its cells as Dask
  tasks (--workers; default one process per core). The heaviest cell, GBM on the 4,970 raw
  `weights`, is left out by default (measured: 40 CPU-minutes, 80 min on a shared 2-core machine,
  peak 6.3 GiB, paper settings with the capped histogram pool); measure it with
  `--steps table2 --predictors gbm --inputs weights`;
- nfn: the members of the NFN split (final-epoch rows, zoolib.nfn.nfn_split) loaded as zoolib does
  (zoolib.zoo.read_rows from the map) against the naive way of later work's loaders (np.load without
  mmap, then fancy indexing), in the same run; the naive side reads the whole file into memory, or
  with --naive-rows N only its first N rows, its time scaled to the whole file (said so in the output);
- early (not by default): zoolib.experiments.early_checkpoints, GBM on wstats-layers:0,1,2,3.
The last line is `released_scale features_s=.. features_peak_gib=.. table2_s=.. table2_peak_gib=..
nfn_s=.. nfn_peak_gib=.. naive_s=.. naive_peak_gib=.. nfn_speedup=.. nfn_memory_ratio=..`.

    python benchmarks/bench_released.py [--zoo DIR] [--steps features table2 nfn early] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from zoolib.files import data_dir
from zoolib.zoo import WEIGHTS_FILE, read_zoo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_features import warm_page_cache  # noqa: E402
from released_like import write_released_like  # noqa: E402

STEPS = ("features", "table2", "nfn", "early")


def peak_rss_gib() -> float:
    """This process's peak resident memory (memory-mapped file pages included)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 2**20
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def ensure_zoo(path: Path) -> None:
    """Make the synthetic released-like fashion_mnist zoo at `path` unless a zoo is there."""
    if (path / WEIGHTS_FILE).is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    if free < 8 * 2**30:
        sys.exit(f"bench_released: {path.parent} has {free / 2**30:.1f} GiB free; the zoo needs 5.1 GiB (and some room)")
    source = path.parent / "source-tiny"
    if not (source / WEIGHTS_FILE).is_file():
        print(f"generating a tiny source zoo at {source} (about a minute)", flush=True)
        subprocess.run([sys.executable, "-m", "zoolib.cli", "zoo", "generate", "--profile", "tiny", "--dataset",
                        "fashion_mnist", "--nets", "160", "--workers", "1", "--out", str(source)], check=True)
    t0 = time.perf_counter()
    write_released_like(source, path, "fashion_mnist")
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s", flush=True)


def worker(step: str, path: Path, args: argparse.Namespace) -> dict:
    """One step in this (child) process; returns what it measured."""
    zoo = read_zoo(path)
    if step in ("nfn", "naive"):  # the split's members (row positions), before the clock starts
        from zoolib.nfn import nfn_split

        rows = np.sort(np.concatenate(list(nfn_split(zoo).parts.values())))
    t0 = time.perf_counter()
    out: dict = {}
    if step == "features":
        from zoolib.features import compute_features

        X = compute_features(zoo, "wstats-layers:0,1,2,3", progress=False)
        out["rows"] = len(X)
    elif step == "table2":
        from zoolib.experiments import table2

        table = table2({path.name: zoo}, predictors=args.predictors, inputs=args.inputs, preset=args.preset,
                       n_bootstrap=args.n_bootstrap, workers=args.workers)
        out["cells"] = [{k: row[k] for k in ("predictor", "inputs", "n_train", "r2", "seconds")}
                        for row in table.to_dict("records")]
    elif step == "nfn":
        from zoolib.zoo import read_rows

        members = read_rows(zoo.weights, rows)
        out.update(rows=len(rows), checksum=float(members[:, :50].sum(dtype=np.float64)))
    elif step == "naive":
        if args.naive_rows:  # only the first naive_rows rows: a file of that many rows, read whole
            with open(path / WEIGHTS_FILE, "rb") as f:
                np.lib.format.read_magic(f)
                shape, _, _ = np.lib.format.read_array_header_1_0(f)
                weights = np.fromfile(f, np.float32, count=args.naive_rows * shape[1]).reshape(-1, shape[1])
            rows = rows[rows < args.naive_rows]
        else:
            weights = np.load(path / WEIGHTS_FILE)  # what later work's loaders do: all of it into memory
        members = weights[rows]
        out.update(rows=len(rows), file_rows=len(weights), checksum=float(members[:, :50].sum(dtype=np.float64)))
    elif step == "early":
        from zoolib.experiments import early_checkpoints

        table = early_checkpoints(zoo, predictor="gbm", inputs="wstats-layers:0,1,2,3", epochs=args.epochs,
                                  preset=args.preset, n_bootstrap=args.n_bootstrap, workers=args.workers)
        out["epochs"] = table[["epoch", "n_train", "r2"]].to_dict("records")
    out.update(step=step, seconds=time.perf_counter() - t0, peak_rss_gib=peak_rss_gib())
    return out


def run_step(step: str, path: Path, argv: list[str]) -> dict:
    """Run one step in a child process; adds tree_peak_gib, the peak of the summed resident memory of
    the child and its own children (Dask workers), sampled every 0.2 s."""
    import psutil

    child = subprocess.Popen([sys.executable, __file__, "--zoo", str(path), "--worker", step, *argv],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent, tree_peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        total = 0
        for process in [parent, *parent.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        tree_peak = max(tree_peak, total)
        time.sleep(0.2)
    stdout, stderr = child.communicate()
    if child.returncode:
        sys.exit(f"bench_released: step {step} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["tree_peak_gib"] = max(tree_peak / 2**30, result["peak_rss_gib"])
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, help="a released-size zoo (default: data/bench/released-like/fashion_mnist, made once)")
    parser.add_argument("--steps", nargs="+", default=["features", "table2", "nfn"], choices=STEPS)
    parser.add_argument("--predictors", nargs="+", default=["linear", "gbm", "dnn"])
    parser.add_argument("--inputs", nargs="+", default=["wstats-layers:0,1,2,3"])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--n-bootstrap", type=int, default=1000, help="as the released profile's pages")
    parser.add_argument("--epochs", nargs="+", type=int, default=None, help="early: epochs (default: all 9)")
    parser.add_argument("--workers", type=int, default=None,
                        help="table2/early: Dask worker processes (default one per core; 0: serially in one process)")
    parser.add_argument("--naive-rows", type=int, default=0, help="naive loader on the first N rows only (0: all)")
    parser.add_argument("--worker", choices=STEPS + ("naive",), help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = args.zoo or data_dir() / "bench" / "released-like" / "fashion_mnist"
    if args.worker:
        print(json.dumps(worker(args.worker, path, args)))
        return
    ensure_zoo(path)
    print(f"machine: {len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.2f}; zoo {path}", flush=True)
    argv = ["--predictors", *args.predictors, "--inputs", *args.inputs, "--preset", args.preset,
            "--n-bootstrap", str(args.n_bootstrap), "--naive-rows", str(args.naive_rows)]
    argv += ["--workers", str(args.workers)] if args.workers is not None else []
    argv += ["--epochs", *map(str, args.epochs)] if args.epochs else []
    results = {}
    for step in args.steps:
        if step == "nfn":  # both loaders from a warm page cache, each in its own process
            print(f"page cache: weights.npy read once ({warm_page_cache(path):.1f} GiB/s)", flush=True)
        results[step] = run_step(step, path, argv)
    summary = []
    for step in ("features", "table2", "early"):
        if step in results:
            summary += [f"{step}_s={results[step]['seconds']:.1f}", f"{step}_peak_gib={results[step]['tree_peak_gib']:.2f}"]
    if "nfn" in results:
        ours = results["nfn"]
        naive = run_step("naive", path, argv)
        naive_s = naive["seconds"] * (len(read_zoo(path)) / naive["file_rows"])
        if naive["file_rows"] < len(read_zoo(path)):
            print(f"naive loader run on the first {naive['file_rows']} rows; its time scaled to the whole file, "
                  f"its memory is that of the part (the whole file would need {len(read_zoo(path)) / naive['file_rows']:.1f}x)")
        elif naive["checksum"] != ours["checksum"]:
            sys.exit("bench_released: the naive loader and read_rows gave different rows")
        summary += [f"nfn_s={ours['seconds']:.2f}", f"nfn_peak_gib={ours['peak_rss_gib']:.2f}",
                    f"naive_s={naive_s:.2f}", f"naive_peak_gib={naive['peak_rss_gib']:.2f}",
                    f"nfn_speedup={naive_s / ours['seconds']:.1f}",
                    f"nfn_memory_ratio={naive['peak_rss_gib'] / ours['peak_rss_gib']:.1f}"]
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("released_scale " + " ".join(summary))


if __name__ == "__main__":
    main()
