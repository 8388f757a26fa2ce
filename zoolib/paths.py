"""Where datasets and zoos live: `$ZOOLIB_DATA` if set, else a `data/` folder in the working directory."""

from __future__ import annotations

import os
from pathlib import Path

PROFILES = ("released", "paper", "mini", "tiny")


def data_dir() -> Path:
    """Root of everything downloaded or generated (datasets/, zoos/)."""
    return Path(os.environ.get("ZOOLIB_DATA", "data")).expanduser()


def datasets_dir() -> Path:
    """Folder where dataset files (idx, CIFAR pickles, SVHN .mat) are looked for first."""
    return data_dir() / "datasets"


def zoo_dir(profile: str, dataset: str) -> Path:
    """Folder of the zoo of one profile and dataset, e.g. data/zoos/mini/fashion_mnist."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    return data_dir() / "zoos" / profile / dataset
