"""The Small CNN Zoo on disk: read, validate, write, select checkpoints; collections of zoos.

A zoo directory holds three files, as released:
- weights.npy: float32 (rows, num_parameters), one network at one checkpoint per row (memory-mapped);
- metrics.csv.gz: one row per weights row, same order; `modeldir` names the run, `step` the epoch;
- layout.csv: varname, start_idx, end_idx, shape of every parameter tensor in a row.
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zoolib.data import DATASETS
from zoolib.files import atomic_write

WEIGHTS_FILE = "weights.npy"
METRICS_FILE = "metrics.csv.gz"
LAYOUT_FILE = "layout.csv"
GENERATION_FILE = "generation.json"  # how zoolib made a zoo (zoolib.generate)
INDEX_FILE = "architectures.csv"  # a collection folder of one zoo per architecture
ZOO_FILES = (WEIGHTS_FILE, METRICS_FILE, LAYOUT_FILE)

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
        """Sub-zoo of the given row positions (order kept; loads those weights into memory, see `read_rows`)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return Zoo(
            weights=read_rows(self.weights, rows),
            metrics=self.metrics.iloc[rows].reset_index(drop=True),
            layout=self.layout,
            path=self.path,
        )

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


def page_dropper(weights: np.ndarray):
    """A function (start, stop) that hands back the mapped pages of those rows of a memmapped array.

    Pages of a memory-mapped file count in the process's resident memory until unmapped; dropping
    them after each chunk keeps a pass over a 5 GiB file at the memory of a few chunks (the kernel
    keeps them in its page cache, so a second pass still reads from memory). A no-op for arrays in
    memory and for maps that are not read-only.
    """
    mapped = getattr(weights, "_mmap", None)  # np.memmap keeps its mmap.mmap here
    read_only = getattr(weights, "mode", None) == "r"  # dropping pages of a copy-on-write map loses edits
    usable = isinstance(mapped, mmap.mmap) and read_only and weights.flags.c_contiguous
    if not (usable and hasattr(mmap, "MADV_DONTNEED")):
        return lambda start, stop: None
    offset = weights.ctypes.data - np.frombuffer(mapped, np.uint8).ctypes.data
    row_bytes = weights.strides[0]

    def drop(start: int, stop: int) -> None:
        lo = (offset + start * row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        hi = (offset + stop * row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        if hi > lo:
            mapped.madvise(mmap.MADV_DONTNEED, lo, hi - lo)

    return drop


def read_rows(weights: np.ndarray, rows: np.ndarray, chunk_rows: int = 4096) -> np.ndarray:
    """weights[rows] as an array in memory, gathered chunk by chunk from a memory map.

    Memory: the result plus one chunk; the mapped pages a chunk touched are handed back after it
    (`page_dropper`), so taking the 30,000 final rows of a 5 GiB released zoo costs ~0.6 GiB.
    """
    rows = np.asarray(rows, dtype=np.intp)
    out = np.empty((len(rows), *weights.shape[1:]), weights.dtype)
    drop = page_dropper(weights)
    for start in range(0, len(rows), chunk_rows):
        part = rows[start : start + chunk_rows]
        out[start : start + len(part)] = weights[part]
        drop(int(part.min()), int(part.max()) + 1)
    return out


def finite_rows(weights: np.ndarray, chunk_rows: int = 16384) -> np.ndarray:
    """Boolean mask of rows whose parameters are all finite (read in chunks, mapped pages handed back)."""
    mask = np.empty(len(weights), dtype=bool)
    drop = page_dropper(weights)
    for start in range(0, len(weights), chunk_rows):
        mask[start : start + chunk_rows] = np.isfinite(weights[start : start + chunk_rows]).all(axis=1)
        drop(start, start + chunk_rows)
    return mask


def drop_nonfinite(zoo: Zoo) -> tuple[Zoo, int]:
    """The zoo without rows holding NaN/Inf parameters, and how many rows were dropped."""
    mask = finite_rows(zoo.weights)
    dropped = int((~mask).sum())
    return (zoo if dropped == 0 else zoo.take(mask)), dropped


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


def check_replaceable(path: str | os.PathLike, allowed: tuple[str, ...] = (), force: bool = False) -> None:
    """Raise FileExistsError if `path` holds anything zoolib would not write there.

    Nothing there, an empty folder, or a folder holding only zoo files (and `allowed` names) may be
    replaced; anything else (a file, a folder with the user's files) only with `force`.
    """
    path = Path(path)
    if force or not path.exists():
        return
    if path.is_dir():
        foreign = sorted(p.name for p in path.iterdir() if p.name not in ZOO_FILES + (GENERATION_FILE,) + allowed)
        if not foreign:
            return
        what = f"holds files zoolib did not write ({', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''})"
    else:
        what = "is a file"
    raise FileExistsError(f"{path} {what}; choose another folder, or pass --force to replace it")


def write_zoo(path: str | os.PathLike, weights: np.ndarray, metrics: pd.DataFrame, layout: pd.DataFrame,
              force: bool = False) -> Zoo:
    """Write a zoo directory in the released format, atomically (a temporary folder, then rename).

    Metrics get the released columns in the released order (with `laststep`) plus an index column,
    as in real copies of the file. An existing zoo at `path` is replaced; a folder holding anything
    else is refused (FileExistsError) unless `force`.
    """
    path = Path(path)
    check_replaceable(path, force=force)
    weights = np.asarray(weights)
    if weights.dtype != np.float32:
        weights = weights.astype(np.float32)
    metrics = metrics.reset_index(drop=True).copy()
    if "laststep" not in metrics.columns:
        last = metrics.groupby("modeldir", sort=False)["step"].transform("max")
        metrics["laststep"] = metrics["step"] == last
    ordered = [c for c in METRICS_COLUMNS if c in metrics.columns]
    metrics = metrics[ordered + [c for c in metrics.columns if c not in ordered]]
    layout = layout[LAYOUT_COLUMNS].reset_index(drop=True)
    validate(Zoo(weights, metrics, layout, path))
    with atomic_write(path, folder=True) as tmp:
        np.save(tmp / WEIGHTS_FILE, weights)
        metrics.to_csv(tmp / METRICS_FILE, index=True)
        layout.to_csv(tmp / LAYOUT_FILE, index=True)
    return read_zoo(path)


def read_collection(path: str | os.PathLike) -> dict[str, Zoo]:
    """The zoos of a collection folder: {folder name: zoo} for a zoo, {arch name: zoo} for an index."""
    path = Path(path)
    if (path / INDEX_FILE).is_file():
        index = pd.read_csv(path / INDEX_FILE)
        return {row.name: read_zoo(path / row.path) for row in index.itertuples()}
    return {path.name: read_zoo(path)}


def generation_info(path: str | os.PathLike) -> dict:
    """How a generated zoo was made (generation.json): spec, data source, images, time, zoolib version."""
    file = Path(path) / GENERATION_FILE
    if not file.is_file():
        raise FileNotFoundError(f"{file}: missing; only zoos made by `zoolib zoo generate` have it")
    try:
        return json.loads(file.read_text())
    except ValueError as err:
        raise ZooFormatError(f"{file}: not valid JSON ({err}); regenerate the zoo") from err


def datasets_of(metrics: pd.DataFrame) -> list[str]:
    """The sorted distinct config.dataset values of metrics rows ([] without that column)."""
    return sorted(metrics["config.dataset"].astype(str).unique()) if "config.dataset" in metrics else []


def dataset_of(zoo: Zoo) -> str:
    """The one dataset named in the zoo's config.dataset column (ZooFormatError if none or several)."""
    if "config.dataset" not in zoo.metrics:
        raise ZooFormatError(f"{zoo.path}/{METRICS_FILE}: no config.dataset column; cannot tell which dataset the nets saw")
    names = datasets_of(zoo.metrics)
    if len(names) != 1 or names[0] not in DATASETS:
        raise ZooFormatError(f"{zoo.path}/{METRICS_FILE}: config.dataset holds {names}; expected one of {DATASETS}")
    return names[0]


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
