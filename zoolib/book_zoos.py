"""The zoos a book build runs on: the profile (`$ZOOLIB_PROFILE`), its collections, how to name them,
and how much work a page does on them.

A profile names collections (`zoolib.profiles.PROFILES`; the released zoo has one per dataset). A
collection is a dataset's main zoo ("fashion_mnist") or a folder of architecture variants
("fashion_mnist_archs"). Pages open what is on disk with `open_collections()`; what the profile
names but the disk lacks comes back in `missing`, with what to run to get it, so a page can say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zoolib.profiles import ARCHS_SUFFIX, collections, current_profile, zoo_dir
from zoolib.zoo import GENERATION_FILE, INDEX_FILE, Zoo, ZooFormatError, generation_info, read_collection, select_rows

DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR10-GS", "svhn_cropped": "SVHN-GS"}
MNIST_SUBSET_NAME = "MNIST 5k subset"


def how_to_get(profile_name: str, collection: str) -> str:
    """The command that makes a missing collection of a profile."""
    if profile_name == "released":
        return f"download it: `make download DATASET={collection}` (needs the zoo's host or its archive)"
    if profile_name == "paper":
        return "generate it with the paper's protocol: `make zoo` (days of CPU; meant for a cluster)"
    return f"generate it: `make book PROFILE={profile_name}`"


@dataclass
class Collection:
    """One collection of a build: its zoos (one for a dataset, one per architecture for '_archs')."""

    name: str
    profile: str
    dataset: str
    path: Path
    zoos: dict[str, Zoo]
    source: str

    @property
    def zoo(self) -> Zoo:
        """The collection's only zoo (main collections); raises for a collection of several."""
        if len(self.zoos) != 1:
            raise ValueError(f"{self.name} holds {len(self.zoos)} zoos ({sorted(self.zoos)}); pick one from .zoos")
        return next(iter(self.zoos.values()))

    @property
    def dataset_name(self) -> str:
        """Display name of the data the nets saw, e.g. 'Fashion-MNIST' or 'MNIST 5k subset'."""
        return MNIST_SUBSET_NAME if "5k subset" in self.source else DATASET_NAMES.get(self.dataset, self.dataset)

    def nets(self) -> int:
        return sum(int(z.metrics["modeldir"].nunique()) for z in self.zoos.values())

    def epochs(self) -> int:
        return max(int(z.metrics["step"].max()) for z in self.zoos.values())

    def label(self) -> str:
        """What a figure title says about this collection, e.g. 'mini zoo, Fashion-MNIST, 160 nets, 10 epochs'."""
        source = "released Small CNN Zoo" if self.profile == "released" else f"{self.profile} zoo"
        archs = f" ({len(self.zoos)} architectures)" if len(self.zoos) > 1 else ""
        return f"{source}, {self.dataset_name}, {self.nets()} nets{archs}, {self.epochs()} epochs"


def _source(path: Path, profile_name: str) -> str:
    if profile_name == "released":
        return "released Small CNN Zoo (arXiv 2002.11448)"
    if not (path / GENERATION_FILE).is_file():
        index = path / INDEX_FILE
        if index.is_file():
            first = pd.read_csv(index)["path"].iloc[0]
            return _source(path / str(first), profile_name)
        return f"generated (no {GENERATION_FILE})"
    return str(generation_info(path).get("data_source", "generated"))


def open_collection(profile_name: str, name: str) -> Collection:
    """Open one collection of a profile from disk (raises FileNotFoundError / ZooFormatError)."""
    path = zoo_dir(profile_name, name)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: missing")
    return Collection(name, profile_name, name.removesuffix(ARCHS_SUFFIX), path, read_collection(path),
                      _source(path, profile_name))


def open_collections(profile_name: str | None = None) -> tuple[dict[str, Collection], dict[str, str]]:
    """(present collections by name, missing collection -> why and what to run) of a profile."""
    profile_name = profile_name or current_profile()
    present, missing = {}, {}
    for name in collections(profile_name):
        try:
            present[name] = open_collection(profile_name, name)
        except FileNotFoundError:
            missing[name] = f"not on this machine ({zoo_dir(profile_name, name)}); {how_to_get(profile_name, name)}"
        except ZooFormatError as err:
            missing[name] = f"unreadable: {err}"
    return present, missing


def main_collections(collections: dict[str, Collection]) -> dict[str, Collection]:
    """The collections of the paper's CNN (one zoo each), without the architecture variants."""
    return {name: c for name, c in collections.items() if len(c.zoos) == 1 and c.name == c.dataset}


def summary(collections: dict[str, Collection], missing: dict[str, str]) -> pd.DataFrame:
    """One row per collection of the profile: what it holds, or why it is missing."""
    rows = []
    for name, c in collections.items():
        for arch, zoo in c.zoos.items():
            final = zoo.metrics.iloc[select_rows(zoo.metrics, "final")]["test_accuracy"]
            rows.append({
                "collection": name, "architecture": arch if len(c.zoos) > 1 else "paper's CNN",
                "data": c.dataset_name, "nets": int(zoo.metrics["modeldir"].nunique()), "rows": len(zoo),
                "epochs": int(zoo.metrics["step"].max()), "checkpoints": ", ".join(map(str, zoo.steps)),
                "parameters": int(zoo.weights.shape[1]), "median final test accuracy": round(float(final.median()), 4),
                "source": c.source, "status": "present",
            })
    for name, why in missing.items():
        rows.append({"collection": name, "status": f"missing: {why}"})
    return pd.DataFrame(rows)


def missing_note(missing: dict[str, str], names: list[str] | None = None) -> str:
    """A Markdown sentence per missing collection (all, or those in `names`), '' when none is missing."""
    lines = [f"- **{n}** is missing from this build: {why}." for n, why in missing.items() if names is None or n in names]
    return "\n".join(lines)


def paper_datasets_note(collections: dict[str, Collection]) -> str:
    """A Markdown sentence naming the paper's datasets that no main collection of the build covers ('' if none)."""
    have = {c.dataset for c in main_collections(collections).values()}
    absent = [name for dataset, name in DATASET_NAMES.items() if dataset not in have]
    if not absent:
        return ""
    return (f"The paper also reports {', '.join(absent)}; this build has no zoo of "
            f"{'it' if len(absent) == 1 else 'them'} (see [This build](this_build)), so they are absent here.")

