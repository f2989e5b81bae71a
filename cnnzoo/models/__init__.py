"""The model families, one file each; importing this package registers every model.

Every registered name is a function here (``from cnnzoo import resnet50``), and each family
file ends in its :class:`~cnnzoo.family.Family` declaration.
"""

from cnnzoo.models.alexnet import alexnet, alexnet_single_tower
from cnnzoo.models.auxiliary import compile_with_auxiliary_heads, without_auxiliary_heads
from cnnzoo.models.googlenet import googlenet, googlenet_bn
from cnnzoo.models.inception_v3 import inception_v3
from cnnzoo.models.lenet import lenet5, lenet5_modern
from cnnzoo.models.resnet import cifar_resnet, resnet
from cnnzoo.models.resnet_family import (
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
    "alexnet_single_tower",
    "cifar_resnet",
    "compile_with_auxiliary_heads",
    "googlenet",
    "googlenet_bn",
    "inception_v3",
    "lenet5",
    "lenet5_modern",
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
