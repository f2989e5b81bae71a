"""Residual blocks (He et al. 2015) and their pre-activation forms (He et al. 2016).

Every block is ``output = shortcut(x) + branch(x)``. The post-activation blocks
(:func:`basic_block`, :func:`bottleneck_block`) apply batch norm inside the branch and the
activation after the sum; the pre-activation blocks (:func:`preact_basic_block`,
:func:`preact_bottleneck_block`) start with batch norm and activation and leave the sum
untouched, so the identity path runs clean through the network.

Layer names, for a block named ``stage2_block1``: the branch convolutions
``stage2_block1_1_conv`` (``_bn``, ``_act``), ``_2_...``, ``_3_...`` (bottleneck); the
pre-activation ``stage2_block1_preact_bn`` / ``_act``; the shortcut
``stage2_block1_shortcut_conv`` / ``_bn`` (projection) or ``_shortcut_pool`` /
``_shortcut_pad`` (zero padding); ``stage2_block1_drop_path``; the sum
``stage2_block1_add``; and the block's output ``stage2_block1_out``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras

from cnnzoo.checks import check_choice, check_positive_int, check_rate
from cnnzoo.layers.arithmetic import as_tuple
from cnnzoo.layers.channel_padding import ChannelPadding
from cnnzoo.layers.conv import conv_norm_act, norm_act, pool
from cnnzoo.layers.dims import spatial_rank

SHORTCUTS = ("projection", "zero_pad")
STRIDE_ON = ("1x1", "3x3")
# He et al. (2015), section 3.4: weights initialized as in He et al., "Delving Deep into
# Rectifiers" (fan-in scaled normal); torchvision uses the same family of initializers.
KERNEL_INITIALIZER = "he_normal"


def _check_block_args(x, strides, shortcut, drop_path_rate):
    check_choice("shortcut", shortcut, SHORTCUTS)
    check_rate("drop_path_rate", drop_path_rate)
    return as_tuple(strides, spatial_rank(x), "strides")


def _same_padding(kernel_size: int, strides: tuple[int, ...]):
    # Symmetric k//2 padding on strided convolutions, as torchvision and keras.applications'
    # ResNet v2: Keras "same" pads (0, 1) on even inputs and shifts the sampling grid.
    return "same" if all(s == 1 for s in strides) else kernel_size // 2


def _shortcut(x, source, out_channels, *, name, strides, kind, norm, use_bias, kernel_regularizer):
    """Identity when the shape is kept; otherwise a 1x1 projection (option B) of ``source``,
    or subsampling and zero channels (option A) of ``x``."""
    in_channels = x.shape[-1]
    if all(s == 1 for s in strides) and in_channels == out_channels:
        return x
    if kind == "projection":
        return conv_norm_act(
            source,
            out_channels,
            1,
            strides=strides,
            padding="valid",
            norm=norm,
            activation=None,
            use_bias=use_bias,
            kernel_regularizer=kernel_regularizer,
            kernel_initializer=KERNEL_INITIALIZER,
            name=f"{name}_shortcut",
        )
    if out_channels < in_channels:
        raise ValueError(
            f"shortcut='zero_pad' can only add channels, but block '{name}' goes from "
            f"{in_channels} to {out_channels}; use shortcut='projection'."
        )
    if any(s > 1 for s in strides):
        # A 1-wide max pooling with a stride keeps every s-th position: x[:, ::s, ::s].
        x = pool(x, "max", 1, strides=strides, name=f"{name}_shortcut_pool")
    if out_channels == in_channels:
        return x
    return ChannelPadding(out_channels - in_channels, name=f"{name}_shortcut_pad")(x)


def _merge(shortcut, branch, *, name, drop_path_rate, activation):
    if drop_path_rate:
        # Stochastic depth (Huang et al. 2016): drop the whole branch per example; built-in
        # Dropout with a mask shaped (batch, 1, ..., 1) does exactly that, rescaling by 1/(1-p).
        noise_shape = (None,) + (1,) * (len(branch.shape) - 1)
        branch = keras.layers.Dropout(
            drop_path_rate, noise_shape=noise_shape, name=f"{name}_drop_path"
        )(branch)
    if activation is None:
        return keras.layers.Add(name=f"{name}_out")([shortcut, branch])
    x = keras.layers.Add(name=f"{name}_add")([shortcut, branch])
    return keras.layers.Activation(activation, name=f"{name}_out")(x)


def _last_layer_init(norm, zero_init_residual):
    """(gamma initializer, kernel initializer) of the branch's last layer: a zero start
    makes the block the identity (Goyal et al. 2017), on gamma when there is batch norm."""
    if not zero_init_residual:
        return "ones", KERNEL_INITIALIZER
    return ("zeros", KERNEL_INITIALIZER) if norm else ("ones", "zeros")


def basic_block(
    x,
    filters: int,
    *,
    name: str,
    strides: int | Sequence[int] = 1,
    shortcut: str = "projection",
    norm: str | None = "batch",
    activation: str | Callable = "relu",
    use_bias: bool | None = None,
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
):
    """Two 3x3 convolutions and a shortcut (ResNet-18/34, the CIFAR-10 networks).

    Args:
        x: Channels-last input (1-D, 2-D or 3-D).
        filters: Output channels of both convolutions.
        name: Prefix of the layer names.
        strides: Stride of the first convolution (and of the shortcut).
        shortcut: When the shape changes: ``"projection"`` (1x1 convolution and batch norm,
            the paper's option B) or ``"zero_pad"`` (subsampling and zero channels, option A,
            parameter-free). The identity is used whenever the shape is kept.
        norm: ``"batch"`` or ``None``.
        activation: Activation inside the branch and after the sum.
        use_bias: Convolution biases; ``None`` gives them only to convolutions without
            batch norm, ``True`` to all (keras.applications' ResNet v1).
        kernel_regularizer: Applied to every kernel.
        zero_init_residual: Start the last batch norm's scale at zero, so that the block
            begins as the identity (Goyal et al. 2017; torchvision's ``zero_init_residual``).
        drop_path_rate: Probability of dropping the branch per example in training
            (stochastic depth).

    Returns:
        The block's output, ``{name}_out``.

    Example:
        >>> import keras
        >>> y = basic_block(keras.Input((32, 32, 16)), 32, strides=2, name="b")
        >>> tuple(y.shape)
        (None, 16, 16, 32)
    """
    strides = _check_block_args(x, strides, shortcut, drop_path_rate)
    gamma, kernel = _last_layer_init(norm, zero_init_residual)
    common = dict(norm=norm, use_bias=use_bias, kernel_regularizer=kernel_regularizer)
    residual = _shortcut(x, x, filters, name=name, strides=strides, kind=shortcut, **common)
    y = conv_norm_act(
        x, filters, 3, strides=strides, padding=_same_padding(3, strides),
        activation=activation, kernel_initializer=KERNEL_INITIALIZER, name=f"{name}_1", **common,
    )  # fmt: skip
    y = conv_norm_act(
        y, filters, 3, activation=None, norm_gamma_initializer=gamma,
        kernel_initializer=kernel, name=f"{name}_2", **common,
    )  # fmt: skip
    return _merge(residual, y, name=name, drop_path_rate=drop_path_rate, activation=activation)


def bottleneck_block(
    x,
    filters: int,
    *,
    name: str,
    strides: int | Sequence[int] = 1,
    stride_on: str = "3x3",
    expansion: int = 4,
    shortcut: str = "projection",
    norm: str | None = "batch",
    activation: str | Callable = "relu",
    use_bias: bool | None = None,
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
):
    """1x1 reduce, 3x3, 1x1 expand to ``expansion * filters``, and a shortcut (ResNet-50+).

    Args:
        x: Channels-last input (1-D, 2-D or 3-D).
        filters: Width of the 1x1 and 3x3 convolutions; the block outputs
            ``expansion * filters`` channels.
        name: Prefix of the layer names.
        strides: The block's downsampling stride.
        stride_on: ``"3x3"`` (torchvision, "ResNet v1.5") or ``"1x1"`` (the paper and
            keras.applications: the first 1x1 convolution strides and so skips 3 in 4 inputs).
        expansion: Output channels over ``filters`` (4 in the paper).
        shortcut: ``"projection"`` or ``"zero_pad"``, as in :func:`basic_block`.
        norm: ``"batch"`` or ``None``.
        activation: Activation inside the branch and after the sum.
        use_bias: As in :func:`basic_block`.
        kernel_regularizer: Applied to every kernel.
        zero_init_residual: Start the last batch norm's scale at zero.
        drop_path_rate: Stochastic-depth rate of the branch.

    Returns:
        The block's output, ``{name}_out``.

    Example:
        >>> import keras
        >>> y = bottleneck_block(keras.Input((56, 56, 64)), 64, name="b")
        >>> tuple(y.shape)
        (None, 56, 56, 256)
    """
    strides = _check_block_args(x, strides, shortcut, drop_path_rate)
    check_choice("stride_on", stride_on, STRIDE_ON)
    check_positive_int("expansion", expansion)
    ones = (1,) * len(strides)
    strides_1x1, strides_3x3 = (strides, ones) if stride_on == "1x1" else (ones, strides)
    gamma, kernel = _last_layer_init(norm, zero_init_residual)
    common = dict(norm=norm, use_bias=use_bias, kernel_regularizer=kernel_regularizer)
    out_channels = expansion * filters
    residual = _shortcut(x, x, out_channels, name=name, strides=strides, kind=shortcut, **common)
    y = conv_norm_act(
        x, filters, 1, strides=strides_1x1, padding="valid", activation=activation,
        kernel_initializer=KERNEL_INITIALIZER, name=f"{name}_1", **common,
    )  # fmt: skip
    y = conv_norm_act(
        y, filters, 3, strides=strides_3x3, padding=_same_padding(3, strides_3x3),
        activation=activation, kernel_initializer=KERNEL_INITIALIZER, name=f"{name}_2", **common,
    )  # fmt: skip
    y = conv_norm_act(
        y, out_channels, 1, activation=None, norm_gamma_initializer=gamma,
        kernel_initializer=kernel, name=f"{name}_3", **common,
    )  # fmt: skip
    return _merge(residual, y, name=name, drop_path_rate=drop_path_rate, activation=activation)


def preact_basic_block(
    x,
    filters: int,
    *,
    name: str,
    strides: int | Sequence[int] = 1,
    shortcut: str = "projection",
    norm: str | None = "batch",
    activation: str | Callable = "relu",
    use_bias: bool | None = None,
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
):
    """Pre-activation basic block (He et al. 2016): norm, activation, 3x3, norm, activation,
    3x3, plus the shortcut; nothing after the sum.

    A projection shortcut reads the pre-activated input, as in the paper's code and
    keras.applications. ``zero_init_residual`` zeroes the last convolution's kernel (there
    is no batch norm after it). Other arguments as in :func:`basic_block`.

    Example:
        >>> import keras
        >>> y = preact_basic_block(keras.Input((16, 16, 8)), 8, name="b")
        >>> tuple(y.shape)
        (None, 16, 16, 8)
    """
    strides = _check_block_args(x, strides, shortcut, drop_path_rate)
    _, kernel = _last_layer_init(None, zero_init_residual)
    preact = norm_act(x, norm=norm, activation=activation, name=f"{name}_preact")
    residual = _shortcut(
        x, preact, filters, name=name, strides=strides, kind=shortcut, norm=None,
        use_bias=use_bias, kernel_regularizer=kernel_regularizer,
    )  # fmt: skip
    y = conv_norm_act(
        preact, filters, 3, strides=strides, padding=_same_padding(3, strides), norm=norm,
        activation=activation, use_bias=use_bias, kernel_regularizer=kernel_regularizer,
        kernel_initializer=KERNEL_INITIALIZER, name=f"{name}_1",
    )  # fmt: skip
    y = conv_norm_act(
        y, filters, 3, norm=None, activation=None, use_bias=use_bias,
        kernel_regularizer=kernel_regularizer, kernel_initializer=kernel, name=f"{name}_2",
    )  # fmt: skip
    return _merge(residual, y, name=name, drop_path_rate=drop_path_rate, activation=None)


def preact_bottleneck_block(
    x,
    filters: int,
    *,
    name: str,
    strides: int | Sequence[int] = 1,
    expansion: int = 4,
    shortcut: str = "projection",
    norm: str | None = "batch",
    activation: str | Callable = "relu",
    use_bias: bool | None = None,
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
    zero_init_residual: bool = False,
    drop_path_rate: float = 0.0,
):
    """Pre-activation bottleneck (He et al. 2016; keras.applications' ResNet v2 block).

    Norm and activation, then 1x1 (norm, activation), 3x3 with the stride (norm,
    activation), 1x1 to ``expansion * filters`` with a bias and nothing after it; a
    projection shortcut reads the pre-activated input. With ``use_bias=None`` biases sit
    exactly where keras.applications puts them (convolutions not followed by batch norm).
    Other arguments as in :func:`bottleneck_block`.

    Example:
        >>> import keras
        >>> y = preact_bottleneck_block(keras.Input((14, 14, 256)), 128, strides=2, name="b")
        >>> tuple(y.shape)
        (None, 7, 7, 512)
    """
    strides = _check_block_args(x, strides, shortcut, drop_path_rate)
    check_positive_int("expansion", expansion)
    _, kernel = _last_layer_init(None, zero_init_residual)
    out_channels = expansion * filters
    common = dict(use_bias=use_bias, kernel_regularizer=kernel_regularizer)
    preact = norm_act(x, norm=norm, activation=activation, name=f"{name}_preact")
    residual = _shortcut(
        x, preact, out_channels, name=name, strides=strides, kind=shortcut, norm=None, **common
    )
    y = conv_norm_act(
        preact, filters, 1, padding="valid", norm=norm, activation=activation,
        kernel_initializer=KERNEL_INITIALIZER, name=f"{name}_1", **common,
    )  # fmt: skip
    y = conv_norm_act(
        y, filters, 3, strides=strides, padding=_same_padding(3, strides), norm=norm,
        activation=activation, kernel_initializer=KERNEL_INITIALIZER, name=f"{name}_2", **common,
    )  # fmt: skip
    y = conv_norm_act(
        y, out_channels, 1, norm=None, activation=None, kernel_initializer=kernel,
        name=f"{name}_3", **common,
    )  # fmt: skip
    return _merge(residual, y, name=name, drop_path_rate=drop_path_rate, activation=None)
