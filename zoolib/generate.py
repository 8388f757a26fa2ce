"""Generate zoos: sample hyperparameters, train the nets in shards as Dask tasks, merge, resume.

A zoo is trained in shards of consecutive runs, each a Dask task (an embedded LocalCluster of
single-threaded worker processes, one per core, or a cluster given by its scheduler address). Every
finished shard is written atomically (temporary name, then rename) to `<out>.shards/`; its file name
carries a fingerprint of everything that determines its content (configs, data, checkpoints,
architecture). The configs are a pure function of the seed, so running the same command again after
a crash or `kill -9` skips the shards already there and ends with the same zoo. When every shard
exists they are merged into `<out>` in the released format (zoolib.zoo.write_zoo), with a
`generation.json` that says how the zoo was made (data source included), and the shards are removed.

Profiles (`zoolib.profiles.PROFILES`) name collections: "<dataset>" is a zoo of the paper's CNN in
`zoo_dir(profile, dataset)`; "<dataset>_archs" is a folder holding one released-format zoo per
architecture variant (ARCHITECTURES; their parameter counts differ, so each has its own weights.npy
and layout.csv) plus an index, architectures.csv.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from zoolib.cnn import PAPER_ARCHITECTURE, Architecture, num_parameters, parameter_layout
from zoolib.data import DATASETS, IMAGE_SIZE, Dataset, load_dataset
from zoolib.hparams import DEFAULT_SEED_POLICY, SEED_POLICIES, SPACE, sample_configs
from zoolib.files import atomic_write, write_text_atomic
from zoolib.profiles import ARCHS_SUFFIX, PROFILES, check_profile, dataset_of_collection, zoo_dir
from zoolib.zoo import GENERATION_FILE, INDEX_FILE, read_zoo, write_zoo

MIN_TRAIN_IMAGES = 512  # one batch: a run's training subset must hold at least this many images

# Variants of the paper's CNN for the architecture-transfer collection (input size set per dataset).
ARCHITECTURES: dict[str, Architecture] = {
    "cnn_deep": Architecture(num_layers=5, padding="same"),
    "cnn_wide": Architecture(num_units=32),
    "cnn_bn": Architecture(kind="cnn_bn"),
    "mlp": Architecture(kind="mlp", num_layers=2, num_units=32),
}

@dataclass(frozen=True)
class ZooSpec:
    """Everything that determines one zoo (profile and collection only label it)."""

    dataset: str
    nets: int
    checkpoints: tuple[int, ...]
    epochs_between_checkpoints: int = 20
    arch: Architecture = PAPER_ARCHITECTURE
    arch_name: str = "cnn"
    seed: int = 0
    shard_size: int = 10
    train_images: int | None = None
    test_images: int | None = None
    allow_mnist_subset: bool = False
    seeds: str = DEFAULT_SEED_POLICY  # "shared" (the paper's: one seed for the zoo) or "per-run"
    profile: str = ""
    collection: str = ""

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; expected one of {DATASETS}")
        if self.nets < 1 or self.shard_size < 1:
            raise ValueError(f"nets and shard_size must be positive, got {self.nets} and {self.shard_size}")
        if self.seeds not in SEED_POLICIES:
            raise ValueError(f"seeds must be one of {SEED_POLICIES}, got {self.seeds!r}")
        if not self.checkpoints or min(self.checkpoints) < 0 or list(self.checkpoints) != sorted(set(self.checkpoints)):
            raise ValueError(f"checkpoints must be increasing epochs >= 0, got {self.checkpoints}")
        size = IMAGE_SIZE[self.dataset]
        if self.arch.input_size != size:
            object.__setattr__(self, "arch", dataclasses.replace(self.arch, input_size=size))

    @property
    def epochs(self) -> int:
        return self.checkpoints[-1]

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["arch"] = self.arch.to_string()
        out["checkpoints"] = list(self.checkpoints)
        return out


# ----------------------------------------------------------------------------- profiles and collections


def collection_specs(
    profile: str, collection: str, nets: int | None = None, shard_size: int | None = None,
    seeds: str = DEFAULT_SEED_POLICY,
) -> dict[str, ZooSpec]:
    """Specs of a collection: {"": spec} for a dataset's main zoo, {arch name: spec} for "<dataset>_archs"."""
    settings = PROFILES[check_profile(profile, generated=True)]
    dataset = dataset_of_collection(collection)
    common = dict(
        dataset=dataset,
        nets=nets or settings["collections"].get(collection) or settings["collections"][dataset],
        checkpoints=tuple(settings["checkpoints"]),
        epochs_between_checkpoints=settings["epochs_between_checkpoints"],
        shard_size=shard_size or settings["shard_size"],
        seeds=seeds,
        train_images=settings["train_images"],
        test_images=settings["test_images"],
        allow_mnist_subset=settings["allow_mnist_subset"],
        profile=profile,
        collection=collection,
    )
    if collection == dataset:
        return {"": ZooSpec(**common)}
    return {
        name: ZooSpec(**common, arch=arch, arch_name=name, seed=i + 1)
        for i, (name, arch) in enumerate(ARCHITECTURES.items())
    }


def _zoo_paths(out: Path, specs: dict[str, ZooSpec]) -> dict[str, Path]:
    return {name: (out / name if name else out) for name in specs}


def ensure_profile_zoos(
    profile: str, scheduler: str | None = None, workers: int | None = None, progress: bool = True
) -> dict[str, Path]:
    """Generate (or reuse, when complete) every collection of a profile; collection name -> folder."""
    paths = {c: zoo_dir(profile, c) for c in PROFILES[check_profile(profile, generated=True)]["collections"]}
    pending = [c for c, path in paths.items() if not collection_complete(path, collection_specs(profile, c))]
    if pending:
        with dask_client(scheduler, workers) as client:
            for collection in pending:
                generate_collection(profile, collection, client=client, progress=progress)
    return paths


def generate_collection(
    profile: str,
    collection: str,
    nets: int | None = None,
    out: str | os.PathLike | None = None,
    shard_size: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client=None,
    progress: bool = True,
    seeds: str = DEFAULT_SEED_POLICY,
) -> Path:
    """Generate one collection of a profile into `out` (default: its zoo_dir); resumes, reuses complete zoos.

    seeds: the seed policy, "shared" (the paper's) or "per-run" (see zoolib.hparams)."""
    specs = collection_specs(profile, collection, nets, shard_size, seeds)
    out = Path(out) if out is not None else zoo_dir(profile, collection)
    paths = _zoo_paths(out, specs)
    pending = [name for name, spec in specs.items() if not zoo_complete(paths[name], spec)]
    if pending:
        with contextlib.nullcontext(client) if client else dask_client(scheduler, workers) as active:
            for name in pending:
                generate_zoo(specs[name], paths[name], client=active, progress=progress)
    if collection.endswith(ARCHS_SUFFIX):
        _write_index(out, specs)
    return out


def zoo_complete(path: Path, spec: ZooSpec) -> bool:
    """True when `path` holds a finished zoo made from `spec` (shard size aside)."""
    try:
        recorded = json.loads((Path(path) / GENERATION_FILE).read_text())["spec"]
    except (OSError, ValueError, KeyError):
        return False
    current = spec.to_dict()
    same = all(recorded.get(k) == v for k, v in current.items() if k != "shard_size")
    return same and all((Path(path) / f).is_file() for f in ("weights.npy", "metrics.csv.gz", "layout.csv"))


def collection_complete(out: Path, specs: dict[str, ZooSpec]) -> bool:
    complete = all(zoo_complete(p, specs[n]) for n, p in _zoo_paths(out, specs).items())
    return complete and ("" in specs or (out / INDEX_FILE).is_file())


def _write_index(out: Path, specs: dict[str, ZooSpec]) -> None:
    rows = [
        {"name": name, "architecture": s.arch.to_string(), "kind": s.arch.kind, "num_layers": s.arch.num_layers,
         "num_units": s.arch.num_units, "padding": s.arch.padding, "parameters": num_parameters(s.arch),
         "nets": s.nets, "path": name}
        for name, s in specs.items()
    ]
    write_text_atomic(out / INDEX_FILE, pd.DataFrame(rows).to_csv(index=False))


# ----------------------------------------------------------------------------- one zoo


def train_fractions(num_train: int) -> tuple[float, ...]:
    """The Table 1 train fractions that leave at least one batch of a `num_train`-image training set."""
    allowed = tuple(f for f in SPACE["train_fraction"][1] if int(num_train * f) >= MIN_TRAIN_IMAGES)
    if not allowed:
        raise ValueError(f"{num_train} training images hold less than one batch of {MIN_TRAIN_IMAGES}")
    return allowed


def zoo_configs(spec: ZooSpec, num_train: int) -> pd.DataFrame:
    """The configs of a zoo; train fractions that leave less than one batch are left out of the space."""
    fractions = train_fractions(num_train)
    return sample_configs(
        spec.nets, spec.dataset, spec.seed, spec.epochs, spec.epochs_between_checkpoints, arch=spec.arch,
        arch_name=spec.arch_name, train_fractions=fractions, seeds=spec.seeds,
    )


def load_spec_data(spec: ZooSpec) -> Dataset:
    """The dataset of a spec, cut to its image subsets."""
    data = load_dataset(spec.dataset, allow_mnist_subset=spec.allow_mnist_subset)
    if spec.train_images is not None or spec.test_images is not None:
        data = data.subset(spec.train_images, spec.test_images)
    return data


def _shard_dir(out: Path) -> Path:
    return out.parent / f"{out.name}.shards"


def _shard_plan(spec: ZooSpec, configs: pd.DataFrame, data: Dataset) -> list[tuple[int, int, str]]:
    """(start, stop, file name) of every shard; the name's hash covers all that determines the shard."""
    identity = {k: v for k, v in spec.to_dict().items() if k not in ("nets", "shard_size", "profile", "collection")}
    identity.update(data_source=data.source, num_train=len(data.y_train), num_test=len(data.y_test))
    plan = []
    for start in range(0, spec.nets, spec.shard_size):
        stop = min(start + spec.shard_size, spec.nets)
        text = json.dumps(identity, sort_keys=True) + configs.iloc[start:stop].to_csv(index=False)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        plan.append((start, stop, f"shard-{start:06d}-{stop:06d}-{digest}.npz"))
    return plan


def generate_zoo(
    spec: ZooSpec,
    out: str | os.PathLike,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Train the zoo of `spec` into `out` (resumable; a complete zoo is left as it is)."""
    out = Path(out)
    if zoo_complete(out, spec):
        return out
    started = time.time()
    data = load_spec_data(spec)
    configs = zoo_configs(spec, len(data.y_train))
    plan = _shard_plan(spec, configs, data)
    shard_dir = _shard_dir(out)
    todo = [shard for shard in plan if not (shard_dir / shard[2]).is_file()]
    label = f"{spec.collection or spec.dataset}{'/' + spec.arch_name if spec.arch_name != 'cnn' else ''}"
    if len(todo) < len(plan):
        done_nets = spec.nets - sum(stop - start for start, stop, _ in todo)
        message = f"{label}: resuming, {len(plan) - len(todo)} of {len(plan)} shards ({done_nets} nets) already done"
        tqdm.write(message, file=sys.stderr)
    if todo:
        shard_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.nullcontext(client) if client else dask_client(scheduler, workers) as active:
            _run_shards(active, spec, configs, data, todo, shard_dir, label, progress)
    _merge(out, spec, data, plan, shard_dir, elapsed=time.time() - started)
    return out


def _run_shards(client, spec, configs, data, todo, shard_dir: Path, label: str, progress: bool) -> None:
    from dask.distributed import as_completed

    data_future = client.scatter(data, broadcast=True, hash=False)
    futures = {}
    for start, stop, name in todo:
        future = client.submit(
            _train_shard, configs.iloc[start:stop].reset_index(drop=True), data_future, spec.checkpoints,
            spec.arch, key=f"zoolib-{name}",
        )
        futures[future] = (stop - start, name)
    done_before = spec.nets - sum(n for n, _ in futures.values())
    bar = tqdm(total=spec.nets, initial=done_before, desc=label, unit="net", disable=not progress)
    try:
        for future, (weights, metrics) in as_completed(futures, with_results=True):
            count, name = futures[future]
            _write_shard(shard_dir / name, weights, metrics)
            bar.update(count)
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        bar.close()


_THREADS_CONFIGURED = False


def _train_shard(configs: pd.DataFrame, data: Dataset, checkpoints, arch: Architecture):
    """Dask task: train one shard in a worker with single-threaded TensorFlow."""
    global _THREADS_CONFIGURED
    from zoolib.train import configure_threads, train_nets

    if not _THREADS_CONFIGURED:
        with contextlib.suppress(RuntimeError):  # a reused worker whose TensorFlow already runs keeps its pools
            configure_threads(1, 1)
        _THREADS_CONFIGURED = True
    return train_nets(configs, data, checkpoints, arch=arch, progress=False)


def _write_shard(path: Path, weights: np.ndarray, metrics: pd.DataFrame) -> None:
    """weights and metrics columns in one .npz, written to a temporary name then renamed."""
    columns = {
        f"metrics:{c}": values.to_numpy() if values.dtype.kind in "biuf" else values.astype(str).to_numpy(dtype=str)
        for c, values in metrics.items()
    }
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, weights=np.asarray(weights, np.float32), **columns)
        f.flush()
        os.fsync(f.fileno())


def _read_shard_metrics(path: Path) -> pd.DataFrame:
    with np.load(path, allow_pickle=False) as f:
        return pd.DataFrame({k.removeprefix("metrics:"): f[k] for k in f.files if k.startswith("metrics:")})


def _merge(out: Path, spec: ZooSpec, data: Dataset, plan, shard_dir: Path, elapsed: float) -> None:
    """Concatenate the shards in run order into the released format, record generation.json, drop shards.

    Weights go through a memory-mapped file one shard at a time, so memory stays small for 30k nets.
    """
    from numpy.lib.format import open_memmap

    parts = [_read_shard_metrics(shard_dir / name) for _, _, name in plan]
    metrics = pd.concat(parts, ignore_index=True)
    shape = (len(metrics), num_parameters(spec.arch))
    merged = open_memmap(shard_dir / ".merged.npy", mode="w+", dtype=np.float32, shape=shape)
    offset = 0
    for (_, _, name), part in zip(plan, parts):
        with np.load(shard_dir / name, allow_pickle=False) as f:
            merged[offset : offset + len(part)] = f["weights"]
        offset += len(part)
    merged.flush()
    rows = len(metrics)
    write_zoo(out, merged, metrics, parameter_layout(spec.arch))
    del merged
    info = {
        "spec": spec.to_dict(),
        "data_source": data.source,
        "train_images": len(data.y_train),
        "test_images": len(data.y_test),
        "train_fractions": list(train_fractions(len(data.y_train))),
        "runs": int(metrics["modeldir"].nunique()),
        "rows": rows,
        "parameters": num_parameters(spec.arch),
        "seconds_last_session": round(elapsed, 1),
        "zoolib_version": version("zoolib"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_text_atomic(out / GENERATION_FILE, json.dumps(info, indent=2))
    shutil.rmtree(shard_dir, ignore_errors=True)


# ----------------------------------------------------------------------------- Dask


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: of the cluster at `scheduler`, else of a LocalCluster of single-threaded processes."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    with LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    ) as cluster, Client(cluster) as client:
        yield client
