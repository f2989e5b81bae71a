"""Compute cost of a model: multiply-accumulates (MACs) per layer and in total, and the
per-layer table (kernel, stride, padding, output shape, parameters, MACs).

Conventions are in :mod:`cnnzoo.compute.macs`: by default convolutions and dense layers
only, as torchvision's published figures; ``include=COST_KINDS`` adds pooling and
normalization.

Example:
    >>> import keras
    >>> from cnnzoo.compute import count_macs
    >>> x = keras.Input((32, 32, 1))
    >>> model = keras.Model(x, keras.layers.Conv2D(6, 5)(x))
    >>> count_macs(model)  # 28*28 positions * 6 filters * 5*5 weights
    117600
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the names below resolve to, for type checkers and the docs
    from cnnzoo.compute.macs import COST_KINDS, MAC_KINDS, cost_kind, count_macs, layer_macs
    from cnnzoo.compute.rows import LayerRow, format_layer_table
    from cnnzoo.compute.table import layer_kind, layer_table

# Each name loads its module on first use: cnnzoo.compute.rows needs no Keras, and the
# command line prints shipped rows with it without importing TensorFlow.
_MODULES = {
    "COST_KINDS": "macs",
    "MAC_KINDS": "macs",
    "cost_kind": "macs",
    "count_macs": "macs",
    "layer_macs": "macs",
    "LayerRow": "rows",
    "format_layer_table": "rows",
    "layer_kind": "table",
    "layer_table": "table",
}

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


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(f"cnnzoo.compute.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'cnnzoo.compute' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
