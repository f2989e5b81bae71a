"""Porting PyTorch state dicts by layer name (cnnzoo.transfer.port_state_dict) and back
(export_state_dict), without PyTorch: the state dicts are exported from cnnzoo models.
Each error names the first layer that does not fit; nothing is set unless all of it fits.
tests/test_equivalence.py proves the ports equal to torchvision's models."""

import keras
import numpy as np
import pytest
from conftest import random_images

from cnnzoo import create_model, googlenet, inception_v3, resnet18
from cnnzoo.layers.constant_padding import ConstantPadding
from cnnzoo.transfer import WeightsMismatchError, export_state_dict, port_state_dict

SHAPE = (32, 32, 3)


@pytest.fixture(scope="module")
def resnet18_state():
    return export_state_dict(resnet18(input_shape=SHAPE, num_classes=10))


def _outputs(model, images):
    return keras.ops.convert_to_numpy(model(images, training=False))


def _weights(model):
    return [weight.copy() for weight in model.get_weights()]


def test_a_port_of_an_export_is_the_same_model():
    images = random_images((64, 64, 3), seed=1)
    for name in ("resnet18", "googlenet_bn", "vgg11_bn"):
        kwargs = {"fc_units": (16, 16)} if name.startswith("vgg") else {}
        source = create_model(name, input_shape=(64, 64, 3), num_classes=7, **kwargs)
        for layer in source.layers:  # batch-norm statistics away from their 0 and 1
            if isinstance(layer, keras.layers.BatchNormalization):
                weights = layer.get_weights()
                layer.set_weights(
                    [w + np.linspace(0.1, 0.5, w.size, dtype=w.dtype) for w in weights]
                )
        target = create_model(name, input_shape=(64, 64, 3), num_classes=7, **kwargs)
        report = port_state_dict(target, export_state_dict(source))
        assert len(report.loaded) == sum(1 for layer in target.layers if layer.weights)
        assert np.array_equal(_outputs(target, images), _outputs(source, images)), name


def test_the_state_dict_has_torchvisions_names_and_layouts(resnet18_state):
    assert resnet18_state["conv1.weight"].shape == (64, 3, 7, 7)
    assert resnet18_state["layer2.0.downsample.0.weight"].shape == (128, 64, 1, 1)
    assert resnet18_state["layer4.1.bn2.running_var"].shape == (512,)
    assert resnet18_state["fc.weight"].shape == (10, 512)
    assert resnet18_state["bn1.num_batches_tracked"].dtype == np.int64
    # A flattened 2x2x512 map: torchvision's (channels, height, width) order.
    vgg = create_model("vgg11", input_shape=(64, 64, 3), fc_units=(4, 4))
    kernel = vgg.get_layer("head_fc1").get_weights()[0]  # (height * width * channels, 4)
    exported = export_state_dict(vgg)["classifier.0.weight"]  # (4, channels * height * width)
    assert np.array_equal(exported.reshape(4, 512, 2, 2)[:, 5, 1, 0], kernel[(1 * 2 + 0) * 512 + 5])


def test_a_tensor_of_another_shape_names_the_layer_and_sets_nothing(resnet18_state):
    model = resnet18(input_shape=SHAPE, num_classes=10)
    before = _weights(model)
    state = {**resnet18_state, "layer2.0.conv1.weight": np.zeros((128, 64, 5, 5), "float32")}
    with pytest.raises(WeightsMismatchError) as error:
        port_state_dict(model, state)
    assert str(error.value) == (
        "Cannot port a torchvision resnet18 state dict into model 'resnet18': layer "
        "'stage2_block1_1_conv' (torchvision's 'layer2.0.conv1'): weight shapes "
        "[(5, 5, 64, 128)] in the source, [(3, 3, 64, 128)] here."
    )
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_a_missing_tensor_names_the_layer_and_the_key(resnet18_state):
    state = {k: v for k, v in resnet18_state.items() if k != "layer1.0.bn1.running_var"}
    with pytest.raises(WeightsMismatchError, match=(
        r"layer 'stage1_block1_1_bn' \(torchvision's 'layer1.0.bn1'\): no tensor "
        r"'layer1.0.bn1.running_var' in the state dict"
    )):  # fmt: skip
        port_state_dict(resnet18(input_shape=SHAPE, num_classes=10), state)


def test_leftover_tensors_are_listed_and_can_be_ignored_on_purpose(resnet18_state):
    state = {**resnet18_state, "extra.weight": np.zeros(3, "float32")}
    with pytest.raises(WeightsMismatchError, match=(
        r"1 tensors have no layer in the model: extra.weight\. .* takes ignore=\[patterns\]"
    )):  # fmt: skip
        port_state_dict(resnet18(input_shape=SHAPE, num_classes=10), state)
    backbone = resnet18(input_shape=SHAPE, include_top=False)
    with pytest.raises(WeightsMismatchError, match=r"2 tensors .*: fc.weight, fc.bias\."):
        port_state_dict(backbone, resnet18_state)
    report = port_state_dict(backbone, resnet18_state, ignore=["fc.*"])
    assert report.skipped == (("fc.weight", "ignored"), ("fc.bias", "ignored"))


def test_another_head_is_an_error_unless_skipped(resnet18_state):
    model = resnet18(input_shape=SHAPE, num_classes=5)
    with pytest.raises(WeightsMismatchError, match=r"layer 'predictions' .* weight shapes"):
        port_state_dict(model, resnet18_state)
    report = port_state_dict(model, resnet18_state, skip_head_mismatch=True)
    assert [name for name, _ in report.skipped] == ["predictions"]


def test_an_epsilon_the_state_dict_cannot_record_is_checked(resnet18_state):
    model = resnet18(input_shape=SHAPE, num_classes=10)
    model.get_layer("stage3_block2_2_bn").epsilon = 1e-3
    with pytest.raises(WeightsMismatchError, match=(
        r"layer 'stage3_block2_2_bn' \(torchvision's 'layer3.1.bn2'\): batch-norm epsilon "
        r"0.001 here, 1e-05 in torchvision's resnet18"
    )):  # fmt: skip
        port_state_dict(model, resnet18_state)


def test_another_layout_names_the_first_layer_and_says_how_to_build_the_right_one():
    shape = (75, 75, 3)
    state = export_state_dict(inception_v3(input_shape=shape, variant="torchvision"))
    with pytest.raises(WeightsMismatchError) as error:
        port_state_dict(inception_v3(input_shape=shape), state)  # keras: no batch-norm scale
    assert "layer 'conv1a_bn' (torchvision's 'Conv2d_1a_3x3.bn'): the state dict has " in str(
        error.value
    )
    assert str(error.value).endswith('Build it with inception_v3(variant="torchvision"), the '
                                     "layout of torchvision.")  # fmt: skip
    with pytest.raises(ValueError, match="No torchvision layout is declared for model 'googlenet'"):
        port_state_dict(googlenet(input_shape=(32, 32, 3)), state)


def test_an_rgb_state_dict_loads_into_a_gray_model(resnet18_state):
    model = resnet18(input_shape=(32, 32, 1), num_classes=10)
    report = port_state_dict(model, resnet18_state)
    assert report.adapted == (("stem_conv", "kernel summed over 3 input channels to 1"),)
    kernel = resnet18_state["conv1.weight"].sum(axis=1).transpose(1, 2, 0)[:, :, None]
    assert np.allclose(model.get_layer("stem_conv").get_weights()[0], kernel, atol=1e-6)


def test_constant_padding_pads_with_its_value_and_round_trips():
    layer = ConstantPadding(((0, 1), (2, 0)), value=-7.0, name="pad")
    y = keras.ops.convert_to_numpy(layer(np.ones((1, 2, 2, 1), "float32")))
    assert y.shape == (1, 3, 4, 1) and y[0, 2, 3, 0] == -7.0 and y[0, 0, 0, 0] == -7.0
    assert y[0, 0, 2, 0] == 1.0
    clone = ConstantPadding.from_config(layer.get_config())
    assert clone.padding == layer.padding and clone.value == -7.0
    with pytest.raises(ValueError, match="one int or \\(before, after\\) pair per spatial axis"):
        ConstantPadding(2)


def test_a_googlenet_bn_with_ceil_mode_pads_saves_and_reloads(tmp_path):
    # At 17x17, pool2 reads one position past its 4x4 input: a -inf pad.
    model = create_model("googlenet_bn", input_shape=(17, 17, 3), num_classes=3)
    assert isinstance(model.get_layer("pool2_pad"), ConstantPadding)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    images = random_images((17, 17, 3), seed=2)
    assert np.array_equal(_outputs(reloaded, images), _outputs(model, images))


def test_ceil_mode_is_for_max_pooling():
    from cnnzoo.layers import pool

    with pytest.raises(ValueError, match=r"padding='ceil' is for max pooling .* kind='avg'"):
        pool(keras.Input((9, 9, 2)), "avg", 3, strides=2, padding="ceil", name="p")
