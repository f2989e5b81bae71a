"""Compute cost of a model: multiply-accumulates (MACs) per layer and in total, and the
per-layer table (kernel, stride, padding, output shape, parameters, MACs).

Conventions are in :mod:`cnnzoo.compute.macs`: by default convolutions and dense layers
only, as torchvision's published figures; ``include=COST_KINDS`` adds pooling and
normalization.

Example:
    >>> import keras
    >>> x = keras.Input((32, 32, 1))
    >>> model = keras.Model(x, keras.layers.Conv2D(6, 5)(x))
    >>> count_macs(model)  # 28*28 positions * 6 filters * 5*5 weights
    117600
"""

from cnnzoo.compute.macs import COST_KINDS, MAC_KINDS, cost_kind, count_macs, layer_macs
from cnnzoo.compute.table import LayerRow, format_layer_table, layer_kind, layer_table

__all__ = [
    "COST_KINDS",
    "MAC_KINDS",
    "LayerRow",
    "cost_kind",
    "count_macs",
    "format_layer_table",
    "layer_kind",
    "layer_macs",
    "layer_table",
]
