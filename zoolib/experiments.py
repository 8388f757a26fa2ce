"""The paper's experiments, each returning tidy DataFrames that the book turns into tables and figures.

- `table2`: predictors x inputs x collections (paper Table 2), with the paper's R^2 alongside;
- `transfer_across`: train on one collection, test on another (paper Figure 5, the 4x4 grid);
- `early_checkpoints`: weights of an early epoch predicting the FINAL test accuracy (Figure 6);
- `transfer_architectures`: train on nets of one architecture (or a mix), test on others, on the
  fixed-size "wstats-arch" inputs (Figure 7).
All of them follow the protocol of `zoolib.evaluation`: runs split by `seed`, early stopping and
model selection on validation runs, test runs scored once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from zoolib.evaluation import checkpoint_rows, evaluate_predictor, fit_and_score, fit_on_split, run_split, zoo_features
from zoolib.features import INPUTS
from zoolib.metrics import score
from zoolib.predictors import input_encoding, make_predictor
from zoolib.zoo import Zoo, datasets_of, select_rows

# The paper's R^2 on the test split (v1 zoo, 18 epochs, from best_configs.json), per dataset the
# linear, GBM and DNN predictors. Numbers of the paper, not of any zoo this package made.
_PAPER_R2 = """
inputs                   mnist           fashion_mnist   cifar10         svhn_cropped
weights.0                .716 .977 .978  .500 .982 .982  .361 .959 .959  .451 .936 .935
weights.1                .634 .966 .969  .423 .975 .973  .404 .926 .929  .545 .895 .876
weights.2                .659 .969 .975  .450 .973 .976  .428 .928 .930  .566 .900 .890
weights.3                .808 .987 .989  .699 .989 .989  .707 .969 .969  .802 .968 .973
weights                  .847 .988 .980  .733 .990 .981  .662 .970 .954  .786 .971 .931
hyper                    .692 .918 .898  .614 .924 .888  .685 .934 .903  .636 .935 .880
hyper+weights            .874 .990 .979  .794 .991 .983  .735 .979 .955  .814 .978 .934
wstats-glob              .780 .953 .948  .516 .955 .938  .186 .914 .897  .384 .908 .904
wnorm-layers:0,1,2,3-l1  .835 .983 .959  .716 .982 .952  .479 .960 .927  .629 .967 .945
wnorm-layers:0,1,2,3-l2  .848 .981 .980  .730 .983 .981  .542 .960 .950  .700 .971 .971
hyper.learning_rate      .025 .024 .026  .033 .035 .036  .003 .015 .014  .000 .034 .034
wstats-layers:0,3        .902 .989 .988  .775 .989 .988  .633 .971 .968  .779 .971 .971
wstats-layers:3          .842 .973 .973  .713 .977 .975  .605 .941 .933  .755 .946 .946
wstats-layers:0,1,2,3    .920 .993 .993  .804 .993 .992  .727 .984 .980  .852 .986 .985
"""


def paper_table2() -> pd.DataFrame:
    """The paper's Table 2 R^2 as tidy rows: inputs, dataset, predictor, paper_r2 (v1 zoo)."""
    header, *lines = _PAPER_R2.strip().splitlines()
    datasets = header.split()[1:]
    rows = []
    for line in lines:
        inputs, *values = line.split()
        for k, value in enumerate(values):
            predictor = ("linear", "gbm", "dnn")[k % 3]
            rows.append({"inputs": inputs, "dataset": datasets[k // 3], "predictor": predictor, "paper_r2": float(value)})
    return pd.DataFrame(rows)


def table2(zoos: dict[str, Zoo], predictors: Sequence[str] = ("linear", "gbm", "dnn"),
           inputs: Sequence[str] = tuple(INPUTS), seed: int = 0, preset: str = "paper",
           n_bootstrap: int = 200, **protocol) -> pd.DataFrame:
    """One `evaluate_predictor` row per (collection, predictor, inputs), plus the paper's R^2.

    `zoos` maps a collection name to its zoo; `protocol` passes step, val_fraction, test_fraction to
    `evaluate_predictor`. Columns: collection, then those of `evaluate_predictor`, then paper_r2 (the
    paper's v1 number for that dataset, predictor and inputs; NaN where the paper has none).
    """
    rows = []
    jobs = list(itertools.product(zoos.items(), predictors, inputs))
    for (collection, zoo), predictor, inp in tqdm(jobs, desc="table 2"):
        row = evaluate_predictor(zoo, predictor, inp, seed=seed, preset=preset, n_bootstrap=n_bootstrap, **protocol)
        rows.append({"collection": collection, **row})
    return pd.DataFrame(rows).merge(paper_table2(), on=["inputs", "dataset", "predictor"], how="left")


def _transfer(zoos: dict[str, Zoo], train_sets: dict[str, list[str]], predictor: str, inputs: str,
              seed: int, preset: str, n_bootstrap: int, val_fraction: float,
              test_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit on the train/val runs of each train set (one or more collections), test on every collection."""
    categorical = input_encoding(make_predictor(predictor))
    prepared = {}
    for name, zoo in zoos.items():
        rows, _ = checkpoint_rows(zoo, "final")
        X = zoo_features(rows, inputs, categorical)
        labels = run_split(zoo.metrics, val_fraction, test_fraction, seed).loc[X.index].to_numpy()
        prepared[name] = (X, rows.metrics["test_accuracy"].to_numpy(float), labels)
    scores, predictions = [], []
    for train_on, members in tqdm(train_sets.items(), desc="transfer"):
        datasets = {d for m in members for d in datasets_of(zoos[m].metrics)}
        estimator = make_predictor(predictor, datasets.pop() if len(datasets) == 1 else None, preset, seed)
        X = pd.concat([prepared[m][0] for m in members])
        fit_on_split(estimator, X, np.concatenate([prepared[m][1] for m in members]),
                     np.concatenate([prepared[m][2] for m in members]))
        for test_on, (X_test, y, labels) in prepared.items():
            test = labels == "test"
            y_pred = estimator.predict(X_test[test].reindex(columns=X.columns, fill_value=0))
            scores.append({"train_on": train_on, "test_on": test_on, "seen": test_on in members,
                           "predictor": predictor, "inputs": inputs, **score(y[test], y_pred, n_bootstrap, seed)})
            predictions.append(pd.DataFrame({"train_on": train_on, "test_on": test_on,
                                             "modeldir": X_test.index[test], "y_true": y[test], "y_pred": y_pred}))
    return pd.DataFrame(scores), pd.concat(predictions, ignore_index=True)


def transfer_across(zoos: dict[str, Zoo], predictor: str = "gbm", inputs: str = "wstats-layers:0,1,2,3",
                    seed: int = 0, preset: str = "paper", n_bootstrap: int = 200, val_fraction: float = 0.1,
                    test_fraction: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on collection i's train runs (early stopping on its val runs), test on collection j's test runs.

    Final checkpoints. Returns two frames: scores, one row per (train_on, test_on) with seen
    (i == j), predictor, inputs, n_test, r2, kendall_tau, mse, mad, tau_ceiling and CIs; and
    predictions in long form (train_on, test_on, modeldir, y_true, y_pred) for the predicted-vs-true grid.
    """
    return _transfer(zoos, {name: [name] for name in zoos}, predictor, inputs, seed, preset,
                     n_bootstrap, val_fraction, test_fraction)


def transfer_architectures(zoos: dict[str, Zoo], predictor: str = "gbm", inputs: str = "wstats-arch",
                           train_on: dict[str, list[str]] | None = None, seed: int = 0, preset: str = "paper",
                           n_bootstrap: int = 200, val_fraction: float = 0.1,
                           test_fraction: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on nets of one architecture (or a mix), test on every architecture's test runs.

    `zoos` maps an architecture name to its zoo (each with its own layout); "wstats-arch" (first layer
    plus the top three layers) gives the same columns for every depth. `train_on` maps a label to the
    architectures trained on together; by default each architecture alone plus "all" (the mix).
    Returns (scores, predictions) as `transfer_across` does; `seen` says whether the test
    architecture was among those trained on.
    """
    if train_on is None:
        train_on = {**{name: [name] for name in zoos}, **({"all": list(zoos)} if len(zoos) > 1 else {})}
    unknown = sorted({m for members in train_on.values() for m in members} - set(zoos))
    if unknown:
        raise ValueError(f"train_on names {unknown} are not among the zoos {sorted(zoos)}")
    return _transfer(zoos, train_on, predictor, inputs, seed, preset, n_bootstrap, val_fraction, test_fraction)


def early_checkpoints(zoo: Zoo, predictor: str = "gbm", inputs: str = "wstats-layers:0,1,2,3",
                      epochs: Sequence[int] | None = None, seed: int = 0, preset: str = "paper",
                      n_bootstrap: int = 200, val_fraction: float = 0.1, test_fraction: float = 0.5) -> pd.DataFrame:
    """For each checkpoint epoch, the weights of that epoch predicting each run's FINAL test accuracy.

    Runs are split once (by `seed`) for every epoch, so the test runs are the same at every epoch
    (minus runs that stopped before it). Rows: epoch, predictor, inputs, n_train, n_val, n_test, r2,
    kendall_tau, mse, mad, tau_ceiling, CIs, dropped_nonfinite.
    """
    metrics = zoo.metrics
    final = metrics.iloc[select_rows(metrics, "final")].set_index("modeldir")["test_accuracy"]
    labels_by_run = run_split(metrics, val_fraction, test_fraction, seed)
    dataset, rows_out = "+".join(datasets_of(metrics)) or None, []
    for epoch in tqdm(epochs if epochs is not None else zoo.steps, desc="early checkpoints"):
        rows, dropped = checkpoint_rows(zoo, epoch)
        X = zoo_features(rows, inputs, input_encoding(make_predictor(predictor)))
        y = final.loc[X.index].to_numpy(float)
        labels = labels_by_run.loc[X.index].to_numpy()
        keep = np.isfinite(y)
        estimator = make_predictor(predictor, dataset, preset, seed)
        row, _ = fit_and_score(estimator, X[keep], y[keep], labels[keep], n_bootstrap, seed)
        rows_out.append({"epoch": int(epoch), "predictor": predictor, "inputs": inputs, **row,
                         "dropped_nonfinite": dropped + int((~keep).sum())})
    return pd.DataFrame(rows_out)
