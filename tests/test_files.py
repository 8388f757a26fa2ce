"""Atomic writes: all or nothing, usual permissions, debris of a crash recognised and removed."""

import os
import stat

import pytest

from zoolib.files import TEMP_PREFIX, atomic_write, check_output_file, remove_debris, write_text_atomic


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_folder_replaces_the_old_one_whole(tmp_path):
    target = tmp_path / "zoo"
    with atomic_write(target, folder=True) as tmp:
        (tmp / "a").write_text("1")
    with atomic_write(target, folder=True) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["zoo"]


def test_files_get_the_umask_permissions_not_tempfiles(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "f", "x")
        with atomic_write(tmp_path / "d", folder=True):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_remove_debris_removes_only_zoolib_temporaries(tmp_path):
    (tmp_path / f"{TEMP_PREFIX}zoo.abc").mkdir()
    (tmp_path / f"{TEMP_PREFIX}weights.npy.x").write_text("partial")
    (tmp_path / ".hidden_user_file").write_text("keep")
    removed = remove_debris(tmp_path)
    assert len(removed) == 2
    assert [p.name for p in tmp_path.iterdir()] == [".hidden_user_file"]


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_remove_debris_leaves_the_temporary_files_of_a_live_process(tmp_path):
    live = tmp_path / f"{TEMP_PREFIX}fm.csv.{os.getpid()}.abc123"  # another command, still writing
    dead = tmp_path / f"{TEMP_PREFIX}fm.{_dead_pid()}.def456"
    live.write_text("in progress")
    dead.mkdir()
    assert remove_debris(tmp_path) == [dead]
    assert [p.name for p in tmp_path.iterdir()] == [live.name]


def test_a_temporary_name_carries_the_pid_of_its_process(tmp_path):
    with atomic_write(tmp_path / "out.csv") as tmp:
        assert tmp.name.startswith(f"{TEMP_PREFIX}out.csv.{os.getpid()}.")
        assert remove_debris(tmp_path) == [] and tmp.exists()  # our own clean-up spares it


def test_an_exclusive_write_does_not_replace_a_file_written_meanwhile(tmp_path):
    target = tmp_path / "features.csv"
    with pytest.raises(FileExistsError, match=str(target)), atomic_write(target, exclusive=True) as tmp:
        tmp.write_text("second")
        target.write_text("first")  # the other command finished first
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["features.csv"]
    with atomic_write(target) as tmp:  # not exclusive (--force): replaced
        tmp.write_text("forced")
    assert target.read_text() == "forced"


def test_an_os_error_while_writing_names_the_target(tmp_path):
    import errno

    target = tmp_path / "f.csv"
    with pytest.raises(OSError) as caught, atomic_write(target):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert caught.value.filename == str(target) and caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_a_folder_replaces_a_file_at_its_target(tmp_path):
    target = tmp_path / "zoo"
    target.write_text("a file")
    with atomic_write(target, folder=True) as tmp:
        (tmp / "weights.npy").write_text("new")
    assert [p.name for p in target.iterdir()] == ["weights.npy"]
    assert [p.name for p in tmp_path.iterdir()] == ["zoo"]


def test_an_output_inside_the_input_zoo_is_refused_force_or_not(tmp_path):
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (tmp_path / "link").symlink_to(zoo)
    for out in (zoo / "metrics.csv.gz", tmp_path / "link" / "f.csv", zoo):
        with pytest.raises(ValueError, match="inside"):
            check_output_file(out, force=True, inputs=(zoo,))
    assert check_output_file(tmp_path / "f.csv", inputs=(zoo,)) == tmp_path / "f.csv"
