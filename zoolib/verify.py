"""Functional check of a zoo: rebuild nets from their weights rows, re-evaluate them, compare.

A structural check (zoolib.release.check_release) says the files are shaped right; this one says the
numbers mean what we think: for a sample of runs it loads the final checkpoint and one other checkpoint
as a Keras model (zoolib.zoo.keras_model: the zoo's architecture, the run's activation), evaluates it on the
dataset's test split with the paper's preprocessing, and compares with test_accuracy in metrics.csv.gz.
On a zoo we generated the two agree to within one test image; on the released zoo agreement shows that
layout, preprocessing and network match the paper's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from zoolib.data import IMAGE_SIZE
from zoolib.zoo import Zoo, ZooFormatError, dataset_of, keras_model, read_generation, zoo_architecture


def load_test_set(zoo: Zoo, allow_mnist_subset: bool = False, test_images: int | None = None):
    """The test split the zoo's accuracies were measured on: zoolib.data.load_dataset of its dataset,
    cut to the first `test_images` images. For a zoo made by `zoolib zoo generate`, its generation.json
    supplies the image counts (another `test_images` is refused: the accuracies were not measured on
    those images), and a zoo trained on the MNIST 5k subset is tested on it; a data source differing
    from the recorded one is a warning printed by the caller (returned as the second value, else None)."""
    from zoolib.data import load_dataset, load_mnist_subset

    if test_images is not None and test_images < 1:
        raise ValueError(f"test_images must be a positive number of images, got {test_images}")
    generation = read_generation(zoo.path) if zoo.path is not None else None
    spec = generation.spec if generation is not None else {}
    recorded = spec.get("test_images")
    if test_images is not None and recorded is not None and test_images != recorded:
        raise ValueError(f"--test-images {test_images}: the accuracies of {zoo.path} were measured on the first "
                         f"{recorded} test images ({generation.file}); on other images a wrong accuracy cannot be told "
                         "from the change of images: leave --test-images out")
    data = load_mnist_subset() if spec.get("mnist_subset") else load_dataset(dataset_of(zoo), allow_mnist_subset)
    test_images = test_images if test_images is not None else recorded
    if test_images is not None:
        data = data.subset(n_test=test_images)

    def origin(source) -> str:  # "<files>, first N/M images" -> "<files>": subsets of one source agree
        return str(source).split(", first ")[0]

    warning = None
    if generation is not None and generation.data_source and origin(data.source) != origin(generation.data_source):
        warning = f"the zoo was generated on {generation.data_source!r}, the test set here comes from {data.source!r}"
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
    y_test, the images the accuracies were recorded on); return one row per net: recorded and measured
    accuracy, their difference in accuracy and in test images, `ok` (|difference| <= tolerance_images
    test images) and `can_fail` (whether some accuracy on these images would fail the check: a net
    whose check cannot fail tells nothing). No row when every sampled checkpoint holds NaN/Inf
    weights: then nothing was checked. A tolerance of the whole test set, which no net can fail, is refused."""
    if n < 1:
        raise ValueError(f"n must be a positive number of nets, got {n}")
    if tolerance_images >= len(data.y_test):
        raise ValueError(f"--tolerance {tolerance_images:g}: no accuracy on {len(data.y_test)} test images differs "
                         "from the recorded one by more, so the check could not fail; give a tolerance below "
                         f"{len(data.y_test) / 2:g} images (default 1)")
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
    report = []
    for row in tqdm(rows, desc="re-evaluating nets", leave=False):
        meta = metrics.iloc[row]
        model = keras_model(zoo, int(row))
        measured = evaluate_accuracy(model, x, y)
        recorded = float(meta["test_accuracy"])
        images = (measured - recorded) * len(y)
        report.append(
            {
                "row": int(row),
                "modeldir": meta["modeldir"],
                "step": int(meta["step"]),
                "activation": str(meta.get("config.activation", "relu")),
                "recorded": recorded,
                "measured": measured,
                "difference": measured - recorded,
                "images": images,
                "ok": abs(images) <= tolerance_images + 1e-6,
                "can_fail": can_fail(recorded, len(y), tolerance_images),
            }
        )
    return pd.DataFrame(report)


def can_fail(recorded: float, test_images: int, tolerance_images: float) -> bool:
    """Whether a check of a net recorded at accuracy `recorded` could fail: some accuracy on
    `test_images` images (0, 1/n, ..., 1) lies more than `tolerance_images` images away from it."""
    return max(recorded, 1 - recorded) * test_images > tolerance_images + 1e-6


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
