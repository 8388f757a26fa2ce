"""The NFN benchmark split (sizes against the published ones) and the tie ceiling of Kendall tau-b."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from zoolib.nfn import check_split_sizes, final_rows, nfn_split


def released_like_metrics(complete: int, stopped: int, seed: int = 0) -> pd.DataFrame:
    """Two checkpoints (epoch 0 and 86) per complete run, epochs 0..3 for runs that stopped early."""
    rng = np.random.default_rng(seed)
    runs = [(f"run{i}", [0, 86]) for i in range(complete)] + [(f"bad{i}", [0, 1, 2, 3]) for i in range(stopped)]
    order = rng.permutation(len(runs))
    rows = [(runs[i][0], step) for i in order for step in runs[i][1]]
    metrics = pd.DataFrame(rows, columns=["modeldir", "step"])
    acts = {name: rng.choice(["relu", "tanh"]) for name, _ in runs}
    return metrics.assign(**{"config.epochs": 86, "config.activation": metrics["modeldir"].map(acts)})


@pytest.mark.parametrize("dataset, complete, stopped", [("cifar10", 30_000, 0), ("svhn_cropped", 29_988, 12)])
def test_split_sizes_match_the_published_ones_on_released_sized_zoos(dataset, complete, stopped):
    metrics = released_like_metrics(complete, stopped)
    split = nfn_split(metrics)
    check = check_split_sizes(split, dataset)
    assert check["match"] is True and "match the published" in check["message"]
    rows = np.concatenate(list(split.values()))
    assert len(np.unique(rows)) == len(rows) == complete  # disjoint, every final checkpoint once
    assert (metrics["step"].to_numpy()[rows] == 86).all()


def test_a_zoo_of_another_size_is_reported_as_a_mismatch():
    check = check_split_sizes(nfn_split(released_like_metrics(1_000, 3)), "cifar10")
    assert check["match"] is False and check["sizes"] == (400, 100, 500)
    assert "DIFFER FROM the published (12000, 3000, 15000)" in check["message"]
    assert check_split_sizes(nfn_split(released_like_metrics(100, 0)), "mnist")["match"] is None


def test_split_is_seeded_and_the_halves_follow_the_protocol():
    metrics = released_like_metrics(1_001, 5)
    a, b, c = nfn_split(metrics), nfn_split(metrics), nfn_split(metrics, seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(np.sort(a["test"]), np.sort(c["test"]))
    assert (len(a["train"]), len(a["val"]), len(a["test"])) == (400, 100, 501)


def test_activation_subsets_keep_every_net_on_its_side():
    metrics = released_like_metrics(2_000, 10)
    full = nfn_split(metrics)
    relu = nfn_split(metrics, activation="relu")
    acts = metrics["config.activation"].to_numpy()
    for name in full:
        assert (acts[relu[name]] == "relu").all()
        assert set(relu[name]) == {r for r in full[name] if acts[r] == "relu"}
    with pytest.raises(ValueError, match="no 'gelu' nets"):
        nfn_split(metrics, activation="gelu")


def test_final_rows_follow_config_epochs_in_a_generated_zoo():
    metrics = pd.DataFrame(
        {"modeldir": ["a", "a", "a", "b", "b"], "step": [0, 1, 2, 0, 1], "config.epochs": 2}
    )
    assert final_rows(metrics).tolist() == [2]  # run b stopped (diverged) before its last epoch
    assert final_rows(metrics.drop(columns="config.epochs")).tolist() == [2]
    with pytest.raises(ValueError, match="only 1 rows at the final epoch"):
        nfn_split(metrics)


def test_the_tie_ceiling_reported_with_the_benchmark_is_a_tie_free_perfect_rankers_tau_b():
    from zoolib.evaluation import tau_ceiling  # the predictors' module owns the function; nfn reuses it

    rng = np.random.default_rng(0)
    y = np.round(rng.uniform(0.1, 0.9, 500), 2)  # many ties
    y[:233] = 0.1959  # 46.6 % at the majority class, as SVHN-GS ReLU nets (FACTS.md)
    perfect = y + 1e-9 * rng.permutation(len(y))  # same order as y, ties broken arbitrarily
    assert tau_ceiling(y) == pytest.approx(kendalltau(y, perfect).statistic, abs=1e-12)
    assert tau_ceiling(y) < np.sqrt(1 - 0.466**2) + 1e-3 < 0.9
    assert tau_ceiling(rng.normal(size=100)) == 1.0
