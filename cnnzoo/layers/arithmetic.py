"""Convolution arithmetic: output sizes, and the error raised when a spatial size collapses.

The formula is the one every textbook (and the course notes) use for one axis:
``floor((n + 2p - k) / s) + 1`` for input size ``n``, kernel ``k``, padding ``p`` and
stride ``s``; a dilation ``d`` widens the kernel to ``d * (k - 1) + 1``. Keras' ``"same"``
padding gives ``ceil(n / s)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cnnzoo.checks import is_int

AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


class SpatialSizeError(ValueError):
    """The input is too small for the chosen kernels, strides and padding."""


def _items(value, rank: int) -> tuple:
    """``rank`` copies of an int, the items of a sequence, or ``()`` for anything else."""
    if isinstance(value, int):
        return (value,) * rank
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(value)
    return ()


def as_tuple(value: int | Sequence[int], rank: int, argument: str) -> tuple[int, ...]:
    """Expands an int to ``rank`` copies; checks a sequence has ``rank`` positive ints.

    Example:
        >>> as_tuple(3, 2, "kernel_size")
        (3, 3)
    """
    values = _items(value, rank)  # () for None, a float, a string, ...: refused below
    if len(values) != rank or not all(is_int(v) and v > 0 for v in values):
        raise ValueError(
            f"{argument} must be a positive int or a tuple of {rank} positive ints for "
            f"{rank}-D inputs; received {argument}={value!r}."
        )
    return values


def explicit_padding(
    padding: int | Sequence, rank: int, argument: str = "padding"
) -> tuple[tuple[int, int], ...]:
    """Normalizes an explicit zero padding to ``((before, after),) * rank``.

    Accepts an int (same on every side), one int per axis, or a ``(before, after)`` pair
    per axis; ``argument`` is the caller's name for it in the error message.

    Example:
        >>> explicit_padding(2, 2)
        ((2, 2), (2, 2))
        >>> explicit_padding((1, (0, 1)), 2)
        ((1, 1), (0, 1))
    """
    error = ValueError(
        f"{argument} must be 'same', 'valid', a non-negative int, or one int or (before, "
        f"after) pair per axis ({rank} axes); received {argument}={padding!r}."
    )
    items = _items(padding, rank)
    if len(items) != rank:
        raise error
    pairs = []
    for item in items:
        pair = _items(item, 2)
        if len(pair) != 2 or not all(is_int(p) and p >= 0 for p in pair):
            raise error
        pairs.append(pair)
    return tuple(pairs)


def output_size(
    n: int, kernel: int, stride: int, padding: str | tuple[int, int], dilation: int = 1
) -> int:
    """Output size along one axis for a convolution or pooling window.

    Example:
        >>> output_size(227, 11, 4, "valid")
        55
        >>> output_size(27, 5, 1, (2, 2))
        27
        >>> output_size(7, 3, 2, "same")
        4
    """
    if padding == "same":
        return math.ceil(n / stride)
    before, after = (0, 0) if padding == "valid" else padding
    effective = dilation * (kernel - 1) + 1
    return (n + before + after - effective) // stride + 1


def describe(
    n: int, kernel: int, stride: int, padding: str | tuple[int, int], dilation: int = 1
) -> str:
    """The arithmetic behind :func:`output_size`, written out for error messages.

    Example:
        >>> describe(2, 3, 2, "valid")
        'floor((2 + 2*0 - 3) / 2) + 1 = 0'
    """
    result = output_size(n, kernel, stride, padding, dilation)
    if padding == "same":
        return f"ceil({n} / {stride}) = {result}"
    before, after = (0, 0) if padding == "valid" else padding
    pad = f"2*{before}" if before == after else f"{before}+{after}"
    k = str(kernel) if dilation == 1 else f"({dilation}*({kernel}-1)+1)"
    return f"floor(({n} + {pad} - {k}) / {stride}) + 1 = {result}"


def check_output_size(
    input_shape: Sequence[int | None],
    *,
    layer: str,
    kind: str,
    kernel: Sequence[int],
    strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    dilation: Sequence[int] | None = None,
    padding_is_neutral: bool = False,
) -> tuple[int | None, ...]:
    """Returns the spatial output shape, or raises :class:`SpatialSizeError` naming ``layer``.

    ``input_shape`` is the spatial part only (no batch, no channels); ``None`` sizes pass.
    A strided layer on an axis shorter than its stride is refused (its one position would
    be computed mostly from padding) unless ``padding_is_neutral``: a max pooling padded
    with ``-inf`` then keeps the maximum of the real inputs, as PyTorch's ceil mode does.

    Example:
        >>> check_output_size((6, 6), layer="pool", kind="max pooling", kernel=(3, 3),
        ...                   strides=(2, 2), padding="valid")
        (2, 2)
    """
    rank = len(input_shape)
    dilation = dilation or (1,) * rank
    pads = [padding] * rank if isinstance(padding, str) else list(padding)
    sizes = []
    for axis, n in enumerate(input_shape):
        if n is None:
            sizes.append(None)
            continue
        size = output_size(n, kernel[axis], strides[axis], pads[axis], dilation[axis])
        # A strided layer on an axis shorter than its stride no longer downsamples: with
        # padding it returns one position computed mostly from zeros. Deep padded networks
        # (ResNet, GoogLeNet) would otherwise build on any input and learn nothing there.
        if size <= 0 or (n < strides[axis] and not padding_is_neutral):
            axis_name = AXIS_NAMES[rank][axis]
            pad_text = pads[axis] if isinstance(pads[axis], str) else f"{pads[axis]}"
            arithmetic = describe(n, kernel[axis], strides[axis], pads[axis], dilation[axis])
            result = (
                f"would output {axis_name} {arithmetic}"
                if size <= 0
                else f"cannot downsample it by {strides[axis]}: {arithmetic} position, "
                "computed mostly from padding"
            )
            raise SpatialSizeError(
                f"The input is too small: layer '{layer}' ({kind}, kernel {kernel[axis]}, "
                f"stride {strides[axis]}, padding {pad_text}) receives {axis_name} {n} and "
                f"{result}. Use a larger input_shape, or smaller kernels or strides, or "
                "'same' padding for the layers before it."
            )
        sizes.append(size)
    return tuple(sizes)


def ceil_mode_padding(n: int | None, kernel: int, stride: int) -> int:
    """How far a pooling in PyTorch's ceil mode (no padding in front) reads past the end
    of an axis of size ``n``: the padding to add at the end before a ``"valid"`` pooling.

    Ceil mode keeps a last, partial window whenever it starts inside the input; it outputs
    ``ceil((n - k) / s) + 1`` positions where ``"valid"`` gives ``floor((n - k) / s) + 1``
    and Keras' ``"same"`` gives ``ceil(n / s)`` with padding in front too. For an unknown
    size (``None``) it is the most any size needs, ``min(s, k) - 1``: the positions past
    what the windows read are never read, so the output is the same.

    Example:
        GoogLeNet's 3x3/2 pooling on 97 (48 positions, none of them padded) and on 112
        (56, the last one reading one position past the end):

        >>> ceil_mode_padding(97, 3, 2), ceil_mode_padding(112, 3, 2), ceil_mode_padding(None, 3, 2)
        (0, 1, 1)
    """
    if n is None:
        return min(stride, kernel) - 1
    positions = -(-(n - kernel) // stride) + 1
    if (positions - 1) * stride >= n:  # PyTorch drops a last window that starts past the end
        positions -= 1
    return max(0, (positions - 1) * stride + kernel - n)
