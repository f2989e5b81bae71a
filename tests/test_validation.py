"""Argument checks of the model factories, and the spatial-size errors of too-small inputs.

Every bad argument must raise a ``ValueError`` that names the argument and shows the value
received, before any TensorFlow error can surface.
"""

import re

import keras
import pytest
from conftest import REPRESENTATIVE_MODELS

import cnnzoo
from cnnzoo.layers import SpatialSizeError

# Small inputs that build fast; every factory builds with these as they are.
SMALL = {
    "lenet5": dict(input_shape=(32, 32, 1)),
    "alexnet": dict(input_shape=(67, 67, 3), fc_units=(8,)),
    "vgg11": dict(input_shape=(32, 32, 3), fc_units=(8,), widths=(4, 4, 8, 8, 8)),
}
FACTORIES = {"lenet5": cnnzoo.lenet5, "alexnet": cnnzoo.alexnet, "vgg11": cnnzoo.vgg11}


def build(family, **kwargs):
    return FACTORIES[family](**{**SMALL[family], **kwargs})


@pytest.mark.parametrize("family", FACTORIES)
def test_small_configurations_build(family):
    model = build(family, num_classes=5)
    assert model.output_shape == (None, 5)


# (argument, bad value, text the message must also contain: what is allowed)
COMMON_BAD_ARGUMENTS = [
    ("num_classes", 0, "positive int"),
    ("num_classes", -1, "positive int"),
    ("num_classes", 2.5, "positive int"),
    ("num_classes", True, "positive int"),
    ("include_top", "yes", "True or False"),
    ("include_top", 1, "True or False"),
    ("pooling", "mean", "'avg'"),
    ("dropout", 1.0, "[0, 1)"),
    ("dropout", -0.1, "[0, 1)"),
    ("dropout", "0.5", "[0, 1)"),
    ("activation", "nope", "'relu'"),
    ("classifier_activation", "nope", "'relu'"),
    ("norm", "layer", "'batch'"),
    ("kernel_regularizer", "l3", "'l1_l2'"),
    ("kernel_regularizer", ("l2", -1), "factors >= 0"),
    ("noise", -1, ">= 0"),
    ("noise", "0.1", ">= 0"),
    ("augmentation", "flip", "Keras layer"),
]


@pytest.mark.parametrize("family", FACTORIES)
@pytest.mark.parametrize(("argument", "value", "allowed"), COMMON_BAD_ARGUMENTS)
def test_common_argument_checks(family, argument, value, allowed):
    with pytest.raises(ValueError) as info:
        build(family, **{argument: value})
    message = str(info.value)
    assert f"{argument}={value!r}" in message
    assert allowed in message
    assert not isinstance(info.value, SpatialSizeError)


@pytest.mark.parametrize("family", FACTORIES)
def test_augmentation_item_that_is_not_a_layer(family):
    with pytest.raises(ValueError, match=r"augmentation\[0\] must be a Keras layer.*received 1\."):
        build(family, augmentation=[1])


@pytest.mark.parametrize(
    "name",
    [
        "lenet5",
        "alexnet",
        "vgg11",
    ],
)
def test_empty_name_raises(name):
    with pytest.raises(ValueError, match=r"name must be a non-empty string; received name=''"):
        build(name, name="")


@pytest.mark.parametrize("family", FACTORIES)
@pytest.mark.parametrize("name", [5, ["x"]])
def test_name_that_is_not_a_string_raises(family, name):
    with pytest.raises(ValueError, match=re.escape(f"received name={name!r}")):
        build(family, name=name)


@pytest.mark.parametrize("family", FACTORIES)
@pytest.mark.parametrize(
    "input_shape",
    [
        (32,),
        (1, 2, 3, 4, 5),
        (),
        (0, 32, 3),
        (32, -1, 3),
        (32, 32, 0),
        (32, 32, None),
        (32, 32.0, 3),
        (32, 32, 3.0),
        "32x32",
        32,
    ],
)
def test_bad_input_shapes(family, input_shape):
    with pytest.raises(ValueError) as info:
        build(family, input_shape=input_shape)
    message = str(info.value)
    assert f"input_shape={input_shape!r}" in message
    assert "(height, width, channels)" in message


@pytest.mark.parametrize(
    ("factory", "typo", "suggestion"),
    [
        (cnnzoo.vgg11, "dropuot", "dropout"),
        (cnnzoo.vgg16_bn, "num_class", "num_classes"),
        (cnnzoo.lenet5, "fiters", "filters"),
        (cnnzoo.alexnet, "stem_stride", "stem_strides"),
    ],
)
def test_unknown_keyword_suggests_the_closest(factory, typo, suggestion):
    with pytest.raises(
        ValueError, match=rf"unknown argument '{typo}'\. Did you mean '{suggestion}'"
    ):
        factory(**{typo: 0.3})


def test_unknown_keyword_lists_the_known_arguments():
    with pytest.raises(ValueError, match=r"Known arguments: .*num_classes") as info:
        cnnzoo.vgg11(zzzzzz=1)
    assert "Did you mean" not in str(info.value)


# ----- family knobs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "pieces"),
    [
        (dict(widths=(4, 4, 8, 8)), ["widths", "(4, 4, 8, 8)", "5 stages"]),
        (dict(widths=(4, 4, 8, 8, 8, 8)), ["widths", "(4, 4, 8, 8, 8, 8)"]),
        (dict(depths=(1, 0, 2, 2, 2)), ["depths", "0", "positive int"]),
        (dict(depths=(1, 1, 1)), ["widths", "3 stages"]),
        (dict(widths=(4, 4, 8, 8, -8)), ["widths", "-8", "positive int"]),
        (dict(fc_units=(8, 0)), ["fc_units", "0", "positive int"]),
        (dict(fc_units=8), ["fc_units", "8", "tuple of positive ints"]),
        (dict(padding=["same", "valid"]), ["padding", "one entry per stage (5)"]),
    ],
)
def test_vgg_knobs(kwargs, pieces):
    with pytest.raises(ValueError) as info:
        build("vgg11", **kwargs)
    for piece in pieces:
        assert piece in str(info.value)


def test_vgg_bad_config():
    with pytest.raises(
        ValueError, match=r"config must be one of .*'vgg16'.*received config='vgg12'"
    ):
        cnnzoo.vgg("vgg12", input_shape=(32, 32, 3))


@pytest.mark.parametrize(
    ("kwargs", "pieces"),
    [
        (dict(variant="new"), ["variant", "'new'", "'original'", "'modern'"]),
        (dict(filters=(8, 16, 120)), ["filters=(8, 16, 120)", "variant='modern'"]),
        (dict(variant="modern", filters=(8, 16)), ["filters=(8, 16)", "3 ints"]),
        (dict(variant="modern", filters=(8, 0, 16)), ["filters=(8, 0, 16)", "positive ints"]),
        (dict(fc_units=(84, -1)), ["fc_units=(84, -1)"]),
        (dict(kernel_size=[5, 5]), ["kernel_size", "one entry per stage (3)"]),
    ],
)
def test_lenet_knobs(kwargs, pieces):
    with pytest.raises(ValueError) as info:
        build("lenet5", **kwargs)
    for piece in pieces:
        assert piece in str(info.value)


def test_lenet_modern_accepts_other_filters():
    model = build("lenet5", variant="modern", filters=(8, 16, 32))
    assert model.get_layer("c5_conv").filters == 32


@pytest.mark.parametrize(
    ("kwargs", "pieces"),
    [
        (dict(variant="x"), ["variant", "'x'", "'original'", "'single_tower'"]),
        (dict(groups=3), ["groups=3", "'stage2_block1_conv'", "dividing"]),
        (dict(groups=(1, 2, 1, 2, 3)), ["groups=3", "'stage3_block3_conv'"]),
        (dict(widths=(96, 255, 384, 384, 256)), ["groups=2", "filters (255)"]),
        (dict(widths=(96, 256, 384)), ["widths", "5 convolutions"]),
        (dict(lrn="yes"), ["lrn='yes'", "True or False"]),
        (dict(groups=[1, 2]), ["groups", "one entry per stage (5)"]),
    ],
)
def test_alexnet_knobs(kwargs, pieces):
    with pytest.raises(ValueError) as info:
        build("alexnet", **kwargs)
    for piece in pieces:
        assert piece in str(info.value)


# ----- spatial size --------------------------------------------------------------------


def assert_spatial_error(info, input_shape, layer, arithmetic):
    """The error is cnnzoo's own (not a TensorFlow or Keras error) and explains itself."""
    assert type(info.value) is SpatialSizeError
    assert type(info.value).__module__.startswith("cnnzoo.")
    message = str(info.value)
    assert message.startswith(f"input_shape={input_shape}: ")
    assert f"layer '{layer}'" in message
    assert arithmetic in message


def test_lenet5_on_28x28_collapses_at_c5():
    with pytest.raises(ValueError) as info:
        cnnzoo.lenet5(input_shape=(28, 28, 1))
    assert_spatial_error(info, (28, 28, 1), "c5_conv", "floor((4 + 2*0 - 5) / 1) + 1 = 0")
    assert "padding=(2, 'valid', 'valid')" in str(info.value)  # the MNIST hint


@pytest.mark.parametrize("padding", [(2, "valid", "valid"), ("same", "valid", "valid")])
def test_lenet5_on_28x28_builds_with_padding(padding):
    model = cnnzoo.lenet5(input_shape=(28, 28, 1), padding=padding)
    assert model.get_layer("stage3_out").output.shape == (None, 1, 1, 120)


def test_alexnet_on_32x32_collapses_at_the_second_pool():
    with pytest.raises(ValueError) as info:
        cnnzoo.alexnet(input_shape=(32, 32, 3))
    # conv1: floor((32 - 11) / 4) + 1 = 6; pool1: floor((6 - 3) / 2) + 1 = 2; pool2: 0
    assert_spatial_error(info, (32, 32, 3), "stage2_pool", "floor((2 + 2*0 - 3) / 2) + 1 = 0")


def test_alexnet_stem_collapse_names_the_stem():
    with pytest.raises(ValueError) as info:
        cnnzoo.alexnet(input_shape=(10, 10, 3))
    assert_spatial_error(
        info, (10, 10, 3), "stage1_block1_conv", "floor((10 + 2*0 - 11) / 4) + 1 = 0"
    )


def test_alexnet_on_32x32_builds_with_a_small_stem():
    model = cnnzoo.alexnet(
        input_shape=(32, 32, 3),
        stem_kernel_size=3,
        stem_strides=1,
        stem_padding="same",
        include_top=False,
    )
    assert model.output_shape == (None, 3, 3, 256)


def test_vgg11_on_31x31_collapses_at_the_last_pool():
    with pytest.raises(ValueError) as info:
        cnnzoo.vgg11(input_shape=(31, 31, 3), include_top=False)
    assert_spatial_error(info, (31, 31, 3), "stage5_pool", "floor((1 + 2*0 - 2) / 2) + 1 = 0")


def test_collapse_names_the_axis_that_collapses():
    with pytest.raises(SpatialSizeError, match=r"'stage5_pool'.*receives width 1 "):
        cnnzoo.vgg11(input_shape=(64, 31, 3), include_top=False)


def test_one_dimensional_collapse_names_the_length():
    with pytest.raises(SpatialSizeError, match=r"'c5_conv'.*receives length 4"):
        cnnzoo.lenet5(variant="modern", input_shape=(28, 1))


def test_flatten_needs_fixed_sizes():
    with pytest.raises(ValueError, match=r"pooling='flatten'"):
        cnnzoo.lenet5(input_shape=(None, None, 1))
    model = cnnzoo.lenet5(input_shape=(None, None, 1), pooling="avg")
    assert model.output_shape == (None, 10)


# ----- registry minimum sizes ----------------------------------------------------------


# The head only pools and flattens the trunk's output, so the smallest size is set by the
# convolutional trunk alone: building without the top is enough (and fast for VGG and
# AlexNet's 4096-wide layers); LeNet-5's C5 is part of its trunk, so it keeps its head.
def trunk_only(family):
    return {} if family == "lenet" else {"include_top": False}


def square(info, size):
    return (size,) * (len(info.default_input_shape) - 1) + (info.default_input_shape[-1],)


@pytest.mark.parametrize("name", REPRESENTATIVE_MODELS)
def test_builds_at_min_input_size(name):
    info = cnnzoo.model_info(name)
    model = cnnzoo.create_model(
        name, input_shape=square(info, info.min_input_size), **trunk_only(info.family)
    )
    assert isinstance(model, keras.Model)
    # At the smallest size the trunk ends in a single position per axis.
    trunk_out = [layer for layer in model.layers if re.fullmatch(r"stage\d+_out", layer.name)][-1]
    assert tuple(trunk_out.output.shape[1:-1]) == (1, 1)


@pytest.mark.parametrize("name", REPRESENTATIVE_MODELS)
def test_raises_below_min_input_size(name):
    info = cnnzoo.model_info(name)
    shape = square(info, info.min_input_size - 1)
    with pytest.raises(ValueError) as info_error:
        cnnzoo.create_model(name, input_shape=shape, **trunk_only(info.family))
    assert type(info_error.value) is SpatialSizeError
    assert str(info_error.value).startswith(f"input_shape={shape}: ")
    # Either the size reaches 0, or a padded strided layer gets an axis shorter than its stride.
    floor = r"floor\(\(\d+ \+ (2\*\d+|\d+\+\d+) - \d+\) / \d+\) \+ 1"
    arithmetic = rf"({floor}|ceil\(\d+ / \d+\)) = (0|1)"
    assert re.search(arithmetic, str(info_error.value))


def test_min_input_size_also_holds_with_the_top():
    info = cnnzoo.model_info("lenet5_modern")
    size = info.min_input_size
    assert cnnzoo.create_model("lenet5_modern", input_shape=(size, size, 1)).output_shape == (
        None,
        10,
    )
    model = cnnzoo.create_model(
        "vgg11", input_shape=(32, 32, 3), fc_units=(8,), widths=(4, 4, 4, 4, 4)
    )
    assert model.get_layer("head_flatten").output.shape == (None, 4)


@pytest.mark.parametrize("family", FACTORIES)
def test_name_none_means_the_default_name(family):
    assert build(family, name=None).name == family
