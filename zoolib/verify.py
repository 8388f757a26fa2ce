"""Functional check of a zoo: rebuild nets from their weights rows, re-evaluate them, compare.

A structural check (zoolib.release.check_release) says the files are shaped right; this one says the
numbers mean what we think: for a sample of runs it loads the final checkpoint and one other checkpoint
into zoolib.cnn.build_model (the run's activation, the zoo's architecture), evaluates it on the
dataset's test split with the paper's preprocessing, and compares with test_accuracy in metrics.csv.gz.
On a zoo we generated the two agree to within one test image; on the released zoo agreement shows that
layout, preprocessing and network match the paper's.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from zoolib.cnn import Architecture, KINDS, build_model, parameter_layout, set_flat_parameters
from zoolib.data import IMAGE_SIZE
from zoolib.zoo import GENERATION_FILE, Zoo, ZooFormatError, dataset_of, generation_info, layout_table


def _config_value(zoo: Zoo, column: str, default):
    if column not in zoo.metrics or zoo.metrics[column].isna().all():
        return default
    values = zoo.metrics[column].dropna().unique()
    if len(values) != 1:
        raise ZooFormatError(f"{zoo.path}: {column} holds {list(values)}; one architecture per zoo expected")
    return values[0]


def zoo_architecture(zoo: Zoo, input_size: int) -> Architecture:
    """The architecture of the zoo's nets, checked against the zoo's layout.csv.

    A zoo made by `zoolib zoo generate` records its full architecture (padding, stride ... included) in
    generation.json; otherwise (the released zoo) it is read from config.dnn_architecture / num_layers /
    num_units with the paper's defaults for the rest.
    """
    if zoo.path is not None and (zoo.path / GENERATION_FILE).is_file():
        recorded = generation_info(zoo.path).get("spec", {}).get("arch")
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


def load_test_set(zoo: Zoo, allow_mnist_subset: bool = False, test_images: int | None = None):
    """The test split the zoo's accuracies were measured on: zoolib.data.load_dataset of its dataset,
    cut to the first `test_images` images. For a zoo made by `zoolib zoo generate`, its generation.json
    supplies the image counts unless given, and a zoo trained on the MNIST 5k subset is tested on it; a
    data source differing from the recorded one is a warning printed by the caller (returned as the
    second value, else None)."""
    from zoolib.data import load_dataset, load_mnist_subset

    if test_images is not None and test_images < 1:
        raise ValueError(f"test_images must be a positive number of images, got {test_images}")
    made = zoo.path is not None and (zoo.path / GENERATION_FILE).is_file()
    info = generation_info(zoo.path) if made else {}
    spec = info.get("spec", {})
    data = load_mnist_subset() if spec.get("mnist_subset") else load_dataset(dataset_of(zoo), allow_mnist_subset)
    test_images = test_images if test_images is not None else spec.get("test_images")
    if test_images is not None:
        data = data.subset(n_test=test_images)

    def origin(source) -> str:  # "<files>, first N/M images" -> "<files>": subsets of one source agree
        return str(source).split(", first ")[0]

    warning = None
    if "data_source" in info and origin(data.source) != origin(info["data_source"]):
        warning = f"the zoo was generated on {info['data_source']!r}, the test set here comes from {data.source!r}"
    return data, warning


def sample_rows(metrics: pd.DataFrame, n: int, seed: int = 0, finite: np.ndarray | None = None) -> np.ndarray:
    """Row positions of up to n checkpoints: runs in a seeded random order, for each its final row
    and one other random row. Rows where `finite` is False are skipped."""
    rng = np.random.default_rng(seed)
    runs = list(metrics.groupby("modeldir", sort=False).indices.values())
    steps = metrics["step"].to_numpy()
    chosen: list[int] = []
    for i in rng.permutation(len(runs)):
        rows = runs[i][np.argsort(steps[runs[i]], kind="stable")]
        if finite is not None:
            rows = rows[finite[rows]]
        if rows.size == 0:
            continue
        picks = [rows[-1]] + ([rng.choice(rows[:-1])] if rows.size > 1 else [])
        chosen.extend(int(r) for r in picks[: n - len(chosen)])
        if len(chosen) >= n:
            break
    return np.array(chosen, dtype=np.int64)


def evaluate_accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 2500) -> float:
    """Fraction of test images the model classifies correctly (evaluation mode: no dropout)."""
    correct = 0
    for start in range(0, len(x), batch_size):
        logits = np.asarray(model(x[start : start + batch_size], training=False))
        correct += int((logits.argmax(axis=1) == y[start : start + batch_size]).sum())
    return correct / len(x)


def verify_zoo(zoo: Zoo, data, n: int = 20, seed: int = 0, tolerance_images: float = 1.0) -> pd.DataFrame:
    """Re-evaluate n sampled checkpoints of `zoo` on `data` (a zoolib.data.Dataset: name, x_test,
    y_test); return one row per net: recorded and measured accuracy, their difference in accuracy and
    in test images, and `ok` (|difference| <= tolerance_images test images). No row when every
    sampled checkpoint holds NaN/Inf weights: then nothing was checked."""
    if n < 1:
        raise ValueError(f"n must be a positive number of nets, got {n}")
    dataset = dataset_of(zoo)
    if data.name != dataset:
        raise ValueError(f"the zoo holds {dataset} nets but the test set given is {data.name}")
    arch = zoo_architecture(zoo, IMAGE_SIZE[dataset])
    if tuple(data.x_test.shape[1:]) != arch.input_shape:
        raise ValueError(f"test images have shape {data.x_test.shape[1:]}, the zoo's nets take {arch.input_shape}")
    x, y = np.asarray(data.x_test, np.float32), np.asarray(data.y_test)
    metrics = zoo.metrics
    candidates = sample_rows(metrics, 4 * n, seed)  # spare rows in case some hold NaN/Inf
    finite = np.zeros(len(metrics), dtype=bool)
    finite[candidates] = [np.isfinite(zoo.weights[r]).all() for r in candidates]
    rows = sample_rows(metrics, n, seed, finite)
    models: dict[str, object] = {}
    report = []
    for row in tqdm(rows, desc="re-evaluating nets", leave=False):
        meta = metrics.iloc[row]
        activation = str(meta.get("config.activation", "relu"))
        if activation not in models:
            models[activation] = build_model(arch, activation=activation)
        set_flat_parameters(models[activation], np.asarray(zoo.weights[row]), zoo.layout)
        measured = evaluate_accuracy(models[activation], x, y)
        recorded = float(meta["test_accuracy"])
        images = (measured - recorded) * len(y)
        report.append(
            {
                "row": int(row),
                "modeldir": meta["modeldir"],
                "step": int(meta["step"]),
                "activation": activation,
                "recorded": recorded,
                "measured": measured,
                "difference": measured - recorded,
                "images": images,
                "ok": abs(images) <= tolerance_images + 1e-6,
            }
        )
    return pd.DataFrame(report)


def failures(report: pd.DataFrame) -> list[str]:
    """One line per net off by more than the tolerance, naming its row, run and epoch."""
    return [
        f"row {r.row} (run {r.modeldir}, epoch {r.step}): measured {r.measured:.4f}, recorded "
        f"{r.recorded:.4f} ({r.images:+.1f} test images)"
        for r in report.itertuples()
        if not r.ok
    ]


SCALED_INITIALIZERS = ("RandomNormal", "TruncatedNormal")  # draws scale with config.init_std


def initial_structure(zoo: Zoo, signature_columns: int = 8) -> pd.DataFrame:
    """Do runs with the same initializer start from the same draws (the paper's one shared seed)?

    One row per config.w_init over the epoch-0 rows: runs, distinct starts, runs in the most common
    start, and `shared` (one start for all runs). RandomNormal and TruncatedNormal rows are divided by
    config.init_std first: with a shared seed they are the same draws scaled by init_std. Starts are
    grouped by a few kernel entries, then each member is compared with its group's first row in full
    (equal up to float32 round-off of the scaling).
    """
    metrics = zoo.metrics
    missing = [c for c in ("config.w_init", "step") if c not in metrics]
    if missing:
        raise ZooFormatError(f"{zoo.path}: metrics lack {missing}; cannot compare initial weights")
    first = np.flatnonzero(metrics["step"].to_numpy().astype(int) == 0)
    if first.size == 0:
        raise ZooFormatError(f"{zoo.path}: no epoch-0 rows (step 0); the initial weights were not saved")
    kernels = zoo.layout[zoo.layout["varname"].str.endswith("kernel:0")]
    start = int(kernels["start_idx"].iloc[0])
    columns = np.arange(start, min(start + signature_columns, int(kernels["end_idx"].iloc[0])))
    report = []
    w_inits = metrics["config.w_init"].to_numpy()[first]
    for w_init in sorted(set(w_inits)):
        positions = first[w_inits == w_init]
        weights = np.asarray(zoo.weights[positions], np.float64)
        scaled = w_init in SCALED_INITIALIZERS
        if scaled:
            weights /= metrics["config.init_std"].to_numpy(np.float64)[positions, None]
        _, group = np.unique(np.round(weights[:, columns], 3), axis=0, return_inverse=True)
        group = group.ravel()
        tolerance = dict(rtol=1e-5, atol=1e-6) if scaled else dict(rtol=0, atol=0)
        starts, sizes = 0, []
        for g in np.unique(group):
            members = weights[group == g]
            same = np.array([np.allclose(row, members[0], **tolerance) for row in members])
            starts += 1 + int((~same).sum())
            sizes.append(int(same.sum()))
        report.append({"w_init": w_init, "runs": len(positions), "starts": starts, "largest": max(sizes),
                       "scaled_by_init_std": scaled, "shared": starts == 1})
    return pd.DataFrame(report)
