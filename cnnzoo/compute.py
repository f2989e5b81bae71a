"""Compute cost of a model: multiply-accumulates (MACs) of one forward pass."""

from __future__ import annotations

import math

import keras

from cnnzoo.layers.connection_table import ConnectionTableConv


def _layers(model: keras.Model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        else:
            yield layer


def layer_macs(layer: keras.layers.Layer) -> int:
    """MACs of one convolution or dense layer for one example (0 for any other layer).

    A convolution costs one multiply-accumulate per kernel weight per output position
    (``kernel volume * input channels / groups * filters * output positions``); a dense
    layer one per kernel weight per input vector. Biases, batch norm, activations and
    pooling are not counted, as in torchvision's published figures.
    """
    if isinstance(layer, ConnectionTableConv):
        connections = sum(len(inputs) for inputs in layer.connection_table)
        positions = math.prod(layer.output.shape[1:-1])
        return connections * math.prod(layer.kernel_size) * positions
    if isinstance(layer, keras.layers.Dense):
        vectors = math.prod(layer.output.shape[1:-1])  # 1 for the usual (batch, units)
        return math.prod(layer.kernel.shape) * vectors
    if hasattr(layer, "kernel") and hasattr(layer, "filters") and hasattr(layer, "kernel_size"):
        positions = math.prod(layer.output.shape[1:-1])
        return math.prod(layer.kernel.shape) * positions
    return 0


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates of one forward pass for one example, convolutions and dense
    layers only (the convention of torchvision's ``_ops``; one MAC is two FLOPs).

    The model needs a fixed input size.

    Args:
        model: A built functional model.

    Returns:
        The MAC count.

    Raises:
        ValueError: If a spatial size is unknown (``None``).

    Example:
        >>> import keras
        >>> x = keras.Input((8, 8, 3))
        >>> y = keras.layers.Conv2D(4, 3, padding="same")(x)  # 8*8 * 3*3*3 * 4 = 6,912
        >>> count_macs(keras.Model(x, keras.layers.Dense(2)(keras.layers.Flatten()(y))))
        7424
    """
    for tensor in model.inputs:
        if any(size is None for size in tensor.shape[1:]):
            raise ValueError(
                f"count_macs needs a fixed input size; received a model with input shape "
                f"{tuple(tensor.shape)}. Build it with every size of input_shape given."
            )
    return sum(layer_macs(layer) for layer in _layers(model))
