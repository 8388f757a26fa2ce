"""The released Small CNN Zoo: download (resumable), safe extraction, structural checks, install.

`download_zoo("mnist")` fetches https://storage.googleapis.com/gresearch/smallcnnzoo-dataset/mnist.tar.xz
into `<dest parent>/mnist.tar.xz.part` (resumed with an HTTP Range request when a previous download was
cut), checks its sha256 when one is given, extracts it into a temporary folder next to the destination
(refusing members that would land outside it or grow past the size of a released zoo), checks the zoo
(three files, float32 weights of 4970 columns that are not all zero or constant, one metrics row per
weights row, the paper's layout, the published row count, the released checkpoint epochs), writes its
manifest.json (size and sha256 of every file and of the archive) and only then renames it into place.
A failure leaves no half zoo behind; only an incomplete .part download stays, for the next run to
resume. A folder at the destination that fails the check is left alone unless `force`.
`download_split_file("mnist")` fetches the NFN benchmark's split file of that zoo from a pinned commit of
the NFN repository (resumable too), checks its size and sha256 and stores it beside the zoo
(`data/zoos/released/mnist_split.csv`), where `zoolib.nfn.nfn_split` finds it.
"""

from __future__ import annotations

import errno
import http.client
import lzma
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

import numpy as np
from tqdm.auto import tqdm

from zoolib.cnn import parameter_layout
from zoolib.data import DATASETS
from zoolib.files import atomic_write, sha256_file
from zoolib.hparams import CHECKPOINTS
from zoolib.profiles import downloaded
from zoolib.zoo import (
    LAYOUT_FILE, MANIFEST_FILE, METRICS_FILE, WEIGHTS_FILE, ZOO_FILES, ZooFormatError, check_replaceable, datasets_of,
    layout_table, read_manifest, read_rows, read_zoo, write_manifest,
)

BASE_URL = "https://storage.googleapis.com/gresearch/smallcnnzoo-dataset"
RELEASED_ROWS = {"mnist": 269_973, "fashion_mnist": 270_000, "cifar10": 270_000, "svhn_cropped": 269_892}  # per DATASETS
CHUNK_BYTES = 1 << 20
SAMPLED_ROWS = 1000  # rows read to tell trained weights from all-zero or constant ones


class DownloadError(RuntimeError):
    """The zoo could not be downloaded, extracted or verified; the message says what to do."""


class HostUnreachable(DownloadError):
    """The download server could not be reached (no network, DNS failure, connection refused)."""


class BadArchive(DownloadError):
    """The archive is corrupt, unsafe to extract, or does not hold the released zoo."""


def archive_url(dataset: str, base_url: str = BASE_URL) -> str:
    """URL of a dataset's archive, e.g. .../smallcnnzoo-dataset/mnist.tar.xz."""
    _check_dataset(dataset)
    return f"{base_url.rstrip('/')}/{dataset}.tar.xz"


def _check_dataset(dataset: str) -> None:
    if dataset not in RELEASED_ROWS:
        raise ValueError(f"unknown dataset {dataset!r}; the released zoo has {list(DATASETS)}")


def _manual_hint(dataset: str, url: str, placed: Path) -> str:
    return (
        f"To install it by hand: download {url} on a machine that can reach it, copy the file here, then "
        f"run `zoolib zoo download {dataset} --archive FILE` (or put it at {placed} and run "
        f"`zoolib zoo download {dataset}` again)."
    )


def fetch(url: str, part: Path, retries: int = 3, timeout: float = 60.0) -> Path:
    """Download `url` into the file `part`, resuming from its current size; return `part` when complete.

    A server that answers a Range request with the whole file (200 instead of 206) restarts the
    download. A connection cut before the announced length is resumed up to `retries` times; after
    that DownloadError is raised and the .part file stays for a later resume.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    problem = ""
    for _ in range(retries + 1):
        done = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
        total = None
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if done and response.status != 206:
                    done = 0  # the server ignored the Range header: start again
                length = response.headers.get("Content-Length")
                total = done + int(length) if length is not None else None
                with open(part, "ab" if done else "wb") as out, tqdm(
                    total=total, initial=done, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=PurePosixPath(url).name, leave=False,
                ) as bar:
                    while chunk := response.read(CHUNK_BYTES):
                        try:
                            out.write(chunk)
                        except OSError as err:  # this disk, not the connection: retrying would not help
                            raise _write_failed(err, part, total) from None
                        bar.update(len(chunk))
        except urllib.error.HTTPError as err:
            if err.code == 416 and done:  # Range not satisfiable: the .part file is already complete
                return part
            raise DownloadError(f"{url}: the server answered HTTP {err.code} {err.reason}") from err
        except urllib.error.URLError as err:
            raise HostUnreachable(f"could not reach the host of {url} ({err.reason})") from err
        except (OSError, http.client.HTTPException) as err:  # connection reset, timeout, incomplete read
            problem = f"interrupted ({err!r})"
            continue
        size = part.stat().st_size
        if total is None or size == total:
            return part
        problem = f"cut short at {size} of {total} bytes"
    received = part.stat().st_size if part.exists() else 0
    raise DownloadError(
        f"{url}: download {problem} after {retries + 1} attempts; the {received} bytes received "
        f"are kept in {part}: run the same command again to resume"
    )


def _write_failed(err: OSError, part: Path, total: int | None) -> DownloadError:
    """The error of a download whose file could not be written; a full disk gets the partial file deleted."""
    size = part.stat().st_size if part.exists() else 0
    need = f"{total} bytes" if total is not None else "the whole archive"
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        part.unlink(missing_ok=True)
        return DownloadError(f"{part}: {err.strerror} after {size} bytes; the partial download was deleted to free "
                             f"the disk: make room for {need} there (or choose another --dest) and run the command again")
    return DownloadError(f"{part}: cannot write the download ({err.strerror}); check the folder's permissions and "
                         "disk, then run the command again (the bytes received are kept and resumed)")


def size_caps(rows: int) -> tuple[int, int]:
    """(bytes per member, bytes in all) that a released zoo of `rows` rows may extract to: weights.npy
    (float32 rows of the paper's 4970 parameters plus its header) is the largest member; metrics.csv.gz
    gets a generous 2 KiB per row, layout.csv and folders a MiB."""
    weights = rows * 4 * int(parameter_layout()["end_idx"].iloc[-1]) + 4096
    return weights, weights + rows * 2048 + (1 << 20)


def _safe_members(tar: tarfile.TarFile, where: str, caps: tuple[int, int]):
    """Yield the archive's members, refusing links, special files, paths leaving the folder and sizes
    past `caps` (per member, in all), each before it is written."""
    per_member, in_all = caps
    total = 0
    for member in tar:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
            raise BadArchive(f"{where}: unsafe member path {member.name!r}; refusing to extract this archive")
        if not (member.isfile() or member.isdir()) or member.issparse():
            raise BadArchive(
                f"{where}: member {member.name!r} is a link or special file; the released zoo holds only "
                "regular files, refusing to extract this archive"
            )
        total += member.size
        if member.size > per_member or total > in_all:
            raise BadArchive(
                f"{where}: member {member.name!r} would extract to {member.size} bytes ({total} so far), more than "
                f"a released zoo needs ({per_member} per file, {in_all} in all); refusing to extract this archive"
            )
        yield member


def extract(archive: Path, into: Path, caps: tuple[int, int] | None = None) -> Path:
    """Extract `archive` into the folder `into` safely; return the folder holding weights.npy.

    caps: (bytes per member, bytes in all), by default those of the largest released zoo (`size_caps`)."""
    caps = caps or size_caps(max(RELEASED_ROWS.values()))
    size = archive.stat().st_size
    try:
        with open(archive, "rb") as raw, tqdm.wrapattr(
            raw, "read", total=size, desc=f"extracting {archive.name}", leave=False
        ) as stream, tarfile.open(fileobj=stream, mode="r:xz") as tar:
            for member in _safe_members(tar, str(archive), caps):
                tar.extract(member, into, filter="data")
    except (tarfile.TarError, lzma.LZMAError, EOFError) as err:
        raise BadArchive(f"{archive}: not a valid, complete .tar.xz archive ({err})") from err
    except OSError as err:  # e.g. disk full: the archive may be fine
        raise DownloadError(f"extracting {archive} into {into.parent} failed: {err}") from err
    holders = sorted({p.parent for p in into.rglob(WEIGHTS_FILE)})
    if len(holders) != 1:
        raise BadArchive(
            f"{archive}: expected one folder holding {WEIGHTS_FILE}, {METRICS_FILE}, {LAYOUT_FILE}; "
            f"found {WEIGHTS_FILE} in {len(holders)} folders"
        )
    return holders[0]


def check_release(path: str | Path, dataset: str, expected_rows: int | None | str = "published") -> None:
    """Raise DownloadError unless `path` holds the released zoo of `dataset` as published.

    Checks the three files, float32 weights with the paper's 4970 columns (header only: memory-mapped),
    one metrics row per weights row, layout.csv equal to zoolib.cnn.parameter_layout(), config.dataset,
    the row count: the published one (`"published"`), a given number, or none (`None`), the released
    checkpoints (`released_checkpoints`) and weights that are not all zero or constant (a sample of rows).
    """
    path = Path(path)
    missing = [f for f in (WEIGHTS_FILE, METRICS_FILE, LAYOUT_FILE) if not (path / f).is_file()]
    if missing:
        raise DownloadError(f"{path}: missing {missing}; a released zoo has {WEIGHTS_FILE}, {METRICS_FILE}, {LAYOUT_FILE}")
    try:
        zoo = read_zoo(path)
    except ZooFormatError as err:
        raise DownloadError(str(err)) from err
    expected_layout = parameter_layout()
    columns = int(expected_layout["end_idx"].iloc[-1])
    if zoo.weights.shape[1] != columns:
        raise DownloadError(f"{path}/{WEIGHTS_FILE}: {zoo.weights.shape[1]} columns, the paper's CNN has {columns}")
    got, want = layout_table(zoo.layout), layout_table(expected_layout)
    if not got.equals(want):
        raise DownloadError(
            f"{path}/{LAYOUT_FILE}: layout differs from the paper's (zoolib layout prints it):\n"
            f"got\n{got.to_string(index=False)}\nexpected\n{want.to_string(index=False)}"
        )
    if "config.dataset" in zoo.metrics:
        names = datasets_of(zoo.metrics)
        if names != [dataset]:
            raise DownloadError(f"{path}/{METRICS_FILE}: config.dataset is {names}, expected [{dataset!r}]")
    expected = RELEASED_ROWS[dataset] if expected_rows == "published" else expected_rows
    if expected is not None and len(zoo) != expected:
        raise DownloadError(
            f"{path}: {len(zoo)} rows, the released {dataset} zoo has {expected}; the archive is not the "
            "published one (or is damaged)"
        )
    problem = released_checkpoints(zoo.metrics) or _constant_weights(zoo.weights)
    if problem:
        raise DownloadError(f"{path}: {problem}; the archive is not the published one (or is damaged)")


def released_checkpoints(metrics) -> str | None:
    """Why the runs do not have the released checkpoint structure, or None: every run's epochs are the
    first k of the paper's CHECKPOINTS (a diverged run stops early), and nearly all runs (all but 1 %, at least
    all but one) have all nine."""
    steps = np.asarray(CHECKPOINTS)
    table = metrics[["modeldir", "step"]].sort_values(["modeldir", "step"], kind="stable")
    position = table.groupby("modeldir", sort=False).cumcount().to_numpy()
    epoch = table["step"].to_numpy()
    wrong = (position >= len(steps)) | (epoch != steps[np.minimum(position, len(steps) - 1)])
    if wrong.any():
        run = table["modeldir"].to_numpy()[np.argmax(wrong)]
        found = sorted(table.loc[table["modeldir"] == run, "step"].tolist())
        return (f"run {run} has checkpoints at epochs {found}; released runs have epochs "
                f"{', '.join(map(str, steps))} (or the first few of them, when a run diverged)")
    counts = table.groupby("modeldir", sort=False).size()
    short = int((counts < len(steps)).sum())
    if short > max(1, len(counts) // 100):
        return (f"{short} of {len(counts)} runs stop before epoch {steps[-1]}; in the released zoo nearly all "
                f"runs have all {len(steps)} checkpoints")
    return None


def _constant_weights(weights: np.ndarray) -> str | None:
    """Why the weights cannot be trained nets (no finite row, or every row constant, e.g. all zero) in
    up to SAMPLED_ROWS rows spread over the file, read in chunks from the memory map; or None."""
    rows = np.unique(np.linspace(0, len(weights) - 1, min(len(weights), SAMPLED_ROWS)).astype(np.int64))
    sample = read_rows(weights, rows)
    sample = sample[np.isfinite(sample).all(axis=1)]
    if len(sample) == 0:
        return f"{WEIGHTS_FILE}: all {len(rows)} sampled rows hold NaN or Inf"
    if (sample.max(axis=1) == sample.min(axis=1)).all():
        what = "all zero" if not sample.any() else "constant (every parameter of a row equal)"
        return f"{WEIGHTS_FILE}: the weights of all {len(sample)} sampled rows are {what}, unlike trained nets"
    return None


def install(archive: Path, dest: Path, dataset: str, expected_rows: int | None | str = "published",
            sha256: str | None = None, source: str | None = None) -> Path:
    """Check `archive` (its sha256 if given), extract and check the zoo in it, write its manifest.json,
    then rename it into `dest` (replacing what is there: callers check first that they may)."""
    digest = sha256_file(archive)
    if sha256 is not None and digest != sha256.lower():
        raise BadArchive(f"{archive}: sha256 {digest}, expected {sha256.lower()} (--sha256); "
                         "it is not the archive you meant, or it is damaged")
    rows = RELEASED_ROWS[dataset] if expected_rows == "published" else expected_rows
    with atomic_write(dest, folder=True) as tmp:
        zoo = extract(archive, tmp, size_caps(rows or max(RELEASED_ROWS.values())))
        try:
            check_release(zoo, dataset, expected_rows)
        except DownloadError as err:
            inside = str(err).replace(f"{zoo}: ", "").replace(f"{zoo}/", "").replace(str(zoo), "the zoo")
            raise BadArchive(f"{archive} is not the released {dataset} zoo: {inside}") from err
        for name in ZOO_FILES:  # the zoo's files at the top (not in the archive's folder); nothing else
            os.replace(zoo / name, tmp / name)
        for path in tmp.iterdir():
            if path.name not in ZOO_FILES:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        archive_entry = {"name": f"{dataset}.tar.xz", "source": source or str(archive),
                         "size": archive.stat().st_size, "sha256": digest}
        write_manifest(tmp, archive=archive_entry)
    return dest


def _installed(dest: Path, dataset: str, expected_rows, sha256: str | None) -> str | None:
    """Why `dest` is not the checked zoo of `dataset` (from the archive of `sha256`, if given), or None."""
    try:
        check_release(dest, dataset, expected_rows)
        if sha256 is not None:
            recorded = read_manifest(dest).archive_sha256
            if recorded != sha256.lower():
                return f"it was installed from an archive with sha256 {recorded}, not {sha256.lower()}"
    except (DownloadError, ZooFormatError) as err:
        return str(err)
    return None


def download_zoo(
    dataset: str,
    dest: str | Path | None = None,
    base_url: str = BASE_URL,
    archive: str | Path | None = None,
    expected_rows: int | None | str = "published",
    force: bool = False,
    sha256: str | None = None,
) -> Path:
    """Download, check and install the released zoo of `dataset`; return its folder.

    dest defaults to the released profile's folder of `dataset` (data/zoos/released/DATASET). A zoo already there that passes the
    checks (and came from the archive of `sha256`, if given) is kept; anything else at `dest` (a damaged
    zoo, other files) is left alone with a FileExistsError, unless `force`, which reinstalls in any case.
    The archive comes from `archive` if given, else from `<dest parent>/<dataset>.tar.xz` if someone put
    it there, else from `base_url`; with `sha256`, an archive of another hash is refused.
    """
    _check_dataset(dataset)
    dest = Path(dest) if dest is not None else downloaded().zoo_dir(dataset)
    if not force and dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        problem = _installed(dest, dataset, expected_rows, sha256)
        if problem is None:
            if not (dest / MANIFEST_FILE).is_file():  # installed by an earlier zoolib
                write_manifest(dest)
            return dest
        check_replaceable(dest)  # a file, or a folder holding the user's files: named
        raise FileExistsError(
            f"{dest} is there but is not the checked released {dataset} zoo ({problem}); zoolib leaves it alone: "
            "pass --force to replace it with a fresh install, or choose another --dest"
        )
    url = archive_url(dataset, base_url)
    placed = dest.parent / f"{dataset}.tar.xz"
    if archive is not None or placed.is_file():
        archive = Path(archive) if archive is not None else placed
        if not archive.is_file():
            raise DownloadError(f"{archive}: no such archive file; download {url} and pass its path")
        try:
            return install(archive, dest, dataset, expected_rows, sha256)
        except BadArchive as err:
            raise BadArchive(f"{err}\nReplace {archive} with a good copy of {url}.") from err
    part = dest.parent / f"{dataset}.tar.xz.part"
    try:
        fetch(url, part)
    except HostUnreachable as err:
        raise HostUnreachable(f"{err}. Is this machine offline? {_manual_hint(dataset, url, placed)}") from err
    try:
        install(part, dest, dataset, expected_rows, sha256, source=url)
    except BadArchive as err:
        part.unlink(missing_ok=True)  # complete but bad: a resume would not help
        raise BadArchive(f"{err}\nThe downloaded file was deleted; run the command again to retry.") from err
    except DownloadError as err:
        raise DownloadError(f"{err}\nThe download is complete in {part}; run the command again to install it.") from err
    part.unlink()
    return dest


# The NFN benchmark's split files (github.com/AllanYangZhou/nfn, MIT licence, pinned commit): file name,
# bytes and sha256 per dataset. `download_split_file` stores one beside the zoo, where zoolib.nfn finds it.
NFN_COMMIT = "ce783221fd7c511596220d805c7a5beccd764ee8"
SPLIT_BASE_URL = f"https://raw.githubusercontent.com/AllanYangZhou/nfn/{NFN_COMMIT}/experiments/predict_gen_data_splits"
SPLIT_FILES = {
    "cifar10": ("cifar10_split.csv", 1_778_892, "04fb71937dc796fc64f6306457de9d95f0d2d8a343db856213b965a4953a4f67"),
    "svhn_cropped": ("svhn_split.csv", 1_778_136, "c1dcfc521f38071bb4ac2af4866a38a4d2d468630ef60bb70f9ae75c681fc60c"),
    "mnist": ("mnist_split.csv", 1_778_703, "b516aea9d62a8c8f2acb5b92abfedc4c1f0c2f6f9afd716835ec75103c25cf3b"),
    "fashion_mnist": ("fashion_mnist_split.csv", 1_778_892,
                      "0d13165d28963acdac000d3d033da58b5719920f7d19aadf310173823053b021"),
}


def split_file_problem(path: Path, size: int, sha256: str) -> str | None:
    """Why `path` is not the expected split file (size, then sha256), or None if it is."""
    got = path.stat().st_size
    if got != size:
        return f"{path}: {got} bytes, the NFN split file has {size}"
    digest = sha256_file(path)
    return None if digest == sha256 else f"{path}: sha256 {digest}, expected {sha256}"


def download_split_file(dataset: str, zoo: str | Path | None = None, base_url: str = SPLIT_BASE_URL,
                        local: str | Path | None = None, expected: tuple[int, str] | None = None) -> Path:
    """Fetch (resumable) or copy the NFN split file of `dataset`, check it, store it beside the zoo folder.

    `zoo` defaults to the released profile's folder of `dataset`; the file lands in its parent under
    NFN's name (e.g. svhn_split.csv). `local` is a copy to use instead of downloading. `expected` is
    (bytes, sha256), by default the published file's. A checked file already in place is kept.
    """
    _check_dataset(dataset)
    name, size, sha256 = SPLIT_FILES[dataset]
    size, sha256 = expected or (size, sha256)
    dest = (Path(zoo) if zoo is not None else downloaded().zoo_dir(dataset)).parent / name
    url = f"{base_url.rstrip('/')}/{name}"
    if dest.is_file() and split_file_problem(dest, size, sha256) is None:
        return dest
    if local is not None:
        local = Path(local)
        if not local.is_file():
            raise DownloadError(f"--split-file {local}: no such file; download {url} and pass its path")
        problem = split_file_problem(local, size, sha256)
        if problem:
            raise DownloadError(f"{problem}: not the NFN split file of {dataset}; get a good copy of {url}")
        with atomic_write(dest) as tmp:
            shutil.copyfile(local, tmp)
        return dest
    part = dest.with_name(f"{name}.part")
    try:
        fetch(url, part)
    except HostUnreachable as err:
        raise HostUnreachable(
            f"{err}. Is this machine offline? Download {url} elsewhere and pass it with --split-file FILE"
        ) from err
    problem = split_file_problem(part, size, sha256)
    if problem:
        part.unlink()
        raise DownloadError(f"{problem}; the downloaded file was deleted: run the command again to retry")
    part.rename(dest)
    return dest
