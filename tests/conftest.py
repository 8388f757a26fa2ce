"""Shared test set-up: quiet TensorFlow, small helpers for building zoos on disk, shared fixtures."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from tests.zoo_fixtures import learnable_zoo  # noqa: E402  (after the environment it reads)


@pytest.fixture()
def released_data(tmp_path, monkeypatch) -> Path:
    """A data folder whose released profile holds small released-format zoos of cifar10 and svhn_cropped."""
    for seed, dataset in enumerate(("cifar10", "svhn_cropped")):
        learnable_zoo(tmp_path / "zoos" / "released" / dataset, n_runs=120, steps=(0, 1, 86), seed=seed, dataset=dataset)
    monkeypatch.setenv("ZOOLIB_DATA", str(tmp_path))
    return tmp_path
