"""ResNet: the three variants against their references, the paper's tables, and every knob.

Reference numbers from ../shared/REFERENCE.md: torchvision ``num_params`` (compared with the
trainable count), keras.applications ``count_params()`` (keras 3.15.1), torchvision GMACs,
and the ResNet paper's Table 1 (stage outputs 56, 28, 14, 7 at 224) and Table 6 (CIFAR-10).
"""

import keras
import numpy as np
import pytest
from conftest import random_images, trainable_count

from cnnzoo import cifar_resnet, count_macs, create_model, model_info, resnet
from cnnzoo.layers import (
    SpatialSizeError,
    basic_block,
    bottleneck_block,
    preact_bottleneck_block,
)
from cnnzoo.models.resnet import CIFAR_PAPER_MILLIONS

# resnet(depth, variant="v1") is no registered name, so its count is kept here; the
# registered ResNets' counts are declared in cnnzoo/models/resnet_family.py and checked by
# tests/test_reference.py.
KERAS_V1_COUNT_PARAMS = {50: 25_636_712, 101: 44_707_176, 152: 60_419_944}
TORCHVISION_GMACS = {18: 1.814, 50: 4.089}


def _shape(model, layer):
    return tuple(model.get_layer(layer).output.shape[1:])


def _fit_one_step(model, classes=3):
    x = random_images(model.input_shape[1:], 4)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(x, np.arange(4) % classes, epochs=1, batch_size=4, verbose=0)
    return history.history["loss"][0]


# ----- reference counts ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("depth", sorted(KERAS_V1_COUNT_PARAMS))
def test_v1_count_params_match_keras_applications(depth):
    assert resnet(depth, variant="v1").count_params() == KERAS_V1_COUNT_PARAMS[depth]


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "reference"), [("v1", "ResNet50"), ("v2", "ResNet50V2")])
def test_weights_line_up_with_keras_applications(variant, reference):
    ours = resnet(50, variant=variant)
    theirs = getattr(keras.applications, reference)(weights=None)
    # Same weights, block by block (the order within a block may differ).
    assert sorted(tuple(w.shape) for w in ours.weights) == sorted(
        tuple(w.shape) for w in theirs.weights
    )
    ours_convs = [layer for layer in ours.layers if isinstance(layer, keras.layers.Conv2D)]
    theirs_convs = [layer for layer in theirs.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.use_bias for c in ours_convs if c.kernel_size == (3, 3)] == [
        c.use_bias for c in theirs_convs if c.kernel_size == (3, 3)
    ]


@pytest.mark.parametrize("depth", sorted(CIFAR_PAPER_MILLIONS))
def test_cifar_networks_match_the_papers_table_6(depth):
    model = create_model(f"resnet{depth}")
    millions = CIFAR_PAPER_MILLIONS[depth]
    digits = 1 if millions >= 1 else 2
    assert round(trainable_count(model) / 1e6, digits) == millions
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) + 1 == depth  # 6n + 1 convolutions and the classifier: 6n + 2 layers
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize("depth", sorted(TORCHVISION_GMACS))
def test_macs_match_torchvision(depth):
    assert count_macs(resnet(depth)) / 1e9 == pytest.approx(TORCHVISION_GMACS[depth], rel=2e-3)


def test_v1_costs_less_compute_than_v1_5():
    # The stride on the first 1x1 skips three quarters of its inputs (keras ResNet50: 3.86 G).
    assert count_macs(resnet(50, variant="v1")) / 1e9 == pytest.approx(3.858, rel=2e-3)


# ----- the paper's Table 1 ---------------------------------------------------------------


@pytest.mark.parametrize("variant", ["v1", "v1.5", "v2"])
@pytest.mark.parametrize("depth", [18, 50])
def test_stage_outputs_follow_table_1(depth, variant):
    model = resnet(depth, variant=variant, include_top=False)
    expansion = 4 if depth == 50 else 1
    assert _shape(model, "stem_conv") == (112, 112, 64)
    assert _shape(model, "stem_pool") == (56, 56, 64)
    for stage, (size, width) in enumerate(
        zip((56, 28, 14, 7), (64, 128, 256, 512), strict=True), start=1
    ):
        assert _shape(model, f"stage{stage}_out") == (size, size, width * expansion)


def test_variants_differ_where_documented():
    v1, v15, v2 = (resnet(50, variant=v, input_shape=(64, 64, 3)) for v in ("v1", "v1.5", "v2"))
    # v1: biases everywhere, stride on the first 1x1 of a downsampling bottleneck.
    assert all(layer.use_bias for layer in v1.layers if isinstance(layer, keras.layers.Conv2D))
    assert v1.get_layer("stage2_block1_1_conv").strides == (2, 2)
    assert v1.get_layer("stage2_block1_2_conv").strides == (1, 1)
    # v1.5: no bias before batch norm, stride on the 3x3.
    assert not any(layer.use_bias for layer in v15.layers if isinstance(layer, keras.layers.Conv2D))
    assert v15.get_layer("stage2_block1_1_conv").strides == (1, 1)
    assert v15.get_layer("stage2_block1_2_conv").strides == (2, 2)
    # v2: normalization before the convolutions, nothing after the sum, a final norm.
    names = {layer.name for layer in v2.layers}
    assert {"stage1_block1_preact_bn", "post_bn", "post_act"} <= names
    assert "stage1_block1_3_bn" not in names and "stem_bn" not in names
    assert isinstance(v2.get_layer("stage1_block2_out"), keras.layers.Add)
    assert v2.get_layer("stage1_block1_3_conv").use_bias
    assert not v2.get_layer("stage1_block1_2_conv").use_bias


def test_default_variant_and_names():
    assert resnet(18, input_shape=(32, 32, 3)).name == "resnet18"
    assert resnet(50, variant="v2", input_shape=(32, 32, 3)).name == "resnet50v2"
    assert resnet(50, variant="v1", input_shape=(32, 32, 3)).name == "resnet50_v1"
    assert cifar_resnet(32, name=None).name == "resnet32"
    assert create_model("resnet56", name="mine").name == "mine"
    assert "v1.5" in model_info("resnet50").notes and "keras" in model_info("resnet50v2").notes


# ----- every variant trains ---------------------------------------------------------------


@pytest.mark.parametrize("variant", ["v1", "v1.5", "v2"])
@pytest.mark.parametrize("block", ["basic", "bottleneck"])
@pytest.mark.parametrize("shortcut", ["projection", "zero_pad"])
def test_every_variant_trains_one_step(variant, block, shortcut):
    model = resnet(
        None, block=block, depths=(1, 2), widths=(8, 16), variant=variant, shortcut=shortcut,
        stem="cifar", stem_width=8, input_shape=(8, 8, 3), num_classes=3, drop_path_rate=0.1,
    )  # fmt: skip
    before = [w.numpy().copy() for w in model.trainable_weights]
    assert np.isfinite(_fit_one_step(model))
    assert all(
        not np.array_equal(b, w.numpy())
        for b, w in zip(before, model.trainable_weights, strict=True)
    )


@pytest.mark.parametrize(
    "input_shape", [(64, 2), (32, 32, 32, 1)], ids=["1-D signal", "3-D volume"]
)
def test_one_and_three_dimensional_resnets(input_shape):
    model = resnet(18, input_shape=input_shape, widths=(8, 8, 16, 16), stem_width=8,
                   num_classes=3)  # fmt: skip
    assert isinstance(model.get_layer("stem_conv"), (keras.layers.Conv1D, keras.layers.Conv3D))
    # Downsampled by 32, except a volume's depth, which its stem keeps (by 8).
    last = (4, 1, 1) if len(input_shape) == 4 else (2,)
    assert _shape(model, "stage4_out") == (*last, 16)
    assert np.isfinite(_fit_one_step(model))


# ----- knobs ------------------------------------------------------------------------------


def test_cifar_stem_keeps_32x32():
    model = resnet(18, stem="cifar", input_shape=(32, 32, 3), num_classes=10)
    assert "stem_pool" not in {layer.name for layer in model.layers}
    assert model.get_layer("stem_conv").kernel_size == (3, 3)
    assert [_shape(model, f"stage{i}_out")[0] for i in range(1, 5)] == [32, 16, 8, 4]


def test_zero_pad_shortcut_has_no_parameters():
    model = cifar_resnet(20)
    names = {layer.name for layer in model.layers}
    assert "stage2_block1_shortcut_pad" in names and "stage2_block1_shortcut_conv" not in names
    projected = cifar_resnet(20, shortcut="projection")
    extra = trainable_count(projected) - trainable_count(model)
    assert extra == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)  # two 1x1 convolutions with BN
    x = np.random.default_rng(0).normal(size=(1, 4, 4, 16)).astype("float32")
    block_input = keras.Input((4, 4, 16))
    block = keras.Model(block_input, basic_block(block_input, 32, strides=2, name="b",
                                                 shortcut="zero_pad"))  # fmt: skip
    shortcut = keras.Model(block.input, block.get_layer("b_shortcut_pad").output)(x).numpy()
    np.testing.assert_array_equal(shortcut[..., :16], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(shortcut[..., 16:], 0)


def test_width_multiplier_and_overrides():
    wide = resnet(18, width=2, input_shape=(64, 64, 3), include_top=False)
    assert _shape(wide, "stage4_out") == (2, 2, 1024)
    assert _shape(wide, "stem_conv")[-1] == 64
    custom = resnet(
        50, depths=(1, 1, 2, 1), strides=(1, 2, 2, 1), input_shape=(64, 64, 3), include_top=False
    )
    assert _shape(custom, "stage4_out") == (4, 4, 2048)
    assert "stage3_block2_out" in {layer.name for layer in custom.layers}
    assert "stage3_block3_out" not in {layer.name for layer in custom.layers}


def test_a_thin_cifar_resnet_thins_its_stem_for_the_zero_padded_shortcuts():
    from cnnzoo import resnet20

    thin = resnet20(width=0.25, input_shape=(8, 8, 3), num_classes=2)  # tuning offers 0.25
    assert _shape(thin, "stem_conv")[-1] == 4 and _shape(thin, "stage3_out")[-1] == 16
    projection = resnet(18, width=0.25, input_shape=(32, 32, 3), include_top=False)
    assert _shape(projection, "stem_conv")[-1] == 64  # a projection shortcut needs none


@pytest.mark.parametrize("variant", ["v1.5", "v2"])
def test_zero_init_residual_starts_every_block_as_the_identity(variant):
    model = resnet(18, variant=variant, zero_init_residual=True, input_shape=(32, 32, 3))
    last = "stage1_block2_2_bn" if variant == "v1.5" else "stage1_block2_2_conv"
    weight = model.get_layer(last).gamma if variant == "v1.5" else model.get_layer(last).kernel
    assert not np.any(weight.numpy())
    x = random_images((32, 32, 3))
    probe = keras.Model(
        model.input, [model.get_layer("stage1_block1_out").output,
                      model.get_layer("stage1_block2_out").output],
    )  # fmt: skip
    block_in, block_out = probe(x, training=False)
    # v1.5: relu(x + 0) = x after a ReLU; v2: x + 0.
    np.testing.assert_allclose(block_out.numpy(), block_in.numpy(), rtol=1e-6)
    default = resnet(18, variant=variant, input_shape=(32, 32, 3))
    assert np.any(default.get_layer(last).get_weights()[0])


def test_drop_path_rates_grow_linearly_and_drop_whole_examples():
    model = resnet(18, drop_path_rate=0.4, input_shape=(32, 32, 3))
    rates = [layer.rate for layer in model.layers if layer.name.endswith("_drop_path")]
    np.testing.assert_allclose(rates, [0.4 * k / 8 for k in range(1, 9)])
    layer = model.get_layer("stage4_block2_drop_path")
    ones = np.ones((256, 2, 2, 8), "float32")
    dropped = keras.ops.convert_to_numpy(layer(ones, training=True)).reshape(256, -1)
    per_example = dropped[:, 0]
    assert np.all(dropped == per_example[:, None])  # a whole example is kept or dropped
    np.testing.assert_allclose(np.unique(per_example), [0.0, 1 / 0.6], rtol=1e-6)
    assert 0.25 < np.mean(per_example == 0) < 0.55
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(ones, training=False)), ones)


def test_drop_path_model_reloads(tmp_path):
    model = resnet(18, drop_path_rate=0.2, input_shape=(32, 32, 3), num_classes=4)
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    x = random_images((32, 32, 3))
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert reloaded.get_layer("stage4_block2_drop_path").noise_shape == (None, 1, 1, 1)


def test_blocks_are_public_and_dimension_generic():
    y = preact_bottleneck_block(keras.Input((16, 8)), 4, strides=2, name="b")
    assert tuple(y.shape) == (None, 8, 16)


# ----- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(variant="v3"), r"variant must be one of \('v1', 'v1.5', 'v2'\); .*variant='v3'"),
        (dict(depth=42), r"depth must be one of \(18, 34, 50, 101, 152\).*depth=42.*cifar_resnet"),
        (dict(drop_path_rate=-0.1), r"drop_path_rate must be .*\[0, 1\); .*drop_path_rate=-0.1"),
        (dict(stem="tiny"), r"stem must be one of \('imagenet', 'cifar'\); received stem='tiny'"),
        (dict(shortcut="A"), r"shortcut must be one of .*received shortcut='A'"),
        (dict(width=0), r"width must be a positive number; received width=0"),
        (dict(block="dense"), r"block must be one of .*received block='dense'"),
        (dict(depth=None), r"needs both block and depths"),
        (dict(widths=(64, 128)), r"widths must give one width per stage \(4 stages\)"),
        (dict(zero_init_residual=1), r"zero_init_residual must be True or False"),
    ],
)  # fmt: skip
def test_bad_arguments_raise_naming_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resnet(**{"depth": 18, "input_shape": (32, 32, 3), **kwargs})


def test_imagenet_stem_on_a_too_small_input_names_the_layer_and_suggests_cifar():
    with pytest.raises(SpatialSizeError) as error:
        resnet(18, input_shape=(16, 16, 3))
    message = str(error.value)
    assert message.startswith("input_shape=(16, 16, 3): ")
    # The first layer of stage 4 (its projection shortcut) gets 1 pixel and a stride of 2.
    assert "'stage4_block1_shortcut_conv'" in message and "receives height 1" in message
    assert "floor((1 + 2*0 - 1) / 2) + 1 = 1" in message
    assert "downsamples by 32" in message and "stem='cifar'" in message
    assert resnet(18, input_shape=(16, 16, 3), stem="cifar").output_shape == (None, 1000)


@pytest.mark.parametrize("depth", [21, 2, 50.0, "20"])
def test_cifar_depth_must_be_6n_plus_2(depth):
    with pytest.raises(ValueError, match=rf"depth must be 6n \+ 2 .*received depth={depth!r}"):
        cifar_resnet(depth)


def test_zero_pad_shortcut_cannot_remove_channels():
    with pytest.raises(ValueError, match=r"shortcut='zero_pad' can only add channels.*64 to 32"):
        resnet(None, block="basic", depths=(1, 1), widths=(64, 32), shortcut="zero_pad",
               stem="cifar", input_shape=(8, 8, 3))  # fmt: skip


def test_unknown_argument_suggests_the_knob():
    with pytest.raises(ValueError, match=r"unknown argument 'drop_path'.*'drop_path_rate'"):
        resnet(18, drop_path=0.1)


@pytest.mark.parametrize("block", [bottleneck_block, preact_bottleneck_block])
def test_bottleneck_expansion_must_be_a_positive_int(block):
    with pytest.raises(ValueError, match=r"expansion must be a positive int; received expansion=0"):
        block(keras.Input((8, 8, 4)), 4, expansion=0, name="b")
