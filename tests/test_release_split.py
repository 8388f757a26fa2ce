"""The NFN split files: fetched (resumable) or copied, checked by size and sha256, stored beside the zoo;
against a local HTTP server with fixture files."""

import hashlib
import re

import numpy as np
import pytest

from tests.http_server import serve  # noqa: F401  (fixture)
from tests.zoo_fixtures import write_released_style_zoo
from zoolib import release
from zoolib.release import SPLIT_FILES, DownloadError, download_split_file


def split_bytes(n_rows: int, seed: int = 0) -> bytes:
    """A split file in the published format: a line '0', then a permutation of 0..n_rows-1."""
    return ("0\n" + "".join(f"{i}\n" for i in np.random.default_rng(seed).permutation(n_rows))).encode()


@pytest.fixture
def server(serve):
    """(a server of two split files, their bytes, (size, sha256))."""
    body = split_bytes(50)
    server = serve({"mnist_split.csv": body, "svhn_split.csv": body})
    return server, body, (len(body), hashlib.sha256(body).hexdigest())


def test_the_published_sizes_are_those_of_split_files_of_the_released_zoos():
    for dataset, (name, size, sha256) in SPLIT_FILES.items():
        assert name.endswith("_split.csv") and len(sha256) == 64
        assert len(split_bytes(release.RELEASED_ROWS[dataset])) == size  # one line per row of the released zoo
    commit = release.SPLIT_BASE_URL.split("/")[5]
    assert re.fullmatch("[0-9a-f]{40}", commit), "the split files are read at a pinned commit, so they cannot change"


def test_the_split_file_is_fetched_checked_and_stored_beside_the_zoo_once(tmp_path, server):
    server, body, expected = server
    zoo = tmp_path / "released" / "svhn_cropped"
    path = download_split_file("svhn_cropped", zoo, base_url=server.url, expected=expected)
    assert path == tmp_path / "released" / "svhn_split.csv" and path.read_bytes() == body
    assert download_split_file("svhn_cropped", zoo, base_url=server.url, expected=expected) == path
    assert server.requests == [("svhn_split.csv", None)]  # checked in place: not fetched again
    assert sorted(p.name for p in path.parent.iterdir()) == ["svhn_split.csv"]


def test_an_interrupted_download_resumes(tmp_path, server):
    server, body, expected = server
    (tmp_path / "mnist_split.csv.part").write_bytes(body[:100])
    download_split_file("mnist", tmp_path / "mnist", base_url=server.url, expected=expected)
    assert server.requests == [("mnist_split.csv", "bytes=100-")]
    assert (tmp_path / "mnist_split.csv").read_bytes() == body


def test_a_file_with_another_hash_is_deleted_and_refused(tmp_path, server):
    server, body, (size, _) = server
    with pytest.raises(DownloadError, match="sha256 .* expected 0+; the downloaded file was deleted"):
        download_split_file("mnist", tmp_path / "mnist", base_url=server.url, expected=(size, "0" * 64))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DownloadError, match=f"{size} bytes, the NFN split file has 1778703"):
        download_split_file("mnist", tmp_path / "mnist", base_url=server.url)  # the published file's size


def test_a_local_copy_is_checked_and_copied_beside_the_zoo(tmp_path, server):
    _, body, expected = server
    (tmp_path / "copy.csv").write_bytes(body)
    path = download_split_file("mnist", tmp_path / "zoos" / "mnist", local=tmp_path / "copy.csv", expected=expected)
    assert path == tmp_path / "zoos" / "mnist_split.csv" and path.read_bytes() == body
    (tmp_path / "bad.csv").write_bytes(body[:-2] + b"9\n")
    with pytest.raises(DownloadError, match="not the NFN split file of svhn_cropped"):
        download_split_file("svhn_cropped", tmp_path / "zoos" / "svhn_cropped", local=tmp_path / "bad.csv",
                            expected=expected)
    with pytest.raises(DownloadError, match="no such file"):
        download_split_file("svhn_cropped", tmp_path / "zoos" / "svhn_cropped", local=tmp_path / "missing.csv",
                            expected=expected)
    assert sorted(p.name for p in (tmp_path / "zoos").iterdir()) == ["mnist_split.csv"]


def test_zoo_download_also_fetches_the_split_file(tmp_path, server, monkeypatch, capsys):
    from zoolib.cli import main

    server, body, (size, sha256) = server
    _, metrics = write_released_style_zoo(tmp_path / "mnist", n_runs=3)  # already installed: only the split is fetched
    monkeypatch.setitem(release.RELEASED_ROWS, "mnist", len(metrics))
    monkeypatch.setitem(release.SPLIT_FILES, "mnist", ("mnist_split.csv", size, sha256))
    assert main(["zoo", "download", "mnist", "--dest", str(tmp_path / "mnist"), "--split-base-url", server.url]) == 0
    assert f"{tmp_path / 'mnist_split.csv'}: the NFN benchmark's split file" in capsys.readouterr().out
    assert (tmp_path / "mnist_split.csv").read_bytes() == body
