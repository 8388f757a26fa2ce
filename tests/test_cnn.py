import numpy as np
import pytest

from zoolib.cnn import (
    PAPER_ARCHITECTURE,
    Architecture,
    build_model,
    get_flat_parameters,
    num_parameters,
    parameter_layout,
    set_flat_parameters,
)

PAPER_OFFSETS = [
    ("sequential/conv2d/bias:0", 0, 16, "(16,)"),
    ("sequential/conv2d/kernel:0", 16, 160, "(3, 3, 1, 16)"),
    ("sequential/conv2d_1/bias:0", 160, 176, "(16,)"),
    ("sequential/conv2d_1/kernel:0", 176, 2480, "(3, 3, 16, 16)"),
    ("sequential/conv2d_2/bias:0", 2480, 2496, "(16,)"),
    ("sequential/conv2d_2/kernel:0", 2496, 4800, "(3, 3, 16, 16)"),
    ("sequential/dense/bias:0", 4800, 4810, "(10,)"),
    ("sequential/dense/kernel:0", 4810, 4970, "(16, 10)"),
]


def test_paper_net_has_4970_parameters_on_both_input_sizes():
    assert num_parameters() == 4970
    assert build_model(seed=0).count_params() == 4970
    assert build_model(Architecture(input_size=32), seed=0).count_params() == 4970


def test_paper_layout_has_the_released_offsets():
    layout = parameter_layout(PAPER_ARCHITECTURE)
    assert [tuple(r) for r in layout[["varname", "start_idx", "end_idx", "shape"]].itertuples(index=False)] == PAPER_OFFSETS


def test_paper_net_spatial_sizes():
    assert PAPER_ARCHITECTURE.spatial_sizes() == [13, 6, 2]
    assert Architecture(input_size=32).spatial_sizes() == [15, 7, 3]


@pytest.mark.parametrize(
    "arch",
    [
        PAPER_ARCHITECTURE,
        Architecture(kind="mlp", num_layers=2, num_units=8),
        Architecture(kind="cnn_bn"),
        Architecture(num_layers=5, padding="same"),
        Architecture(num_units=32, input_size=32),
    ],
)
def test_flatten_then_load_gives_identical_outputs(arch):
    images = np.random.default_rng(0).uniform(-1, 1, size=(8, *arch.input_shape)).astype(np.float32)
    source = build_model(arch, activation="tanh", w_init="glorot_normal", seed=1)
    if arch.kind == "cnn_bn":  # non-trivial moving statistics so that they must travel too
        for var in source.get_layer("batch_normalization").weights:
            var.assign(np.random.default_rng(2).uniform(0.5, 1.5, size=var.shape))
    vector = get_flat_parameters(source)
    assert vector.dtype == np.float32 and vector.shape == (num_parameters(arch),)
    target = build_model(arch, activation="tanh", w_init="orthogonal", seed=99)
    assert not np.allclose(get_flat_parameters(target), vector)
    set_flat_parameters(target, vector)
    np.testing.assert_array_equal(get_flat_parameters(target), vector)
    np.testing.assert_allclose(target(images, training=False), source(images, training=False), rtol=0, atol=0)


def test_kernel_columns_are_tf_shape_in_c_order():
    model = build_model(seed=3)
    vector = get_flat_parameters(model)
    kernel = model.get_layer("conv2d_1").kernel.numpy()
    np.testing.assert_array_equal(vector[176:2480].reshape(3, 3, 16, 16), kernel)


@pytest.mark.parametrize("w_init", ["he_normal", "orthogonal", "glorot_normal", "RandomNormal", "TruncatedNormal"])
def test_initializers_by_name_are_seeded(w_init):
    a = get_flat_parameters(build_model(w_init=w_init, init_std=0.1, seed=5))
    b = get_flat_parameters(build_model(w_init=w_init, init_std=0.1, seed=5))
    np.testing.assert_array_equal(a, b)
    assert np.all(a[:16] == 0)  # zeros bias init
    if w_init == "TruncatedNormal":
        assert np.abs(a[16:160]).max() <= 0.2 + 1e-6


def test_l2_applies_to_kernels_only():
    model = build_model(l2reg=0.01, seed=0)
    kernels = sum(float(np.sum(layer.kernel.numpy() ** 2)) for layer in model.layers if hasattr(layer, "kernel"))
    assert len(model.losses) == 4
    np.testing.assert_allclose(float(sum(model.losses)), 0.01 * kernels, rtol=1e-5)


def test_architecture_round_trips_through_text():
    arch = Architecture(kind="cnn_bn", num_layers=4, padding="same", input_size=32)
    assert Architecture.from_string(arch.to_string()) == arch
    assert Architecture.from_string("cnn") == PAPER_ARCHITECTURE


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kind="resnet"), "kind must be one of"),
        (dict(num_layers=4), "shrink a 28x28 input to nothing"),
        (dict(padding="full"), "padding must be"),
    ],
)
def test_bad_architectures_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Architecture(**kwargs)


def test_bad_vector_length_is_rejected():
    with pytest.raises(ValueError, match=r"expects \(4970,\)"):
        set_flat_parameters(build_model(seed=0), np.zeros(4969, np.float32))
