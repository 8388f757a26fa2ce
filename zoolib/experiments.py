"""The paper's experiments, each returning tidy DataFrames that the book turns into tables and figures.

- `table2`: predictors x inputs x collections (paper Table 2), with the paper's R^2 alongside;
- `transfer_across`: train on one collection, test on another (paper Figure 5, the 4x4 grid);
- `early_checkpoints`: weights of an early epoch predicting the FINAL test accuracy (Figure 6);
- `transfer_architectures`: train on nets of one architecture (or a mix), test on others, on the
  fixed-size "wstats-arch" inputs (Figure 7).
All of them follow the protocol of `zoolib.evaluation`: runs split by `seed`, early stopping and
model selection on validation runs, test runs scored once.

Their independent fits (a Table 2 cell, a transfer train set, an early epoch) run as Dask tasks on
the engine that generates zoos (`zoolib.generate.dask_client`): an embedded local cluster of one
single-threaded process per core, or the cluster at `scheduler` / $ZOOLIB_SCHEDULER; `workers=0`
runs them one after the other in this process. Every task is seeded, so the results are the same
either way (the `seconds` column aside). A zoo whose weights are a memory map travels to a task as
its file name and is mapped again there, never copied (on a cluster of several machines, the zoo
must be at the same path on every worker, e.g. a shared filesystem).
"""

from __future__ import annotations

import contextlib
import itertools
import mmap
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass
class _MappedZoo:
    """A zoo as sent to a Dask task: its weights as the .npy file they map, metrics and layout as they are."""

    weights_file: str
    metrics: pd.DataFrame
    layout: pd.DataFrame
    path: object

    def open(self) -> Zoo:
        return Zoo(np.load(self.weights_file, mmap_mode="r"), self.metrics, self.layout, self.path)


def _mapped_file(weights: np.ndarray) -> str | None:
    """The .npy file that `weights` maps whole and read-only (so a task can map it again), else None."""
    mapped = getattr(weights, "_mmap", None)
    if not (isinstance(weights, np.memmap) and isinstance(mapped, mmap.mmap) and weights.filename
            and weights.mode == "r" and weights.flags.c_contiguous):
        return None
    start = np.frombuffer(mapped, np.uint8).ctypes.data + weights.offset % mmap.ALLOCATIONGRANULARITY
    whole = weights.ctypes.data == start and np.load(weights.filename, mmap_mode="r").shape == weights.shape
    return str(weights.filename) if whole else None


def _portable(zoo: Zoo) -> Zoo | _MappedZoo:
    file = _mapped_file(zoo.weights)
    return zoo if file is None else _MappedZoo(file, zoo.metrics, zoo.layout, zoo.path)


def _opened(zoo: Zoo | _MappedZoo) -> Zoo:
    return zoo.open() if isinstance(zoo, _MappedZoo) else zoo


def run_tasks(tasks: Sequence[tuple[Callable, tuple]], desc: str, client=None, scheduler: str | None = None,
              workers: int | None = None) -> list:
    """Results of fn(*args) for each (fn, args) of `tasks`, in order, with a progress bar (ETA).

    On Dask: `client` if given, else `zoolib.generate.dask_client(scheduler, workers)` (an embedded
    local cluster unless a scheduler address is set); workers=0 runs them here, one after the other.
    Zoo arguments are sent once per zoo (a memory-mapped one as its file name, see `_MappedZoo`), and so is
    any other container that several tasks share (e.g. the transfer grid's prepared inputs).
    """
    bar = tqdm(total=len(tasks), desc=desc, unit="fit")
    try:
        if workers == 0 and client is None and scheduler is None:
            results = []
            for fn, args in tasks:
                results.append(fn(*args))
                bar.update()
            return results
        from dask.distributed import as_completed

        from zoolib.generate import dask_client

        with dask_client(scheduler, workers) if client is None else contextlib.nullcontext(client) as active:
            shipped: dict[int, object] = {}
            uses = Counter(id(arg) for _, args in tasks for arg in args)

            def ship(arg):
                key = id(arg)
                if isinstance(arg, Zoo):
                    arg = _portable(arg)
                elif not (uses[key] > 1 and isinstance(arg, (dict, list, pd.DataFrame, np.ndarray))):
                    return arg
                if key not in shipped:  # [arg]: a scattered dict would become a dict of futures
                    shipped[key] = active.scatter([arg], broadcast=False, hash=False)[0]
                return shipped[key]

            futures = [active.submit(fn, *map(ship, args), pure=False) for fn, args in tasks]
            index = {future.key: i for i, future in enumerate(futures)}
            results = [None] * len(tasks)
            try:
                for future, result in as_completed(futures, with_results=True):
                    results[index[future.key]] = result
                    bar.update()
            except BaseException:
                active.cancel(futures)
                raise
            return results
    finally:
        bar.close()


def _table2_cell(collection: str, zoo, predictor: str, inputs: str, kwargs: dict) -> dict:
    return {"collection": collection, **evaluate_predictor(_opened(zoo), predictor, inputs, **kwargs)}


def table2(zoos: dict[str, Zoo], predictors: Sequence[str] = ("linear", "gbm", "dnn"),
           inputs: Sequence[str] = tuple(INPUTS), seed: int = 0, preset: str = "paper",
           n_bootstrap: int = 200, client=None, scheduler: str | None = None, workers: int | None = None,
           **protocol) -> pd.DataFrame:
    """One `evaluate_predictor` row per (collection, predictor, inputs), plus the paper's R^2.

    `zoos` maps a collection name to its zoo; `protocol` passes step, val_fraction, test_fraction to
    `evaluate_predictor`. Each cell is a task (`run_tasks`: client, scheduler, workers). Columns:
    collection, then those of `evaluate_predictor`, then paper_r2 (the paper's v1 number for that
    dataset, predictor and inputs; NaN where the paper has none).
    """
    kwargs = dict(seed=seed, preset=preset, n_bootstrap=n_bootstrap, **protocol)
    tasks = [(_table2_cell, (collection, zoo, predictor, inp, kwargs))
             for (collection, zoo), predictor, inp in itertools.product(zoos.items(), predictors, inputs)]
    rows = run_tasks(tasks, "table 2", client, scheduler, workers)
    return pd.DataFrame(rows).merge(paper_table2(), on=["inputs", "dataset", "predictor"], how="left")


def _transfer_inputs(zoo, inputs: str, categorical: str, seed: int, val_fraction: float,
                     test_fraction: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Final-checkpoint inputs, test accuracy and split labels of one zoo."""
    zoo = _opened(zoo)
    rows, _ = checkpoint_rows(zoo, "final")
    X = zoo_features(rows, inputs, categorical)
    labels = run_split(zoo.metrics, val_fraction, test_fraction, seed).loc[X.index].to_numpy()
    return X, rows.metrics["test_accuracy"].to_numpy(float), labels


def _transfer_fit(train_on: str, members: list[str], prepared: dict, dataset: str | None, predictor: str,
                  inputs: str, seed: int, preset: str, n_bootstrap: int) -> tuple[list[dict], pd.DataFrame]:
    """Fit on the train runs of `members` (early stopping on their val runs); score every collection's test runs."""
    estimator = make_predictor(predictor, dataset, preset, seed)
    X = pd.concat([prepared[m][0] for m in members])
    fit_on_split(estimator, X, np.concatenate([prepared[m][1] for m in members]),
                 np.concatenate([prepared[m][2] for m in members]))
    scores, predictions = [], []
    for test_on, (X_test, y, labels) in prepared.items():
        test = labels == "test"
        y_pred = estimator.predict(X_test[test].reindex(columns=X.columns, fill_value=0))
        scores.append({"train_on": train_on, "test_on": test_on, "seen": test_on in members,
                       "predictor": predictor, "inputs": inputs, **score(y[test], y_pred, n_bootstrap, seed)})
        predictions.append(pd.DataFrame({"train_on": train_on, "test_on": test_on,
                                         "modeldir": X_test.index[test], "y_true": y[test], "y_pred": y_pred}))
    return scores, pd.concat(predictions, ignore_index=True)


def _transfer(zoos: dict[str, Zoo], train_sets: dict[str, list[str]], predictor: str, inputs: str,
              seed: int, preset: str, n_bootstrap: int, val_fraction: float, test_fraction: float,
              client, scheduler: str | None, workers: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit on the train/val runs of each train set (one or more collections), test on every collection."""
    categorical = input_encoding(make_predictor(predictor))
    names = list(zoos)
    prepared = run_tasks([(_transfer_inputs, (zoos[n], inputs, categorical, seed, val_fraction, test_fraction))
                          for n in names], "transfer inputs", client, scheduler, workers)
    prepared = dict(zip(names, prepared))
    tasks = []
    for train_on, members in train_sets.items():
        datasets = {d for m in members for d in datasets_of(zoos[m].metrics)}
        dataset = datasets.pop() if len(datasets) == 1 else None
        tasks.append((_transfer_fit, (train_on, members, prepared, dataset, predictor, inputs, seed, preset,
                                      n_bootstrap)))
    results = run_tasks(tasks, "transfer", client, scheduler, workers)
    scores = [row for rows, _ in results for row in rows]
    return pd.DataFrame(scores), pd.concat([p for _, p in results], ignore_index=True)


def transfer_across(zoos: dict[str, Zoo], predictor: str = "gbm", inputs: str = "wstats-layers:0,1,2,3",
                    seed: int = 0, preset: str = "paper", n_bootstrap: int = 200, val_fraction: float = 0.1,
                    test_fraction: float = 0.5, client=None, scheduler: str | None = None,
                    workers: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on collection i's train runs (early stopping on its val runs), test on collection j's test runs.

    Final checkpoints; one task per training collection (`run_tasks`: client, scheduler, workers).
    Returns two frames: scores, one row per (train_on, test_on) with seen (i == j), predictor,
    inputs, n_test, r2, kendall_tau, mse, mad, tau_ceiling and CIs; and predictions in long form
    (train_on, test_on, modeldir, y_true, y_pred) for the predicted-vs-true grid.
    """
    return _transfer(zoos, {name: [name] for name in zoos}, predictor, inputs, seed, preset,
                     n_bootstrap, val_fraction, test_fraction, client, scheduler, workers)


def transfer_architectures(zoos: dict[str, Zoo], predictor: str = "gbm", inputs: str = "wstats-arch",
                           train_on: dict[str, list[str]] | None = None, seed: int = 0, preset: str = "paper",
                           n_bootstrap: int = 200, val_fraction: float = 0.1, test_fraction: float = 0.5,
                           client=None, scheduler: str | None = None,
                           workers: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on nets of one architecture (or a mix), test on every architecture's test runs.

    `zoos` maps an architecture name to its zoo (each with its own layout); "wstats-arch" (first layer
    plus the top three layers) gives the same columns for every depth. `train_on` maps a label to the
    architectures trained on together; by default each architecture alone plus "all" (the mix).
    Returns (scores, predictions) as `transfer_across` does; `seen` says whether the test
    architecture was among those trained on. One task per train set (`run_tasks`).
    """
    if train_on is None:
        train_on = {**{name: [name] for name in zoos}, **({"all": list(zoos)} if len(zoos) > 1 else {})}
    unknown = sorted({m for members in train_on.values() for m in members} - set(zoos))
    if unknown:
        raise ValueError(f"train_on names {unknown} are not among the zoos {sorted(zoos)}")
    return _transfer(zoos, train_on, predictor, inputs, seed, preset, n_bootstrap, val_fraction, test_fraction,
                     client, scheduler, workers)


def _early_fit(zoo, epoch: int, predictor: str, inputs: str, seed: int, preset: str, n_bootstrap: int,
               val_fraction: float, test_fraction: float) -> dict:
    """The weights at `epoch` predicting each run's final test accuracy: one row."""
    zoo = _opened(zoo)
    metrics = zoo.metrics
    final = metrics.iloc[select_rows(metrics, "final")].set_index("modeldir")["test_accuracy"]
    labels_by_run = run_split(metrics, val_fraction, test_fraction, seed)
    rows, dropped = checkpoint_rows(zoo, epoch)
    X = zoo_features(rows, inputs, input_encoding(make_predictor(predictor)))
    y = final.loc[X.index].to_numpy(float)
    labels = labels_by_run.loc[X.index].to_numpy()
    keep = np.isfinite(y)
    estimator = make_predictor(predictor, "+".join(datasets_of(metrics)) or None, preset, seed)
    row, _ = fit_and_score(estimator, X[keep], y[keep], labels[keep], n_bootstrap, seed)
    return {"epoch": int(epoch), "predictor": predictor, "inputs": inputs, **row,
            "dropped_nonfinite": dropped + int((~keep).sum())}


def early_checkpoints(zoo: Zoo, predictor: str = "gbm", inputs: str = "wstats-layers:0,1,2,3",
                      epochs: Sequence[int] | None = None, seed: int = 0, preset: str = "paper",
                      n_bootstrap: int = 200, val_fraction: float = 0.1, test_fraction: float = 0.5,
                      client=None, scheduler: str | None = None, workers: int | None = None) -> pd.DataFrame:
    """For each checkpoint epoch, the weights of that epoch predicting each run's FINAL test accuracy.

    Runs are split once (by `seed`) for every epoch, so the test runs are the same at every epoch
    (minus runs that stopped before it). One task per epoch (`run_tasks`: client, scheduler, workers).
    Rows: epoch, predictor, inputs, n_train, n_val, n_test, r2, kendall_tau, mse, mad, tau_ceiling,
    CIs, dropped_nonfinite.
    """
    args = (predictor, inputs, seed, preset, n_bootstrap, val_fraction, test_fraction)
    tasks = [(_early_fit, (zoo, int(epoch), *args)) for epoch in (epochs if epochs is not None else zoo.steps)]
    return pd.DataFrame(run_tasks(tasks, "early checkpoints", client, scheduler, workers))
