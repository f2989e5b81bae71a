"""Argument checks of the model factories, and the spatial-size errors of too-small inputs.

Every bad argument must raise a ``ValueError`` that names the argument and shows the value
received, before any TensorFlow error can surface.
"""

import functools
import inspect
import re

import keras
import numpy as np
import pytest
from conftest import REPRESENTATIVE_MODELS

import cnnzoo
from cnnzoo import checks, registry
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


def test_lenet5_on_28x28_with_valid_padding_collapses_at_c5():
    with pytest.raises(ValueError) as info:
        cnnzoo.lenet5(input_shape=(28, 28, 1), padding="valid")  # no centring: too small
    assert_spatial_error(info, (28, 28, 1), "c5_conv", "floor((4 + 2*0 - 5) / 1) + 1 = 0")
    assert "Without padding=, LeNet-5 centres" in str(info.value)  # the MNIST hint


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
        cnnzoo.lenet5(variant="modern", input_shape=(28, 1), padding="valid")


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


# LeNet-5 centres a smaller input in its 32x32 field unless padding is given.
UNCENTRED = {"lenet": {"padding": "valid"}}


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
    kwargs = {**trunk_only(info.family), **UNCENTRED.get(info.family, {})}
    with pytest.raises(ValueError) as info_error:
        cnnzoo.create_model(name, input_shape=shape, **kwargs)
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


# ----- every argument of every registered model ------------------------------------------

# Arguments for which None is a value even where the default is not None (every argument
# whose default is None takes None too): logits, no normalization, and a pooling stride
# equal to the window (Keras' convention).
NONE_IS_A_VALUE = {"classifier_activation", "name", "norm", "pool_strides"}
# Values of the wrong kind for most arguments that are right for one: a model name, a
# width multiplier.
RIGHT_FOR = {("name", "abc"), ("width", 2.5)}


class Unexpected:
    """A value of a type no argument takes."""

    def __repr__(self):
        return "<Unexpected>"


def wrong_values(parameter):
    """None (where it means nothing), a float, a string, a bool and an arbitrary object."""
    for value in (None, 2.5, "abc", True, Unexpected()):
        if value is None and (parameter.default is None or parameter.name in NONE_IS_A_VALUE):
            continue
        if value is True and "bool" in str(parameter.annotation):
            continue
        if isinstance(value, (float, str)) and (parameter.name, value) in RIGHT_FOR:
            continue
        yield value


@pytest.fixture
def nothing_built(monkeypatch):
    """Fails the test if a model starts being built: argument checks come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was being built before its arguments were checked")

    monkeypatch.setattr(keras, "Input", refuse)


def every_factory() -> dict:
    """``{name: (call, factory)}``: every registered model, called through
    ``create_model``, and every public factory that is not registered itself (``vgg``,
    ``resnet``, ``cifar_resnet``)."""
    factories = {
        name: (functools.partial(cnnzoo.create_model, name), registry._FACTORIES[name])
        for name in cnnzoo.list_models()
    }
    for name in cnnzoo.models.__all__:
        function = getattr(cnnzoo.models, name)
        if name not in factories and "num_classes" in inspect.signature(function).parameters:
            factories[name] = (function, function)
    return factories


FACTORIES_UNDER_TEST = every_factory()


# One test per model, every argument inside: a test costs a Keras session reset (conftest).
@pytest.mark.parametrize("name", FACTORIES_UNDER_TEST)
def test_every_argument_refuses_a_wrong_type_before_building(name, nothing_built):
    call, factory = FACTORIES_UNDER_TEST[name]
    failures = []
    for argument, parameter in inspect.signature(factory).parameters.items():
        for value in wrong_values(parameter):
            try:
                call(**{argument: value})
                failures.append(f"{argument}={value!r} built a model")
            except ValueError as error:
                if f"{argument}={value!r}" not in str(error):
                    failures.append(f"{argument}={value!r}: ValueError not naming it: {error}")
            except Exception as error:  # a TypeError, an AssertionError: what the test is for
                failures.append(f"{argument}={value!r}: {type(error).__name__}: {error}")
    assert not failures, "\n".join(failures)


def test_every_factory_shows_its_arguments():
    assert {"vgg", "resnet", "cifar_resnet"} <= set(FACTORIES_UNDER_TEST)
    for name, (_, factory) in FACTORIES_UNDER_TEST.items():
        parameters = inspect.signature(factory).parameters
        assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()), name
        assert {"num_classes", "input_shape", "augmentation", "weights"} <= set(parameters), name


@pytest.mark.parametrize(
    ("factory", "argument", "value"),
    [
        (cnnzoo.vgg16, "padding", None),
        (cnnzoo.vgg16, "pool_size", None),
        (cnnzoo.vgg16, "kernel_size", 2.5),
        (cnnzoo.vgg16, "strides", None),
        (cnnzoo.lenet5, "pool_size", None),
        (cnnzoo.lenet5, "kernel_size", 2.5),
        (cnnzoo.lenet5, "strides", None),
        (cnnzoo.alexnet, "pool_size", None),
        (cnnzoo.alexnet, "groups", True),
        (cnnzoo.resnet18, "strides", "abc"),
    ],
)
def test_the_issue_examples_name_the_argument(factory, argument, value, nothing_built):
    # These raised "TypeError: 'NoneType' object is not iterable" (or built with groups=True).
    with pytest.raises(ValueError, match=re.escape(f"received {argument}={value!r}.")):
        factory(**{argument: value})


def test_a_bad_entry_of_a_per_stage_value_is_named_by_its_index(nothing_built):
    with pytest.raises(ValueError, match=re.escape("received kernel_size[1]=2.5.")):
        cnnzoo.vgg11(kernel_size=(3, 2.5, 3, 3, 3))
    with pytest.raises(ValueError, match=re.escape("received padding[2]=None.")):
        cnnzoo.lenet5(padding=("valid", "valid", None))


# ----- errors name the argument the user typed ----------------------------------------


@pytest.mark.parametrize(
    ("factory", "kwargs", "named"),
    [
        (cnnzoo.resnet18, dict(stem_width=0), "stem_width=0"),  # was "filters=0 (stem)"
        (cnnzoo.resnet20, dict(stem_width=2.5), "stem_width=2.5"),
        (cnnzoo.alexnet, dict(stem_kernel_size=0), "stem_kernel_size=0"),  # was kernel_size
        (cnnzoo.alexnet, dict(stem_strides="abc"), "stem_strides='abc'"),  # was strides
        (cnnzoo.alexnet, dict(stem_padding=-1), "stem_padding=-1"),  # was padding
        (cnnzoo.lenet5, dict(augmentation="alexnet"), "augmentation='alexnet'"),  # grey
        (cnnzoo.vgg11, dict(activation=None), "activation=None"),  # was "received None"
        (cnnzoo.vgg11, dict(noise=2.5), "noise=2.5"),  # was Keras' "stddev=2.5"
        (cnnzoo.vgg11, dict(weights="vgg.pt"), "weights='vgg.pt'"),  # before building
    ],
)
def test_errors_name_the_argument_the_user_typed(factory, kwargs, named, nothing_built):
    with pytest.raises(ValueError) as info:
        factory(**kwargs)
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("factory", "kwargs", "pieces"),
    [
        (cnnzoo.vgg16, dict(config="vgg11"), ["vgg16() is vgg(config='vgg16')", "config='vgg11'"]),
        (cnnzoo.resnet18, dict(depth=34), ["resnet18() is resnet(depth=18)", "depth=34"]),
        (cnnzoo.resnet56, dict(depth=20), ["resnet56() is cifar_resnet(depth=56)", "depth=20"]),
        (cnnzoo.vgg16_bn, dict(dropuot=0.3), ["vgg16_bn() got an unknown argument 'dropuot'"]),
    ],
)
def test_named_models_refuse_what_they_fix_and_name_themselves(factory, kwargs, pieces):
    # vgg16(config=...) was "TypeError: got multiple values for argument 'config'", and
    # a typo in vgg16_bn's arguments was reported as vgg()'s.
    with pytest.raises(ValueError) as info:
        factory(**kwargs)
    for piece in pieces:
        assert piece in str(info.value)


def test_an_empty_name_is_refused_by_the_cifar_networks_too():
    with pytest.raises(ValueError, match=r"received name=''"):
        cnnzoo.resnet20(name="")  # was silently the default name


# ----- augmentation presets on 1-D and 3-D inputs ----------------------------------------


@pytest.mark.parametrize("preset", ["mirror", "standard", "strong"])
@pytest.mark.parametrize(
    ("factory", "input_shape", "inputs"),
    [
        (cnnzoo.vgg16, (39, 39, 39, 3), "3-D volumes"),
        (cnnzoo.lenet5, (64, 2), "1-D signals"),
    ],
)
def test_presets_on_1d_and_3d_inputs_are_refused_at_build_time(
    factory, input_shape, inputs, preset, nothing_built
):
    # vgg16(input_shape=(39, 39, 39, 3), augmentation="standard") built, and every call in
    # training failed inside RandomFlip; on 1-D signals the batch passed as one image.
    with pytest.raises(ValueError) as info:
        factory(input_shape=input_shape, augmentation=preset)
    message = str(info.value)
    assert f"augmentation={preset!r}" in message
    assert "RandomFlip" in message and inputs in message


def test_presets_keep_working_on_images_and_none_on_any_input():
    model = cnnzoo.lenet5(variant="modern", augmentation="standard")
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 1)).astype("float32")
    assert model(x, training=True).shape == (2, 10)
    volumes = cnnzoo.vgg11(
        input_shape=(32, 32, 32, 1), augmentation="none", include_top=False, widths=(2,) * 5
    )
    assert "augmentation" not in [layer.name for layer in volumes.layers]
    # A user's own layers pass as they are: cnnzoo cannot tell which ones handle volumes.
    own = keras.layers.GaussianNoise(0.1)
    assert cnnzoo.lenet5(variant="modern", input_shape=(64, 2), augmentation=own)


# ----- LeNet-5 centres a smaller input in the paper's 32x32 field ------------------------


@pytest.mark.parametrize("name", ["lenet5", "lenet5_modern"])
def test_lenet5_builds_at_28x28_with_the_paper_count(name):
    model = cnnzoo.create_model(name, input_shape=(28, 28, 1))
    assert model.get_layer("c1_pad").output.shape == (None, 32, 32, 1)
    assert model.get_layer("stage3_out").output.shape == (None, 1, 1, 120)
    # 60,850 (lenet5) and 61,706 (lenet5_modern) for 10 classes: the padding adds nothing.
    assert model.count_params() == cnnzoo.model_info(name).reference_params
    assert "centred" in cnnzoo.model_info(name).notes


@pytest.mark.parametrize(
    ("variant", "size", "pads"),
    [("original", 28, (2, 2)), ("modern", 27, (2, 3)), ("modern", 20, (6, 6))],
)
def test_a_small_input_gives_what_the_padded_image_gives_at_32x32(variant, size, pads):
    small = cnnzoo.lenet5(variant=variant, input_shape=(size, size, 1))
    field = cnnzoo.lenet5(variant=variant, input_shape=(32, 32, 1))
    field.set_weights(small.get_weights())
    images = np.random.default_rng(0).uniform(0, 1, (3, size, size, 1)).astype("float32")
    padded = np.pad(images, ((0, 0), pads, pads, (0, 0)))
    np.testing.assert_allclose(
        small.predict(images, verbose=0), field.predict(padded, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_lenet5_centres_only_the_axes_that_are_small():
    model = cnnzoo.lenet5(input_shape=(28, 40, 1))
    assert model.get_layer("c1_pad").padding == ((2, 2), (0, 0))
    assert "c1_pad" not in [layer.name for layer in cnnzoo.lenet5().layers]  # 32x32: none
    signal = cnnzoo.lenet5(variant="modern", input_shape=(28, 1))
    assert signal.get_layer("c1_pad").output.shape == (None, 32, 1)


def test_an_explicit_lenet5_padding_wins_over_the_centring():
    same = cnnzoo.lenet5(
        variant="modern", input_shape=(28, 28, 1), padding=("same", "valid", "valid")
    )
    assert "c1_pad" not in [layer.name for layer in same.layers]
    assert same.get_layer("c1_conv").output.shape == (None, 28, 28, 6)
    with pytest.raises(SpatialSizeError, match=r"'c5_conv'"):
        cnnzoo.lenet5(input_shape=(28, 28, 1), padding="valid")


def test_shared_checks_add_the_context_and_say_when_none_is_allowed():
    with pytest.raises(ValueError) as refused:
        checks.check_positive_int("filters", 0, context="stage1_block1")
    assert str(refused.value) == (
        "filters must be a positive int; received filters=0 (stage1_block1)."
    )
    assert checks.check_positive_int("batch_size", None, allow_none=True) is None
    with pytest.raises(
        ValueError, match=r"must be a positive int or None; received batch_size=0\."
    ):
        checks.check_positive_int("batch_size", 0, allow_none=True)
    with pytest.raises(ValueError, match=r"must be a positive int; received batch_size=None\.$"):
        checks.check_positive_int("batch_size", None)
    for check, value in [(checks.check_bool, 1), (checks.check_rate, 1.0), (checks.check_units, 3)]:
        with pytest.raises(ValueError, match=rf"received x={value!r} \(layer_a\)\.$"):
            check("x", value, context="layer_a")
    with pytest.raises(ValueError, match=r"received kind='min' \(p\)\.$"):
        checks.check_choice("kind", "min", ("max", "avg"), context="p")
