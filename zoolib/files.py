"""Where zoolib keeps files, and the one way it writes them: to a temporary name beside the target,
then renamed into place, so a crash never leaves a half-written file or folder under the real name.

Everything downloaded or generated goes under `$ZOOLIB_DATA` if set, else `data/` in the working
directory: `datasets/` for image datasets, `zoos/<profile>/<collection>/` for zoos.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".zoolib-tmp."  # every temporary name starts so: debris of a crash is recognisable


def data_dir() -> Path:
    """Root of everything downloaded or generated (datasets/, zoos/)."""
    return Path(os.environ.get("ZOOLIB_DATA", "data")).expanduser()


def datasets_dir() -> Path:
    """Folder where dataset files (idx, CIFAR pickles, SVHN .mat) are looked for first."""
    return data_dir() / "datasets"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `target`; when the block ends without error, rename it to `target`.

    `folder=True` yields an empty temporary directory (a whole zoo is written into it). The result gets
    the usual permissions (0666 / 0777 less the umask), not tempfile's private 0600 / 0700. What is at
    `target` is replaced (callers check first that they may: `zoolib.zoo.check_replaceable`); an old
    folder is moved aside under a temporary name and deleted after the rename. On error the temporary
    path is removed and `target` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if folder:
        tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{target.name}.", dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        tmp.chmod((0o777 if folder else 0o666) & ~_umask())
        if folder and target.is_dir() and not target.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{target.name}.old.", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (see `atomic_write`)."""
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def remove_debris(folder: str | os.PathLike, target: str = "") -> list[Path]:
    """Delete temporary files and folders that a crashed zoolib run left in `folder` (only those made
    for the file or folder named `target`, when given); returns them."""
    folder = Path(folder)
    found = sorted(folder.glob(f"{TEMP_PREFIX}{target}.*" if target else f"{TEMP_PREFIX}*")) if folder.is_dir() else []
    for path in found:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)
    return found


def bar_switch(show: bool) -> dict:
    """tqdm keyword arguments: the bar off when `show` is False, else tqdm decides ($TQDM_DISABLE may turn it off)."""
    return {} if show else {"disable": True}


def sha256_file(path: str | os.PathLike, progress: bool = True, chunk_bytes: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks (a progress bar for files over 256 MiB)."""
    from tqdm.auto import tqdm

    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as f, tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
                                     desc=f"sha256 {path.name}", **bar_switch(progress and size >= 1 << 28)) as bar:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()
