"""Synthetic zoos of the released size and format, to measure time and memory (never findings).

Each zoo has the published shape: runs of 9 checkpoints at epochs 0, 1, 2, 3, 20, 40, 60, 80, 86,
4970 float32 parameters per row, 270,000 rows (mnist 269,973 and svhn_cropped 269,892: 3 and 12
runs short, as released), metrics.csv.gz with a leading unnamed index column and a `laststep`
column, layout.csv with an index column. Rows are derived from a generated SOURCE zoo so that the
predictors see signal: run i copies source run i % n (its config.* columns, its weights plus
Gaussian noise of `noise` x each column's std, its accuracies and losses plus small noise); the
checkpoint at epoch e copies the source's latest checkpoint at or before e (the final one at 86).

generation.json says `"synthetic": true` (with the source and the noise): pages showing such a zoo
must say its numbers measure time and memory only. weights.npy is written chunk by chunk (header
from np.lib.format.open_memmap, then plain writes), so memory stays at one chunk (~0.2 GiB).

    .venv/bin/zoolib zoo generate --profile tiny --dataset fashion_mnist --nets 160 --out /tmp/src
    .venv/bin/python benchmarks/released_like.py --source /tmp/src --out /work/bigzoo [--dataset fashion_mnist]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from zoolib.files import atomic_write
from zoolib.hparams import CHECKPOINTS
from zoolib.release import RELEASED_ROWS
from zoolib.zoo import (GENERATION_FILE, LAYOUT_FILE, METRICS_COLUMNS, METRICS_FILE, WEIGHTS_FILE, read_zoo,
                        select_rows, write_manifest)



def _source_runs(source) -> tuple[np.ndarray, pd.DataFrame]:
    """Row positions (runs x source steps) of the source runs that have every checkpoint, and their final metrics."""
    metrics = source.metrics
    steps = source.steps
    per_run = metrics.groupby("modeldir", sort=False)["step"].count()
    complete = per_run.index[per_run == len(steps)]
    rows = metrics.reset_index().set_index(["modeldir", "step"])["index"]
    table = np.array([[rows[(run, s)] for s in steps] for run in complete])
    finite = np.array([np.isfinite(source.weights[r]).all() for r in table.ravel()]).reshape(table.shape)
    table = table[finite.all(axis=1)]
    if len(table) < 2:
        raise ValueError(f"{source.path}: fewer than 2 complete, finite runs; generate a bigger source zoo")
    return table, metrics


def write_released_like(source_dir: str | Path, out: str | Path, dataset: str, noise: float = 0.1,
                        seed: int = 0, chunk_runs: int = 1000) -> Path:
    """Write one synthetic released-size zoo of `dataset` at `out` (replaced if present); returns its path."""
    if dataset not in RELEASED_ROWS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {list(RELEASED_ROWS)}")
    start = time.perf_counter()
    source = read_zoo(source_dir)
    table, src_metrics = _source_runs(source)
    src_steps = np.asarray(source.steps)
    # Source checkpoint (column of `table`) behind each released epoch: the latest at or before it.
    pick = np.searchsorted(src_steps, CHECKPOINTS, side="right") - 1
    pick[pick < 0] = 0
    pick[-1] = len(src_steps) - 1
    n_runs = RELEASED_ROWS[dataset] // len(CHECKPOINTS)
    n_rows, width = n_runs * len(CHECKPOINTS), source.weights.shape[1]
    column_std = np.asarray(source.weights[np.sort(table.ravel())], np.float64).std(axis=0).astype(np.float32)
    rng = np.random.default_rng(seed)

    out = Path(out)
    with atomic_write(out, folder=True) as tmp:
        header = np.lib.format.open_memmap(tmp / WEIGHTS_FILE, mode="w+", dtype=np.float32, shape=(n_rows, width))
        offset = header.offset
        del header
        metrics_parts = []
        with open(tmp / WEIGHTS_FILE, "r+b") as f:
            f.seek(offset)
            for first in range(0, n_runs, chunk_runs):
                runs = np.arange(first, min(first + chunk_runs, n_runs))
                src_rows = table[runs % len(table)][:, pick].ravel()  # (runs x 9) source rows, run-major
                order = np.argsort(src_rows, kind="stable")
                block = np.empty((len(src_rows), width), np.float32)
                block[order] = source.weights[src_rows[order]]
                block += noise * column_std * rng.standard_normal(block.shape, dtype=np.float32)
                f.write(block.tobytes())
                metrics_parts.append(_metrics(src_metrics, src_rows, runs, dataset, rng))
        metrics = pd.concat(metrics_parts, ignore_index=True)
        metrics[[c for c in METRICS_COLUMNS if c in metrics]].to_csv(
            tmp / METRICS_FILE, index=True, compression={"method": "gzip", "compresslevel": 1})
        source.layout.to_csv(tmp / LAYOUT_FILE, index=True)
        info = {
            "synthetic": True,
            "purpose": "time and memory at the released size; its predictions are not findings",
            "made_by": "benchmarks/released_like.py",
            "source": str(Path(source_dir).resolve()),
            "source_runs": int(len(table)),
            "noise": noise, "seed": seed, "dataset": dataset,
            "runs": int(n_runs), "rows": int(n_rows), "parameters": int(width), "epochs": list(CHECKPOINTS),
            "seconds": round(time.perf_counter() - start, 1),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (tmp / GENERATION_FILE).write_text(json.dumps(info, indent=2))
        write_manifest(tmp, progress=False)
    return out


def _metrics(src_metrics: pd.DataFrame, src_rows: np.ndarray, runs: np.ndarray, dataset: str,
             rng: np.random.Generator) -> pd.DataFrame:
    """Metrics rows of `runs` (9 each): the source rows' config and results plus noise, released epochs."""
    part = src_metrics.iloc[src_rows].reset_index(drop=True)
    n = len(part)
    part["config.dataset"] = dataset
    part["config.epochs"] = CHECKPOINTS[-1]
    part["config.epochs_between_checkpoints"] = 20
    part["modeldir"] = [f"synthetic/{dataset}/run_{r:05d}" for r in np.repeat(runs, len(CHECKPOINTS))]
    part["step"] = np.tile(CHECKPOINTS, len(runs))
    for column, scale in (("test_accuracy", 0.01), ("train_accuracy", 0.01)):
        part[column] = np.clip(part[column] + scale * rng.standard_normal(n), 0.0, 1.0)
    for column in ("test_loss", "train_loss"):
        part[column] = np.abs(part[column] * (1 + 0.02 * rng.standard_normal(n)))
    part["laststep"] = np.where(part["step"] == CHECKPOINTS[-1], "TRUE", "FALSE")
    return part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", required=True, help="a generated zoo folder (zoolib zoo generate --out ...)")
    parser.add_argument("--out", required=True, help="folder that receives one zoo per dataset (keep it out of the repo)")
    parser.add_argument("--dataset", nargs="+", default=list(RELEASED_ROWS), choices=list(RELEASED_ROWS))
    parser.add_argument("--noise", type=float, default=0.1, help="weight noise in units of each column's std")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for dataset in args.dataset:
        path = write_released_like(args.source, Path(args.out) / dataset, dataset, args.noise, args.seed)
        zoo = read_zoo(path)
        final = len(select_rows(zoo.metrics, "final"))
        print(f"{dataset}: {path} rows={len(zoo)} runs={zoo.metrics['modeldir'].nunique()} final_rows={final} "
              f"bytes={(path / WEIGHTS_FILE).stat().st_size}")


if __name__ == "__main__":
    main()
