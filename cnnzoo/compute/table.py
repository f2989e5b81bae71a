"""A per-layer table (kind, kernel, stride, padding, output shape, parameters, MACs).

The table the course notes have learners fill in by hand, computed for any model: it is what
``cnnzoo info MODEL`` prints.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import keras

from cnnzoo.compute.macs import MAC_KINDS, check_include, layer_macs
from cnnzoo.compute.rows import LayerRow, format_layer_table
from cnnzoo.layers.connection_table import ConnectionTableConv
from cnnzoo.layers.constant_padding import ConstantPadding
from cnnzoo.layers.lrn import LocalResponseNormalization

_ZERO_PADDING = (keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D, keras.layers.ZeroPadding3D)
_ACTIVATIONS = (
    keras.layers.Activation,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.PReLU,
    keras.layers.ELU,
    keras.layers.Softmax,
)
# Exact classes only: a subclass may do something else.
_KINDS = {
    keras.layers.Dense: "dense",
    keras.layers.BatchNormalization: "batch norm",
    keras.layers.LayerNormalization: "layer norm",
    LocalResponseNormalization: "local response norm",
    ConstantPadding: "constant pad",  # -inf before a ceil-mode max pooling
    keras.layers.Add: "add",
    keras.layers.Concatenate: "concat",
    keras.layers.Multiply: "multiply",
    keras.layers.Flatten: "flatten",
    keras.layers.Dropout: "dropout",
    keras.layers.Identity: "identity",
    keras.Sequential: "sequential",
}


def _axes(values) -> str:
    values = (values,) if isinstance(values, int) else tuple(values)
    return "x".join(str(v) for v in values)


def _zero_padding(padding) -> str:
    pairs = [padding] if isinstance(padding[0], int) else list(padding)  # 1-D: (before, after)
    if all(before == after for before, after in pairs):
        sides = {before for before, _ in pairs}
        return str(pairs[0][0]) if len(sides) == 1 else "x".join(str(b) for b, _ in pairs)
    return "x".join(f"({before},{after})" for before, after in pairs)


def _words(class_name: str) -> str:
    """``GaussianNoise`` -> ``gaussian noise``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", class_name).lower()


def layer_kind(layer: keras.layers.Layer) -> str:
    """A short human word for what ``layer`` does (the ``kind`` column).

    Example:
        >>> import keras
        >>> layer_kind(keras.layers.Conv1D(4, 3)), layer_kind(keras.layers.GaussianNoise(0.1))
        ('conv1d', 'gaussian noise')
    """
    if type(layer) in _KINDS:
        return _KINDS[type(layer)]
    if isinstance(layer, keras.Model):
        return "model"
    if isinstance(layer, _ACTIVATIONS):
        return "activation"
    if isinstance(layer, _ZERO_PADDING):
        return "zero pad"
    name = type(layer).__name__
    match = re.fullmatch(r"(Global)?(Max|Average)Pooling\dD", name)
    if match:
        return f"{'global ' if match[1] else ''}{'max' if match[2] == 'Max' else 'avg'} pool"
    if isinstance(layer, ConnectionTableConv):
        return f"partial conv{len(layer.kernel_size)}d"
    match = re.fullmatch(r"(Depthwise|Separable)?Conv(\d)D(Transpose)?", name)
    if match:
        prefix = match[1].lower() + " " if match[1] else "transposed " if match[3] else ""
        if getattr(layer, "groups", 1) > 1 and not prefix:
            # A grouped kernel reads input channels / groups maps; depthwise reads one.
            depthwise = layer.built and layer.kernel.shape[-2] == 1
            prefix = "depthwise " if depthwise else "grouped "
        return f"{prefix}conv{match[2]}d"
    return _words(name)


def _geometry(layer: keras.layers.Layer) -> tuple[str, str, str]:
    """``(kernel, stride, padding)`` strings for the table."""
    if isinstance(layer, (*_ZERO_PADDING, ConstantPadding)):
        return "", "", _zero_padding(layer.padding)
    size = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if size is None or not hasattr(layer, "strides"):
        return "", "", ""
    kernel = _axes(size)
    dilation = _axes(getattr(layer, "dilation_rate", 1))
    rates = set(dilation.split("x"))
    if rates != {"1"}:
        kernel += f" d{rates.pop()}" if len(rates) == 1 else f" d{dilation}"  # "3x3 d2"
    strides = size if layer.strides is None else layer.strides  # pools default to the window
    return kernel, _axes(strides), str(layer.padding)


def _output_shape(layer: keras.layers.Layer) -> tuple | None:
    try:
        output = layer.output
    except (AttributeError, ValueError):  # never called
        return None
    if isinstance(output, list | tuple):
        return tuple(tuple(tensor.shape[1:]) for tensor in output)
    return tuple(output.shape[1:])


def _row(layer: keras.layers.Layer, name: str, kinds) -> LayerRow:
    kernel, stride, padding = _geometry(layer)
    return LayerRow(
        name=name,
        kind=layer_kind(layer),
        kernel=kernel,
        stride=stride,
        padding=padding,
        output_shape=_output_shape(layer),
        params=layer.count_params() if layer.built else 0,
        trainable_params=sum(math.prod(w.shape) for w in layer.trainable_weights),
        macs=layer_macs(layer, kinds),
    )


def _rows(model: keras.Model, prefix: str, kinds, expand_nested: bool) -> Iterable[LayerRow]:
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        name = prefix + layer.name
        if expand_nested and isinstance(layer, keras.Model):
            yield from _rows(layer, name + "/", kinds, expand_nested)
        else:
            yield _row(layer, name, kinds)


def layer_table(
    model: keras.Model, *, include: Iterable[str] = MAC_KINDS, expand_nested: bool = False
) -> list[LayerRow]:
    """One :class:`LayerRow` per layer of ``model`` (``InputLayer`` skipped).

    The rows follow ``model.summary()``: the same layers, output shapes and parameter
    counts, a nested model as one row unless ``expand_nested``.

    Args:
        model: A built model with a fixed input size.
        include: The kinds the ``macs`` column counts (see :func:`~cnnzoo.count_macs`):
            convolutions and dense layers by default, so its total is ``count_macs(model)``.
        expand_nested: List the layers of nested models (named ``outer/inner``) in place
            of one row for each nested model.

    Returns:
        The rows, in the model's layer order.

    Raises:
        ValueError: If ``model`` is not a Keras model, ``include`` names an unknown kind,
            or a size that a counted layer needs is ``None``.

    Example:
        >>> from cnnzoo import lenet5
        >>> rows = layer_table(lenet5(variant="modern"))
        >>> for row in rows[:3]:
        ...     print(row.name, row.kind, row.kernel, row.output_shape, row.params, row.macs)
        c1_conv conv2d 5x5 (28, 28, 6) 156 117600
        c1_act activation  (28, 28, 6) 0 0
        s2_pool max pool 2x2 (14, 14, 6) 0 0
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    return list(_rows(model, "", check_include(include), expand_nested))


__all__ = ["LayerRow", "format_layer_table", "layer_kind", "layer_table"]
