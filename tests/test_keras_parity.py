"""Functional equivalence with keras.applications (issue 20): given the same weights, every
model with keras.applications ImageNet weights computes keras' logits, at keras' default
input size and at an odd one. keras' model is built with random weights (biases and
batch-norm statistics too), saved in the legacy ``.h5`` layout of its ImageNet files and
loaded with cnnzoo.transfer.load_imagenet_weights; the logits must agree within 1e-4 of
their scale (cnnzoo.transfer.compare_logits). Each comparison is a row of the parity table
(tests/conftest.py).
"""

import gc
import importlib.util

import keras
import pytest
from conftest import (
    DEEPER_TWINS,
    built_as,
    eager_outputs,
    random_images,
    random_keras_application,
)

from cnnzoo import create_model, model_info
from cnnzoo.pretrained import pretrained_weights
from cnnzoo.transfer import compare_logits
from cnnzoo.transfer.imagenet import keras_architectures, load_imagenet_weights

TOLERANCE = 1e-4
# An odd size that keras' top accepts: VGG flattens its last map into the classifier, which
# is 7x7 from 224 to 255 (239, as for torchvision's VGG); the others pool it globally.
ODD_SIZES = {"vgg": 239, "resnet": 97, "inception": 75}
PAIRS = sorted(keras_architectures())


def _sizes(name: str) -> tuple[int, int]:
    info = model_info(name)
    return info.default_input_shape[0], ODD_SIZES[info.family]


def _builder_args(name: str) -> tuple:
    """The layout of keras' weights, as the family declares it (``variant="v1"``)."""
    return pretrained_weights(f"{name}.keras_in1k").builder_args


def _source(name: str) -> str:
    return f"keras.applications.{keras_architectures()[name].application}"


def parity_keys() -> list[tuple[str, str, int]]:
    """The rows of the parity table that the test below writes (model, source, size)."""
    return [
        (built_as(name, _builder_args(name)), _source(name), size)
        for name in PAIRS
        for size in _sizes(name)
    ]


def test_every_keras_applications_pair_is_compared():
    expected = [f"resnet{depth}{v2}" for depth in (50, 101, 152) for v2 in ("", "v2")]
    assert sorted([*expected, "vgg16", "vgg19", "inception_v3"]) == PAIRS


def _marks(name: str) -> list:
    marks = [pytest.mark.slow]  # every pair builds two networks of ImageNet size
    if name in DEEPER_TWINS:  # the same blocks as its twin, more of them: the full run only
        marks.append(
            pytest.mark.skipif(
                importlib.util.find_spec("torch") is None,
                reason=f"{name} repeats {DEEPER_TWINS[name]}'s blocks: compared where PyTorch "
                "is installed, with every torchvision pair (make test-backends, make parity)",
            )
        )
    return marks


@pytest.mark.parametrize("name", [pytest.param(name, marks=_marks(name)) for name in PAIRS])
def test_loaded_weights_compute_what_keras_applications_computes(name, tmp_path, parity):
    spec = keras_architectures()[name]
    application = getattr(keras.applications, spec.application)
    path = tmp_path / spec.file_name(name, include_top=True)
    reference = None
    for size in _sizes(name):
        shape = (size, size, 3)
        if reference is None:
            reference = random_keras_application(application, path, shape)
        else:  # keras' top needs a fixed input size: the same weights at the other one
            weights, reference, model = reference.get_weights(), None, None
            gc.collect()  # VGG's 0.5 GB models, before building two more
            reference = application(weights=None, input_shape=shape, classifier_activation=None)
            reference.set_weights(weights)
            del weights
        model = create_model(
            name, input_shape=shape, classifier_activation=None, **dict(_builder_args(name))
        )
        report = load_imagenet_weights(model, path)
        assert not report.skipped and not report.adapted
        assert len(report.loaded) == sum(1 for layer in model.layers if layer.weights)
        module = application.__module__.rpartition(".")[2]  # keras' own preprocessing
        assert report.preprocess_input == f"keras.applications.{module}.preprocess_input"
        images = random_images(shape, n=2, low=-2.0, high=2.0, seed=size)
        difference = compare_logits(eager_outputs(reference, images), eager_outputs(model, images))
        parity(built_as(name, _builder_args(name)), _source(name), size, difference)
        assert difference.relative <= TOLERANCE, (name, size, difference)
