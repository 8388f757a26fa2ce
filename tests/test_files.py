"""Atomic writes: all or nothing, usual permissions, debris of a crash recognised and removed."""

import os
import stat

import pytest

from zoolib.files import TEMP_PREFIX, atomic_write, remove_debris, write_text_atomic


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
