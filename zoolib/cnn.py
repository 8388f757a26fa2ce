"""The paper's small CNN (and its variants) and the flat parameter layout of the Small CNN Zoo.

The architecture is a plain value (`Architecture`); `build_model` turns it into a Keras 3 model, and
`parameter_layout` turns it into the layout table that the zoo's layout.csv holds. A network's
parameters travel as one float32 vector in the released order: per layer the bias first, then the
kernel (TF variable names sorted alphabetically within a layer), kernels in TF shape, C order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

KINDS = ("cnn", "cnn_bn", "mlp")
INITIALIZERS = ("he_normal", "orthogonal", "glorot_normal", "RandomNormal", "TruncatedNormal")
ACTIVATIONS = ("relu", "tanh")
MODEL_NAME = "sequential"


def _conv_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1


@dataclass(frozen=True)
class Architecture:
    """Shape of a network: the paper's is `Architecture()` on 28x28 or `Architecture(input_size=32)`."""

    kind: str = "cnn"
    num_layers: int = 3
    num_units: int = 16
    stride: int = 2
    kernel_size: int = 3
    padding: str = "valid"
    input_size: int = 28
    channels: int = 1
    num_classes: int = 10

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"architecture kind must be one of {KINDS}, got {self.kind!r}")
        if self.padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {self.padding!r}")
        if min(self.num_layers, self.num_units, self.stride, self.kernel_size, self.input_size) < 1:
            raise ValueError(f"architecture sizes must be positive: {self}")
        if min(self.spatial_sizes(), default=1) < 1:
            raise ValueError(
                f"{self.num_layers} conv layers of kernel {self.kernel_size}, stride {self.stride}, "
                f"padding {self.padding!r} shrink a {self.input_size}x{self.input_size} input to "
                "nothing; use padding='same' or fewer layers"
            )

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.input_size, self.input_size, self.channels)

    def spatial_sizes(self) -> list[int]:
        """Feature-map side after each conv layer, e.g. [13, 6, 2] for the paper's net on 28x28."""
        sizes, size = [], self.input_size
        for _ in range(self.num_layers if self.kind != "mlp" else 0):
            size = _conv_output_size(size, self.kernel_size, self.stride, self.padding)
            sizes.append(size)
        return sizes

    def to_string(self) -> str:
        """Compact text form, e.g. 'cnn:num_layers=3,num_units=16,...'; inverse of `from_string`."""
        fields = ",".join(f"{f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self)[1:])
        return f"{self.kind}:{fields}"

    @classmethod
    def from_string(cls, text: str) -> "Architecture":
        """Parse 'kind' or 'kind:field=value,...' (fields not given keep their defaults)."""
        kind, _, rest = text.partition(":")
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        values: dict[str, object] = {"kind": kind.strip()}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            name, eq, value = item.partition("=")
            if not eq or name not in types or name == "kind":
                raise ValueError(
                    f"bad architecture field {item!r} in {text!r}; expected name=value with name in "
                    f"{sorted(n for n in types if n != 'kind')}"
                )
            values[name] = value if types[name] == "str" else int(value)
        return cls(**values)


PAPER_ARCHITECTURE = Architecture()


def layer_names(arch: Architecture) -> list[tuple[str, str]]:
    """(layer name, layer type) of every layer holding parameters, in model order: for the paper's
    net [('conv2d', 'conv2d'), ('conv2d_1', 'conv2d'), ('conv2d_2', 'conv2d'), ('dense', 'dense')];
    a cnn_bn net has a ('batch_normalization[_i]', 'batch_normalization') after each conv."""
    hidden = "dense" if arch.kind == "mlp" else "conv2d"
    names = []
    for i in range(arch.num_layers):
        suffix = f"_{i}" if i else ""
        names.append((f"{hidden}{suffix}", hidden))
        if arch.kind == "cnn_bn":
            names.append((f"batch_normalization{suffix}", "batch_normalization"))
    head_index = arch.num_layers if arch.kind == "mlp" else 0
    names.append((f"dense_{head_index}" if head_index else "dense", "dense"))
    return names


def parse_shape(text: str) -> tuple[int, ...]:
    """'(3, 3, 1, 16)' -> (3, 3, 1, 16); '(16,)' -> (16,); ValueError unless positive integers."""
    inner = str(text).strip().strip("()[] ")
    try:
        shape = tuple(int(p) for p in inner.split(",") if p.strip())
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise ValueError(f"shape {text!r} is not a tuple of positive integers such as (3, 3, 1, 16)")
    return shape


def _variable_shapes(arch: Architecture) -> list[tuple[str, str, tuple[int, ...]]]:
    """(layer name, variable name, shape) in the released flat order."""
    out = []
    fan_in = arch.input_size * arch.input_size * arch.channels if arch.kind == "mlp" else arch.channels
    names = layer_names(arch)
    head = names[-1][0]
    for layer, layer_type in names:
        if layer_type == "conv2d":
            k = arch.kernel_size
            shapes = {"bias": (arch.num_units,), "kernel": (k, k, fan_in, arch.num_units)}
            fan_in = arch.num_units
        elif layer_type == "batch_normalization":
            shapes = {v: (arch.num_units,) for v in ("beta", "gamma", "moving_mean", "moving_variance")}
        else:
            units = arch.num_classes if layer == head else arch.num_units
            shapes = {"bias": (units,), "kernel": (fan_in, units)}
            fan_in = units
        out.extend((layer, name, shapes[name]) for name in sorted(shapes))
    return out


def parameter_layout(arch: Architecture = PAPER_ARCHITECTURE) -> pd.DataFrame:
    """The layout table (varname, start_idx, end_idx, shape) as in the released layout.csv."""
    rows, start = [], 0
    for layer, name, shape in _variable_shapes(arch):
        size = int(np.prod(shape))
        rows.append(
            {
                "varname": f"{MODEL_NAME}/{layer}/{name}:0",
                "start_idx": start,
                "end_idx": start + size,
                "shape": str(tuple(shape)),
            }
        )
        start += size
    return pd.DataFrame(rows, columns=["varname", "start_idx", "end_idx", "shape"])


def num_parameters(arch: Architecture = PAPER_ARCHITECTURE) -> int:
    """Length of the flat parameter vector (4970 for the paper's net)."""
    return int(parameter_layout(arch)["end_idx"].iloc[-1])


def _initializer(name: str, init_std: float, seed: int | None):
    import keras

    if name == "RandomNormal":
        return keras.initializers.RandomNormal(stddev=init_std, seed=seed)
    if name == "TruncatedNormal":
        return keras.initializers.TruncatedNormal(stddev=init_std, seed=seed)
    if name == "zeros":
        return keras.initializers.Zeros()
    if name in ("he_normal", "orthogonal", "glorot_normal"):
        return keras.initializers.get({"class_name": name, "config": {"seed": seed}})
    raise ValueError(f"unknown initializer {name!r}; expected one of {INITIALIZERS + ('zeros',)}")


def build_model(
    arch: Architecture = PAPER_ARCHITECTURE,
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    w_init: str = "he_normal",
    b_init: str = "zeros",
    init_std: float = 0.05,
    l2reg: float = 0.0,
    seed: int | None = None,
):
    """The Keras 3 model of `arch`: conv (or dense) layers with activation and dropout, then logits.

    Layer names are fixed ('conv2d', 'conv2d_1', ..., 'dense') so that variable names match the
    released layout whatever else the Keras session has built.
    """
    import keras
    from keras import layers

    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {dropout}")

    def kernel_init(i: int):
        return _initializer(w_init, init_std, None if seed is None else seed * 1000 + i)

    def regularizer():
        return keras.regularizers.L2(l2reg) if l2reg > 0 else None

    model = keras.Sequential(name=MODEL_NAME)
    model.add(keras.Input(shape=arch.input_shape))
    names = iter(layer_names(arch))
    if arch.kind == "mlp":
        model.add(layers.Flatten(name="flatten"))
    for i in range(arch.num_layers):
        name, _ = next(names)
        common = dict(
            kernel_initializer=kernel_init(i),
            bias_initializer=_initializer(b_init, init_std, None),
            kernel_regularizer=regularizer(),
            name=name,
        )
        if arch.kind == "mlp":
            model.add(layers.Dense(arch.num_units, activation=activation, **common))
        elif arch.kind == "cnn":
            model.add(
                layers.Conv2D(
                    arch.num_units, arch.kernel_size, strides=arch.stride, padding=arch.padding,
                    activation=activation, **common,
                )
            )
        else:
            model.add(
                layers.Conv2D(
                    arch.num_units, arch.kernel_size, strides=arch.stride, padding=arch.padding, **common
                )
            )
            model.add(layers.BatchNormalization(name=next(names)[0]))
            model.add(layers.Activation(activation, name=f"activation_{i}"))
        if dropout > 0:
            model.add(layers.Dropout(dropout, name=f"dropout_{i}"))
    if arch.kind != "mlp":
        model.add(layers.GlobalAveragePooling2D(name="global_average_pooling2d"))
    head, _ = next(names)
    model.add(
        layers.Dense(
            arch.num_classes,
            kernel_initializer=kernel_init(arch.num_layers),
            bias_initializer=_initializer(b_init, init_std, None),
            kernel_regularizer=regularizer(),
            name=head,
        )
    )
    model.zoolib_architecture = arch
    return model


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF's 'same' padding of one side: (before, after), the odd pixel after."""
    total = max((_conv_output_size(size, kernel, stride, "same") - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def torch_modules(
    arch: Architecture = PAPER_ARCHITECTURE, *, activation: str = "relu", dropout: float = 0.0
) -> list[tuple[str, list, dict, str | None]]:
    """The PyTorch `nn.Sequential` equivalent of `build_model(arch, activation=..., dropout=...)`, as data:
    one (torch.nn class name, args, kwargs, name of the Keras layer whose parameters it holds or None)
    per module, e.g. ('Conv2d', [1, 16, 3], {'stride': 2}, 'conv2d').

    Conv nets take NCHW images (the zoo's have one channel, so an mlp flattens NCHW and NHWC alike). TF's
    'same' padding, one pixel more after than before when odd, is a ZeroPad2d before the conv; Keras'
    BatchNormalization (epsilon 1e-3, momentum 0.99) is BatchNorm2d(eps=1e-3, momentum=0.01).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    act = {"relu": "ReLU", "tanh": "Tanh"}[activation]
    names = iter(layer_names(arch))
    mlp = arch.kind == "mlp"
    modules: list[tuple[str, list, dict, str | None]] = [("Flatten", [], {}, None)] if mlp else []
    fan_in = arch.input_size * arch.input_size * arch.channels if mlp else arch.channels
    size = arch.input_size
    for _ in range(arch.num_layers):
        name, _ = next(names)
        if mlp:
            modules.append(("Linear", [fan_in, arch.num_units], {}, name))
        else:
            before, after = _same_padding(size, arch.kernel_size, arch.stride) if arch.padding == "same" else (0, 0)
            if before or after:
                modules.append(("ZeroPad2d", [[before, after, before, after]], {}, None))  # (left, right, top, bottom)
            modules.append(("Conv2d", [fan_in, arch.num_units, arch.kernel_size], {"stride": arch.stride}, name))
            size = _conv_output_size(size, arch.kernel_size, arch.stride, arch.padding)
            if arch.kind == "cnn_bn":
                modules.append(("BatchNorm2d", [arch.num_units], {"eps": 1e-3, "momentum": 0.01}, next(names)[0]))
        modules.append((act, [], {}, None))
        if dropout > 0:
            modules.append(("Dropout", [dropout], {}, None))
        fan_in = arch.num_units
    if not mlp:
        modules += [("AdaptiveAvgPool2d", [1], {}, None), ("Flatten", [], {}, None)]  # (B, units)
    modules.append(("Linear", [fan_in, arch.num_classes], {}, next(names)[0]))
    return modules


def _model_variables(model) -> dict[str, object]:
    """Model variables keyed by their released-style name, e.g. 'sequential/conv2d/kernel:0'."""
    return {
        f"{MODEL_NAME}/{layer.name}/{var.name}:0": var for layer in model.layers for var in layer.weights
    }


def _check_layout_fits(model, layout: pd.DataFrame) -> dict[str, object]:
    variables = _model_variables(model)
    missing = sorted(set(layout["varname"]) - set(variables))
    extra = sorted(set(variables) - set(layout["varname"]))
    if missing or extra:
        raise ValueError(f"layout and model disagree: layout-only {missing}, model-only {extra}")
    return variables


def get_flat_parameters(model, layout: pd.DataFrame | None = None) -> np.ndarray:
    """The model's parameters as one float32 vector in layout order."""
    layout = parameter_layout(_architecture_of(model)) if layout is None else layout
    variables = _check_layout_fits(model, layout)
    parts = [np.asarray(variables[name].numpy(), np.float32).reshape(-1) for name in layout["varname"]]
    return np.concatenate(parts)


def set_flat_parameters(model, vector: np.ndarray, layout: pd.DataFrame | None = None) -> None:
    """Load a flat parameter vector (layout order) into the model's variables."""
    layout = parameter_layout(_architecture_of(model)) if layout is None else layout
    variables = _check_layout_fits(model, layout)
    vector = np.asarray(vector, np.float32)
    expected = int(layout["end_idx"].max())
    if vector.shape != (expected,):
        raise ValueError(f"parameter vector has shape {vector.shape}, the layout expects ({expected},)")
    for row in layout.itertuples():
        var = variables[row.varname]
        var.assign(vector[row.start_idx : row.end_idx].reshape(tuple(var.shape)))


def _architecture_of(model) -> Architecture:
    arch = getattr(model, "zoolib_architecture", None)
    if arch is None:
        raise ValueError("pass the layout explicitly for a model not built by zoolib.cnn.build_model")
    return arch
