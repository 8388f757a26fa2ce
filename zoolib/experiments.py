"""The paper's experiments, each returning a result that holds tidy tables (scores, and the test
predictions behind them), shows itself (`readable`) and says what it concludes (`finding`, decided by
the rules of `zoolib.claims`).

- `table2`: predictors x inputs x collections (paper Table 2), with the paper's R^2 alongside;
- `transfer_across`: train on one collection, test on another (paper Figure 5, the 4x4 grid);
- `early_checkpoints`: weights of an early epoch predicting the FINAL test accuracy (Figure 6);
- `transfer_architectures`: train on nets of one architecture (or a mix), test on others, on the
  fixed-size "wstats-arch" inputs (Figure 7).
All of them follow the protocol of `zoolib.evaluation`: runs split by `seed` (the paper's single split,
or with `folds` cross-fitting, every run predicted once out of fold), early stopping and model
selection on validation runs, test runs predicted once. Two numbers measured on the same test nets are
compared through the paired bootstrap interval of their difference.

Their independent fits (a Table 2 cell, a transfer train set, an early epoch) run as Dask tasks on
the engine that generates zoos (`zoolib.cluster.dask_client`): an embedded local cluster of one
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

from zoolib import claims
from zoolib.claims import Claim, Estimate, Finding, interval_table
from zoolib.evaluation import (checkpoint_rows, evaluate_runs, fit_and_predict, fit_on_split, paired, run_splits,
                               scored, zoo_features)
from zoolib.features import INPUTS, STATS
from zoolib.metrics import median_over_pairs
from zoolib.predictors import input_encoding, make_predictor
from zoolib.zoo import Zoo, dataset_of, datasets_of, select_rows

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


def paper_r2(zoos: dict[str, Zoo], inputs: str, predictors: Sequence[str]) -> dict[str, float]:
    """The paper's R^2 (v1 zoo) on each zoo's dataset for `inputs`, keyed '<zoo name>, <predictor>' (as the
    curves of `zoolib.plots.learning_curve` are labelled); zoos of a dataset the paper lacks are left out."""
    paper = paper_table2().set_index(["dataset", "predictor", "inputs"])["paper_r2"]
    return {f"{name}, {p}": float(paper[(dataset_of(zoo), p, inputs)]) for name, zoo in zoos.items()
            for p in predictors if (dataset_of(zoo), p, inputs) in paper.index}


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


def _call(fn: Callable, *args):
    """fn(*args) on a worker, the zoos sent as their mapped files opened again."""
    return fn(*(arg.open() if isinstance(arg, _MappedZoo) else arg for arg in args))


def run_tasks(tasks: Sequence[tuple[Callable, tuple]], desc: str, client=None, scheduler: str | None = None,
              workers: int | None = None) -> list:
    """Results of fn(*args) for each (fn, args) of `tasks`, in order, with a progress bar (ETA).

    On Dask: `client` if given, else `zoolib.cluster.dask_client(scheduler, workers)` (an embedded
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

        from zoolib.cluster import dask_client

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

            futures = [active.submit(_call, fn, *map(ship, args), pure=False) for fn, args in tasks]
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


def protocol_note(folds: int | None) -> str:
    """One sentence for a page: which split its numbers come from."""
    if folds:
        return (f"**Split: cross-fitting in {folds} folds.** The runs are dealt into {folds} folds; each fold is "
                "predicted once by a model fitted (and early-stopped, and its settings chosen) on the other folds "
                "only, so every run is a test run and the scores pool all of them.")
    return ("**Split: the paper's single split.** Half the runs are test runs, predicted once by a model fitted on "
            "the others (10 % of the runs held out for validation).")


def _table2_cell(collection: str, zoo, predictor: str, inputs: str, kwargs: dict) -> tuple[dict, pd.DataFrame]:
    row, predictions = evaluate_runs(zoo, predictor, inputs, **kwargs)
    return {"collection": collection, **row}, predictions.assign(collection=collection, predictor=predictor, inputs=inputs)


# claim -> (predictor A, inputs A, predictor B, inputs B): is A's R^2 above B's on the same test nets?
TABLE2_CLAIMS = {
    "stats_vs_hyper": (("gbm", STATS), ("gbm", "hyper")),
    "stats_vs_lr": (("gbm", STATS), ("gbm", "hyper.learning_rate")),
    "gbm_vs_linear": (("gbm", STATS), ("linear", STATS)),
}


@dataclass
class Table2:
    """The cells of Table 2 (`scores`: one row per collection, predictor and inputs, with the paper's R^2) and
    their test predictions (`predictions`: collection, predictor, inputs, y_true, y_pred, indexed by run)."""

    scores: pd.DataFrame
    predictions: pd.DataFrame
    n_bootstrap: int
    seed: int

    def cell(self, collection: str, predictor: str, inputs: str) -> pd.DataFrame:
        p = self.predictions
        return p[(p["collection"] == collection) & (p["predictor"] == predictor) & (p["inputs"] == inputs)]

    def difference(self, collection: str, a: tuple[str, str], b: tuple[str, str], metric: str = "r2") -> tuple[Estimate, int]:
        """metric of cell a (predictor, inputs) minus that of cell b, paired on their common test nets."""
        return paired(self.cell(collection, *a), self.cell(collection, *b), metric, self.n_bootstrap, self.seed)

    def readable(self, metric: str = "r2") -> pd.DataFrame:
        """One row per (collection, input), a column per predictor: this build's number with its interval
        ('-': not run; 'undefined': no value) and, for R^2, the paper's v1 number beside it."""
        rows = {}
        for r in self.scores.itertuples():
            key = (r.collection, r.inputs)
            value = Estimate.from_row(r._asdict(), metric)
            rows.setdefault(key, {})[(r.predictor, "this build")] = str(value)
            if metric == "r2":
                rows[key][(r.predictor, "paper")] = "-" if pd.isna(r.paper_r2) else f"{r.paper_r2:.3f}"
        table = pd.DataFrame.from_dict(rows, orient="index").fillna("-")
        table.index = pd.MultiIndex.from_tuples(table.index, names=["collection", "input"])
        order = {i: k for k, i in enumerate(INPUTS)}
        table = table.sort_index(key=lambda idx: idx.map(order) if idx.name == "input" else idx, sort_remaining=False)
        return table.reindex(columns=sorted(table.columns, key=lambda c: (["linear", "gbm", "dnn"].index(c[0]), c[1] != "this build")))

    def finding(self) -> Finding:
        """The three claims of Table 2, each a paired R^2 difference per collection (`claims.compared`),
        combined over collections (`claims.combine`), and the level reached against the paper's."""
        found, sentences = [], []
        collections = list(dict.fromkeys(self.scores["collection"]))
        differences = {(key, c): self.difference(c, a, b) for key, (a, b) in TABLE2_CLAIMS.items() for c in collections}
        for key, (a, b) in TABLE2_CLAIMS.items():
            parts, verdicts = [], []
            for c in collections:
                difference, n = differences[(key, c)]
                verdicts.append(claims.above(difference))
                parts.append(f"{c}: R² {a[0]} on {a[1]} minus {b[0]} on {b[1]}: " + claims.compared(difference, n))
            found.append(Claim(key, "; ".join(parts), claims.combine(verdicts)))
        stats_cell, hyper_cell = TABLE2_CLAIMS["stats_vs_hyper"]  # the level sentence reads that claim's two cells
        for c in collections:
            rows = self.scores[self.scores["collection"] == c].set_index(["predictor", "inputs"])
            stats, hyper = (Estimate.from_row(rows.loc[cell]) for cell in (stats_cell, hyper_cell))
            difference, n = differences[("stats_vs_hyper", c)]
            paper = rows.loc[stats_cell, "paper_r2"]
            level = ("" if pd.isna(paper) else f"; the level is {paper - stats.value:.2f} below the paper's v1 number "
                     f"({paper:.3f})" if stats.value < paper else f"; the level reaches the paper's v1 number ({paper:.3f})")
            sentences.append(
                f"{c}: GBM on the statistics R² {stats} against {hyper} from the hyperparameters, "
                + claims.compared(difference, n, "a difference of") + f"{level}, with "
                f"{int(rows.loc[stats_cell, 'n_train'])} training nets per fit against 15,000.")
        best = self.scores.sort_values("r2", ascending=False).groupby("collection", sort=False).head(1)
        sentences += [f"Best cell of {r.collection}: `{r.predictor}` on `{r.inputs}`, R² {r.r2:.3f}." for r in best.itertuples()]
        return Finding(tuple(found), " ".join(sentences))


def table2(zoos: dict[str, Zoo], predictors: Sequence[str] = ("linear", "gbm", "dnn"),
           inputs: Sequence[str] | dict[str, Sequence[str]] = tuple(INPUTS), seed: int = 0, preset: str = "paper",
           n_bootstrap: int = 200, folds: int | None = None, client=None, scheduler: str | None = None,
           workers: int | None = None, **protocol) -> Table2:
    """One cell per (collection, predictor, inputs): `predict_runs` and its scores, plus the paper's R^2.

    `zoos` maps a collection name to its zoo; `inputs` is one list for every predictor or a dict predictor ->
    inputs; `folds` and `protocol` (step, val_fraction, test_fraction) pass to `predict_runs`. Each cell is a
    task (`run_tasks`: client, scheduler, workers). Score columns: collection, then those of
    `evaluate_predictor`, then paper_r2 (the paper's v1 number for that dataset, predictor and inputs; NaN
    where the paper has none).
    """
    kwargs = dict(seed=seed, preset=preset, n_bootstrap=n_bootstrap, folds=folds, **protocol)
    inputs_of = inputs if isinstance(inputs, dict) else {p: inputs for p in predictors}
    tasks = [(_table2_cell, (collection, zoo, predictor, inp, kwargs))
             for (collection, zoo), predictor in itertools.product(zoos.items(), predictors) for inp in inputs_of[predictor]]
    results = run_tasks(tasks, "table 2", client, scheduler, workers)
    scores = pd.DataFrame([row for row, _ in results]).merge(paper_table2(), on=["inputs", "dataset", "predictor"], how="left")
    return Table2(scores, pd.concat([p for _, p in results]), n_bootstrap, seed)


def _transfer_inputs(zoo, inputs: str, categorical: str, seed: int, folds: int | None, val_fraction: float,
                     test_fraction: float) -> tuple[pd.DataFrame, np.ndarray, list[np.ndarray]]:
    """Final-checkpoint inputs, test accuracy and split labels (one array per split) of one zoo."""
    rows, _ = checkpoint_rows(zoo, "final")
    X = zoo_features(rows, inputs, categorical)
    splits = run_splits(zoo.metrics, folds, val_fraction, test_fraction, seed)
    return X, rows.metrics["test_accuracy"].to_numpy(float), [split.loc[X.index].to_numpy() for split in splits]


def _transfer_fit(train_on: str, members: list[str], prepared: dict, dataset: str | None, predictor: str,
                  inputs: str, seed: int, preset: str) -> pd.DataFrame:
    """For each split: fit on the train runs of `members` (early stopping on their val runs), predict every
    collection's test runs of that split. Long-form predictions: train_on, test_on, y_true, y_pred, fold."""
    X = pd.concat([prepared[m][0] for m in members])
    y = np.concatenate([prepared[m][1] for m in members])
    out = []
    for k in range(len(prepared[members[0]][2])):
        labels = np.concatenate([prepared[m][2][k] for m in members])
        estimator = fit_on_split(make_predictor(predictor, dataset, preset, seed), X, y, labels)
        for test_on, (X_test, y_test, splits) in prepared.items():
            test = splits[k] == "test"
            y_pred = estimator.predict(X_test[test].reindex(columns=X.columns, fill_value=0))
            out.append(pd.DataFrame({"train_on": train_on, "test_on": test_on, "y_true": y_test[test],
                                     "y_pred": y_pred, "fold": k}, index=X_test.index[test]))
    return pd.concat(out)


@dataclass
class Transfer:
    """A transfer grid: `scores` (one row per train_on, test_on: seen, n_test, r2, kendall_tau, ... with
    intervals) and `predictions` (train_on, test_on, modeldir, y_true, y_pred, fold)."""

    scores: pd.DataFrame
    predictions: pd.DataFrame
    n_bootstrap: int
    seed: int
    folds: int | None

    def readable(self) -> pd.DataFrame:
        return interval_table(self.scores, ["train_on", "test_on"], ["seen", "n_test"])

    def unseen(self, leave_out: Sequence[str] = ("all",)) -> pd.DataFrame:
        """The pairs whose test collection the predictor never saw (train sets in `leave_out` aside)."""
        return self.scores[~self.scores["seen"] & ~self.scores["train_on"].isin(leave_out)]

    def median_tau(self, leave_out: Sequence[str] = ("all",)) -> tuple[Estimate, int, int]:
        """The median Kendall tau over the unseen pairs with its bootstrap interval (`median_over_pairs`), and
        how many pairs have tau above 0 on their own after Holm's correction, of how many."""
        unseen = self.unseen(leave_out)
        pairs = []
        for r in unseen.itertuples():
            p = self.predictions[(self.predictions["train_on"] == r.train_on) & (self.predictions["test_on"] == r.test_on)]
            pairs.append((r.test_on, p["y_true"].to_numpy(float), p["y_pred"].to_numpy(float)))
        median, p_values = median_over_pairs(pairs, "kendall_tau", self.n_bootstrap, seed=self.seed)
        return Estimate.of(median), int(claims.holm(p_values).sum()), len(pairs)

    def many_pairs_claim(self, key: str, what: str, leave_out: Sequence[str] = ("all",)) -> Claim:
        """A claim on the unseen pairs: decided on their median tau (`claims` module docstring), Holm count beside."""
        median, holding, n_pairs = self.median_tau(leave_out)
        undefined = int(self.unseen(leave_out)["kendall_tau"].isna().sum())
        ours = (f"{what}: median τ over {n_pairs} pairs {median} ({claims.above(median)}); τ above 0 on its own in "
                f"{holding} of {n_pairs} pairs (Holm, 5 % overall)"
                + (f"; {undefined} undefined (constant predictions)" if undefined else ""))
        return Claim(key, ours, claims.above(median))


def _transfer(zoos: dict[str, Zoo], train_sets: dict[str, list[str]], predictor: str, inputs: str,
              seed: int, preset: str, n_bootstrap: int, folds: int | None, val_fraction: float, test_fraction: float,
              client, scheduler: str | None, workers: int | None) -> Transfer:
    """Fit on the train/val runs of each train set (one or more collections), test on every collection."""
    categorical = input_encoding(make_predictor(predictor))
    names = list(zoos)
    prepared = run_tasks([(_transfer_inputs, (zoos[n], inputs, categorical, seed, folds, val_fraction, test_fraction))
                          for n in names], "transfer inputs", client, scheduler, workers)
    prepared = dict(zip(names, prepared))
    tasks = []
    for train_on, members in train_sets.items():
        datasets = {d for m in members for d in datasets_of(zoos[m].metrics)}
        dataset = datasets.pop() if len(datasets) == 1 else None
        tasks.append((_transfer_fit, (train_on, members, prepared, dataset, predictor, inputs, seed, preset)))
    predictions = pd.concat(run_tasks(tasks, "transfer", client, scheduler, workers))
    predictions.index.name = "modeldir"
    scores = [{"train_on": train_on, "test_on": test_on, "seen": test_on in train_sets[train_on],
               "predictor": predictor, "inputs": inputs, **scored(part, n_bootstrap, seed)}
              for (train_on, test_on), part in predictions.groupby(["train_on", "test_on"], sort=False)]
    return Transfer(pd.DataFrame(scores), predictions.reset_index(), n_bootstrap, seed, folds)


def transfer_across(zoos: dict[str, Zoo], predictor: str = "gbm", inputs: str = STATS,
                    seed: int = 0, preset: str = "paper", n_bootstrap: int = 200, folds: int | None = None,
                    val_fraction: float = 0.1, test_fraction: float = 0.5, client=None, scheduler: str | None = None,
                    workers: int | None = None) -> Transfer:
    """Train on collection i's train runs (early stopping on its val runs), test on collection j's test runs.

    Final checkpoints; with `folds`, one fit per fold, every test run predicted by the fit of its fold. One
    task per training collection (`run_tasks`: client, scheduler, workers). `Transfer.scores`: one row per
    (train_on, test_on) with seen (i == j), predictor, inputs, n_test, r2, kendall_tau, mse, mad,
    tau_ceiling and CIs; `Transfer.predictions` in long form for the predicted-vs-true grid.
    """
    return _transfer(zoos, {name: [name] for name in zoos}, predictor, inputs, seed, preset,
                     n_bootstrap, folds, val_fraction, test_fraction, client, scheduler, workers)


def transfer_across_finding(result: Transfer) -> Finding:
    """The transfer claim: a GBM trained on one dataset's nets ranks another's (median tau over the pairs)."""
    if result.unseen().empty:
        return Finding.not_run(["transfer"], "This build has one collection of the paper's CNN, so there is no other "
                                             "dataset to transfer to.")
    claim = result.many_pairs_claim("transfer", "trained on one dataset, tested on another")
    pairs = "; ".join(f"trained on {r.train_on}, tested on {r.test_on}: τ {Estimate.from_row(r._asdict(), 'kendall_tau')}"
                      for r in result.unseen().itertuples())
    return Finding((claim,), f"{pairs}. {claim.ours[0].upper() + claim.ours[1:]}. A GBM trained on one dataset's nets "
                             f"ranks another's better than chance (the median τ over the pairs above 0): {claim.verdict}.")


def transfer_architectures(zoos: dict[str, Zoo], predictor: str = "gbm", inputs: str = "wstats-arch",
                           train_on: dict[str, list[str]] | None = None, seed: int = 0, preset: str = "paper",
                           n_bootstrap: int = 200, folds: int | None = None, val_fraction: float = 0.1,
                           test_fraction: float = 0.5, client=None, scheduler: str | None = None,
                           workers: int | None = None) -> Transfer:
    """Train on nets of one architecture (or a mix), test on every architecture's test runs.

    `zoos` maps an architecture name to its zoo (each with its own layout); "wstats-arch" (first layer
    plus the top three layers) gives the same columns for every depth. `train_on` maps a label to the
    architectures trained on together; by default each architecture alone plus "all" (the mix).
    Returns a `Transfer` as `transfer_across` does; `seen` says whether the test architecture was among
    those trained on. One task per train set (`run_tasks`).
    """
    if train_on is None:
        train_on = {**{name: [name] for name in zoos}, **({"all": list(zoos)} if len(zoos) > 1 else {})}
    unknown = sorted({m for members in train_on.values() for m in members} - set(zoos))
    if unknown:
        raise ValueError(f"train_on names {unknown} are not among the zoos {sorted(zoos)}")
    return _transfer(zoos, train_on, predictor, inputs, seed, preset, n_bootstrap, folds, val_fraction, test_fraction,
                     client, scheduler, workers)


def architectures_finding(results: dict[str, Transfer]) -> Finding:
    """The architectures claim, per architecture collection (e.g. 'Fashion-MNIST'): a GBM on wstats-arch ranks
    nets of architectures it never saw (median tau over the unseen pairs), combined over collections."""
    if not results:
        return Finding.not_run(["architectures"], "This build has no architecture collection, so there is nothing "
                                                  "to decide here.")
    found = [result.many_pairs_claim("architectures", f"{name}, an architecture the GBM never saw")
             for name, result in results.items()]
    verdict = claims.combine([c.verdict for c in found])
    ours = "; ".join(c.ours for c in found)
    return Finding((Claim("architectures", ours, verdict),),
                   f"{ours}. A GBM on wstats-arch ranks nets of architectures it never saw better than chance "
                   f"(the median τ over the pairs of a training architecture and an unseen one above 0): {verdict}.")


def _early_fit(zoo, epoch: int, predictor: str, inputs: str, seed: int, preset: str, folds: int | None,
               val_fraction: float, test_fraction: float) -> tuple[dict, pd.DataFrame]:
    """The weights at `epoch` predicting each run's final test accuracy: the row and the test predictions."""
    metrics = zoo.metrics
    final = metrics.iloc[select_rows(metrics, "final")].set_index("modeldir")["test_accuracy"]
    splits = run_splits(metrics, folds, val_fraction, test_fraction, seed)
    rows, dropped = checkpoint_rows(zoo, epoch)
    X = zoo_features(rows, inputs, input_encoding(make_predictor(predictor)))
    y = final.loc[X.index].to_numpy(float)
    keep = np.isfinite(y)
    dataset = "+".join(datasets_of(metrics)) or None
    predictions, sizes = fit_and_predict(lambda: make_predictor(predictor, dataset, preset, seed), X[keep], y[keep],
                                         [split.loc[X.index[keep]].to_numpy() for split in splits])
    row = {"epoch": int(epoch), "predictor": predictor, "inputs": inputs, **sizes,
           "dropped_nonfinite": dropped + int((~keep).sum())}
    return row, predictions.assign(epoch=int(epoch))


@dataclass
class EarlyCheckpoints:
    """Per collection and checkpoint epoch: `scores` (collection, epoch, n_train, n_test, r2, kendall_tau, ...
    with intervals, dropped_nonfinite) and `predictions` (collection, epoch, y_true, y_pred, indexed by run)."""

    scores: pd.DataFrame
    predictions: pd.DataFrame
    n_bootstrap: int
    seed: int

    def readable(self) -> pd.DataFrame:
        table = interval_table(self.scores, ["collection", "epoch"], ["n_train", "n_test"])
        return table.assign(**{"non-finite left out": self.scores["dropped_nonfinite"].to_numpy()})

    def difference(self, collection: str, epoch_a: int, epoch_b: int, metric: str = "kendall_tau") -> tuple[Estimate, int]:
        """metric at epoch_a minus metric at epoch_b, paired on the runs both predicted."""
        p = self.predictions[self.predictions["collection"] == collection]
        return paired(p[p["epoch"] == epoch_a], p[p["epoch"] == epoch_b], metric, self.n_bootstrap, self.seed)

    def finding(self) -> Finding:
        """The early claim: the weights after one epoch rank the runs by final accuracy better than those at
        initialization (the paired tau difference, per collection, combined)."""
        parts, verdicts = [], []
        for collection, part in self.scores.groupby("collection", sort=False):
            part = part.set_index("epoch")
            if not {0, 1} <= set(part.index):
                continue
            difference, n = self.difference(collection, 1, 0)
            verdicts.append(claims.above(difference))
            final_epoch = part.index.max()
            parts.append(f"{collection}: τ {Estimate.from_row(part.loc[1], 'kendall_tau')} from the weights after one "
                         f"epoch against {Estimate.from_row(part.loc[0], 'kendall_tau')} at initialization, "
                         + claims.compared(difference, n, "a τ difference of")
                         + f"; {Estimate.from_row(part.loc[final_epoch], 'kendall_tau')} at the final epoch {final_epoch}")
        if not parts:
            return Finding.not_run(["early"], "This build's zoos have no checkpoints at epochs 0 and 1 to compare.")
        verdict = claims.combine(verdicts)
        return Finding((Claim("early", "; ".join(parts), verdict),),
                       "; ".join(parts) + ". The weights after one epoch rank the runs by their final accuracy better "
                       f"than the initialization does: {verdict}.")


def early_checkpoints(zoos: dict[str, Zoo], predictor: str = "gbm", inputs: str = STATS,
                      epochs: Sequence[int] | None = None, seed: int = 0, preset: str = "paper",
                      n_bootstrap: int = 200, folds: int | None = None, val_fraction: float = 0.1,
                      test_fraction: float = 0.5, client=None, scheduler: str | None = None,
                      workers: int | None = None) -> EarlyCheckpoints:
    """For each collection and checkpoint epoch, the weights of that epoch predicting each run's FINAL test accuracy.

    Runs are split once (by `seed`, single split or `folds`) for every epoch, so the test runs are the same
    at every epoch (minus runs that stopped before it), and two epochs compare on the same nets. One task per
    collection and epoch (`run_tasks`: client, scheduler, workers).
    """
    args = (predictor, inputs, seed, preset, folds, val_fraction, test_fraction)
    keys = [(name, int(epoch)) for name, zoo in zoos.items() for epoch in (epochs if epochs is not None else zoo.steps)]
    results = run_tasks([(_early_fit, (zoos[name], epoch, *args)) for name, epoch in keys], "early checkpoints",
                        client, scheduler, workers)
    scores = pd.DataFrame([{"collection": name, **row, **scored(p, n_bootstrap, seed)}
                           for (name, _), (row, p) in zip(keys, results)])
    predictions = pd.concat([p.assign(collection=name) for (name, _), (_, p) in zip(keys, results)])
    return EarlyCheckpoints(scores, predictions, n_bootstrap, seed)
