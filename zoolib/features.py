"""Inputs of the accuracy predictors (paper Table 2): weight statistics, norms, raw weights, hyperparameters.

An input is named as in the paper; `compute_features(zoo, name)` gives one row per zoo row:
- "wstats-layers:L" (the paper also writes "wstats-layers:L-qts:0,25,50,75,100"): for the bias and
  then the kernel of every listed layer, in layout order, the 7 statistics p0, p25, p50, p75, p100
  (np.percentile, 'linear'), std (ddof 0), mean. Layers 0,1,2,3 give the paper's 56 features.
  Other percentiles: "-qts:10,90" gives p10, p90, std, mean.
- "wstats-glob": the same statistics over every parameter of the row pooled.
- "wstats-arch": statistics of the first layer and of the top three layers (layer-3, layer-2, layer-1),
  a fixed size across depths for transfer between architectures (on the paper's net = layers 0-3).
- "wnorm-layers:L-l1" / "-l2": the L1 or L2 norm of each bias and each kernel of the listed layers
  (per tensor; the paper does not say more).
- "weights": every raw parameter; "weights.i": the raw parameters (bias and kernel) of layer i.
- "hyper": w_init, activation, optimizer (categorical), learning_rate, init_std, l2reg,
  train_fraction, dropout from the config.* columns; "hyper.NAME" one of them; "A+B" joins inputs.

A "layer" is a group of tensors of one layer name in layout.csv (sequential/conv2d_1/bias:0 and
sequential/conv2d_1/kernel:0 are layer sequential/conv2d_1) that holds a kernel: conv and dense
layers, numbered 0.. in layout order. Batch-norm tensors (beta, gamma, moving mean and variance of a
cnn_bn net) belong to no layer: layer inputs and wstats-arch skip them, "weights" and "wstats-glob"
include them (they are columns of the row).

Column names: "layer{i}.{bias|kernel}.{p0|p25|p50|p75|p100|std|mean|l1|l2}" (wstats-arch uses
layer0, layer-3, layer-2, layer-1), "all.{stat}" for wstats-glob, "w.{column}" for raw parameters
(column of weights.npy), "hyper.{name}" for numeric hyperparameters ("hyper.log10_{name}" for
learning_rate, l2reg, init_std with log_scale=True) and "hyper.{name}.{value}" one-hot columns.
No name uses the characters LightGBM rejects (,:[]{}").

Statistics are computed chunk by chunk over rows (the weights may be a 5 GiB memmap): each tensor
block is sorted along its rows once, percentiles are read off the sorted rows with np.percentile's
linear interpolation, mean and std accumulate in float64; chunks run on a thread pool (NumPy's sort
releases the GIL) and pages of a memory-mapped weights file are handed back after each chunk, so
memory stays bounded by a few chunks.
"""

from __future__ import annotations

import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from tqdm.auto import tqdm

from zoolib.cnn import ACTIVATIONS, INITIALIZERS
from zoolib.files import bar_switch
from zoolib.zoo import Zoo, page_dropper

INPUTS = [
    "weights.0",
    "weights.1",
    "weights.2",
    "weights.3",
    "weights",
    "hyper",
    "hyper+weights",
    "wstats-glob",
    "wnorm-layers:0,1,2,3-l1",
    "wnorm-layers:0,1,2,3-l2",
    "hyper.learning_rate",
    "wstats-layers:0,3",
    "wstats-layers:3",
    "wstats-layers:0,1,2,3",
]
"""The paper's inputs in Table 2 order; "wstats-arch" (the architecture-transfer input) is accepted too."""
STATS = "wstats-layers:0,1,2,3"  # the 56 per-layer statistics: the paper's best input

PERCENTILES = (0, 25, 50, 75, 100)
CATEGORICAL_HYPER = {
    "w_init": list(INITIALIZERS),
    "activation": list(ACTIVATIONS),
    "optimizer": ["adam", "rmsprop", "sgd"],
}
HYPER = ["w_init", "activation", "learning_rate", "init_std", "l2reg", "train_fraction", "dropout", "optimizer"]
LOG_SCALE_HYPER = ("learning_rate", "l2reg", "init_std")
DEFAULT_CHUNK_ROWS = 1024

_WSTATS = re.compile(r"^wstats-(?:layers:(?P<layers>[0-9,]+)|(?P<which>glob|arch))(?:-qts:(?P<qts>[0-9.,]+))?$")
_WNORM = re.compile(r"^wnorm-layers:(?P<layers>[0-9,]+)-(?P<norm>l1|l2)$")
_WEIGHTS = re.compile(r"^weights(?:\.(?P<layer>[0-9]+))?$")


@dataclass(frozen=True)
class _Tensor:
    """One block of columns and what to compute from it: 'stats', 'l1', 'l2' or 'raw'."""

    prefix: str
    start: int
    stop: int
    kind: str
    qts: tuple[float, ...] = PERCENTILES

    @property
    def names(self) -> list[str]:
        if self.kind == "raw":
            return [f"w.{j}" for j in range(self.start, self.stop)]
        if self.kind == "stats":
            return [f"{self.prefix}.p{q:g}" for q in self.qts] + [f"{self.prefix}.std", f"{self.prefix}.mean"]
        return [f"{self.prefix}.{self.kind}"]

    def compute(self, chunk: np.ndarray) -> np.ndarray:
        block = chunk[:, self.start : self.stop]
        if self.kind == "raw":
            return block
        if self.kind == "l1":
            return np.abs(block).sum(axis=1, dtype=np.float64)[:, None]
        if self.kind == "l2":
            return np.sqrt(np.einsum("ij,ij->i", block, block, dtype=np.float64))[:, None]
        return _sorted_stats(np.sort(block, axis=1), self.qts)


def _sorted_stats(s: np.ndarray, qts: tuple[float, ...]) -> np.ndarray:
    """Percentiles (np.percentile's 'linear' method), std (ddof 0) and mean of rows sorted ascending.

    `s` is used as scratch space (shifted in place).
    """
    rows, n = s.shape
    out = np.empty((rows, len(qts) + 2), np.float64)
    for k, q in enumerate(qts):
        position = q / 100 * (n - 1)
        lo = int(math.floor(position))
        hi = min(lo + 1, n - 1)
        t = position - lo
        a, b = s[:, lo].astype(np.float64), s[:, hi].astype(np.float64)
        out[:, k] = a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t)
    # Shift by a middle element (in place) so that the float64 sums of squares do not cancel.
    shift = s[:, n // 2].copy()
    s -= shift[:, None]
    mean_s = s.sum(axis=1, dtype=np.float64) / n
    var = np.einsum("ij,ij->i", s, s, dtype=np.float64) / n - mean_s**2
    out[:, -2] = np.sqrt(np.maximum(var, 0.0))
    out[:, -1] = shift + mean_s
    return out


def layers_of(layout: pd.DataFrame) -> list[tuple[str, dict[str, tuple[int, int]]]]:
    """Conv/dense layers in layout order: (layer name, {variable: (start, stop)}) for layers with a kernel."""
    groups: dict[str, dict[str, tuple[int, int]]] = {}
    for row in layout.sort_values("start_idx").itertuples():
        layer, _, variable = str(row.varname).rpartition("/")
        groups.setdefault(layer, {})[variable.split(":")[0]] = (int(row.start_idx), int(row.end_idx))
    return [(name, tensors) for name, tensors in groups.items() if "kernel" in tensors]


def _describe_layers(layers) -> str:
    return ", ".join(f"{i} {name}" for i, (name, _) in enumerate(layers))


def _pick_layers(layers, wanted: list[int], inputs: str) -> None:
    for i in wanted:
        if i >= len(layers):
            raise ValueError(
                f"{inputs} asks for layer {i} but the layout has layers 0-{len(layers) - 1}: "
                f"{_describe_layers(layers)}"
            )


def _layer_list(text: str, inputs: str) -> list[int]:
    wanted = [int(p) for p in text.split(",") if p != ""]  # the pattern allows only digits and commas
    if not wanted:
        raise ValueError(f"{inputs}: expected a comma-separated list of layer numbers, e.g. 0,1,2,3")
    return wanted


def _layer_tensors(layers, index: int, label: str, kind: str, qts=PERCENTILES) -> list[_Tensor]:
    """Bias then kernel (layout order) of one layer."""
    _, tensors = layers[index]
    ordered = sorted(tensors.items(), key=lambda item: item[1][0])
    return [
        _Tensor(f"{label}.{variable}", start, stop, kind, qts)
        for variable, (start, stop) in ordered
        if variable in ("bias", "kernel")
    ]


def _weight_part(layout: pd.DataFrame, part: str) -> list[_Tensor]:
    """The tensors (and what to compute) of one weight input, e.g. 'wstats-layers:0,3'."""
    layers = layers_of(layout)
    if m := _WSTATS.match(part):
        qts = PERCENTILES
        if m["qts"]:
            try:
                qts = tuple(float(q) for q in m["qts"].split(","))
            except ValueError:
                qts = ()
            if not qts or not all(0 <= q <= 100 for q in qts):
                raise ValueError(f"{part}: -qts: needs percentiles in [0, 100], e.g. -qts:0,25,50,75,100")
        if m["which"] == "glob":
            return [_Tensor("all", 0, int(layout["end_idx"].max()), "stats", qts)]
        if m["which"] == "arch":
            if len(layers) < 4:
                raise ValueError(
                    f"wstats-arch needs the first layer and the top three, so at least 4 layers, but the "
                    f"layout has {len(layers)}: {_describe_layers(layers)}"
                )
            picks = [(0, "layer0")] + [(len(layers) - k, f"layer-{k}") for k in (3, 2, 1)]
            return [t for i, label in picks for t in _layer_tensors(layers, i, label, "stats", qts)]
        wanted = _layer_list(m["layers"], part)
        _pick_layers(layers, wanted, part)
        return [t for i in wanted for t in _layer_tensors(layers, i, f"layer{i}", "stats", qts)]
    if m := _WNORM.match(part):
        wanted = _layer_list(m["layers"], part)
        _pick_layers(layers, wanted, part)
        return [t for i in wanted for t in _layer_tensors(layers, i, f"layer{i}", m["norm"])]
    if m := _WEIGHTS.match(part):
        if m["layer"] is None:
            return [_Tensor("w", 0, int(layout["end_idx"].max()), "raw")]
        i = int(m["layer"])
        _pick_layers(layers, [i], part)
        starts_stops = [span for _, span in sorted(layers[i][1].items(), key=lambda item: item[1][0])]
        return [_Tensor("w", start, stop, "raw") for start, stop in starts_stops]
    raise ValueError(
        f"unknown input {part!r}; expected one of {INPUTS + ['wstats-arch']}, or wstats-layers:L, "
        "wnorm-layers:L-l1/-l2, weights.i, hyper.NAME joined with '+'"
    )


def hyper_features(
    metrics: pd.DataFrame, names: list[str] = HYPER, categorical: str = "onehot", log_scale: bool = False
) -> pd.DataFrame:
    """Hyperparameters from the config.* columns: categoricals one-hot or pandas category, numbers as is.

    Categories are the Table 1 values (plus any other value found, sorted after them), so that zoos
    of different datasets give the same columns. log_scale=True gives log10 of learning_rate, l2reg
    and init_std (columns hyper.log10_NAME), which suits a linear model.
    """
    if categorical not in ("onehot", "category"):
        raise ValueError(f"categorical must be 'onehot' (linear/MLP) or 'category' (LightGBM), got {categorical!r}")
    missing = [f"config.{n}" for n in names if f"config.{n}" not in metrics.columns]
    if missing:
        raise ValueError(f"the zoo's metrics lack {missing}; hyper inputs need the config.* columns {HYPER}")
    columns: dict[str, object] = {}
    for name in names:
        values = metrics[f"config.{name}"]
        if name in CATEGORICAL_HYPER:
            known = CATEGORICAL_HYPER[name]
            seen = sorted(set(values.astype(str)) - set(known))
            cat = pd.Categorical(values.astype(str), categories=known + seen)
            if categorical == "category":
                columns[f"hyper.{name}"] = cat
            else:
                for value in cat.categories:
                    columns[f"hyper.{name}.{value}"] = (cat == value).astype(np.float64)
        elif log_scale and name in LOG_SCALE_HYPER:
            columns[f"hyper.log10_{name}"] = np.log10(values.to_numpy(np.float64))
        else:
            columns[f"hyper.{name}"] = values.to_numpy(np.float64)
    return pd.DataFrame(columns, index=metrics.index)


def _hyper_names(part: str) -> list[str] | None:
    if part == "hyper":
        return HYPER
    if part.startswith("hyper."):
        name = part[len("hyper.") :]
        if name not in HYPER:
            raise ValueError(f"unknown hyperparameter {name!r} in {part!r}; expected one of {HYPER}")
        return [name]
    return None


def _plan(zoo: Zoo, inputs: str, categorical: str, log_scale: bool) -> list[pd.DataFrame | list[_Tensor]]:
    """The parts of an input, in order: hyperparameter frames and lists of weight tensors."""
    if not isinstance(inputs, str) or not inputs.strip():
        raise ValueError(f"inputs must be a name such as 'wstats-layers:0,1,2,3', got {inputs!r}")
    parts = []
    for part in inputs.strip().split("+"):
        names = _hyper_names(part)
        parts.append(
            hyper_features(zoo.metrics, names, categorical, log_scale) if names else _weight_part(zoo.layout, part)
        )
    return parts


def _default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _compute_tensors(
    weights: np.ndarray, tensors: list[_Tensor], chunk_rows: int, n_jobs: int | None, progress: bool
) -> np.ndarray:
    """All tensors' features of all rows, chunk by chunk on a thread pool."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
    widths = [len(t.names) for t in tensors]
    offsets = np.concatenate([[0], np.cumsum(widths)])
    dtype = np.float32 if all(t.kind == "raw" for t in tensors) else np.float64
    out = np.empty((len(weights), int(offsets[-1])), dtype)
    drop = page_dropper(weights)

    def work(start: int) -> None:
        stop = min(start + chunk_rows, len(weights))
        chunk = np.asarray(weights[start:stop])
        for tensor, lo, hi in zip(tensors, offsets[:-1], offsets[1:]):
            out[start:stop, lo:hi] = tensor.compute(chunk)
        drop(start, stop)

    starts = range(0, len(weights), chunk_rows)
    with ThreadPoolExecutor(max_workers=n_jobs or _default_jobs()) as pool:
        bar = tqdm(pool.map(work, starts), total=len(starts), unit="chunk", desc="features",
                   **bar_switch(progress and len(starts) >= 2))
        for _ in bar:
            pass
    return out


def compute_features(
    zoo: Zoo,
    inputs: str,
    categorical: str = "onehot",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    *,
    log_scale: bool = False,
    n_jobs: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """The predictor input `inputs` (e.g. 'wstats-layers:0,1,2,3') of every zoo row, named columns.

    categorical: 'onehot' (linear model, MLP) or 'category' (pandas categoricals for LightGBM).
    Statistics and norms are float64 (as np.percentile gives them), raw weights float32.
    n_jobs threads (default: the CPUs this process may use) share the chunks of `chunk_rows` rows.
    """
    parts = _plan(zoo, inputs, categorical, log_scale)
    tensors = [t for part in parts if isinstance(part, list) for t in part]
    if tensors:
        values = _compute_tensors(zoo.weights, tensors, chunk_rows, n_jobs, progress)
        names = [name for t in tensors for name in t.names]
        weights_frame = pd.DataFrame(values, columns=names, index=zoo.metrics.index, copy=False)
    frames, used = [], 0
    for part in parts:
        if isinstance(part, pd.DataFrame):
            frames.append(part)
        else:
            width = sum(len(t.names) for t in part)
            frames.append(weights_frame.iloc[:, used : used + width])
            used += width
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, axis=1)
    if frame.columns.duplicated().any():
        raise ValueError(f"{inputs} names some columns twice: {list(frame.columns[frame.columns.duplicated()])}")
    return frame


def feature_names(zoo: Zoo, inputs: str, categorical: str = "onehot", log_scale: bool = False) -> list[str]:
    """Column names compute_features would give, without reading the weights."""
    names = []
    for part in _plan(zoo, inputs, categorical, log_scale):
        names += list(part.columns) if isinstance(part, pd.DataFrame) else [n for t in part for n in t.names]
    return names


class WeightFeatures(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: a Zoo in, the predictor input `inputs` out (a DataFrame).

    fit records the feature names (get_feature_names_out); transform computes them for any zoo with
    the same columns, so a Pipeline(WeightFeatures(...), model) fits and predicts on Zoo objects.
    """

    def __init__(
        self,
        inputs: str = "wstats-layers:0,1,2,3",
        categorical: str = "onehot",
        log_scale: bool = False,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        n_jobs: int | None = None,
    ):
        self.inputs = inputs
        self.categorical = categorical
        self.log_scale = log_scale
        self.chunk_rows = chunk_rows
        self.n_jobs = n_jobs

    def fit(self, zoo: Zoo, y=None) -> "WeightFeatures":
        self.feature_names_out_ = np.asarray(feature_names(zoo, self.inputs, self.categorical, self.log_scale), object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def transform(self, zoo: Zoo) -> pd.DataFrame:
        if not hasattr(self, "feature_names_out_"):
            raise ValueError("WeightFeatures is not fitted yet; call fit(zoo) first")
        frame = compute_features(
            zoo, self.inputs, self.categorical, self.chunk_rows,
            log_scale=self.log_scale, n_jobs=self.n_jobs, progress=False,
        )
        if list(frame.columns) != list(self.feature_names_out_):
            raise ValueError(
                f"this zoo gives columns {list(frame.columns)[:8]}... but the transformer was fitted on "
                f"{list(self.feature_names_out_)[:8]}...; fit and transform zoos of the same layout and categories"
            )
        return frame

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        if not hasattr(self, "feature_names_out_"):
            raise ValueError("WeightFeatures is not fitted yet; call fit(zoo) first")
        return self.feature_names_out_.copy()
