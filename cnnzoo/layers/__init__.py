"""Building blocks shared by every cnnzoo family.

Every convolution goes through :func:`conv_norm_act` and every pooling window through
:func:`pool`; both pick the 1-D, 2-D or 3-D layer from the input's rank and check the
output size first, so a too-small input fails with the arithmetic, naming the layer.
"""

from cnnzoo.layers.activations import resolve_activation, scaled_tanh
from cnnzoo.layers.arithmetic import SpatialSizeError, output_size
from cnnzoo.layers.channel_padding import ChannelPadding
from cnnzoo.layers.connection_table import ConnectionTableConv
from cnnzoo.layers.conv import conv_norm_act, norm_act, pool
from cnnzoo.layers.filters import FILTER_BANKS, KERNELS, HandMadeFilters
from cnnzoo.layers.head import POOLINGS, classifier_head
from cnnzoo.layers.inception import inception_module
from cnnzoo.layers.inputs import model_input, resolve_augmentation
from cnnzoo.layers.lrn import LocalResponseNormalization
from cnnzoo.layers.regularizers import resolve_regularizer
from cnnzoo.layers.residual import (
    basic_block,
    bottleneck_block,
    preact_basic_block,
    preact_bottleneck_block,
)

__all__ = [
    "FILTER_BANKS",
    "KERNELS",
    "POOLINGS",
    "ChannelPadding",
    "ConnectionTableConv",
    "HandMadeFilters",
    "LocalResponseNormalization",
    "SpatialSizeError",
    "basic_block",
    "bottleneck_block",
    "classifier_head",
    "conv_norm_act",
    "inception_module",
    "model_input",
    "norm_act",
    "output_size",
    "pool",
    "preact_basic_block",
    "preact_bottleneck_block",
    "resolve_activation",
    "resolve_augmentation",
    "resolve_regularizer",
    "scaled_tanh",
]
