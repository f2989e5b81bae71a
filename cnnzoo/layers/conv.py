"""The one convolution helper every family uses, and its pooling companion."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras

from cnnzoo.checks import check_choice, check_positive_int, is_int
from cnnzoo.layers.arithmetic import (
    as_tuple,
    ceil_mode_padding,
    check_output_size,
    explicit_padding,
)
from cnnzoo.layers.connection_table import ConnectionTableConv
from cnnzoo.layers.constant_padding import ConstantPadding
from cnnzoo.layers.dims import layer_class, spatial_rank

NORMS = (None, "batch")
# torchvision's batch-norm settings (momentum 0.1 in its convention, eps 1e-5): the moving
# statistics follow the data faster than Keras' default 0.99, which matters on short runs.
BATCH_NORM_MOMENTUM = 0.9
BATCH_NORM_EPSILON = 1e-5

Padding = str | int | Sequence
# PyTorch's ceil_mode=True with no padding in front (Caffe's pooling), for max pooling.
CEIL = "ceil"


def resolve_padding(padding: Padding, rank: int, argument: str = "padding"):
    """Returns ``(keras_padding, explicit_pairs_or_None)``, or raises a ``ValueError``
    naming ``argument``.

    Example:
        >>> resolve_padding(2, 2)
        ('valid', ((2, 2), (2, 2)))
    """
    if isinstance(padding, str) and padding in ("same", "valid"):
        return padding, None
    if isinstance(padding, str):
        raise ValueError(
            f"{argument} must be 'same', 'valid' or an explicit zero padding (int or tuple); "
            f"received {argument}={padding!r}."
        )
    return "valid", explicit_padding(padding, rank, argument)


def conv_norm_act(
    x,
    filters: int,
    kernel_size: int | Sequence[int],
    *,
    name: str,
    strides: int | Sequence[int] = 1,
    padding: Padding = "same",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    connection_table: Sequence[Sequence[int]] | None = None,
    norm: str | None = None,
    activation: str | Callable | None = "relu",
    use_bias: bool | None = None,
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
    kernel_initializer: str | keras.initializers.Initializer = "glorot_uniform",
    norm_scale: bool = True,
    norm_epsilon: float = BATCH_NORM_EPSILON,
    norm_gamma_initializer: str = "ones",
):
    """Convolution, optional batch norm, optional activation: the block all families share.

    The convolution's dimension follows the input: a ``(batch, length, channels)`` tensor
    gets ``Conv1D``, an image ``Conv2D``, a volume ``Conv3D``. Layers are named
    ``{name}_pad`` (explicit padding only), ``{name}_conv``, ``{name}_bn`` and ``{name}_act``.

    Args:
        x: Channels-last input tensor.
        filters: Output channels.
        kernel_size: An int or one int per spatial axis.
        name: Prefix of the layer names (for example ``"stage2_block1"``).
        strides: An int or one int per spatial axis.
        padding: ``"same"``, ``"valid"``, or explicit zero padding: an int, one int per axis,
            or a ``(before, after)`` pair per axis (added by a ``ZeroPadding`` layer).
        dilation: Dilation rate, an int or one per axis.
        groups: Grouped convolution (AlexNet's two towers use 2); must divide the input and
            output channels.
        connection_table: For each output map, the input maps it reads (LeNet-5's C3).
        norm: ``None`` or ``"batch"``.
        activation: A Keras activation name or callable, or ``None``.
        use_bias: ``None`` picks the usual rule: a bias only when there is no batch norm
            (whose beta makes it redundant); ``True``/``False`` force it.
        kernel_regularizer: Applied to the convolution kernel.
        kernel_initializer: Kernel initializer.
        norm_scale: Whether batch norm learns a scale (gamma); keras.applications'
            Inception v3 has none.
        norm_epsilon: Batch-norm epsilon (1e-5 as in torchvision; Inception uses 1e-3).
        norm_gamma_initializer: ``"zeros"`` starts a residual branch as the identity.

    Returns:
        The output tensor.

    Raises:
        ValueError: For a bad argument, or a ``SpatialSizeError`` (a ``ValueError``) naming
            this layer when the input is too small for the kernel, stride and padding.

    Example:
        >>> import keras
        >>> x = keras.Input((32, 32, 3))
        >>> y = conv_norm_act(x, 16, 3, strides=2, norm="batch", name="stem")
        >>> tuple(y.shape)
        (None, 16, 16, 16)
    """
    rank = spatial_rank(x)
    check_positive_int("filters", filters, context=name)
    check_choice("norm", norm, NORMS)
    kernel = as_tuple(kernel_size, rank, "kernel_size")
    strides = as_tuple(strides, rank, "strides")
    dilation = as_tuple(dilation, rank, "dilation")
    keras_padding, pads = resolve_padding(padding, rank)
    in_channels = x.shape[-1]
    if not is_int(groups) or groups <= 0 or in_channels % groups or filters % groups:
        raise ValueError(
            f"groups must be a positive int dividing the input channels ({in_channels}) and "
            f"filters ({filters}); received groups={groups!r} at layer '{name}_conv'."
        )
    check_output_size(
        x.shape[1:-1],
        layer=f"{name}_conv",
        kind=f"{rank}-D convolution",
        kernel=kernel,
        strides=strides,
        padding=pads if pads is not None else keras_padding,
        dilation=dilation,
    )
    if pads is not None:
        x = layer_class("zero_pad", rank)(pads if rank > 1 else pads[0], name=f"{name}_pad")(x)
    if use_bias is None:
        use_bias = norm is None
    common = dict(
        strides=strides,
        padding=keras_padding,
        dilation_rate=dilation,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=kernel_regularizer,
        name=f"{name}_conv",
    )
    if connection_table is not None:
        x = ConnectionTableConv(filters, kernel, connection_table=connection_table, **common)(x)
    else:
        x = layer_class("conv", rank)(filters, kernel, groups=groups, **common)(x)
    return norm_act(
        x,
        name=name,
        norm=norm,
        activation=activation,
        scale=norm_scale,
        epsilon=norm_epsilon,
        gamma_initializer=norm_gamma_initializer,
    )


def norm_act(
    x,
    *,
    name: str,
    norm: str | None = "batch",
    activation: str | Callable | None = "relu",
    scale: bool = True,
    epsilon: float = BATCH_NORM_EPSILON,
    gamma_initializer: str = "ones",
):
    """Optional batch norm then optional activation, named ``{name}_bn`` and ``{name}_act``.

    :func:`conv_norm_act` ends with it; pre-activation residual blocks (ResNet v2) call it
    alone before their convolutions.

    Example:
        >>> import keras
        >>> x = keras.Input((8, 8, 16))
        >>> [layer.name for layer in keras.Model(x, norm_act(x, name="preact")).layers[1:]]
        ['preact_bn', 'preact_act']
    """
    check_choice("norm", norm, NORMS)
    if norm == "batch":
        x = keras.layers.BatchNormalization(
            momentum=BATCH_NORM_MOMENTUM,
            epsilon=epsilon,
            scale=scale,
            gamma_initializer=gamma_initializer,
            name=f"{name}_bn",
        )(x)
    if activation is not None:
        x = keras.layers.Activation(activation, name=f"{name}_act")(x)
    return x


def pool(
    x,
    kind: str = "max",
    pool_size: int | Sequence[int] = 2,
    *,
    name: str,
    strides: int | Sequence[int] | None = None,
    padding: Padding = "valid",
):
    """Max or average pooling whose dimension follows the input, with the size check.

    Args:
        x: Channels-last input tensor.
        kind: ``"max"`` or ``"avg"``.
        pool_size: Window, an int or one per spatial axis.
        name: Layer name.
        strides: Defaults to ``pool_size`` (non-overlapping windows).
        padding: ``"valid"``, ``"same"``, explicit zero padding as in
            :func:`conv_norm_act` (a ``{name}_pad`` layer, as keras.applications' ResNet
            pads before its stem pooling; zeros are neutral after a ReLU), or ``"ceil"``
            (max pooling only): PyTorch's ``ceil_mode=True`` without padding, which keeps a
            last partial window where ``"valid"`` drops it; a ``{name}_pad`` layer
            (:class:`~cnnzoo.layers.constant_padding.ConstantPadding`) adds ``-inf`` at the
            end of an axis only as far as that window reads (:func:`ceil_mode_padding`).

    Returns:
        The pooled tensor.

    Raises:
        ValueError: For a bad argument, ``"ceil"`` with average pooling, or an input too
            small (a ``SpatialSizeError`` naming the layer).

    Example:
        >>> import keras
        >>> tuple(pool(keras.Input((55, 55, 96)), "max", 3, strides=2, name="p").shape)
        (None, 27, 27, 96)
        >>> tuple(pool(keras.Input((112, 112, 64)), "max", 3, strides=2, padding=1,
        ...            name="stem_pool").shape)
        (None, 56, 56, 64)
        >>> tuple(pool(keras.Input((49, 50, 64)), "max", 3, strides=2, padding="ceil",
        ...            name="pool1").shape)  # "same" gives 25x25, "valid" 24x24
        (None, 24, 25, 64)
    """
    check_choice("kind", kind, ("max", "avg"), context=name)
    rank = spatial_rank(x)
    window = as_tuple(pool_size, rank, "pool_size")
    steps = window if strides is None else as_tuple(strides, rank, "pool_strides")
    if isinstance(padding, str) and padding == CEIL:
        if kind != "max":
            raise ValueError(
                f"padding='ceil' is for max pooling (PyTorch's ceil-mode average divides "
                f"the partial window otherwise); received kind={kind!r} at layer '{name}'."
            )
        return _ceil_mode_max_pool(x, window, steps, name)
    keras_padding, pads = resolve_padding(padding, rank)
    check_output_size(
        x.shape[1:-1],
        layer=name,
        kind=f"{'max' if kind == 'max' else 'average'} pooling",
        kernel=window,
        strides=steps,
        padding=pads if pads is not None else keras_padding,
    )
    if pads is not None:
        x = layer_class("zero_pad", rank)(pads if rank > 1 else pads[0], name=f"{name}_pad")(x)
    layer = layer_class(f"{kind}_pool", rank)
    return layer(pool_size=window, strides=steps, padding=keras_padding, name=name)(x)


def _ceil_mode_max_pool(x, window, steps, name):
    sizes = x.shape[1:-1]
    pads = tuple(
        (0, ceil_mode_padding(n, k, s)) for n, k, s in zip(sizes, window, steps, strict=True)
    )
    check_output_size(
        sizes, layer=name, kind="max pooling (ceil mode)", kernel=window, strides=steps,
        padding=pads, padding_is_neutral=True,
    )  # fmt: skip
    if any(after for _, after in pads):
        x = ConstantPadding(pads, name=f"{name}_pad")(x)
    layer = layer_class("max_pool", len(sizes))
    return layer(pool_size=window, strides=steps, padding="valid", name=name)(x)
