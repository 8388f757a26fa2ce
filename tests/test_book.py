"""The book builds on the tiny profile, every page holds its figures and tables and no error, a failing
cell fails the build (again on a rebuild), and the pages screenshot with headless Chromium when it is here.

The tiny build generates the tiny zoos in the checkout's data folder (or $ZOOLIB_DATA) when they are
missing, and executes every page from scratch into a temporary folder.
"""

import json
import os
import re
from html import unescape
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
sys.path.insert(0, str(BOOK))

import screenshots  # noqa: E402  (book/screenshots.py)
from tests.zoo_fixtures import learnable_zoo  # noqa: E402
from zoolib import claims  # noqa: E402

PAGES = screenshots.pages()
FIGURE_PAGES = ["zoo", "a_net", "table2", "learning_curve", "weight_statistics", "transfer_across", "early_checkpoints",
                "architectures", "regenerating"]
TABLE_PAGES = ["get_the_zoo", "this_build", "zoo", "a_net", "table2", "learning_curve", "weight_statistics", "transfer_across",
               "early_checkpoints", "architectures", "nfn_benchmark", "regenerating"]
VERDICT_PAGES = ["get_the_zoo", "this_build", "zoo", "a_net", "table2", "learning_curve", "weight_statistics", "transfer_across",
                 "early_checkpoints", "architectures", "nfn_benchmark", "regenerating"]
ERROR_MARKS = ("Traceback (most recent call last)", "ipythontb", 'class="output traceback"', "CellExecutionError",
               "WARNING:tensorflow")


def _text(html: str) -> str:
    """The words of some HTML, entities decoded and Sphinx's typographic quotes made plain."""
    text = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text)


def figures_without_caption(html: str) -> int:
    """How many output images of a page are not in a <figure> with a non-empty caption."""
    images = len(re.findall(r"<img[^>]+\.png", html))
    captioned = sum(len(re.findall(r"<img[^>]+\.png", figure))
                    for figure in re.findall(r"<figure.*?</figure>", html, re.S)
                    if _text("".join(re.findall(r"<figcaption.*?</figcaption>", figure, re.S))).strip())
    return images - captioned


def nan_in_tables(html: str) -> list[str]:
    """The tables' cells that read 'nan' (or NaN, <NA>) instead of a number or a word."""
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", "".join(re.findall(r"<table.*?</table>", html, re.S)), re.S)
    return [c for c in cells if re.search(r"\bnan\b|<NA>|&lt;NA&gt;", _text(c), re.I)]


def verdict(html: str) -> str:
    """The text of a page's Verdict section ('' when it has none)."""
    section = re.search(r'<section id="verdict">(.*?)</section>', html, re.S)
    return _text(section.group(1)).replace("Verdict", "", 1).strip() if section else ""


def _build(book: Path, output: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(book / "build.py"), "--output", str(output), *args],
                          capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("book")
    result = _build(BOOK, output, "--profile", "tiny")
    assert result.returncode == 0, f"the tiny book did not build:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return output / "_build" / "html"


def _page(html_dir: Path, page: str) -> str:
    path = html_dir / f"{page}.html"
    assert path.is_file(), f"{path} is missing"
    return path.read_text()


def test_toc_lists_every_page_of_the_book_folder():
    on_disk = {p.stem for p in BOOK.glob("*.py") if p.stem not in ("build", "screenshots")} | {p.stem for p in BOOK.glob("*.md")}
    assert set(PAGES) == on_disk


def test_every_page_builds_without_error_output(tiny_book):
    for page in PAGES:
        text = _page(tiny_book, page)
        for mark in ERROR_MARKS:
            assert mark not in text, f"{page}.html holds {mark!r}"
    # stderr is never hidden: a page that writes to it fails the build (test_stderr_on_a_page_fails_the_build)
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    assert config["execute"]["stderr_output"] in ("warn", "remove-warn", "error", "severe")


def test_every_figure_has_a_caption_naming_the_zoo(tiny_book):
    for page in FIGURE_PAGES:
        html = _page(tiny_book, page)
        assert figures_without_caption(html) == 0, f"{page}.html has a figure without a caption"
        for caption in re.findall(r"<figcaption.*?</figcaption>", html, re.S):
            assert "tiny zoo" in _text(caption), f"{page}: a caption does not name the zoo: {_text(caption)[:200]}"


def test_every_page_ends_with_a_verdict_from_this_builds_numbers(tiny_book):
    for page in VERDICT_PAGES:
        text = verdict(_page(tiny_book, page))
        assert len(text) > 80, f"{page}.html has no verdict paragraph"
        assert not re.search(r"\bnan\b", text), f"{page}: 'nan' in the verdict: {text[:300]}"
        assert "**" not in text and "`" not in text, f"{page}: its verdict shows Markdown unrendered: {text[:300]}"
    assert re.search(r"-?\d+\.\d{3} \[-?\d+\.\d{2}, -?\d+\.\d{2}\]", verdict(_page(tiny_book, "table2")))  # R² [CI]


def test_no_table_shows_nan(tiny_book):
    for page in PAGES:
        assert not nan_in_tables(_page(tiny_book, page)), f"{page}.html: {nan_in_tables(_page(tiny_book, page))[:5]}"


def test_the_introduction_shows_the_claims_table_with_a_verdict_per_claim(tiny_book):
    intro = _page(tiny_book, "intro")
    table = next(t for t in re.findall(r"<table.*?</table>", intro, re.S) if "verdict" in t)
    rows = re.findall(r"<tr.*?</tr>", table, re.S)[1:]
    assert len(rows) == len(claims.CLAIMS)
    words = (claims.HOLDS, claims.FAILS, claims.UNDECIDED, claims.NOT_RUN)
    for row, claim in zip(rows, claims.CLAIMS.values()):
        cells = [_text(c).strip() for c in re.findall(r"<td.*?</td>", row, re.S)]
        assert claim["claim"] in cells[0] and cells[1] == claim["paper"]
        assert cells[2], f"no numbers of this build for {claim['claim']!r}"
        assert cells[3] in words, f"{claim['claim']!r}: verdict {cells[3]!r}"
    verdicts = [_text(re.findall(r"<td.*?</td>", row, re.S)[3]).strip() for row in rows]
    decided = sum(v in (claims.HOLDS, claims.FAILS) for v in verdicts)
    assert f"Decided on this build: {decided} of the {len(claims.CLAIMS)} claims" in _text(intro)  # the tally agrees
    assert "Unterthiner" in intro and "references.html" in intro  # cited, with the bibliography one click away
    references = _text(_page(tiny_book, "references"))
    for work in ("Predicting neural network accuracy from weights", "LightGBM", "Permutation equivariant neural functionals",
                 "extrapolation of learning curves", "Keras"):
        assert work.lower() in references.lower(), f"the bibliography lacks {work!r}"


def test_an_analysis_page_runs_as_a_plain_script_too(tiny_book):
    """A page is a notebook of the book and of Jupyter, and a script: this one fans its fits out on Dask's
    local cluster, whose spawned workers must not run the page again."""
    env = {**os.environ, "ZOOLIB_PROFILE": "tiny", "TF_CPP_MIN_LOG_LEVEL": "3", "TQDM_DISABLE": "1"}
    result = subprocess.run([sys.executable, str(BOOK / "transfer_across.py")], capture_output=True, text=True,
                            env=env, cwd=BOOK.parent, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr


def test_the_claims_tally_counts_the_verdicts_the_pages_glued(tmp_path):
    import build

    def page(*verdicts):  # myst-nb's store of a page's glued values
        return {f"claim_{key}_{part}": {"output_type": "display_data", "data": {"text/plain": repr(value)},
                                        "metadata": {"scrapbook": {"name": f"claim_{key}_{part}"}}}
                for key, v in verdicts for part, value in (("verdict", v), ("ours", "0.5 [0.4, 0.6]"))}

    folder = tmp_path / "_build" / "jupyter_execute"
    folder.mkdir(parents=True)
    (folder / "table2.glue.json").write_text(json.dumps(page(("stats_vs_hyper", claims.HOLDS), ("gbm_vs_linear", claims.FAILS),
                                                             ("stats_vs_lr", claims.UNDECIDED))))
    (folder / "early_checkpoints.glue.json").write_text(json.dumps(page(("early", claims.HOLDS), ("unknown", claims.HOLDS))))
    assert build.claims_tally(tmp_path) == (f"3 of the {len(claims.CLAIMS)} claims (2 hold, 1 do not hold); the others "
                                           "cannot be told at this size or were not run")


def test_page_checks_catch_what_they_check():
    """The checks above fail on pages that break them (each broken once)."""
    figure = '<figure id="f"><img alt="" src="a.png" /><figcaption><p>Fig. 1: on the tiny zoo</p></figcaption></figure>'
    assert figures_without_caption(figure) == 0
    assert figures_without_caption(figure + '<img src="b.png" />') == 1
    assert figures_without_caption('<figure><img src="a.png" /><figcaption></figcaption></figure>') == 1
    assert nan_in_tables("<table><tr><td>0.91 [0.87, 0.95]</td><td>undefined</td></tr></table><p>nan</p>") == []
    assert nan_in_tables("<table><tr><td>nan [nan, nan]</td></tr></table>") == ["nan [nan, nan]"]
    assert nan_in_tables("<table><tr><td>&lt;NA&gt;</td></tr></table>")
    assert verdict('<section id="verdict"><h2>Verdict</h2><p>R² 0.916 [0.87, 0.95]: holds.</p></section>') == "R² 0.916 [0.87, 0.95]: holds."
    assert verdict('<section id="what-this-shows"><p>compare</p></section>') == ""


def test_figure_pages_hold_png_figures(tiny_book):
    for page in FIGURE_PAGES:
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', _page(tiny_book, page))
        assert images, f"{page}.html has no PNG figure"
        for src in images:
            png = (tiny_book / src).resolve()
            assert png.is_file() and png.stat().st_size > 5000, f"{page}: {src} missing or empty"


def test_table_pages_hold_tables(tiny_book):
    for page in TABLE_PAGES:
        assert "<table" in _page(tiny_book, page), f"{page}.html has no table"


def test_pages_name_the_zoo_they_ran_on(tiny_book):
    for page in VERDICT_PAGES:
        assert "tiny" in _text(_page(tiny_book, page)), f"{page}.html does not name the zoo it ran on"
    build = _page(tiny_book, "this_build")
    assert "tiny" in build and "fashion_mnist" in build
    assert "MNIST 5k subset" in build  # the MNIST collection is labelled as the subset it is
    table2 = _page(tiny_book, "table2")
    assert "v1 zoo" in table2 and "tiny zoo, Fashion-MNIST" in table2
    nfn_page = _text(_page(tiny_book, "nfn_benchmark"))
    assert "SVHN-GS zoos are not on this machine" in nfn_page or "(published)" in nfn_page


def test_nfn_page_computes_the_benchmark_when_the_released_zoo_is_there(released_data):
    result = subprocess.run([sys.executable, str(BOOK / "nfn_benchmark.py")], capture_output=True, text=True,
                            env={**os.environ, "ZOOLIB_PROFILE": "tiny", "TF_CPP_MIN_LOG_LEVEL": "3"}, cwd=BOOK)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "StatNN (ours)" in result.stdout and "GBM (ours)" in result.stdout
    assert "StatNN (published)" in result.stdout


def test_a_profile_without_zoos_is_refused_with_what_to_run(tmp_path):
    result = subprocess.run([sys.executable, str(BOOK / "build.py"), "--profile", "released", "--output", str(tmp_path)],
                            capture_output=True, text=True, env={**os.environ, "ZOOLIB_DATA": str(tmp_path / "empty")})
    assert result.returncode == 2
    assert "has no zoo of the paper's CNN" in result.stderr
    assert "make download DATASET=cifar10" in result.stderr
    assert not (tmp_path / "_build" / "html").exists()


@pytest.fixture()
def broken_book(tmp_path) -> Path:
    """A copy of the book's build set-up with one page whose cell raises (and a small zoo to build on)."""
    book = tmp_path / "book"
    book.mkdir()
    learnable_zoo(tmp_path / "data" / "zoos" / "tiny" / "fashion_mnist", n_runs=20, steps=(0, 2), dataset="fashion_mnist")
    for name in ("build.py", "_config.yml", "references.bib"):
        shutil.copy(BOOK / name, book / name)
    shutil.copytree(BOOK / "_static", book / "_static")
    (book / "intro.md").write_text("# Intro\n\nA book with one page.\n")
    (book / "broken.py").write_text('# %% [markdown]\n# # Broken\n\n# %%\nraise RuntimeError("this cell fails on purpose")\n')
    (book / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "intro", "chapters": [{"file": "broken"}]}))
    return book


def test_a_failing_cell_fails_the_build_and_the_rebuild(broken_book, tmp_path):
    output = tmp_path / "out"
    first = _build(broken_book, output, "--profile", "tiny", "--no-generate")
    assert first.returncode != 0
    assert "this cell fails on purpose" in first.stdout + first.stderr
    second = _build(broken_book, output, "--profile", "tiny", "--no-generate")  # cached build: still fails
    assert second.returncode != 0
    (broken_book / "broken.py").write_text('# %% [markdown]\n# # Fixed\n\n# %%\nprint("fine")\n')
    fixed = _build(broken_book, output, "--profile", "tiny", "--no-generate")
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr[-3000:]


def test_stderr_on_a_page_fails_the_build(broken_book, tmp_path):
    (broken_book / "broken.py").write_text('# %% [markdown]\n# # Noisy\n\n# %%\nimport sys\nprint("a warning", file=sys.stderr)\n')
    noisy = _build(broken_book, tmp_path / "out", "--profile", "tiny", "--no-generate")
    assert noisy.returncode != 0, "a page writing to stderr built without complaint"
    assert "stderr" in noisy.stdout + noisy.stderr


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(screenshots.find_chromium() is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_screenshots_of_every_page(tiny_book, tmp_path):
    shots = screenshots.take_all(tiny_book, tmp_path / "shots")
    assert [p.stem for p in shots] == PAGES
    for png in shots:
        assert _png_size(png) == (1280, 1600)
        assert png.stat().st_size > 20_000, f"{png} looks blank"
