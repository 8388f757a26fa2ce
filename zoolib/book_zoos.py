"""The zoos a book build runs on: the profile (`$ZOOLIB_PROFILE`), its collections, how to name them,
and how much work a page does on them.

A profile names collections (`zoolib.profiles.PROFILES`; the released zoo has one per dataset). A
collection is a dataset's main zoo ("fashion_mnist") or a folder of architecture variants
("fashion_mnist_archs"). A page starts with one call, `ctx = page()`: the resolved profile, the
collections on disk (`open_collections`), those the profile names but the disk lacks (`missing`, with
what to run to get them, so a page can say so), and the zoo label glued for the page's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zoolib import claims
from zoolib.files import data_dir
from zoolib.profiles import ARCHS_SUFFIX, Profile, resolve
from zoolib.zoo import (GENERATION_FILE, INDEX_FILE, RELEASED_SOURCE, SYNTHETIC_SOURCE, Generation, Zoo, ZooFormatError,
                        is_synthetic, read_collection, read_generation, select_rows)

DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR10-GS", "svhn_cropped": "SVHN-GS"}
MNIST_SUBSET_NAME = "MNIST 5k subset"


@dataclass
class Collection:
    """One collection of a build: its zoos (one for a dataset, one per architecture for '_archs')."""

    name: str
    profile: Profile
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

    @property
    def synthetic(self) -> bool:
        """Made by benchmarks/released_like.py: its numbers measure time and memory, never findings."""
        return self.source == SYNTHETIC_SOURCE

    def nets(self) -> int:
        return sum(int(z.metrics["modeldir"].nunique()) for z in self.zoos.values())

    def epochs(self) -> int:
        return max(int(z.metrics["step"].max()) for z in self.zoos.values())

    def label(self) -> str:
        """What a figure title says about this collection, e.g. 'mini zoo, Fashion-MNIST, 160 nets, 10 epochs'."""
        source = SYNTHETIC_SOURCE if self.synthetic else self.profile.zoo_name
        archs = f" ({len(self.zoos)} architectures)" if len(self.zoos) > 1 else ""
        return f"{source}, {self.dataset_name}, {self.nets()} nets{archs}, {self.epochs()} epochs"


def _source(path: Path, profile: Profile) -> str:
    if is_synthetic(path):
        return SYNTHETIC_SOURCE
    if not profile.generated:
        return RELEASED_SOURCE
    generation = read_generation(path)
    if generation is None:
        index = path / INDEX_FILE
        if index.is_file():
            first = pd.read_csv(index)["path"].iloc[0]
            return _source(path / str(first), profile)
        return f"generated (no {GENERATION_FILE})"
    return generation.data_source or "generated"


def recorded_generation(zoo: Zoo) -> Generation | None:
    """The zoo's generation.json, None for a zoo without one (downloaded, or not read from disk)."""
    return read_generation(zoo.path) if zoo.path is not None else None


def open_collection(profile: Profile, name: str) -> Collection:
    """Open one collection of a profile from disk (raises FileNotFoundError / ZooFormatError)."""
    path = profile.zoo_dir(name)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: missing")
    collection = Collection(name, profile, name.removesuffix(ARCHS_SUFFIX), path, read_collection(path),
                            _source(path, profile))
    if collection.synthetic:
        claims.note_synthetic(collection.dataset_name)
    return collection


def open_collections(profile: Profile) -> tuple[dict[str, Collection], dict[str, str]]:
    """(present collections by name, missing collection -> why and what to run) of a profile."""
    present, missing = {}, {}
    for name in profile.collections:
        try:
            present[name] = open_collection(profile, name)
        except FileNotFoundError:
            missing[name] = f"not on this machine ({profile.zoo_dir(name)}); {profile.how_to_get(name)}"
        except ZooFormatError as err:
            missing[name] = f"unreadable: {err}"
    return present, missing


def main_collections(collections: dict[str, Collection]) -> dict[str, Collection]:
    """The collections of the paper's CNN (one zoo each), without the architecture variants."""
    return {name: c for name, c in collections.items() if len(c.zoos) == 1 and c.name == c.dataset}


def variant_collections(collections: dict[str, Collection]) -> dict[str, Collection]:
    """The "<dataset>_archs" collections: one zoo per variant of the paper's CNN."""
    return {name: c for name, c in collections.items() if name.endswith(ARCHS_SUFFIX)}


def with_paper_cnn(variant: Collection, collections: dict[str, Collection]) -> dict[str, Zoo]:
    """The zoos of an architecture collection, after the paper's CNN of the same dataset when this build has it."""
    base = collections.get(variant.dataset)
    return {**({"cnn (paper's)": base.zoo} if base is not None else {}), **variant.zoos}


@dataclass
class Page:
    """What a book page runs on (`page()`): the profile, its collections and the zoos of the paper's CNN."""

    profile: Profile
    collections: dict[str, Collection]  # on this machine, by name
    missing: dict[str, str]  # collection the profile names but this machine lacks -> why, and what to run
    main: dict[str, Collection]  # the collections of the paper's CNN (`main_collections`)
    zoos: dict[str, Zoo]  # the zoo of each main collection, by collection name

    @property
    def named_zoos(self) -> dict[str, Zoo]:
        """The zoo of each main collection by the name of its data (e.g. 'Fashion-MNIST'), as results show it."""
        return {c.dataset_name: c.zoo for c in self.main.values()}


LABELLED = ("main", "variants", "all")  # which collections a page's glued zoo label names


def page(profile: str | Profile | None = None, label: str = "main") -> Page:
    """The setup of a book page: resolve the profile (default: the book's, $ZOOLIB_PROFILE), open its
    collections, and glue "zoos" (display=False), the label of the collections the page shows: the main
    ones, the architecture variants, or all. An unknown predictor preset is refused here, before any work."""
    from myst_nb import glue  # the book's dependency: imported only when a page sets up

    from zoolib.predictors import check_preset

    if label not in LABELLED:
        raise ValueError(f"label must be one of {LABELLED}, got {label!r}")
    profile = profile if isinstance(profile, Profile) else resolve(profile)
    check_preset(profile.preset)
    collections, missing = open_collections(profile)
    main = main_collections(collections)
    shown = {"main": main, "variants": variant_collections(collections), "all": collections}[label]
    glue("zoos", labels(shown), display=False)
    return Page(profile, collections, missing, main, {name: c.zoo for name, c in main.items()})


def summary(collections: dict[str, Collection], missing: dict[str, str]) -> pd.DataFrame:
    """One row per zoo of the profile (what it holds), then one per missing collection (why it is missing).

    Narrow enough for a book page: the data sources are in `sources()`, the reasons in `missing_note()`.
    """
    rows = []
    for name, c in collections.items():
        for arch, zoo in c.zoos.items():
            final = zoo.metrics.iloc[select_rows(zoo.metrics, "final")]["test_accuracy"]
            rows.append({
                "collection": name, "architecture": arch if len(c.zoos) > 1 else "paper's CNN",
                "data": c.dataset_name, "nets": int(zoo.metrics["modeldir"].nunique()),
                "epochs": int(zoo.metrics["step"].max()), "checkpoints": ", ".join(map(str, zoo.steps)),
                "parameters": int(zoo.weights.shape[1]), "median test accuracy": round(float(final.median()), 3),
            })
    for name in missing:
        rows.append({"collection": name, "architecture": "missing (see below)"})
    return pd.DataFrame(rows)


def final_rows(collections: dict[str, Collection]) -> dict[str, pd.DataFrame]:
    """The metrics rows of the final checkpoints of each collection's one zoo, by collection name."""
    return {name: c.zoo.metrics.iloc[select_rows(c.zoo.metrics, "final")] for name, c in collections.items()}


def pooled_final_rows(collections: dict[str, Collection]) -> pd.DataFrame:
    """The `final_rows` of all collections in one table, its 'collection' column naming each one's data."""
    return pd.concat([frame.assign(collection=collections[name].dataset_name)
                      for name, frame in final_rows(collections).items()], ignore_index=True)


def accuracy_summary(collections: dict[str, Collection]) -> pd.DataFrame:
    """Per collection (its label, the index): the median final test accuracy, the share of nets at or below
    20 % (near chance) and the median train - test gap."""
    rows = []
    for name, frame in final_rows(collections).items():
        acc = frame["test_accuracy"]
        rows.append({
            "collection": collections[name].label(),
            "median test accuracy": round(float(acc.median()), 3),
            "nets at or below 20 % (near chance)": f"{(acc <= 0.2).mean():.0%}",
            "median train - test gap": round(float((frame["train_accuracy"] - acc).median()), 3),
        })
    return pd.DataFrame(rows, columns=["collection", "median test accuracy", "nets at or below 20 % (near chance)",
                                       "median train - test gap"]).set_index("collection")


def accuracy_verdict(summary: pd.DataFrame) -> str:
    """The "Zoo" page's verdict (Markdown): an `accuracy_summary` in sentences, one per collection."""
    return " ".join(f"{label}: median test accuracy {r['median test accuracy']:.3f}, "
                    f"{r['nets at or below 20 % (near chance)']} of the nets at or below 20 % (near chance), "
                    f"median train - test gap {r['median train - test gap']:.3f}." for label, r in summary.iterrows())


def sources(collections: dict[str, Collection]) -> str:
    """A Markdown list: where the images of each collection came from (paths relative to the data folder)."""
    return "\n".join(f"- **{name}**: {data_relative(c.source)}" for name, c in collections.items())


def data_relative(text: str) -> str:
    """`text` with the paths under the data folder ($ZOOLIB_DATA, default data/) relative to it, e.g.
    '/home/me/zoolib/data/zoos/mini/mnist' -> 'zoos/mini/mnist': a published page shows no builder's paths."""
    root = data_dir()
    for prefix in dict.fromkeys((str(root.expanduser().resolve()), str(root.absolute()), str(root))):
        text = re.sub(rf"(?<![\w./-]){re.escape(prefix)}/", "", text)
    return text


def labels(collections: dict[str, Collection]) -> str:
    """The zoos of some collections in words, e.g. 'tiny zoo, Fashion-MNIST, 24 nets, 2 epochs; ...'."""
    return "; ".join(c.label() for c in collections.values()) or "no zoo"


def predictor_settings_note(profile: Profile) -> str:
    """A Markdown paragraph: how the predictors' settings were chosen on this profile, and what was searched."""
    from zoolib.predictors import PRESETS, SIZED_GRIDS

    if profile.preset == "sized":
        grids = "; ".join(f"{name}: " + ", ".join(f"`{k}` in {{{', '.join(f'{v:g}' for v in values)}}}"
                                                   for k, values in grid.items())
                          for name, grid in SIZED_GRIDS.items())
        return ("**Predictor settings: sized to the zoo.** The paper's settings are made for 15,000 training "
                "nets; this build's zoos have tens to hundreds. So every predictor's settings are chosen per "
                "cell on the validation runs (never the test runs): each setting of a small grid is fitted "
                "on the training runs and the one with the best validation R² is kept. Searched: "
                f"{grids}; the rest as the `fast` preset (GBM: up to {PRESETS['gbm']['fast']['n_estimators']} "
                f"trees at learning rate {PRESETS['gbm']['fast']['learning_rate']:g}, early stopping on the "
                "validation runs).")
    if profile.preset == "paper":
        return ("**Predictor settings: the paper's.** The GBM uses the paper's best LightGBM settings per dataset "
                "(found on its v1 zoo); the DNN and the linear model the package's `paper` preset.")
    gbm, dnn = PRESETS["gbm"]["fast"], PRESETS["dnn"]["fast"]
    return ("**Predictor settings: the `fast` preset, not the paper's.** GBM: up to "
            f"{gbm['n_estimators']} trees of {gbm['num_leaves']} leaves at learning rate {gbm['learning_rate']:g}; "
            f"DNN: {dnn['num_layers']} x {dnn['num_units']} units; both early-stopped on the validation runs. "
            "With the paper's settings this book's fits take many CPU-hours on a 2-core machine (one GBM on the "
            "4,970 raw weights of 12,000 training nets: 40 CPU-minutes), so this build's numbers are those of "
            "quicker predictors, not of the paper's settings. `make book PROFILE=released "
            "PRESET=paper` runs the paper's settings (a bigger machine, or a Dask cluster with SCHEDULER=...).")


def table2_inputs(profile: Profile) -> dict[str, list[str]]:
    """The inputs Table 2 gives each predictor in this profile (every input but where the profile limits them)."""
    from zoolib.features import INPUTS
    from zoolib.predictors import PREDICTORS

    return {p: list(profile.table2_inputs.get(p, INPUTS)) for p in PREDICTORS}


def table2_inputs_note(profile: Profile) -> str:
    """Which inputs Table 2's predictors run on, in a sentence."""
    from zoolib.features import INPUTS
    from zoolib.predictors import PREDICTORS

    if not profile.table2_inputs:
        return "Every predictor runs on every input of Table 2."
    names = {"linear": "the linear model", "gbm": "the GBM", "dnn": "the DNN"}
    limited = [f"{names[p]} on {', '.join(f'`{i}`' for i in profile.table2_inputs[p])} "
               f"({len(profile.table2_inputs[p])} of {len(INPUTS)})" for p in PREDICTORS if p in profile.table2_inputs]
    full = [names[p] for p in PREDICTORS if p not in profile.table2_inputs]
    return (f"To keep this build within its time budget, Table 2 runs {'; '.join(limited)}"
            + (f"; {' and '.join(full)} on all {len(INPUTS)} inputs." if full else "."))


def evaluation_note(profile: Profile) -> str:
    """`predictor_settings_note`, then how many bootstrap resamples give the intervals and which inputs Table 2's
    predictors run on."""
    return (f"{predictor_settings_note(profile)} Confidence intervals: {profile.n_bootstrap} bootstrap resamples "
            f"over the test nets. {table2_inputs_note(profile)}")


def build_verdict(ctx: Page) -> str:
    """The "This build" page's verdict (Markdown): the collections and nets this build ran on, and whose nets
    they are (synthetic, the paper's released ones, or generated here and so not the paper's)."""
    if any(c.synthetic for c in ctx.collections.values()):
        provenance = "These are synthetic zoos of the released size, made to measure time and memory, not the paper's nets."
    elif not ctx.profile.generated:
        provenance = "These are the released Small CNN Zoo's nets, the paper's own."
    else:
        provenance = (f"The released zoo has 30,000 nets per dataset trained for 86 epochs; every number in this book "
                      f"comes from these {ctx.profile.name} zoos and is not the paper's.")
    nets = sum(c.nets() for c in ctx.collections.values())
    return (f"This build ran on {len(ctx.collections)} collection(s) of the `{ctx.profile.name}` profile, {nets:,} nets "
            f"in all: {labels(ctx.main)}. {provenance}")


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



def table1(collections: dict[str, Collection]) -> pd.DataFrame:
    """Table 1 with this build's schedule beside the paper's: one row per hyperparameter of the space and
    per schedule setting; columns 'distribution', 'paper', then one per main collection ('as the paper'
    where the build drew from the paper's values)."""
    from zoolib.hparams import CHECKPOINTS, FIXED, SPACE

    def shown(kind: str, values: tuple) -> str:
        return f"[{values[0]:g}, {values[1]:g}]" if kind != "choice" else ", ".join(str(v) for v in values)

    paper_schedule = {"epochs": str(FIXED["epochs"]), "checkpoints (epochs)": ", ".join(map(str, CHECKPOINTS)),
                      "training images": "the dataset's full training set", "batch size": str(FIXED["batch size"]),
                      "nets per dataset": "30,000"}
    rows = {name: {"distribution": kind, "paper": shown(kind, values)} for name, (kind, values) in SPACE.items()}
    rows.update({name: {"distribution": "schedule", "paper": value} for name, value in paper_schedule.items()})
    for name, c in main_collections(collections).items():
        zoo = c.zoo
        info = recorded_generation(zoo)
        build = {key: "as the paper" for key in SPACE}
        if info is not None and info.train_fractions and info.train_fractions != SPACE["train_fraction"][1]:
            build["train_fraction"] = ", ".join(f"{f:g}" for f in info.train_fractions)
        build.update({"epochs": str(int(zoo.metrics["step"].max())), "checkpoints (epochs)": ", ".join(map(str, zoo.steps)),
                      "training images": (f"{info.train_images:,} ({c.dataset_name})"
                                          if info is not None and info.train_images is not None else "as the paper"),
                      "batch size": str(FIXED["batch size"]), "nets per dataset": f"{c.nets():,}"})
        for key, value in build.items():
            rows[key][f"this build: {c.dataset_name}"] = value
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("hyperparameter or setting")
