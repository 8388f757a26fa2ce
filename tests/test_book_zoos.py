"""zoolib.book_zoos: a page's one setup call (`page`), the collections of a profile and their labels; and
book/build.py's execution-cache key, which follows the resolved profile."""

import sys
from pathlib import Path

import pytest

from tests.zoo_fixtures import learnable_zoo
from zoolib import book_zoos, profiles

BOOK = Path(__file__).resolve().parents[1] / "book"


@pytest.fixture()
def glued(monkeypatch) -> dict:
    """What `myst_nb.glue` received, by name (a page's kernel would paste it into the page)."""
    import myst_nb

    found = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: found.update({name: (value, display)}))
    return found


def test_page_resolves_the_profile_opens_its_collections_and_glues_the_zoo_label(released_data, glued, monkeypatch):
    monkeypatch.setenv(profiles.PROFILE_ENV, "released")
    monkeypatch.delenv(profiles.PRESET_ENV, raising=False)
    ctx = book_zoos.page()
    assert ctx.profile == profiles.resolve("released")
    assert sorted(ctx.collections) == sorted(ctx.main) == sorted(ctx.zoos) == ["cifar10", "svhn_cropped"]
    assert sorted(ctx.missing) == ["fashion_mnist", "mnist"] and "make download DATASET=mnist" in ctx.missing["mnist"]
    assert ctx.zoos["cifar10"] is ctx.main["cifar10"].zoo
    assert glued["zoos"] == (book_zoos.labels(ctx.main), False)
    assert "released Small CNN Zoo, CIFAR10-GS, 120 nets, 86 epochs" in glued["zoos"][0]


def test_page_labels_the_collections_it_shows(tmp_path, glued, monkeypatch):
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path))
    tiny = profiles.resolve("tiny")
    learnable_zoo(tiny.zoo_dir("fashion_mnist"), n_runs=8, steps=(0, 2), dataset="fashion_mnist")
    ctx = book_zoos.page("tiny", label="all")
    assert list(ctx.main) == ["fashion_mnist"] and "tiny zoo, Fashion-MNIST, 8 nets" in glued["zoos"][0]
    book_zoos.page(tiny, label="variants")
    assert glued["zoos"] == ("no zoo", False)  # no architecture collection on disk
    with pytest.raises(ValueError, match="label must be one of"):
        book_zoos.page(tiny, label="everything")


def test_page_refuses_an_unknown_preset_before_opening_anything(released_data, glued, monkeypatch):
    monkeypatch.setenv(profiles.PRESET_ENV, "papr")
    with pytest.raises(ValueError, match="'papr'"):
        book_zoos.page("released")
    assert glued == {}


def test_book_zoos_reports_present_and_missing_collections(released_data):
    collections, missing = book_zoos.open_collections(profiles.resolve("released"))
    summary = book_zoos.summary(collections, missing)
    assert (summary["architecture"] == "missing (see below)").sum() == 2
    assert "MNIST" in book_zoos.paper_datasets_note(collections)


def test_a_synthetic_zoo_says_so_in_every_label(released_data):
    (released_data / "zoos" / "released" / "cifar10" / "generation.json").write_text('{"synthetic": true}')
    released = profiles.downloaded()
    collection = book_zoos.open_collection(released, "cifar10")
    assert collection.label().startswith("SYNTHETIC released-size zoo (timing only")
    assert book_zoos.open_collection(released, "svhn_cropped").label().startswith("released Small CNN Zoo")


def test_the_execution_cache_is_per_preset(tmp_path, monkeypatch):
    sys.path.insert(0, str(BOOK))
    import build  # book/build.py

    monkeypatch.delenv(profiles.PRESET_ENV, raising=False)
    fast = build.fingerprint(profiles.resolve("released"), tmp_path)
    monkeypatch.setenv(profiles.PRESET_ENV, "paper")
    assert build.fingerprint(profiles.resolve("released"), tmp_path) != fast  # pages run with other settings are not reused
    monkeypatch.delenv(profiles.PRESET_ENV)
    assert build.fingerprint(profiles.resolve("released"), tmp_path) == fast


def test_a_line_per_finished_page_when_the_build_writes_to_a_log():
    import io

    sys.path.insert(0, str(BOOK))
    import build  # book/build.py

    pages = build.executed_pages()
    assert "table2" in pages and "intro" not in pages and "references" not in pages  # notebooks only
    jupyter_book = [
        "reading sources... [ 20%] table2\n",
        f"{BOOK}/table2.py: Executing notebook using local CWD [mystnb]\n",
        f"{BOOK}/table2.py: Executed notebook in 81.57 seconds [mystnb]\n",
        f"{BOOK}/zoo.py: Using cached notebook: ID=3 [mystnb]\n",
        "build succeeded.\n",
    ]
    out = io.StringIO()
    build.follow(jupyter_book, out, pages=len(pages), started=0.0)
    added = [line for line in out.getvalue().splitlines() if line not in "".join(jupyter_book).splitlines()]
    assert len(added) == 2 and all(line.startswith("book: page ") for line in added)
    assert added[0].startswith(f"book: page table2 executed in 82 s (1 of {len(pages)} pages done, ")
    assert added[1].startswith(f"book: page zoo taken from the cache (2 of {len(pages)} pages done, ")
    assert out.getvalue().startswith("".join(jupyter_book[:3]))  # jupyter-book's own lines pass through


def test_paths_under_the_data_folder_are_shown_relative_to_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path / "data"))
    text = (f"{tmp_path}/data/zoos/mini/mnist; {tmp_path}/data/datasets/fashion_mnist, first 5120/1000 images; "
            "/usr/share/datasets/fashion-mnist")
    assert book_zoos.data_relative(text) == ("zoos/mini/mnist; datasets/fashion_mnist, first 5120/1000 images; "
                                             "/usr/share/datasets/fashion-mnist")  # a path elsewhere stays as it is
    monkeypatch.setenv("ZOOLIB_DATA", "data")  # the default, relative to the working directory
    assert book_zoos.data_relative(f"data/zoos/tiny/mnist and {Path.cwd()}/data/zoos/a, metadata/b") == \
        "zoos/tiny/mnist and zoos/a, metadata/b"


def _collection(name: str, final_test: list[float], final_train: list[float], profile=None, source: str = "generated"):
    """A collection of one in-memory zoo: each run has a row at epoch 0 (accuracy 0.5) and at epoch 2 (the given)."""
    import numpy as np
    import pandas as pd

    from zoolib.zoo import Zoo

    n = len(final_test)
    metrics = pd.DataFrame({"modeldir": [f"run{i}" for i in range(n)] * 2, "step": [0] * n + [2] * n,
                            "test_accuracy": [0.5] * n + final_test, "train_accuracy": [0.5] * n + final_train})
    zoo = Zoo(np.zeros((2 * n, 1), np.float32), metrics, pd.DataFrame())
    profile = profile or profiles.resolve("tiny")
    return book_zoos.Collection(name, profile, name, Path("/nowhere") / name, {"cnn": zoo}, source)


def test_the_zoo_pages_accuracy_summary_and_verdict_come_from_the_final_checkpoints():
    main = {"mnist": _collection("mnist", [0.1, 0.2, 0.9, 0.8], [0.1, 0.3, 1.0, 0.9])}
    summary = book_zoos.accuracy_summary(main)
    row = summary.loc["tiny zoo, MNIST, 4 nets, 2 epochs"]
    assert row["median test accuracy"] == 0.5
    assert row["nets at or below 20 % (near chance)"] == "50%"  # of the final rows only: 25 % with the epoch-0 rows
    assert row["median train - test gap"] == 0.1
    assert book_zoos.accuracy_verdict(summary) == (
        "tiny zoo, MNIST, 4 nets, 2 epochs: median test accuracy 0.500, 50% of the nets at or below 20 % (near "
        "chance), median train - test gap 0.100.")
    low = book_zoos.accuracy_summary({"mnist": _collection("mnist", [0.1, 0.1, 0.1, 0.3], [0.1, 0.1, 0.1, 0.3])})
    assert low["median test accuracy"].iloc[0] == 0.1 and low["nets at or below 20 % (near chance)"].iloc[0] == "75%"
    pooled = book_zoos.pooled_final_rows(main)
    assert len(pooled) == 4 and set(pooled["collection"]) == {"MNIST"} and set(pooled["step"]) == {2}


def test_the_build_verdict_counts_the_nets_and_says_whose_they_are():
    tiny, released = profiles.resolve("tiny"), profiles.downloaded()

    def ctx(profile, source):
        collections = {"mnist": _collection("mnist", [0.5] * 3, [0.5] * 3, profile, source),
                       "fashion_mnist": _collection("fashion_mnist", [0.5] * 2, [0.5] * 2, profile, source)}
        return book_zoos.Page(profile, collections, {}, collections, {n: c.zoo for n, c in collections.items()})

    generated = book_zoos.build_verdict(ctx(tiny, "generated"))
    assert generated.startswith("This build ran on 2 collection(s) of the `tiny` profile, 5 nets in all: tiny zoo, MNIST")
    assert "from these tiny zoos and is not the paper's" in generated
    assert "the paper's own" in book_zoos.build_verdict(ctx(released, book_zoos.RELEASED_SOURCE))
    assert "synthetic zoos" in book_zoos.build_verdict(ctx(released, book_zoos.SYNTHETIC_SOURCE))


def test_the_evaluation_note_names_the_bootstrap_size_and_table2s_inputs():
    tiny, standard, released = profiles.resolve("tiny"), profiles.resolve("standard"), profiles.downloaded()
    note = book_zoos.evaluation_note(tiny)
    assert f"{tiny.n_bootstrap} bootstrap resamples" in note
    assert "the DNN on `wstats-layers:0,1,2,3` (1 of 14); the linear model and the GBM on all 14 inputs." in note
    assert "the GBM on `weights.0`, `weights.3`" in book_zoos.evaluation_note(standard)
    assert book_zoos.evaluation_note(released).endswith("Every predictor runs on every input of Table 2.")


def test_table2_inputs_limit_only_the_predictors_a_profile_names():
    from zoolib.features import INPUTS, STATS

    inputs = book_zoos.table2_inputs(profiles.resolve("standard"))
    assert inputs["linear"] == INPUTS and inputs["dnn"] == [STATS] == [profiles.STATS]
    assert "weights" not in inputs["gbm"] and STATS in inputs["gbm"]
    assert book_zoos.table2_inputs(profiles.resolve("mini")) == {p: INPUTS for p in ("linear", "gbm", "dnn")}
    for profile in profiles.PROFILES.values():  # every input a profile names is one of Table 2's
        assert all(set(limited) <= set(INPUTS) for limited in profile.table2_inputs.values()), profile.name
