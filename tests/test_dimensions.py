"""1-D signals and 3-D volumes go through the same spec tables as images."""

import numpy as np
import pytest

from cnnzoo import alexnet, lenet5, vgg11

CONV_CLASS = {1: "Conv1D", 3: "Conv3D"}


def _conv_classes(model):
    return {type(layer).__name__ for layer in model.layers if layer.name.endswith("_conv")}


CASES = [
    ("lenet5 original", lambda shape: lenet5(input_shape=shape), 32),
    ("lenet5 modern", lambda shape: lenet5(variant="modern", input_shape=shape), 32),
    ("alexnet", lambda shape: alexnet(input_shape=shape, num_classes=7, fc_units=(16,)), 67),
    (
        "alexnet single tower",
        lambda shape: alexnet(
            variant="single_tower", input_shape=shape, num_classes=7, fc_units=(16,)
        ),
        63,
    ),
    ("vgg11", lambda shape: vgg11(input_shape=shape, num_classes=7, fc_units=(16,)), 32),
]


@pytest.mark.parametrize("label, build, size", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("rank", [1, 3])
def test_builds_in_one_and_three_dimensions(label, build, size, rank):
    model = build((size,) * rank + (2,))
    classes = _conv_classes(model) - {"ConnectionTableConv"}
    assert classes == {CONV_CLASS[rank]}
    pools = {type(layer).__name__ for layer in model.layers if layer.name.endswith("_pool")}
    assert all(name.endswith(f"{rank}D") for name in pools)
    x = np.random.default_rng(0).uniform(size=(1, *model.input_shape[1:])).astype("float32")
    output = model.predict(x, verbose=0)
    assert output.shape[0] == 1 and np.all(np.isfinite(output))


def test_lenet5_original_in_1d_keeps_the_paper_structure():
    model = lenet5(input_shape=(32, 1))
    assert model.get_layer("c1_conv").output.shape == (None, 28, 6)
    assert model.get_layer("c5_conv").output.shape == (None, 1, 120)
    # C3's connection table: 60 connected 5-tap kernels plus 16 biases.
    assert model.get_layer("c3_conv").count_params() == 60 * 5 + 16
