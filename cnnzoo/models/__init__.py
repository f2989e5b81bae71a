"""The model families; importing this package registers every model."""

from cnnzoo.models.alexnet import alexnet
from cnnzoo.models.lenet import lenet5
from cnnzoo.models.vgg import (
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

__all__ = [
    "alexnet",
    "lenet5",
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
