"""Functional equivalence with torchvision (issue 20, part 1): given the same weights, every
torchvision-layout model computes torchvision's logits, at the reference's default input
size and at an odd one. Every parameter and batch-norm statistic of the torchvision model
is random, ported by layer name with cnnzoo.transfer.port_state_dict; the logits must agree
within 1e-4 of their scale (cnnzoo.transfer.compare_logits).

Also the porter's errors and its inverse (export_state_dict), which need no PyTorch, and
the ceil-mode max pooling against PyTorch's.
"""

import keras
import numpy as np
import pytest
from conftest import LARGE_MODEL_PARAMS, built_as, import_torchvision, random_images

from cnnzoo import create_model, model_info
from cnnzoo.layers import pool
from cnnzoo.transfer import (
    compare_logits,
    export_state_dict,
    port_state_dict,
    torch_layouts,
)

TOLERANCE = 1e-4
# The default input and an odd one that the model accepts with torchvision's head: VGG's
# last map is 7x7 (torchvision's adaptive 7x7 pooling the identity) from 224 to 255,
# AlexNet's 6x6 from 223 to 254.
ODD_SIZES = {"vgg": 239, "alexnet": 239, "inception": 75, "resnet": 97, "googlenet": 97}
# torchvision arguments that give the plain network: no auxiliary heads, no input
# re-normalization inside the model (cnnzoo leaves that to the preprocessing).
TORCHVISION_ARGS = {
    "googlenet": dict(aux_logits=False, transform_input=False, init_weights=False),
    "inception_v3": dict(aux_logits=False, transform_input=False, init_weights=False),
}
PAIRS = sorted(torch_layouts())


def _sizes(name: str) -> tuple[int, int]:
    info = model_info(name)
    return info.default_input_shape[0], ODD_SIZES[info.family]


def _source(name: str) -> str:
    return f"torchvision.models.{torch_layouts()[name].torchvision_model}"


def parity_keys() -> list[tuple[str, str, int]]:
    """The rows of the parity table that the test below writes (model, source, size)."""
    return [
        (built_as(name, torch_layouts()[name].builder_args), _source(name), size)
        for name in PAIRS
        for size in _sizes(name)
    ]


def _randomize(torch, module, seed: int = 0):
    """Every parameter and batch-norm statistic random (running variances positive), at
    scales that keep a deep network's logits finite."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            shape = tensor.shape
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                values = torch.rand(shape, generator=generator) * 1.5 + 0.5
            elif name.endswith("running_mean"):
                values = torch.randn(shape, generator=generator) * 0.1
            elif tensor.ndim >= 2:  # kernels: He-scaled
                values = torch.randn(shape, generator=generator) * (2 / tensor[0].numel()) ** 0.5
            elif name.endswith("weight"):  # batch-norm scales
                values = torch.rand(shape, generator=generator) * 0.5 + 0.5
            else:
                values = torch.randn(shape, generator=generator) * 0.1
            tensor.copy_(values)
    return module.eval()


def test_every_reference_pair_declares_its_layout():
    expected = (
        [f"resnet{depth}" for depth in (18, 34, 50, 101, 152)]
        + [f"vgg{depth}{bn}" for depth in (11, 13, 16, 19) for bn in ("", "_bn")]
        + ["alexnet_single_tower", "googlenet_bn", "inception_v3"]
    )
    assert sorted(expected) == PAIRS


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow)
        if model_info(name).reference_params > LARGE_MODEL_PARAMS
        else name
        for name in PAIRS
    ],
)
def test_ported_weights_compute_what_torchvision_computes(name, parity):
    torch, models = import_torchvision()
    layout = torch_layouts()[name]
    architecture = layout.torchvision_model
    reference = getattr(models, architecture)(
        weights=None, **TORCHVISION_ARGS.get(architecture, {})
    )
    _randomize(torch, reference)
    state_dict = {key: value.numpy() for key, value in reference.state_dict().items()}
    for size in _sizes(name):
        images = random_images((size, size, 3), n=2, low=-2.0, high=2.0, seed=size)
        with torch.no_grad():
            expected = reference(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()
        model = create_model(
            name, input_shape=(size, size, 3), classifier_activation=None,
            **dict(layout.builder_args),
        )  # fmt: skip
        report = port_state_dict(model, state_dict)
        assert not report.skipped and not report.adapted
        difference = compare_logits(expected, keras.ops.convert_to_numpy(model(images)))
        parity(built_as(name, layout.builder_args), _source(name), size, difference)
        assert difference.relative <= TOLERANCE, (name, size, difference)


def test_an_exported_state_dict_loads_into_torchvision_strictly():
    torch, models = import_torchvision()
    model = create_model("googlenet_bn", input_shape=(97, 97, 3), classifier_activation=None)
    reference = models.googlenet(**TORCHVISION_ARGS["googlenet"])
    state = {key: torch.from_numpy(value) for key, value in export_state_dict(model).items()}
    reference.load_state_dict(state, strict=True)  # every key, every shape
    images = random_images((97, 97, 3), n=1, seed=3)
    with torch.no_grad():
        expected = reference.eval()(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()
    difference = compare_logits(expected, keras.ops.convert_to_numpy(model(images)))
    assert difference.relative <= TOLERANCE, difference


@pytest.mark.parametrize(
    ("shape", "window", "strides"),
    [((97, 96), 3, 2), ((17, 9), 3, 2), ((14, 15), 2, 2), ((10, 11), 5, 3), ((2, 5), 3, 2)],
)
@pytest.mark.parametrize("known_size", [True, False], ids=["fixed", "none"])
def test_ceil_mode_max_pooling_is_pytorchs(shape, window, strides, known_size):
    torch, _ = import_torchvision()
    images = random_images((*shape, 4), low=-3.0, high=-1.0)  # negative: padding must not win
    inputs = keras.Input((*shape, 4) if known_size else (None, None, 4))
    model = keras.Model(
        inputs, pool(inputs, "max", window, strides=strides, padding="ceil", name="p")
    )
    expected = torch.nn.functional.max_pool2d(
        torch.from_numpy(images).permute(0, 3, 1, 2), window, strides, ceil_mode=True
    ).permute(0, 2, 3, 1)
    assert np.array_equal(keras.ops.convert_to_numpy(model(images)), expected.numpy())
