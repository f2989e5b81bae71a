"""The rows of the per-layer table and their text form, without Keras: ``cnnzoo info``
prints the shipped rows of a model at its defaults with :func:`format_layer_table` and
needs no TensorFlow (:func:`~cnnzoo.compute.layer_table` computes rows from a model).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One row of :func:`~cnnzoo.compute.layer_table`.

    Attributes:
        name: Layer name (``outer/inner`` for the layers of an expanded nested model).
        kind: A short word: ``"conv2d"``, ``"grouped conv2d"``, ``"depthwise conv2d"``,
            ``"max pool"``, ``"global avg pool"``, ``"dense"``, ``"batch norm"``,
            ``"activation"``, ``"add"``, ``"concat"``, ``"zero pad"``, ``"model"``, ...
        kernel: ``"5x5"`` for convolutions and pools (``"3x3 d2"`` with dilation 2), else "".
        stride: ``"2x2"`` for convolutions and pools, else "".
        padding: The layer's own setting: ``"valid"``/``"same"`` for convolutions and pools,
            the explicit amounts of a zero-padding layer (``"3"``, ``"(0,1)x(0,1)"``), else "".
        output_shape: Output shape without the batch axis (a tuple of them for several
            outputs; ``None`` if the layer was never called).
        params: ``layer.count_params()``: trainable and non-trainable weights.
        trainable_params: The trainable part of ``params``.
        macs: :func:`~cnnzoo.compute.layer_macs` of the layer.
    """

    name: str
    kind: str
    kernel: str
    stride: str
    padding: str
    output_shape: tuple | None
    params: int
    trainable_params: int
    macs: int

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    if shape and isinstance(shape[0], tuple):
        return ", ".join(_shape_text(s) for s in shape)
    return "x".join("?" if size is None else str(size) for size in shape) or "scalar"


def format_layer_table(rows: Sequence[LayerRow]) -> str:
    """An aligned text table of ``rows``, with a totals line.

    Args:
        rows: From :func:`~cnnzoo.compute.layer_table`.

    Returns:
        The table: a header, a rule, one line per row, a rule and the totals line (total,
        trainable and non-trainable parameters, total MACs).

    Example:
        >>> import keras
        >>> from cnnzoo.compute import layer_table
        >>> x = keras.Input((32, 32, 1))
        >>> y = keras.layers.Conv2D(6, 5, name="c1")(x)
        >>> y = keras.layers.MaxPooling2D(2, name="s2")(y)
        >>> print(format_layer_table(layer_table(keras.Model(x, y))))
        Layer  Kind      Kernel  Stride  Padding  Output shape  Params     MACs
        -----------------------------------------------------------------------
        c1     conv2d    5x5     1x1     valid    28x28x6          156  117,600
        s2     max pool  2x2     2x2     valid    14x14x6            0        0
        -----------------------------------------------------------------------
        Total params: 156 (trainable 156, non-trainable 0); total MACs: 117,600
    """
    header = ("Layer", "Kind", "Kernel", "Stride", "Padding", "Output shape", "Params", "MACs")
    cells = [header] + [
        (
            row.name,
            row.kind,
            row.kernel,
            row.stride,
            row.padding,
            _shape_text(row.output_shape),
            f"{row.params:,}",
            f"{row.macs:,}",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    numeric = {header.index("Params"), header.index("MACs")}
    lines = [
        "  ".join(
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in cells
    ]
    params = sum(row.params for row in rows)
    trainable = sum(row.trainable_params for row in rows)
    totals = (
        f"Total params: {params:,} (trainable {trainable:,}, non-trainable "
        f"{params - trainable:,}); total MACs: {sum(row.macs for row in rows):,}"
    )
    rule = "-" * max(len(totals), sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([lines[0], rule, *lines[1:], rule, totals])
