"""Screenshot the built book with headless Chromium: `python book/screenshots.py [--html DIR] [--out DIR]`.

One PNG per page (the landing page and every page of the table of contents), 1280x1600, into
screenshots/ (git-ignored), to check that figures and tables are readable without a browser.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

BOOK = Path(__file__).resolve().parent
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1280,1600",
]


def pages() -> list[str]:
    """Page names in table-of-contents order, the root (landing page) first."""
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    return [toc["root"]] + [chapter["file"] for chapter in toc.get("chapters", [])]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(chromium: str, html: Path, png: Path, timeout: float = 120.0) -> None:
    """Render one HTML file to a PNG with a fresh, empty browser profile."""
    with tempfile.TemporaryDirectory(prefix="zoolib-chromium-") as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}", html.as_uri()]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or not png.is_file():
        raise RuntimeError(f"chromium could not screenshot {html} (exit {result.returncode}):\n{result.stderr[-2000:]}")


def take_all(html_dir: Path, out: Path) -> list[Path]:
    """Screenshot every page of the built book into `out`; returns the PNG paths."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found; install it (Debian: apt-get install -y chromium)")
    missing = [p for p in pages() if not (html_dir / f"{p}.html").is_file()]
    if missing:
        raise FileNotFoundError(f"{html_dir}: no HTML for {missing}; build the book first (make book)")
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    for page in pages():
        png = out / f"{page}.png"
        png.unlink(missing_ok=True)
        screenshot(chromium, html_dir / f"{page}.html", png)
        shots.append(png)
        print(f"{png}", flush=True)
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--html", type=Path, default=BOOK / "_build" / "html", help="the built book (default book/_build/html)")
    parser.add_argument("--out", type=Path, default=BOOK.parent / "screenshots", help="where PNGs go (default screenshots/)")
    args = parser.parse_args(argv)
    take_all(args.html, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
