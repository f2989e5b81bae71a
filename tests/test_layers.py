"""Tests of the building blocks in ``cnnzoo.layers``."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import cnnzoo
from cnnzoo.layers import (
    ConnectionTableConv,
    LocalResponseNormalization,
    SpatialSizeError,
    classifier_head,
    conv_norm_act,
    model_input,
    pool,
    resolve_activation,
    resolve_augmentation,
    resolve_regularizer,
    scaled_tanh,
)
from cnnzoo.layers.arithmetic import (
    as_tuple,
    check_output_size,
    describe,
    explicit_padding,
    output_size,
)

RNG = np.random.default_rng(0)


def random(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype("float32")


def layer_names(outputs, inputs):
    return [layer.name for layer in keras.Model(inputs, outputs).layers]


def layer_classes(outputs, inputs):
    return [type(layer).__name__ for layer in keras.Model(inputs, outputs).layers]


# --------------------------------------------------------------------------------------
# arithmetic
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((227, 11, 4, "valid"), 55),  # AlexNet conv1
        ((55, 3, 2, "valid"), 27),  # overlapping pooling
        ((32, 5, 1, "valid"), 28),  # LeNet C1
        ((4, 5, 1, "valid"), 0),  # LeNet C5 on a 28x28 input
        ((7, 3, 2, "same"), 4),  # ceil(7 / 2)
        ((8, 3, 2, "same"), 4),
        ((1, 3, 1, "same"), 1),
        ((27, 5, 1, (2, 2)), 27),  # explicit 2-pixel padding keeps the size
        ((28, 5, 1, (2, 2)), 28),
        ((5, 3, 2, (0, 1)), 2),  # asymmetric: floor((5 + 1 - 3) / 2) + 1
        ((10, 3, 1, "valid", 2), 6),  # dilation 2: effective kernel 5
        ((10, 3, 1, (2, 2), 2), 10),
        ((9, 3, 2, "valid", 3), 2),  # effective kernel 7: floor(2 / 2) + 1
    ],
)
def test_output_size_matches_hand_computed_values(args, expected):
    assert output_size(*args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((2, 3, 2, "valid"), "floor((2 + 2*0 - 3) / 2) + 1 = 0"),
        ((7, 3, 2, "same"), "ceil(7 / 2) = 4"),
        ((27, 5, 1, (2, 2)), "floor((27 + 2*2 - 5) / 1) + 1 = 27"),
        ((5, 3, 2, (0, 1)), "floor((5 + 0+1 - 3) / 2) + 1 = 2"),
        ((10, 3, 1, "valid", 2), "floor((10 + 2*0 - (2*(3-1)+1)) / 1) + 1 = 6"),
    ],
)
def test_describe_writes_out_the_arithmetic(args, expected):
    assert describe(*args) == expected


def test_as_tuple_and_explicit_padding():
    assert as_tuple(3, 3, "kernel_size") == (3, 3, 3)
    assert as_tuple((1, 2), 2, "strides") == (1, 2)
    assert explicit_padding(1, 2) == ((1, 1), (1, 1))
    assert explicit_padding((1, (0, 2)), 2) == ((1, 1), (0, 2))
    with pytest.raises(ValueError, match=r"kernel_size=\(3, 3\)"):
        as_tuple((3, 3), 3, "kernel_size")
    with pytest.raises(ValueError, match=r"strides=0"):
        as_tuple(0, 2, "strides")
    with pytest.raises(ValueError, match=r"padding=\(1, -1\)"):
        explicit_padding((1, -1), 2)


def test_check_output_size_returns_the_spatial_shape():
    shape = check_output_size(
        (6, 7), layer="p", kind="max pooling", kernel=(3, 3), strides=(2, 2), padding="valid"
    )
    assert shape == (2, 3)


def test_check_output_size_passes_none_sizes():
    shape = check_output_size(
        (None, 9), layer="c", kind="2-D convolution", kernel=(3, 3), strides=(1, 1), padding="same"
    )
    assert shape == (None, 9)


def test_check_output_size_raises_naming_the_layer_and_arithmetic():
    with pytest.raises(SpatialSizeError) as info:
        check_output_size(
            (4, 4),
            layer="c5_conv",
            kind="2-D convolution",
            kernel=(5, 5),
            strides=(1, 1),
            padding="valid",
        )
    message = str(info.value)
    assert "'c5_conv'" in message
    assert "floor((4 + 2*0 - 5) / 1) + 1 = 0" in message
    assert "height 4" in message
    assert issubclass(SpatialSizeError, ValueError)
    assert isinstance(info.value, ValueError)


def test_check_output_size_names_the_collapsing_axis():
    with pytest.raises(SpatialSizeError, match=r"width 2 .*floor\(\(2 \+ 2\*0 - 3\) / 1\)"):
        check_output_size(
            (8, 2),
            layer="x",
            kind="2-D convolution",
            kernel=(3, 3),
            strides=(1, 1),
            padding="valid",
        )


# --------------------------------------------------------------------------------------
# conv_norm_act and pool
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "conv_class"),
    [((16, 3), "Conv1D"), ((16, 16, 3), "Conv2D"), ((8, 8, 8, 3), "Conv3D")],
)
def test_conv_norm_act_follows_the_input_rank(shape, conv_class):
    inputs = keras.Input(shape)
    y = conv_norm_act(inputs, 4, 3, name="b")
    assert conv_class in layer_classes(y, inputs)
    assert tuple(y.shape) == (None, *shape[:-1], 4)


@pytest.mark.parametrize(
    ("padding", "strides", "dilation", "expected"),
    [
        ("same", 1, 1, (15, 16)),
        ("valid", 1, 1, (13, 14)),
        ("same", 2, 1, (8, 8)),
        ("valid", 2, 1, (7, 7)),
        ("valid", 1, 2, (11, 12)),
        (1, 1, 1, (15, 16)),  # explicit: one int everywhere
        ((2, 0), 1, 1, (17, 14)),  # one int per axis
        (((0, 1), (2, 3)), 1, 1, (14, 19)),  # (before, after) per axis
        (((0, 1), (2, 3)), 2, 1, (7, 10)),
    ],
)
def test_conv_norm_act_output_shapes(padding, strides, dilation, expected):
    inputs = keras.Input((15, 16, 2))
    y = conv_norm_act(inputs, 5, 3, strides=strides, padding=padding, dilation=dilation, name="blk")
    assert tuple(y.shape) == (None, *expected, 5)
    has_pad = "blk_pad" in layer_names(y, inputs)
    assert has_pad == (padding not in ("same", "valid"))


@pytest.mark.parametrize(
    ("shape", "pad_class"),
    [((10, 2), "ZeroPadding1D"), ((10, 10, 2), "ZeroPadding2D"), ((6, 6, 6, 2), "ZeroPadding3D")],
)
def test_explicit_padding_in_every_rank(shape, pad_class):
    inputs = keras.Input(shape)
    y = conv_norm_act(inputs, 3, 5, padding=2, name="p")
    assert tuple(y.shape) == (None, *shape[:-1], 3)
    model = keras.Model(inputs, y)
    assert type(model.get_layer("p_pad")).__name__ == pad_class


def test_conv_norm_act_values_match_explicit_zero_padding():
    x = random(1, 6, 6, 2)
    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, conv_norm_act(inputs, 3, 3, padding=1, activation=None, name="c"))
    conv = model.get_layer("c_conv")
    expected = tf.nn.conv2d(np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), conv.kernel, 1, "VALID")
    np.testing.assert_allclose(model(x), expected + conv.bias, rtol=1e-5, atol=1e-5)


def test_layer_names_and_defaults_without_norm():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, conv_norm_act(inputs, 4, 3, name="s1"))
    names = [layer.name for layer in model.layers]
    assert names[1:] == ["s1_conv", "s1_act"]
    assert model.get_layer("s1_conv").use_bias
    assert model.get_layer("s1_act").get_config()["activation"] == "relu"


def test_batch_norm_adds_bn_layer_and_drops_the_bias():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, conv_norm_act(inputs, 4, 3, norm="batch", name="s1"))
    assert isinstance(model.get_layer("s1_bn"), keras.layers.BatchNormalization)
    conv = model.get_layer("s1_conv")
    assert not conv.use_bias
    assert conv.count_params() == 3 * 3 * 3 * 4


def test_batch_norm_with_use_bias_true_keeps_the_bias():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, conv_norm_act(inputs, 4, 3, norm="batch", use_bias=True, name="s1"))
    conv = model.get_layer("s1_conv")
    assert conv.use_bias
    assert conv.count_params() == 3 * 3 * 3 * 4 + 4


def test_use_bias_false_without_norm():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, conv_norm_act(inputs, 4, 3, use_bias=False, name="s1"))
    assert model.get_layer("s1_conv").count_params() == 3 * 3 * 3 * 4


def test_activation_none_adds_no_activation_layer():
    inputs = keras.Input((8, 8, 3))
    names = layer_names(conv_norm_act(inputs, 4, 3, activation=None, name="s1"), inputs)
    assert "s1_conv" in names
    assert not any(name.endswith("_act") for name in names)


def test_bad_norm_raises():
    with pytest.raises(ValueError, match=r"norm=.layer."):
        conv_norm_act(keras.Input((8, 8, 3)), 4, 3, norm="layer", name="s1")


@pytest.mark.parametrize("filters", [0, -2, 2.0, True])
def test_bad_filters_raise(filters):
    with pytest.raises(ValueError, match=rf"filters={filters!r}"):
        conv_norm_act(keras.Input((8, 8, 3)), filters, 3, name="s1")


def test_bad_padding_string_raises():
    with pytest.raises(ValueError, match=r"padding='full'"):
        conv_norm_act(keras.Input((8, 8, 3)), 4, 3, padding="full", name="s1")


@pytest.mark.parametrize("shape", [(12, 4), (12, 12, 4), (6, 6, 6, 4)])
def test_groups_halve_the_kernel(shape):
    inputs = keras.Input(shape)
    one = keras.Model(inputs, conv_norm_act(inputs, 8, 3, groups=1, name="g1"))
    two = keras.Model(inputs, conv_norm_act(inputs, 8, 3, groups=2, name="g2"))
    full = one.get_layer("g1_conv").kernel.shape
    grouped = two.get_layer("g2_conv").kernel.shape
    assert np.prod(grouped) * 2 == np.prod(full)
    assert grouped[-2] == 2  # each filter reads half of the 4 input channels


@pytest.mark.parametrize(("in_channels", "filters", "groups"), [(3, 8, 2), (4, 6, 4), (4, 8, 0)])
def test_groups_that_do_not_divide_raise(in_channels, filters, groups):
    with pytest.raises(ValueError, match=rf"groups={groups}.*'blk_conv'"):
        conv_norm_act(keras.Input((8, 8, in_channels)), filters, 3, groups=groups, name="blk")


def test_spatial_collapse_names_the_conv_layer():
    with pytest.raises(
        SpatialSizeError, match=r"'tiny_conv'.*floor\(\(4 \+ 2\*0 - 5\) / 1\) \+ 1 = 0"
    ):
        conv_norm_act(keras.Input((4, 4, 3)), 8, 5, padding="valid", name="tiny")


def test_spatial_collapse_with_stride_and_dilation():
    with pytest.raises(SpatialSizeError, match=r"'d_conv'.*\(2\*\(3-1\)\+1\)"):
        conv_norm_act(keras.Input((4, 4, 3)), 8, 3, dilation=2, padding="valid", name="d")


def test_same_padding_keeps_a_one_pixel_input_without_stride():
    y = conv_norm_act(keras.Input((1, 1, 3)), 8, 5, name="s")
    assert tuple(y.shape) == (None, 1, 1, 8)


@pytest.mark.parametrize(
    ("padding", "expected"), [("same", (1, 2)), (2, (2, 3)), (((1, 1), (1, 1)), (1, 2))]
)
def test_padded_stride_on_an_axis_shorter_than_the_stride_raises(padding, expected):
    # Padding keeps one output position, but nothing is downsampled any more.
    with pytest.raises(SpatialSizeError, match=r"layer 's_conv'.*receives height 3 and cannot "):
        conv_norm_act(keras.Input((3, 8, 3)), 8, 3, strides=4, padding=padding, name="s")
    y = conv_norm_act(keras.Input((4, 8, 3)), 8, 3, strides=4, padding=padding, name="s")
    assert tuple(y.shape)[1:3] == expected


def test_pool_takes_explicit_padding_like_keras_applications_resnet():
    y = pool(keras.Input((112, 112, 64)), "max", 3, strides=2, padding=1, name="stem_pool")
    assert tuple(y.shape) == (None, 56, 56, 64)
    assert isinstance(y._keras_history.operation, keras.layers.MaxPooling2D)


@pytest.mark.parametrize(
    ("shape", "kind", "pool_class"),
    [
        ((16, 3), "max", "MaxPooling1D"),
        ((16, 3), "avg", "AveragePooling1D"),
        ((16, 16, 3), "max", "MaxPooling2D"),
        ((16, 16, 3), "avg", "AveragePooling2D"),
        ((8, 8, 8, 3), "max", "MaxPooling3D"),
        ((8, 8, 8, 3), "avg", "AveragePooling3D"),
    ],
)
def test_pool_follows_the_input_rank(shape, kind, pool_class):
    inputs = keras.Input(shape)
    y = pool(inputs, kind, 2, name="p")
    assert pool_class in layer_classes(y, inputs)
    assert tuple(y.shape) == (None, *(n // 2 for n in shape[:-1]), 3)


def test_overlapping_pool_3_2():
    y = pool(keras.Input((55, 55, 96)), "max", 3, strides=2, name="p")
    assert tuple(y.shape) == (None, 27, 27, 96)


def test_pool_values():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    inputs = keras.Input((4, 4, 1))
    max_model = keras.Model(inputs, pool(inputs, "max", 2, name="m"))
    avg_model = keras.Model(inputs, pool(inputs, "avg", 2, name="a"))
    np.testing.assert_allclose(max_model(x)[0, ..., 0], [[5, 7], [13, 15]])
    np.testing.assert_allclose(avg_model(x)[0, ..., 0], [[2.5, 4.5], [10.5, 12.5]])


def test_pool_same_padding():
    y = pool(keras.Input((7, 7, 2)), "max", 2, padding="same", name="p")
    assert tuple(y.shape) == (None, 4, 4, 2)


def test_bad_pool_kind_raises():
    with pytest.raises(ValueError, match=r"kind must be one of \('max', 'avg'\).*kind='min' \(p\)"):
        pool(keras.Input((8, 8, 3)), "min", 2, name="p")


def test_bad_pool_padding_raises():
    with pytest.raises(ValueError, match=r"'same', 'valid'.*'full'"):
        pool(keras.Input((8, 8, 3)), "max", 2, padding="full", name="p")


def test_pool_collapse_names_the_layer():
    with pytest.raises(SpatialSizeError, match=r"'stage3_pool'.*floor\(\(2 \+ 2\*0 - 3\) / 2\)"):
        pool(keras.Input((2, 2, 8)), "max", 3, strides=2, name="stage3_pool")


# --------------------------------------------------------------------------------------
# LocalResponseNormalization
# --------------------------------------------------------------------------------------


def lrn_numpy(a, size=5, bias=2.0, alpha=1e-4, beta=0.75):
    """The paper's formula, written out: sum over channels max(0, i-n/2)..min(N-1, i+n/2)."""
    channels = a.shape[-1]
    out = np.empty_like(a, dtype="float64")
    for i in range(channels):
        low, high = max(0, i - size // 2), min(channels - 1, i + size // 2)
        energy = np.sum(a[..., low : high + 1].astype("float64") ** 2, axis=-1)
        out[..., i] = a[..., i] / (bias + alpha * energy) ** beta
    return out


def test_lrn_matches_tensorflow():
    x = random(2, 5, 5, 16, scale=50.0)
    y = np.asarray(LocalResponseNormalization()(x))
    expected = tf.nn.local_response_normalization(
        x, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75
    )
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-4)
    assert not np.allclose(y, x)
    # The normalization depends on the neighbours, not just a constant rescaling.
    ratio = y / x
    assert ratio.std() > 0.05 * np.abs(ratio).mean()


@pytest.mark.parametrize("shape", [(2, 7, 9), (2, 3, 4, 4, 7), (3, 11)])
def test_lrn_on_1d_3d_and_flat_features(shape):
    x = random(*shape, scale=50.0)
    y = LocalResponseNormalization()(x)
    np.testing.assert_allclose(y, lrn_numpy(x), rtol=1e-4, atol=1e-4)


def test_lrn_uses_its_parameters():
    x = random(2, 4, 9, scale=10.0)
    layer = LocalResponseNormalization(size=3, alpha=1e-2, beta=0.5, bias=1.0)
    np.testing.assert_allclose(
        layer(x), lrn_numpy(x, size=3, bias=1.0, alpha=1e-2, beta=0.5), rtol=1e-4, atol=1e-4
    )


def test_lrn_config_round_trip():
    layer = LocalResponseNormalization(size=3, alpha=2e-4, beta=0.5, bias=1.5, name="lrn")
    clone = LocalResponseNormalization.from_config(layer.get_config())
    for key in ("size", "alpha", "beta", "bias", "name"):
        assert getattr(clone, key) == getattr(layer, key)
    x = random(1, 3, 3, 6, scale=20.0)
    np.testing.assert_allclose(clone(x), layer(x))


@pytest.mark.parametrize("size", [4, 0, -3, 2.0])
def test_lrn_bad_size_raises(size):
    with pytest.raises(ValueError, match=rf"size={size!r}"):
        LocalResponseNormalization(size=size)


def test_model_with_lrn_saves_and_reloads(tmp_path):
    inputs = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(8, 3, name="conv")(inputs)
    outputs = LocalResponseNormalization(size=3, name="lrn")(x)
    model = keras.Model(inputs, outputs)
    path = tmp_path / "lrn.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded.get_layer("lrn"), LocalResponseNormalization)
    assert reloaded.get_layer("lrn").size == 3
    x = random(2, 6, 6, 3, scale=30.0)
    np.testing.assert_array_equal(reloaded(x), model(x))


# --------------------------------------------------------------------------------------
# ConnectionTableConv
# --------------------------------------------------------------------------------------

TABLE = [[0], [0, 1], [1, 2], [0, 1, 2]]


def dense_kernel(layer, in_channels):
    """The full kernel equivalent to ``layer``: its connected kernels, in table order
    (output map by output map, inputs as listed), zeros elsewhere."""
    kernel = np.asarray(layer.kernel)
    dense = np.zeros((*layer.kernel_size, in_channels, layer.filters), "float32")
    position = 0
    for j, inputs in enumerate(layer.connection_table):
        for i in inputs:
            dense[..., i, j] = kernel[..., position]
            position += 1
    assert position == kernel.shape[-1]
    return dense


def test_connection_table_parameter_count():
    layer = ConnectionTableConv(4, (3, 3), connection_table=TABLE)
    layer.build((None, 8, 8, 3))
    connections = sum(len(inputs) for inputs in TABLE)
    assert layer.count_params() == 3 * 3 * connections + 4
    no_bias = ConnectionTableConv(4, (3, 3), connection_table=TABLE, use_bias=False)
    no_bias.build((None, 8, 8, 3))
    assert no_bias.count_params() == 3 * 3 * connections


def test_lenet_c3_has_the_papers_1516_parameters():
    model = cnnzoo.lenet5(variant="original")
    assert model.get_layer("c3_conv").count_params() == 1516


@pytest.mark.parametrize(
    ("shape", "kernel", "conv_class"),
    [((9, 3), (3,), keras.layers.Conv1D), ((7, 8, 3), (3, 2), keras.layers.Conv2D)],
)
def test_connection_table_equals_masked_dense_conv(shape, kernel, conv_class):
    x = random(2, *shape)
    layer = ConnectionTableConv(4, kernel, connection_table=TABLE, strides=1)
    layer.build((None, *shape))
    layer.bias.assign(random(4))
    y = layer(x)
    dense = conv_class(4, kernel, padding="valid")
    dense.build((None, *shape))
    dense.set_weights([dense_kernel(layer, 3), np.asarray(layer.bias)])
    assert y.shape == dense(x).shape
    np.testing.assert_allclose(y, dense(x), rtol=1e-5, atol=1e-5)


def test_connection_table_ignores_unconnected_inputs():
    x = random(1, 6, 6, 3)
    layer = ConnectionTableConv(4, (3, 3), connection_table=TABLE)
    before = np.asarray(layer(x))
    changed = x.copy()
    changed[..., 2] += 10.0  # input map 2 feeds only output maps 2 and 3
    after = np.asarray(layer(changed))
    np.testing.assert_allclose(after[..., :2], before[..., :2], rtol=1e-6, atol=1e-6)
    assert not np.allclose(after[..., 2:], before[..., 2:])


def test_connection_table_gradient_reaches_every_connected_kernel():
    x = tf.constant(random(2, 6, 6, 3))
    layer = ConnectionTableConv(4, (3, 3), connection_table=TABLE)
    layer(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(x)))
    grad = tape.gradient(loss, layer.kernel.value)
    assert grad is not None
    assert grad.shape == layer.kernel.shape
    assert np.all(np.abs(np.asarray(grad)).sum(axis=(0, 1)) > 0)


def test_connection_table_trains_one_step():
    inputs = keras.Input((6, 6, 3))
    outputs = keras.layers.Flatten()(
        ConnectionTableConv(4, (3, 3), connection_table=TABLE, name="ct")(inputs)
    )
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = np.asarray(model.get_layer("ct").kernel).copy()
    model.train_on_batch(random(4, 6, 6, 3), np.zeros((4, 64), "float32"))
    assert not np.allclose(np.asarray(model.get_layer("ct").kernel), before)


@pytest.mark.parametrize(
    ("filters", "table", "match"),
    [
        (3, TABLE, r"3 filters; received 4 entries"),
        (4, [[0], [1], [], [2]], r"non-empty"),
    ],
)
def test_connection_table_wrong_length_or_empty_raises(filters, table, match):
    with pytest.raises(ValueError, match=match):
        ConnectionTableConv(filters, (3, 3), connection_table=table)


@pytest.mark.parametrize("table", [[[0], [3]], [[0], [-1]], [[0, 0], [1]]])
def test_connection_table_bad_indices_raise(table):
    layer = ConnectionTableConv(2, (3, 3), connection_table=table)
    with pytest.raises(ValueError, match=r"distinct and in \[0, 3\)"):
        layer(random(1, 5, 5, 3))


def test_connection_table_config_round_trip():
    layer = ConnectionTableConv(
        4, (3, 3), connection_table=TABLE, strides=2, padding="same", use_bias=False, name="ct"
    )
    config = layer.get_config()
    clone = ConnectionTableConv.from_config(config)
    assert clone.get_config() == config
    assert clone.connection_table == TABLE
    x = random(1, 7, 7, 3)
    y = layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    assert tuple(y.shape) == (1, 4, 4, 4)
    np.testing.assert_allclose(clone(x), y)


def test_model_with_connection_table_saves_and_reloads(tmp_path):
    inputs = keras.Input((8, 8, 3))
    outputs = ConnectionTableConv(4, (3, 3), connection_table=TABLE, name="ct")(inputs)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "ct.keras")
    reloaded = keras.saving.load_model(tmp_path / "ct.keras")
    x = random(2, 8, 8, 3)
    np.testing.assert_array_equal(reloaded(x), model(x))


def test_connection_table_through_conv_norm_act_in_1d():
    inputs = keras.Input((10, 3))
    y = conv_norm_act(inputs, 4, 3, padding="valid", connection_table=TABLE, name="c")
    model = keras.Model(inputs, y)
    assert isinstance(model.get_layer("c_conv"), ConnectionTableConv)
    assert tuple(y.shape) == (None, 8, 4)
    assert model(random(2, 10, 3)).shape == (2, 8, 4)


# --------------------------------------------------------------------------------------
# activations
# --------------------------------------------------------------------------------------


def test_scaled_tanh_values():
    values = np.asarray(scaled_tanh(np.array([-1.0, 0.0, 1.0, 100.0], "float32")))
    np.testing.assert_allclose(values[:3], [-1.0, 0.0, 1.0], atol=1e-3)
    np.testing.assert_allclose(values[3], 1.7159, atol=1e-4)  # the asymptote


def test_resolve_activation():
    assert resolve_activation("relu") == "relu"
    assert resolve_activation("scaled_tanh") is scaled_tanh
    assert resolve_activation(tf.nn.relu6) is tf.nn.relu6


def test_resolve_activation_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"activation='not_an_activation'") as info:
        resolve_activation("not_an_activation")
    assert "relu" in str(info.value)  # says what is allowed


def test_resolve_activation_names_the_argument():
    with pytest.raises(ValueError, match=r"classifier_activation='nope'"):
        resolve_activation("nope", "classifier_activation")


# --------------------------------------------------------------------------------------
# resolve_regularizer
# --------------------------------------------------------------------------------------


def test_regularizer_none_and_instance_pass_through():
    assert resolve_regularizer(None) is None
    regularizer = keras.regularizers.L2(0.3)
    assert resolve_regularizer(regularizer) is regularizer


@pytest.mark.parametrize(
    ("value", "cls", "config"),
    [
        ("l1", keras.regularizers.L1, {"l1": 1e-4}),
        ("l2", keras.regularizers.L2, {"l2": 1e-4}),
        ("l1_l2", keras.regularizers.L1L2, {"l1": 1e-4, "l2": 1e-4}),
        (("l2", 5e-4), keras.regularizers.L2, {"l2": 5e-4}),
        (["l1", 0.0], keras.regularizers.L1, {"l1": 0.0}),
        (("l1_l2", 1e-5, 1e-4), keras.regularizers.L1L2, {"l1": 1e-5, "l2": 1e-4}),
    ],
)
def test_regularizer_accepted_forms(value, cls, config):
    regularizer = resolve_regularizer(value)
    assert type(regularizer) is cls
    assert regularizer.get_config() == pytest.approx(config)


@pytest.mark.parametrize(
    "value",
    [
        "l3",
        ("l2", -1),
        ("l2", "big"),
        ("l2", True),
        ("l2", 1e-4, 1e-4),
        ("l1_l2", 1e-4),
        5,
    ],
)
def test_regularizer_rejected_forms(value):
    with pytest.raises(ValueError) as info:
        resolve_regularizer(value)
    message = str(info.value)
    assert f"kernel_regularizer={value!r}" in message
    assert "'l1', 'l2', 'l1_l2'" in message


def test_regularizer_rejects_a_tuple_without_factor():
    with pytest.raises(ValueError, match=r"kernel_regularizer=\('l2',\)"):
        resolve_regularizer(("l2",))


def test_regularizer_rejects_an_empty_tuple_with_a_message():
    with pytest.raises(ValueError, match=r"kernel_regularizer=\(\)"):
        resolve_regularizer(())


# --------------------------------------------------------------------------------------
# classifier_head
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "pooling", "expected", "layer"),
    [
        ((4, 4, 8), None, (None, 4, 4, 8), None),
        ((4, 4, 8), "avg", (None, 8), "head_avg_pool"),
        ((4, 4, 8), "max", (None, 8), "head_max_pool"),
        ((4, 4, 8), "flatten", (None, 128), "head_flatten"),
        ((6, 8), "avg", (None, 8), "head_avg_pool"),
        ((2, 3, 4, 8), "max", (None, 8), "head_max_pool"),
        ((2, 3, 4, 8), "flatten", (None, 192), "head_flatten"),
    ],
)
def test_head_pooling_without_top(shape, pooling, expected, layer):
    inputs = keras.Input(shape)
    y = classifier_head(inputs, include_top=False, num_classes=10, pooling=pooling)
    assert tuple(y.shape) == expected
    names = layer_names(y, inputs)
    assert "predictions" not in names
    if layer is not None:
        assert layer in names


def test_head_pooling_values():
    x = random(2, 3, 3, 4)
    inputs = keras.Input((3, 3, 4))
    avg = keras.Model(
        inputs, classifier_head(inputs, include_top=False, num_classes=1, pooling="avg")
    )
    big = keras.Model(
        inputs, classifier_head(inputs, include_top=False, num_classes=1, pooling="max")
    )
    np.testing.assert_allclose(avg(x), x.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(big(x), x.max(axis=(1, 2)))


def test_head_with_hidden_layers_and_dropout():
    inputs = keras.Input((4, 4, 8))
    y = classifier_head(
        inputs,
        include_top=True,
        num_classes=7,
        pooling="flatten",
        hidden_units=(16, 12),
        dropout=0.5,
        classifier_activation=None,
    )
    model = keras.Model(inputs, y)
    assert model.output_shape == (None, 7)
    assert model.get_layer("head_fc1").units == 16
    assert model.get_layer("head_fc2").units == 12
    assert model.get_layer("head_fc1_dropout").rate == 0.5
    assert model.get_layer("head_fc2_dropout").rate == 0.5
    assert "head_dropout" not in [layer.name for layer in model.layers]
    assert model.get_layer("predictions").get_config()["activation"] == "linear"


def test_head_without_dropout_has_no_dropout_layers():
    inputs = keras.Input((4, 4, 8))
    y = classifier_head(
        inputs, include_top=True, num_classes=3, pooling="avg", hidden_units=(16,), dropout=0.0
    )
    names = layer_names(y, inputs)
    assert "head_fc1" in names
    assert not any("dropout" in name for name in names)


def test_head_dropout_only_without_hidden_layers():
    inputs = keras.Input((4, 4, 8))
    y = classifier_head(inputs, include_top=True, num_classes=3, pooling="avg", dropout=0.3)
    model = keras.Model(inputs, y)
    assert model.get_layer("head_dropout").rate == 0.3
    assert model.get_layer("predictions").get_config()["activation"] == "softmax"
    assert not any(layer.name.startswith("head_fc") for layer in model.layers)


def test_head_regularizer_on_every_dense_kernel():
    inputs = keras.Input((2, 8))
    regularizer = keras.regularizers.L2(1e-3)
    model = keras.Model(
        inputs,
        classifier_head(
            inputs,
            include_top=True,
            num_classes=3,
            pooling="flatten",
            hidden_units=(4,),
            kernel_regularizer=regularizer,
        ),
    )
    assert model.get_layer("head_fc1").kernel_regularizer is regularizer
    assert model.get_layer("predictions").kernel_regularizer is regularizer


def test_head_flatten_with_unknown_size_raises():
    with pytest.raises(ValueError, match=r"pooling='flatten'.*pooling='avg'"):
        classifier_head(
            keras.Input((None, None, 8)), include_top=True, num_classes=3, pooling="flatten"
        )


# --------------------------------------------------------------------------------------
# inputs: augmentation and noise
# --------------------------------------------------------------------------------------


def test_resolve_augmentation_wraps_a_list():
    flip, rotate = keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.1)
    layer = resolve_augmentation([flip, rotate])
    assert isinstance(layer, keras.Sequential)
    assert layer.name == "augmentation"
    assert layer.layers == [flip, rotate]


def test_resolve_augmentation_passes_layers_and_none_through():
    flip = keras.layers.RandomFlip("horizontal")
    assert resolve_augmentation(flip) is flip
    assert resolve_augmentation(None) is None
    assert resolve_augmentation([]) is None


def test_resolve_augmentation_names_the_bad_item():
    with pytest.raises(ValueError, match=r"augmentation\[1\] must be a Keras layer.*'flip'"):
        resolve_augmentation([keras.layers.RandomFlip("horizontal"), "flip"])


@pytest.mark.parametrize("value", ["flip", 3])
def test_resolve_augmentation_rejects_non_layers(value):
    with pytest.raises(ValueError, match=rf"augmentation={value!r}"):
        resolve_augmentation(value)


def test_model_input_with_noise_adds_gaussian_noise():
    inputs, x = model_input((8, 8, 1), noise=0.2)
    model = keras.Model(inputs, x)
    noise = model.get_layer("input_noise")
    assert isinstance(noise, keras.layers.GaussianNoise)
    assert noise.stddev == 0.2
    data = random(2, 8, 8, 1)
    np.testing.assert_array_equal(model(data, training=False), data)
    assert not np.allclose(model(data, training=True), data)


def test_model_input_without_extras_is_the_input():
    inputs, x = model_input((8, 8, 1))
    assert x is inputs
    inputs, x = model_input((8, 8, 1), noise=0)
    assert x is inputs


def test_model_input_applies_augmentation_before_noise():
    inputs, x = model_input(
        (8, 8, 1), augmentation=[keras.layers.RandomFlip("horizontal")], noise=0.1
    )
    names = [layer.name for layer in keras.Model(inputs, x).layers]
    assert names.index("augmentation") < names.index("input_noise")


def copy_weights_by_name(source, target):
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def test_augmentation_is_inactive_at_inference():
    translate = keras.layers.RandomTranslation(0.2, 0.2, seed=1)
    model = cnnzoo.lenet5(variant="modern", augmentation=[translate])
    plain = cnnzoo.lenet5(variant="modern")
    copy_weights_by_name(model, plain)
    x = random(4, 32, 32, 1)

    first = np.asarray(model(x, training=False))
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), first)
    np.testing.assert_allclose(first, plain(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), first, rtol=1e-5, atol=1e-6)

    augmentation = model.get_layer("augmentation")
    np.testing.assert_array_equal(augmentation(x, training=False), x)
    assert not np.allclose(augmentation(x, training=True), x)
    # The only training-time difference in this model is the augmentation.
    assert not np.allclose(model(x, training=True), first)


def test_noise_is_inactive_at_inference():
    model = cnnzoo.lenet5(variant="modern", noise=0.5)
    plain = cnnzoo.lenet5(variant="modern")
    copy_weights_by_name(model, plain)
    x = random(2, 32, 32, 1)
    np.testing.assert_allclose(model(x, training=False), plain(x), rtol=1e-6, atol=1e-6)
    assert not np.allclose(model(x, training=True), plain(x))
