"""Per-layer compute counts against hand arithmetic (the torchvision convention: one MAC per
kernel weight per output position; pooling and normalization only when asked for).

The whole-model figures against torchvision's published ``_ops`` live with the parameter
counts in test_reference.py, test_resnet.py and test_inception.py.
"""

import keras
import pytest

import cnnzoo
from cnnzoo import lenet5
from cnnzoo.compute import COST_KINDS, MAC_KINDS, count_macs, layer_macs
from cnnzoo.layers import LocalResponseNormalization


def _called(layer, input_shape):
    """``layer`` called on a symbolic input of ``input_shape`` (no batch axis)."""
    layer(keras.Input(input_shape))
    return layer


# (layer, input shape, MACs worked out by hand)
CONVOLUTIONS = {
    # LeNet-5 C1: 28*28 positions * 6 filters * 5*5*1 weights.
    "5x5 valid": (keras.layers.Conv2D(6, 5), (32, 32, 1), 28 * 28 * 6 * 25),
    # AlexNet C1: floor((227 - 11) / 4) + 1 = 55 positions per side, 11*11*3 weights.
    "11x11/4": (keras.layers.Conv2D(96, 11, strides=4), (227, 227, 3), 55 * 55 * 96 * 363),
    # "same" with stride 2: ceil(32 / 2) = 16 per side, the border windows count in full.
    "3x3/2 same": (
        keras.layers.Conv2D(16, 3, strides=2, padding="same"),
        (32, 32, 3),
        16 * 16 * 16 * 27,
    ),
    # Two groups: each filter reads 4 / 2 = 2 input channels.
    "grouped": (keras.layers.Conv2D(8, 3, groups=2, padding="same"), (8, 8, 4), 64 * 8 * 9 * 2),
    # Depthwise: each of the 4 * 2 output channels reads one input channel.
    "depthwise": (keras.layers.DepthwiseConv2D(3, depth_multiplier=2), (10, 10, 4), 64 * 8 * 9),
    "depthwise as groups": (keras.layers.Conv2D(4, 3, groups=4), (10, 10, 4), 64 * 4 * 9),
    # Separable: the depthwise 3x3 on 4 channels, then a pointwise 4 -> 8.
    "separable": (keras.layers.SeparableConv2D(8, 3), (10, 10, 4), 64 * (9 * 4 + 4 * 8)),
    # Transposed: each of the 8*8 input positions spreads over 3*3 * 4 -> 8 weights.
    "transposed": (
        keras.layers.Conv2DTranspose(8, 3, strides=2),
        (8, 8, 4),
        64 * 9 * 4 * 8,
    ),
    # 1-D: 100 - 5 + 1 = 96 positions, 5*3 weights per filter.
    "conv1d": (keras.layers.Conv1D(8, 5), (100, 3), 96 * 8 * 5 * 3),
    # 3-D: 6*6*6 positions, 3*3*3*2 weights per filter.
    "conv3d": (keras.layers.Conv3D(4, 3), (8, 8, 8, 2), 216 * 4 * 27 * 2),
    "conv3d strided": (keras.layers.Conv3D(4, 3, strides=2), (9, 9, 9, 2), 64 * 4 * 27 * 2),
    # Dilation 2 widens a 3x3 kernel to 5x5 but it still has 9 weights: 12*12 positions.
    "dilated": (keras.layers.Conv2D(2, 3, dilation_rate=2), (16, 16, 1), 144 * 2 * 9),
}


@pytest.mark.parametrize("case", sorted(CONVOLUTIONS))
def test_convolution_macs_match_hand_arithmetic(case):
    layer, input_shape, expected = CONVOLUTIONS[case]
    layer = _called(layer.from_config(layer.get_config()), input_shape)
    assert layer_macs(layer) == expected
    # A convolution counts the same whatever else is included.
    assert layer_macs(layer, include=COST_KINDS) == expected
    assert layer_macs(layer, include=("dense",)) == 0


def test_lenet5_c1_is_117600_macs():
    assert layer_macs(lenet5().get_layer("c1_conv")) == 117_600


def test_dense_macs_one_per_weight_per_input_vector():
    assert layer_macs(_called(keras.layers.Dense(84), (120,))) == 120 * 84  # LeNet-5 F6
    # On a sequence the kernel applies at each of the 5 steps.
    assert layer_macs(_called(keras.layers.Dense(8), (5, 16))) == 5 * 16 * 8
    assert layer_macs(_called(keras.layers.Dense(8), (16,)), include=("conv",)) == 0


# (layer, input shape, ops by hand) for the kinds torchvision's figures leave out
EXTENDED = {
    # 2x2/2 max pool on 28x28x6: 14*14*6 outputs, each the max of 4 elements.
    "max pool 2x2/2": (keras.layers.MaxPooling2D(2), (28, 28, 6), 14 * 14 * 6 * 4),
    # Overlapping 3x3/2 (AlexNet): floor((55 - 3) / 2) + 1 = 27 per side.
    "max pool 3x3/2": (keras.layers.MaxPooling2D(3, strides=2), (55, 55, 96), 27 * 27 * 96 * 9),
    "avg pool 1-D": (keras.layers.AveragePooling1D(4), (16, 3), 4 * 3 * 4),
    "avg pool 3-D": (keras.layers.AveragePooling3D(2), (4, 4, 4, 2), 8 * 2 * 8),
    # Global pooling reads each input element once: 7*7*512.
    "global avg pool": (keras.layers.GlobalAveragePooling2D(), (7, 7, 512), 7 * 7 * 512),
    "global max pool 1-D": (keras.layers.GlobalMaxPooling1D(), (10, 4), 40),
    # Batch norm at inference: x * scale + shift, one multiply-add per element.
    "batch norm": (keras.layers.BatchNormalization(), (28, 28, 6), 28 * 28 * 6),
    # LRN over 5 channels: a sum of 5 squares per element.
    "local response norm": (LocalResponseNormalization(size=5), (13, 13, 4), 5 * 13 * 13 * 4),
}


@pytest.mark.parametrize("case", sorted(EXTENDED))
def test_pooling_and_normalization_count_only_when_included(case):
    layer, input_shape, expected = EXTENDED[case]
    layer = _called(layer, input_shape)
    kind = "norm" if "norm" in case else "pool"
    assert layer_macs(layer) == 0  # torchvision's convention
    assert layer_macs(layer, include=(kind,)) == expected
    assert layer_macs(layer, include=COST_KINDS) == expected
    assert layer_macs(layer, include=tuple(k for k in COST_KINDS if k != kind)) == 0


def test_free_layers_count_zero_even_with_every_kind():
    x = keras.Input((8, 8, 4))
    relu, add = keras.layers.Activation("relu"), keras.layers.Add()
    add([relu(x), x])
    assert layer_macs(relu, include=COST_KINDS) == layer_macs(add, include=COST_KINDS) == 0


def test_extended_count_of_lenet5_with_batch_norm():
    model = lenet5(variant="modern", norm="batch")
    conv_dense = 117_600 + 240_000 + 48_000 + 84 * 120 + 10 * 84  # C1, C3, C5, F6, output
    pools = 14 * 14 * 6 * 4 + 5 * 5 * 16 * 4  # S2, S4
    norms = 28 * 28 * 6 + 10 * 10 * 16 + 120  # after C1, C3, C5
    assert count_macs(model) == count_macs(model, include=MAC_KINDS) == conv_dense
    assert count_macs(model, include=("pool",)) == pools
    assert count_macs(model, include=("norm",)) == norms
    assert count_macs(model, include=COST_KINDS) == conv_dense + pools + norms


def test_nested_models_count_their_layers():
    inner = keras.Sequential([keras.layers.Conv2D(4, 3), keras.layers.MaxPooling2D(2)])
    x = keras.Input((10, 10, 1))
    y = inner(keras.layers.RandomFlip()(x))  # (4, 4, 4)
    block_input = keras.Input((4, 4, 4))
    block = keras.Model(block_input, keras.layers.Conv2D(2, 1)(block_input))
    model = keras.Model(x, keras.layers.Dense(3)(keras.layers.Flatten()(block(y))))
    conv = 8 * 8 * 4 * 9
    assert layer_macs(inner) == conv
    assert layer_macs(inner, include=("pool",)) == 4 * 4 * 4 * 4
    assert count_macs(model) == conv + 16 * 4 * 2 + 32 * 3


def test_lenet5_with_augmentation_counts_the_same():
    assert count_macs(lenet5(augmentation="standard", noise=0.1)) == count_macs(lenet5())


@pytest.mark.parametrize("include", ["pool", ("conv", "flops"), None])
def test_include_must_name_known_kinds(include):
    layer = _called(keras.layers.Dense(2), (3,))
    with pytest.raises(ValueError, match=r"include must be a tuple of kinds from .*received"):
        layer_macs(layer, include=include)
    with pytest.raises(ValueError, match=r"include must be .*'conv', 'dense', 'pool', 'norm'"):
        count_macs(lenet5(), include=include)


def test_count_macs_needs_a_model():
    with pytest.raises(ValueError, match=r"model must be a keras.Model; received model="):
        count_macs(keras.layers.Dense(2))


def test_public_names():
    assert cnnzoo.count_macs is count_macs
