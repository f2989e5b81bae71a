"""cnnzoo: the landmark CNNs for Keras 3, built from one set of configurable blocks.

Example:
    >>> from cnnzoo import vgg16
    >>> model = vgg16(num_classes=10, input_shape=(64, 64, 3), dropout=0.3)
    >>> model.output_shape
    (None, 10)
"""

from cnnzoo.models import (
    alexnet,
    lenet5,
    vgg,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)
from cnnzoo.registry import ModelInfo, create_model, list_models, model_info, register_model

__version__ = "0.1.0"

__all__ = [
    "ModelInfo",
    "alexnet",
    "create_model",
    "lenet5",
    "list_models",
    "model_info",
    "register_model",
    "vgg",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]
