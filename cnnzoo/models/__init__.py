"""The model families; importing this package registers every model."""

from cnnzoo.models.alexnet import alexnet
from cnnzoo.models.auxiliary import compile_with_auxiliary_heads, without_auxiliary_heads
from cnnzoo.models.googlenet import googlenet
from cnnzoo.models.inception_v3 import inception_v3
from cnnzoo.models.lenet import lenet5
from cnnzoo.models.resnet import (
    cifar_resnet,
    resnet,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet44,
    resnet50,
    resnet50v2,
    resnet56,
    resnet101,
    resnet101v2,
    resnet110,
    resnet152,
    resnet152v2,
)
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
    "cifar_resnet",
    "compile_with_auxiliary_heads",
    "googlenet",
    "inception_v3",
    "lenet5",
    "resnet",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet44",
    "resnet50",
    "resnet50v2",
    "resnet56",
    "resnet101",
    "resnet101v2",
    "resnet110",
    "resnet152",
    "resnet152v2",
    "vgg",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "without_auxiliary_heads",
]
