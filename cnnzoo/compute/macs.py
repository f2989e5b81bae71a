"""Multiply-accumulates (MACs) of one forward pass, counted analytically from layer shapes.

Conventions, for one example at inference:

- ``"conv"``: one MAC per kernel weight per output position, ``kernel volume * input
  channels / groups * filters * output positions``, for 1-D, 2-D and 3-D convolutions,
  grouped and depthwise ones (whose kernels hold only ``input channels / groups`` or one
  input channel), separable ones (depthwise plus pointwise) and LeNet-5's connection-table
  convolution (only the connected kernels). A transposed convolution spreads each *input*
  position over a kernel: ``kernel weights * input positions``. With ``"same"`` padding the
  kernel counts in full at the border, as in torchvision's figures.
- ``"dense"``: one MAC per kernel weight per input vector.
- ``"pool"``: one op per window element per output element (``pool_size`` volume * output
  size) for max and average pooling, and one per input element for global pooling. A
  comparison or an addition is not a multiply-accumulate; these are "MAC-equivalent ops",
  counted so that a pooling layer is not free.
- ``"norm"``: batch norm at inference folds into one multiply-add per element
  (``x * scale + shift``); local response normalization costs one multiply-add per channel
  of its window per element (the sum of squares; the power and division are not counted).

Biases, activations, element-wise additions, concatenation, padding and dropout count 0.
torchvision's published ``_ops`` (and ``../shared/REFERENCE.md``) count convolutions and
dense layers only, so that is the default; pass ``include=COST_KINDS`` for the rest.
One MAC is two FLOPs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import keras

from cnnzoo.layers.connection_table import ConnectionTableConv
from cnnzoo.layers.lrn import LocalResponseNormalization

MAC_KINDS = ("conv", "dense")  # torchvision's convention: the default everywhere
COST_KINDS = ("conv", "dense", "pool", "norm")

_CONV = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_SEPARABLE = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)
_TRANSPOSED = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)
_POOL = (
    keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D,
    keras.layers.MaxPooling3D,
    keras.layers.AveragePooling1D,
    keras.layers.AveragePooling2D,
    keras.layers.AveragePooling3D,
)
_GLOBAL_POOL = (
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalMaxPooling3D,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
)
CONV_LAYERS = (*_CONV, *_DEPTHWISE, *_SEPARABLE, *_TRANSPOSED, ConnectionTableConv)
POOL_LAYERS = _POOL + _GLOBAL_POOL


def cost_kind(layer: keras.layers.Layer) -> str | None:
    """The entry of :data:`COST_KINDS` that ``layer`` counts under, or ``None`` (free).

    Example:
        >>> import keras
        >>> cost_kind(keras.layers.DepthwiseConv2D(3)), cost_kind(keras.layers.ReLU())
        ('conv', None)
    """
    if isinstance(layer, CONV_LAYERS):
        return "conv"
    if isinstance(layer, keras.layers.Dense):
        return "dense"
    if isinstance(layer, POOL_LAYERS):
        return "pool"
    if isinstance(layer, keras.layers.BatchNormalization | LocalResponseNormalization):
        return "norm"
    return None


def check_include(include: Iterable[str]) -> frozenset[str]:
    """Checks an ``include`` argument against :data:`COST_KINDS`.

    Example:
        >>> sorted(check_include(("dense", "conv")))
        ['conv', 'dense']
    """
    try:
        kinds = None if isinstance(include, str) else frozenset(include)
    except TypeError:  # not iterable
        kinds = None
    if kinds is None or not kinds <= set(COST_KINDS):
        raise ValueError(
            f"include must be a tuple of kinds from {COST_KINDS}; received include={include!r}."
        )
    return kinds


def sublayers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """The layers of ``model`` in order, nested models expanded, ``InputLayer`` skipped."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from sublayers(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


def _size(layer: keras.layers.Layer, which: str) -> int:
    """Elements per example of the layer's input or output (its first call)."""
    shape = tuple(getattr(layer, which).shape[1:])
    if any(size is None for size in shape):
        raise ValueError(
            f"Counting MACs needs fixed sizes; layer '{layer.name}' has {which} shape "
            f"{(None, *shape)}. Build the model with every size of input_shape given."
        )
    return math.prod(shape)


def _positions(layer: keras.layers.Layer, which: str = "output") -> int:
    """Spatial positions per example: the size without the channel axis."""
    return _size(layer, which) // getattr(layer, which).shape[-1]


def _cost(layer: keras.layers.Layer, kind: str) -> int:
    if kind == "conv":
        if isinstance(layer, ConnectionTableConv):
            connections = sum(len(inputs) for inputs in layer.connection_table)
            return connections * math.prod(layer.kernel_size) * _positions(layer)
        if isinstance(layer, _SEPARABLE):
            weights = math.prod(layer.depthwise_kernel.shape)
            return (weights + math.prod(layer.pointwise_kernel.shape)) * _positions(layer)
        if isinstance(layer, _TRANSPOSED):
            return math.prod(layer.kernel.shape) * _positions(layer, "input")
        # Grouped and depthwise kernels already hold input channels / groups (or 1).
        return math.prod(layer.kernel.shape) * _positions(layer)
    if kind == "dense":
        return math.prod(layer.kernel.shape) * _positions(layer)  # 1 for (batch, units)
    if kind == "pool":
        if isinstance(layer, _GLOBAL_POOL):
            return _size(layer, "input")
        return math.prod(layer.pool_size) * _size(layer, "output")
    if isinstance(layer, LocalResponseNormalization):
        return layer.size * _size(layer, "output")
    return _size(layer, "output")  # batch norm


def layer_macs(layer: keras.layers.Layer, include: Iterable[str] = MAC_KINDS) -> int:
    """MACs of one layer for one example, by the conventions of :mod:`cnnzoo.compute.macs`.

    A nested model (a ``Sequential`` of augmentation layers, a backbone) counts the sum of
    its layers. Sizes come from the layer's first call in a built functional model.

    Args:
        layer: A layer of a built model, or a nested model.
        include: Which layer kinds count, from :data:`COST_KINDS`; convolutions and dense
            layers by default (torchvision's convention); layers of other kinds count 0.

    Returns:
        The MAC count (MAC-equivalent ops for pooling and normalization).

    Raises:
        ValueError: For an unknown kind in ``include``, or a size that is ``None``.

    Example:
        >>> import keras
        >>> x = keras.Input((32, 32, 1))
        >>> conv = keras.layers.Conv2D(6, 5)  # 28*28 positions * 6 filters * 5*5 weights
        >>> pool = keras.layers.MaxPooling2D(2)  # 14*14*6 outputs * 2*2 window elements
        >>> _ = pool(conv(x))
        >>> layer_macs(conv), layer_macs(pool), layer_macs(pool, include=("pool",))
        (117600, 0, 4704)
    """
    kinds = check_include(include)
    if isinstance(layer, keras.Model):
        return sum(layer_macs(inner, kinds) for inner in sublayers(layer))
    kind = cost_kind(layer)
    return _cost(layer, kind) if kind in kinds else 0


def count_macs(model: keras.Model, include: Iterable[str] = MAC_KINDS) -> int:
    """Multiply-accumulates of one forward pass for one example.

    By default convolutions and dense layers only, the convention of torchvision's
    ``_ops`` (one MAC is two FLOPs); ``include=COST_KINDS`` adds pooling and normalization
    (see :mod:`cnnzoo.compute.macs`). Nested models count their layers. The model needs a
    fixed input size.

    Args:
        model: A built functional model.
        include: Which layer kinds count, from :data:`COST_KINDS`.

    Returns:
        The MAC count.

    Raises:
        ValueError: If ``model`` is not a Keras model, an input size is unknown (``None``),
            or ``include`` names an unknown kind.

    Example:
        >>> import keras
        >>> x = keras.Input((8, 8, 3))
        >>> y = keras.layers.Conv2D(4, 3, padding="same")(x)  # 8*8 * 3*3*3 * 4 = 6,912
        >>> y = keras.layers.MaxPooling2D(2)(y)  # 4*4*4 outputs * 4 = 256 ops
        >>> model = keras.Model(x, keras.layers.Dense(2)(keras.layers.Flatten()(y)))
        >>> count_macs(model), count_macs(model, include=COST_KINDS)  # dense: 64 * 2 = 128
        (7040, 7296)
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    kinds = check_include(include)
    for tensor in model.inputs:
        if any(size is None for size in tensor.shape[1:]):
            raise ValueError(
                f"count_macs needs a fixed input size; received a model with input shape "
                f"{tuple(tensor.shape)}. Build it with every size of input_shape given."
            )
    return sum(layer_macs(layer, kinds) for layer in sublayers(model))
