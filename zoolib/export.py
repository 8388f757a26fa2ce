"""Take one net out of a zoo: a Keras 3 model file (.keras), or PyTorch-layout tensors (.npz), with a
sidecar JSON of its hyperparameters and recorded accuracies (`zoolib zoo export`).

The Keras file is `zoolib.zoo.keras_model` of the row, saved; `keras.models.load_model` reads it with
nothing of zoolib installed. The .npz holds the state_dict of the equivalent `torch.nn.Sequential`
(`zoolib.cnn.torch_modules`), its tensors converted by the layout code of `zoolib nfn export`
(`zoolib.nfn.to_torch`), so for a conv or dense net they equal that command's arrays. For the book:
the most and least accurate nets of a zoo (`extreme_rows`), re-measured (`remeasure`), their first filters.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from zoolib.cnn import torch_modules
from zoolib.files import TEMP_PREFIX, atomic_write, check_output_file
from zoolib.zoo import (RESULT_COLUMNS, Zoo, dataset_of, keras_model, parse_shape, row_activation_dropout, row_weights,
                        select_rows, zoo_architecture)

FORMATS = ("keras", "torch")
SUFFIXES = {"keras": ".keras", "torch": ".npz"}
TORCH_NAMES = {"kernel": "weight", "gamma": "weight", "bias": "bias", "beta": "bias",
               "moving_mean": "running_mean", "moving_variance": "running_var"}  # Keras variable -> state_dict key
TORCH_RECIPE = """\
To load a --format torch export in PyTorch (torch is not a zoolib dependency):
  import json, numpy as np, torch
  from torch import nn
  meta = json.load(open("NET.npz.json"))
  net = nn.Sequential(*(getattr(nn, name)(*args, **kwargs) for name, args, kwargs in meta["torch"]["modules"]))
  net.load_state_dict({k: torch.from_numpy(v) for k, v in np.load("NET.npz").items()})
  net.eval()
  logits = net(torch.from_numpy(x).permute(0, 3, 1, 2))  # x: images as zoolib.data.preprocess makes them, NHWC"""


def sidecar_path(out: str | os.PathLike) -> Path:
    """Where the sidecar JSON of an export goes: NET.keras -> NET.keras.json, NET.npz -> NET.npz.json."""
    return Path(out).with_name(Path(out).name + ".json")


def _plain(value):
    """A NumPy scalar as a Python one; NaN as None (strict JSON)."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and not np.isfinite(value) else value


def net_record(zoo: Zoo, row: int, fmt: str) -> dict:
    """The sidecar of row `row`: where it comes from, its architecture and input, hyperparameters (the
    config.* columns) and recorded results; for the torch format the modules of its nn.Sequential."""
    meta = zoo.metrics.iloc[row]
    arch = zoo_architecture(zoo)
    record = {
        "zoo": str(zoo.path), "row": int(row), "modeldir": str(meta["modeldir"]), "step": int(meta["step"]),
        "dataset": dataset_of(zoo), "architecture": arch.to_string(), "format": fmt,
        "input": {"shape": list(arch.input_shape), "layout": "NHWC",
                  "preprocessing": "zoolib.data.preprocess: uint8 / 255 * 2 - 1, mean over colour channels"},
        "hyperparameters": {c.removeprefix("config."): _plain(meta[c]) for c in meta.index if c.startswith("config.")},
        "recorded": {c: _plain(meta[c]) for c in RESULT_COLUMNS[2:] if c in meta.index},
    }
    if fmt == "torch":
        activation, dropout = row_activation_dropout(zoo, row)
        modules = [[name, args, kwargs] for name, args, kwargs, _ in torch_modules(arch, activation=activation, dropout=dropout)]
        record["torch"] = {"modules": modules, "input_layout": "NCHW", "recipe": TORCH_RECIPE}
    return record


def torch_state_dict(zoo: Zoo, row: int) -> dict[str, np.ndarray]:
    """Row `row` as the state_dict of its nn.Sequential (`zoolib.cnn.torch_modules`), as NumPy arrays:
    '0.weight' (out, in, kh, kw), '0.bias', ...; a BatchNorm2d also gets running_mean, running_var and
    num_batches_tracked (0), as PyTorch's state_dict has them."""
    from zoolib.nfn import to_torch

    arch = zoo_architecture(zoo)  # checks that layout.csv is the architecture's
    activation, dropout = row_activation_dropout(zoo, row)
    vector = row_weights(zoo, row)[None]
    tensors: dict[str, dict[str, np.ndarray]] = {}
    for r in zoo.layout.itertuples():
        layer, variable = str(r.varname).split("/")[-2:]
        tensors.setdefault(layer, {})[TORCH_NAMES[variable.split(":")[0]]] = to_torch(
            vector[:, r.start_idx : r.end_idx], parse_shape(r.shape))[0]
    state: dict[str, np.ndarray] = {}
    for index, (name, _, _, layer) in enumerate(torch_modules(arch, activation=activation, dropout=dropout)):
        if layer is None:
            continue
        for key in ("weight", "bias", "running_mean", "running_var"):
            if key in tensors[layer]:
                state[f"{index}.{key}"] = np.ascontiguousarray(tensors[layer][key])
        if name == "BatchNorm2d":
            state[f"{index}.num_batches_tracked"] = np.array(0, np.int64)
    return state


def export_net(zoo: Zoo, row: int, out: str | os.PathLike, fmt: str = "keras", force: bool = False) -> tuple[Path, Path]:
    """Write net `row` of `zoo` to `out` (.keras or, for fmt 'torch', .npz) and its sidecar JSON beside it,
    each atomically; returns both paths. An existing output or sidecar is refused (FileExistsError) unless `force`."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    out, sidecar = Path(out), sidecar_path(out)
    if out.suffix != SUFFIXES[fmt]:
        raise ValueError(f"--out {out}: the {fmt} format writes a {SUFFIXES[fmt]} file; name it NET{SUFFIXES[fmt]}")
    check_output_file(out, force, inputs=(zoo.path,) if zoo.path is not None else ())
    if sidecar.exists() and not force:
        raise FileExistsError(f"{sidecar}: exists (the sidecar of --out {out}); pass --force to replace both")
    row_weights(zoo, row)  # refuses a missing row or NaN/Inf weights before any work
    record = net_record(zoo, row, fmt)
    if fmt == "keras":
        model = keras_model(zoo, row)
        with atomic_write(out, exclusive=not force) as tmp, tempfile.TemporaryDirectory(
                prefix=f"{TEMP_PREFIX}{out.name}.{os.getpid()}.", dir=out.parent) as staging:
            model.save(Path(staging) / "net.keras")  # Keras wants the .keras suffix, the temporary name has none
            os.replace(Path(staging) / "net.keras", tmp)
    else:
        state = torch_state_dict(zoo, row)
        with atomic_write(out, exclusive=not force) as tmp, open(tmp, "wb") as handle:  # np.savez adds no suffix
            np.savez(handle, **state)
    with atomic_write(sidecar, exclusive=not force) as tmp:
        tmp.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
    return out, sidecar


def extreme_rows(zoo: Zoo) -> dict[str, int]:
    """The final checkpoints with the highest and the lowest recorded test accuracy among the nets
    whose weights are finite: {'most accurate': row, 'least accurate': row}."""
    final = select_rows(zoo.metrics, "final")
    accuracy = zoo.metrics["test_accuracy"].to_numpy(float)[final]
    ranked = final[np.isfinite(accuracy)][np.argsort(accuracy[np.isfinite(accuracy)], kind="stable")]
    least = next((int(r) for r in ranked if np.isfinite(zoo.weights[r]).all()), None)  # reads rows until one is finite
    if least is None:
        raise ValueError(f"{zoo.path}: every final checkpoint holds NaN/Inf weights or no accuracy; no net to show")
    most = next(int(r) for r in ranked[::-1] if np.isfinite(zoo.weights[r]).all())
    return {"most accurate": most, "least accurate": least}


def first_layer_kernel(zoo: Zoo, row: int) -> np.ndarray:
    """The first kernel of a net in TF layout, e.g. (3, 3, 1, 16) for the paper's CNN."""
    first = zoo.layout[zoo.layout["varname"].str.endswith("kernel:0")].iloc[0]
    return row_weights(zoo, row)[first["start_idx"] : first["end_idx"]].reshape(parse_shape(first["shape"]))


def remeasure(zoo: Zoo, rows: dict[str, int]) -> tuple[pd.DataFrame, str]:
    """Rebuild the labelled rows (`keras_model`) and measure their test accuracy again on the images the
    zoo's accuracies were recorded on (`zoolib.verify.load_test_set`). Returns one row per net (run,
    epoch, recorded and measured accuracy, difference in test images; NaN where not measured) and a
    sentence naming the test set, or why none is on this machine."""
    from zoolib.data import DatasetNotFoundError
    from zoolib.verify import evaluate_accuracy, load_test_set

    try:
        data, _ = load_test_set(zoo)
        said = f"measured again on {len(data.y_test):,} test images of {data.name} ({data.source})"
    except DatasetNotFoundError as err:
        data, said = None, f"not measured again: {err}"
    table = []
    for label, row in rows.items():
        meta = zoo.metrics.iloc[row]
        measured = np.nan if data is None else evaluate_accuracy(keras_model(zoo, row), data.x_test, data.y_test)
        recorded = float(meta["test_accuracy"])
        table.append({"net": label, "row": row, "run": str(meta["modeldir"]), "epoch": int(meta["step"]),
                      "recorded test accuracy": recorded, "measured again": measured,
                      "difference (test images)": np.nan if data is None else (measured - recorded) * len(data.y_test)})
    return pd.DataFrame(table).set_index("net"), said


def remeasure_verdict(table: pd.DataFrame, zoo_label: str) -> str:
    """A sentence on a `remeasure` table: do the rebuilt nets reproduce their recorded test accuracy within
    one test image? 'cannot tell' when this machine has no test set to measure on."""
    differences = table["difference (test images)"]
    reproduced = ("cannot tell (no test set on this machine)" if differences.isna().any()
                  else "holds" if (differences.abs() <= 1).all() else "does not hold")
    recorded = table["recorded test accuracy"]
    return (f"{zoo_label}: the most accurate net recorded {recorded.iloc[0]:.3f}, the least {recorded.iloc[1]:.3f}; "
            f"rebuilt from their rows, both reproduce their recorded test accuracy within one test image: {reproduced}.")

