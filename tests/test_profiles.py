"""zoolib.profiles: one table of per-profile settings, and the environment switches that change them."""

import pytest

from zoolib import profiles


def test_preset_is_the_profiles_unless_the_environment_names_one(monkeypatch):
    monkeypatch.delenv(profiles.PRESET_ENV, raising=False)
    assert profiles.settings("released")["preset"] == "fast"
    assert profiles.settings("mini")["preset"] == "sized"
    monkeypatch.setenv(profiles.PRESET_ENV, "paper")
    assert profiles.settings("released")["preset"] == "paper"
    assert profiles.PROFILES["released"]["preset"] == "fast"  # the table itself is untouched


def test_an_unknown_preset_is_refused_by_name(monkeypatch):
    monkeypatch.setenv(profiles.PRESET_ENV, "papr")
    with pytest.raises(ValueError, match="ZOOLIB_PRESET='papr'.*sized, fast, paper"):
        profiles.settings("released")


def test_full_mnist_switch_only_affects_profiles_that_use_the_subset(monkeypatch):
    monkeypatch.setenv(profiles.FULL_MNIST_ENV, "1")
    assert profiles.settings("mini")["mnist_subset"] is False
    assert "mnist_subset" not in profiles.settings("released")


def test_collection_settings_apply_per_collection_overrides():
    mnist = profiles.collection_settings("mini", "mnist")
    fashion = profiles.collection_settings("mini", "fashion_mnist")
    assert mnist["checkpoints"][-1] == 86 and fashion["checkpoints"] == profiles.PROFILES["mini"]["checkpoints"]
    assert profiles.collection_settings("mini", "mnist_archs")["nets"] == mnist["nets"]  # an unnamed _archs: its dataset's
    with pytest.raises(ValueError, match="no collection 'cifar10'"):
        profiles.collection_settings("mini", "cifar10")
