"""Download, resume, safe extraction and checks of the released zoo, against a local HTTP server."""

import hashlib
import io
import socket
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from tests.http_server import serve  # noqa: F401  (fixture)
from tests.zoo_fixtures import write_released_style_zoo
from zoolib import release
from zoolib.cli import main
from zoolib.release import BadArchive, DownloadError, HostUnreachable, download_zoo
from zoolib.zoo import check_manifest, read_zoo

N_RUNS = 3  # 2 complete runs of 9 checkpoints + 1 stopped after 3: 21 rows
N_ROWS = 21


def make_archive(work: Path, edit=None, extra=None) -> bytes:
    """A released-style .tar.xz: one top folder holding weights.npy, metrics.csv.gz, layout.csv.

    `edit(folder)` changes the files before packing; `extra` adds (TarInfo, bytes) members."""
    folder = work / "src" / "mnist"
    write_released_style_zoo(folder, n_runs=N_RUNS)
    if edit:
        edit(folder)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        tar.add(folder, arcname="mnist")
        for member, data in extra or []:
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


@pytest.fixture
def archive(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("archive"))


def no_leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_download_installs_a_checked_zoo_and_is_idempotent(tmp_path, serve, archive):
    server = serve({"mnist.tar.xz": archive})
    dest = tmp_path / "zoos" / "mnist"
    assert download_zoo("mnist", dest, base_url=server.url, expected_rows=N_ROWS) == dest
    zoo = read_zoo(dest)
    assert zoo.weights.shape == (N_ROWS, 4970) and zoo.runs.nunique() == N_RUNS
    assert sorted(p.name for p in dest.parent.iterdir()) == ["mnist"]  # no .part, no temporary folder
    assert server.ranges == [None]
    download_zoo("mnist", dest, base_url=server.url, expected_rows=N_ROWS)
    assert server.ranges == [None]  # already installed and verified: nothing fetched


def test_an_interrupted_download_is_resumed_with_a_range_request(tmp_path, serve, archive):
    dest = tmp_path / "mnist"
    (tmp_path / "mnist.tar.xz.part").write_bytes(archive[: len(archive) // 2])
    server = serve({"mnist.tar.xz": archive})
    download_zoo("mnist", dest, base_url=server.url, expected_rows=N_ROWS)
    assert server.ranges == [f"bytes={len(archive) // 2}-"]
    assert read_zoo(dest).weights.shape == (N_ROWS, 4970)
    assert not (tmp_path / "mnist.tar.xz.part").exists()


def test_a_server_ignoring_range_restarts_the_download(tmp_path, serve, archive):
    (tmp_path / "mnist.tar.xz.part").write_bytes(b"stale bytes of some other file")
    server = serve({"mnist.tar.xz": archive}, mode="no-range")
    download_zoo("mnist", tmp_path / "mnist", base_url=server.url, expected_rows=N_ROWS)
    assert server.ranges == ["bytes=30-"]
    assert read_zoo(tmp_path / "mnist").weights.shape == (N_ROWS, 4970)


def test_a_truncated_download_keeps_the_part_file_only_and_resumes_later(tmp_path, serve, archive):
    dest = tmp_path / "mnist"
    cut = serve({"mnist.tar.xz": archive}, mode="cut")
    with pytest.raises(DownloadError, match="cut short .* run the same command again to resume"):
        download_zoo("mnist", dest, base_url=cut.url, expected_rows=N_ROWS)
    assert not dest.exists() and no_leftovers(tmp_path) == []
    part = tmp_path / "mnist.tar.xz.part"
    assert part.stat().st_size == len(archive) // 2
    assert cut.ranges[1:] == [f"bytes={len(archive) // 2}-"] * 3  # retried, resuming each time
    good = serve({"mnist.tar.xz": archive})
    download_zoo("mnist", dest, base_url=good.url, expected_rows=N_ROWS)
    assert good.ranges == [f"bytes={len(archive) // 2}-"]
    assert read_zoo(dest).weights.shape == (N_ROWS, 4970) and not part.exists()


def test_a_full_disk_while_downloading_deletes_the_part_and_says_to_make_room(tmp_path, serve, archive, monkeypatch):
    class FullDisk(io.BytesIO):
        def write(self, data):
            raise OSError(28, "No space left on device")

    real_open = open
    monkeypatch.setattr(release, "open", lambda path, mode="r", *a, **k: FullDisk() if "b" in mode and mode[0] in "aw"
                        else real_open(path, mode, *a, **k), raising=False)
    server = serve({"mnist.tar.xz": archive})
    (tmp_path / "mnist.tar.xz.part").write_bytes(archive[:100])  # an earlier, interrupted download
    with pytest.raises(DownloadError, match=r"mnist.tar.xz.part: No space left on device .*deleted.*make room for "
                                            rf"{len(archive)} bytes") as caught:
        download_zoo("mnist", tmp_path / "mnist", base_url=server.url, expected_rows=N_ROWS)
    assert "resume" not in str(caught.value) and len(server.ranges) == 1  # not retried: the disk, not the network
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_full_disk_while_extracting_keeps_the_complete_download(tmp_path, serve, archive, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    server = serve({"mnist.tar.xz": archive})
    with monkeypatch.context() as patch:
        patch.setattr(tarfile.TarFile, "extract", disk_full)
        with pytest.raises(DownloadError, match="(?s)No space left on device.*download is complete in"):
            download_zoo("mnist", tmp_path / "mnist", base_url=server.url, expected_rows=N_ROWS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.tar.xz.part"]
    download_zoo("mnist", tmp_path / "mnist", base_url=server.url, expected_rows=N_ROWS)
    assert server.ranges == [None, f"bytes={len(archive)}-"]  # answered 416: nothing left to fetch
    assert read_zoo(tmp_path / "mnist").weights.shape == (N_ROWS, 4970)


def test_a_complete_part_file_is_installed_after_a_416_answer(tmp_path, serve, archive):
    (tmp_path / "mnist.tar.xz.part").write_bytes(archive)
    server = serve({"mnist.tar.xz": archive})
    download_zoo("mnist", tmp_path / "mnist", base_url=server.url, expected_rows=N_ROWS)
    assert server.ranges == [f"bytes={len(archive)}-"]


@pytest.mark.parametrize("where", [0.0, 0.5])
def test_a_corrupt_archive_leaves_nothing_behind(tmp_path, serve, archive, where):
    at = int(where * len(archive))
    corrupt = archive[:at] + bytes(b ^ 0xFF for b in archive[at : at + 300]) + archive[at + 300 :]
    server = serve({"mnist.tar.xz": corrupt})
    with pytest.raises(DownloadError, match=r"(?s)not a valid, complete \.tar\.xz archive.*was deleted"):
        download_zoo("mnist", tmp_path / "mnist", base_url=server.url, expected_rows=N_ROWS)
    assert list(tmp_path.iterdir()) == []


def test_an_archive_with_a_wrong_layout_is_refused(tmp_path, serve):
    def permute_a_kernel(folder):  # a valid layout (bias, then a kernel of 16 outputs), not the paper's
        layout = pd.read_csv(folder / "layout.csv", index_col=0)
        layout.loc[1, "shape"] = "(1, 3, 3, 16)"
        layout.to_csv(folder / "layout.csv")

    server = serve({"mnist.tar.xz": make_archive(tmp_path, edit=permute_a_kernel)})
    with pytest.raises(DownloadError, match="is not the released mnist zoo: layout.csv: layout differs from the paper.s"):
        download_zoo("mnist", tmp_path / "zoos" / "mnist", base_url=server.url, expected_rows=N_ROWS)
    assert list((tmp_path / "zoos").iterdir()) == []


def test_the_published_row_count_is_checked(tmp_path, serve, archive):
    server = serve({"mnist.tar.xz": archive})
    with pytest.raises(DownloadError, match="is not the released mnist zoo: 21 rows, the released mnist zoo has 269973"):
        download_zoo("mnist", tmp_path / "zoos" / "mnist", base_url=server.url)
    assert list((tmp_path / "zoos").iterdir()) == []


def _member(name, kind=tarfile.REGTYPE, target=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, target, 0 if kind != tarfile.REGTYPE else 4
    return info, b"evil" if kind == tarfile.REGTYPE else None


@pytest.mark.parametrize(
    "member, why",
    [
        (_member("../evil.txt"), "unsafe member path"),
        (_member("/tmp/evil.txt"), "unsafe member path"),
        (_member("mnist/link", tarfile.SYMTYPE, "../../../etc/passwd"), "link or special file"),
        (_member("mnist/hard", tarfile.LNKTYPE, "/etc/passwd"), "link or special file"),
    ],
)
def test_an_archive_with_members_outside_the_folder_is_refused(tmp_path, serve, member, why):
    archive = make_archive(tmp_path, extra=[member])
    server = serve({"mnist.tar.xz": archive})
    dest = tmp_path / "out" / "zoos" / "mnist"
    with pytest.raises(DownloadError, match=why):
        download_zoo("mnist", dest, base_url=server.url, expected_rows=None)
    assert list(dest.parent.iterdir()) == [] and not (tmp_path / "out" / "evil.txt").exists()


def test_offline_the_error_says_the_host_is_unreachable_and_how_to_install_by_hand(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    with pytest.raises(HostUnreachable) as err:
        download_zoo("mnist", tmp_path / "mnist", base_url=f"http://127.0.0.1:{port}")
    message = str(err.value)
    assert "could not reach the host" in message
    assert f"http://127.0.0.1:{port}/mnist.tar.xz" in message
    assert "--archive FILE" in message and str(tmp_path / "mnist.tar.xz") in message
    assert list(tmp_path.iterdir()) == []


def test_a_local_archive_or_one_placed_next_to_the_zoo_is_installed(tmp_path, archive):
    file = tmp_path / "elsewhere.tar.xz"
    file.write_bytes(archive)
    download_zoo("mnist", tmp_path / "a" / "mnist", archive=file, expected_rows=N_ROWS)
    assert read_zoo(tmp_path / "a" / "mnist").weights.shape == (N_ROWS, 4970)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "mnist.tar.xz").write_bytes(archive)
    download_zoo("mnist", tmp_path / "b" / "mnist", base_url="http://127.0.0.1:1", expected_rows=N_ROWS)
    assert read_zoo(tmp_path / "b" / "mnist").weights.shape == (N_ROWS, 4970)
    assert file.exists()  # the user's archive is left alone


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        release.archive_url("imagenet")


def local_split_file(folder: Path, monkeypatch) -> Path:
    """A stand-in NFN split file for mnist, registered as the published one."""
    body = b"0\n" + b"".join(b"%d\n" % i for i in range(N_ROWS))
    file = folder / "my_split.csv"
    file.write_bytes(body)
    monkeypatch.setitem(release.SPLIT_FILES, "mnist", ("mnist_split.csv", len(body), hashlib.sha256(body).hexdigest()))
    return file


def test_cli_download_reports_the_installed_zoo(tmp_path, serve, archive, monkeypatch, capsys):
    monkeypatch.setitem(release.RELEASED_ROWS, "mnist", N_ROWS)
    split = local_split_file(tmp_path, monkeypatch)
    server = serve({"mnist.tar.xz": archive})
    dest = ["--dest", str(tmp_path / "mnist"), "--split-file", str(split)]
    assert main(["zoo", "download", "mnist", *dest, "--base-url", server.url]) == 0
    out = capsys.readouterr().out
    assert f"{N_ROWS} rows x 4970 parameters, {N_RUNS} runs" in out and str(tmp_path / "mnist") in out
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path / "data"))
    code = main(["zoo", "download", "mnist", "--base-url", "http://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and "could not reach the host" in err and "Traceback" not in err
    assert str(tmp_path / "data" / "zoos" / "released" / "mnist.tar.xz") in err


def test_an_installed_zoo_carries_a_manifest_of_its_files_and_archive(tmp_path, archive):
    import json

    file = tmp_path / "mnist.tar.xz"
    file.write_bytes(archive)
    digest = hashlib.sha256(archive).hexdigest()
    dest = download_zoo("mnist", tmp_path / "zoos" / "mnist", archive=file, expected_rows=N_ROWS, sha256=digest.upper())
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["archive"] == {"name": "mnist.tar.xz", "source": str(file), "size": len(archive), "sha256": digest}
    assert sorted(manifest["files"]) == ["layout.csv", "metrics.csv.gz", "weights.npy"]
    assert manifest["files"]["layout.csv"]["sha256"] == hashlib.sha256((dest / "layout.csv").read_bytes()).hexdigest()
    assert sorted(p.name for p in dest.iterdir()) == ["layout.csv", "manifest.json", "metrics.csv.gz", "weights.npy"]
    assert check_manifest(dest) == [(name, "ok") for name in sorted(manifest["files"])]


def test_an_installed_zoo_from_another_archive_is_kept_unless_forced(tmp_path, archive):
    file = tmp_path / "mnist.tar.xz"
    file.write_bytes(archive)
    dest = download_zoo("mnist", tmp_path / "mnist", archive=file, expected_rows=N_ROWS)
    other = "ab" * 32
    with pytest.raises(FileExistsError, match=f"installed from an archive with sha256 .*, not {other}.*--force"):
        download_zoo("mnist", dest, archive=file, expected_rows=N_ROWS, sha256=other)
    with pytest.raises(BadArchive, match=f"sha256 {hashlib.sha256(archive).hexdigest()}, expected {other}"):
        download_zoo("mnist", dest, archive=file, expected_rows=N_ROWS, sha256=other, force=True)
    assert read_zoo(dest).weights.shape == (N_ROWS, 4970)  # the refused archive changed nothing


def test_a_checked_zoo_without_a_manifest_gets_one(tmp_path):
    write_released_style_zoo(tmp_path / "mnist", n_runs=N_RUNS)
    download_zoo("mnist", tmp_path / "mnist", expected_rows=N_ROWS, base_url="http://127.0.0.1:1")
    assert [status for _, status in check_manifest(tmp_path / "mnist")] == ["ok"] * 3


def test_the_released_checkpoint_structure_allows_a_few_diverged_runs():
    from tests.zoo_fixtures import released_style_metrics

    assert release.released_checkpoints(released_style_metrics(200, stopped_early=2)) is None
    problem = release.released_checkpoints(released_style_metrics(200, stopped_early=3))
    assert problem == "3 of 200 runs stop before epoch 86; in the released zoo nearly all runs have all 9 checkpoints"
    gap = released_style_metrics(3, stopped_early=0).query("step != 2")
    assert "has checkpoints at epochs [0, 1, 3, 20, 40, 60, 80, 86]" in release.released_checkpoints(gap)


def test_size_caps_follow_the_row_count():
    per_member, in_all = release.size_caps(N_ROWS)
    assert per_member == N_ROWS * 4970 * 4 + 4096 and in_all == per_member + N_ROWS * 2048 + (1 << 20)
    assert release.size_caps(270_000)[0] < 5.5 * 2**30
