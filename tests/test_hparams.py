"""zoolib.hparams: Table 1 as data and seeded, prefix-stable sampling of configs."""

from __future__ import annotations

import numpy as np

from zoolib.cnn import Architecture
import pytest

from zoolib.hparams import CONFIG_COLUMNS, SPACE, sample_configs, space_table


def test_configs_have_the_released_columns_and_stay_in_the_space():
    configs = sample_configs(400, "cifar10", seed=3, epochs=86)
    assert list(configs.columns) == CONFIG_COLUMNS + ["modeldir"]
    assert configs["modeldir"].is_unique
    assert (configs["config.random_seed"] == 3).all()  # the default seed policy is the paper's: shared
    assert (configs["config.dataset"] == "cifar10").all()
    assert (configs["config.epochs"] == 86).all() and (configs["config.epochs_between_checkpoints"] == 20).all()
    assert (configs["config.dnn_architecture"] == "cnn").all()
    assert (configs["config.num_layers"] == 3).all() and (configs["config.num_units"] == 16).all()
    for name, (kind, values) in SPACE.items():
        column = configs[f"config.{name}"]
        if kind == "choice":
            assert set(column) == set(values), name  # 400 draws hit every value
        else:
            assert column.between(values[0], values[1]).all(), name
    lr = np.log(configs["config.learning_rate"])
    assert abs(lr.mean() - np.log(np.sqrt(5e-4 * 5e-2))) < 0.2  # log-uniform: centred in log space


def test_sampling_is_a_pure_function_of_seed_and_prefix_stable():
    a = sample_configs(20, "mnist", seed=0, epochs=10)
    assert a.equals(sample_configs(20, "mnist", seed=0, epochs=10))
    assert a.iloc[:8].equals(sample_configs(8, "mnist", seed=0, epochs=10))
    tail = sample_configs(12, "mnist", seed=0, epochs=10, start=8)
    assert tail.reset_index(drop=True).equals(a.iloc[8:].reset_index(drop=True))
    other_seed = sample_configs(20, "mnist", seed=1, epochs=10)
    other_dataset = sample_configs(20, "fashion_mnist", seed=0, epochs=10)
    assert not np.allclose(a["config.learning_rate"], other_seed["config.learning_rate"])
    assert not np.allclose(a["config.learning_rate"], other_dataset["config.learning_rate"])


def test_seed_policies_change_only_the_training_seed():
    shared = sample_configs(50, "mnist", seed=7, epochs=10)
    per_run = sample_configs(50, "mnist", seed=7, epochs=10, seeds="per-run")
    assert (shared["config.random_seed"] == 7).all()
    assert per_run["config.random_seed"].is_unique and not (per_run["config.random_seed"] == 7).any()
    others = [c for c in shared.columns if c != "config.random_seed"]
    assert shared[others].equals(per_run[others])
    with pytest.raises(ValueError, match="seeds must be one of"):
        sample_configs(2, "mnist", seed=7, epochs=10, seeds="each")


def test_architecture_columns_and_run_ids():
    arch = Architecture(kind="cnn_bn", num_layers=5, num_units=32, padding="same")
    configs = sample_configs(3, "fashion_mnist", seed=2, epochs=5, epochs_between_checkpoints=1,
                             arch=arch, arch_name="cnn_bn_deep")
    assert configs["config.dnn_architecture"].tolist() == ["cnn_bn"] * 3
    assert configs["config.num_layers"].tolist() == [5] * 3 and configs["config.num_units"].tolist() == [32] * 3
    assert configs["modeldir"].tolist() == [f"fashion_mnist/cnn_bn_deep/seed2/run{i:06d}" for i in range(3)]


def test_space_table_lists_table_1():
    table = space_table()
    assert list(table.columns) == ["hyperparameter", "distribution", "values"]
    assert table["hyperparameter"].tolist() == list(SPACE) + ["fixed"]
    assert "TruncatedNormal" in table.set_index("hyperparameter").loc["w_init", "values"]
