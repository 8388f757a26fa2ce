"""The Small CNN Zoo on disk: read, validate, write, select checkpoints and split by run.

A zoo directory holds three files, as released:
- weights.npy: float32 (rows, num_parameters), one network at one checkpoint per row (memory-mapped);
- metrics.csv.gz: one row per weights row, same order; `modeldir` names the run, `step` the epoch;
- layout.csv: varname, start_idx, end_idx, shape of every parameter tensor in a row.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

WEIGHTS_FILE = "weights.npy"
METRICS_FILE = "metrics.csv.gz"
LAYOUT_FILE = "layout.csv"

CONFIG_COLUMNS = [
    "config.activation",
    "config.b_init",
    "config.dataset",
    "config.dnn_architecture",
    "config.dropout",
    "config.epochs",
    "config.epochs_between_checkpoints",
    "config.init_std",
    "config.l2reg",
    "config.learning_rate",
    "config.num_layers",
    "config.num_units",
    "config.optimizer",
    "config.random_seed",
    "config.train_fraction",
    "config.w_init",
]
RESULT_COLUMNS = ["modeldir", "step", "test_accuracy", "test_loss", "train_accuracy", "train_loss"]
METRICS_COLUMNS = CONFIG_COLUMNS + RESULT_COLUMNS + ["laststep"]
REQUIRED_METRICS_COLUMNS = ["modeldir", "step", "test_accuracy"]
LAYOUT_COLUMNS = ["varname", "start_idx", "end_idx", "shape"]


class ZooFormatError(ValueError):
    """A zoo directory does not hold what the released format promises."""


@dataclass
class Zoo:
    """A zoo in memory: weights (often a memmap), metrics (same row order) and layout."""

    weights: np.ndarray
    metrics: pd.DataFrame
    layout: pd.DataFrame
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.metrics)

    @property
    def runs(self) -> pd.Series:
        """Run id (modeldir) of every row."""
        return self.metrics["modeldir"]

    @property
    def steps(self) -> list[int]:
        """Checkpoint epochs present, sorted."""
        return sorted(int(s) for s in self.metrics["step"].unique())

    def take(self, rows: np.ndarray) -> "Zoo":
        """Sub-zoo of the given row positions (order kept; loads those weights into memory)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return Zoo(
            weights=np.asarray(self.weights[rows]),
            metrics=self.metrics.iloc[rows].reset_index(drop=True),
            layout=self.layout,
            path=self.path,
        )

    def select(self, step: str | int = "final") -> "Zoo":
        """Checkpoints to keep: 'final' (each run's last row), 'all', or an epoch number."""
        return self.take(select_rows(self.metrics, step))

    def tensor(self, varname: str) -> np.ndarray:
        """One parameter tensor of every row, shaped (rows, *shape); varname as in layout.csv."""
        match = self.layout[self.layout["varname"] == varname]
        if match.empty:
            raise KeyError(f"{varname!r} is not in the layout; it holds {list(self.layout['varname'])}")
        row = match.iloc[0]
        shape = parse_shape(row["shape"])
        return np.asarray(self.weights[:, row["start_idx"] : row["end_idx"]]).reshape((-1, *shape))


def parse_shape(text: str) -> tuple[int, ...]:
    """'(3, 3, 1, 16)' -> (3, 3, 1, 16); '(16,)' -> (16,)."""
    inner = str(text).strip().strip("()[] ")
    return tuple(int(p) for p in inner.split(",") if p.strip())


def layout_table(layout: pd.DataFrame) -> pd.DataFrame:
    """varname, start_idx, end_idx and shape as a tuple, index 0..n-1: two layouts are the same if these are equal."""
    table = layout[["varname", "start_idx", "end_idx"]].reset_index(drop=True)
    return table.assign(shape=layout["shape"].map(parse_shape).to_numpy())


def select_rows(metrics: pd.DataFrame, step: str | int = "final") -> np.ndarray:
    """Row positions of the chosen checkpoints: 'final', 'all', or an epoch number."""
    if step == "all":
        return np.arange(len(metrics))
    steps = metrics["step"].to_numpy()
    if step == "final":
        last = metrics.groupby("modeldir", sort=False)["step"].transform("max").to_numpy()
        return np.flatnonzero(steps == last)
    try:
        epoch = int(step)
    except (TypeError, ValueError):
        raise ValueError(f"step must be 'final', 'all' or an epoch number, got {step!r}") from None
    rows = np.flatnonzero(steps == epoch)
    if rows.size == 0:
        raise ValueError(f"no checkpoint at epoch {epoch}; the zoo has epochs {sorted(set(steps.tolist()))}")
    return rows


def finite_rows(weights: np.ndarray, chunk_rows: int = 16384) -> np.ndarray:
    """Boolean mask of rows whose parameters are all finite (read in chunks, memory bounded)."""
    mask = np.empty(len(weights), dtype=bool)
    for start in range(0, len(weights), chunk_rows):
        mask[start : start + chunk_rows] = np.isfinite(weights[start : start + chunk_rows]).all(axis=1)
    return mask


def drop_nonfinite(zoo: Zoo) -> tuple[Zoo, int]:
    """The zoo without rows holding NaN/Inf parameters, and how many rows were dropped."""
    mask = finite_rows(zoo.weights)
    dropped = int((~mask).sum())
    return (zoo if dropped == 0 else zoo.take(mask)), dropped


def split_runs(
    runs: pd.Series | np.ndarray,
    val_fraction: float = 0.1,
    test_fraction: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """Label every row 'train', 'val' or 'test' so that all rows of one run share a label.

    Runs (not rows) are shuffled with `seed`; the first `test_fraction` of runs go to test, the next
    `val_fraction` to validation (carved out of the training runs), the rest to train.
    """
    if not (0 <= val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"bad split fractions: val {val_fraction}, test {test_fraction}")
    codes, unique_runs = pd.factorize(pd.Series(runs), sort=True)
    order = np.random.default_rng(seed).permutation(len(unique_runs))
    n_test = int(round(test_fraction * len(unique_runs)))
    n_val = int(round(val_fraction * len(unique_runs)))
    run_label = np.empty(len(unique_runs), dtype=object)
    run_label[order[:n_test]] = "test"
    run_label[order[n_test : n_test + n_val]] = "val"
    run_label[order[n_test + n_val :]] = "train"
    return run_label[codes].astype(str)


def read_layout(path: str | os.PathLike) -> pd.DataFrame:
    """Read layout.csv, tolerating an unnamed index column and extra columns."""
    path = Path(path)
    if not path.is_file():
        raise ZooFormatError(f"{path}: missing; a zoo directory needs {LAYOUT_FILE}")
    layout = pd.read_csv(path)
    layout = layout.loc[:, [c for c in layout.columns if not str(c).startswith("Unnamed")]]
    missing = [c for c in LAYOUT_COLUMNS if c not in layout.columns]
    if missing:
        raise ZooFormatError(f"{path}: missing columns {missing}; expected at least {LAYOUT_COLUMNS}")
    layout = layout.sort_values("start_idx").reset_index(drop=True)
    for row in layout.itertuples():
        size = int(np.prod(parse_shape(row.shape)))
        if row.end_idx - row.start_idx != size:
            raise ZooFormatError(
                f"{path}: {row.varname} spans [{row.start_idx}, {row.end_idx}) but its shape "
                f"{row.shape} holds {size} values"
            )
    return layout


def read_metrics(path: str | os.PathLike) -> pd.DataFrame:
    """Read metrics.csv.gz, dropping a leading unnamed index column; `laststep` becomes bool."""
    path = Path(path)
    if not path.is_file():
        raise ZooFormatError(f"{path}: missing; a zoo directory needs {METRICS_FILE}")
    metrics = pd.read_csv(path, low_memory=False)
    metrics = metrics.loc[:, [c for c in metrics.columns if not str(c).startswith("Unnamed")]]
    missing = [c for c in REQUIRED_METRICS_COLUMNS if c not in metrics.columns]
    if missing:
        raise ZooFormatError(
            f"{path}: missing columns {missing}; the released format has {METRICS_COLUMNS}"
        )
    if "laststep" in metrics.columns and metrics["laststep"].dtype != bool:
        metrics["laststep"] = metrics["laststep"].astype(str).str.upper().eq("TRUE")
    return metrics


def read_zoo(path: str | os.PathLike, mmap: bool = True) -> Zoo:
    """Read and validate a zoo directory; weights.npy is memory-mapped unless `mmap` is False."""
    path = Path(path)
    if not path.is_dir():
        raise ZooFormatError(
            f"{path}: not a directory; a zoo is a folder with {WEIGHTS_FILE}, {METRICS_FILE}, "
            f"{LAYOUT_FILE} (run `zoolib zoo download` or `zoolib zoo generate` to make one)"
        )
    weights_path = path / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ZooFormatError(f"{weights_path}: missing; a zoo directory needs {WEIGHTS_FILE}")
    try:
        weights = np.load(weights_path, mmap_mode="r" if mmap else None)
    except ValueError as err:
        raise ZooFormatError(f"{weights_path}: not a readable .npy array ({err})") from err
    zoo = Zoo(weights, read_metrics(path / METRICS_FILE), read_layout(path / LAYOUT_FILE), path)
    validate(zoo)
    return zoo


def validate(zoo: Zoo) -> None:
    """Raise ZooFormatError unless weights, metrics and layout agree with each other."""
    where = zoo.path or "zoo"
    if zoo.weights.dtype != np.float32:
        raise ZooFormatError(f"{where}/{WEIGHTS_FILE}: dtype {zoo.weights.dtype}, expected float32")
    if zoo.weights.ndim != 2:
        raise ZooFormatError(
            f"{where}/{WEIGHTS_FILE}: shape {zoo.weights.shape}, expected 2-D (rows, parameters)"
        )
    if len(zoo.weights) != len(zoo.metrics):
        raise ZooFormatError(
            f"{where}: {WEIGHTS_FILE} has {len(zoo.weights)} rows but {METRICS_FILE} has "
            f"{len(zoo.metrics)}; they must match row for row"
        )
    starts = zoo.layout["start_idx"].to_numpy()
    ends = zoo.layout["end_idx"].to_numpy()
    columns = zoo.weights.shape[1]
    if len(starts) == 0:
        raise ZooFormatError(f"{where}/{LAYOUT_FILE}: no tensors listed; expected rows covering columns [0, {columns})")
    if starts[0] != 0 or ends[-1] != columns or (starts[1:] != ends[:-1]).any():
        raise ZooFormatError(
            f"{where}/{LAYOUT_FILE}: tensors must cover columns [0, {columns}) of {WEIGHTS_FILE} "
            f"without gaps or overlaps; they cover {list(zip(starts.tolist(), ends.tolist()))}"
        )


def write_zoo(path: str | os.PathLike, weights: np.ndarray, metrics: pd.DataFrame, layout: pd.DataFrame) -> Zoo:
    """Write a zoo directory in the released format, atomically (a temporary folder, then rename).

    Metrics get the released columns in the released order (with `laststep`) plus an index column,
    as in real copies of the file. An existing directory at `path` is replaced.
    """
    path = Path(path)
    weights = np.ascontiguousarray(weights, dtype=np.float32)
    metrics = metrics.reset_index(drop=True).copy()
    if "laststep" not in metrics.columns:
        last = metrics.groupby("modeldir", sort=False)["step"].transform("max")
        metrics["laststep"] = metrics["step"] == last
    ordered = [c for c in METRICS_COLUMNS if c in metrics.columns]
    metrics = metrics[ordered + [c for c in metrics.columns if c not in ordered]]
    layout = layout[LAYOUT_COLUMNS].reset_index(drop=True)
    zoo = Zoo(weights, metrics, layout, path)
    validate(zoo)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        np.save(tmp / WEIGHTS_FILE, weights)
        metrics.to_csv(tmp / METRICS_FILE, index=True)
        layout.to_csv(tmp / LAYOUT_FILE, index=True)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return read_zoo(path)


def datasets_of(metrics: pd.DataFrame) -> list[str]:
    """The sorted distinct config.dataset values of metrics rows ([] without that column)."""
    return sorted(metrics["config.dataset"].astype(str).unique()) if "config.dataset" in metrics else []


def describe(zoo: Zoo) -> dict[str, object]:
    """Summary for `zoolib zoo info`: rows, runs, steps, datasets, final accuracy, non-finite rows."""
    metrics = zoo.metrics
    final = metrics.iloc[select_rows(metrics, "final")]
    per_run = metrics.groupby("modeldir", sort=False)["step"].count()
    datasets = datasets_of(metrics)
    acc = final["test_accuracy"].describe(percentiles=[0.25, 0.5, 0.75])
    return {
        "path": str(zoo.path),
        "rows": len(metrics),
        "parameters": zoo.weights.shape[1],
        "runs": int(metrics["modeldir"].nunique()),
        "steps": zoo.steps,
        "checkpoints_per_run": {int(k): int(v) for k, v in per_run.value_counts().sort_index().items()},
        "datasets": datasets,
        "final_test_accuracy": {k: float(acc[k]) for k in ("mean", "std", "min", "25%", "50%", "75%", "max")},
        "nonfinite_rows": int((~finite_rows(zoo.weights)).sum()),
    }
