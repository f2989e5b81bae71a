"""GoogLeNet and Inception v3: reference counts, the paper's Table 1, compute, the Inception
module, 1-D and 3-D builds, and training with auxiliary heads.

Reference numbers (../shared/REFERENCE.md): torchvision ``num_params``, which counts no
batch-norm moving statistics and so compares with the Keras trainable count (googlenet
6,624,904 without auxiliary heads; inception_v3 27,161,264 with its auxiliary head);
keras.applications InceptionV3 ``count_params()`` 23,851,784 (trainable 23,817,352) at
299x299; torchvision's ``_ops`` in GMACs (googlenet 1.498, inception_v3 5.713 at 299).
Szegedy et al. 2014 (arXiv:1409.4842), Table 1, for GoogLeNet's shapes, widths and ops.
"""

import keras
import numpy as np
import pytest
from conftest import random_images, trainable_count

import cnnzoo
from cnnzoo import count_macs, googlenet, inception_v3, model_info
from cnnzoo.compute import layer_macs
from cnnzoo.layers import SpatialSizeError, inception_module
from cnnzoo.models import compile_with_auxiliary_heads, without_auxiliary_heads
from cnnzoo.models.auxiliary import AuxiliaryTrainingModel
from cnnzoo.models.googlenet import MODULES


def _shape(model, layer):
    return tuple(model.get_layer(layer).output.shape[1:])


@pytest.fixture(scope="module")
def googlenet_paper():
    return googlenet()


@pytest.fixture(scope="module")
def googlenet_torchvision():
    return googlenet(variant="torchvision")


@pytest.fixture(scope="module")
def inception_v3_keras():
    return inception_v3()


# ----- reference parameter counts ------------------------------------------------------


def test_googlenet_bn_matches_torchvision_num_params(googlenet_torchvision):
    assert trainable_count(googlenet_torchvision) == 6_624_904
    assert model_info("googlenet_bn").reference_params == 6_624_904
    assert cnnzoo.create_model("googlenet_bn", include_top=False).name == "googlenet_bn"


def test_googlenet_auxiliary_heads_reproduce_torchvisions_count(googlenet_torchvision):
    model = googlenet(variant="torchvision", aux_logits=True)

    # torchvision's googlenet with aux_logits: 13,004,888 parameters. Its InceptionAux:
    # 1x1 conv 128 (no bias) + batch norm, FC 2048 -> 1024, FC 1024 -> 1000.
    def head(channels):
        return channels * 128 + 2 * 128 + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)

    assert trainable_count(model) - trainable_count(googlenet_torchvision) == head(512) + head(528)
    assert trainable_count(model) == 13_004_888
    assert _shape(model, "aux1_pool") == (4, 4, 512)  # 5x5/3 average pooling of 14x14
    assert _shape(model, "aux2_pool") == (4, 4, 528)
    assert _shape(model, "aux1_flatten") == (2048,)
    assert model.output_names == ["predictions", "aux1_predictions", "aux2_predictions"]
    assert model.get_layer("aux1_dropout").rate == 0.7


def test_inception_v3_matches_keras_applications_count(inception_v3_keras):
    assert inception_v3_keras.count_params() == 23_851_784
    assert trainable_count(inception_v3_keras) == 23_817_352
    assert model_info("inception_v3").reference_params == 23_851_784


def test_inception_v3_torchvision_with_auxiliary_head_matches_torchvision():
    model = inception_v3(variant="torchvision", aux_logits=True)
    assert trainable_count(model) == 27_161_264
    assert model.output_names == ["predictions", "aux_predictions"]
    # torchvision's InceptionAux at 299: 17x17x768 -> 5x5 -> 1x1x768.
    assert _shape(model, "aux_pool") == (5, 5, 768)
    assert _shape(model, "aux_1x1_act") == (5, 5, 128)
    assert _shape(model, "aux_5x5_act") == (1, 1, 768)


@pytest.mark.slow
def test_inception_v3_lines_up_with_keras_applications(inception_v3_keras):
    theirs = keras.applications.InceptionV3(weights=None, classifier_activation=None)
    ours = inception_v3(classifier_activation=None)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    for i in range(11):
        assert _shape(ours, f"mixed{i}") == _shape(theirs, f"mixed{i}")
    # Same weights in the same order give the same logits: branches, their order in each
    # concatenation, kernels (1x7 vs 7x1) and paddings all agree.
    ours.set_weights(theirs.get_weights())
    x = random_images((299, 299, 3), 1)
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-5
    )


# ----- GoogLeNet against the paper's Table 1 -------------------------------------------

# Table 1 at 224x224: output size of each layer (the stem and every module).
TABLE_1_SHAPES = {
    "stage1_out": (112, 112, 64),  # convolution 7x7/2
    "pool1": (56, 56, 64),  # max pool 3x3/2
    "conv2_reduce_act": (56, 56, 64),
    "conv2_act": (56, 56, 192),  # convolution 3x3/1
    "stage2_out": (56, 56, 192),
    "pool2": (28, 28, 192),
    "inception3a_concat": (28, 28, 256),
    "inception3b_concat": (28, 28, 480),
    "stage3_out": (28, 28, 480),
    "pool3": (14, 14, 480),
    "inception4a_concat": (14, 14, 512),
    "inception4b_concat": (14, 14, 512),
    "inception4c_concat": (14, 14, 512),
    "inception4d_concat": (14, 14, 528),
    "inception4e_concat": (14, 14, 832),
    "stage4_out": (14, 14, 832),
    "pool4": (7, 7, 832),
    "inception5a_concat": (7, 7, 832),
    "inception5b_concat": (7, 7, 1024),
    "stage5_out": (7, 7, 1024),
    "head_avg_pool": (1024,),  # avg pool 7x7/1
    "predictions": (1000,),
}
# Table 1's ops column (millions) for each module. 5a is the table's one outlier: its
# widths give 51.1 M at 7x7x832 (the table says 54 M, and 1072K parameters for 1042K).
TABLE_1_MODULE_OPS = {
    "3a": 128, "3b": 304, "4a": 73, "4b": 88, "4c": 100, "4d": 119, "4e": 170, "5b": 71,
}  # fmt: skip


@pytest.mark.parametrize("variant", ["paper", "torchvision"])
def test_googlenet_follows_table_1_shapes(variant, googlenet_paper, googlenet_torchvision):
    model = googlenet_paper if variant == "paper" else googlenet_torchvision
    assert {layer: _shape(model, layer) for layer in TABLE_1_SHAPES} == TABLE_1_SHAPES


def test_googlenet_paper_params_follow_table_1_widths(googlenet_paper):
    def conv(inputs, filters, kernel):
        return inputs * kernel * kernel * filters + filters  # with biases, no batch norm

    total = conv(3, 64, 7) + conv(64, 64, 1) + conv(64, 192, 3)
    channels = 192
    for modules in MODULES.values():
        for n1x1, n3x3r, n3x3, n5x5r, n5x5, proj in modules.values():
            total += conv(channels, n1x1, 1) + conv(channels, n3x3r, 1) + conv(n3x3r, n3x3, 3)
            total += conv(channels, n5x5r, 1) + conv(n5x5r, n5x5, 5) + conv(channels, proj, 1)
            channels = n1x1 + n3x3 + n5x5 + proj
    total += channels * 1000 + 1000
    assert googlenet_paper.count_params() == total == 6_998_552
    assert model_info("googlenet").reference_params == total


def test_googlenet_module_widths_are_table_1s(googlenet_paper):
    for modules in MODULES.values():
        for module, (n1x1, _, n3x3, _, n5x5, proj) in modules.items():
            assert _shape(googlenet_paper, f"inception{module}_concat")[-1] == (
                n1x1 + n3x3 + n5x5 + proj
            )
            assert googlenet_paper.get_layer(f"inception{module}_5x5_conv").kernel_size == (5, 5)
    assert MODULES[3]["3a"] == (64, 96, 128, 16, 32, 32)
    assert MODULES[5]["5b"] == (384, 192, 384, 48, 128, 128)


def test_googlenet_module_macs_follow_table_1_ops(googlenet_paper):
    def module_macs(module):
        layers = googlenet_paper.layers
        return sum(layer_macs(layer) for layer in layers if layer.name.startswith(module + "_"))

    for module, ops in TABLE_1_MODULE_OPS.items():
        assert abs(module_macs(f"inception{module}") / 1e6 - ops) < 1, module
    assert module_macs("inception5a") == 7 * 7 * (
        832 * 256 + 832 * 160 + 160 * 320 * 9 + 832 * 32 + 32 * 128 * 25 + 832 * 128
    )


def test_googlenet_variants_differ_where_documented(googlenet_paper, googlenet_torchvision):
    paper, torchvision = googlenet_paper, googlenet_torchvision
    names = {layer.name for layer in paper.layers}
    assert {"lrn1", "lrn2"} <= names and not any(n.endswith("_bn") for n in names)
    lrn = paper.get_layer("lrn1")
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.bias) == (5, 1e-4 / 5, 0.75, 1.0)
    assert paper.get_layer("conv1_conv").use_bias
    assert paper.get_layer("inception4a_5x5_conv").kernel_size == (5, 5)
    assert paper.get_layer("pool4").pool_size == (3, 3)
    assert paper.get_layer("head_dropout").rate == 0.4

    names = {layer.name for layer in torchvision.layers}
    assert "lrn1" not in names and "lrn2" not in names
    assert not torchvision.get_layer("conv1_conv").use_bias
    assert torchvision.get_layer("conv1_bn").epsilon == 1e-3
    assert torchvision.get_layer("inception4a_5x5_conv").kernel_size == (3, 3)
    assert torchvision.get_layer("pool4").pool_size == (2, 2)
    assert torchvision.get_layer("head_dropout").rate == 0.2
    # conv1 pads 3 on each side as Caffe and torchvision do.
    assert torchvision.get_layer("conv1_pad").padding == ((3, 3), (3, 3))


def test_googlenet_user_overrides_win_over_the_variant():
    with_bn = googlenet(norm="batch", input_shape=(32, 32, 3), include_top=False)
    assert isinstance(with_bn.get_layer("inception3a_1x1_bn"), keras.layers.BatchNormalization)
    assert with_bn.get_layer("inception3a_5x5_conv").kernel_size == (5, 5)
    plain = googlenet(variant="torchvision", norm=None, lrn=True, kernel_5x5=5, dropout=0.5,
                      input_shape=(32, 32, 3), num_classes=4)  # fmt: skip
    assert plain.get_layer("inception3a_1x1_conv").use_bias
    assert not any(layer.name.endswith("_bn") for layer in plain.layers)
    assert plain.get_layer("inception3a_5x5_conv").kernel_size == (5, 5)
    assert plain.get_layer("head_dropout").rate == 0.5
    assert "lrn2" in {layer.name for layer in plain.layers}


# ----- Inception v3 --------------------------------------------------------------------


def test_inception_v3_stages_and_keras_names(inception_v3_keras):
    model = inception_v3_keras
    stages = [_shape(model, f"stage{i}_out") for i in range(1, 6)]
    assert stages == [(147, 147, 64), (71, 71, 192), (35, 35, 288), (17, 17, 768), (8, 8, 2048)]
    channels = [_shape(model, f"mixed{i}")[-1] for i in range(11)]
    assert channels == [256, 288, 288, 768, 768, 768, 768, 768, 1280, 2048, 2048]
    # The factorized 7x7 of mixed4 (torchvision's Mixed_6b.branch7x7_2 and _3).
    assert model.get_layer("mixed4_branch7x7_2_conv").kernel_size == (1, 7)
    assert model.get_layer("mixed4_branch7x7_3_conv").kernel_size == (7, 1)
    assert model.get_layer("mixed9_branch3x3dbl_3b_conv").kernel_size == (3, 1)
    bn = model.get_layer("conv1a_bn")
    assert (bn.scale, bn.epsilon) == (False, 1e-3)
    assert not model.get_layer("conv1a_conv").use_bias
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)


def test_inception_v3_torchvision_variant_has_scale_and_dropout():
    model = inception_v3(variant="torchvision", input_shape=(75, 75, 3), num_classes=4)
    assert model.get_layer("conv1a_bn").scale
    assert model.get_layer("head_dropout").rate == 0.5


# ----- compute ---------------------------------------------------------------------------


def test_macs_match_torchvision(googlenet_torchvision, inception_v3_keras):
    # Convolution and dense MACs of one forward pass without auxiliary heads, which is
    # what torchvision measures (its heads run in training mode only). Both agree with
    # the published figures to their last digit: 1,498,376,192 and 5,713,216,096.
    assert count_macs(googlenet_torchvision) / 1e9 == pytest.approx(1.498, rel=5e-4)
    assert count_macs(inception_v3_keras) / 1e9 == pytest.approx(5.713, rel=5e-4)


def test_naive_module_costs_more_and_widens():
    x = keras.Input((28, 28, 192))
    reduced = keras.Model(x, inception_module(x, 64, 96, 128, 16, 32, 32, name="m"))
    naive = keras.Model(x, inception_module(x, 64, None, 128, None, 32, None, naive=True, name="n"))
    positions = 28 * 28
    assert count_macs(reduced) == positions * (
        192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32
    )
    assert count_macs(naive) == positions * (192 * 64 + 192 * 128 * 9 + 192 * 32 * 25)
    assert count_macs(reduced) == 128_049_152 and count_macs(naive) == 303_464_448
    assert reduced.output_shape == (None, 28, 28, 256)
    assert naive.output_shape == (None, 28, 28, 64 + 128 + 32 + 192)


def test_inception_module_layer_names():
    x = keras.Input((8, 8, 16))
    reduced = keras.Model(x, inception_module(x, 4, 4, 8, 2, 4, 4, name="m", norm="batch"))
    convs = ["1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj"]
    expected = {f"m_{conv}_{part}" for conv in convs for part in ("conv", "bn", "act")}
    assert {layer.name for layer in reduced.layers[1:]} == expected | {"m_pool", "m_concat"}
    naive = keras.Model(x, inception_module(x, 4, None, 8, None, 4, None, naive=True, name="n"))
    assert {layer.name for layer in naive.layers[1:]} == {
        "n_1x1_conv", "n_1x1_act", "n_3x3_conv", "n_3x3_act", "n_5x5_conv", "n_5x5_act",
        "n_pool", "n_concat",
    }  # fmt: skip
    assert naive.get_layer("n_pool").strides == (1, 1)
    assert naive.get_layer("n_pool").padding == "same"


# ----- 1-D and 3-D -----------------------------------------------------------------------


@pytest.mark.parametrize("rank", [1, 3])
def test_googlenet_builds_in_one_and_three_dimensions(rank):
    model = googlenet(input_shape=(32,) * rank + (2,), num_classes=3)
    convs = {type(layer).__name__ for layer in model.layers if layer.name.endswith("_conv")}
    pools = {type(layer).__name__ for layer in model.layers if layer.name.endswith("pool")}
    assert convs == {f"Conv{rank}D"}
    assert pools == {f"MaxPooling{rank}D", f"GlobalAveragePooling{rank}D"}
    assert _shape(model, "inception3b_concat") == (4,) * rank + (480,)
    assert _shape(model, "stage5_out") == (1,) * rank + (1024,)
    x = random_images(model.input_shape[1:], 1)
    output = model.predict(x, verbose=0)
    assert output.shape == (1, 3) and np.all(np.isfinite(output))


def test_googlenet_auxiliary_heads_in_one_dimension():
    model = googlenet(input_shape=(224, 2), num_classes=3, aux_logits=True)
    assert _shape(model, "aux1_pool") == (4, 512)
    assert type(model.get_layer("aux1_pool")).__name__ == "AveragePooling1D"
    assert [tuple(shape) for shape in model.output_shape] == [(None, 3)] * 3


@pytest.mark.parametrize("rank", [1, 3])
@pytest.mark.parametrize("naive", [False, True])
def test_inception_module_follows_the_input_rank(rank, naive):
    x = keras.Input((6,) * rank + (8,))
    widths = (4, None, 8, None, 2, None) if naive else (4, 3, 8, 2, 2, 5)
    y = inception_module(x, *widths, naive=naive, name="m")
    assert tuple(y.shape) == (None, *(6,) * rank, 4 + 8 + 2 + (8 if naive else 5))
    model = keras.Model(x, y)
    assert type(model.get_layer("m_5x5_conv")).__name__ == f"Conv{rank}D"
    assert model.get_layer("m_5x5_conv").kernel_size == (5,) * rank


# ----- training with auxiliary heads -----------------------------------------------------


@pytest.mark.slow
def test_auxiliary_training_applies_the_loss_weights_then_strips_the_heads():
    model = googlenet(input_shape=(65, 65, 3), num_classes=3, aux_logits=True)
    train = compile_with_auxiliary_heads(
        model, optimizer=keras.optimizers.SGD(0.01), metrics=["accuracy"]
    )
    x, y = random_images((65, 65, 3), 8), np.arange(8) % 3
    before = model.predict(x, verbose=0)[0]
    logs = {
        key: values[0] for key, values in train.fit(x, y, batch_size=8, verbose=0).history.items()
    }
    main, aux1, aux2 = (
        logs[f"{n}_loss"] for n in ("predictions", "aux1_predictions", "aux2_predictions")
    )
    # One batch: the reported total is the weighted sum of the reported per-output losses.
    assert logs["loss"] == pytest.approx(main + 0.3 * aux1 + 0.3 * aux2, rel=1e-5)
    assert logs["loss"] != pytest.approx(main + aux1 + aux2, rel=1e-3)
    assert "predictions_accuracy" in logs
    # The training model shares the built model's weights.
    assert not np.allclose(model.predict(x, verbose=0)[0], before)

    inference = without_auxiliary_heads(train)
    assert inference.output_names == ["predictions"]
    assert not any(layer.name.startswith("aux") for layer in inference.layers)
    np.testing.assert_array_equal(inference.predict(x, verbose=0), train.predict(x, verbose=0)[0])
    # Compiled with the main output's loss and metrics: evaluate reports them alone.
    scores = inference.evaluate(x, y, verbose=0, return_dict=True)
    train_scores = train.evaluate(x, y, verbose=0, return_dict=True)
    assert set(scores) == {"loss", "accuracy"}
    assert scores["loss"] == pytest.approx(train_scores["predictions_loss"], rel=1e-5)


def _tiny_auxiliary_model():
    inputs = keras.Input((4,), name="input")
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    outputs = [
        keras.layers.Dense(3, activation="softmax", name=name)(hidden)
        for name in ("predictions", "aux1_predictions", "aux2_predictions")
    ]
    return keras.Model(inputs, outputs, name="tiny")


def _tiny_data():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(8, 4)).astype("float32"), np.arange(8) % 3


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0])
def test_aux_loss_weight_is_the_weight_of_each_auxiliary_loss(weight):
    train = compile_with_auxiliary_heads(
        _tiny_auxiliary_model(), optimizer="sgd", aux_loss_weight=weight
    )
    x, y = _tiny_data()
    logs = train.evaluate(x, y, verbose=0, return_dict=True)
    expected = logs["predictions_loss"] + weight * (
        logs["aux1_predictions_loss"] + logs["aux2_predictions_loss"]
    )
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)


def test_labels_per_output_still_work():
    train = compile_with_auxiliary_heads(_tiny_auxiliary_model(), optimizer="sgd")
    x, y = _tiny_data()
    logs = train.fit(x, [y, y, y], batch_size=8, verbose=0).history
    assert np.isfinite(logs["loss"][0])


def test_training_model_reloads_with_its_compile_settings(tmp_path):
    train = compile_with_auxiliary_heads(
        _tiny_auxiliary_model(), optimizer="sgd", metrics=["accuracy"]
    )
    x, y = _tiny_data()
    train.fit(x, y, verbose=0)
    train.save(tmp_path / "train.keras")
    reloaded = keras.saving.load_model(tmp_path / "train.keras")
    assert isinstance(reloaded, AuxiliaryTrainingModel)
    assert reloaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        train.evaluate(x, y, verbose=0, return_dict=True)
    )
    scores = without_auxiliary_heads(reloaded).evaluate(x, y, verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(
        train.evaluate(x, y, verbose=0, return_dict=True)["predictions_loss"]
    )


def test_without_auxiliary_heads_of_an_uncompiled_model_is_uncompiled():
    model = _tiny_auxiliary_model()
    inference = without_auxiliary_heads(model)
    assert not inference.compiled
    assert inference.get_layer("hidden") is model.get_layer("hidden")


# ----- argument checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "kwargs", "pieces"),
    [
        (googlenet, dict(variant="v1"), ["variant='v1'", "'paper'", "'torchvision'"]),
        (googlenet, dict(aux_logits=True, include_top=False),
         ["include_top=False", "aux_logits=True"]),
        (googlenet, dict(aux_logits="yes"), ["aux_logits='yes'", "True or False"]),
        (googlenet, dict(aux_logits=True, input_shape=(None, None, 3)),
         ["aux_logits=True", "input_shape=(None, None, 3)"]),
        (googlenet, dict(lrn=1), ["lrn=1", "True or False"]),
        (googlenet, dict(kernel_5x5=0), ["kernel_5x5=0", "positive int"]),
        (googlenet, dict(norm="layer"), ["norm='layer'", "'batch'"]),
        (googlenet, dict(dropout=1.5), ["dropout=1.5", "[0, 1)"]),
        (googlenet, dict(fc_units=(8,)), ["unknown argument 'fc_units'"]),
        (inception_v3, dict(variant="tf"), ["variant='tf'", "'keras'", "'torchvision'"]),
        (inception_v3, dict(aux_logits=True, include_top=False),
         ["include_top=False", "aux_logits=True"]),
        (inception_v3, dict(input_shape=(75, 3)), ["input_shape=(75, 3)", "2-D images"]),
        (inception_v3, dict(input_shape=(75, 75, 75, 3)), ["input_shape=(75, 75, 75, 3)", "2-D"]),
    ],
)  # fmt: skip
def test_factory_argument_errors(factory, kwargs, pieces):
    with pytest.raises(ValueError) as info:
        factory(**{"input_shape": (75, 75, 3), **kwargs})
    assert not isinstance(info.value, SpatialSizeError)
    for piece in pieces:
        assert piece in str(info.value)


@pytest.mark.parametrize(
    ("widths", "kwargs", "pieces"),
    [
        ((4, 4, 8, 2, 4, 4), dict(naive=True),
         ["naive=True", "filters_3x3_reduce=4", "pool_proj=4"]),
        ((4, None, 8, 2, 4, None), dict(naive=True), ["filters_5x5_reduce=2", "must be None"]),
        ((4, None, 8, 2, 4, 4), {}, ["filters_3x3_reduce=None", "only with naive=True"]),
        ((4, 4, 0, 2, 4, 4), {}, ["filters_3x3=0", "positive int"]),
        ((4, 4, 8, 2, 4.0, 4), {}, ["filters_5x5=4.0", "positive int"]),
        ((4, 4, 8, 2, 4, 4), dict(kernel_5x5=(5, 5)), ["kernel_5x5=(5, 5)"]),
        ((4, 4, 8, 2, 4, 4), dict(naive="yes"), ["naive='yes'", "True or False"]),
    ],
)  # fmt: skip
def test_inception_module_argument_errors(widths, kwargs, pieces):
    with pytest.raises(ValueError) as info:
        inception_module(keras.Input((8, 8, 16)), *widths, name="m", **kwargs)
    for piece in pieces:
        assert piece in str(info.value)


def test_auxiliary_helper_errors():
    single = googlenet(input_shape=(32, 32, 3), num_classes=3)
    with pytest.raises(ValueError, match=r"auxiliary outputs.*received a model with outputs "
                       r"\['predictions'\]"):  # fmt: skip
        compile_with_auxiliary_heads(single)
    model = _tiny_auxiliary_model()
    with pytest.raises(ValueError, match=r"received aux_loss_weight=-0\.3"):
        compile_with_auxiliary_heads(model, aux_loss_weight=-0.3)
    with pytest.raises(ValueError, match=r"received loss_weights=\[1, 1, 1\]"):
        compile_with_auxiliary_heads(model, loss_weights=[1, 1, 1])
    with pytest.raises(ValueError, match=r"received model='googlenet'"):
        compile_with_auxiliary_heads("googlenet")
    headless = googlenet(input_shape=(32, 32, 3), include_top=False)
    with pytest.raises(ValueError, match=r"include_top=True.*outputs \['stage5_out'\]"):
        without_auxiliary_heads(headless)


@pytest.mark.parametrize(
    ("build", "size", "layer"),
    [
        (lambda shape: googlenet(input_shape=shape, aux_logits=True), 64, "aux1_pool"),
        (lambda shape: inception_v3(input_shape=shape, aux_logits=True), 298, "aux_5x5_conv"),
    ],
)
def test_auxiliary_heads_name_their_minimum_input(build, size, layer):
    build((size + 1, size + 1, 3))
    with pytest.raises(SpatialSizeError) as info:
        build((size, size, 3))
    assert f"layer '{layer}'" in str(info.value)
    assert "aux_logits=True" in str(info.value)


# ----- registry --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family", "arxiv", "min_size", "default_size"),
    [
        ("googlenet", "googlenet", "1409.4842", 17, 224),
        ("googlenet_bn", "googlenet", "1409.4842", 15, 224),  # ceil mode, as torchvision
        ("inception_v3", "inception", "1512.00567", 75, 299),
    ],
)
def test_model_info(name, family, arxiv, min_size, default_size):
    info = model_info(name)
    assert (info.family, info.min_input_size) == (family, min_size)
    assert info.default_input_shape == (default_size, default_size, 3)
    assert arxiv in info.paper and "Szegedy" in info.paper
    assert info.year == (2015 if name == "inception_v3" else 2014)
    assert info.notes
    assert cnnzoo.create_model(name, include_top=False, input_shape=(min_size, min_size, 3))


def test_public_api():
    for name in ("googlenet", "inception_v3", "compile_with_auxiliary_heads",
                 "without_auxiliary_heads"):  # fmt: skip
        assert name in cnnzoo.__all__ and callable(getattr(cnnzoo, name))
    assert "inception_module" in cnnzoo.layers.__all__
