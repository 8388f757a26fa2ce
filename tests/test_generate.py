"""zoolib.generate: profiles, shards, the architecture collection, and a real kill -9 / resume."""

from __future__ import annotations

import dataclasses
import gzip
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zoolib import generate, profiles
from zoolib.cnn import num_parameters
from zoolib.data import load_dataset
from zoolib.generate import collection_specs, generate_collection, train_fractions
from zoolib.train import stack_key
from zoolib.zoo import INDEX_FILE, Generation, read_collection, read_generation
from zoolib.verify import failures, load_test_set, verify_zoo
from zoolib.zoo import read_zoo

REPO = Path(__file__).resolve().parents[1]


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


@pytest.fixture
def fixture_data(tmp_path, monkeypatch) -> Path:
    """A small Fashion-MNIST in the real idx format (1100 train, 200 test images), as $ZOOLIB_DATA."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "datasets" / "fashion_mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", 1100), ("t10k", 200)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)) + labels[:, None, None] * 19  # brightness tells the class
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images.astype(np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ZOOLIB_DATASET_MIRROR", "http://127.0.0.1:9/")
    return tmp_path / "data"


def test_specs_follow_the_profiles_schedule_and_give_each_variant_its_own_net():
    paper = profiles.paper_protocol()
    spec = collection_specs(paper, "cifar10")[""]
    schedule = paper.schedule("cifar10")
    assert (spec.nets, spec.checkpoints, spec.epochs_between_checkpoints) == (
        schedule.nets, schedule.checkpoints, schedule.epochs_between_checkpoints)
    assert spec.epochs == spec.checkpoints[-1] and spec.profile == paper.name and spec.collection == "cifar10"
    assert spec.arch.input_size == 32 and num_parameters(spec.arch) == 4970  # the paper's CNN on 32x32 images
    mini = profiles.resolve("mini")
    assert collection_specs(mini, "fashion_mnist", nets=50, shard_size=3)[""].nets == 50  # arguments win
    archs = collection_specs(mini, "fashion_mnist_archs")
    assert list(archs) == list(generate.ARCHITECTURES)
    assert len({num_parameters(s.arch) for s in archs.values()}) == len(archs)  # different widths
    assert len({s.seed for s in archs.values()}) == len(archs)
    with pytest.raises(ValueError, match="collection must be"):
        collection_specs(mini, "imagenet")
    with pytest.raises(ValueError, match="downloaded, not generated"):
        collection_specs(profiles.downloaded(), "mnist")


def test_the_stack_comes_from_the_argument_else_the_trainer():
    mini = profiles.resolve("mini")
    assert {s.stack for s in collection_specs(mini, "fashion_mnist_archs").values()} == {generate.STACK}
    assert collection_specs(mini, "fashion_mnist", stack=7)[""].stack == 7


def test_a_collection_may_override_the_schedule_and_mnist_is_the_fixed_subset(monkeypatch):
    base = profiles.Schedule(nets=5, checkpoints=(0, 1), epochs_between_checkpoints=1, shard_size=2)
    mnist_schedule = dataclasses.replace(base, nets=3, checkpoints=(0, 4), epochs_between_checkpoints=4, mnist_subset=True)
    profile = dataclasses.replace(profiles.resolve("tiny"), collections=("fashion_mnist", "mnist"),
                                  schedules={"fashion_mnist": base, "mnist": mnist_schedule})
    mnist = collection_specs(profile, "mnist")[""]
    assert (mnist.nets, mnist.checkpoints, mnist.epochs_between_checkpoints) == (3, (0, 4), 4)
    assert mnist.mnist_subset  # the same MNIST on every machine, whatever is on disk
    fashion = collection_specs(profile, "fashion_mnist")[""]
    assert fashion.nets == 5 and fashion.checkpoints == (0, 1) and not fashion.mnist_subset
    assert collection_specs(profile, "mnist_archs")["mlp"].checkpoints == (0, 4)  # its dataset's schedule
    with pytest.raises(ValueError, match="no collection 'cifar10'"):
        collection_specs(profile, "cifar10")
    monkeypatch.setenv(profiles.FULL_MNIST_ENV, "1")  # resolved again: the switch applies to every MNIST schedule
    assert not collection_specs(profiles.resolve("tiny"), "mnist")[""].mnist_subset


def test_train_fractions_keep_at_least_one_batch():
    assert train_fractions(60000) == (0.1, 0.25, 0.5, 1.0)
    assert train_fractions(4000) == (0.25, 0.5, 1.0)  # the MNIST 5k subset's training split
    with pytest.raises(ValueError, match="less than one batch"):
        train_fractions(500)


def test_shard_names_are_prefix_stable_and_follow_the_data(fixture_data):
    data = load_dataset("fashion_mnist")
    tiny = profiles.resolve("tiny")
    spec = collection_specs(tiny, "fashion_mnist", nets=10, shard_size=4)[""]
    bigger = collection_specs(tiny, "fashion_mnist", nets=12, shard_size=4)[""]
    plan = generate._shard_plan(spec, generate.zoo_configs(spec, len(data.y_train)), data)
    plan_big = generate._shard_plan(bigger, generate.zoo_configs(bigger, len(data.y_train)), data)
    configs = generate.zoo_configs(spec, len(data.y_train))
    assert sorted(np.concatenate([p for p, _ in plan]).tolist()) == list(range(10))  # every run once
    assert all(len(p) <= 4 and len({stack_key(configs.iloc[i]) for i in p}) == 1 for p, _ in plan)  # stackable
    assert [p[0] for p, _ in plan] == sorted(p[0] for p, _ in plan)
    full = {name for p, name in plan if len(p) == 4}
    assert full <= {name for _, name in plan_big}  # a bigger zoo keeps the full shards of a smaller one
    other = generate._shard_plan(spec, generate.zoo_configs(spec, len(data.y_train)), data.subset(1000))
    assert not {n for *_, n in plan} & {n for *_, n in other}


def test_architecture_collection_one_zoo_per_architecture_that_verifies(fixture_data, monkeypatch):
    from dask.distributed import Client, LocalCluster

    # two of the variants keep the test fast: a deeper CNN and the MLP (both on the stacked engine)
    monkeypatch.setattr(generate, "ARCHITECTURES", {k: generate.ARCHITECTURES[k] for k in ("cnn_deep", "mlp")})
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=logging.ERROR
    ) as cluster, \
            Client(cluster) as client:
        specs = collection_specs(profiles.resolve("tiny"), "fashion_mnist_archs", nets=1)
        out = generate_collection(specs, client=client, progress=False)
    assert out == fixture_data / "zoos" / "tiny" / "fashion_mnist_archs"
    index = pd.read_csv(out / INDEX_FILE)
    assert index["name"].tolist() == list(generate.ARCHITECTURES)
    zoos = read_collection(out)
    for row in index.itertuples():
        zoo = zoos[row.name]
        assert zoo.weights.shape[1] == row.parameters == num_parameters(generate.ARCHITECTURES[row.name])
        assert zoo.metrics["config.dnn_architecture"].iloc[0] == generate.ARCHITECTURES[row.name].kind
        assert zoo.metrics["modeldir"].iloc[0].startswith(f"fashion_mnist/{row.name}/")
        info = read_generation(out / row.name)
        assert info.data_source == str(fixture_data / "datasets" / "fashion_mnist")
        assert (info.train_images, info.test_images) == (1100, 200)
        assert set(zoo.metrics["config.train_fraction"]) <= {0.5, 1.0}  # 0.1 and 0.25 of 1100 < one batch
        data, warning = load_test_set(zoo)  # end to end: the generated nets rebuild and re-evaluate exactly
        report = verify_zoo(zoo, data, n=2)
        assert warning is None and len(report) == 2 and not failures(report), report


def _generate_command(out: Path, workers: int) -> list[str]:
    return [
        sys.executable, "-m", "zoolib.cli", "zoo", "generate", "--profile", "tiny", "--dataset", "fashion_mnist",
        "--nets", "6", "--shard-size", "2", "--workers", str(workers), "--out", str(out),
    ]


def test_kill_9_then_resume_gives_the_uninterrupted_zoo(fixture_data, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = tmp_path / "resumed"
    shards = tmp_path / "resumed.shards"
    proc = subprocess.Popen(
        _generate_command(out, workers=2), cwd=REPO, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    try:
        while not list(shards.glob("shard-*.npz")) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole job: the command, its scheduler and worker processes
        proc.wait()
    done = sorted(p.name for p in shards.glob("shard-*.npz"))
    spec = collection_specs(profiles.resolve("tiny"), "fashion_mnist", nets=6, shard_size=2)[""]
    data = generate.load_spec_data(spec)
    total = len(generate._shard_plan(spec, generate.zoo_configs(spec, len(data.y_train)), data))
    assert 1 <= len(done) < total, f"expected an interrupted run, found shards {done} of {total}"
    assert not out.exists()

    resumed = subprocess.run(_generate_command(out, workers=1), cwd=REPO, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming, {len(done)} of {total} shards" in resumed.stderr
    assert not shards.exists()

    fresh = tmp_path / "fresh"
    plain = subprocess.run(_generate_command(fresh, workers=1), cwd=REPO, env=env, capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr[-3000:]

    a, b = read_zoo(out), read_zoo(fresh)
    assert a.metrics["modeldir"].nunique() == 6
    np.testing.assert_array_equal(np.asarray(a.weights), np.asarray(b.weights))  # bitwise
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    assert (a.metrics["step"].isin([0, 1, 2])).all()


def test_trained_images_counts_whole_batches_of_each_run_times_the_epochs():
    info = Generation(Path("generation.json"), {"dataset": "mnist", "nets": 3, "checkpoints": [0, 1, 10]},
                      train_images=5000)
    runs = pd.DataFrame({"config.train_fraction": [1.0, 0.5, 0.25]})
    # 5000 -> 4608 (9 batches of 512), 2500 -> 2048, 1250 -> 1024; 10 epochs each
    assert generate.trained_images(info, runs) == (4608 + 2048 + 1024) * 10


def test_two_generations_of_a_batch_norm_zoo_are_bit_identical(fixture_data, tmp_path):
    """Every worker runs deterministic TensorFlow (op determinism, one thread), so the same spec gives
    the same bytes, here for the cnn_bn variant on two worker processes."""
    spec = generate.ZooSpec(dataset="fashion_mnist", nets=4, checkpoints=(0, 1), epochs_between_checkpoints=1,
                            arch=generate.ARCHITECTURES["cnn_bn"], arch_name="cnn_bn", shard_size=2,
                            train_images=1024, test_images=200)
    first = generate.generate_zoo(spec, tmp_path / "first", workers=2, progress=False)
    second = generate.generate_zoo(spec, tmp_path / "second", workers=2, progress=False)
    for name in ("weights.npy", "metrics.csv.gz", "layout.csv"):
        read = gzip.decompress if name.endswith(".gz") else bytes  # the gzip header holds a time stamp
        assert read((first / name).read_bytes()) == read((second / name).read_bytes()), name
    info = read_generation(first).spec
    assert (info["seeds"], info["stack"], info["engine"]) == ("shared", generate.STACK, "fast")


def test_a_line_per_finished_shard_when_stdout_is_not_a_terminal(tmp_path, monkeypatch, capsys):
    """In a log (CI, `make book > log`) a tqdm bar prints nothing readable: each finished shard prints a line."""
    from dask.distributed import Client, LocalCluster

    def fake_shard(configs, data, checkpoints, arch, stack, engine):  # no training: the progress is under test
        return np.zeros((len(configs), 3), np.float32), pd.DataFrame({"modeldir": configs["modeldir"], "step": 0})

    monkeypatch.setattr(generate, "_train_shard", fake_shard)
    spec = generate.ZooSpec(dataset="fashion_mnist", nets=5, checkpoints=(0,), shard_size=2)
    configs = pd.DataFrame({"modeldir": [f"run{i}" for i in range(5)]})
    todo = [(np.array([0, 1]), "a"), (np.array([2, 3]), "b"), (np.array([4]), "c")]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        generate._run_shards(client, spec, configs, None, todo, tmp_path, "fashion_mnist", progress=True)
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 3 and all(line.startswith("fashion_mnist: ") and line.endswith(" s") for line in lines)
        done = [int(line.split()[1]) for line in lines]  # nets done so far, whichever shard finished first
        assert done == sorted(done) and done[-1] == 5
        assert [line.split(", ")[1] for line in lines] == [f"shard {k} of 3 of this session" for k in (1, 2, 3)]
        generate._run_shards(client, spec, configs, None, todo[:1], tmp_path, "fashion_mnist", progress=False)
        assert capsys.readouterr().out == ""  # asked for no progress: none
    assert len(list(tmp_path.glob("*.npz"))) == 3
