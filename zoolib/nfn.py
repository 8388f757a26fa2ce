"""The benchmark later work uses on the Small CNN Zoo: the NFN split, StatNN as published, our GBM,
and the zoo in PyTorch layout for other frameworks.

Source: Zhou et al., "Permutation Equivariant Neural Functionals" (NeurIPS 2023, arXiv 2302.14040)
and their repository github.com/AllanYangZhou/nfn (MIT licence), commit ce78322:
experiments/data_utils.py (ZooDataset), experiments/predict_gen.py (training and model selection),
experiments/models.py (StatNet), nfn/layers/misc_layers.py (StatFeaturizer) and
experiments/predict_gen_configs/ (main.yaml, nfnet/stat.yaml). Later work (neural graphs, ScaleGMN,
Monomial-NFN, ...) loads the zoo with copies of ZooDataset and the same split files.

The protocol (`nfn_split`), on a released zoo with its split file (`zoolib zoo download` puts it
beside the zoo): order the rows by the file as `pandas.read_csv(file, header=None)` reads it (the
file's first line `0` is data, so row 0 comes twice), keep rows with `step == 86`, test = positions
int(n / 2).. n - 1, the first half shuffled with `random.Random(0)`, its first 80 % train and the
rest val. On a zoo without a split file (a zoo zoolib generated) the same halves are taken from the
final checkpoint of every run that completed its schedule (`select_rows(metrics, "completed")`,
whatever the last epoch is), ordered by a seeded permutation: the same procedure, NOT the benchmark's members.
Activation subsets come in both conventions: ScaleGMN splits and then keeps one activation in each
part ('split-then-filter'), Monomial-NFN keeps one activation and then splits ('filter-then-split').

StatNN (`statnn_features`, `StatNN`): per conv/dense layer the kernel and then the bias, 7
statistics each (mean, unbiased variance, quantiles 0, .25, .5, .75, 1: 56 inputs for the paper's
CNN, not normalised); an MLP 56 -> 1000 -> 1000 -> 1 with ReLU and a sigmoid output, BCE loss, Adam
lr 1e-3, batch 8, 50 epochs; after each epoch the val Kendall tau is computed and the epoch with
the best one is kept; test once. Our GBM sees the same 56 statistics, its settings chosen by a small
random search on val tau. Both report test Kendall tau-b with a bootstrap interval and the tie
ceiling (`zoolib.metrics.tau_ceiling`: the best tau-b of a ranker without ties of its own).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from zoolib import claims
from zoolib.book_zoos import Collection
from zoolib.claims import Estimate
from zoolib.files import atomic_write, sha256_file
from zoolib.metrics import kendall_tau, paired_difference, score
from zoolib.predictors import random_search
from zoolib.profiles import Profile
from zoolib.release import SPLIT_FILES
from zoolib.zoo import Zoo, dataset_of, parse_shape, read_rows, select_rows

FINAL_STEP = 86
"""The step NFN-style loaders keep: the last checkpoint of the released zoo's 86-epoch schedule."""
SUBSET_RULES = ("split-then-filter", "filter-then-split")
PARTS = ("train", "val", "test")
STATISTICS = ("mean", "var", "q0", "q25", "q50", "q75", "q100")
PUBLISHED_SPLIT_SIZES = {"cifar10": (12_000, 3_000, 15_000), "svhn_cropped": (11_995, 2_999, 14_994)}
PUBLISHED_TAU = pd.DataFrame(
    {"cifar10": [0.915, 0.922, 0.934, 0.935], "svhn_cropped": [0.843, 0.856, 0.931, 0.872]},
    index=pd.Index(["StatNN", "NFN_NP", "NFN_HNP", "NG-T"], name="method"),
)
"""Test Kendall tau-b as published: NFN paper Table 2 (StatNN, NFN_NP, NFN_HNP); NG-T from a secondary source."""


def final_epoch_warning(final_epoch: int) -> str | None:
    """What a zoo whose last checkpoint is not FINAL_STEP means for NFN-style loaders, or None if it is."""
    if final_epoch == FINAL_STEP:
        return None
    return (f"the final checkpoint is epoch {final_epoch}, not {FINAL_STEP}: loaders written for the released zoo "
            f"(NFN and later work keep step == {FINAL_STEP}) load no nets from this zoo, without an error; "
            "`zoolib nfn split` and `zoolib nfn export` take each completed run's final checkpoint instead, except "
            f"with --split-file (a split file orders a released zoo and keeps step == {FINAL_STEP})")


def read_split_file(path: str | Path, n_rows: int) -> np.ndarray:
    """The row order of an NFN split file, leading 0 included, checked against a zoo of `n_rows` rows."""
    path = Path(path)
    try:
        order = pd.read_csv(path, header=None).to_numpy().ravel()
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not an NFN split file ({type(err).__name__}: {str(err).strip()[:80]}); expected one "
                         "integer per line: 0, then a permutation of the zoo's rows") from None
    if not np.issubdtype(order.dtype, np.integer) or order.size < 2 or order[0] != 0:
        raise ValueError(f"{path}: not an NFN split file (one integer per line: 0, then a permutation of the rows)")
    rest = order[1:]
    if rest.size != n_rows or rest.min() < 0 or (np.bincount(rest, minlength=n_rows) != 1).any():
        raise ValueError(
            f"{path}: its {rest.size} lines after the leading 0 are not a permutation of the zoo's {n_rows} "
            "rows; a split file belongs to one released zoo (cifar10, svhn, mnist, fashion_mnist)"
        )
    return order


def nfn_positions(n: int) -> dict[str, np.ndarray]:
    """The NFN halves of n ordered nets: test the last half, the first shuffled by Random(0), 80 % train."""
    half = int(0.5 * n)
    first = list(range(half))
    random.Random(0).shuffle(first)
    cut = int(0.8 * half)
    return {"train": np.array(first[:cut], dtype=np.int64), "val": np.array(first[cut:], dtype=np.int64),
            "test": np.arange(half, n, dtype=np.int64)}


def _finite(weights: np.ndarray, rows: np.ndarray, chunk_rows: int = 8192) -> np.ndarray:
    """Whether each of `rows` has only finite weights (read chunk by chunk)."""
    return np.concatenate([np.isfinite(read_rows(weights, rows[i : i + chunk_rows])).all(axis=1)
                           for i in range(0, len(rows), chunk_rows)] or [np.ones(0, bool)])


@dataclass(frozen=True)
class NFNSplit:
    """Members of the protocol's parts: row positions into weights.npy, in the protocol's order."""

    parts: dict[str, np.ndarray]
    source: str
    benchmark: bool  # ordered by the published split file of the zoo's dataset (its sha256 checked)
    dropped_nonfinite: int = 0
    user_supplied: bool = False  # ordered by a split file that is not the published one

    @property
    def sizes(self) -> tuple[int, int, int]:
        return tuple(len(self.parts[p]) for p in PARTS)

    @property
    def kind(self) -> str:
        """'the NFN benchmark split', 'a user-supplied split' or 'the NFN protocol on this zoo'."""
        if self.benchmark:
            return "the NFN benchmark split"
        return "a user-supplied split" if self.user_supplied else "the NFN protocol on this zoo"

    def label(self) -> str:
        """What a table says about the split, e.g. 'NFN benchmark split (cifar10_split.csv)'."""
        if self.benchmark:
            return f"NFN benchmark split ({self.source})"
        if self.user_supplied:
            return f"a user-supplied split, NOT the NFN benchmark split ({self.source})"
        return f"NFN protocol on this zoo, NOT the benchmark ({self.source})"

    def frame(self) -> pd.DataFrame:
        """One row per member: part and row (index into weights.npy), parts in order train, val, test."""
        return pd.DataFrame({"part": np.repeat(PARTS, self.sizes),
                             "row": np.concatenate([self.parts[p] for p in PARTS])})


def split_file_beside(zoo: Zoo) -> Path | None:
    """The NFN split file `zoolib zoo download` stored beside a released zoo, or None if there is none."""
    if zoo.path is None or "config.dataset" not in zoo.metrics:
        return None
    dataset = dataset_of(zoo)
    path = Path(zoo.path).parent / SPLIT_FILES[dataset][0]
    return path if path.is_file() else None


def is_published_split(path: str | Path, zoo: Zoo) -> bool:
    """Whether `path` is, byte for byte (sha256), the NFN split file published for the zoo's dataset."""
    dataset = dataset_of(zoo) if "config.dataset" in zoo.metrics else None
    return dataset in SPLIT_FILES and sha256_file(path, progress=False) == SPLIT_FILES[dataset][2]


def nfn_split(zoo: Zoo, split_file: str | Path | None = None, activation: str | None = None,
              subset_rule: str = "split-then-filter", seed: int = 0) -> NFNSplit:
    """The NFN protocol's train, val and test members of a zoo.

    With a split file (given, or beside the zoo where `zoolib zoo download` puts it) it is NFN's
    procedure row for row, and the benchmark only if the file is the one published for the zoo's
    dataset (its sha256; any other file is a user-supplied split); without one, the final checkpoints of completed runs in a seeded order, labelled
    as not the benchmark. `activation` ('relu' or 'tanh') keeps only those nets, by `subset_rule`.
    """
    if subset_rule not in SUBSET_RULES:
        raise ValueError(f"subset_rule must be one of {SUBSET_RULES}, got {subset_rule!r}")
    metrics = zoo.metrics
    if activation is not None:
        if "config.activation" not in metrics:
            raise ValueError(f"{zoo.path}: an activation subset needs the config.activation column; there is none")
        acts = metrics["config.activation"].astype(str).to_numpy()
        if activation not in set(acts):
            raise ValueError(f"no {activation!r} nets; the zoo's activations are {sorted(set(acts))}")
    split_file = split_file if split_file is not None else split_file_beside(zoo)
    dropped = 0
    if split_file is not None:
        order = read_split_file(split_file, len(zoo))
        steps = metrics["step"].to_numpy()
        ordered = order[steps[order] == FINAL_STEP]
        if ordered.size == 0:
            raise ValueError(
                f"{zoo.path}: no checkpoint at step {FINAL_STEP} (its last epoch is {steps.max()}); the NFN split "
                f"keeps step == {FINAL_STEP} as their loader does, so it applies to the released zoo only"
            )
        bad = int((~_finite(zoo.weights, ordered)).sum())
        if bad:
            raise ValueError(f"{zoo.path}: {bad} step-{FINAL_STEP} rows hold NaN/Inf weights (NFN asserts none do)")
        source, benchmark = Path(split_file).name, is_published_split(split_file, zoo)
    else:
        rows = select_rows(metrics, "completed")
        finite = _finite(zoo.weights, rows)
        rows, dropped = rows[finite], int((~finite).sum())
        ordered = rows[np.random.default_rng(seed).permutation(rows.size)]
        source, benchmark = f"final checkpoints of {rows.size} runs in a seeded order, seed {seed}", False
    if activation is not None and subset_rule == "filter-then-split":
        ordered = ordered[acts[ordered] == activation]
    parts = {name: ordered[pos] for name, pos in nfn_positions(ordered.size).items()}
    if activation is not None and subset_rule == "split-then-filter":
        parts = {name: members[acts[members] == activation] for name, members in parts.items()}
    if activation is not None:
        source += f"; {activation} nets only, {subset_rule}"
    empty = [name for name in PARTS if len(parts[name]) == 0]
    if empty:
        raise ValueError(f"{zoo.path}: the {empty} part(s) are empty ({ordered.size} nets in all); use a larger zoo")
    return NFNSplit(parts, source, benchmark, dropped, user_supplied=split_file is not None and not benchmark)


def check_split_sizes(split: NFNSplit, dataset: str) -> dict[str, object]:
    """Compare split sizes with the published NFN ones; `match` is None where none were published."""
    published = PUBLISHED_SPLIT_SIZES.get(dataset)
    match = None if published is None else split.sizes == published
    if match is None:
        message = f"{dataset}: split sizes {split.sizes}; no published NFN sizes to compare with"
    else:
        verb = "match" if match else "DIFFER FROM"
        message = f"{dataset}: split sizes {split.sizes} {verb} the published {published}"
    return {"dataset": dataset, "sizes": split.sizes, "published": published, "match": match, "message": message}


def _tensors(layout: pd.DataFrame) -> list[tuple[str, str, int, int, tuple[int, ...]]]:
    """(layer, 'kernel' or 'bias', start, stop, shape) in layout order; other tensors are refused."""
    out = []
    for row in layout.sort_values("start_idx").itertuples():
        layer, _, variable = str(row.varname).rpartition("/")
        kind = variable.split(":")[0]
        if kind not in ("kernel", "bias"):
            raise ValueError(
                f"layout tensor {row.varname!r} is neither a kernel nor a bias; the NFN loader and StatNN "
                "handle conv and dense layers only (no batch-norm zoos)"
            )
        out.append((layer, kind, int(row.start_idx), int(row.end_idx), parse_shape(row.shape)))
    return out


def _chunks(weights: np.ndarray, rows: np.ndarray, chunk_rows: int):
    """(start, float32 block of weights[rows[start:start + chunk_rows]]) over `rows`: memory bounded."""
    for start in range(0, len(rows), chunk_rows):
        yield start, read_rows(weights, rows[start : start + chunk_rows]).astype(np.float32, copy=False)


def statnn_feature_names(layout: pd.DataFrame) -> list[str]:
    """'layer{i}.{kernel|bias}.{mean|var|q0|q25|q50|q75|q100}': per layer the kernel, then the bias."""
    layers = list(dict.fromkeys(layer for layer, *_ in _tensors(layout)))
    return [f"layer{i}.{kind}.{stat}" for i in range(len(layers)) for kind in ("kernel", "bias") for stat in STATISTICS]


def statnn_features(zoo: Zoo, rows: np.ndarray, chunk_rows: int = 8192) -> pd.DataFrame:
    """StatNN's inputs of the given rows (NFN's StatFeaturizer): per layer kernel then bias, 7 statistics.

    Mean, unbiased variance and the quantiles 0, .25, .5, .75, 1 (linear interpolation, as
    torch.quantile) of every tensor; float32 as in NFN. Read from the memory map chunk by chunk.
    """
    rows = np.asarray(rows)
    tensors = _tensors(zoo.layout)
    layers = list(dict.fromkeys(layer for layer, *_ in tensors))
    spans = {(layer, kind): (start, stop) for layer, kind, start, stop, _ in tensors}
    out = np.empty((len(rows), 14 * len(layers)), np.float32)
    for start, block in _chunks(zoo.weights, rows, chunk_rows):
        columns = []
        for layer in layers:
            for kind in ("kernel", "bias"):
                lo, hi = spans[(layer, kind)]
                t = block[:, lo:hi]
                q = np.quantile(t, [0, 0.25, 0.5, 0.75, 1], axis=1).T
                columns += [t.mean(axis=1, keepdims=True), t.var(axis=1, ddof=1, keepdims=True), q]
        out[start : start + len(block)] = np.hstack(columns)
    return pd.DataFrame(out, columns=statnn_feature_names(zoo.layout))


class StatNN(RegressorMixin, BaseEstimator):
    """NFN's StatNet baseline in Keras: an MLP (hidden x 2, ReLU, sigmoid output) on StatNN's statistics.

    Trained as published: BCE loss, Adam (lr 1e-3, eps 1e-8 as PyTorch), batch 8, `epochs` epochs,
    PyTorch's default initialisation of linear layers, inputs not normalised. After every epoch the
    Kendall tau on the validation rows is computed; the weights of the best epoch are kept
    (`best_epoch_`, `val_tau_` per epoch). `fit` seeds Python, NumPy and TensorFlow with `seed`.
    """

    def __init__(self, hidden: int = 1000, epochs: int = 50, batch_size: int = 8, learning_rate: float = 1e-3,
                 seed: int = 0):
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.seed = seed

    def fit(self, X, y, X_val=None, y_val=None) -> "StatNN":
        import keras  # here: TensorFlow takes seconds to load

        if X_val is None:
            raise ValueError("StatNN keeps the epoch with the best validation tau: pass X_val and y_val to fit")
        X, X_val = np.asarray(X, np.float32), np.asarray(X_val, np.float32)
        y, y_val = np.asarray(y, np.float32), np.asarray(y_val, np.float64)
        keras.utils.set_random_seed(self.seed)

        def torch_linear(units: int, fan_in: int, activation: str):  # nn.Linear's default initialisation
            bound = 1.0 / np.sqrt(fan_in)
            return keras.layers.Dense(units, activation, kernel_initializer=keras.initializers.VarianceScaling(
                1 / 3, "fan_in", "uniform"), bias_initializer=keras.initializers.RandomUniform(-bound, bound))

        self.model_ = keras.Sequential([keras.Input((X.shape[1],)), torch_linear(self.hidden, X.shape[1], "relu"),
                                        torch_linear(self.hidden, self.hidden, "relu"),
                                        torch_linear(1, self.hidden, "sigmoid")])
        self.model_.compile(keras.optimizers.Adam(self.learning_rate, epsilon=1e-8), "binary_crossentropy",
                            steps_per_execution=32, jit_compile=True)  # XLA: about 2x faster on CPU (measured)
        self.val_tau_, best, best_tau = [], None, -np.inf
        for epoch in range(self.epochs):
            self.model_.fit(X, y, batch_size=self.batch_size, epochs=1, shuffle=True, verbose=0)
            tau = kendall_tau(y_val, self._predict(X_val))
            self.val_tau_.append(tau)
            if best is None or tau > best_tau:  # the first best epoch wins ties, as in NFN's `tau > best_tau`
                best, best_tau, self.best_epoch_ = self.model_.get_weights(), np.nan_to_num(tau, nan=-np.inf), epoch
        self.model_.set_weights(best)
        return self

    def _predict(self, X: np.ndarray) -> np.ndarray:
        # a direct call, not model.predict: predict traces a tf.function per input shape, and the per-epoch
        # validation calls of several models made TensorFlow print a retracing warning into the page
        return np.asarray(self.model_(X, training=False)).ravel().astype(np.float64)

    def predict(self, X) -> np.ndarray:
        return self._predict(np.asarray(X, np.float32))


def fit_gbm(X: dict, y: dict, n_search: int, seed: int = 0) -> tuple[BaseEstimator, str]:
    """Our GBM: the best of `n_search` random LightGBM settings on val tau, and how it was chosen.

    X and y map 'train' and 'val' to the inputs and accuracies of those parts.
    """
    model, trials = random_search("gbm", X["train"], y["train"], X["val"], y["val"], n_iter=n_search, seed=seed,
                                  metric="kendall_tau")
    best = trials.loc[trials["val_kendall_tau"].fillna(-np.inf).idxmax()]  # the trial random_search kept
    trial, tau = int(best["trial"]), best["val_kendall_tau"]
    shown = "undefined" if np.isnan(tau) else f"{tau:.3f}"  # constant predictions on val: no tau
    return model, f"setting {trial + 1} of {n_search} (best val tau {shown})"  # short: a table cell, not cut


def run_benchmark(zoo: Zoo, split: NFNSplit, methods: tuple[str, ...] = ("statnn", "gbm"), statnn_epochs: int = 50,
                  gbm_search: int = 8, n_bootstrap: int = 1000, seed: int = 0) -> pd.DataFrame:
    """StatNN and/or our GBM under a split: fit on train, choose on val tau, score the test part once.

    One row per method: split label, sizes, test Kendall tau-b with its 95 % bootstrap interval, the tie
    ceiling of the test part, R^2, how the model was chosen, seconds (features excluded), and the test part's
    true and predicted accuracies (y_test, y_pred: arrays, for paired comparisons in `verdict`).
    """
    X = {p: statnn_features(zoo, split.parts[p]) for p in PARTS}
    y = {p: zoo.metrics["test_accuracy"].to_numpy(float)[split.parts[p]] for p in PARTS}
    out = []
    for method in methods:
        start = time.perf_counter()
        if method == "statnn":
            model = StatNN(epochs=statnn_epochs, seed=seed).fit(X["train"], y["train"], X["val"], y["val"])
            best = np.nanmax(model.val_tau_) if not np.isnan(model.val_tau_).all() else np.nan
            chosen = (f"epoch {model.best_epoch_ + 1} of {statnn_epochs} (best val tau "
                      + ("undefined)" if np.isnan(best) else f"{best:.3f})"))
            name = "StatNN (ours)"
        elif method == "gbm":
            model, chosen = fit_gbm(X, y, gbm_search, seed)
            name = "GBM (ours)"
        else:
            raise ValueError(f"unknown method {method!r}; expected 'statnn' or 'gbm'")
        y_pred = model.predict(X["test"])
        out.append({"method": name, "split": split.label(), "benchmark": split.benchmark,
                    "n_train": split.sizes[0], "n_val": split.sizes[1], **score(y["test"], y_pred, n_bootstrap, seed),
                    "chosen": chosen, "seconds": time.perf_counter() - start, "y_test": y["test"], "y_pred": y_pred})
    return pd.DataFrame(out)


def readable(results: pd.DataFrame) -> pd.DataFrame:
    """A `run_benchmark` table for reading, one row per method (the index): τ and R² with their intervals
    ('undefined' for constant predictions); every cell short enough that pandas shows it whole."""
    return pd.DataFrame({
        "method": results["method"],
        "nets (train / val / test)": [f"{r.n_train:,} / {r.n_val:,} / {r.n_test:,}" for r in results.itertuples()],
        "Kendall τ [95 % CI]": [str(Estimate.from_row(r, "kendall_tau")) for _, r in results.iterrows()],
        "tie ceiling": [f"{c:.3f}" for c in results["tau_ceiling"]],
        "R² [95 % CI]": [str(Estimate.from_row(r, "r2")) for _, r in results.iterrows()],
        "chosen": results["chosen"],
        "seconds": [f"{s:.0f}" for s in results["seconds"]],
    }).set_index("method")


def verdict(label: str, results: pd.DataFrame, published_statnn: float | None = None, n_bootstrap: int = 1000,
            seed: int = 0) -> str:
    """A sentence on a `run_benchmark` table: does our GBM rank the test nets better than StatNN (the paired
    tau difference on the same test nets, `zoolib.claims.compared`), and (on the benchmark) is our StatNN
    above the published tau (one-sample interval against that level)?"""
    by = results.set_index("method")
    statnn, gbm = by.loc["StatNN (ours)"], by.loc["GBM (ours)"]
    difference = Estimate.of(paired_difference(gbm["y_test"], gbm["y_pred"], statnn["y_pred"], "kendall_tau",
                                               n_bootstrap, seed=seed))
    text = (f"{label}: StatNN τ {Estimate.from_row(statnn, 'kendall_tau')}, GBM τ {Estimate.from_row(gbm, 'kendall_tau')}, "
            f"tie ceiling {by['tau_ceiling'].iloc[0]:.3f}; the GBM ranks the test nets better than StatNN, "
            + claims.compared(difference, len(gbm["y_test"]), "a τ difference (GBM minus StatNN) of"))
    if not difference.defined:
        text += " (a constant prediction has no τ: too few training nets)"
    if published_statnn is not None:
        text += (f"; our StatNN above the published {published_statnn:.3f}: "
                 f"{claims.above(Estimate.from_row(statnn, 'kendall_tau'), published_statnn)}")
    return text + "."


@dataclass(frozen=True)
class ZooRun:
    """The protocol run on one zoo of a book build (`run_collections`): what the NFN page shows and concludes."""

    dataset: str  # the collection's dataset, e.g. 'cifar10' (a column of PUBLISHED_TAU on the benchmark)
    name: str  # the zoo in a table, e.g. 'CIFAR10-GS'
    label: str  # the zoo in the verdict, e.g. 'Released CIFAR10-GS (the benchmark)'
    note: str  # Markdown: the zoo, its split and, on a released zoo, its split sizes against the published ones
    results: pd.DataFrame  # `run_benchmark`
    published_statnn: float | None  # the published StatNN tau ours is compared with (released zoos only)
    n_bootstrap: int

    def verdict(self) -> str:
        return verdict(self.label, self.results, self.published_statnn, self.n_bootstrap)


def run_collections(collections: dict[str, Collection], profile: Profile) -> list[ZooRun]:
    """StatNN and our GBM under the NFN protocol on the zoos of a book build, with `profile`'s settings.

    A downloaded profile's collections are the benchmark's released zoos (CIFAR10-GS and SVHN-GS; the others
    are left out), compared with the published tau; a generated profile's are run as they are, NOT the benchmark.
    """
    runs = []
    for name, collection in collections.items():
        released = not profile.generated
        if released and name not in PUBLISHED_SPLIT_SIZES:
            continue
        split = nfn_split(collection.zoo)
        results = run_benchmark(collection.zoo, split, statnn_epochs=profile.statnn_epochs,
                                gbm_search=profile.nfn_gbm_search, n_bootstrap=profile.n_bootstrap)
        if released:
            no_file = not (split.benchmark or split.user_supplied)
            fetch = f" (no split file beside the zoo: `zoolib zoo download {name}` fetches it)" if no_file else ""
            note = f"**{collection.label()}**: {split.label()}{fetch}; {check_split_sizes(split, name)['message']}."
            label = f"Released {collection.dataset_name} " + (
                "(the benchmark)" if split.benchmark else "(no split file: NOT the benchmark's members)" if no_file
                else "(a user-supplied split: NOT the benchmark's members)")
            published = float(PUBLISHED_TAU.loc["StatNN", name])
        else:
            note, label, published = f"**{collection.label()}**: {split.label()}.", f"{collection.label()} (not the benchmark)", None
        runs.append(ZooRun(collection.dataset, collection.dataset_name, label, note, results, published,
                           profile.n_bootstrap))
    return runs


def notes(runs: list[ZooRun]) -> str:
    """Markdown, one paragraph per run: the zoo and its split."""
    return "\n\n".join(run.note for run in runs)


def readable_runs(runs: list[ZooRun]) -> pd.DataFrame:
    """The `readable` tables of several runs in one, indexed by zoo and method."""
    return pd.concat({run.name: readable(run.results) for run in runs}, names=["zoo", "method"])


def against_published(runs: list[ZooRun]) -> pd.DataFrame:
    """The published test tau (PUBLISHED_TAU, one row per method) above our StatNN's and GBM's with their
    intervals, one column per dataset of the runs."""
    ours = pd.DataFrame({run.dataset: readable(run.results)["Kendall τ [95 % CI]"] for run in runs})
    published = PUBLISHED_TAU.map(lambda tau: f"{tau:.3f}").rename(index=lambda m: f"{m} (published)")
    return pd.concat([published, ours])


def page_verdict(runs: list[ZooRun]) -> str:
    """The NFN page's verdict (Markdown): `verdict` of every run, released zoos first as given."""
    return " ".join(run.verdict() for run in runs) or "No zoo to run the protocol on in this build."


@dataclass
class TorchLayout:
    """Weights and biases of some zoo rows in PyTorch layout, ready for `torch.from_numpy`.

    weights[i]: conv kernels (B, out, in, kh, kw), dense kernels (B, out, in); biases[i]: (B, out);
    layer i in layout order, as NFN's ZooDataset gives them. `rows` are the rows of weights.npy.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    test_accuracy: np.ndarray
    metrics: pd.DataFrame
    rows: np.ndarray


_TO_TORCH = {4: (0, 4, 3, 1, 2), 2: (0, 2, 1), 1: (0, 1)}  # (B, *TF shape) -> (B, *PyTorch shape)


def _torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """(kh, kw, in, out) -> (out, in, kh, kw); (in, out) -> (out, in); (out,) -> (out,)."""
    return tuple(shape[axis - 1] for axis in _TO_TORCH[len(shape)][1:])


def to_torch(block: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(B, size) columns of one tensor of TF `shape` -> (B, *PyTorch shape): the one layout conversion."""
    return block.reshape(-1, *shape).transpose(_TO_TORCH[len(shape)])


def torch_layout(zoo: Zoo, rows: np.ndarray, chunk_rows: int = 4096) -> TorchLayout:
    """The given rows in PyTorch layout, filled chunk by chunk from the memory map.

    Peak memory is the result (the rows' own size) plus one chunk, not the whole weights file.
    """
    rows = np.asarray(rows)
    tensors = _tensors(zoo.layout)
    arrays = [np.empty((len(rows), *_torch_shape(shape)), np.float32) for *_, shape in tensors]
    for start, block in _chunks(zoo.weights, rows, chunk_rows):
        for out, (_, _, lo, hi, shape) in zip(arrays, tensors):
            out[start : start + len(block)] = to_torch(block[:, lo:hi], shape)
    kinds = [kind for _, kind, *_ in tensors]
    metrics = zoo.metrics.iloc[rows].reset_index(drop=True)
    return TorchLayout(weights=[a for a, k in zip(arrays, kinds) if k == "kernel"],
                       biases=[a for a, k in zip(arrays, kinds) if k == "bias"],
                       test_accuracy=metrics["test_accuracy"].to_numpy(np.float32), metrics=metrics, rows=rows)


def save_npz(data: TorchLayout, out: str | Path, exclusive: bool = False) -> Path:
    """Write weight_0.., bias_0.., test_accuracy and row (index into weights.npy) to an .npz, atomically
    (`exclusive`: only if no file is at `out` when it is done, see zoolib.files.atomic_write)."""
    arrays = {f"weight_{i}": w for i, w in enumerate(data.weights)}
    arrays |= {f"bias_{i}": b for i, b in enumerate(data.biases)}
    with atomic_write(out, exclusive=exclusive) as tmp, open(tmp, "wb") as handle:  # a file object: np.savez adds no suffix
        np.savez(handle, **arrays, test_accuracy=data.test_accuracy, row=data.rows)
    return Path(out)


def torch_dataset(data: TorchLayout):
    """A `torch.utils.data.Dataset` over `data` (needs torch): item i is ((weights, biases), accuracy).

    Each tensor gets a leading channel axis of 1, as NFN's ZooDataset gives it.
    """
    try:
        import torch
        from torch.utils.data import Dataset
    except ImportError as err:
        raise ImportError("torch_dataset needs PyTorch (pip install torch); the arrays of torch_layout do not") from err

    class ZooDataset(Dataset):
        def __len__(self) -> int:
            return len(data.test_accuracy)

        def __getitem__(self, i: int):
            weights = tuple(torch.from_numpy(w[i][None]) for w in data.weights)
            biases = tuple(torch.from_numpy(b[i][None]) for b in data.biases)
            return (weights, biases), float(data.test_accuracy[i])

    return ZooDataset()
