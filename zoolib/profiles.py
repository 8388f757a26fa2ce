"""What each profile means, in one table: which collections it has, how they are generated, and how
much work the book's pages do on them.

- `tiny`: seconds of training, for tests and CI;
- `mini`: the default book, generated locally from data this machine has (about 30 min on 2 cores);
- `paper`: a zoo regenerated with the paper's protocol (`make zoo`, meant for a cluster);
- `released`: the Small CNN Zoo as published (downloaded, never generated).
A collection is a dataset's zoo of the paper's CNN ("fashion_mnist") or a folder of architecture
variants ("fashion_mnist_archs"). Generated profiles give nets per collection (per architecture for an
"_archs" collection), the checkpoint epochs and image subsets; every profile gives the predictor preset
('fast' or the paper's settings), the inputs the slow DNN sees in Table 2 (None: all) and the number of
bootstrap resamples behind each interval.
"""

from __future__ import annotations

import os
from pathlib import Path

from zoolib.data import DATASETS
from zoolib.files import data_dir

PROFILE_ENV = "ZOOLIB_PROFILE"
DEFAULT_PROFILE = "mini"
ARCHS_SUFFIX = "_archs"

PROFILES: dict[str, dict] = {
    "tiny": {
        "collections": {"fashion_mnist": 24, "mnist": 16, "fashion_mnist_archs": 4},
        "checkpoints": (0, 1, 2), "epochs_between_checkpoints": 1, "shard_size": 4,
        "train_images": 5120, "test_images": 1000, "allow_mnist_subset": True,
        "preset": "fast", "dnn_inputs": ("wstats-layers:0,1,2,3",), "n_bootstrap": 50,
    },
    "mini": {
        "collections": {"fashion_mnist": 160, "mnist": 160, "fashion_mnist_archs": 8},
        "checkpoints": (0, 1, 2, 3, 5, 10), "epochs_between_checkpoints": 5, "shard_size": 8,
        "train_images": None, "test_images": None, "allow_mnist_subset": True,
        "preset": "fast", "dnn_inputs": ("wstats-layers:0,1,2,3", "hyper", "wnorm-layers:0,1,2,3-l2"),
        "n_bootstrap": 200,
    },
    "paper": {
        "collections": {d: 30_000 for d in DATASETS},
        "checkpoints": (0, 1, 2, 3, 20, 40, 60, 80, 86), "epochs_between_checkpoints": 20, "shard_size": 20,
        "train_images": None, "test_images": None, "allow_mnist_subset": False,
        "preset": "paper", "dnn_inputs": None, "n_bootstrap": 1000,
    },
    "released": {
        "collections": {d: None for d in DATASETS},  # downloaded: `zoolib zoo download`
        "preset": "paper", "dnn_inputs": None, "n_bootstrap": 1000,
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
    """The settings of a profile (default: the book's), a copy."""
    return dict(PROFILES[check_profile(profile or current_profile())])


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
