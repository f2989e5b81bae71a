"""Parameter counts and layer tables against the papers and reference implementations.

Numbers come from ../shared/REFERENCE.md: keras.applications ``count_params()`` (keras
3.15.1, ``weights=None``, default input, 1000 classes) and torchvision ``num_params``, which
counts no batch-norm moving statistics and so compares with the trainable count.
"""

import keras
import pytest
from conftest import trainable_count

from cnnzoo import alexnet, count_macs, create_model, lenet5, list_models, model_info, vgg11
from cnnzoo.compute import layer_macs

# The reference counts are declared once, beside each model (cnnzoo.family.NamedModel), with
# their source; every registered model with one is built at its defaults and counted the way
# its source counts. The large ones are slow to build.
DECLARED = [name for name in list_models() if model_info(name).reference_params]
LARGE = 30_000_000


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow)
        if model_info(name).reference_params > LARGE
        else name
        for name in DECLARED
    ],
)
def test_parameter_count_matches_the_declared_reference(name):
    info = model_info(name)
    model = create_model(name)
    count = trainable_count(model) if info.reference_counts == "trainable" else model.count_params()
    assert count == info.reference_params, info.reference_source


def test_every_family_declares_its_references_with_their_source():
    # Only the CIFAR ResNets lack a count: the paper's Table 6 gives millions to 2 digits
    # (tests/test_resnet.py compares those).
    missing = [name for name in list_models() if not model_info(name).reference_params]
    assert missing == ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]
    assert all(model_info(name).reference_source for name in list_models())


def _dropout_rates(model):
    return [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]


def _table(model, names):
    return {
        n: (tuple(model.get_layer(n).output.shape[1:]), model.get_layer(n).count_params())
        for n in names
    }


def test_lenet5_original_layer_table_matches_paper():
    # The paper's section II.B, layer by layer: output maps and trainable parameters.
    model = lenet5()
    expected = {
        "c1_act": ((28, 28, 6), 0),
        "c1_conv": ((28, 28, 6), 156),
        "s2_conv": ((14, 14, 6), 12),
        "c3_conv": ((10, 10, 16), 1_516),
        "s4_conv": ((5, 5, 16), 32),
        "c5_conv": ((1, 1, 120), 48_120),
        "head_fc1": ((84,), 10_164),
        "predictions": ((10,), 850),
    }
    assert _table(model, expected) == expected
    assert model.get_layer("c1_act").activation.__name__ == "scaled_tanh"
    assert model.get_layer("s2_pool").__class__.__name__ == "AveragePooling2D"


def test_lenet5_c3_follows_table_one():
    # Table I of the paper: column j lists the S2 maps read by C3 map j.
    layer = lenet5().get_layer("c3_conv")
    table = layer.connection_table
    assert [len(maps) for maps in table] == [3] * 6 + [4] * 9 + [6]
    assert table[0] == [0, 1, 2] and table[6] == [0, 1, 2, 3]
    assert table[12] == [0, 1, 3, 4] and table[14] == [0, 2, 3, 5]
    assert sum(len(maps) for maps in table) == 60


def test_lenet5_modern_layer_table():
    model = lenet5(variant="modern")
    expected = {
        "c1_conv": ((28, 28, 6), 156),
        "s2_pool": ((14, 14, 6), 0),
        "c3_conv": ((10, 10, 16), 2_416),
        "s4_pool": ((5, 5, 16), 0),
        "c5_conv": ((1, 1, 120), 48_120),
    }
    assert _table(model, expected) == expected
    assert model.get_layer("s2_pool").__class__.__name__ == "MaxPooling2D"


@pytest.mark.parametrize("padding", [(2, "valid", "valid"), ("same", "valid", "valid")])
def test_lenet5_accepts_28x28_mnist(padding):
    model = lenet5(input_shape=(28, 28, 1), padding=padding)
    assert tuple(model.get_layer("c1_conv").output.shape[1:]) == (28, 28, 6)
    assert tuple(model.get_layer("c5_conv").output.shape[1:]) == (1, 1, 120)
    assert model.count_params() == 60_850


def test_alexnet_original_layer_table_matches_paper():
    # Krizhevsky et al. 2012, section 3.5 and Figure 2, at 227x227.
    model = alexnet()
    expected = {
        "stage1_block1_conv": ((55, 55, 96), 96 * (11 * 11 * 3) + 96),
        "stage1_lrn": ((55, 55, 96), 0),
        "stage1_pool": ((27, 27, 96), 0),
        "stage2_block1_conv": ((27, 27, 256), 256 * (5 * 5 * 48) + 256),
        "stage2_pool": ((13, 13, 256), 0),
        "stage3_block1_conv": ((13, 13, 384), 384 * (3 * 3 * 256) + 384),
        "stage3_block2_conv": ((13, 13, 384), 384 * (3 * 3 * 192) + 384),
        "stage3_block3_conv": ((13, 13, 256), 256 * (3 * 3 * 192) + 256),
        "stage3_pool": ((6, 6, 256), 0),
        "head_fc1": ((4096,), 6 * 6 * 256 * 4096 + 4096),
        "head_fc2": ((4096,), 4096 * 4096 + 4096),
        "predictions": ((1000,), 4096 * 1000 + 1000),
    }
    assert _table(model, expected) == expected
    assert _dropout_rates(model) == [0.5, 0.5]


def test_alexnet_small_inputs_work_through_options():
    model = alexnet(
        input_shape=(32, 32, 3), num_classes=10, stem_kernel_size=3, stem_strides=1,
        stem_padding="same", pooling="avg",
    )  # fmt: skip
    assert model.get_layer("head_avg_pool").output.shape == (None, 256)
    assert model.output_shape == (None, 10)


def test_vgg_stage_shapes_and_head_dropout():
    model = vgg11(input_shape=(64, 64, 3), fc_units=(16, 16), dropout=0.3)
    sizes = [model.get_layer(f"stage{i}_out").output.shape[1] for i in range(1, 6)]
    assert sizes == [32, 16, 8, 4, 2]
    assert _dropout_rates(model) == [0.3, 0.3]


def test_vgg_default_dropout_is_the_papers():
    model = vgg11(input_shape=(32, 32, 3), fc_units=(8, 8))
    assert _dropout_rates(model) == [0.5, 0.5]


@pytest.mark.slow
@pytest.mark.parametrize("name, reference", [("vgg16", "VGG16"), ("vgg19", "VGG19")])
def test_vgg_weights_line_up_with_keras_applications(name, reference):
    ours = create_model(name)
    theirs = getattr(keras.applications, reference)(weights=None)
    assert ours.count_params() == theirs.count_params()
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


def test_alexnet_per_layer_knobs_and_stem_precedence():
    model = alexnet(
        input_shape=(64, 64, 3), kernel_size=3, strides=(2, 1, 1, 1, 1), padding="same",
        stem_kernel_size=5, fc_units=(8,),
    )  # fmt: skip
    conv1, conv2 = model.get_layer("stage1_block1_conv"), model.get_layer("stage2_block1_conv")
    assert conv1.kernel_size == (5, 5) and conv1.strides == (2, 2)
    assert conv2.kernel_size == (3, 3) and conv2.strides == (1, 1)
    assert model.get_layer("stage1_block1_conv").output.shape == (None, 32, 32, 96)


def test_lenet5_strides_per_convolution():
    model = lenet5(variant="modern", input_shape=(64, 64, 1), strides=(2, 1, 1))
    assert model.get_layer("c1_conv").strides == (2, 2)
    assert model.get_layer("c1_conv").output.shape == (None, 30, 30, 6)
    assert model.get_layer("c3_conv").strides == (1, 1)


# torchvision's published compute, in multiply-accumulates (its ``_ops`` are GMACs).
TORCHVISION_GMACS = {"alexnet_single_tower": 0.714, "vgg16": 15.47}


@pytest.mark.parametrize("name", sorted(TORCHVISION_GMACS))
def test_macs_match_torchvision(name):
    assert count_macs(create_model(name)) / 1e9 == pytest.approx(TORCHVISION_GMACS[name], rel=2e-3)


def test_macs_count_only_the_connected_kernels_of_lenet5_c3():
    model = lenet5()
    # C3: 60 connected 5x5 kernels at 10x10 positions, against 96 for a full convolution.
    assert layer_macs(model.get_layer("c3_conv")) == 60 * 25 * 100
    assert layer_macs(lenet5(variant="modern").get_layer("c3_conv")) == 96 * 25 * 100


def test_macs_need_a_fixed_input_size():
    with pytest.raises(ValueError, match=r"count_macs needs a fixed input size.*None, None"):
        count_macs(lenet5(input_shape=(None, None, 1), pooling="avg"))
