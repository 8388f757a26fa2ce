"""Where zoolib keeps files, and the one way it writes them: to a temporary name beside the target,
then renamed into place, so a crash never leaves a half-written file or folder under the real name.

A temporary name carries the pid of the process that made it (`.zoolib-tmp.<target>.<pid>.<random>`),
so the clean-up of one command (`remove_debris`) removes what a dead process left and never the
temporary file of a live one. An output can be created exclusively (`atomic_write(..., exclusive=True)`):
of two commands writing one file, the second fails instead of replacing the first's file. An OSError
raised while writing names the target.

Everything downloaded or generated goes under `$ZOOLIB_DATA` if set, else `data/` in the working
directory: `datasets/` for image datasets, `zoos/<profile>/<collection>/` for zoos.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".zoolib-tmp."  # every temporary name starts so: debris of a crash is recognisable
_OWNER = re.compile(r"\.(\d+)\.[^.]+$")  # the pid in .zoolib-tmp.<target>.<pid>.<random>


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


def _temp_prefix(name: str) -> str:
    return f"{TEMP_PREFIX}{name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True) if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)


def _raise_naming(err: OSError, target: Path) -> None:
    """Raise `err`, as an error naming `target` if it is a system error that names no file (a full disk)."""
    if err.filename is not None or err.errno is None:  # named already, or zoolib's own message
        raise err
    raise type(err)(err.errno, err.strerror or os.strerror(err.errno), str(target)) from err


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike, folder: bool = False, exclusive: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `target`; when the block ends without error, rename it to `target`.

    `folder=True` yields an empty temporary directory (a whole zoo is written into it). The result gets
    the usual permissions (0666 / 0777 less the umask), not tempfile's private 0600 / 0700. What is at
    `target` (a folder, a file) is replaced (callers check first that they may:
    `zoolib.zoo.check_replaceable`); it is moved aside under a temporary name and deleted after the
    rename. `exclusive=True` (files only) creates `target` only if nothing is there at that moment
    (FileExistsError naming it otherwise), so two commands never both write one output. On error the
    temporary path is removed, `target` is left as it was, and an OSError names `target`.
    """
    target = Path(target)
    if exclusive and folder:
        raise ValueError("exclusive creation is for files")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if folder:
            tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target.name), dir=target.parent))
        else:
            fd, name = tempfile.mkstemp(prefix=_temp_prefix(target.name), dir=target.parent)
            os.close(fd)
            tmp = Path(name)
    except OSError as err:
        _raise_naming(err, target)
    try:
        yield tmp
        tmp.chmod((0o777 if folder else 0o666) & ~_umask())
        if exclusive:
            _link_new(tmp, target)
        elif folder and (target.exists() or target.is_symlink()):
            old = Path(tempfile.mkdtemp(prefix=_temp_prefix(f"{target.name}.old"), dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException as err:
        _remove(tmp)
        if isinstance(err, OSError):
            _raise_naming(err, target)
        raise


def _link_new(tmp: Path, target: Path) -> None:
    """Give the finished `tmp` the name `target` only if no file has it (FileExistsError naming it)."""
    taken = FileExistsError(f"{target}: exists (written by another command meanwhile?); pass --force to replace it, "
                            "or choose another file name")
    try:
        os.link(tmp, target)  # atomic, and fails if the name exists
    except FileExistsError:
        raise taken from None
    except OSError:  # a file system without hard links: claim the name, then replace the claim
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            raise taken from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (see `atomic_write`)."""
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def remove_debris(folder: str | os.PathLike, target: str = "") -> list[Path]:
    """Delete temporary files and folders that a crashed zoolib run left in `folder` (only those made
    for the file or folder named `target`, when given); returns them. A temporary path whose process
    (the pid in its name) is still running is another command's work in progress and is left alone."""
    folder = Path(folder)
    found = sorted(folder.glob(f"{TEMP_PREFIX}{target}.*" if target else f"{TEMP_PREFIX}*")) if folder.is_dir() else []
    orphans = [path for path in found if not ((m := _OWNER.search(path.name)) and _alive(int(m.group(1))))]
    for path in orphans:
        _remove(path)
    return orphans


def check_output_file(out: str | os.PathLike, force: bool = False, inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Refuse an output file of a command before any work: inside one of the command's `inputs` (a zoo
    it reads; `--force` or not), a folder, or an existing file without `force`. Returns `out`."""
    out = Path(out)
    where = out.resolve()
    for folder in inputs:
        folder = Path(folder).resolve()
        if where == folder or folder in where.parents:
            raise ValueError(f"--out {out}: is inside {folder}, which this command reads; write the output "
                             "elsewhere (zoolib never writes into the zoo it reads)")
    if out.is_dir():
        raise ValueError(f"--out {out}: is a folder; give the name of a file in it")
    if (out.exists() or out.is_symlink()) and not force:
        raise FileExistsError(f"--out {out}: exists; pass --force to replace it, or choose another file name")
    return out


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
