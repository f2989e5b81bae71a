"""The Inception module of GoogLeNet (Szegedy et al., 2014, section 4 and Figure 2)."""

from __future__ import annotations

from collections.abc import Callable

import keras

from cnnzoo.checks import check_bool, check_positive_int
from cnnzoo.layers.conv import conv_norm_act, pool

# Inception networks use a larger batch-norm epsilon than ResNet (torchvision's googlenet and
# inception_v3, keras.applications' InceptionV3).
INCEPTION_EPSILON = 1e-3

_REDUCTIONS = ("filters_3x3_reduce", "filters_5x5_reduce", "pool_proj")


def inception_module(
    x,
    filters_1x1: int,
    filters_3x3_reduce: int | None,
    filters_3x3: int,
    filters_5x5_reduce: int | None,
    filters_5x5: int,
    pool_proj: int | None,
    *,
    name: str,
    naive: bool = False,
    kernel_5x5: int = 5,
    norm: str | None = None,
    activation: str | Callable | None = "relu",
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
    norm_epsilon: float = INCEPTION_EPSILON,
):
    """Four parallel branches concatenated on channels: GoogLeNet's Inception module.

    The branches are a 1x1 convolution; a 1x1 reduction then a 3x3 convolution; a 1x1
    reduction then a 5x5 convolution; and 3x3/1 max pooling ("same") then a 1x1
    projection. The arguments follow the columns of the paper's Table 1. With
    ``naive=True`` the module is the paper's Figure 2a: no reductions and no projection,
    so the pooled input is concatenated as it is and the output has
    ``filters_1x1 + filters_3x3 + filters_5x5 + input channels`` channels.

    The 1x1 reductions are what make the module affordable. Module 3a on a 28x28x192 map
    (64, 96, 128, 16, 32, 32) costs 128,049,152 multiply-accumulates and outputs 256
    channels; its naive form with the same 1x1, 3x3 and 5x5 widths costs 303,464,448
    (2.4 times as much) and outputs 416 channels, and every later module would grow
    with it.

    Every convolution goes through :func:`conv_norm_act` ("same" padding), so the module
    is 1-D, 2-D or 3-D as the input is. Layer names: ``{name}_1x1``,
    ``{name}_3x3_reduce``, ``{name}_3x3``, ``{name}_5x5_reduce``, ``{name}_5x5``,
    ``{name}_pool_proj`` (each ``_conv``, ``_bn``, ``_act``), ``{name}_pool`` and
    ``{name}_concat``.

    Args:
        x: Channels-last input tensor.
        filters_1x1: Filters of the 1x1 branch.
        filters_3x3_reduce: Filters of the 1x1 reduction before the 3x3 convolution;
            ``None`` with ``naive=True``.
        filters_3x3: Filters of the 3x3 convolution.
        filters_5x5_reduce: Filters of the 1x1 reduction before the 5x5 convolution;
            ``None`` with ``naive=True``.
        filters_5x5: Filters of the 5x5 convolution.
        pool_proj: Filters of the 1x1 projection after the max pooling; ``None`` with
            ``naive=True``.
        name: Prefix of the layer names (for example ``"inception3a"``).
        naive: The module without 1x1 reductions and projection (Figure 2a).
        kernel_5x5: Kernel of the "5x5" branch (torchvision's googlenet uses 3).
        norm: ``None`` (the paper) or ``"batch"`` after every convolution.
        activation: Activation after every convolution.
        kernel_regularizer: Applied to every convolution kernel.
        norm_epsilon: Batch-norm epsilon.

    Returns:
        The concatenated output tensor.

    Raises:
        ValueError: If a width is not a positive int, or if the reductions are given with
            ``naive=True`` (or missing without it).

    Example:
        >>> import keras
        >>> from cnnzoo import count_macs
        >>> x = keras.Input((28, 28, 192))
        >>> reduced = inception_module(x, 64, 96, 128, 16, 32, 32, name="inception3a")
        >>> naive = inception_module(x, 64, None, 128, None, 32, None, naive=True, name="naive")
        >>> tuple(reduced.shape), tuple(naive.shape)
        ((None, 28, 28, 256), (None, 28, 28, 416))
        >>> count_macs(keras.Model(x, reduced)), count_macs(keras.Model(x, naive))
        (128049152, 303464448)
    """
    check_bool("naive", naive)
    widths = {
        "filters_1x1": filters_1x1,
        "filters_3x3_reduce": filters_3x3_reduce,
        "filters_3x3": filters_3x3,
        "filters_5x5_reduce": filters_5x5_reduce,
        "filters_5x5": filters_5x5,
        "pool_proj": pool_proj,
    }
    if naive:
        given = [f"{key}={widths[key]!r}" for key in _REDUCTIONS if widths[key] is not None]
        if given:
            raise ValueError(
                "naive=True builds the module without 1x1 reductions and pool projection "
                f"(the paper's Figure 2a), so {', '.join(_REDUCTIONS)} must be None; "
                f"received {', '.join(given)} ({name})."
            )
    for key, value in widths.items():
        if naive and key in _REDUCTIONS:
            continue
        hint = "; None only with naive=True" if key in _REDUCTIONS else ""
        check_positive_int(key, value, context=f"{name}{hint}")
    check_positive_int("kernel_5x5", kernel_5x5, context=name)

    def conv(tensor, filters, kernel, suffix):
        return conv_norm_act(
            tensor,
            filters,
            kernel,
            norm=norm,
            activation=activation,
            kernel_regularizer=kernel_regularizer,
            norm_epsilon=norm_epsilon,
            name=f"{name}_{suffix}",
        )

    # Shapes for module 3a at 28x28x192: (N, 28, 28, 64), (N, 28, 28, 128),
    # (N, 28, 28, 32), (N, 28, 28, 32) -> (N, 28, 28, 256).
    branch_1x1 = conv(x, filters_1x1, 1, "1x1")
    branch_3x3 = x if naive else conv(x, filters_3x3_reduce, 1, "3x3_reduce")
    branch_3x3 = conv(branch_3x3, filters_3x3, 3, "3x3")
    branch_5x5 = x if naive else conv(x, filters_5x5_reduce, 1, "5x5_reduce")
    branch_5x5 = conv(branch_5x5, filters_5x5, kernel_5x5, "5x5")
    branch_pool = pool(x, "max", 3, strides=1, padding="same", name=f"{name}_pool")
    if not naive:
        branch_pool = conv(branch_pool, pool_proj, 1, "pool_proj")
    return keras.layers.Concatenate(axis=-1, name=f"{name}_concat")(
        [branch_1x1, branch_3x3, branch_5x5, branch_pool]
    )
