"""Build the book on one profile's zoos: `python book/build.py [--profile mini] [--output DIR]`.

1. makes the profile's zoos present with `zoolib.obtain.obtain`, the function the "Get the zoo" page
   calls too: tiny and mini zoos are generated when missing (reused when complete); the released zoo
   is downloaded only when $ZOOLIB_DOWNLOAD=1 (else what is missing is listed, with the command); the
   paper's zoo is generated only on the Dask cluster named by $ZOOLIB_SCHEDULER (else it is planned);
2. runs `jupyter-book build -W --keep-going --all` with the pages executed by this Python (its
   kernel), `ZOOLIB_PROFILE` and an absolute `ZOOLIB_DATA` in their environment;
3. keeps the execution cache per profile AND per state of the zoos and of zoolib's source (a
   fingerprint), so a second build reuses every executed page, while a regenerated zoo or changed
   code re-runs them; pages are always re-read (--all), so a page that failed before fails again.
A profile with no zoo of the paper's CNN on disk (e.g. `released` before `make download`) is refused
with the list of what is missing and how to get it; a profile with some collections builds, and
its pages say which are missing. Any cell error makes the build exit non-zero (-W turns myst-nb's
execution warning into an error; --keep-going runs every page first, so the log shows all
failures). HTML: <output>/_build/html.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import yaml

from zoolib.profiles import DEFAULT_PROFILE, PROFILE_ENV, PROFILES, Profile, resolve

BOOK = Path(__file__).resolve().parent
REPO = BOOK.parent
# myst-nb's note, in jupyter-book's output, that a page ran or came from the execution cache
PAGE_DONE = re.compile(r"([\w.-]+)\.py: (?:Executed notebook in ([\d.]+) seconds|Using cached notebook)")


def fingerprint(profile: Profile, zoo_root: Path) -> str:
    """Hash of the resolved profile (ZOOLIB_PRESET included), the zoo files (names, sizes, mtimes) and
    zoolib's source."""
    digest = hashlib.sha256(repr(profile).encode())
    folder = zoo_root / profile.name
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and ".shards" not in str(path):
            stat = path.stat()
            digest.update(f"{path.relative_to(zoo_root)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    for path in sorted((REPO / "zoolib").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


TALLY_PENDING = "counted once the pages have run"
VERDICT_GLUE = re.compile(r"claim_(\w+)_verdict")


def claims_tally(output: Path) -> str:
    """How many of the claims the executed pages decided ('holds' or 'does not hold'), from the verdicts
    they glued (`zoolib.claims.record`), as myst-nb stores them beside the executed notebooks under
    `output`/_build/jupyter_execute (<page>.glue.json)."""
    from zoolib.claims import CLAIMS, FAILS, HOLDS

    verdicts = {}
    for store in (output / "_build" / "jupyter_execute").glob("*.glue.json"):
        for name, value in json.loads(store.read_text()).items():
            match = VERDICT_GLUE.fullmatch(name)
            if match and match[1] in CLAIMS:
                verdicts[match[1]] = ast.literal_eval(value["data"]["text/plain"])
    decided = sum(v in (HOLDS, FAILS) for v in verdicts.values())
    tally = (f"{decided} of the {len(CLAIMS)} claims ({sum(v == HOLDS for v in verdicts.values())} hold, "
             f"{sum(v == FAILS for v in verdicts.values())} do not hold)")
    return tally if decided == len(CLAIMS) else tally + "; the others cannot be told at this size or were not run"


def write_config(output: Path, profile: Profile, key: str, tally: str = TALLY_PENDING) -> Path:
    """book/_config.yml with this build's execution cache, the profile's page timeout and the claims tally
    (a MyST substitution the introduction shows); older caches of the profile are removed."""
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    config.setdefault("parse", {})["myst_substitutions"] = {"claims_decided": tally}  # jupyter-book enables the extension
    caches = output / "_build" / ".jupyter_cache"
    for old in caches.glob(f"{profile.name}-*"):
        if old.name != f"{profile.name}-{key}":
            shutil.rmtree(old, ignore_errors=True)
    config["execute"]["cache"] = str((caches / f"{profile.name}-{key}").resolve())
    config["execute"]["timeout"] = -1 if profile.page_timeout is None else profile.page_timeout
    path = output / "_build" / f"_config.{profile.name}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def kernel_environment(folder: Path) -> dict[str, str]:
    """The environment of jupyter-book and the pages' kernels: an IPython profile under `folder` whose
    kernels forward only what a page's Python code writes to its outputs, not the file-descriptor-level
    output of C libraries and subprocesses (TensorFlow's start-up log, Dask workers), which goes to this
    build's log instead; so a page's stderr output, which fails the build, is the page's own."""
    profile = folder / "ipython" / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(
        "c.IPKernelApp.capture_fd_output = False\n"
        "# tqdm.auto asks for ipywidgets, which the book does not need (its progress bars are off)\n"
        "c.InteractiveShellApp.exec_lines = [\"import warnings; warnings.filterwarnings('ignore', 'IProgress not found')\"]\n")
    # matplotlib's font cache of its own: one shared with another checkout's venv can name font files that are gone;
    # no progress bars on the pages' stderr (stderr fails the build)
    return {**os.environ, "IPYTHONDIR": str(profile.parent.resolve()),
            "MPLCONFIGDIR": str((folder / "matplotlib").resolve()), "TQDM_DISABLE": os.environ.get("TQDM_DISABLE", "1")}


def executed_pages() -> list[str]:
    """The pages jupyter-book executes: the chapters of the table of contents that are notebooks (book/NAME.py)."""
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    return [chapter["file"] for chapter in toc.get("chapters", []) if (BOOK / f"{chapter['file']}.py").is_file()]


def follow(lines: Iterable[str], out: TextIO, pages: int, started: float) -> None:
    """Copy jupyter-book's output to `out` line by line, adding a line per finished page (executed, or taken
    from the execution cache): its name and time, how many of `pages` are done, the time since `started`."""
    done = 0
    for line in lines:
        out.write(line)
        match = PAGE_DONE.search(line)
        if match:
            done += 1
            how = f"executed in {float(match[2]):.0f} s" if match[2] else "taken from the cache"
            out.write(f"book: page {match[1]} {how} ({done} of {pages} pages done, "
                      f"{time.time() - started:.0f} s since the build started)\n")
        out.flush()


def run_jupyter_book(command: list[str], env: dict[str, str]) -> int:
    """Run jupyter-book; on a terminal it shows its own progress, in a log a line per finished page."""
    if sys.stdout.isatty():
        return subprocess.call(command, env=env)
    started = time.time()
    with subprocess.Popen(command, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, text=True) as process:
        follow(process.stdout, sys.stdout, len(executed_pages()), started)
    return process.returncode


def build(profile: Profile, output: Path, obtain_zoos: bool = True) -> int:
    """Build the book; returns jupyter-book's exit code (0: every page ran without error)."""
    os.environ[PROFILE_ENV] = profile.name
    os.environ["ZOOLIB_DATA"] = str(Path(os.environ.get("ZOOLIB_DATA", REPO / "data")).expanduser().resolve())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # no TensorFlow C++ notices in the log
    from zoolib.files import data_dir

    if obtain_zoos:
        from zoolib import obtain

        print(f"zoos of profile {profile.name!r} (zoolib.obtain: reused when present and checked):", flush=True)
        print(obtain.report(obtain.obtain(profile, download=obtain.download_requested())), flush=True)
    from zoolib import book_zoos

    collections, missing = book_zoos.open_collections(profile)
    if not book_zoos.main_collections(collections):
        print(f"book: profile {profile.name!r} has no zoo of the paper's CNN under {data_dir() / 'zoos' / profile.name}, "
              "so its pages would have nothing to show. Missing:", file=sys.stderr)
        for name, why in missing.items():
            print(f"  {name}: {why}", file=sys.stderr)
        return 2
    key = fingerprint(profile, data_dir() / "zoos")
    config = write_config(output, profile, key)
    kernel_env = kernel_environment(output / "_build")
    # build the font cache here, so that no page prints matplotlib's "building the font cache" warning
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=kernel_env, check=True)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", "-W", "--keep-going", "--all",
               "--config", str(config), "--path-output", str(output), str(BOOK)]
    print(f"building the book on profile {profile.name!r} (cache {profile.name}-{key}): {' '.join(command)}", flush=True)
    code = run_jupyter_book(command, kernel_env)
    if code == 0:  # the introduction's tally of decided claims needs every page's verdict: render it again
        write_config(output, profile, key, claims_tally(output))
        print("book: the claims tally of the introduction, from the pages just run (their cache):", flush=True)
        code = run_jupyter_book(command, kernel_env)
    html = output / "_build" / "html" / "index.html"
    print(f"book: {'FAILED (see the warnings above)' if code else html}", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILES,
                        help=f"the zoos the pages run on (default: ${PROFILE_ENV}, else {DEFAULT_PROFILE})")
    parser.add_argument("--output", type=Path, default=BOOK, help="folder that gets _build/html (default: book/)")
    parser.add_argument("--no-generate", action="store_true",
                        help="obtain no zoos before the build (the Get the zoo page still does when it runs)")
    args = parser.parse_args(argv)
    from zoolib.predictors import check_preset

    try:
        profile = resolve(args.profile)
        check_preset(profile.preset)
    except ValueError as err:
        parser.error(str(err))  # exit 2, one line
    return build(profile, args.output.resolve(), obtain_zoos=not args.no_generate)


if __name__ == "__main__":
    sys.exit(main())
