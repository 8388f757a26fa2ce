"""The Small CNN Zoo on disk: read, validate, write, select checkpoints; collections of zoos.

A zoo directory holds three files, as released:
- weights.npy: float32 (rows, num_parameters), one network at one checkpoint per row (memory-mapped);
- metrics.csv.gz: one row per weights row, same order; `modeldir` names the run, `step` the epoch;
- layout.csv: varname, start_idx, end_idx, shape of every parameter tensor in a row.
A zoo zoolib writes or installs also holds manifest.json (size and sha256 of every file, and of the
archive it came from), so that `zoolib zoo verify --integrity` can tell when a file changed; a
generated zoo holds generation.json too. One net of a zoo, a row, becomes a Keras 3 model with
`keras_model` (its architecture from generation.json or the config columns: `zoo_architecture`).
"""

from __future__ import annotations

import dataclasses
import json
import mmap
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zoolib.cnn import KINDS, Architecture, build_model, parameter_layout, parse_shape, set_flat_parameters
from zoolib.data import DATASETS, IMAGE_SIZE
from zoolib.files import TEMP_PREFIX, atomic_write, sha256_file, write_text_atomic
from zoolib.hparams import CONFIG_COLUMNS
from zoolib.train import RESULT_COLUMNS

WEIGHTS_FILE = "weights.npy"
METRICS_FILE = "metrics.csv.gz"
LAYOUT_FILE = "layout.csv"
GENERATION_FILE = "generation.json"  # how zoolib made a zoo (zoolib.generate)
INDEX_FILE = "architectures.csv"  # a collection folder of one zoo per architecture
MANIFEST_FILE = "manifest.json"  # size and sha256 of every file of a zoo (write_manifest, check_manifest)
ZOO_FILES = (WEIGHTS_FILE, METRICS_FILE, LAYOUT_FILE)

NUMERIC_CONFIG_COLUMNS = [c for c in CONFIG_COLUMNS if c.split(".")[1] in (
    "dropout", "epochs", "epochs_between_checkpoints", "init_std", "l2reg", "learning_rate", "num_layers", "num_units",
    "random_seed", "train_fraction")]
METRICS_COLUMNS = CONFIG_COLUMNS + RESULT_COLUMNS + ["laststep"]
REQUIRED_METRICS_COLUMNS = ["modeldir", "step", "test_accuracy"]
ACCURACY_COLUMNS = ["test_accuracy", "train_accuracy"]
RELEASED_SOURCE = "released Small CNN Zoo (arXiv 2002.11448)"
SYNTHETIC_SOURCE = "SYNTHETIC released-size zoo (timing only: its numbers are not findings)"
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


def layout_table(layout: pd.DataFrame) -> pd.DataFrame:
    """varname, start_idx, end_idx and shape as a tuple, index 0..n-1: two layouts are the same if these are equal."""
    table = layout[["varname", "start_idx", "end_idx"]].reset_index(drop=True)
    return table.assign(shape=layout["shape"].map(parse_shape).to_numpy())


def select_rows(metrics: pd.DataFrame, step: str | int = "final") -> np.ndarray:
    """Row positions of the chosen checkpoints: 'final' (each run's last row), 'completed' (rows at the
    run's scheduled last epoch, config.epochs, else the zoo's last step: a run that stopped early, e.g.
    diverged, has none, as in the released zoo it has no step 86), 'all', or an epoch number."""
    if step == "all":
        return np.arange(len(metrics))
    steps = metrics["step"].to_numpy()
    if step == "final":
        last = metrics.groupby("modeldir", sort=False)["step"].transform("max").to_numpy()
        return np.flatnonzero(steps == last)
    if step == "completed":
        scheduled = metrics["config.epochs"].to_numpy() if "config.epochs" in metrics else np.full(len(steps), steps.max())
        return np.flatnonzero(steps == scheduled)
    try:
        epoch = int(step)
    except (TypeError, ValueError):
        raise ValueError(f"step must be 'final', 'completed', 'all' or an epoch number, got {step!r}") from None
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


def finite_rows(weights: np.ndarray, rows: np.ndarray | None = None, chunk_rows: int = 4096) -> np.ndarray:
    """Boolean mask of the rows (all, or the positions `rows`) whose parameters are all finite; read in chunks,
    mapped pages handed back, so no more than one chunk is in memory."""
    positions = np.arange(len(weights)) if rows is None else np.asarray(rows, dtype=np.intp)
    mask = np.empty(len(positions), dtype=bool)
    drop = page_dropper(weights)
    for start in range(0, len(positions), chunk_rows):
        part = positions[start : start + chunk_rows]
        block = weights[start : start + len(part)] if rows is None else weights[part]
        mask[start : start + len(part)] = np.isfinite(block).all(axis=1)
        drop(int(part.min()), int(part.max()) + 1)
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
    layout = _read_csv(path, "a CSV file")
    layout = layout.loc[:, [c for c in layout.columns if not str(c).startswith("Unnamed")]]
    missing = [c for c in LAYOUT_COLUMNS if c not in layout.columns]
    if missing:
        raise ZooFormatError(f"{path}: missing columns {missing}; expected at least {LAYOUT_COLUMNS}")
    for column in ("start_idx", "end_idx"):
        values = pd.to_numeric(layout[column], errors="coerce")
        bad = values.isna() | (values < 0) | (values != values.round())
        if bad.any():
            raise ZooFormatError(
                f"{path}: {column} holds '{layout[column][bad].iloc[0]}'; expected non-negative integer column positions"
            )
        layout[column] = values.astype(np.int64)
    layout = layout.sort_values("start_idx").reset_index(drop=True)
    shapes = []
    for row in layout.itertuples():
        try:
            shapes.append(parse_shape(row.shape))
        except ValueError as err:
            raise ZooFormatError(f"{path}: {row.varname}: {err}") from None
        size = int(np.prod(shapes[-1]))
        if row.end_idx - row.start_idx != size:
            raise ZooFormatError(
                f"{path}: {row.varname} spans [{row.start_idx}, {row.end_idx}) but its shape "
                f"{row.shape} holds {size} values"
            )
    _check_bias_then_kernel(path, layout["varname"].astype(str).tolist(), shapes)
    return layout


def _check_bias_then_kernel(path: Path, names: list[str], shapes: list[tuple[int, ...]]) -> None:
    """The released convention: each layer's `.../bias:0` (1-D) comes right before its `.../kernel:0`
    (2-D or more), and the bias has one value per output, the kernel's last dimension."""
    expected = "each layer's 1-D .../bias:0 right before its .../kernel:0, whose last dimension is the bias length"
    for i, (name, shape) in enumerate(zip(names, shapes)):
        if name.endswith("bias:0"):
            kernel = name.removesuffix("bias:0") + "kernel:0"
            if len(shape) != 1 or i + 1 == len(names) or names[i + 1] != kernel:
                raise ZooFormatError(f"{path}: {name} has shape {shape} and is followed by "
                                     f"{names[i + 1] if i + 1 < len(names) else 'nothing'}; expected {expected}")
            if len(shapes[i + 1]) < 2 or shapes[i + 1][-1] != shape[0]:
                raise ZooFormatError(f"{path}: {kernel} has shape {shapes[i + 1]} after a bias of {shape[0]} "
                                     f"values; expected {expected}")
        elif name.endswith("kernel:0") and (i == 0 or names[i - 1] != name.removesuffix("kernel:0") + "bias:0"):
            raise ZooFormatError(f"{path}: {name} is not preceded by its bias; expected {expected}")
    if names and not any(name.endswith("kernel:0") for name in names):
        raise ZooFormatError(f"{path}: no .../kernel:0 tensor listed; expected {expected}")


def _read_csv(path: Path, what: str, **kwargs) -> pd.DataFrame:
    """pd.read_csv, with a ZooFormatError naming the file when it is not `what` (corrupt, empty, binary)."""
    try:
        return pd.read_csv(path, **kwargs)
    except PermissionError:
        raise
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ZooFormatError(
            f"{path}: not {what} ({type(err).__name__}: {err}); the file is damaged: download or generate the zoo again"
        ) from None


def read_metrics(path: str | os.PathLike) -> pd.DataFrame:
    """Read metrics.csv.gz, dropping a leading unnamed index column; `laststep` becomes bool."""
    path = Path(path)
    if not path.is_file():
        raise ZooFormatError(f"{path}: missing; a zoo directory needs {METRICS_FILE}")
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    if path.name.endswith(".gz") and not gzipped:
        raise ZooFormatError(f"{path}: not gzip-compressed; the file is damaged: download or generate the zoo again")
    metrics = _read_csv(path, "a gzip-compressed CSV file" if gzipped else "a CSV file", low_memory=False)
    metrics = metrics.loc[:, [c for c in metrics.columns if not str(c).startswith("Unnamed")]]
    missing = [c for c in REQUIRED_METRICS_COLUMNS if c not in metrics.columns]
    if missing:
        raise ZooFormatError(
            f"{path}: missing columns {missing}; the released format has {METRICS_COLUMNS}"
        )
    step = pd.to_numeric(metrics["step"], errors="coerce")
    bad = step.isna() | (step < 0) | (step != step.round())
    if bad.any():
        raise ZooFormatError(f"{path}: step holds '{metrics['step'][bad].iloc[0]}' (row {int(np.argmax(bad))}); "
                             "expected the epoch of each checkpoint, an integer >= 0")
    metrics["step"] = step.astype(np.int64)
    runs = metrics["modeldir"]
    blank = runs.isna() | runs.astype(str).str.strip().eq("")
    if blank.any():
        raise ZooFormatError(f"{path}: modeldir is empty in row {int(np.argmax(blank))}; expected the run's name in "
                             "every row (rows of one run share it)")
    twice = metrics.duplicated(["modeldir", "step"], keep=False).to_numpy()
    if twice.any():
        first = int(np.argmax(twice))
        rows = np.flatnonzero(twice & (runs == runs.iloc[first]).to_numpy() & (step == step.iloc[first]).to_numpy())
        raise ZooFormatError(f"{path}: run {runs.iloc[first]} has {len(rows)} rows at epoch {int(step.iloc[first])} "
                             f"(rows {', '.join(map(str, rows[:5]))}); expected one row per run and checkpoint")
    for column in [c for c in ACCURACY_COLUMNS if c in metrics.columns]:
        values = pd.to_numeric(metrics[column], errors="coerce")
        required = column == "test_accuracy"  # what every predictor is trained and scored on: never missing
        bad = (values.isna() if required else values.isna() & metrics[column].notna()) | (values < 0) | (values > 1)
        if bad.any():
            raise ZooFormatError(f"{path}: {column} holds '{metrics[column][bad].iloc[0]}' (row {int(np.argmax(bad))}); "
                                 "expected a fraction in [0, 1]")
        metrics[column] = values
    for column in [c for c in NUMERIC_CONFIG_COLUMNS if c in metrics.columns]:
        values = pd.to_numeric(metrics[column], errors="coerce")
        bad = values.isna() & metrics[column].notna()
        if bad.any():
            raise ZooFormatError(f"{path}: {column} holds '{metrics[column][bad].iloc[0]}' (row {int(np.argmax(bad))}); "
                                 "expected a number")
        metrics[column] = values
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
    except PermissionError:
        raise
    except (ValueError, EOFError, OSError) as err:  # pickled objects, a bad header, a truncated file
        raise ZooFormatError(
            f"{weights_path}: not a readable .npy array ({type(err).__name__}: {err}); the file is damaged or "
            "truncated: download or generate the zoo again"
        ) from None
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
    if len(zoo.metrics) == 0:
        raise ZooFormatError(f"{where}: the zoo holds no nets (0 rows); expected at least one checkpoint row")
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

    Nothing there, an empty folder, or a folder holding only zoo files, zoolib's temporary files and
    `allowed` names may be replaced; anything else (a file, a folder with the user's files) only with `force`.
    """
    path = Path(path)
    if force or not path.exists():
        return
    if path.is_dir():
        ours = ZOO_FILES + (GENERATION_FILE, MANIFEST_FILE) + allowed
        foreign = sorted(p.name for p in path.iterdir() if p.name not in ours and not p.name.startswith(TEMP_PREFIX))
        if not foreign:
            return
        what = f"holds files zoolib did not write ({', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''})"
    else:
        what = "is a file"
    raise FileExistsError(f"{path} {what}; choose another folder, or pass --force to replace it")


def write_zoo(path: str | os.PathLike, weights: np.ndarray, metrics: pd.DataFrame, layout: pd.DataFrame,
              force: bool = False, extra: dict[str, str] | None = None) -> Zoo:
    """Write a zoo directory in the released format, atomically (a temporary folder, then rename).

    Metrics get the released columns in the released order (with `laststep`) plus an index column,
    as in real copies of the file. `extra` maps more file names to text written beside them (e.g.
    generation.json); a manifest.json lists them all. An existing zoo at `path` is replaced; a folder
    holding anything else is refused (FileExistsError) unless `force`.
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
        metrics.to_csv(tmp / METRICS_FILE, index=True, compression={"method": "gzip", "mtime": 0})  # same bytes every time
        layout.to_csv(tmp / LAYOUT_FILE, index=True)
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text)
        write_manifest(tmp)
    return read_zoo(path)


def write_manifest(folder: str | os.PathLike, archive: dict | None = None, progress: bool = True) -> dict:
    """Write `folder`/manifest.json: size and sha256 of every file in the folder (and `archive`, a dict
    of name, size and sha256 of the archive it was installed from); returns the manifest."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST_FILE and not p.name.startswith(TEMP_PREFIX))
    manifest: dict = {"files": {p.name: {"size": p.stat().st_size, "sha256": sha256_file(p, progress)} for p in files}}
    if archive is not None:
        manifest["archive"] = archive
    write_text_atomic(folder / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
    return manifest


@dataclass(frozen=True)
class Manifest:
    """A zoo's manifest.json: size and sha256 per file, and the archive it was installed from (if any)."""

    file: Path
    files: dict[str, tuple[int, str]]  # name -> (bytes, sha256)
    archive_sha256: str | None = None


def read_manifest(folder: str | os.PathLike) -> Manifest:
    """The manifest.json of a zoo folder (ZooFormatError naming the folder or file if missing or malformed)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ZooFormatError(f"{folder}: no such zoo folder" if not folder.exists() else f"{folder}: not a folder; "
                             "give the zoo's folder")
    file = folder / MANIFEST_FILE
    if not file.is_file():
        raise ZooFormatError(f"{file}: missing; zoos that zoolib downloads or generates carry one "
                             "(download or generate this zoo again to get it)")
    try:
        raw = json.loads(file.read_text())
        files = {str(name): (e["size"], e["sha256"]) for name, e in raw["files"].items()}
        archive_sha256 = (raw.get("archive") or {}).get("sha256")
        valid = (bool(files) and all(isinstance(size, int) and isinstance(digest, str) for size, digest in files.values())
                 and isinstance(archive_sha256, (str, type(None))))
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise ZooFormatError(f"{file}: not a zoolib manifest (a non-empty \"files\" map of name -> size, sha256); "
                             "it was changed: download or generate the zoo again")
    return Manifest(file, files, archive_sha256)


def check_manifest(folder: str | os.PathLike, progress: bool = True) -> list[tuple[str, str]]:
    """Re-hash every file listed in the folder's manifest.json: (file name, status) per file, status
    'ok', 'missing', 'changed (...)', or 'not in the manifest' for a zoo file the manifest leaves out."""
    folder = Path(folder)
    listed = read_manifest(folder).files
    report = []
    for name, (size, sha256) in listed.items():
        file = folder / name
        if not file.is_file():
            report.append((name, "missing"))
        elif file.stat().st_size != size:
            report.append((name, f"changed (size {file.stat().st_size} bytes, the manifest says {size})"))
        elif (digest := sha256_file(file, progress)) != sha256:
            report.append((name, f"changed (sha256 {digest[:16]}..., the manifest says {sha256[:16]}...)"))
        else:
            report.append((name, "ok"))
    unlisted = [n for n in ZOO_FILES + (GENERATION_FILE,) if n not in listed and (folder / n).exists()]
    return report + [(name, "not in the manifest") for name in unlisted]


def read_collection(path: str | os.PathLike) -> dict[str, Zoo]:
    """The zoos of a collection folder: {folder name: zoo} for a zoo, {arch name: zoo} for an index."""
    path = Path(path)
    if (path / INDEX_FILE).is_file():
        index = pd.read_csv(path / INDEX_FILE)
        return {row.name: read_zoo(path / row.path) for row in index.itertuples()}
    return {path.name: read_zoo(path)}


@dataclass(frozen=True)
class Generation:
    """How zoolib made a zoo, as its generation.json records it (`read_generation`).

    `spec` is the zoolib.generate.ZooSpec as a dict (dataset, nets, checkpoints, arch, arch_name, ...);
    a synthetic zoo of benchmarks/released_like.py (timing only, not trained) records none ({}).
    """

    file: Path
    spec: dict
    synthetic: bool = False
    data_source: str | None = None
    train_images: int | None = None
    test_images: int | None = None
    train_fractions: tuple[float, ...] = ()
    runs: int | None = None
    seconds: float = 0.0  # wall-clock seconds of the last generation session

    @property
    def trained(self) -> bool:
        """Whether zoolib trained the nets (False for a synthetic zoo)."""
        return bool(self.spec)

    @property
    def epochs(self) -> int:
        return int(self.spec["checkpoints"][-1])

    @property
    def nets(self) -> int:
        return int(self.spec["nets"])

    @property
    def arch_name(self) -> str:
        return str(self.spec.get("arch_name", "cnn"))


def _typed(raw: dict, key: str, kinds: tuple[type, ...]) -> bool:
    """Whether raw[key] is absent, null or one of `kinds` (a bool is not a number)."""
    value = raw.get(key)
    return value is None or (isinstance(value, kinds) and not isinstance(value, bool))


def parse_generation(raw: object, file: Path) -> Generation:
    """A Generation from the parsed JSON of `file` (ZooFormatError naming it when the shape is wrong)."""
    expected = ('an object with "spec" (dataset, nets, checkpoints) and the data source, image counts and '
                "seconds of the generation; regenerate the zoo, or delete the file")
    if not isinstance(raw, dict):
        raise ZooFormatError(f"{file}: holds {type(raw).__name__} {str(raw)[:40]}; expected {expected}")
    synthetic = bool(raw.get("synthetic"))
    spec = raw.get("spec", {} if synthetic else None)
    fields_ok = (_typed(raw, "data_source", (str,)) and _typed(raw, "train_images", (int,))
                 and _typed(raw, "test_images", (int,)) and _typed(raw, "runs", (int,))
                 and _typed(raw, "seconds_last_session", (int, float))
                 and isinstance(raw.get("train_fractions", []), list))
    spec_ok = isinstance(spec, dict) and (synthetic and not spec or (
        spec.get("dataset") in DATASETS and isinstance(spec.get("nets"), int) and not isinstance(spec["nets"], bool)
        and isinstance(spec.get("checkpoints"), list) and bool(spec["checkpoints"])
        and all(isinstance(c, int) for c in spec["checkpoints"])))
    if not (fields_ok and spec_ok):
        what = "spec" if not spec_ok else "a field of the wrong type"
        raise ZooFormatError(f"{file}: {what} is not as zoolib writes it ({str(raw.get('spec'))[:60]}); expected {expected}")
    return Generation(
        file=file, spec=spec, synthetic=synthetic, data_source=raw.get("data_source"),
        train_images=raw.get("train_images"), test_images=raw.get("test_images"),
        train_fractions=tuple(float(f) for f in raw.get("train_fractions", [])), runs=raw.get("runs"),
        seconds=float(raw.get("seconds_last_session") or 0),
    )


def read_generation(path: str | os.PathLike) -> Generation | None:
    """The generation.json of the zoo folder `path`, or None if it has none (downloaded, written by hand).

    ZooFormatError naming the file when it is not valid JSON or not of the shape zoolib writes."""
    file = Path(path) / GENERATION_FILE
    if not file.is_file():
        return None
    try:
        raw = json.loads(file.read_text())
    except ValueError as err:
        raise ZooFormatError(f"{file}: not valid JSON ({err}); regenerate the zoo, or delete the file") from None
    except OSError as err:
        raise ZooFormatError(f"{file}: cannot be read ({err.strerror}); check its permissions") from None
    return parse_generation(raw, file)


def is_synthetic(path: str | os.PathLike) -> bool:
    """Whether the zoo at `path` says it is synthetic (benchmarks/released_like.py: for time and memory, not findings)."""
    generation = read_generation(path)
    return generation is not None and generation.synthetic


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


# ----------------------------------------------------------------------------- one net of a zoo


def _config_value(zoo: Zoo, column: str, default):
    if column not in zoo.metrics or zoo.metrics[column].isna().all():
        return default
    values = zoo.metrics[column].dropna().unique()
    if len(values) != 1:
        raise ZooFormatError(f"{zoo.path}: {column} holds {list(values)}; one architecture per zoo expected")
    return values[0]


def zoo_architecture(zoo: Zoo, input_size: int | None = None) -> Architecture:
    """The architecture of the zoo's nets, checked against the zoo's layout.csv.

    A zoo made by `zoolib zoo generate` records its full architecture (padding, stride ... included) in
    generation.json; otherwise (the released zoo) it is read from config.dnn_architecture / num_layers /
    num_units with the paper's defaults for the rest. `input_size` defaults to the side of the zoo's images.
    """
    input_size = input_size or IMAGE_SIZE[dataset_of(zoo)]
    generation = read_generation(zoo.path) if zoo.path is not None else None
    if generation is not None:
        recorded = generation.spec.get("arch")
        if recorded:
            arch = Architecture.from_string(recorded)
            return _matching_layout(zoo, dataclasses.replace(arch, input_size=input_size))
    default = Architecture()
    kind = str(_config_value(zoo, "config.dnn_architecture", default.kind))
    if kind not in KINDS:
        raise ZooFormatError(f"{zoo.path}: config.dnn_architecture is {kind!r}; zoolib builds {KINDS}")
    arch = Architecture(
        kind=kind,
        num_layers=int(_config_value(zoo, "config.num_layers", default.num_layers)),
        num_units=int(_config_value(zoo, "config.num_units", default.num_units)),
        input_size=input_size,
    )
    return _matching_layout(zoo, arch)


def _matching_layout(zoo: Zoo, arch: Architecture) -> Architecture:
    """`arch` if the zoo's layout.csv is its layout, else a ZooFormatError naming both."""
    if not layout_table(zoo.layout).equals(layout_table(parameter_layout(arch))):
        raise ZooFormatError(
            f"{zoo.path}: layout.csv does not match the layout of {arch.to_string()} "
            f"(see `zoolib layout --arch {arch.to_string()}`); cannot rebuild these nets"
        )
    return arch


def keras_model(zoo: Zoo, row: int):
    """The Keras 3 model of one net of the zoo: row `row` of weights.npy loaded into the zoo's architecture
    (`zoo_architecture`, every variant; batch-norm moving statistics included) with the run's activation
    and dropout (config.activation, config.dropout). ValueError for a row that does not exist or holds NaN/Inf."""
    vector = row_weights(zoo, row)
    activation, dropout = row_activation_dropout(zoo, row)
    model = build_model(zoo_architecture(zoo), activation=activation, dropout=dropout)
    set_flat_parameters(model, vector, zoo.layout)
    return model


def row_weights(zoo: Zoo, row: int) -> np.ndarray:
    """The parameters of one net (float32); ValueError for a row that does not exist or holds NaN/Inf."""
    if not 0 <= row < len(zoo):
        raise ValueError(f"{zoo.path}: no row {row}; the zoo has rows 0 to {len(zoo) - 1}")
    vector = np.asarray(zoo.weights[row], np.float32)
    if not np.isfinite(vector).all():
        raise ValueError(f"{zoo.path}: row {row} holds NaN/Inf weights (its run diverged); choose another row")
    return vector


def row_activation_dropout(zoo: Zoo, row: int) -> tuple[str, float]:
    """The activation and dropout rate a row's run was trained with (relu and 0 where not recorded)."""
    meta = zoo.metrics.iloc[row]
    activation, dropout = meta.get("config.activation"), meta.get("config.dropout")
    return ("relu" if pd.isna(activation) else str(activation)), (0.0 if pd.isna(dropout) else float(dropout))


def run_row(zoo: Zoo, modeldir: str, step: int | None = None) -> int:
    """The row of run `modeldir` at epoch `step` (default: the run's last checkpoint); ValueError naming
    the run or the epochs it has when there is no such row."""
    runs = zoo.metrics["modeldir"].astype(str).to_numpy()
    rows = np.flatnonzero(runs == modeldir)
    if rows.size == 0:
        raise ValueError(f"{zoo.path}: no run {modeldir!r}; its runs are named like {runs[0]!r} (column modeldir "
                         f"of {METRICS_FILE})")
    steps = zoo.metrics["step"].to_numpy()[rows]
    if step is None:
        return int(rows[np.argmax(steps)])
    if step not in steps:
        raise ValueError(f"{zoo.path}: run {modeldir!r} has no checkpoint at epoch {step}; it has epochs "
                         f"{sorted(set(steps.tolist()))}")
    return int(rows[np.flatnonzero(steps == step)[0]])
